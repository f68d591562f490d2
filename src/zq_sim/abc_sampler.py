"""pyabc's MappingSampler with seeded tasks, so that an ABC-SMC run is reproducible in parallel.

pyabc's own parallel samplers reseed every worker from the operating system. Here each task (one
accepted particle) is seeded from a generator seeded by the caller, in the main process, so the
same seed gives the same ensemble whether the tasks run in one process or several.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
from pyabc.sampler import MappingSampler


class SeededSampler(MappingSampler):
    """A MappingSampler whose ``n`` tasks per generation get seeds drawn from ``seed``."""

    def __init__(self, map_: Callable, seed: int) -> None:
        super().__init__(map_=self._seeded_map)
        self._inner = map_
        self._rng = np.random.default_rng(seed)

    def _seeded_map(self, fn: Callable, items: list) -> list:
        seeds = self._rng.integers(0, 2**31 - 1, size=len(items)).tolist()
        return list(self._inner(fn, seeds))

    def map_function(self, simulate_one, seed):
        """Sample until one particle is accepted, with numpy's and Python's state from ``seed``."""
        simulate_one = self.unpickle(simulate_one)
        np.random.seed(seed)
        random.seed(seed)
        sample, n = self._create_empty_sample(), 0
        while True:
            new = simulate_one()
            n += 1
            sample.append(new)
            if new.accepted:
                return sample, n

"""How much memory and time a run needs, and whether this machine has the memory.

Estimated before a run starts from its replicates, ``population.scale``, years and contracts per
village (linear fits of measured runs), so that a run that cannot fit is refused in one line
that says what would fit, rather than running for hours into an out-of-memory kill.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path

from zq_sim.config import ConfigError, RunConfig


class ResourceError(ConfigError):
    """A run that needs more memory than this machine has."""


#: Memory of a process that has imported the model and read the data (MB).
BASE_MB = 250.0
#: Memory of the model per copy of the villages (population.scale 1): a fixed part and a part per
#: lease contract per village (MB), both models of a replicate with its counterfactual alive.
MODEL_MB = (4.0, 0.34)
#: Memory of one replicate's village panel per copy of the villages and simulated year (MB).
PANEL_MB = 0.45
#: Seconds of one replicate, population.scale 1, 13 years, with the counterfactual; the share
#: of that time that grows with the contracts per village (measured, benchmarks/README.md).
REPLICATE_S = (0.24, 0.35)


def estimate(cfg: RunConfig) -> tuple[float, float]:
    """(peak memory in GB, run time in seconds) of a run, from replicates, scale and years.

    Linear fits of measured runs (this machine, 2026-11): the model's memory grows with
    ``population.scale`` and the contracts per village, the village panel's with the years too;
    replicates add time but not memory (their outputs are written as they finish).
    """
    years = cfg.years.end - cfg.years.base + 1
    copies = cfg.population.scale * (1.25 if cfg.population.include_residents_committees else 1)
    cpv = cfg.model.contracts_per_village
    mb = BASE_MB + copies * (MODEL_MB[0] + MODEL_MB[1] * cpv)
    if cfg.output.villages:
        mb += copies * years * PANEL_MB
    per_rep = REPLICATE_S[0] * copies * years / 13 * (1 - REPLICATE_S[1] + REPLICATE_S[1] * cpv
                                                       / 14)
    if not (cfg.output.counterfactual and cfg.policy.three_assets.reform):
        per_rep *= 0.35
    return mb / 1024, per_rep * cfg.replicates


def machine_memory_gb() -> float | None:
    """Memory this process may use: the machine's, or its control group's limit if lower."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            limits.append(int(text))
    return min(limits) / 1024**3 if limits else None


def check(cfg: RunConfig, echo: Callable[[str], None] | None = print) -> None:
    """Refuse a run that cannot fit this machine's memory; say how long a long one will take."""
    gb, seconds = estimate(cfg)
    have = machine_memory_gb()
    if have is not None and gb > 0.8 * have:
        per_copy = (estimate(_with_scale(cfg, 2))[0] - estimate(_with_scale(cfg, 1))[0])
        fits = int((0.8 * have - estimate(_with_scale(cfg, 1))[0] + per_copy) // per_copy)
        hint = (f"at most population.scale={fits} fits" if fits >= 1 else
                "lower model.contracts_per_village or years.end")
        if cfg.output.villages:
            hint += " (more with output.villages=false)"
        raise ResourceError(f"this run needs about {gb:.1f} GB of memory and this machine has "
                        f"{have:.1f} GB: {hint}")
    if seconds > 600 and echo is not None:
        echo(f"zq_sim: {cfg.replicates} replicates of population.scale={cfg.population.scale} to "
             f"{cfg.years.end} will take about {_duration(seconds)} on one core (about "
             f"{gb:.1f} GB of memory); outputs are written as replicates finish")


def _with_scale(cfg: RunConfig, scale: int) -> RunConfig:
    c = copy.deepcopy(cfg)
    c.population.scale = scale
    return c


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"

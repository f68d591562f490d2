"""Hydra callback used by benchmarks/run.py to time the jobs of a sweep from the inside.

Given to a sweep on the command line (benchmarks/ on PYTHONPATH):

    +hydra.callbacks.zq_bench_timer._target_=zq_bench_timer.JobTimer

In each job (in the process that runs it: a joblib worker with the joblib launcher) it measures
the job from Hydra's ``on_job_start`` to ``on_job_end``, and the time spent inside the model,
that is in ``zq_sim.run.run_replicate`` (set-up and stepping of the replicate and of its
counterfactual), and writes both to ``bench_timing.json`` in the job's folder. Everything else
in a job (config composition and checks, summary, writing the outputs) is outside the model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

FILE = "bench_timing.json"


class JobTimer(Callback):
    """Time each job and the model inside it."""

    def __init__(self) -> None:
        self._start = 0.0
        self._model = 0.0
        self._original = None

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        import zq_sim.run as run_module

        self._start = time.perf_counter()
        self._model = 0.0
        original = run_module.run_replicate
        self._original = original

        def timed(*args, **kw):
            t = time.perf_counter()
            try:
                return original(*args, **kw)
            finally:
                self._model += time.perf_counter() - t

        run_module.run_replicate = timed

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        import zq_sim.run as run_module

        job_s = time.perf_counter() - self._start
        if self._original is not None:
            run_module.run_replicate = self._original
        out = Path(HydraConfig.get().runtime.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / FILE).write_text(json.dumps({"job_s": job_s, "model_s": self._model}))

"""Hydra's joblib launcher, with a lost worker failing its own job rather than the sweep.

Hydra's joblib launcher runs a sweep's jobs in a pool of worker processes (loky). When a worker
dies (killed by the system for want of memory, or by a signal), loky breaks the whole pool and
the launcher raises in the launching process: the jobs still to come never run, and the sweep
ends in a long traceback. :class:`ZqJoblibLauncher` runs the jobs the same way and, when the
pool breaks, finds from their folders which jobs finished, which never started and which were
running; it runs the ones that were running again one at a time, each in a fresh worker, so
that the job whose worker dies alone is the one lost, writes FAILED.txt into its folder (it
was lost, why that may be, and the command that reproduces it), and goes on with the rest.

Configured as ``hydra/launcher: zq_joblib`` (conf/hydra/launcher/zq_joblib.yaml), the default
of conf/config.yaml; its settings are joblib's (``hydra.launcher.n_jobs=...``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, run_job, setup_globals
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


class WorkerLost(RuntimeError):
    """The worker process running a job died before the job ended."""


def _run_one(idx: int, overrides: Sequence[str], hydra_context, config: DictConfig,
             task_function, singleton_state: dict[Any, Any]) -> tuple[int, JobReturn]:
    """Run job ``idx`` of the sweep in this (worker) process: (idx, its JobReturn)."""
    setup_globals()
    Singleton.set_state(singleton_state)
    job_config = job_config_for(hydra_context, config, overrides, idx)
    HydraConfig.instance().set_config(job_config)
    ret = run_job(hydra_context=hydra_context, config=job_config, task_function=task_function,
                  job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")
    return idx, ret


def job_config_for(hydra_context, config: DictConfig, overrides: Sequence[str],
                   idx: int) -> DictConfig:
    """The config of job ``idx`` of the sweep, with its number and id."""
    job_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(job_config):
        job_config.hydra.job.id = f"{job_config.hydra.job.name}_{idx}"
        job_config.hydra.job.num = idx
    return job_config


def job_dir(job_config: DictConfig) -> Path:
    """The folder of a job of the sweep."""
    return Path(str(job_config.hydra.sweep.dir)) / str(job_config.hydra.sweep.subdir)


class ZqJoblibLauncher(JoblibLauncher):
    """Hydra's joblib launcher; a job whose worker dies fails alone (FAILED.txt)."""

    def launch(self, job_overrides: Sequence[Sequence[str]],
               initial_job_idx: int) -> Sequence[JobReturn]:
        """Run every job; return their JobReturns in order (a lost job's as completed)."""
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        started = time.time() - 1.0  # file times can be coarser than the clock
        jobs = {initial_job_idx + k: list(o) for k, o in enumerate(job_overrides)}
        results: dict[int, JobReturn] = {}
        pending = sorted(jobs)
        while pending:
            lost = self._run(pending, jobs, results, self._joblib_kwargs())
            if not lost:
                break
            running, never = self._sort_out(pending, jobs, results, started)
            for idx in running:  # alone, each in a fresh worker: the one that dies is lost
                # (n_jobs=2 for one job: joblib runs n_jobs=1 in this process, not a worker)
                if self._run([idx], jobs, results, {**self._joblib_kwargs(), "n_jobs": 2}):
                    results[idx] = self._fail_lost(idx, jobs[idx])
            pending = never
        return [results[idx] for idx in sorted(jobs)]

    def _joblib_kwargs(self) -> dict[str, Any]:
        kwargs = {k: v for k, v in dict(self.joblib).items() if v is not None}
        kwargs["backend"] = "loky"  # Hydra's jobs cannot run in threads
        for key in ("pre_dispatch", "batch_size", "max_nbytes"):
            if isinstance(kwargs.get(key), str) and kwargs[key].isdigit():
                kwargs[key] = int(kwargs[key])
        return kwargs

    def _run(self, idxs: list[int], jobs: dict[int, list[str]], results: dict[int, JobReturn],
             kwargs: dict[str, Any]) -> bool:
        """Run jobs in a pool, collecting results as they end; True if a worker was lost."""
        from joblib import Parallel, delayed
        from joblib.externals.loky.process_executor import BrokenProcessPool

        state = Singleton.get_state()
        calls = (delayed(_run_one)(idx, jobs[idx], self.hydra_context, self.config,
                                   self.task_function, state) for idx in idxs)
        try:
            for idx, ret in Parallel(return_as="generator_unordered", **kwargs)(calls):
                results[idx] = ret
        except BrokenProcessPool as exc:  # TerminatedWorkerError is one
            log.warning("a worker of the sweep was lost (%s); finding its job",
                        str(exc).splitlines()[0])
            return True
        return False

    def _sort_out(self, pending: list[int], jobs: dict[int, list[str]],
                  results: dict[int, JobReturn], started: float) -> tuple[list[int], list[int]]:
        """After a lost worker: (jobs that were running, jobs that never started).

        A job that finished but whose result was lost with the pool counts as done: its folder
        holds summary.json or FAILED.txt written since the sweep started. One that took its
        folder's lock since then was running.
        """
        from zq_sim.callbacks import DONE, FAILED
        from zq_sim.folder import LOCK

        running, never = [], []
        for idx in pending:
            if idx in results:
                continue
            folder = job_dir(job_config_for(self.hydra_context, self.config, jobs[idx], idx))
            if any(_newer(folder / name, started) for name in (DONE, FAILED)):
                results[idx] = _completed(jobs[idx])
            elif _newer(folder / LOCK, started):
                running.append(idx)
            else:
                never.append(idx)
        return running, never

    def _fail_lost(self, idx: int, overrides: list[str]) -> JobReturn:
        """Write FAILED.txt for a job whose worker died; hand it back as finished."""
        from zq_sim.callbacks import FAILED, failure_text

        config = job_config_for(self.hydra_context, self.config, overrides, idx)
        folder = job_dir(config)
        error = WorkerLost(
            "the worker process running this job died before it ended (killed by a signal, "
            "most often by the system for want of memory: see zq_sim's memory estimate, run "
            "fewer jobs at once with hydra.launcher.n_jobs, or lower population.scale)")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / FAILED).write_text(failure_text(config, error, overrides),
                                         encoding="utf-8")
        except OSError as exc:
            log.error("could not write %s: %s", folder / FAILED, exc)
        return _completed(overrides)


def _newer(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since
    except OSError:
        return False


def _completed(overrides: list[str]) -> JobReturn:
    """A JobReturn for a job whose outcome is recorded in its folder (not in this process)."""
    ret = JobReturn(overrides=overrides, status=JobStatus.COMPLETED)
    ret.return_value = None
    return ret

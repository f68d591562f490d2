"""Hydra callbacks for sweeps: record failed jobs and show the sweep's progress.

Configured in ``conf/config.yaml`` under ``hydra.callbacks``. Hydra calls them around every job
(in the process that runs the job, a joblib worker in a parallel sweep) and around the whole sweep
(in the process that launched it).

- A job whose task raises gets ``FAILED.txt`` in its folder: the error and traceback, the root
  seed and the replicate seeds spawned from it, and the one command that reproduces the job. In a
  sweep the failure is then handed back to Hydra as a finished job, so that Hydra's sweeper does
  not abort the jobs still to come; when the sweep ends, the failed jobs are listed and the command
  exits with status 1. A single run (no ``-m``) fails as before, with FAILED.txt besides.
- A sweep shows one progress bar over its jobs (tqdm), fed by the ``summary.json`` and
  ``FAILED.txt`` files that finished jobs leave in the sweep folder.

- A job refused because its folder holds a finished run, or another run is writing into it
  (zq_sim.folder), adds nothing to its folder (no FAILED.txt, no log line): it is noted in the
  sweep folder, listed when the sweep ends, and the command exits with status 1.

Only failures that reach Hydra as exceptions are recorded here; a task that calls ``sys.exit``
bypasses Hydra's job bookkeeping. A worker that dies (killed, out of memory) is handled by the
launcher (hydra_plugins/zq_sim_launcher), which writes the lost job's FAILED.txt.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

#: File a failed job leaves in its folder.
FAILED = "FAILED.txt"
#: File in the sweep folder listing the jobs refused because their folder holds a finished run.
REFUSED = ".refused_jobs.txt"
#: File in the sweep folder listing the jobs skipped with resume=true.
SKIPPED = ".skipped_jobs.txt"
#: File a finished job leaves in its folder (written last by zq_sim.run).
DONE = "summary.json"


def reproduce_command(overrides: list[str]) -> str:
    """The command that re-runs one job of a sweep on its own (Hydra's RUN mode)."""
    kept = [o for o in overrides if not o.startswith("hydra.sweep")]
    return " ".join(["python -m zq_sim", "hydra.mode=RUN", *(shlex.quote(o) for o in kept)])


def _replicate_seeds(config: DictConfig) -> str:
    seed, reps = OmegaConf.select(config, "seed"), OmegaConf.select(config, "replicates")
    try:
        from zq_sim.run import replicate_seeds

        return ", ".join(str(s) for s in replicate_seeds(int(seed), int(reps)))
    except Exception as exc:  # noqa: BLE001 - the seeds are a courtesy; never mask the failure
        return f"(could not be derived: {exc})"


def failure_text(config: DictConfig, error: BaseException, overrides: list[str]) -> str:
    """What FAILED.txt says: the error, the seeds and the command that reproduces the job."""
    tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return "\n".join([
        "This job FAILED; the other jobs of the sweep went on.",
        "",
        f"error: {type(error).__name__}: {error}",
        f"scenario: {OmegaConf.select(config, 'scenario')}",
        f"seed: {OmegaConf.select(config, 'seed')} (root seed)",
        f"replicate seeds: {_replicate_seeds(config)}",
        f"overrides: {' '.join(overrides) or '(none)'}",
        "",
        "reproduce (from the project folder):",
        f"    {reproduce_command(overrides)}",
        "",
        "traceback:",
        tb.rstrip("\n"),
        "",
    ])


def sweep_size(config: DictConfig) -> int | None:
    """Number of jobs a basic sweep launches (None if it cannot be worked out)."""
    try:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        params = OmegaConf.select(config, "hydra.sweeper.params") or {}
        args = [f"{k}={v}" for k, v in params.items()]
        args += list(OmegaConf.select(config, "hydra.overrides.task") or [])
        parsed = OverridesParser.create().parse_overrides(args)
        return sum(len(batch) for batch in BasicSweeper.split_arguments(parsed, None))
    except Exception:  # noqa: BLE001 - other sweepers: a bar without a total
        return None


def finished_jobs(sweep_dir: Path, since: float) -> tuple[int, int]:
    """(finished, failed) jobs of the sweep that started at ``since``.

    A job counts once it holds ``summary.json`` or ``FAILED.txt`` written since ``since``; a job
    refused or skipped (``resume=true``) leaves its folder untouched and counts through the
    sweep folder's notes (:data:`REFUSED`, :data:`SKIPPED`).
    """
    done = failed = 0
    try:
        for marker in sweep_dir.rglob(FAILED):
            if marker.stat().st_mtime >= since:
                failed += 1
        for marker in sweep_dir.rglob(DONE):
            if marker.stat().st_mtime >= since and not (marker.parent / FAILED).exists():
                done += 1
        for note in (REFUSED, SKIPPED):
            if (sweep_dir / note).is_file():
                done += len((sweep_dir / note).read_text(encoding="utf-8").split())
    except OSError:
        pass
    return done + failed, failed


_CREATED: set[str] = set()


def created_run_dir(path: Path) -> bool:
    """Whether this process's single run created its output folder (it did not exist before)."""
    return str(Path(path).resolve()) in _CREATED


def note_job(sweep_dir: str | Path, note: str, name: str) -> None:
    """Add a job's folder name to a note in the sweep folder (refused or skipped jobs)."""
    try:
        with open(Path(sweep_dir) / note, "a", encoding="utf-8") as f:
            f.write(f"{name}\n")
    except OSError as exc:
        log.error("could not note the job in %s: %s", note, exc)


class SweepMonitor(Callback):
    """Record failed jobs (FAILED.txt) and show a progress bar over a sweep's jobs.

    Args:
        progress: show the sweep's progress bar.
        poll_seconds: how often the bar looks for finished jobs.

    """

    def __init__(self, progress: bool = True, poll_seconds: float = 1.0) -> None:
        self.progress = progress
        self.poll_seconds = poll_seconds
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._multirun_yaml: tuple[Path, bytes, int, int] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle for the workers without the launching process's thread."""
        return {"progress": self.progress, "poll_seconds": self.poll_seconds,
                "_stop": None, "_thread": None, "_started": self._started,
                "_multirun_yaml": None}

    # ------------------------------------------------------------------ jobs (in the worker)
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Note whether a single run's folder exists yet (an error removes only a new one)."""
        out = OmegaConf.select(config, "hydra.run.dir")  # resolved once: Hydra caches ${now:}
        if out and not Path(str(out)).exists():
            _CREATED.add(str(Path(str(out)).resolve()))

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        """Write FAILED.txt for a failed job; in a sweep, let the other jobs go on."""
        if job_return.status != JobStatus.FAILED:
            return
        error = job_return._return_value  # the exception; the property would re-raise it
        out = Path(OmegaConf.select(config, "hydra.runtime.output_dir"))
        from zq_sim.config import OutputsExist

        if isinstance(error, OutputsExist):
            # the folder holds a finished run, or another run is writing into it: add nothing to
            # it (not even a log line); note the refusal in the sweep folder, so that the sweep
            # can say so and exit non-zero
            if str(OmegaConf.select(config, "hydra.mode")).endswith("MULTIRUN"):
                note_job(OmegaConf.select(config, "hydra.sweep.dir"), REFUSED, out.name)
                job_return.status = JobStatus.COMPLETED
                job_return.return_value = None
            return
        overrides = list(job_return.overrides or [])
        text = failure_text(config, error, overrides)
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / FAILED).write_text(text, encoding="utf-8")
        except OSError as exc:
            log.error("could not write %s: %s", out / FAILED, exc)
        log.error("job failed: %s: %s (details in %s)", type(error).__name__, error, out / FAILED)
        if str(OmegaConf.select(config, "hydra.mode")).endswith("MULTIRUN"):
            job_return.status = JobStatus.COMPLETED
            job_return.return_value = None

    # ------------------------------------------------------------------ sweep (launcher side)
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Keep the sweep folder's multirun.yaml as it is, and start the progress bar."""
        self._started = time.time() - 1.0  # file times can be coarser than the clock
        for note in (REFUSED, SKIPPED):
            (Path(config.hydra.sweep.dir) / note).unlink(missing_ok=True)
        # Hydra's sweeper rewrites multirun.yaml before it launches the jobs; a sweep that runs
        # no job (all refused or skipped) puts the old one back (on_multirun_end)
        kept = Path(config.hydra.sweep.dir) / "multirun.yaml"
        try:
            st = kept.stat()
            self._multirun_yaml = (kept, kept.read_bytes(), st.st_atime_ns, st.st_mtime_ns)
        except OSError:
            self._multirun_yaml = None
        from zq_sim.sweep_summary import experiment_list_warning

        warning = experiment_list_warning(list(OmegaConf.select(config, "hydra.overrides.task")
                                               or []))
        if warning:
            print(warning, file=sys.stderr)
        if not self.progress:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, args=(Path(config.hydra.sweep.dir), sweep_size(config)),
            daemon=True, name="zq_sim-sweep-progress")
        self._thread.start()

    def _watch(self, sweep_dir: Path, total: int | None) -> None:
        from tqdm import tqdm

        assert self._stop is not None
        with tqdm(total=total, desc="sweep", unit="job", position=0, dynamic_ncols=True) as bar:
            while True:
                stopping = self._stop.wait(self.poll_seconds)
                done, failed = finished_jobs(sweep_dir, self._started)
                bar.n = done
                bar.set_postfix_str(f"{failed} failed" if failed else "", refresh=False)
                bar.refresh()
                if stopping:
                    return

    def _restore_multirun_yaml(self) -> None:
        _restore(self._multirun_yaml)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Stop the bar; list failed jobs and exit with status 1 if there are any."""
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
        sweep_dir = Path(config.hydra.sweep.dir)
        from zq_sim.sweep_summary import end_message

        try:
            print(end_message(sweep_dir, self._started), flush=True)
        except Exception as exc:  # noqa: BLE001 - a summary must not hide the failures below
            log.error("could not summarise the sweep: %s", exc)
        failed = sorted(p.parent for p in sweep_dir.rglob(FAILED)
                        if p.stat().st_mtime >= self._started)
        refused_file = sweep_dir / REFUSED
        refused = sorted(set(refused_file.read_text(encoding="utf-8").split())) \
            if refused_file.is_file() else []
        ran = any(p.stat().st_mtime >= self._started for p in sweep_dir.rglob(DONE))
        for note in (REFUSED, SKIPPED):  # the progress bar's notes: not left in the folder
            (sweep_dir / note).unlink(missing_ok=True)
        if not ran and not failed:
            self._restore_multirun_yaml()
        if not failed and not refused:
            return
        lines = []
        if failed:
            lines += [f"zq_sim: {len(failed)} job(s) of the sweep failed; the others finished:"]
            lines += [f"  {p.relative_to(sweep_dir)}: {_first_error(p / FAILED)}"
                      for p in failed]
            lines += [f"Each folder's {FAILED} says why and how to reproduce it. The report "
                      f"collects the rest:  python -m zq_sim.report {sweep_dir}"]
        if refused:
            lines += [f"zq_sim: {len(refused)} job(s) not run: their folders hold finished runs "
                      f"(or another run is writing into them), left untouched (resume=true skips "
                      f"finished ones; or choose another hydra.sweep.dir):"]
            lines += [f"  {name}" for name in refused]
        print("\n".join(lines), file=sys.stderr)
        sys.exit(1)


def _restore(kept: tuple[Path, bytes, int, int] | None) -> None:
    """Put a file back as it was (its bytes and times)."""
    if kept is None:
        return
    path, content, atime, mtime = kept
    try:
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
        os.utime(path, ns=(atime, mtime))
    except OSError as exc:
        log.error("could not put %s back: %s", path, exc)


def _first_error(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("error: "):
            return line[len("error: "):]
    return "(no error line)"

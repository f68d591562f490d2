"""Command line: ``python -m zq_sim [+scenario=NAME] [key=value ...]`` (Hydra).

A thin wrapper around :func:`zq_sim.run.run`. Before Hydra starts, :func:`zq_sim.overrides.check`
checks every setting of the command line (so a typo gets one line naming the field and what is
allowed, and a sweep with a bad value starts no job). In each job, the output folder is checked
and locked (:mod:`zq_sim.folder`) before anything is written into it; then ``.hydra/`` is
written, Hydra's config is turned into the typed ``RunConfig`` and the run writes its outputs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from zq_sim import folder
from zq_sim.config import ConfigError, RunConfig
from zq_sim.overrides import CONF_DIR, check


def _discard(out_dir: Path) -> None:
    """Remove what this run wrote into its folder, and the folder if this run created it."""
    from zq_sim.callbacks import created_run_dir

    folder.clear_partial(out_dir)
    (out_dir / folder.LOCK).unlink(missing_ok=True)
    if created_run_dir(out_dir):
        with contextlib.suppress(OSError):
            out_dir.rmdir()  # only if empty: a log or a user's file keeps it


def _lose_worker_if_asked(cfg: RunConfig) -> None:
    """For tests of a lost worker: the process kills itself when running the given root seed."""
    if os.environ.get("ZQ_SIM_TEST_KILL_SEED") == str(cfg.seed):
        os.kill(os.getpid(), signal.SIGKILL)


def _note_skipped(out_dir: Path, sweeping: bool) -> None:
    """Count a job skipped with resume=true in the sweep's progress (its folder is untouched)."""
    if sweeping:
        from zq_sim.callbacks import SKIPPED, note_job

        note_job(HydraConfig.get().sweep.dir, SKIPPED, out_dir.name)


def save_hydra_files(out_dir: Path, cfg: DictConfig) -> None:
    """Write .hydra/ (config, Hydra's config, overrides), as Hydra does with output_subdir.

    conf/config.yaml sets ``hydra.output_subdir: null``, so that Hydra writes nothing into a
    folder before the task has its lock and has checked that no finished run is there.
    """
    hydra_root = HydraConfig.instance().cfg
    sub = out_dir / ".hydra"
    sub.mkdir(parents=True, exist_ok=True)
    for name, node in (("config.yaml", cfg), ("hydra.yaml", hydra_root),
                       ("overrides.yaml", HydraConfig.get().overrides.task)):
        (sub / name).write_text(OmegaConf.to_yaml(node), encoding="utf-8")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> None:
    """Run one configuration into Hydra's output folder."""
    # imported here, in the process that runs the job: the process launching a parallel sweep
    # needs neither the model nor pandas
    from zq_sim.data import DataError
    from zq_sim.run import RunFailed

    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    sweeping = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        run_in_folder(cfg, out_dir, sweeping)
    except (ConfigError, DataError, RunFailed) as exc:
        if sweeping:
            raise  # one job of a sweep: zq_sim.callbacks writes FAILED.txt, the others go on
        print(f"zq_sim: error: {exc}", file=sys.stderr)
        sys.exit(2)


def run_in_folder(cfg: DictConfig, out_dir: Path, sweeping: bool) -> None:
    """Check the folder, lock it, write .hydra/ and run; on an error leave no trace of this run.

    A folder that holds a finished run is skipped (resume) or refused before anything is
    written into it; a folder another run is writing into is refused (:class:`FolderBusy`).
    """
    from zq_sim.data import fingerprint
    from zq_sim.run import run

    data_hash = fingerprint()["sha256"]
    resolved = OmegaConf.to_container(cfg, resolve=True)
    typed: RunConfig = OmegaConf.to_object(cfg)
    if sweeping:
        typed.output.progress = False  # parallel jobs' bars would garble the sweep's bar
    if folder.finished(out_dir, resolved, typed.resume, data_hash):
        _note_skipped(out_dir, sweeping)
        return
    with folder.locked(out_dir):
        # finished while we looked
        if folder.finished(out_dir, resolved, typed.resume, data_hash):
            _note_skipped(out_dir, sweeping)
            return
        folder.clear_partial(out_dir)  # what an earlier, killed run left
        save_hydra_files(out_dir, cfg)
        _lose_worker_if_asked(typed)
        try:
            # in a sweep the jobs' tables would repeat: the sweep prints one comparison at its end
            run(typed, out_dir, resolved=resolved, echo=None if sweeping else print)
        except Exception:
            if not sweeping:
                _discard(out_dir)
            raise


def main() -> None:
    """Entry point: check group names and a single run's settings, then hand over to Hydra."""
    from zq_sim.overrides import refuse

    refuse("zq_sim", check(sys.argv[1:]))
    app()


if __name__ == "__main__":
    main()

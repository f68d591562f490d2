"""Command line: ``python -m zq_sim [+scenario=NAME] [key=value ...]`` (Hydra).

A thin wrapper around :func:`zq_sim.run.run`: it checks the scenario, experiment and model
names and a single run's settings before Hydra starts (so a typo gets one line naming the
field and the choices), turns Hydra's config into the typed ``RunConfig`` and writes into
Hydra's output folder.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from zq_sim import folder
from zq_sim.config import ConfigError, RunConfig

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def choices(group: str) -> list[str]:
    """Names of the configs in one group of conf/ (scenario, experiment, model)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def check_group_overrides(argv: list[str]) -> str | None:
    """An error line for an unknown scenario/experiment/model name in the overrides, else None."""
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        if not sep or key not in ("scenario", "experiment", "model"):
            continue
        known = choices(key)
        for name in value.split(","):
            if name and name not in known:
                return f"unknown {key} '{name}'; choose one of: {', '.join(known)}"
    return None


def _discard(out_dir: Path) -> None:
    """Remove what this run wrote into its folder, and the folder if this run created it."""
    from zq_sim.callbacks import created_run_dir

    folder.clear_partial(out_dir)
    (out_dir / folder.LOCK).unlink(missing_ok=True)
    if created_run_dir(out_dir):
        with contextlib.suppress(OSError):
            out_dir.rmdir()  # only if empty: a log or a user's file keeps it


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
    from zq_sim.run import run

    resolved = OmegaConf.to_container(cfg, resolve=True)
    typed: RunConfig = OmegaConf.to_object(cfg)
    if sweeping:
        typed.output.progress = False  # parallel jobs' bars would garble the sweep's bar
    if folder.finished(out_dir, resolved, typed.resume):
        _note_skipped(out_dir, sweeping)
        return
    with folder.locked(out_dir):
        if folder.finished(out_dir, resolved, typed.resume):  # finished while we looked
            _note_skipped(out_dir, sweeping)
            return
        folder.clear_partial(out_dir)  # what an earlier, killed run left
        save_hydra_files(out_dir, cfg)
        try:
            run(typed, out_dir, resolved=resolved)
        except Exception:
            if not sweeping:
                _discard(out_dir)
            raise


def describe(exc: BaseException) -> str:
    """One line for an error raised while composing or typing the config."""
    from omegaconf.errors import OmegaConfBaseException

    chain, e = [], exc
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or e.__context__
    for e in chain:
        if isinstance(e, OmegaConfBaseException) and getattr(e, "full_key", None):
            first = str(e).splitlines()[0]
            if " not in " in first:
                return (f"{e.full_key}: unknown setting ({first}); every setting is listed in "
                        f"src/zq_sim/config.py")
            return f"{e.full_key}: {first}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def precheck(argv: list[str]) -> str | None:
    """Compose and check a single run's config before Hydra starts; an error line or None.

    Catches unknown keys, wrong types and out-of-range values with one clear line, before any
    output folder exists. Sweeps (-m) and Hydra's own flags are left to Hydra: a bad value in
    one job of a sweep fails that job alone.
    """
    if any(a.startswith("-") for a in argv):
        return None
    overrides = [a for a in argv if not a.lstrip("+~").startswith(("hydra.", "hydra/"))]
    from hydra import compose, initialize_config_dir

    from zq_sim.config import validate

    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
        validate(OmegaConf.to_object(cfg))
    except ConfigError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - Hydra and OmegaConf raise many kinds
        return describe(exc)
    return None


def main() -> None:
    """Entry point: check group names and a single run's settings, then hand over to Hydra."""
    problem = check_group_overrides(sys.argv[1:]) or precheck(sys.argv[1:])
    if problem:
        print(f"zq_sim: error: {problem}", file=sys.stderr)
        sys.exit(2)
    app()


if __name__ == "__main__":
    main()

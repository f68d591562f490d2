"""Command line: ``python -m zq_sim [+scenario=NAME] [key=value ...]`` (Hydra).

A thin wrapper around :func:`zq_sim.run.run`: it checks the scenario, experiment and model
names and a single run's settings before Hydra starts (so a typo gets one line naming the
field and the choices), turns Hydra's config into the typed ``RunConfig`` and writes into
Hydra's output folder.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from zq_sim.config import ConfigError, OutputsExist, RunConfig

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


def _remove_if_empty(out_dir: Path) -> None:
    """Remove a Hydra run folder that holds nothing but Hydra's own files."""
    own = {".hydra", "main.log", "__main__.log"}
    if out_dir.is_dir() and all(p.name in own for p in out_dir.iterdir()):
        shutil.rmtree(out_dir, ignore_errors=True)


def existing_outputs(out_dir: Path, resolved: dict, resume: bool) -> bool:
    """True if the folder holds complete outputs of this config and resume is on.

    Raises ConfigError rather than overwrite outputs that are already there: of another config,
    or of this one when resume is off.
    """
    summary = out_dir / "summary.json"
    if not summary.is_file():
        return False
    try:
        stored = json.loads(summary.read_text(encoding="utf-8")).get("config")
    except (OSError, ValueError):
        stored = None
    same = stored is not None and _comparable(stored) == _comparable(resolved)
    if resume and same:
        print(f"zq_sim: complete outputs of this config already in {out_dir}; skipped (resume)")
        return True
    why = "of another config" if not same else "(set resume=true to skip complete runs)"
    raise OutputsExist(f"{out_dir} already holds outputs {why}; not overwriting them: choose "
                       f"another hydra.run.dir / hydra.sweep.dir")


def _comparable(config: dict) -> dict:
    """A resolved config without the settings that do not change results."""
    c = json.loads(json.dumps(config, default=str))
    c.pop("resume", None)
    c.get("output", {}).pop("progress", None)
    return c


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> None:
    """Run one configuration into Hydra's output folder."""
    # imported here, in the process that runs the job: the process launching a parallel sweep
    # needs neither the model nor pandas
    from zq_sim.data import DataError
    from zq_sim.run import run

    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    sweeping = hydra_cfg.mode == RunMode.MULTIRUN
    resolved = OmegaConf.to_container(cfg, resolve=True)
    try:
        typed: RunConfig = OmegaConf.to_object(cfg)
        if sweeping:
            typed.output.progress = False  # parallel jobs' bars would garble the sweep's bar
        if existing_outputs(out_dir, resolved, typed.resume):
            return
        # in a sweep the jobs' tables would repeat: the sweep prints one comparison at its end
        run(typed, out_dir, resolved=resolved, echo=None if sweeping else print)
    except (ConfigError, DataError) as exc:
        if sweeping:
            raise  # one job of a sweep: zq_sim.callbacks writes FAILED.txt, the others go on
        _remove_if_empty(out_dir)
        print(f"zq_sim: error: {exc}", file=sys.stderr)
        sys.exit(2)


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

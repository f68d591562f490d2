"""zq_sim's public Python API: a validated, calibrated configuration, and its simulation.

For notebooks and the tools of the field (SALib, EMA workbench, Mesa's batch_run), without
Hydra's command line::

    import zq_sim

    cfg = zq_sim.load_config("land_transfer", {"years.end": 2030})
    result = zq_sim.simulate(cfg, replicates=5, seed=7)
    result.timeseries        # one row per replicate and year (pandas)
    result.summary["horizon"]["mean_operating_income"]

    # or straight from overrides
    ts = zq_sim.simulate({"policy.companies.formation_push": 2.0}, replicates=3).timeseries

Configurations come from the same conf/ tree as the command line, with the calibrated
parameters (conf/model/calibrated.yaml) unless ``calibrated=False``; every setting is
type-checked and range-checked (:func:`zq_sim.config.validate`), so a bad value raises
:class:`zq_sim.config.ConfigError` naming the field and what is allowed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from zq_sim.config import ConfigError, RunConfig, describe_fields, validate
from zq_sim.overrides import nearest_key
from zq_sim.paths import CONF_DIR

Overrides = Mapping[str, Any] | Sequence[str] | None


@dataclass(frozen=True)
class Simulation:
    """What :func:`simulate` returns.

    Attributes:
        timeseries: one row per replicate and year: scenario, seed, year and every metric.
        villages: one row per village, replicate and year (None unless ``villages=True``).
        summary: the summary.json contract (targets, horizon, chosen years, config).

    """

    timeseries: pd.DataFrame
    villages: pd.DataFrame | None
    summary: dict


def scenarios() -> list[str]:
    """Names of the scenarios in conf/scenario/."""
    return sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))


def load_config(scenario: str | None = None, overrides: Overrides = None, *,
                calibrated: bool = True) -> RunConfig:
    """A validated run configuration, composed as the command line composes it.

    Args:
        scenario: a scenario of conf/scenario/ (None: the baseline).
        overrides: settings to change, as a mapping of dotted names to values
            (``{"years.end": 2030}``) or as Hydra override strings (``["years.end=2030"]``).
        calibrated: use the calibrated parameters (conf/model/calibrated.yaml); False runs the
            priors (data/priors.csv).

    Raises:
        ConfigError: an unknown scenario or setting, a value of the wrong type or out of range.

    """
    from hydra import compose, initialize_config_dir

    if scenario is not None and scenario not in scenarios():
        raise ConfigError(f"unknown scenario '{scenario}'; choose one of: "
                          f"{', '.join(scenarios())}")
    strings = [] if overrides is None or isinstance(overrides, Mapping) else list(overrides)
    if isinstance(overrides, str):
        raise ConfigError("overrides must be a mapping or a list of 'key=value' strings")
    for item in strings:
        key, sep, _ = str(item).lstrip("+~").partition("=")
        if not sep:
            raise ConfigError(f"override '{item}' is not of the form key=value")
        if key not in ("scenario", "model", "experiment") and not key.startswith("hydra"):
            _check_key(key)
    groups = [f"+scenario={scenario}"] if scenario else []
    groups += [] if calibrated else ["model=priors"]
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            composed = compose(config_name="config", overrides=groups + strings)
        cfg = OmegaConf.to_object(composed)
        if isinstance(overrides, Mapping):
            cfg = apply_overrides(cfg, overrides)
    except ConfigError:
        raise
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or ""
        raise ConfigError(f"{key}: {str(exc).splitlines()[0]}".lstrip(": ")) from exc
    except Exception as exc:  # noqa: BLE001 - Hydra's override parser raises several kinds
        raise ConfigError(_first_cause(exc)) from exc
    assert isinstance(cfg, RunConfig)
    return validate(cfg)


def apply_overrides(cfg: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    """A copy of ``cfg`` with settings changed by dotted name, type-checked (not range-checked).

    Raises:
        ConfigError: an unknown setting or a value of the wrong type, in one line.

    """
    if not overrides:
        return copy.deepcopy(cfg)
    node = OmegaConf.structured(cfg)
    try:
        for key, value in overrides.items():
            _check_key(key)
            OmegaConf.update(node, key, value, merge=True)
        out = OmegaConf.to_object(node)
    except OmegaConfBaseException as exc:
        raise ConfigError(_first_cause(exc)) from exc
    assert isinstance(out, RunConfig)
    return out


def _first_cause(exc: BaseException) -> str:
    """One line from the innermost config error that names its key, else the error itself."""
    e: BaseException | None = exc
    while e is not None:
        key = getattr(e, "full_key", None)
        if isinstance(e, OmegaConfBaseException) and key:
            return f"{key}: {str(e).splitlines()[0]}"
        e = e.__cause__ or e.__context__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _check_key(key: str) -> None:
    """Refuse a dotted name that is not a setting, naming the nearest one (overrides.py's)."""
    if key not in _settings():
        raise ConfigError(f"{key}: unknown setting; did you mean {nearest_key(key)}?")


@lru_cache(maxsize=1)
def _settings() -> frozenset[str]:
    """Dotted names of every setting (the leaves of the schema, not its sections)."""
    return frozenset(d["name"] for d in describe_fields())


def simulate(config: RunConfig | Overrides = None, *, scenario: str | None = None,
             replicates: int | None = None, seed: int | None = None, villages: bool = False,
             counterfactual: bool | None = None, progress: bool = False) -> Simulation:
    """Run the replicates of one configuration and return its tables (nothing is written).

    Args:
        config: a RunConfig (from :func:`load_config`), or overrides for :func:`load_config`.
        scenario: with overrides (or None), the scenario to compose them on.
        replicates: replicates to run (default: the config's, 10 unless changed).
        seed: root seed; replicate seeds are spawned from it (default: the config's).
        villages: also return the village panel (one row per village, replicate and year).
        counterfactual: measure the three-assets reform's added income with a twin run
            (default: the config's ``output.counterfactual``); False halves the run time.
        progress: show a progress bar over replicates.

    Returns:
        The time series, the village panel (if asked) and the summary, as :class:`Simulation`.

    """
    from zq_sim.run import run

    if isinstance(config, RunConfig):
        if scenario is not None:
            raise ConfigError("scenario: give it to load_config, not with a RunConfig")
        cfg = copy.deepcopy(config)
    else:
        cfg = load_config(scenario, config)
    if replicates is not None:
        cfg.replicates = replicates
    if seed is not None:
        cfg.seed = seed
    if counterfactual is not None:
        cfg.output.counterfactual = counterfactual
    cfg.output.villages = villages
    cfg.output.progress = progress
    tables: dict[str, pd.DataFrame | None] = {}
    summary = run(validate(cfg), None, echo=None, tables=tables)
    return Simulation(tables["timeseries"], tables.get("villages"), summary)

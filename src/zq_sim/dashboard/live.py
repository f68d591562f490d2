"""Live runs for the dashboard: compose a config as the command line does, run it, summarise.

The dashboard's settings (a scenario of ``conf/scenario/`` and values of a few policy levers)
become Hydra overrides of ``conf/config.yaml`` with the calibrated model, composed with Hydra's
compose API and typed and range-checked exactly as ``python -m zq_sim`` does. The replicates
run through :func:`zq_sim.run.run_replicate` on the seeds of :func:`zq_sim.run.replicate_seeds`,
so a dashboard result equals the command line's for the same settings and root seed.

Nothing here draws: the figures are in :mod:`zq_sim.dashboard.figures`, the page in
:mod:`zq_sim.dashboard.app`.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from zq_sim import outputs
from zq_sim.config import RunConfig, describe_fields, validate
from zq_sim.overrides import CONF_DIR, choices
from zq_sim.run import replicate_seeds, run_replicate

#: The scenario every run is compared with (the 2024 policy mix continued).
REFERENCE = "baseline"
#: Income thresholds of the weak-village outcomes (yuan; declared in zq_sim.outputs).
FLOOR, HIGHER = outputs.FLOOR, outputs.HIGHER


@dataclass(frozen=True)
class Lever:
    """A setting the dashboard offers, shown in display units (``value * factor``).

    ``lo`` and ``hi`` bound the slider in stored units; they lie inside the range that
    :mod:`zq_sim.config` declares (checked by the tests), narrowed where the declared range is
    open (a push of 0 to 3 times the 2024 drive).
    """

    key: str
    label: str
    unit: str
    lo: float
    hi: float
    step: float
    factor: float = 1.0
    kind: str = "float"
    shock: bool = False


#: The main policy levers and the shocks, in the order the page shows them.
LEVERS: tuple[Lever, ...] = (
    Lever("policy.three_assets.platform_coverage", "Re-lets tendered on the platform", "%",
          0.0, 1.0, 0.05, 100.0),
    Lever("policy.three_assets.cleanup_intensity", "Contract clean-up drive", "× 2024",
          0.0, 3.0, 0.1),
    Lever("policy.land.consolidation_push", "Land consolidation push", "× 2024", 0.0, 3.0, 0.1),
    Lever("policy.land.soe_push", "Huaiji SOE land push", "× 2024", 0.0, 3.0, 0.1),
    Lever("policy.companies.formation_push", "Strong-village company formation", "× 2024",
          0.0, 3.0, 0.1),
    Lever("policy.companies.seed_capital", "Start-up capital per company", "万元",
          0.0, 1.0e6, 1.0e4, 1.0e-4),
    Lever("policy.pv.adopt_rate", "PV adoption a year (outside 高要)", "% of villages",
          0.0, 0.3, 0.01, 100.0),
    Lever("policy.pv.subsidy", "Public share of PV investment", "%", 0.0, 1.0, 0.05, 100.0),
    Lever("policy.assistance.fund", "Assistance projects a year", "亿元",
          0.0, 5.0e8, 1.0e7, 1.0e-8),
    Lever("policy.talent.managers", "Rural professional managers", "people", 0, 200, 5,
          kind="int"),
    Lever("policy.support.enabled", "Fiscal support for weak villages", "", 0, 1, 1,
          kind="bool"),
    Lever("policy.support.threshold", "Support threshold (operating income)", "万元",
          0.0, 4.0e5, 1.0e4, 1.0e-4),
    Lever("policy.support.gap_share", "Share of the shortfall paid", "%", 0.0, 1.0, 0.05, 100.0),
    Lever("policy.shock.rent_change", "Market rents from the shock year", "% a year",
          -0.1, 0.05, 0.01, 100.0, shock=True),
    Lever("policy.companies.failure_multiplier", "Company failures", "× prior",
          0.0, 5.0, 0.5, shock=True),
)
LEVER_KEYS = tuple(lever.key for lever in LEVERS)

#: Sources of operating income (``mean_<part>_income`` columns) in the dashboard's stacking
#: order, with the registry's labels (:data:`zq_sim.outputs.INCOME_PARTS`).
SOURCES: dict[str, str] = {
    p: outputs.capitalised(outputs.part_label(p)[0])
    for p in ("lease", "arrears", "land", "dividends", "pv", "assistance", "own")}

_HYDRA = threading.Lock()  # Hydra's compose state is global to the process
_TOKENS = itertools.count(1)


def scenarios() -> list[str]:
    """The scenarios of conf/scenario/, baseline first."""
    names = choices("scenario")
    return [REFERENCE] + [n for n in names if n != REFERENCE] if REFERENCE in names else names


def scenario_description(name: str) -> str:
    """What a scenario changes and why: the header comment of its file in conf/scenario/."""
    text = []
    for line in (CONF_DIR / "scenario" / f"{name}.yaml").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if not line.startswith("# @package"):
            text.append(line.lstrip("#").strip())
    description = " ".join(text)
    prefix = f"{name}:"
    return description[len(prefix):].strip() if description.startswith(prefix) else description


def declared_range(key: str) -> tuple[float | None, float | None]:
    """The range config.py declares for a setting (None: open)."""
    for row in describe_fields():
        if row["name"] == key:
            return row["lo"], row["hi"]
    raise KeyError(key)


def _override(key: str, value: float | bool | int) -> str:
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    if isinstance(value, int | np.integer):
        return f"{key}={int(value)}"
    return f"{key}={float(value)!r}"


@functools.lru_cache(maxsize=64)
def _compose(overrides: tuple[str, ...]) -> RunConfig:
    with _HYDRA, initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    return validate(OmegaConf.to_object(cfg))


def compose_config(scenario: str, levers: Mapping[str, float] | None = None, replicates: int = 3,
                   end: int | None = None) -> RunConfig:
    """The typed config of a scenario with some levers set, as ``python -m zq_sim`` builds it.

    Raises:
        zq_sim.config.ConfigError: a lever outside its allowed range (one line naming it).
        ValueError: an unknown scenario (the message lists the known ones).

    """
    if scenario not in choices("scenario"):
        raise ValueError(f"unknown scenario '{scenario}'; choose one of: "
                         f"{', '.join(choices('scenario'))}")
    overrides = [f"+scenario={scenario}", "model=calibrated", f"replicates={int(replicates)}",
                 "output.counterfactual=false", "output.villages=true", "output.progress=false"]
    if end is not None:
        overrides.append(f"years.end={int(end)}")
    overrides += [_override(k, v) for k, v in sorted((levers or {}).items())]
    return copy.deepcopy(_compose(tuple(overrides)))


def lever_values(cfg: RunConfig) -> dict[str, float]:
    """The value of every lever of LEVERS in a config."""
    out = {}
    for key in LEVER_KEYS:
        obj = cfg
        for part in key.split("."):
            obj = getattr(obj, part)
        out[key] = obj
    return out


def scenario_levers(scenario: str) -> dict[str, float]:
    """The levers as a scenario file sets them (the sliders' starting positions)."""
    return lever_values(compose_config(scenario))


@dataclass(frozen=True)
class LiveRun:
    """The outputs of one dashboard run, tables as ``python -m zq_sim`` writes them.

    Attributes:
        label: name shown in the figures' legends.
        timeseries: one row per replicate and year (timeseries.parquet's columns).
        villages: one row per village and replicate, of every year (villages.parquet's).
        token: a number no other run of this process has (the page redraws on a new one).

    """

    label: str
    timeseries: pd.DataFrame
    villages: pd.DataFrame
    token: int = field(default_factory=lambda: next(_TOKENS), compare=False)


def run_live(cfg: RunConfig, label: str,
             progress: Callable[[int, int], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> LiveRun | None:
    """Run every replicate of ``cfg``; report progress after each; None if cancelled."""
    seeds = replicate_seeds(cfg.seed, cfg.replicates)
    frames, panels = [], []
    for i, seed in enumerate(seeds):
        if cancelled is not None and cancelled():
            return None
        ts, panel = run_replicate(cfg, seed)
        frames.append(ts)
        panels.append(panel)
        if progress is not None:
            progress(i + 1, len(seeds))
    timeseries = pd.concat(frames, ignore_index=True)
    villages = pd.concat(panels, ignore_index=True)
    for table in (timeseries, villages):
        table.insert(0, "scenario", label)
    return LiveRun(label, timeseries, villages)


@functools.lru_cache(maxsize=8)
def reference_run(replicates: int, end: int) -> LiveRun:
    """The baseline scenario as saved, for comparison (cached: it depends on nothing else)."""
    return run_live(compose_config(REFERENCE, replicates=replicates, end=end), REFERENCE)


def bands(timeseries: pd.DataFrame, column: str, by: str = "scenario") -> pd.DataFrame:
    """Per group and year: mean, 5th and 95th percentile of a column over replicates."""
    g = timeseries.groupby([by, "year"], sort=False)[column]
    out = pd.DataFrame({"mean": g.mean(), "p05": g.quantile(0.05), "p95": g.quantile(0.95)})
    return out.reset_index()


def differences(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per run other than the baseline, replicate and year: its value less the baseline's.

    Runs share their replicate seeds (common random numbers), so the difference of a replicate
    is the effect of the settings on that replicate's villages.
    """
    wide = table.pivot_table(index=["seed", "year"], columns="scenario", values=column)
    if REFERENCE not in wide:
        return pd.DataFrame(columns=["scenario", "seed", "year", column])
    diff = wide.drop(columns=REFERENCE).sub(wide[REFERENCE], axis=0)
    return diff.stack().rename(column).reset_index()


def interval(values: pd.Series) -> tuple[float, float, float]:
    """Mean, 5th and 95th percentile of values over replicates (NaN when there are none)."""
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan, math.nan
    return float(a.mean()), float(np.percentile(a, 5)), float(np.percentile(a, 95))


def weak_village_table(run: LiveRun) -> pd.DataFrame:
    """Per replicate and year: weak villages on their own (operating) income, from the panel.

    Columns: ``share_own_below_150k``, ``share_own_below_200k``, ``villages_supported`` and
    ``public_support`` (yuan). Where the time series carries these columns (newer model
    versions) its values are used; otherwise they are counted from the village panel, which
    every run of the dashboard writes.
    """
    v = run.villages
    counted = v.assign(_b150=v["operating_income"] < FLOOR, _b200=v["operating_income"] < HIGHER,
                       _sup=v["support"] > 0).groupby(["seed", "year"]).agg(
        share_own_below_150k=("_b150", "mean"), share_own_below_200k=("_b200", "mean"),
        villages_supported=("_sup", "sum"), public_support=("support", "sum"))
    counted = counted.reset_index()
    ts = run.timeseries
    for column in counted.columns.drop(["seed", "year"]):
        if column in ts:  # the model's own measure wins where it exists
            counted = counted.drop(columns=column).merge(
                ts[["seed", "year", column]], on=["seed", "year"], how="left")
    counted.insert(0, "scenario", run.label)
    return counted


def county_table(run: LiveRun, year: int) -> pd.DataFrame:
    """Per county and replicate in one year: villages' operating income, mean and 10th percentile.

    Also the share of the county's villages whose operating income is below 200k yuan.
    """
    v = run.villages[run.villages["year"] == year]
    v = v.assign(_below=v["operating_income"] < HIGHER)
    out = v.groupby(["county", "seed"], sort=False).agg(
        mean_operating_income=("operating_income", "mean"),
        p10_operating_income=("operating_income", lambda s: s.quantile(0.1)),
        share_own_below_200k=("_below", "mean"))
    out = out.reset_index()
    out.insert(0, "scenario", run.label)
    out.insert(1, "year", year)
    return out


def headline(run: LiveRun, year: int) -> dict[str, tuple[float, float, float]]:
    """The numbers the page states for one year: each (mean, p05, p95) over replicates."""
    ts = run.timeseries[run.timeseries["year"] == year]
    weak = weak_village_table(run)
    weak = weak[weak["year"] == year]
    out = {
        "mean_operating_income": interval(ts["mean_operating_income"]),
        "p10_operating_income": interval(ts["p10_operating_income"]),
        "share_own_below_150k": interval(weak["share_own_below_150k"]),
        "share_own_below_200k": interval(weak["share_own_below_200k"]),
        "villages_supported": interval(weak["villages_supported"]),
        "public_support": interval(weak["public_support"]),
    }
    if "public_spending" in ts:
        out["public_spending"] = interval(ts["public_spending"])
    return out

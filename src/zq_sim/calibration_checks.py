"""Checks of a calibration (calibrate.py): the support rule's fit and the held-out validation.

:func:`fit_support` chooses the weakest support rule that holds the floor on a share of seeds;
:func:`validate_fit` runs the calibrated model on held-out seeds and measures the validation
patterns (:func:`patterns`) and the yearly paths (:func:`yearly_means`).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from zq_sim import data
from zq_sim.config import ConfigError, RunConfig
from zq_sim.run import replicate_seeds, run_replicate, summarise, target_values
from zq_sim.smm import with_values

if TYPE_CHECKING:
    from zq_sim.calibrate import CalibrationSettings, SupportFit


def _floor_row(cfg: RunConfig, seed: int) -> tuple[float, float, int]:
    """Lowest total income, support paid and villages supported in the calibration year."""
    ts, _ = run_replicate(cfg, seed)
    row = ts.set_index("year").loc[cfg.years.calibration]
    return (float(row["min_total_income"]), float(row["public_support"]),
            int(row["villages_supported"]))


def _floor_config(cfg: RunConfig) -> RunConfig:
    """The run that checks the floor: to the calibration year, no twin, no panel."""
    base = copy.deepcopy(cfg)
    base.years.end = base.years.calibration
    base.output.villages = base.output.progress = base.output.counterfactual = False
    return base


def fit_support(cfg: RunConfig, fit: SupportFit, floor: float, seeds: list[int], jobs: int = -1,
                progress: bool = False) -> dict:
    """The weakest support rule that holds the floor on a share of the seeds.

    For each gap share of an even grid, a bisection finds the lowest threshold at which the
    lowest village clears ``floor`` on at least ``fit.probability`` of the seeds (more support
    only raises total incomes); of these, the rule that costs least in the calibration year is
    chosen. Runs stop at the calibration year; the counterfactual is not needed.

    Returns:
        The chosen threshold and gap share, the share of seeds on which the floor held, the
        mean cost and villages supported, and every rule tried.

    """
    if not 0 < fit.probability <= 1:
        raise ConfigError(f"calibration.support.probability = {fit.probability} must be in (0, 1]")
    if not (fit.threshold_low < fit.threshold_high and fit.gap_share_low <= fit.gap_share_high):
        raise ConfigError("calibration.support: each low must be below its high")
    base = _floor_config(cfg)
    tried: list[dict] = []

    def evaluate(threshold: float, gap_share: float, parallel: Parallel) -> dict:
        c = with_values(base, {"policy.support.threshold": threshold,
                               "policy.support.gap_share": gap_share})
        rows = np.array(parallel(delayed(_floor_row)(c, seed) for seed in seeds), dtype=float)
        out = {"threshold": float(threshold), "gap_share": float(gap_share),
               "held": float(np.mean(rows[:, 0] >= floor)), "lowest": float(rows[:, 0].min()),
               "cost": float(rows[:, 1].mean()), "supported": float(rows[:, 2].mean())}
        tried.append(out)
        bar.update(1)
        return out

    best: dict | None = None
    shares = np.linspace(fit.gap_share_low, fit.gap_share_high, max(fit.grid, 1))
    with Parallel(n_jobs=jobs, backend="loky") as parallel, tqdm(
            desc="calibration: support rule", unit="rule", disable=not progress) as bar:
        for g in shares:
            top = evaluate(fit.threshold_high, g, parallel)
            if top["held"] < fit.probability:
                continue  # not even the strongest threshold holds the floor at this share
            lo, hi, hit = fit.threshold_low, fit.threshold_high, top
            for _ in range(fit.steps):
                mid = 0.5 * (lo + hi)
                r = evaluate(mid, g, parallel)
                if r["held"] >= fit.probability:
                    hi, hit = mid, r
                else:
                    lo = mid
            if best is None or hit["cost"] < best["cost"]:
                best = hit
    feasible = best is not None
    if best is None:  # nothing holds the floor: the strongest rule tried, said so in the report
        best = max(tried, key=lambda r: (r["held"], -r["cost"]))
    return {**best, "probability": fit.probability, "feasible": feasible, "tried": tried,
            "seeds": len(seeds)}


def validate_fit(cfg: RunConfig, s: CalibrationSettings, echo) -> dict:
    """Baseline, no_reform and no-support runs of the fitted model on held-out seeds."""
    variants = {"baseline": {}, "no_reform": {"policy.three_assets.reform": False},
                "no_support": {"policy.support.enabled": False}}
    out = {}
    for name, changes in variants.items():
        c = with_values(cfg, {})
        for dotted, value in changes.items():
            *parents, leaf = dotted.split(".")
            obj = c
            for part in parents:
                obj = getattr(obj, part)
            setattr(obj, leaf, value)
        c.scenario = name
        c.seed, c.replicates = s.validation_seed, s.validation_replicates
        # the baseline to the horizon (its growth is decomposed), the others to 2027
        c.years.end = cfg.years.end if name == "baseline" else max(c.years.calibration, 2027)
        c.output.villages = True
        seeds = replicate_seeds(c.seed, c.replicates)
        frames, panels = [], []
        for seed in tqdm(seeds, desc=f"validation: {name}", unit="rep",
                         disable=not cfg.output.progress, leave=False):
            ts, panel = run_replicate(c, seed)
            frames.append(ts)
            panels.append(panel)
        per_replicate = pd.DataFrame([target_values(f, c.years.calibration) for f in frames])
        ts = pd.concat(frames, ignore_index=True)
        ts.insert(0, "scenario", name)
        summary = summarise(c, ts, seeds, {})
        summary.pop("config", None)
        out[name] = {"summary": summary,
                     # spread over replicates: how precisely the mean is known
                     "target_sd": {k: float(per_replicate[k].std(ddof=1))
                                   if len(per_replicate) > 1 else None
                                   for k in per_replicate.columns},
                     "patterns": patterns(pd.concat(panels, ignore_index=True), c),
                     "paths": yearly_means(ts)}
    return out


#: Columns of the validation runs' yearly means kept in calibration.json (sources of income, the
#: weak villages on their own income, support, companies, public money).
PATH_COLUMNS = (
    "mean_operating_income", "mean_recurring_operating_income", "p10_operating_income",
    "share_own_below_150k", "share_own_below_200k", "min_total_income", "villages_supported",
    "weak_listed", "public_support", "public_spending", "public_town_works", "companies",
    "companies_failed", "company_business", "dividends_paid", "assistance_projects_running",
    "platform_deals", "platform_volume",
)


def yearly_means(ts: pd.DataFrame) -> dict[str, dict[int, float]]:
    """Mean over replicates of each year's income parts and weak-village measures."""
    parts = [c for c in ts.columns if c.startswith("mean_") and c.endswith("_income")]
    cols = [c for c in dict.fromkeys([*PATH_COLUMNS, *parts]) if c in ts.columns]
    means = ts.groupby("year")[cols].mean()
    return {c: {int(y): float(v) for y, v in means[c].items()} for c in cols}


def patterns(panel: pd.DataFrame, cfg: RunConfig) -> dict:
    """Validation patterns that were not fitted: means and ranges over replicates."""
    year = cfg.years.calibration
    counties = data.load_counties().set_index("county")["region"]
    p = panel.copy()
    p["region"] = p["county"].map(counties)
    out = {}
    y = p[p["year"] == year]
    by = y.groupby(["seed", "region"])["operating_income"].mean().unstack()
    out["east_mean_operating_income"] = _stat(by.get("east"))
    out["west_mean_operating_income"] = _stat(by.get("west"))
    base = p[p["year"] == year - 1]
    out["share_below_100k_base_year"] = _stat(
        base.groupby("seed")["operating_income"].apply(lambda x: float((x < 1e5).mean())))
    out["share_below_150k_total"] = _stat(
        y.groupby("seed")["total_income"].apply(lambda x: float((x < 1.5e5).mean())))
    lowest = y.groupby("seed")["total_income"].min()
    out["floor_held"] = {"replicates": int((lowest >= 1.5e5).sum()), "of": int(len(lowest))}
    out["villages_below_150k_total"] = _stat(
        y.groupby("seed")["total_income"].apply(lambda x: float((x < 1.5e5).sum())))
    # weak villages (operating income below 150k the year before) that joined a company this
    # year: 四会 下茆镇's four went from about 100k to above 300k, 200k of it in dividends
    prev = base.set_index(["seed", "code"])["operating_income"]
    now = y.set_index(["seed", "code"])
    joined = now[(now["company_joined"] == year) & (prev.reindex(now.index) < 1.5e5)]
    if len(joined):
        before = prev.reindex(joined.index)
        out["weak_joiners"] = {
            "villages_per_replicate": float(len(joined) / y["seed"].nunique()),
            "operating_income_before": float(before.mean()),
            "operating_income_after": float(joined["operating_income"].mean()),
            "dividends_after": float(joined["dividends"].mean()),
            "total_income_after": float(joined["total_income"].mean()),
        }
    county_means = y.groupby(["seed", "county"])["operating_income"].mean().groupby(
        "county").mean()
    out["county_mean_operating_income"] = {k: float(v) for k, v in county_means.items()}
    return out


def _stat(series) -> dict | None:
    if series is None or len(series) == 0:
        return None
    a = np.asarray(series, dtype=float)
    return {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}



"""Calibration: fit the free parameters to Zhaoqing's 2024 figures by simulated method of moments.

``python -m zq_sim.calibrate`` (a Hydra app, config ``conf/calibrate.yaml``):

1. The free parameters and their prior ranges are declared in the config, each with the target
   it is meant to move and why. The search runs in the unit box of those ranges.
2. Moments: each target of data/targets.yaml but the floor as a relative error (simulated mean
   over the calibration seeds minus the reported value, over the reported value). A weak pull
   toward the prior (``prior_weight``) keeps parameters that the targets do not pin down at
   their prior instead of drifting; it is reported, not hidden.
   The floor (every village above 150k total income) is one-sided and says only that support
   was strong enough; the support rule's threshold and gap share are uncertain policy settings
   (data/priors.csv). After the fit, :func:`fit_support` chooses the weakest support (the least
   public money in the calibration year) that holds the floor on at least
   ``support.probability`` of the calibration seeds, over a grid of gap shares with a bisection
   on the threshold.
3. Common random numbers: every candidate is run on the same seeds (spawned from
   ``calibration.seed``, disjoint from the run seeds used for validation).
4. Search: scipy.optimize.least_squares (trust-region reflective, bounded) from several starts;
   finite-difference Jacobians are computed in parallel over the cores (joblib).
5. Uncertainty: the SMM sandwich (J'J)^-1 J' Omega J (J'J)^-1, Omega the moments' covariance
   over replicates (the city's 2024 figures treated as one draw of the model), plus the spread of
   equally good fits across starts; identifiability from the singular values of the Jacobian.
6. Outputs: ``conf/model/calibrated.yaml`` (used by default runs from then on) and a report in
   ``experiments/calibration/`` with tables, a figure and the validation on held-out seeds.
   ``calibration.quick=true`` is a smoke run of seconds (at most 3 seeds, one start of at most 8
   steps, no validation) that writes only into the Hydra output folder.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from joblib import Parallel, delayed
from omegaconf import DictConfig, OmegaConf
from scipy.optimize import least_squares
from tqdm import tqdm

from zq_sim import data
from zq_sim.config import ConfigError, RunConfig, validate
from zq_sim.paths import CONF_DIR, CheckoutNeeded, checkout
from zq_sim.run import (
    TARGET_METRICS,
    replicate_seeds,
    run_replicate,
    summarise,
    target_values,
)


@dataclass
class FreeParam:
    """A parameter the calibration fits."""

    low: float = 0.0
    high: float = 1.0
    target: str = ""   # the target it mainly moves (documentation and reports)
    why: str = ""


@dataclass
class SupportFit:
    """How the support rule is fitted: the weakest support that holds the floor."""

    probability: float = 0.95       # share of calibration seeds on which the floor must hold
    threshold_low: float = 150_000.0
    threshold_high: float = 300_000.0
    gap_share_low: float = 0.5
    gap_share_high: float = 1.0
    # seeds on which the floor's probability is estimated (runs to the calibration year only):
    # many more than the moments need, since a 95% tail read off 40 seeds is far too noisy and
    # the weakest rule that passes on a small sample passes by luck (spawned from
    # calibration.seed, so the first of them are the calibration seeds)
    seeds: int = 200
    grid: int = 6                   # gap shares tried, evenly from low to high
    steps: int = 10                 # bisection steps on the threshold for each gap share


@dataclass
class CalibrationSettings:
    """How the calibration runs."""

    seed: int = 777                 # root of the calibration seeds (not the run seeds)
    seeds: int = 40                 # replicates per evaluation (common random numbers)
    starts: int = 3                 # starting points: the prior, then random points in the box
    max_evaluations: int = 80       # least_squares max_nfev per start
    diff_step: float = 0.03         # finite-difference step, relative to the unit box
    prior_weight: float = 0.05      # pull toward the prior, per parameter in unit-box units
    jobs: int = -1                  # parallel workers (joblib; -1: all cores)
    quick: bool = False             # a smoke run: few seeds, one short start, Hydra folder only
    validation_replicates: int = 20
    validation_seed: int = 20240101  # the default run seed: never used in fitting
    write_config: bool = True       # write conf/model/calibrated.yaml (not in quick mode)
    targets: dict[str, float] = field(default_factory=dict)  # override reported values
    only_targets: list[str] = field(default_factory=list)    # fit these targets only (all: [])
    parameters: dict[str, FreeParam] = field(default_factory=dict)
    support: SupportFit = field(default_factory=SupportFit)


@dataclass
class CalibrateConfig(RunConfig):
    """A run configuration plus the calibration's settings."""

    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)


ConfigStore.instance().store(name="calibrate_schema", node=CalibrateConfig)


# ---------------------------------------------------------------------------------- parameters
def get_path(cfg: RunConfig, dotted: str):
    """Value of a dotted field (e.g. model.bidders_reform)."""
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def with_values(cfg: RunConfig, values: dict[str, float]) -> RunConfig:
    """A copy of cfg with dotted fields set (ints rounded where the field is an int)."""
    out = copy.deepcopy(cfg)
    for dotted, value in values.items():
        *parents, name = dotted.split(".")
        obj = out
        for part in parents:
            obj = getattr(obj, part)
        if not hasattr(obj, name):
            raise ConfigError(f"calibration.parameters: {dotted} is not a setting")
        current = getattr(obj, name)
        setattr(obj, name, int(round(value)) if isinstance(current, int) and not isinstance(
            current, bool) else float(value))
    return out


class Problem:
    """The moments as a function of the free parameters in the unit box."""

    def __init__(self, base: RunConfig, params: dict[str, FreeParam], targets: dict[str, dict],
                 seeds: list[int], settings: CalibrationSettings) -> None:
        self.base = copy.deepcopy(base)
        self.base.years.end = max(self.base.years.calibration, self.base.years.base)
        self.base.output.villages = False
        self.base.output.progress = False
        self.names = list(params)
        self.low = np.array([params[n].low for n in self.names], dtype=float)
        self.high = np.array([params[n].high for n in self.names], dtype=float)
        for n, lo, hi in zip(self.names, self.low, self.high, strict=True):
            if not lo < hi:
                raise ConfigError(f"calibration.parameters.{n}: low {lo} must be below high {hi}")
        self.targets = targets
        self.target_names = list(targets)
        self.seeds = seeds
        self.s = settings
        prior = np.array([float(get_path(base, n)) for n in self.names])
        self.u_prior = np.clip((prior - self.low) / (self.high - self.low), 0.0, 1.0)
        self.evaluations = 0

    def values(self, u: np.ndarray) -> dict[str, float]:
        """Parameter values at a point of the unit box."""
        return dict(zip(self.names, self.low + np.asarray(u) * (self.high - self.low),
                        strict=True))

    def simulate(self, points: list[np.ndarray], parallel: Parallel | None) -> np.ndarray:
        """Target values, shape (points, seeds, targets), for every point and seed (CRN)."""
        cfgs = [with_values(self.base, self.values(u)) for u in points]
        for c in cfgs:
            validate(c)
        tasks = [(i, seed) for i in range(len(points)) for seed in self.seeds]
        run = delayed(_target_row)
        rows = (parallel or Parallel(n_jobs=1))(
            run(cfgs[i], seed, self.target_names) for i, seed in tasks)
        self.evaluations += len(points)
        return np.array(rows, dtype=float).reshape(len(points), len(self.seeds), -1)

    def residuals(self, sims: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Relative errors of the seed means, the floor one-sided, then the prior pull.

        Args:
            sims: target values, shape (seeds, targets).
            u: the point in the unit box (adds the prior-pull rows when given).

        """
        mean = np.nanmean(sims, axis=0)
        out = []
        for k, name in enumerate(self.target_names):
            t = self.targets[name]
            value = float(t["value"])
            if not np.all(np.isfinite(sims[:, k])):
                out.append(10.0)  # a target the model could not produce (e.g. growth from 0)
            else:
                out.append((mean[k] - value) / abs(value))
        res = np.array(out)
        if u is not None:
            res = np.concatenate([res, self.s.prior_weight * (np.asarray(u) - self.u_prior)])
        return res


def _target_row(cfg: RunConfig, seed: int, names: list[str]) -> list[float]:
    ts, _ = run_replicate(cfg, seed)
    values = target_values(ts, cfg.years.calibration)
    return [values[n] for n in names]


class Fitter:
    """Runs least_squares with parallel finite-difference Jacobians and keeps the last one."""

    def __init__(self, problem: Problem, parallel: Parallel, bar: tqdm) -> None:
        self.pb, self.parallel, self.bar = problem, parallel, bar
        self.cache: dict[bytes, np.ndarray] = {}

    def sims(self, points: list[np.ndarray]) -> list[np.ndarray]:
        """Simulated targets at each point (cached: least_squares revisits points)."""
        todo = [u for u in points if np.asarray(u).tobytes() not in self.cache]
        if todo:
            for u, s in zip(todo, self.pb.simulate(todo, self.parallel), strict=True):
                self.cache[np.asarray(u).tobytes()] = s
            self.bar.update(len(todo))
        return [self.cache[np.asarray(u).tobytes()] for u in points]

    def fun(self, u: np.ndarray) -> np.ndarray:
        """Residuals at a point."""
        return self.pb.residuals(self.sims([u])[0], u=u)

    def jac(self, u: np.ndarray) -> np.ndarray:
        """Forward-difference Jacobian, every displaced point simulated in parallel."""
        h = self.pb.s.diff_step
        steps = []
        for j in range(len(u)):
            e = np.zeros_like(u)
            e[j] = h if u[j] + h <= 1.0 else -h
            steps.append(u + e)
        base, *moved = self.sims([u, *steps])
        r0 = self.pb.residuals(base, u=u)
        cols = [(self.pb.residuals(s, u=p) - r0) / (p - u).sum() for s, p in
                zip(moved, steps, strict=True)]
        return np.column_stack(cols)

    def fit(self, u0: np.ndarray):
        """least_squares from one start."""
        return least_squares(self.fun, u0, jac=self.jac, bounds=(0.0, 1.0), method="trf",
                             x_scale=1.0, max_nfev=self.pb.s.max_evaluations, ftol=1e-4,
                             xtol=1e-4, gtol=1e-6)


# ---------------------------------------------------------------------------------- uncertainty
def sandwich(J: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """SMM covariance (J'J)^+ J' Omega J (J'J)^+ for identity weights."""
    bread = np.linalg.pinv(J.T @ J)
    return bread @ J.T @ omega @ J @ bread


def identifiability(J: np.ndarray, names: list[str]) -> dict:
    """Singular values of the moments' Jacobian (unit box) and the weakest directions."""
    if J.size == 0:
        return {"singular_values": [], "weak": []}
    _, sv, vt = np.linalg.svd(J, full_matrices=False)
    weak = []
    top = sv[0] if len(sv) else 1.0
    for s, v in zip(sv, vt, strict=True):
        if s < 0.05 * top:
            order = np.argsort(-np.abs(v))[:3]
            weak.append({"singular_value": float(s),
                         "direction": {names[i]: round(float(v[i]), 3) for i in order}})
    return {"singular_values": [float(s) for s in sv], "weak": weak,
            "column_norms": {n: float(np.linalg.norm(J[:, j])) for j, n in enumerate(names)}}


# ---------------------------------------------------------------------------------- driver
def calibrate(cfg: CalibrateConfig, out_dir: Path, echo=print) -> dict:
    """Fit, estimate uncertainty, validate on held-out seeds, write the report and config."""
    s = cfg.calibration
    if not s.parameters:
        raise ConfigError("calibration.parameters is empty: declare the parameters to fit")
    if s.seeds < 1 or s.starts < 1:
        raise ConfigError("calibration.seeds and calibration.starts must be at least 1")
    base = RunConfig(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(RunConfig)})
    validate(base)
    targets = data.load_targets()["targets"]
    unknown = [k for k in [*s.targets, *s.only_targets] if k not in targets]
    if unknown:
        raise ConfigError(f"calibration: unknown target {unknown[0]}; choose from "
                          f"{', '.join(targets)}")
    targets = {k: dict(v, value=s.targets.get(k, v["value"])) for k, v in targets.items()
               if k in TARGET_METRICS and (not s.only_targets or k in s.only_targets)}
    for name, value in s.targets.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value != 0):
            raise ConfigError(f"calibration.targets.{name} = {value}: give a finite, non-zero "
                              "reported value (the fit divides by it)")
    floor = {k: v for k, v in targets.items() if v["kind"] == "floor"}
    targets = {k: v for k, v in targets.items() if v["kind"] != "floor"}  # fit_support's job
    support_names = [n for n in s.parameters if n.startswith("policy.support.")]
    if support_names:
        raise ConfigError(f"calibration.parameters: {support_names[0]} is fitted by "
                          "calibration.support (the weakest support that holds the floor), not "
                          "by the moments; remove it from calibration.parameters")
    if not s.quick:  # it writes experiments/calibration/ and conf/model/calibrated.yaml
        checkout("the calibration (it writes conf/model/calibrated.yaml)")
    if s.quick:  # a smoke run: a few seeds, one short start
        s = dataclasses.replace(s, seeds=min(s.seeds, 3), starts=1,
                                max_evaluations=min(s.max_evaluations, 8))
    fit_seeds = replicate_seeds(s.seed, s.seeds)
    pb = Problem(base, s.parameters, targets, fit_seeds, s)
    rng = np.random.default_rng(s.seed)
    starts = [pb.u_prior] + [rng.random(len(pb.names)) for _ in range(s.starts - 1)]
    t0 = time.perf_counter()
    results = []
    with Parallel(n_jobs=s.jobs, backend="loky") as parallel, tqdm(
            desc="calibration: model evaluations", unit="eval", disable=not cfg.output.progress,
            total=None) as bar:
        fitter = Fitter(pb, parallel, bar)
        for k, u0 in enumerate(starts):
            res = fitter.fit(u0)
            results.append(res)
            echo(f"start {k + 1}/{len(starts)}: cost {res.cost:.5f} after {res.nfev} steps")
        best = min(results, key=lambda r: r.cost)
        sims = fitter.sims([best.x])[0]
        J_full = fitter.jac(best.x)
    n_t = len(pb.target_names)
    J = J_full[:n_t]
    # moments' covariance over replicates
    keep = list(range(n_t))
    rel = (sims - np.array([targets[n]["value"] for n in pb.target_names])) / np.abs(
        np.array([targets[n]["value"] for n in pb.target_names]))
    omega = np.cov(rel[:, keep], rowvar=False) * (1 + 1 / len(fit_seeds))
    omega = np.atleast_2d(omega)
    Jk = J[keep]
    prior_rows = s.prior_weight * np.eye(len(pb.names))
    J_aug = np.vstack([Jk, prior_rows])
    omega_aug = np.zeros((len(J_aug), len(J_aug)))
    omega_aug[:len(keep), :len(keep)] = omega
    cov_u = sandwich(J_aug, omega_aug)
    scale = pb.high - pb.low
    se = np.sqrt(np.maximum(np.diag(cov_u), 0.0)) * scale
    fitted = pb.values(best.x)
    equally_good = [r for r in results if r.cost <= best.cost * 1.1 + 1e-9]
    spread = {n: [float(pb.values(r.x)[n]) for r in equally_good] for n in pb.names}
    ident = identifiability(Jk, pb.names)
    elapsed = time.perf_counter() - t0

    calibrated = with_values(base, fitted)
    support = None
    if floor:
        support_seeds = replicate_seeds(s.seed, s.support.seeds if not s.quick else 3)
        support = fit_support(calibrated, s.support, float(next(iter(floor.values()))["value"]),
                              support_seeds, jobs=s.jobs, progress=cfg.output.progress)
        echo(f"support: threshold {support['threshold']:,.0f} yuan, gap share "
             f"{support['gap_share']:.2f}: floor held on {support['held']:.0%} of the "
             f"calibration seeds (asked {s.support.probability:.0%})")
        calibrated = with_values(calibrated, {"policy.support.threshold": support["threshold"],
                                              "policy.support.gap_share": support["gap_share"]})
    calibrated.calibrated = True
    validation = validate_fit(calibrated, s, echo) if not s.quick else None
    if validation is not None and support is not None:
        # the floor's probability on held-out seeds, as many as the fit used: 20 replicates
        # cannot tell 95% from 80%
        held_out = replicate_seeds(s.validation_seed, s.support.seeds)
        with Parallel(n_jobs=s.jobs, backend="loky") as parallel:
            rows = parallel(delayed(_floor_row)(_floor_config(calibrated), seed)
                            for seed in held_out)
        mins = np.array([r[0] for r in rows])
        floor_value = float(next(iter(floor.values()))["value"])
        validation["floor"] = {"seeds": len(held_out),
                               "held": float(np.mean(mins >= floor_value)),
                               "lowest": float(mins.min()),
                               "probability": s.support.probability}
    report = {
        "fitted": fitted, "se": dict(zip(pb.names, map(float, se), strict=True)),
        "support": support,
        "prior": {n: float(get_path(base, n)) for n in pb.names},
        "bounds": {n: [float(lo), float(hi)] for n, lo, hi in zip(pb.names, pb.low, pb.high,
                                                                 strict=True)},
        "why": {n: s.parameters[n].why for n in pb.names},
        "moves": {n: s.parameters[n].target for n in pb.names},
        "cost": float(best.cost), "starts": [{"cost": float(r.cost), "nfev": int(r.nfev),
                                               "values": pb.values(r.x)} for r in results],
        "equally_good_spread": spread,
        "fit_seeds": fit_seeds,
        "fit_moments": {n: {"mean": float(np.nanmean(sims[:, k])),
                            "min": float(np.nanmin(sims[:, k])),
                            "max": float(np.nanmax(sims[:, k]))}
                        for k, n in enumerate(pb.target_names)},
        "targets": {**{n: float(targets[n]["value"]) for n in pb.target_names},
                    **{n: float(v["value"]) for n, v in floor.items()}},
        "identifiability": ident,
        "evaluations": pb.evaluations * len(fit_seeds),
        "seconds": elapsed,
        "validation": validation,
        "quick": s.quick,
        "settings": {"seeds": s.seeds, "starts": s.starts,
                     "floor_probability": s.support.probability,
                     "prior_weight": s.prior_weight, "diff_step": s.diff_step,
                     "max_evaluations": s.max_evaluations},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "calibration.json").write_text(json.dumps(_clean(report), indent=2,
                                                         ensure_ascii=False), encoding="utf-8")
    if not s.quick:
        from zq_sim.calibration_report import write_report
        write_report(report, out_dir)
        if s.write_config:
            values = dict(fitted)
            if support is not None:
                values["policy.support.threshold"] = support["threshold"]
                values["policy.support.gap_share"] = support["gap_share"]
            write_calibrated_config(values, CONF_DIR / "model" / "calibrated.yaml", report)
    echo(summary_text(report))
    return report


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


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def write_calibrated_config(fitted: dict[str, float], path: Path, report: dict) -> None:
    """Write the fitted values as a Hydra config of the `model` group (atomically)."""
    nested: dict = {"calibrated": True}
    for dotted, value in fitted.items():
        *parents, leaf = dotted.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        default = get_path(RunConfig(), dotted)
        node[leaf] = int(round(value)) if isinstance(default, int) and not isinstance(
            default, bool) else float(f"{value:.6g}")
    header = (
        "# @package _global_\n"
        "# Calibrated parameters, written by `python -m zq_sim.calibrate` on "
        f"{time.strftime('%Y-%m-%d')}.\n"
        f"# Fitted to data/targets.yaml on {len(report['fit_seeds'])} seeds; cost "
        f"{report['cost']:.5f}; report: experiments/calibration/report.md.\n"
        "# Parameters not named here keep their priors (data/priors.csv).\n")
    body = OmegaConf.to_yaml(OmegaConf.create(nested))
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(header + body, encoding="utf-8")
    tmp.replace(path)


def summary_text(report: dict) -> str:
    """Fitted values and moments as a short table."""
    lines = ["", f"{'parameter':42} {'prior':>12} {'fitted':>12} {'se':>10}"]
    for n, v in report["fitted"].items():
        lines.append(f"{n:42} {report['prior'][n]:>12.4g} {v:>12.4g} {report['se'][n]:>10.3g}")
    lines += ["", f"{'target':28} {'reported':>14} {'fit mean':>14}"]
    for n, t in report["targets"].items():
        if n in report["fit_moments"]:  # the floor is held by the support fit, not a moment
            lines.append(f"{n:28} {t:>14,.4g} {report['fit_moments'][n]['mean']:>14,.4g}")
    lines.append(f"\n{report['evaluations']} model runs in {report['seconds']:.0f} s; "
                 f"cost {report['cost']:.5f}")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="calibrate")
def app(cfg: DictConfig) -> None:
    """Hydra entry point."""
    try:
        typed: CalibrateConfig = OmegaConf.to_object(cfg)
        out = Path(HydraConfig.get().runtime.output_dir)
        if not typed.calibration.quick:
            out = checkout("the calibration (it writes experiments/calibration/ and "
                           "conf/model/calibrated.yaml)") / "experiments" / "calibration"
        calibrate(typed, out)
    except (ConfigError, data.DataError, CheckoutNeeded) as exc:
        print(f"zq_sim.calibrate: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app()

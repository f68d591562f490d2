"""Calibration: fit the free parameters to Zhaoqing's 2024 figures by simulated method of moments.

This module holds the settings, the orchestration and the writing; the moments and the search
are in :mod:`zq_sim.smm`, the support fit and the held-out checks in
:mod:`zq_sim.calibration_checks`, the report in :mod:`zq_sim.calibration_report`.

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

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from joblib import Parallel, delayed
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from zq_sim import data
from zq_sim.calibration_checks import (  # noqa: F401  (re-exported for callers)
    PATH_COLUMNS,
    _floor_config,
    _floor_row,
    fit_support,
    patterns,
    validate_fit,
    yearly_means,
)
from zq_sim.config import ConfigError, RunConfig, validate
from zq_sim.paths import CONF_DIR, CheckoutNeeded, checkout
from zq_sim.run import TARGET_METRICS, jsonable, replicate_seeds
from zq_sim.smm import (  # noqa: F401  (re-exported for callers)
    Fitter,
    Problem,
    get_path,
    identifiability,
    sandwich,
    with_values,
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
    (out_dir / "calibration.json").write_text(json.dumps(jsonable(report), indent=2,
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


def main() -> None:
    """Entry point: check the command line (one line per problem), then hand over to Hydra."""
    from zq_sim import overrides

    overrides.checked_app(app, "calibrate", "calibration", CalibrationSettings())


if __name__ == "__main__":
    main()

"""The simulated method of moments behind ``python -m zq_sim.calibrate`` (calibrate.py).

The moments as a function of the free parameters in the unit box (:class:`Problem`), the
least-squares search with finite-difference Jacobians computed in parallel (:class:`Fitter`),
the SMM sandwich covariance and the identifiability of the parameters.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import least_squares
from tqdm import tqdm

from zq_sim.config import ConfigError, RunConfig, validate
from zq_sim.run import run_replicate, target_values
from zq_sim.space import value as get_path

if TYPE_CHECKING:
    from zq_sim.calibrate import CalibrationSettings, FreeParam


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

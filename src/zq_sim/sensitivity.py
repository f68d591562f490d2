"""Global sensitivity: which declared uncertainties and which policy levers move the headlines.

``python -m zq_sim.sensitivity`` (a Hydra app, config ``conf/sensitivity.yaml``). Inputs come
from :mod:`zq_sim.space`, kept apart as EMA workbench keeps them:

- **uncertainties** (data/priors.csv): what nobody knows. With ``calibrated: fixed`` (the
  default) the parameters the calibration fitted (conf/model/calibrated.yaml) stay at their
  fitted values, since screening them over their whole prior ignores the 2024 targets; with
  ``calibrated: prior`` they are screened over their prior ranges too; with ``calibrated:
  ensemble`` they vary together as one input, ``ensemble.set`` (a group factor): a set of the
  parameter ensemble (their posterior given the 2024 figures), drawn uniformly.
- **levers** (data/levers.csv): what a government chooses.

Outcomes (:data:`OUTCOMES`): mean and bottom-decile operating income and the share of villages
below 200k own income in 2027 and 2030, and public spending summed over 2024-2030. Each is read
under the baseline (the 2024 mix continued) and, for each scenario of ``policies``, as the
policy's **effect**: the scenario minus the baseline on the same seeds and the same uncertain
world. The sensitivity of an effect to the uncertainties says which uncertainties matter for
that policy conclusion.

Stages (:func:`analyse`), every model evaluation the mean over the same replicate seeds (common
random numbers), evaluations batched in chunks over one process per core (joblib):

1. replicate noise at the nominal point (``noise_seeds`` seeds one by one);
2. Morris screening (SALib) of every uncertainty, for the baseline and every policy effect;
3. Morris screening of the levers at the nominal point of the uncertainties (baseline only);
4. Sobol first-order and total indices (SALib, Saltelli/Jansen estimators, bootstrap
   confidence intervals) for the ``sobol.top`` most influential uncertainties by Morris, the
   others held at their nominal values;
5. one-at-a-time runs of the leading uncertainties (each from the low to the high end of its
   range, the others nominal), an independent check of the Morris means.

The evaluator is swappable (:class:`Evaluator`): the tests run the same pipeline on toy functions
with known indices. Outputs (:func:`zq_sim.sensitivity_report.write`): ``report.md``,
``indices.csv``, ``evaluations.parquet`` and the figures, written atomically into
``experiments/sensitivity/`` (refused if a finished analysis is there, unless ``overwrite``) or
into the Hydra run folder (``folder: hydra``; ``quick=true`` does so unless told otherwise).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from zq_sim import space
from zq_sim.config import ConfigError, RunConfig, validate
from zq_sim.paths import CONF_DIR, ROOT

#: Where the analysis writes by default.
DEFAULT_DIR = ROOT / "experiments" / "sensitivity"
CALIBRATED_MODES = ("fixed", "prior", "ensemble")
#: The input that stands for the parameter ensemble's sets with ``calibrated: ensemble``.
ENSEMBLE_SET = "ensemble.set"
FOLDERS = ("auto", "experiments", "hydra")
BASELINE = "baseline"


# ------------------------------------------------------------------------------------ outcomes
@dataclass(frozen=True)
class Outcome:
    """A headline outcome read off one replicate's time series."""

    name: str
    column: str          # time-series column
    first: int           # first year read
    last: int            # last year read
    how: str             # "value" (the year ``last``) or "sum" (first..last)
    unit: str            # unit of the stored value

    def read(self, ts: pd.DataFrame) -> float:
        """The outcome of one replicate (``ts`` indexed by year)."""
        if self.how == "sum":
            return float(ts.loc[self.first:self.last, self.column].sum())
        return float(ts.at[self.last, self.column])


#: The headline outcomes, by name.
OUTCOMES: dict[str, Outcome] = {o.name: o for o in (
    *(Outcome(f"{column}_{year}", column, year, year, "value", unit)
      for column, unit in (("mean_operating_income", "yuan per village"),
                           ("p10_operating_income", "yuan per village"),
                           ("share_own_below_200k", "share of villages"))
      for year in (2027, 2030)),
    Outcome("public_spending_2024_2030", "public_spending", 2024, 2030, "sum",
            "yuan, sum over 2024-2030"),
)}


# ------------------------------------------------------------------------------------ settings
@dataclass
class MorrisSettings:
    """Morris screening (SALib's sampler and analysis over the unit cube)."""

    trajectories: int = 10        # trajectories over the uncertainties (k + 1 points each)
    lever_trajectories: int = 10  # trajectories over the levers
    levels: int = 4               # grid levels per input (even)
    resamples: int = 500          # bootstrap resamples for mu*'s confidence interval


@dataclass
class SobolSettings:
    """Sobol indices (SALib) of the most influential uncertainties."""

    top: int = 10                 # uncertainties carried over from Morris
    samples: int = 128            # base samples N (a power of 2); N * (top + 2) points
    resamples: int = 200          # bootstrap resamples for the confidence intervals
    conf_level: float = 0.95


@dataclass
class OatSettings:
    """One-at-a-time runs of the leading uncertainties (a check on the Morris means)."""

    parameters: int = 3           # how many (the most influential by Morris)
    seeds: int = 5                # replicate seeds at each end of a range


@dataclass
class SensitivitySettings:
    """How the sensitivity analysis runs."""

    folder: str = "auto"          # auto | experiments | hydra (auto: hydra when quick)
    overwrite: bool = False       # replace a finished analysis in experiments/sensitivity
    seed: int = 20241129          # root of the design's sampling and of the replicate seeds
    replicates: int = 1           # seeds per design point, the same for every point (CRN)
    noise_seeds: int = 20         # seeds for the replicate noise at the nominal point
    jobs: int = -1                # worker processes (joblib; -1: one per core)
    chunk: int = 0                # design points per task (0: about 8 tasks per worker)
    calibrated: str = "fixed"     # fixed | prior | ensemble: the calibrated parameters held at
    #                               their fitted values, screened over their priors, or drawn
    #                               together as one input: a set of the parameter ensemble
    ensemble_path: str = ""       # calibrated=ensemble: its folder ("": the committed one)
    parameters: list[str] = field(default_factory=list)  # uncertainties to screen ([]: all)
    levers: bool = True           # screen the policy levers too
    outcomes: list[str] = field(default_factory=lambda: list(OUTCOMES))
    policies: list[str] = field(default_factory=lambda: [
        "strong_village_company", "three_assets", "talent_assistance"])
    morris: MorrisSettings = field(default_factory=MorrisSettings)
    sobol: SobolSettings = field(default_factory=SobolSettings)
    oat: OatSettings = field(default_factory=OatSettings)


@dataclass
class SensitivityConfig(RunConfig):
    """A run configuration (the base of every evaluation) plus the analysis' settings."""

    quick: bool = False           # a smoke run of about a minute (see :func:`effective`)
    sensitivity: SensitivitySettings = field(default_factory=SensitivitySettings)


def _register() -> None:
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="sensitivity_schema", node=SensitivityConfig)


_register()


def scenario_names() -> list[str]:
    """Scenarios of conf/scenario/ (the policies an effect can be read for)."""
    return sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))


def _one_of(name: str, values: Sequence[str], allowed: Sequence[str]) -> None:
    for v in values:
        if v not in allowed:
            close = difflib.get_close_matches(str(v), list(allowed), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{name}: unknown value '{v}'{hint}; choose from: "
                              f"{', '.join(allowed)}")


def check(s: SensitivitySettings, cfg: RunConfig | None = None) -> None:
    """Raise a one-line ConfigError for the first bad setting."""
    _one_of("sensitivity.calibrated", [s.calibrated], CALIBRATED_MODES)
    if s.calibrated == "ensemble":
        ensemble_sets(s)   # there, and saying what it fits
    _one_of("sensitivity.folder", [s.folder], FOLDERS)
    if not s.outcomes:
        raise ConfigError(f"sensitivity.outcomes is empty; choose from: {', '.join(OUTCOMES)}")
    _one_of("sensitivity.outcomes", s.outcomes, list(OUTCOMES))
    _one_of("sensitivity.policies", s.policies, [n for n in scenario_names() if n != BASELINE])
    for name, value, low in (("replicates", s.replicates, 1), ("noise_seeds", s.noise_seeds, 2),
                             ("chunk", s.chunk, 0), ("morris.trajectories",
                                                     s.morris.trajectories, 2),
                             ("morris.lever_trajectories", s.morris.lever_trajectories, 2),
                             ("morris.resamples", s.morris.resamples, 10),
                             ("sobol.top", s.sobol.top, 1), ("sobol.resamples",
                                                             s.sobol.resamples, 10),
                             ("oat.parameters", s.oat.parameters, 0),
                             ("oat.seeds", s.oat.seeds, 2), ("seed", s.seed, 0)):
        if not isinstance(value, int) or value < low:
            raise ConfigError(f"sensitivity.{name} = {value}: give a whole number >= {low}")
    if s.morris.levels < 2 or s.morris.levels % 2:
        raise ConfigError(f"sensitivity.morris.levels = {s.morris.levels}: give an even number "
                          ">= 2 (Morris' step is levels / (2 (levels - 1)))")
    n = s.sobol.samples
    if n < 2 or n & (n - 1):
        raise ConfigError(f"sensitivity.sobol.samples = {n}: give a power of 2 (Sobol' sequences "
                          "lose their balance otherwise), e.g. 64, 128, 256")
    if not 0 < s.sobol.conf_level < 1:
        raise ConfigError(f"sensitivity.sobol.conf_level = {s.sobol.conf_level}: give a "
                          "probability between 0 and 1, e.g. 0.95")
    if s.jobs == 0:
        raise ConfigError("sensitivity.jobs = 0: give a number of workers (-1: one per core)")
    if s.parameters:
        space.select(space.uncertainties(), s.parameters)
    if cfg is not None:
        need = max(OUTCOMES[o].last for o in s.outcomes)
        if cfg.years.end < need:
            raise ConfigError(f"years.end = {cfg.years.end}: the outcomes need the years to "
                              f"{need}")


def effective(s: SensitivitySettings, quick: bool) -> SensitivitySettings:
    """The settings as run: ``quick`` caps every size for a run of about a minute."""
    if not quick:
        return s
    q = copy.deepcopy(s)
    q.replicates = 1
    q.noise_seeds = min(s.noise_seeds, 4)
    q.policies = list(s.policies[:1])
    q.morris.trajectories = min(s.morris.trajectories, 2)
    q.morris.lever_trajectories = min(s.morris.lever_trajectories, 2)
    q.morris.resamples = min(s.morris.resamples, 100)
    q.sobol.top = min(s.sobol.top, 4)
    q.sobol.samples = min(s.sobol.samples, 32)
    q.sobol.resamples = min(s.sobol.resamples, 100)
    q.oat.parameters = min(s.oat.parameters, 2)
    q.oat.seeds = 2
    return q


def planned_runs(s: SensitivitySettings, n_uncertainties: int, n_levers: int) -> dict[str, int]:
    """Model runs each stage makes (a design point is a run per case and replicate seed)."""
    cases = 1 + len(s.policies)
    top = min(s.sobol.top, n_uncertainties)
    return {
        "noise": s.noise_seeds * cases,
        "morris_uncertainties": s.morris.trajectories * (n_uncertainties + 1) * cases
        * s.replicates,
        "morris_levers": s.morris.lever_trajectories * (n_levers + 1) * s.replicates
        if s.levers and n_levers else 0,
        "sobol": s.sobol.samples * (top + 2) * cases * s.replicates,
        "nominal": cases * s.replicates,
        "oat": min(s.oat.parameters, top) * 2 * s.oat.seeds * cases,
    }


# ----------------------------------------------------------------------------------- evaluation
class Evaluator(Protocol):
    """What the pipeline calls: design points in, one number per case and outcome out.

    ``cases`` are the baseline first, then each policy; ``outcomes`` the outcome names. A call
    returns an array of shape (points, cases x outcomes), case-major, each value the mean over
    ``seeds``, and the seconds spent inside the model (for the benchmark's overhead share).
    """

    cases: tuple[str, ...]
    outcomes: tuple[str, ...]

    def __call__(self, dims: Sequence[space.Dimension], values: np.ndarray,
                 seeds: Sequence[int]) -> tuple[np.ndarray, float]:
        """Evaluate each row of ``values`` (in the units of ``dims``) on ``seeds``."""
        ...


def flat_settings(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf setting of a config dataclass as {dotted name: value}."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            out.update(flat_settings(value, f"{name}."))
        else:
            out[name] = value
    return out


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():  # inside the Hydra app: its search path
        return compose(config_name="config", overrides=overrides)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def scenario_changes(name: str) -> dict[str, Any]:
    """The settings a scenario file changes from the baseline (dotted names; ``scenario`` aside)."""
    from omegaconf import OmegaConf

    base = flat_settings(OmegaConf.to_object(_compose([])))
    other = flat_settings(OmegaConf.to_object(_compose([f"+scenario={name}"])))
    return {k: v for k, v in other.items() if k != "scenario" and base.get(k) != v}


@dataclass
class ModelEvaluator:
    """zq_sim itself: each point applied to the base config, each case run on each seed.

    Args:
        base: the configuration every evaluation starts from (trimmed for speed: no village
            panel, no counterfactual twin, years to the last outcome year).
        policies: for each policy, the settings it changes (:func:`scenario_changes`).
        outcomes: names of :data:`OUTCOMES`.

    """

    base: RunConfig
    policies: dict[str, dict[str, Any]]
    outcomes: tuple[str, ...]
    cases: tuple[str, ...] = ()
    sets: pd.DataFrame | None = None   # calibrated=ensemble: the fitted values of each set

    def __post_init__(self) -> None:
        self.base = trimmed(self.base, self.outcomes)
        self.cases = (BASELINE, *self.policies)

    def __call__(self, dims: Sequence[space.Dimension], values: np.ndarray,
                 seeds: Sequence[int]) -> tuple[np.ndarray, float]:
        """Mean outcomes over ``seeds`` for each row and case; seconds inside the model."""
        from zq_sim.run import run_replicate

        outs = [OUTCOMES[o] for o in self.outcomes]
        changes = [{}, *self.policies.values()]
        result = np.empty((len(values), len(self.cases) * len(outs)))
        model_s = 0.0
        for i, row in enumerate(np.atleast_2d(values)):
            point = space.point(dims, row)
            if ENSEMBLE_SET in point:   # the group factor: one set's fitted values
                point = {**self.sets.iloc[int(point.pop(ENSEMBLE_SET))].to_dict(), **point}
            for c, change in enumerate(changes):
                cfg = space.apply(self.base, {**point, **change})
                got = np.empty((len(seeds), len(outs)))
                for k, seed in enumerate(seeds):
                    t0 = time.perf_counter()
                    ts, _ = run_replicate(cfg, seed)
                    model_s += time.perf_counter() - t0
                    ts = ts.set_index("year")
                    got[k] = [o.read(ts) for o in outs]
                result[i, c * len(outs):(c + 1) * len(outs)] = got.mean(axis=0)
        return result, model_s


def trimmed(cfg: RunConfig, outcomes: Sequence[str]) -> RunConfig:
    """A copy that runs only what the outcomes need: no panel, no twin, no bar, years cut."""
    out = copy.deepcopy(cfg)
    out.output.villages = out.output.counterfactual = out.output.progress = False
    out.years.end = max(OUTCOMES[o].last for o in outcomes)
    return validate(out)


@dataclass
class Timing:
    """Work done and time taken by the evaluations."""

    points: int = 0
    runs: int = 0
    wall_s: float = 0.0
    model_s: float = 0.0
    workers: int = 1

    def add(self, points: int, runs: int, wall: float, model: float) -> None:
        """Count one batch of evaluations."""
        self.points += points
        self.runs += runs
        self.wall_s += wall
        self.model_s += model

    @property
    def outside_share(self) -> float:
        """Share of the workers' time not spent inside the model (0 when nothing ran)."""
        total = self.wall_s * self.workers
        return max(0.0, 1.0 - self.model_s / total) if total > 0 else 0.0


def _chunk_task(evaluator: Evaluator, dims, values: np.ndarray, seeds: list[int]):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return evaluator(dims, values, seeds)


def workers(jobs: int) -> int:
    """Worker processes for ``jobs`` (joblib's convention: -1 is one per core)."""
    from joblib import cpu_count

    return max(1, cpu_count() + 1 + jobs) if jobs < 0 else jobs


def evaluate(evaluator: Evaluator, dims: Sequence[space.Dimension], values: np.ndarray,
             seeds: Sequence[int], *, jobs: int = -1, chunk: int = 0, desc: str = "",
             progress: bool = True, timing: Timing | None = None) -> np.ndarray:
    """Every row of ``values`` through ``evaluator``, in chunks over the workers (in order).

    The result does not depend on ``jobs`` or ``chunk``: each row is evaluated on the same
    ``seeds`` whatever process runs it.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    values = np.atleast_2d(np.asarray(values, dtype=float))
    n = len(values)
    w = workers(jobs)
    size = chunk or max(1, math.ceil(n / (8 * w)))
    parts = [values[i:i + size] for i in range(0, n, size)]
    seeds = [int(s) for s in seeds]
    t0 = time.perf_counter()
    out, model_s = [], 0.0
    with tqdm(total=n, desc=desc, unit="point", disable=not progress, leave=False) as bar:
        if w == 1 or len(parts) == 1:
            results = (_chunk_task(evaluator, dims, p, seeds) for p in parts)
        else:
            results = Parallel(n_jobs=w, backend="loky", return_as="generator")(
                delayed(_chunk_task)(evaluator, dims, p, seeds) for p in parts)
        for (y, m), p in zip(results, parts, strict=True):
            out.append(y)
            model_s += m
            bar.update(len(p))
    y = np.vstack(out) if out else np.empty((0, len(evaluator.cases) * len(evaluator.outcomes)))
    if timing is not None:
        timing.workers = max(timing.workers, w if len(parts) > 1 else 1)
        timing.add(n, n * len(evaluator.cases) * len(seeds), time.perf_counter() - t0, model_s)
    return y


def evaluate_seeds(evaluator: Evaluator, dims: Sequence[space.Dimension], values: np.ndarray,
                   seeds: Sequence[int], *, jobs: int = -1, chunk: int = 0,
                   progress: bool = True, timing: Timing | None = None) -> np.ndarray:
    """``values`` evaluated on each seed apart: shape (seeds, points, columns), in parallel."""
    from joblib import Parallel, delayed

    values = np.atleast_2d(np.asarray(values, dtype=float))
    w = min(workers(jobs), len(seeds))
    t0 = time.perf_counter()
    tasks = (delayed(_chunk_task)(evaluator, dims, values, [int(seed)]) for seed in seeds)
    results = list(Parallel(n_jobs=w, backend="loky")(tasks)) if w > 1 else \
        [_chunk_task(evaluator, dims, values, [int(seed)]) for seed in seeds]
    if timing is not None:
        timing.workers = max(timing.workers, w)
        timing.add(len(values) * len(seeds), len(values) * len(seeds) * len(evaluator.cases),
                   time.perf_counter() - t0, sum(m for _, m in results))
    return np.stack([y for y, _ in results])


# ------------------------------------------------------------------------------------- analysis
def columns(evaluator: Evaluator) -> list[tuple[str, str]]:
    """(case, outcome) of each column the evaluator returns."""
    return [(c, o) for c in evaluator.cases for o in evaluator.outcomes]


def responses(evaluator: Evaluator, y: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
    """What is analysed: the baseline's outcomes, and each policy's effect (policy - baseline)."""
    cols = columns(evaluator)
    at = {key: y[:, j] for j, key in enumerate(cols)}
    out = {}
    for case, outcome in cols:
        out[(case, outcome)] = at[(case, outcome)] if case == BASELINE else \
            at[(case, outcome)] - at[(BASELINE, outcome)]
    return out


def morris_rows(dims, x_unit, y, evaluator, settings: SensitivitySettings, inputs: str):
    """Morris mu*, mu and sigma (and mu*'s interval) of every response, as index rows."""
    from SALib.analyze import morris

    problem = space.salib_problem(dims)
    rows = []
    for (case, outcome), resp in responses(evaluator, y).items():
        res = morris.analyze(problem, x_unit, resp, num_resamples=settings.morris.resamples,
                             conf_level=settings.sobol.conf_level,
                             num_levels=settings.morris.levels, seed=settings.seed)
        for j, d in enumerate(dims):
            for index, conf in (("mu_star", res["mu_star_conf"][j]), ("mu", math.nan),
                                ("sigma", math.nan)):
                rows.append({"inputs": inputs, "case": case, "outcome": outcome,
                             "parameter": d.name, "method": "morris", "index": index,
                             "value": float(res[index][j]), "confidence": float(conf)})
    return rows


def sobol_rows(dims, y, evaluator, settings: SensitivitySettings):
    """Sobol S1 and ST with their confidence half-widths, as index rows."""
    from SALib.analyze import sobol

    problem = space.salib_problem(dims)
    rows = []
    for (case, outcome), resp in responses(evaluator, y).items():
        if np.nanstd(resp) == 0 or not np.all(np.isfinite(resp)):
            res = {k: np.full(len(dims), np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            res = sobol.analyze(problem, resp, calc_second_order=False,
                                num_resamples=settings.sobol.resamples,
                                conf_level=settings.sobol.conf_level, seed=settings.seed)
        for j, d in enumerate(dims):
            for index in ("S1", "ST"):
                rows.append({"inputs": "uncertainties", "case": case, "outcome": outcome,
                             "parameter": d.name, "method": "sobol", "index": index,
                             "value": float(res[index][j]),
                             "confidence": float(res[f"{index}_conf"][j])})
    return rows


def influence(morris_table: pd.DataFrame, trajectories: int) -> pd.DataFrame:
    """A score per input and case: its largest mu* relative to the outcome's largest mu*.

    Rows are inputs, columns cases (the baseline and each policy, in the table's order); the
    score is the input's mu* over the largest mu* of the same outcome and case, at most over
    the case's outcomes (1: it leads some outcome). An input counts for an outcome only if its
    elementary effects push one way on average (``|mu|`` at least twice its standard error
    ``sigma / sqrt(trajectories)``); otherwise its score there is lowered by 1, below every
    input that does. Replicate noise gives effects of either sign, and so cannot lead.
    """
    m = morris_table[(morris_table["method"] == "morris")]
    wide = m.pivot_table(index=["case", "outcome", "parameter"], columns="index",
                         values="value", sort=False).reset_index()
    top = wide.groupby(["case", "outcome"])["mu_star"].transform("max")
    norm = np.where(top > 0, wide["mu_star"] / top.where(top > 0, 1.0), 0.0)
    se = wide["sigma"] / math.sqrt(trajectories)
    steady = (wide["mu"].abs() >= 2 * se) & (wide["mu"] != 0)
    wide["score"] = np.where(steady, norm, norm - 1.0)
    score = wide.pivot_table(index="parameter", columns="case", values="score", aggfunc="max",
                             sort=False)
    return score[list(dict.fromkeys(wide["case"]))]


def leaders(morris_table: pd.DataFrame, k: int, trajectories: int,
            noisy: Sequence[tuple[str, str]] = ()) -> list[str]:
    """The ``k`` inputs carried into Sobol, taken in turn from each case's leaders.

    Each case (the baseline's levels, then each policy's effect) ranks the inputs by
    :func:`influence`; the first of each case is taken, then the second of each, and so on, so
    that every policy conclusion has its own leading uncertainties among the ``k``. Responses
    in ``noisy`` ((case, outcome) pairs whose variance is mostly replicate noise) choose none:
    their leaders would be the inputs that happened to draw the largest noise.
    """
    keep = ~pd.Series(list(zip(morris_table["case"], morris_table["outcome"], strict=True)),
                      index=morris_table.index).isin(set(noisy))
    score = influence(morris_table[keep], trajectories)
    ranked = {c: list(score[c].sort_values(ascending=False, kind="stable").index)
              for c in score.columns}
    chosen: list[str] = []
    for rank in range(len(score)):
        for c in score.columns:
            if len(chosen) < k and ranked[c][rank] not in chosen:
                chosen.append(ranked[c][rank])
    return chosen


@dataclass
class Result:
    """What :func:`analyse` returns (and :mod:`zq_sim.sensitivity_report` writes)."""

    indices: pd.DataFrame          # inputs, case, outcome, parameter, method, index, value, conf.
    evaluations: pd.DataFrame      # every design point: stage, inputs' values, responses
    noise: pd.DataFrame            # case, outcome, sd over replicates at the nominal point
    effects: pd.DataFrame          # case, outcome, nominal, mean, p05, p95, share_positive
    uncertainties: list[space.Dimension]
    held: dict[str, float]         # calibrated inputs held at their fitted values
    levers: list[space.Dimension]
    top: list[str]                 # uncertainties carried into Sobol
    timing: Timing
    settings: SensitivitySettings
    meta: dict = field(default_factory=dict)


def calibrated_names(cfg: RunConfig) -> list[str]:
    """The settings conf/model/calibrated.yaml fits (none when the priors are run)."""
    import yaml

    if not cfg.calibrated:
        return []
    path = CONF_DIR / "model" / "calibrated.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def walk(node, prefix=""):
        for k, v in node.items():
            if isinstance(v, dict):
                yield from walk(v, f"{prefix}{k}.")
            elif k != "calibrated":
                yield f"{prefix}{k}"

    return list(walk(data))


#: A response whose variance over a design is more than this share replicate noise (one design
#: point's, without common seeds) chooses no Sobol inputs, and its indices are flagged.
NOISY = 0.5


def _noise_share(noise: pd.DataFrame, resp: Mapping[tuple[str, str], np.ndarray]) -> np.ndarray:
    """Each response's noise variance (one point's) over its variance across a design."""
    out = []
    for r in noise.itertuples():
        v = float(np.var(resp[(r.case, r.outcome)], ddof=1))
        out.append(r.sd_of_point ** 2 / v if v > 0 else math.inf)
    return np.array(out)


def choose_inputs(cfg: RunConfig, s: SensitivitySettings, sets: pd.DataFrame | None = None
                  ) -> tuple[list[space.Dimension], dict[str, float]]:
    """(uncertainties screened, calibrated ones held at their values) for the settings.

    ``sets``: with ``calibrated: ensemble``, the ensemble's sets if already read.
    """
    dims = list(space.select(space.uncertainties(), s.parameters or None))
    held: dict[str, float] = {}
    if s.calibrated == "ensemble":
        sets = ensemble_sets(s) if sets is None else sets
        dims = [d for d in dims if d.name not in set(sets.columns)]
        dims.append(ensemble_dimension(sets))
    if s.calibrated == "fixed":
        fitted = set(calibrated_names(cfg))
        held = {d.name: v for d in dims if d.name in fitted
                for v in [space.current(cfg, [d])[d.name]]}
        dims = [d for d in dims if d.name not in fitted]
    if not dims:
        raise ConfigError("no uncertainty left to screen: sensitivity.parameters names only "
                          "calibrated ones (set sensitivity.calibrated=prior to screen them)")
    return dims, held


def ensemble_sets(s: SensitivitySettings) -> pd.DataFrame:
    """The ensemble's values of the parameters it fits, one row per set (equal weights).

    The ensemble's drawn parameters (post-2024 assumptions the 2024 figures cannot see) are
    left out: the analysis screens them over their ranges as inputs of their own.
    """
    from zq_sim import ensemble

    ens = ensemble.load(s.ensemble_path or None)
    fitted = ens.meta.get("free")
    if not fitted:
        raise ConfigError("sensitivity.calibrated=ensemble: the ensemble does not say which "
                          "parameters it fits (ensemble.json 'free'); rebuild it with "
                          "python -m zq_sim.ensemble")
    if not np.allclose(ens.weights, ens.weights[0]):
        idx = ens.draw(len(ens), np.random.default_rng(0))  # weighted sets resampled evenly
        return ens.sets.iloc[idx][fitted].reset_index(drop=True)
    return ens.sets[fitted].reset_index(drop=True)


def ensemble_dimension(sets: pd.DataFrame) -> space.Dimension:
    """The group factor: a set of the ensemble, uniform over them, nominal the most central."""
    u = ((sets.rank() - 0.5) / len(sets)).to_numpy()
    central = int(np.argmin(((u - 0.5) ** 2).sum(axis=1)))
    n = len(sets)
    return space.Dimension(ENSEMBLE_SET, -0.5 + 1e-9, n - 0.5 - 1e-9, "uniform", central,
                           f"set of {n}", "the parameter ensemble (experiments/calibration/"
                           f"ensemble): the {sets.shape[1]} fitted parameters together",
                           True, "uncertainty")


def _frame(stage: str, dims, values: np.ndarray, evaluator, y: np.ndarray) -> pd.DataFrame:
    resp = responses(evaluator, y)
    cols = {"stage": stage, "point": np.arange(len(values))}
    cols |= {d.name: values[:, j] for j, d in enumerate(dims)}
    cols |= {f"{case}|{outcome}": r for (case, outcome), r in resp.items()}
    return pd.DataFrame(cols)


def analyse(s: SensitivitySettings, evaluator: Evaluator,
            uncertainties: Sequence[space.Dimension], levers: Sequence[space.Dimension] = (),
            lever_evaluator: Evaluator | None = None, *, nominal: Mapping[str, float],
            held: Mapping[str, float] | None = None, progress: bool = True,
            echo: Callable[[str], Any] | None = print) -> Result:
    """The whole analysis (stages 1-5 of the module's doc) with ``evaluator``.

    Args:
        s: the settings as run (see :func:`effective`).
        evaluator: evaluates points of the uncertainties (baseline and policies).
        uncertainties: the uncertain inputs screened.
        levers: the policy levers screened (none: no lever stage).
        lever_evaluator: evaluates points of the levers (the baseline only); default
            ``evaluator``.
        nominal: the value of each uncertainty where it is not varied (the base config's:
            :func:`space.current`).
        held: calibrated inputs held at their values (recorded in the report).
        progress: show progress bars.
        echo: where a line per stage goes (None: nowhere).

    """
    say = echo or (lambda *_: None)
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    from zq_sim.run import replicate_seeds

    unc = list(uncertainties)
    levers = list(levers)
    timing = Timing()
    seeds = replicate_seeds(s.seed, s.replicates)
    run = dict(jobs=s.jobs, chunk=s.chunk, progress=progress, timing=timing)
    frames, rows = [], []

    # 1. replicate noise at the nominal point: one evaluation per seed
    x0 = np.array([float(nominal[d.name]) for d in unc])
    per_seed = evaluate_seeds(evaluator, unc, x0[None], replicate_seeds(s.seed, s.noise_seeds),
                              **run)[:, 0]
    resp = responses(evaluator, per_seed)
    noise = pd.DataFrame([{"case": c, "outcome": o, "sd": float(np.std(r, ddof=1)),
                           "mean": float(np.mean(r)),
                           "sd_of_point": float(np.std(r, ddof=1) / math.sqrt(s.replicates))}
                          for (c, o), r in resp.items()])
    # the mu* that noise alone gives: E|difference of two independent points| / Morris' step
    step = s.morris.levels / (2 * (s.morris.levels - 1))
    noise["mu_star_noise"] = 2 / math.sqrt(math.pi) * noise["sd_of_point"] / step
    say(f"noise: {s.noise_seeds} seeds at the nominal point")

    # 2. Morris over the uncertainties
    problem = space.salib_problem(unc)
    xu = morris_sample.sample(problem, N=s.morris.trajectories, num_levels=s.morris.levels,
                              seed=s.seed)
    xv = space.from_unit(unc, xu)
    y = evaluate(evaluator, unc, xv, seeds, desc="Morris: uncertainties", **run)
    rows += morris_rows(unc, xu, y, evaluator, s, "uncertainties")
    frames.append(_frame("morris_uncertainties", unc, xv, evaluator, y))
    say(f"Morris: {len(unc)} uncertainties, {len(xv)} points")

    # 3. Morris over the levers (uncertainties at their nominal values)
    if levers:
        lev_eval = lever_evaluator or evaluator
        problem_l = space.salib_problem(levers)
        lu = morris_sample.sample(problem_l, N=s.morris.lever_trajectories,
                                  num_levels=s.morris.levels, seed=s.seed + 1)
        lv = space.from_unit(levers, lu)
        yl = evaluate(lev_eval, levers, lv, seeds, desc="Morris: levers", **run)
        rows += morris_rows(levers, lu, yl, lev_eval, s, "levers")
        frames.append(_frame("morris_levers", levers, lv, lev_eval, yl))
        say(f"Morris: {len(levers)} levers, {len(lv)} points")

    # 4. Sobol over the top uncertainties, the others at their nominal values; responses whose
    # spread over the Morris design is mostly noise choose no leaders
    noise["share_morris"] = _noise_share(noise, responses(evaluator, y))
    noisy = [(r.case, r.outcome) for r in noise.itertuples() if not r.share_morris <= NOISY]
    table = pd.DataFrame(rows)
    top = leaders(table[table["inputs"] == "uncertainties"], s.sobol.top,
                  s.morris.trajectories, noisy)
    by_name = {d.name: d for d in unc}
    if ENSEMBLE_SET in by_name and ENSEMBLE_SET not in top:
        # asked for with calibrated=ensemble: the group's indices are the point of the mode
        # (Morris sees only as many sets as it has levels)
        top = [*top[:max(s.sobol.top - 1, 0)], ENSEMBLE_SET]
    top_dims = [by_name[n] for n in top]
    su = sobol_sample.sample(space.salib_problem(top_dims), s.sobol.samples,
                             calc_second_order=False, seed=s.seed)
    sv = np.repeat(x0[None], len(su), axis=0)
    cols = [unc.index(d) for d in top_dims]
    sv[:, cols] = space.from_unit(top_dims, su)
    ys = evaluate(evaluator, unc, sv, seeds, desc="Sobol", **run)
    rows += sobol_rows(top_dims, ys, evaluator, s)
    frames.append(_frame("sobol", unc, sv, evaluator, ys))
    noise["share_sobol"] = _noise_share(noise, responses(evaluator, ys))
    say(f"Sobol: {len(top)} uncertainties, {len(sv)} points")

    # the effects' spread over the Sobol sample's base rows (independent, uniform draws)
    base_rows = ys[::len(top_dims) + 2]
    x0y = evaluate(evaluator, unc, x0[None], seeds, jobs=1, progress=False, timing=timing)
    at_nominal = responses(evaluator, x0y)
    effects = pd.DataFrame([{
        "case": c, "outcome": o, "nominal": float(at_nominal[(c, o)][0]),
        "mean": float(np.mean(r)), "p05": float(np.percentile(r, 5)),
        "p95": float(np.percentile(r, 95)), "share_positive": float(np.mean(r > 0)),
        "samples": len(r)} for (c, o), r in responses(evaluator, base_rows).items()])

    # 5. one at a time: each leading uncertainty from the low to the high end of its range
    oat_names = [n for n in top if n != ENSEMBLE_SET][:s.oat.parameters]  # no ends to a set
    oat_seeds = replicate_seeds(s.seed, s.oat.seeds)
    for name in oat_names:
        d, j = by_name[name], unc.index(by_name[name])
        ends = np.repeat(x0[None], 2, axis=0)
        ends[:, j] = [d.low, d.high]
        per = evaluate_seeds(evaluator, unc, ends, oat_seeds, **run)  # (seeds, 2, columns)
        low, high = responses(evaluator, per[:, 0]), responses(evaluator, per[:, 1])
        for (case, outcome), lo in low.items():
            sw = high[(case, outcome)] - lo
            rows.append({"inputs": "uncertainties", "case": case, "outcome": outcome,
                         "parameter": name, "method": "oat", "index": "swing",
                         "value": float(sw.mean()),
                         "confidence": float(1.96 * sw.std(ddof=1) / math.sqrt(len(sw)))})
    say(f"one at a time: {len(oat_names)} uncertainties, {len(oat_seeds)} seeds")

    indices = pd.DataFrame(rows)
    indices = _units(indices)
    return Result(indices=indices, evaluations=pd.concat(frames, ignore_index=True),
                  noise=noise, effects=effects, uncertainties=unc, held=dict(held or {}),
                  levers=levers, top=top, timing=timing, settings=s)


def _units(indices: pd.DataFrame) -> pd.DataFrame:
    """A unit per row: the outcome's for Morris and one-at-a-time, none for Sobol."""
    unit = indices["outcome"].map(lambda o: OUTCOMES[o].unit if o in OUTCOMES else "")
    indices = indices.copy()
    indices["unit"] = np.where(indices["method"] == "sobol", "share of variance", unit)
    return indices


# ------------------------------------------------------------------------------- the command
def destination(cfg: SensitivityConfig, hydra_dir: Path | None) -> Path:
    """Where the outputs go: experiments/sensitivity, or the Hydra run folder."""
    folder = cfg.sensitivity.folder
    if folder == "auto":
        folder = "hydra" if cfg.quick else "experiments"
    if folder == "hydra":
        if hydra_dir is None:
            raise ConfigError("sensitivity.folder = hydra: no Hydra run folder (call through "
                              "python -m zq_sim.sensitivity, or give out_dir)")
        return Path(hydra_dir)
    return DEFAULT_DIR


def _commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def run_sensitivity(cfg: SensitivityConfig, out_dir: Path, *, config_yaml: str = "",
                    command: str = "python -m zq_sim.sensitivity",
                    echo: Callable[[str], Any] | None = print) -> Result:
    """Check the settings, refuse a finished destination, analyse the model and write.

    Args:
        cfg: the composed configuration (a run config plus ``sensitivity``).
        out_dir: where to write (see :func:`destination`).
        config_yaml: the resolved config, saved beside the outputs.
        command: the command line, for the report.
        echo: where a line per stage goes (None: nowhere).

    """
    from zq_sim import data
    from zq_sim import sensitivity_report as report

    base = RunConfig(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(RunConfig)})
    validate(base)
    check(cfg.sensitivity, base)
    report.refuse_finished(out_dir, cfg.sensitivity.overwrite)
    s = effective(cfg.sensitivity, cfg.quick)
    sets = ensemble_sets(s) if s.calibrated == "ensemble" else None
    unc, held = choose_inputs(base, s, sets)
    outcomes = tuple(s.outcomes)
    evaluator = ModelEvaluator(base, {p: scenario_changes(p) for p in s.policies}, outcomes,
                               sets=sets)
    lever_evaluator = ModelEvaluator(base, {}, outcomes)
    levers = list(space.levers()) if s.levers else []
    nominal = {d.name: (d.default if d.name == ENSEMBLE_SET else space.value(evaluator.base,
                                                                             d.name))
               for d in unc}
    t0 = time.perf_counter()
    result = analyse(s, evaluator, unc, levers, lever_evaluator, nominal=nominal, held=held,
                     progress=cfg.output.progress, echo=echo)
    result.meta = {"date": report.now(), "commit": _commit(), "command": command,
                   "quick": cfg.quick, "seconds": time.perf_counter() - t0,
                   "data_sha256": data.fingerprint()["sha256"]}
    report.write(result, out_dir, overwrite=cfg.sensitivity.overwrite, config_yaml=config_yaml)
    if echo:
        t = result.timing
        echo(f"{t.runs:,} model runs in {t.wall_s:,.0f} s ({t.runs / max(t.wall_s, 1e-9):,.1f} "
             f"runs/s); report: {out_dir / 'report.md'}")
    return result


def schema_keys() -> dict[str, list[str]]:
    """The settings of ``sensitivity`` (and ``quick``) by section: {section: [keys]}."""
    out: dict[str, list[str]] = {"": ["quick", "sensitivity"]}

    def walk(obj, prefix):
        out[prefix] = []
        for f in dataclasses.fields(obj):
            out[prefix].append(f.name)
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                walk(value, f"{prefix}.{f.name}")

    walk(SensitivitySettings(), "sensitivity")
    return out


def _check_own_key(o) -> str | None:
    """An error line for a ``quick`` or ``sensitivity.*`` override, else None."""
    key = o.key_or_group
    sections = schema_keys()
    section, _, leaf = key.rpartition(".")
    if section not in sections or leaf not in sections[section]:
        known = [f"{sec}.{k}".lstrip(".") for sec, keys in sections.items() for k in keys]
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.0)
        pool = sections.get(section)
        allowed = f"; allowed in {section}: {', '.join(pool)}" if pool else ""
        return f"{key}: unknown setting; the nearest known setting is {near[0]}{allowed}"
    if o.is_delete():
        return f"{o.input_line}: a setting cannot be removed; give it a value instead"
    if o.is_add():
        return f"{o.input_line}: {key} is a setting already: write {o.input_line[1:]}"
    return None


def check_command(argv: list[str]) -> list[str]:
    """Every problem of the command line, one line each (empty: nothing found)."""
    from omegaconf import OmegaConf

    from zq_sim import overrides

    if any(a.startswith("-") for a in argv):
        return []  # Hydra's own flags (--help, --cfg...): left to Hydra
    try:
        parsed = overrides.parse(argv)
    except ConfigError as exc:
        return [str(exc)]
    errors, task = [], []
    for o in parsed:
        key = o.key_or_group
        if overrides._is_hydra(key):
            continue
        task.append(o.input_line)
        if key == "quick" or key.split(".")[0] == "sensitivity":
            line = _check_own_key(o)
        elif key in ("scenario", "experiment"):
            line = (f"{o.input_line}: the analysis starts from the baseline; choose the "
                    "policies whose effects are analysed with sensitivity.policies=[NAME,...]")
        else:
            line = overrides.check_key(o)
        if line:
            errors.append(line)
        elif o.is_sweep_override():
            errors.append(f"{o.input_line}: one value per setting (the analysis is not a sweep)")
    if errors:
        return errors
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            composed = compose(config_name="sensitivity", overrides=task)
        cfg: SensitivityConfig = OmegaConf.to_object(composed)
        base = RunConfig(**{f.name: getattr(cfg, f.name)
                            for f in dataclasses.fields(RunConfig)})
        validate(base)
        check(cfg.sensitivity, base)
    except Exception as exc:  # noqa: BLE001 - Hydra, OmegaConf and ours
        return [overrides.describe(exc)]
    return []


def _app():
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig, OmegaConf

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="sensitivity")
    def app(cfg: DictConfig) -> None:
        from zq_sim.data import DataError
        from zq_sim.run import RunFailed

        hydra_dir = Path(HydraConfig.get().runtime.output_dir)
        try:
            typed: SensitivityConfig = OmegaConf.to_object(cfg)
            out = destination(typed, hydra_dir)
            command = " ".join(["python -m zq_sim.sensitivity",
                                *HydraConfig.get().overrides.task])
            run_sensitivity(typed, out, config_yaml=OmegaConf.to_yaml(cfg), command=command)
        except (ConfigError, DataError, RunFailed) as exc:
            print(f"zq_sim.sensitivity: error: {exc}", file=sys.stderr)
            sys.exit(2)
        finally:
            if hydra_dir.is_dir() and hydra_dir.resolve() != DEFAULT_DIR.resolve():
                try:
                    hydra_dir.rmdir()  # only if empty: the outputs went elsewhere
                except OSError:
                    pass

    return app


def main() -> None:
    """Entry point: check the command line, then hand over to Hydra."""
    from zq_sim.overrides import refuse

    refuse("zq_sim.sensitivity", check_command(sys.argv[1:]))
    _app()()


if __name__ == "__main__":
    main()

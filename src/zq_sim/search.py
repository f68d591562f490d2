"""Finding a policy mix: the least public money that lifts weak villages to a goal; how sure.

``python -m zq_sim.search`` (a Hydra app, config ``conf/search.yaml``):

1. **Levers and bounds** come from data/levers.csv (:func:`zq_sim.space.levers`);
   ``search.levers`` chooses which are searched (by default the costly ones that move the weak
   villages' own income); the others keep their 2024 values.
2. **The goal** (``search.goal``): in ``goal.year`` (2027) at least ``goal.share`` (1: every
   village) of the villages have an own (operating) income of at least ``goal.threshold``
   (200k yuan). A candidate mix is run on ``search.replicates`` seeds (with a parameter
   ensemble, spread over ``search.parameter_sets`` sets of it), the same for every candidate
   (common random numbers); its **probability** of meeting the goal is the share of those runs
   that meet it; its **cost** is the public spending (every ``public_<item>``, data/
   lever_costs.csv) summed from ``years.policy_start`` to the goal year, mean over evaluations.
3. **Search**: Optuna's multi-objective samplers (NSGA-II by default, or TPE) minimise the cost
   and the goal's shortfall (the mean share of villages the goal misses: a smooth companion of
   the probability, which is flat at 0 or 1 over most of the space). Candidates are evaluated in
   batches, in-process, one worker per core (joblib); the trials are kept in Optuna's SQLite
   storage in the run folder, so that a killed search, rerun into the same folder, resumes.
4. **Choosing**: the cheapest candidates whose probability is at least ``search.probability``
   are run again on fresh seeds (``confirm_replicates``), and the cheapest that still meets it
   is recommended (its claim is what the fresh seeds give, not the search's own estimate). When
   none does, the report says so and shows the closest.
5. **Robustness**: the recommended mix is run over the declared uncertainties (draws from
   data/priors.csv, or the ensemble's sets) and PRIM (EMA workbench) names the conditions under
   which it fails; each condition is then checked one at a time.
6. **Held out**: the recommended mix on the run seeds of ``python -m zq_sim`` (root ``seed``),
   which the search never uses, against its claim.

Outputs in the run folder: ``study.db`` (Optuna), ``trials.csv``, ``pareto.csv``,
``recommended.yaml`` (a scenario file), ``robustness.csv``, ``report.md`` with its figures, and
``recommended.json`` last (its presence means the search is finished).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib
import importlib.util
import json
import logging
import math
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
import yaml
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from zq_sim import data, metrics, space
from zq_sim.config import ConfigError, OutputsExist, RunConfig, _f, validate
from zq_sim.paths import CONF_DIR

#: The levers searched by default: those with a public cost that move the weak villages' own
#: income by 2027 (a one-at-a-time screen over levers.csv's bounds, docs/ODD.md "Finding a
#: policy mix"). Left at 2024: consolidation (dear, little effect by 2027), start-up capital,
#: town works, PV adoption, managers (little effect), support (it lifts total income, not own
#: income), the service fee (paid by operators).
DEFAULT_LEVERS = ["policy.three_assets.platform_coverage", "policy.three_assets.bidder_reach",
                  "policy.three_assets.cleanup_intensity",
                  "policy.three_assets.inventory_intensity", "policy.land.soe_push",
                  "policy.companies.formation_push", "policy.pv.subsidy",
                  "policy.talent.officials", "policy.talent.instructors",
                  "policy.assistance.fund"]
SAMPLERS = ("nsga2", "tpe")
UNCERTAINTY_MODES = ("auto", "replicates", "ensemble")
ROBUSTNESS_SPACES = ("uncalibrated", "all")
LANGUAGES = ("auto", "zh", "pinyin")
#: Offsets of the seed streams spawned from ``search.seed``: each use has its own seeds.
SEED_STREAMS = {"search": 0, "confirm": 100_000, "robustness": 200_000, "oat": 300_000}
#: The file whose presence means a search is finished (written last).
FINISHED = "recommended.json"
STUDY = "study.db"


# ---------------------------------------------------------------------------------- settings
@dataclass
class GoalSettings:
    """The weak-village goal: own income of at least ``threshold`` for ``share`` of villages."""

    year: int = _f(2027, "year in which the goal is judged", 2023, 2100)
    threshold: float = _f(200_000.0, "own (operating) income to reach (yuan/yr)", 1.0, 1e9)
    share: float = _f(1.0, "share of villages that must reach it (1: every village)", 0.01, 1.0)


@dataclass
class RobustnessSettings:
    """How the recommended mix is tried over the declared uncertainties (PRIM)."""

    samples: int = _f(200, "draws of the uncertainties the mix is run over (0: skip)", 0,
                      100_000)
    uncertainties: str = _f(
        "uncalibrated", "which declared uncertainties are drawn without an ensemble: those the "
        "calibration does not fit, or all", choices=ROBUSTNESS_SPACES)
    names: list[str] = field(default_factory=list)  # only these (dotted or bare names)
    density: float = _f(0.8, "PRIM: the box kept is the largest whose share of failures is at "
                        "least this", 0.01, 1.0)
    peel_alpha: float = _f(0.05, "PRIM: share of the cases peeled off at each step", 0.01, 0.5)
    oat_seeds: int = _f(16, "seeds of the one-at-a-time check of each condition (0: skip)", 0,
                        10_000)


@dataclass
class SearchSettings:
    """The search: goal, levers, budget, evaluation and choice."""

    goal: GoalSettings = field(default_factory=GoalSettings)
    levers: list[str] = field(default_factory=lambda: list(DEFAULT_LEVERS))
    trials: int = _f(240, "candidate mixes evaluated (the 2024 mix is the first)", 1, 1_000_000)
    replicates: int = _f(16, "seeds each candidate is run on (the same for all)", 1, 100_000)
    uncertainty: str = _f("auto", "parameter sets: auto (the ensemble if built), replicates "
                          "(calibrated parameters only) or ensemble", choices=UNCERTAINTY_MODES)
    parameter_sets: int = _f(4, "sets of the ensemble the replicate seeds are spread over "
                             "(in turn)", 1, 100_000)
    ensemble_path: str = ""        # folder of the ensemble ("": its default folder)
    sampler: str = _f("nsga2", "Optuna's multi-objective sampler", choices=SAMPLERS)
    population: int = _f(24, "candidates per batch (NSGA-II's population)", 2, 100_000)
    seed: int = _f(4242, "root of the search's own seeds (never the run seeds)", 0, 2**63 - 1)
    probability: float = _f(0.8, "required probability of meeting the goal", 0.01, 1.0)
    confirm: int = _f(5, "cheapest candidates run again on fresh seeds before one is chosen",
                      1, 1000)
    confirm_replicates: int = _f(48, "fresh evaluations of each of them", 1, 100_000)
    holdout_replicates: int = _f(40, "replicates of the held-out check on the run seeds (0: "
                                 "skip)", 0, 100_000)
    jobs: int = _f(-1, "worker processes (-1: one per core)", -1024, 1024)
    name: str = "recommended"      # the scenario name written into recommended.yaml
    dpi: int = _f(150, "resolution of the figures", 50, 600)
    lang: str = _f("auto", "labels: auto (Chinese if a CJK font), zh or pinyin",
                   choices=LANGUAGES)
    robustness: RobustnessSettings = field(default_factory=RobustnessSettings)


@dataclass
class SearchConfig(RunConfig):
    """A run configuration (the base the candidates change) plus the search's settings."""

    search: SearchSettings = field(default_factory=SearchSettings)


ConfigStore.instance().store(name="search_schema", node=SearchConfig)


def settings_keys(node: Any = None, prefix: str = "search.") -> list[str]:
    """Every key of the search's settings (sections too), dotted."""
    node = SearchSettings() if node is None else node
    keys = []
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        keys.append(prefix + f.name)
        if dataclasses.is_dataclass(value):
            keys += settings_keys(value, f"{prefix}{f.name}.")
    return keys


def require_extra() -> None:
    """The search's libraries are an extra (``pip install -e '.[search]'``): say so in one line."""
    missing = [m for m in ("optuna", "ema_workbench") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"the search needs {' and '.join(missing)}: install the project with "
                          "its search extra (pip install -e '.[search]', or bash "
                          "scripts/bootstrap.sh)")


def check_settings(cfg: SearchConfig) -> tuple[space.Dimension, ...]:
    """Ranges and rules of the settings (one-line ConfigError); the searched levers."""
    require_extra()
    validate(cfg)
    s, years = cfg.search, cfg.years
    if not years.policy_start <= s.goal.year:
        raise ConfigError(f"search.goal.year = {s.goal.year} is before years.policy_start = "
                          f"{years.policy_start}: no lever acts by then")
    if s.jobs == 0:
        raise ConfigError("search.jobs = 0: give a number of workers, or -1 for one per core")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", s.name):
        raise ConfigError(f"search.name = {s.name!r}: a scenario name is letters, digits and _, "
                          "starting with a letter")
    if not s.levers:
        raise ConfigError("search.levers is empty; choose from: "
                          + ", ".join(d.name for d in space.levers()))
    if len(set(s.levers)) != len(s.levers):
        raise ConfigError(f"search.levers names a lever twice: {s.levers}")
    try:
        dims = space.select(space.levers(), s.levers)
    except ConfigError as exc:
        raise ConfigError(f"search.levers: {exc}; choose from: "
                          + ", ".join(d.name for d in space.levers())) from None
    if s.robustness.names:
        space.select(space.uncertainties(), s.robustness.names)
    return dims


# ---------------------------------------------------------------------------------- the goal
@dataclass(frozen=True)
class Goal:
    """Own income of at least ``threshold`` in ``year`` for at least ``share`` of villages."""

    year: int
    threshold: float
    share: float

    #: Thresholds the time series has a column for (share of villages below it).
    COLUMNS = {metrics.FLOOR: "share_own_below_150k", metrics.HIGHER: "share_own_below_200k"}

    @property
    def needs_panel(self) -> bool:
        """Whether the village panel is needed (a threshold with no time-series column)."""
        return self.threshold not in self.COLUMNS

    def reached(self, ts: pd.DataFrame, panel: pd.DataFrame) -> float:
        """Share of villages whose own income in the goal year is at least the threshold."""
        if not self.needs_panel:
            row = ts.loc[ts["year"] == self.year, self.COLUMNS[self.threshold]]
            return 1.0 - float(row.iloc[0])
        income = panel.loc[panel["year"] == self.year, "operating_income"].to_numpy()
        return float(np.mean(income >= self.threshold))

    def met(self, reached: np.ndarray) -> np.ndarray:
        """Whether each evaluation meets the goal."""
        return np.asarray(reached) >= self.share - 1e-12

    def text(self, lang: str = "en") -> str:
        """The goal in words (English, or Chinese with ``lang="zh"``)."""
        if lang == "zh":
            who = "每个村" if self.share >= 1.0 else f"{self.share:.0%}的村"
            return f"{self.year}年{who}自身经营性收入不低于{self.threshold / 1e4:,.0f}万元"
        who = "every village" if self.share >= 1.0 else f"{self.share:.0%} of villages"
        return (f"{who} with an own (operating) income of at least "
                f"{self.threshold / 1e3:,.0f}k yuan in {self.year}")


def seeds(root: int, stream: str, n: int) -> list[int]:
    """``n`` seeds of one of the search's streams, spawned from ``root`` (numpy SeedSequence).

    The ``search`` stream is what :func:`zq_sim.run.replicate_seeds` gives for ``root``.
    """
    start = SEED_STREAMS[stream]
    return [int(np.random.SeedSequence(root, spawn_key=(start + i,)).generate_state(1)[0])
            for i in range(n)]


def run_outcome(cfg: RunConfig, seed: int, goal: Goal, first_year: int
                ) -> tuple[float, dict[str, float]]:
    """One model run: (share of villages reaching the goal, public cost by item).

    The cost of each item is summed from ``first_year`` to the goal year (yuan).
    """
    from zq_sim.run import check_finite, run_replicate

    ts, panel = run_replicate(cfg, seed)
    check_finite(ts, cfg, seed, 0)
    window = ts[(ts["year"] >= first_year) & (ts["year"] <= goal.year)]
    items = {c.removeprefix("public_"): float(window[c].sum()) for c in ts.columns
             if c.startswith("public_") and c != "public_spending"}
    return goal.reached(ts, panel), items


def _task(cfgs: Sequence[RunConfig], run_seeds: Sequence[int], goal: Goal, first_year: int
          ) -> list[tuple[float, dict[str, float]]] | str:
    """One candidate's runs (a worker's unit of work); a failed run returns its error line."""
    from zq_sim.run import RunFailed

    try:
        return [run_outcome(c, s, goal, first_year) for c, s in zip(cfgs, run_seeds,
                                                                     strict=True)]
    except (RunFailed, ConfigError) as exc:
        return str(exc).splitlines()[0]


@dataclass
class Evaluation:
    """A candidate's evaluations: share reaching the threshold and cost by item, per run."""

    reached: np.ndarray
    items: pd.DataFrame
    goal: Goal

    @property
    def cost(self) -> np.ndarray:
        """Public cost of each evaluation (yuan, summed over the items and years)."""
        return self.items.sum(axis=1).to_numpy()

    @property
    def met(self) -> np.ndarray:
        """Whether each evaluation meets the goal."""
        return self.goal.met(self.reached)

    def summary(self) -> dict[str, float]:
        """Probability (with its 90% Wilson interval), shortfall, cost (mean, 5-95%)."""
        met, cost = self.met, self.cost
        lo, hi = wilson(int(met.sum()), len(met))
        return {"probability": float(met.mean()), "probability_lo": lo, "probability_hi": hi,
                "evaluations": len(met),
                "shortfall": float(np.mean(np.maximum(self.goal.share - self.reached, 0.0))),
                "reached_mean": float(self.reached.mean()),
                "reached_p05": float(np.percentile(self.reached, 5)),
                "reached_p95": float(np.percentile(self.reached, 95)),
                "cost": float(cost.mean()), "cost_p05": float(np.percentile(cost, 5)),
                "cost_p95": float(np.percentile(cost, 95))}


def wilson(k: int, n: int, level: float = 0.9) -> tuple[float, float]:
    """The Wilson interval of a probability from ``k`` successes in ``n`` trials."""
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


class Evaluator:
    """Runs candidate mixes on fixed evaluations ((parameter set, seed) pairs), in batches.

    Args:
        base: the run configuration the levers are applied to (years.end at the goal year).
        goal: the goal.
        parallel: a joblib Parallel (kept open between batches), or None to run in-process.
        ensemble: the parameter ensemble, or None (calibrated parameters only).

    """

    def __init__(self, base: RunConfig, goal: Goal, parallel, ensemble=None) -> None:
        self.base, self.goal, self.parallel, self.ensemble = base, goal, parallel, ensemble
        self.first_year = base.years.policy_start
        self._configured: dict[int | None, RunConfig] = {None: base}
        self.runs = 0

    def configured(self, i: int | None) -> RunConfig:
        """The base with parameter set ``i`` applied (None: the base itself)."""
        if i not in self._configured:
            self._configured[i] = self.ensemble.configure(self.base, int(i))
        return self._configured[i]

    def configs(self, point: dict[str, Any], pairs: Sequence[tuple[int | None, int]]
                ) -> list[RunConfig]:
        """The run configuration of each evaluation of a candidate."""
        by_set = {i: space.apply(self.configured(i), point) for i in {i for i, _ in pairs}}
        return [by_set[i] for i, _ in pairs]

    def evaluate(self, points: Sequence[dict[str, Any]],
                 pairs: Sequence[tuple[int | None, int]]) -> list[Evaluation | str]:
        """Every candidate on every (set, seed) pair; a candidate whose run failed: its error."""
        from joblib import delayed

        run_seeds = [s for _, s in pairs]
        jobs = [delayed(_task)(self.configs(p, pairs), run_seeds, self.goal, self.first_year)
                for p in points]
        results = self.parallel(jobs) if self.parallel is not None else [
            job[0](*job[1], **job[2]) for job in jobs]
        self.runs += len(points) * len(pairs)
        out: list[Evaluation | str] = []
        for r in results:
            if isinstance(r, str):
                out.append(r)
                continue
            out.append(Evaluation(np.array([x[0] for x in r]),
                                  pd.DataFrame([x[1] for x in r]), self.goal))
        return out


# ---------------------------------------------------------------------------------- ensemble
def resolve_ensemble(s: SearchSettings, ensemble=None):
    """The parameter ensemble the settings ask for, or None (replicates only).

    ``zq_sim.ensemble`` is imported only when needed; ``ensemble`` (an object with ``len``,
    ``sets`` and ``configure(cfg, i)``) stands in for it.
    """
    if s.uncertainty == "replicates":
        return None
    if ensemble is not None:
        return ensemble
    try:
        module = importlib.import_module("zq_sim.ensemble")
    except ImportError:
        module = None
    path = s.ensemble_path or None
    if module is not None and module.exists(path):
        return module.load(path)
    if s.uncertainty == "ensemble":
        raise ConfigError("search.uncertainty = ensemble: no parameter ensemble has been built "
                          f"({'zq_sim.ensemble is missing' if module is None else 'none found'}"
                          "); choose auto or replicates")
    return None


def choose_sets(ensemble, n: int, rng: np.random.Generator) -> list[int]:
    """``n`` parameter sets of the ensemble, by weight where it has weights.

    No set is drawn twice while there are enough.
    """
    k = len(ensemble)
    weights = getattr(ensemble, "weights", None)
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return [int(i) for i in rng.choice(k, size=n, replace=n > k, p=p)]


def evaluation_pairs(s: SearchSettings, ensemble, stream: str, n: int
                     ) -> list[tuple[int | None, int]]:
    """The (parameter set, seed) pairs of one stage: ``n`` evaluations.

    The search spreads its ``n`` seeds over ``parameter_sets`` sets of the ensemble, in turn
    (every candidate gets the same pairs: common random numbers; the budget does not grow with
    the ensemble); other stages give each of their ``n`` seeds a set drawn for it.
    """
    run_seeds = seeds(s.seed, stream, n)
    if ensemble is None:
        return [(None, x) for x in run_seeds]
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(
        SEED_STREAMS[stream] + 99_999,)))
    if stream == "search":
        sets = choose_sets(ensemble, s.parameter_sets, rng)
        return [(sets[j % len(sets)], x) for j, x in enumerate(run_seeds)]
    return list(zip(choose_sets(ensemble, n, rng), run_seeds, strict=True))


# ---------------------------------------------------------------------------------- the study
def fingerprint(cfg: SearchConfig, dims: Sequence[space.Dimension], ensemble) -> dict:
    """What the trials depend on: a resumed search must have the same (trials may grow)."""
    s = cfg.search
    base = dataclasses.asdict(run_config(cfg))
    base["output"].pop("progress", None)
    return {"goal": dataclasses.asdict(s.goal),
            "levers": {d.name: [d.low, d.high, d.distribution] for d in dims},
            "replicates": s.replicates, "seed": s.seed, "sampler": s.sampler,
            "population": s.population,
            "parameter_sets": s.parameter_sets if ensemble is not None else 0,
            "ensemble": None if ensemble is None else _hash(
                pd.util.hash_pandas_object(ensemble.sets, index=True).to_numpy().tobytes()),
            "base": _hash(json.dumps(base, sort_keys=True, default=str).encode()),
            "data": data.fingerprint()["sha256"]}


def _hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def run_config(cfg: RunConfig) -> RunConfig:
    """The plain RunConfig part of a SearchConfig (a copy)."""
    return RunConfig(**{f.name: copy.deepcopy(getattr(cfg, f.name))
                        for f in dataclasses.fields(RunConfig)})


def open_study(path: Path, s: SearchSettings, dims: Sequence[space.Dimension], stamp: dict,
               start: dict[str, Any]):
    """Optuna's study in ``path`` (SQLite): created with the 2024 mix queued first, or resumed.

    Raises:
        ConfigError: the folder holds a study of other settings.

    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{path}",
                                         engine_kwargs={"connect_args": {"timeout": 60}})
    if s.sampler == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(population_size=s.population, seed=s.seed)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(seed=s.seed, multivariate=True,
                                                 n_startup_trials=s.population)
    study = optuna.create_study(study_name="search", storage=storage, sampler=sampler,
                                directions=["minimize", "minimize"], load_if_exists=True)
    stored = study.user_attrs.get("fingerprint")
    if stored is None:
        study.set_user_attr("fingerprint", stamp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(["public cost (1e8 yuan)",
                                    "goal shortfall (share of villages)"])
        study.enqueue_trial({d.name: min(max(start[d.name], d.low), d.high) for d in dims})
        # and the most the bounds allow: where the goal is out of reach, the front still runs
        # up to the surest mix there is
        study.enqueue_trial({d.name: d.high for d in dims})
    elif stored != stamp:
        key = next(k for k in stamp if stored.get(k) != stamp[k])
        raise ConfigError(f"{path.parent} holds a search with other settings ({key} differs: "
                          f"{stored.get(key)} there, {stamp[key]} now); resume it with its own "
                          "settings or choose another hydra.run.dir")
    return study


def _suggest(trial, dims: Sequence[space.Dimension]) -> dict[str, Any]:
    point = {}
    for d in dims:
        if d.integer:
            point[d.name] = trial.suggest_int(d.name, int(math.ceil(d.low)), int(d.high),
                                              log=d.distribution == "loguniform")
        else:
            point[d.name] = trial.suggest_float(d.name, d.low, d.high,
                                                log=d.distribution == "loguniform")
    return point


def _tell(study, trial, result: Evaluation | str | tuple[dict, dict]) -> None:
    """Record a candidate's evaluation in its trial (attributes first, then the values).

    ``result`` is an Evaluation, a failed run's error line, or the (summary, mean cost by item)
    of an identical candidate evaluated before (the same seeds give the same runs).
    """
    from optuna.trial import TrialState

    if isinstance(result, str):
        trial.set_user_attr("error", result)
        study.tell(trial, state=TrialState.FAIL)
        return
    summary, items = result if isinstance(result, tuple) else (
        result.summary(), result.items.mean().to_dict())
    trial.set_user_attr("summary", summary)
    trial.set_user_attr("items", items)
    study.tell(trial, [summary["cost"] / 1e8, summary["shortfall"]])


def _key(dims: Sequence[space.Dimension], point: dict[str, Any]) -> tuple:
    return tuple(float(point[d.name]) for d in dims)


def finished_trials(study) -> int:
    """Candidates evaluated: complete, or failed in a run of the model (not stopped)."""
    from optuna.trial import TrialState

    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state == TrialState.COMPLETE or
               (t.state == TrialState.FAIL and "error" in t.user_attrs))


def requeue_stale(study, dims: Sequence[space.Dimension]) -> int:
    """Queue again, with their parameters, the trials a killed search left running.

    The old ones are closed as failed, without an error: they do not count as evaluated.
    """
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in stale:
        study.enqueue_trial({d.name: t.params[d.name] for d in dims if d.name in t.params},
                            skip_if_exists=False)
        study.tell(t.number, state=TrialState.FAIL)
    return len(stale)


def optimise(study, dims: Sequence[space.Dimension], evaluator: Evaluator,
             pairs: Sequence[tuple[int | None, int]], trials: int, batch: int,
             required: float, bar=None) -> None:
    """Ask, evaluate and tell candidates in batches until ``trials`` have been evaluated.

    A candidate identical to one evaluated before (NSGA-II can breed a parent again) is told
    that one's result without running it: with the same seeds the runs would be the same.
    """
    seen = {_key(dims, t.params): (t.user_attrs["summary"], t.user_attrs.get("items", {}))
            for t in study.get_trials(deepcopy=False) if "summary" in t.user_attrs}
    while (done := finished_trials(study)) < trials:
        asked = [study.ask() for _ in range(min(batch, trials - done))]
        points = [_suggest(t, dims) for t in asked]
        keys = [_key(dims, p) for p in points]
        new = list(dict.fromkeys(k for k in keys if k not in seen))
        results = evaluator.evaluate([points[keys.index(k)] for k in new], pairs)
        fresh = dict(zip(new, results, strict=True))
        for trial, key in zip(asked, keys, strict=True):
            result = seen.get(key, fresh.get(key))
            if isinstance(result, Evaluation):
                result = seen[key] = (result.summary(), result.items.mean().to_dict())
            _tell(study, trial, result)
        if bar is not None:
            bar.update(len(asked))
            best = cheapest_meeting(trials_table(study, dims), required)
            bar.set_postfix_str("none meets the goal yet" if best is None else
                                f"cheapest meeting it: {best['cost'] / 1e8:.2f}亿元")


def trials_table(study, dims: Sequence[space.Dimension]) -> pd.DataFrame:
    """One row per finished candidate: lever values, probability, cost and cost by item."""
    from optuna.trial import TrialState

    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        s = t.user_attrs.get("summary")
        if s is None:
            continue
        rows.append({"trial": t.number, **{d.name: t.params[d.name] for d in dims}, **s,
                     **{f"public_{k}": v for k, v in t.user_attrs.get("items", {}).items()}})
    return pd.DataFrame(rows)


def pareto_front(table: pd.DataFrame) -> pd.DataFrame:
    """The candidates no other beats on cost, probability and shortfall (cheapest first).

    A candidate is dropped when another costs no more, meets the goal at least as often and
    misses it by no more, and is better in one of them. The front holds the cheapest way to
    each probability and, where the probability does not move (all 0, say), to each shortfall.
    """
    if table.empty:
        return table
    c = table["cost"].to_numpy()
    p = table["probability"].to_numpy()
    f = table["shortfall"].to_numpy()
    keep = []
    for i in range(len(table)):
        no_worse = (c <= c[i]) & (p >= p[i]) & (f <= f[i])
        better = (c < c[i]) | (p > p[i]) | (f < f[i])
        if not (no_worse & better).any():
            keep.append(i)
    return table.iloc[keep].sort_values(["cost", "probability"], ascending=[True, False]) \
        .reset_index(drop=True)


def cheapest_meeting(table: pd.DataFrame, probability: float) -> pd.Series | None:
    """The cheapest candidate whose probability is at least ``probability`` (None: none)."""
    if table.empty:
        return None
    ok = table[table["probability"] >= probability - 1e-12]
    return None if ok.empty else ok.sort_values("cost").iloc[0]


def shortlist(table: pd.DataFrame, probability: float, n: int,
              levers: Sequence[str] = ()) -> tuple[pd.DataFrame, bool]:
    """The ``n`` cheapest candidates meeting the probability, or (none do) the ``n`` closest.

    A mix tried twice (NSGA-II breeds parents again) is listed once.
    """
    table = table.drop_duplicates(subset=list(levers)) if levers else table
    ok = table[table["probability"] >= probability - 1e-12]
    if not ok.empty:
        return ok.sort_values("cost").head(n), True
    closest = table.sort_values(["probability", "shortfall", "cost"],
                                ascending=[False, True, True])
    return closest.head(n), False


# ---------------------------------------------------------------------------------- robustness
def calibrated_names(cfg: RunConfig) -> set[str]:
    """Settings fixed by conf/model/calibrated.yaml (when the base is calibrated)."""
    if not cfg.calibrated:
        return set()
    path = CONF_DIR / "model" / "calibrated.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    doc.pop("calibrated", None)

    def flat(node: Any, prefix: str) -> list[str]:
        if isinstance(node, dict):
            return [k for key, v in node.items() for k in flat(v, f"{prefix}{key}.")]
        return [prefix[:-1]]
    return set(flat(doc, ""))


def robustness_dims(cfg: RunConfig, r: RobustnessSettings) -> tuple[space.Dimension, ...]:
    """The uncertainties drawn in the robustness step (never a lever)."""
    levers = {d.name for d in space.levers()}
    if r.names:
        dims = space.select(space.uncertainties(), r.names)
    else:
        dims = space.uncertainties()
        if r.uncertainties == "uncalibrated":
            fitted = calibrated_names(cfg)
            dims = tuple(d for d in dims if d.name not in fitted)
    return tuple(d for d in dims if d.name not in levers)


def draw_uncertainties(cfg: SearchConfig, evaluator: Evaluator, point: dict[str, Any]
                       ) -> tuple[pd.DataFrame, list[RunConfig], list[int]]:
    """Draws of the uncertainties with the recommended mix: (values, configs, seeds).

    With an ensemble each draw is a set of it (values: the set's columns); without, the
    declared uncertainties (:func:`robustness_dims`) are drawn from their ranges. A draw whose
    values the config refuses (a cross-field rule) is dropped.
    """
    s, r = cfg.search, cfg.search.robustness
    pairs = evaluation_pairs(s, evaluator.ensemble, "robustness", r.samples)
    if evaluator.ensemble is not None:
        values = evaluator.ensemble.sets.iloc[[i for i, _ in pairs]].reset_index(drop=True)
        cfgs = [space.apply(evaluator.configured(i), point) for i, _ in pairs]
        return values, cfgs, [x for _, x in pairs]
    dims = robustness_dims(cfg, r)
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(
        SEED_STREAMS["robustness"] + 99_998,)))
    raw = space.sample(dims, r.samples, rng)
    rows, cfgs, kept = [], [], []
    for row, (_, seed) in zip(raw, pairs, strict=True):
        values = space.point(dims, row)
        try:
            cfgs.append(space.apply(evaluator.base, {**values, **point}))
        except ConfigError:
            continue
        rows.append(values)
        kept.append(seed)
    return pd.DataFrame(rows, columns=[d.name for d in dims]), cfgs, kept


def run_draws(evaluator: Evaluator, cfgs: Sequence[RunConfig], run_seeds: Sequence[int]
              ) -> list[tuple[float, dict[str, float]] | None]:
    """Each draw's outcome (None where the run failed), in parallel."""
    from joblib import delayed

    chunks = [list(range(i, min(i + 8, len(cfgs)))) for i in range(0, len(cfgs), 8)]
    jobs = [delayed(_draws_task)([cfgs[k] for k in c], [run_seeds[k] for k in c],
                                 evaluator.goal, evaluator.first_year) for c in chunks]
    results = evaluator.parallel(jobs) if evaluator.parallel is not None else [
        job[0](*job[1], **job[2]) for job in jobs]
    evaluator.runs += len(cfgs)
    return [x for r in results for x in r]


def _draws_task(cfgs, run_seeds, goal, first_year):
    out = []
    for c, s in zip(cfgs, run_seeds, strict=True):
        r = _task([c], [s], goal, first_year)
        out.append(None if isinstance(r, str) else r[0])
    return out


def prim_box(x: pd.DataFrame, failed: np.ndarray, density: float, peel_alpha: float
             ) -> dict | None:
    """PRIM (EMA workbench) on the draws: the conditions under which the mix fails.

    The box kept is the one of the peeling trajectory with the largest coverage among those
    whose density (share of failures inside) is at least ``density`` and at least halfway from
    the failures' base rate to 1 (a box no denser than the draws as a whole says nothing); when
    none is, the densest. Returns None when there are fewer than 5 failures or 5 successes.
    """
    if failed.sum() < 5 or (~failed).sum() < 5:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        logging.getLogger("EMA").setLevel(logging.WARNING)
        x = x.astype(float)
        varying = [c for c in x.columns if x[c].nunique() > 1]
        alg = prim.Prim(x[varying], failed.astype(bool), peel_alpha=peel_alpha)
        box = alg.find_box()
        traj = box.peeling_trajectory
        need = max(density, (1.0 + failed.mean()) / 2)
        good = traj[traj["density"] >= need - 1e-12]
        i = int(good.sort_values(["coverage", "density"], ascending=False).index[0]
                if not good.empty else traj["density"].idxmax())
        stats, limits = box.inspect(i, style="data")[0]
    lims = box.box_lims[i]
    conditions = []
    for name in limits.index:
        qp = pd.to_numeric(limits.loc[name].iloc[2:], errors="coerce").dropna()
        conditions.append({"name": name, "low": float(lims.loc[0, name]),
                           "high": float(lims.loc[1, name]),
                           "range_low": float(x[name].min()), "range_high": float(x[name].max()),
                           "qp": float(qp.min()) if len(qp) else math.nan})
    conditions.sort(key=lambda c: (math.isnan(c["qp"]), c["qp"]))
    return {"coverage": float(stats["coverage"]), "density": float(stats["density"]),
            "mass": float(stats["mass"]), "box": i, "base_rate": float(failed.mean()),
            "density_required": need,
            "conditions": conditions}


def one_at_a_time(cfg: SearchConfig, evaluator: Evaluator, point: dict[str, Any], box: dict
                  ) -> list[dict]:
    """Each PRIM condition alone: the mix with that parameter inside the box, and outside it.

    Every other parameter keeps its base value (calibrated or prior); each side is run on the
    same ``robustness.oat_seeds`` seeds. A condition that matters fails more often inside.
    """
    r = cfg.search.robustness
    run_seeds = seeds(cfg.search.seed, "oat", r.oat_seeds)
    out = []
    for c in box["conditions"][:3]:
        inside = (c["low"] + c["high"]) / 2
        below = c["low"] - c["range_low"]
        above = c["range_high"] - c["high"]
        outside = (c["range_low"] + c["low"]) / 2 if below >= above else \
            (c["high"] + c["range_high"]) / 2
        rates = {}
        for side, value in (("inside", inside), ("outside", outside)):
            try:
                run_cfg = space.apply(evaluator.base, {c["name"]: value, **point})
            except ConfigError:
                rates[side] = (value, math.nan)
                continue
            results = run_draws(evaluator, [run_cfg] * len(run_seeds), run_seeds)
            ok = [x for x in results if x is not None]
            reached = np.array([x[0] for x in ok])
            rate = float(1 - evaluator.goal.met(reached).mean()) if ok else math.nan
            rates[side] = (value, rate)
        out.append({"name": c["name"], "inside_value": rates["inside"][0],
                    "inside_failure": rates["inside"][1],
                    "outside_value": rates["outside"][0],
                    "outside_failure": rates["outside"][1], "seeds": len(run_seeds)})
    return out


# ---------------------------------------------------------------------------------- outputs
def scenario_text(name: str, values: dict[str, Any], header: Sequence[str]) -> str:
    """A scenario file (conf/scenario/NAME.yaml) setting ``values`` (dotted names)."""
    tree: dict = {}
    for dotted, value in sorted(values.items()):
        *parents, leaf = dotted.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value.item() if hasattr(value, "item") else value
    body = yaml.safe_dump({"scenario": name, **tree}, sort_keys=False, allow_unicode=True)
    return "# @package _global_\n" + "".join(f"# {h}\n" for h in header) + body


def cost_range(items: dict[str, float]) -> dict[str, float]:
    """Total cost (yuan) at the central, low and high unit costs of data/lever_costs.csv.

    Costs are linear in the unit costs, so the bill at other unit costs is each priced item
    rescaled; money items stay at face value.
    """
    from zq_sim.costs import unit_costs

    table = data.load_lever_costs()
    central = unit_costs(table)
    out = {}
    for which in ("value", "low", "high"):
        unit = unit_costs(table, which)
        out[which] = float(sum(v * (unit[k] / central[k] if k in central and central[k] else 1.0)
                               for k, v in items.items()))
    return out


def _write(path: Path, text: str) -> None:
    from zq_sim.run import _atomic

    _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def lever_value(d: space.Dimension, value: Any) -> Any:
    """A lever's value as its setting takes it (ints as int)."""
    return int(round(float(value))) if d.integer else float(value)


# ---------------------------------------------------------------------------------- the search
def search(cfg: SearchConfig, out_dir: Path, echo: Callable[[str], None] | None = print, *,
           fixed: dict[str, Any] | None = None, ensemble=None) -> dict:
    """Search, choose, check and report; write every output into ``out_dir``.

    Args:
        cfg: the search's configuration (its run part is the base every candidate changes).
        out_dir: the run folder (created; a finished search there is refused, an unfinished
            one with the same settings is resumed).
        echo: where progress lines go (None: nowhere).
        fixed: settings the command line gave for the base (policy.*, model.*): written into
            recommended.yaml so that the scenario reproduces the base.
        ensemble: a parameter ensemble to use instead of ``zq_sim.ensemble``'s (tests).

    Returns:
        recommended.json's content.

    """
    from joblib import Parallel
    from tqdm import tqdm

    from zq_sim import folder, search_report

    say = echo or (lambda _: None)
    dims = check_settings(cfg)
    s = cfg.search
    goal = Goal(s.goal.year, s.goal.threshold, s.goal.share)
    base = run_config(cfg)
    base.years.end = goal.year
    base.output.counterfactual = False
    base.output.progress = False
    base.output.villages = goal.needs_panel
    validate(base)
    data.load_villages(include_residents=base.population.include_residents_committees)
    ens = resolve_ensemble(s, ensemble)
    out_dir = Path(out_dir)
    if (out_dir / FINISHED).is_file():
        raise OutputsExist(f"{out_dir} holds a finished search ({FINISHED}); outputs are never "
                           "overwritten: choose another hydra.run.dir")
    start = space.current(base, dims)
    stamp = fingerprint(cfg, dims, ens)
    pairs = evaluation_pairs(s, ens, "search", s.replicates)
    with folder.locked(out_dir), Parallel(n_jobs=s.jobs, backend="loky") as parallel:
        study = open_study(out_dir / STUDY, s, dims, stamp, start)
        evaluator = Evaluator(base, goal, None if s.jobs == 1 else parallel, ens)
        say(f"zq_sim.search: {len(dims)} levers, goal: {goal.text()}; {len(pairs)} evaluations "
            f"per candidate ({'replicates only' if ens is None else 'seeds over ensemble sets'})"
            f"; trials in {out_dir / STUDY}")
        stale = requeue_stale(study, dims)
        done = finished_trials(study)
        if done or stale:
            say(f"resuming: {done} candidates already evaluated, {stale} interrupted ones "
                "queued again")
        bar = tqdm(total=max(s.trials, done), initial=done, desc="search: candidate mixes",
                   unit="mix", disable=not cfg.output.progress or echo is None, leave=False)
        optimise(study, dims, evaluator, pairs, s.trials, s.population, s.probability, bar)
        bar.close()
        table = trials_table(study, dims)
        if table.empty:
            raise ConfigError("no candidate could be evaluated: every run failed (see "
                              f"trials in {out_dir / STUDY})")
        front = pareto_front(table)
        optimal = {t.number for t in study.best_trials}
        front["optuna_front"] = front["trial"].isin(optimal)
        table["on_front"] = table["trial"].isin(front["trial"])

        listed, meeting = shortlist(table, s.probability, s.confirm, [d.name for d in dims])
        say(f"confirming {len(listed)} candidate(s) on {s.confirm_replicates} fresh "
            f"evaluations each")
        confirm_pairs = evaluation_pairs(s, ens, "confirm", s.confirm_replicates)
        confirmed = []
        points = [{d.name: lever_value(d, row[d.name]) for d in dims}
                  for _, row in listed.iterrows()]
        for (_, row), point, ev in zip(listed.iterrows(), points,
                                       evaluator.evaluate(points, confirm_pairs), strict=True):
            if isinstance(ev, str):
                continue
            confirmed.append({"trial": int(row["trial"]), "point": point, "search": row,
                              "eval": ev, "summary": ev.summary()})
        if not confirmed:
            raise ConfigError("every confirmation run failed; see the trials in "
                              f"{out_dir / STUDY}")
        passing = [c for c in confirmed if c["summary"]["probability"] >= s.probability - 1e-12]
        chosen = (min(passing, key=lambda c: c["summary"]["cost"]) if passing else
                  max(confirmed, key=lambda c: (c["summary"]["probability"],
                                                -c["summary"]["shortfall"],
                                                -c["summary"]["cost"])))
        meets = bool(passing)
        point = chosen["point"]
        baseline_row = table[table["trial"] == 0]

        robust = robustness(cfg, evaluator, point, say)
        holdout = held_out(cfg, evaluator, point, say)

    items = chosen["eval"].items.mean().to_dict()
    used = {"search": pairs, "confirm": confirm_pairs}
    search_seeds = sorted({x for p in used.values() for _, x in p}
                          | set(robust.get("seeds", [])) | set(robust.get("oat_seeds", [])))
    result = {
        "scenario": s.name,
        "meets_goal": meets,
        "goal": {**dataclasses.asdict(s.goal), "required_probability": s.probability,
                 "text": goal.text(), "text_zh": goal.text("zh"),
                 "cost_years": [base.years.policy_start, goal.year]},
        "levers": point,
        "fixed": dict(fixed or {}),
        "claim": {**chosen["summary"], "cost_unit_range": cost_range(items),
                  "cost_by_item": items, "stage": "confirmation (fresh seeds)"},
        "search_estimate": {k: _plain(chosen["search"][k]) for k in (
            "probability", "probability_lo", "probability_hi", "evaluations", "cost",
            "cost_p05", "cost_p95", "shortfall")},
        "trial": chosen["trial"],
        "baseline_2024_mix": (None if baseline_row.empty else {k: _plain(baseline_row.iloc[0][k])
                              for k in ("probability", "cost", "shortfall", "evaluations")}),
        "confirmed": [{"trial": c["trial"], **c["summary"]} for c in confirmed],
        "uncertainty": "replicates" if ens is None else "ensemble",
        "parameter_sets": None if ens is None else sorted({i for i, _ in pairs}),
        "seeds": {"root": s.seed, "search": [x for _, x in pairs],
                  "confirm": [x for _, x in confirm_pairs],
                  "robustness": robust.get("seeds", []), "oat": robust.get("oat_seeds", []),
                  "holdout_root": cfg.seed, "holdout": holdout.get("seeds", []),
                  "holdout_disjoint": not (set(holdout.get("seeds", [])) & set(search_seeds))},
        "trials": int(len(table)), "runs": evaluator.runs,
        "robustness": {k: v for k, v in robust.items() if k not in ("seeds", "oat_seeds",
                                                                     "draws")},
        "holdout": {k: v for k, v in holdout.items() if k != "seeds"},
        "date": date.today().isoformat(),
    }
    header = scenario_header(result, out_dir)
    _write(out_dir / "recommended.yaml", scenario_text(s.name, {**(fixed or {}), **point},
                                                       header))
    _write(out_dir / "trials.csv", table.to_csv(index=False))
    _write(out_dir / "pareto.csv", front.to_csv(index=False))
    if "draws" in robust:
        _write(out_dir / "robustness.csv", robust["draws"].to_csv(index=False))
    search_report.write(out_dir, result, table, front, dims, robust, lang=s.lang, dpi=s.dpi)
    from zq_sim.run import jsonable
    _write(out_dir / FINISHED, json.dumps(jsonable(result), ensure_ascii=False, indent=2))
    say(summary_line(result, out_dir))
    return result


def robustness(cfg: SearchConfig, evaluator: Evaluator, point: dict[str, Any],
               say: Callable[[str], None]) -> dict:
    """Run the mix over the draws of the uncertainties, PRIM, then the one-at-a-time check."""
    r = cfg.search.robustness
    if r.samples == 0:
        return {"skipped": "robustness.samples = 0"}
    values, cfgs, run_seeds = draw_uncertainties(cfg, evaluator, point)
    say(f"robustness: the mix over {len(cfgs)} draws of {values.shape[1]} uncertainties")
    outcomes = run_draws(evaluator, cfgs, run_seeds)
    ran = np.array([o is not None for o in outcomes])
    reached = np.array([o[0] if o is not None else np.nan for o in outcomes])
    failed = ~evaluator.goal.met(np.nan_to_num(reached, nan=-1.0))
    draws = pd.concat([values.reset_index(drop=True), pd.DataFrame(
        {"seed": run_seeds, "ran": ran, "reached": reached, "failed": failed & ran})], axis=1)
    box = prim_box(values[ran], failed[ran], r.density, r.peel_alpha)
    out = {"draws": draws, "seeds": list(run_seeds), "samples": int(ran.sum()),
           "not_run": int((~ran).sum()), "failure_rate": float(failed[ran].mean())
           if ran.any() else math.nan, "space": "ensemble" if evaluator.ensemble is not None
           else (f"names: {', '.join(r.names)}" if r.names else r.uncertainties),
           "dimensions": int(values.shape[1]), "box": box}
    if box is not None and r.oat_seeds:
        out["oat"] = one_at_a_time(cfg, evaluator, point, box)
        out["oat_seeds"] = seeds(cfg.search.seed, "oat", r.oat_seeds)
    return out


def held_out(cfg: SearchConfig, evaluator: Evaluator, point: dict[str, Any],
             say: Callable[[str], None]) -> dict:
    """The mix on the run seeds of ``python -m zq_sim`` (root ``seed``), calibrated parameters."""
    from zq_sim.run import replicate_seeds

    n = cfg.search.holdout_replicates
    if n == 0:
        return {"skipped": "holdout_replicates = 0"}
    run_seeds = replicate_seeds(cfg.seed, n)
    say(f"held-out check: the mix on {n} run seeds of root seed {cfg.seed}")
    outcomes = run_draws(evaluator, [space.apply(evaluator.base, point)] * n, run_seeds)
    ok = [o for o in outcomes if o is not None]
    if not ok:
        return {"seeds": run_seeds, "failed_runs": n}
    ev = Evaluation(np.array([o[0] for o in ok]), pd.DataFrame([o[1] for o in ok]),
                    evaluator.goal)
    return {"seeds": run_seeds, "root": cfg.seed, **ev.summary(), "failed_runs": n - len(ok)}


def scenario_header(result: dict, out_dir: Path) -> list[str]:
    """The header of recommended.yaml: what it is, what it claims, how to run it."""
    c, g = result["claim"], result["goal"]
    verdict = ("the cheapest mix found that met the goal" if result["meets_goal"] else
               "NOT a mix that meets the goal: the closest found (no mix within the bounds met "
               f"it with probability {g['required_probability']:.0%})")
    lines = [f"{result['scenario']}: {verdict}, by `python -m zq_sim.search` on "
             f"{result['date']} ({out_dir}).",
             f"Goal: {g['text']}; required probability {g['required_probability']:.0%}.",
             f"Claim (on {c['evaluations']} fresh evaluations): probability {c['probability']:.0%}"
             f" (90% interval {c['probability_lo']:.0%}-{c['probability_hi']:.0%}); public "
             f"cost {c['cost'] / 1e8:.2f}亿元 over {g['cost_years'][0]}-{g['cost_years'][1]} "
             f"({c['cost_unit_range']['low'] / 1e8:.2f}-"
             f"{c['cost_unit_range']['high'] / 1e8:.2f}亿 at the low and high unit costs).",
             "Levers not listed keep their 2024 values. To run it:",
             f"  cp {out_dir / 'recommended.yaml'} conf/scenario/{result['scenario']}.yaml",
             f"  python -m zq_sim +scenario={result['scenario']} years.end={g['year']}"]
    return lines


def summary_line(result: dict, out_dir: Path) -> str:
    """What the search found, in a few lines."""
    c, g = result["claim"], result["goal"]
    head = ("recommended" if result["meets_goal"] else
            f"no mix met the goal with probability {g['required_probability']:.0%}; closest")
    levers = ", ".join(f"{k.split('.')[-1]}={v:.3g}" for k, v in result["levers"].items())
    return (f"{head}: {levers}\n  probability {c['probability']:.0%} "
            f"[{c['probability_lo']:.0%}, {c['probability_hi']:.0%}], cost "
            f"{c['cost'] / 1e8:.2f}亿元 ({g['cost_years'][0]}-{g['cost_years'][1]})\n"
            f"outputs: {out_dir} (report.md, pareto.csv, recommended.yaml)")


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


# ---------------------------------------------------------------------------------- command line
def check_command_line(args: list[str]) -> list[str]:
    """Every problem of the command line's settings, one line each (empty: none).

    Search settings are checked against :class:`SearchSettings` (an unknown key is named with
    the allowed ones of its section); run settings as ``python -m zq_sim`` checks them.
    """
    from zq_sim import overrides

    if any(a.startswith("-") for a in args):
        return []  # Hydra's own flags (--help, --cfg ...)
    try:
        parsed = overrides.parse(args)
    except ConfigError as exc:
        return [str(exc)]
    known = set(settings_keys())
    errors = []
    for o in parsed:
        key = o.key_or_group
        if key == "search" or key.startswith("search."):
            if key not in known:
                section = key.rpartition(".")[0]
                allowed = sorted(k for k in known if k.rpartition(".")[0] == section) or \
                    sorted(known)
                errors.append(f"{key}: unknown setting; allowed: {', '.join(allowed)}")
            elif o.is_add() or o.is_delete():
                errors.append(f"{o.input_line}: {key} is a setting: write {key}=VALUE")
        elif key in ("scenario", "experiment"):
            errors.append(f"{o.input_line}: the search starts from the 2024 mix (baseline); "
                          "hold a lever with policy.<group>.<lever>=VALUE instead")
        else:
            line = overrides.check_key(o)
            if line:
                errors.append(line)
    if errors:
        return errors
    return _compose_check(args)


def _compose_check(args: list[str]) -> list[str]:
    from hydra import compose, initialize_config_dir

    from zq_sim import overrides

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        try:
            composed = compose(config_name="search", overrides=args, return_hydra_config=True)
            task = compose(config_name="search", overrides=[
                a for a in args if not a.lstrip("+~").startswith("hydra")])
            typed = OmegaConf.to_object(task)
            check_settings(typed)
            resolve_ensemble(typed.search)
        except Exception as exc:  # noqa: BLE001 - Hydra, OmegaConf and ours raise many kinds
            return [overrides.describe(exc)]
        out = Path(str(OmegaConf.select(composed, "hydra.run.dir")))
    if (out / FINISHED).is_file():
        return [f"{out} holds a finished search ({FINISHED}); outputs are never overwritten: "
                "choose another hydra.run.dir"]
    return [p for p in [overrides._writable(out)] if p]  # noqa: SLF001


def fixed_settings(cfg: RunConfig, task_overrides: Sequence[str]) -> dict[str, Any]:
    """The policy.* and model.* settings the command line set, with their typed values."""
    out = {}
    for line in task_overrides:
        key = line.lstrip("+~").split("=", 1)[0]
        if key.startswith(("policy.", "model.")):
            node: Any = cfg
            for part in key.split("."):
                node = getattr(node, part)
            out[key] = node
    return out


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="search")
def app(cfg: DictConfig) -> None:
    """Hydra entry point: the search into Hydra's run folder."""
    from zq_sim.data import DataError

    try:
        typed: SearchConfig = OmegaConf.to_object(cfg)
        out = Path(HydraConfig.get().runtime.output_dir)
        search(typed, out, fixed=fixed_settings(typed, HydraConfig.get().overrides.task))
    except (ConfigError, DataError) as exc:
        print(f"zq_sim.search: error: {exc}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Entry point: check the command line in one line per problem, then hand over to Hydra."""
    from zq_sim.overrides import refuse

    refuse("zq_sim.search", check_command_line(sys.argv[1:]))
    app()


if __name__ == "__main__":
    main()

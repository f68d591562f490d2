"""A parameter ensemble consistent with the 2024 targets (``python -m zq_sim.ensemble``).

Settings in ``conf/ensemble.yaml``. Three steps (docs/ODD.md, "Uncertainty"):

1. the replicate noise of each 2024 statistic at the point fit (a target's relative error,
   data/targets.yaml; the floor's relative shortfall below 150k), which with 5% sets its scale;
2. a Morris screening (SALib) that sorts the declared parameters (data/priors.csv) into those
   the calibration fits, those the 2024 figures cannot see (drawn from their declared ranges in
   every set) and those held at their priors, as the point fit holds them;
3. the sets: by default (``method=mcmc``, the committed ensemble) a sample of the fitted
   parameters' posterior under a Gaussian error model, by emcee's ensemble MCMC
   (:class:`LogPosterior`), carrying on the first chain (experiments/calibration/ensemble_mcmc/);
   ``method=calibration`` draws candidates from the fit's sampling distribution and keeps those
   that meet the targets (a frequentist ensemble: experiments/calibration/ensemble_calibration/);
   ``method=abc-smc`` runs pyabc's ABC-SMC (its importance weights collapse in 17 dimensions).

Outputs, in ``experiments/calibration/ensemble/`` (or the Hydra folder with ``quick=true``):
``ensemble.csv`` (one row per set, with its weight), ``ensemble.json`` (settings, classes,
noise, the sampler's diagnostics, the held-out check), ``screening.csv``, ``validation.csv``,
``marginals.csv``, ``trace.csv`` (MCMC) and ``report.md`` with its figures.

Runs use it with ``uncertainty=parameters`` (run.py): each group of replicates takes one set,
drawn by weight; :meth:`Ensemble.configure` applies it to a run's configuration.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import multiprocessing
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
import yaml
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from scipy import special

from zq_sim import data, space
from zq_sim.config import ConfigError, RunConfig, validate
from zq_sim.paths import CONF_DIR, ROOT

#: Where the committed ensemble lives.
DEFAULT_DIR = ROOT / "experiments" / "calibration" / "ensemble"
#: The calibrated point (its policy values are applied only where a run keeps them).
CALIBRATED = CONF_DIR / "model" / "calibrated.yaml"


# ------------------------------------------------------------------------------------- loading
def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    else:
        out[prefix[:-1]] = node
    return out


def calibrated_point() -> dict[str, Any]:
    """The settings conf/model/calibrated.yaml fixes, by dotted name."""
    with open(CALIBRATED, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    doc.pop("calibrated", None)
    return _flatten(doc)


class Ensemble:
    """Parameter sets consistent with the 2024 targets, each with a weight (they sum to 1)."""

    def __init__(self, sets: pd.DataFrame, meta: dict | None = None) -> None:
        if "weight" not in sets:
            sets = sets.assign(weight=1.0 / len(sets))
        self.weights = sets["weight"].to_numpy(dtype=float)
        self.weights = self.weights / self.weights.sum()
        self.sets = sets.drop(columns=["weight"]).reset_index(drop=True)
        self.meta = meta or {}
        self._policy_point = {k: v for k, v in calibrated_point().items()
                              if k.startswith("policy.")}

    def __len__(self) -> int:
        return len(self.sets)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of ``n`` sets drawn by weight (with replacement), from ``rng`` only."""
        return rng.choice(len(self), size=n, replace=True, p=self.weights)

    def point(self, i: int) -> dict[str, Any]:
        """Set ``i`` as {dotted setting: value}."""
        return self.sets.iloc[int(i)].to_dict()

    def configure(self, cfg: RunConfig, i: int) -> RunConfig:
        """``cfg`` with set ``i`` applied.

        Every ``model.*`` value is applied. A ``policy.*`` value (the 2024 platform coverage,
        the support rule) is applied only where ``cfg`` keeps the calibrated value: a scenario or
        an override that sets the lever keeps its own choice.
        """
        values = {}
        for name, value in self.point(i).items():
            if name.startswith("policy."):
                calibrated = self._policy_point.get(name)
                held = space.value(cfg, name)
                if calibrated is None or not math.isclose(float(held), float(calibrated),
                                                          rel_tol=1e-6):
                    continue
            values[name] = value
        return space.apply(cfg, values)


def exists(path: Path | str | None = None) -> bool:
    """Whether an ensemble has been built (``ensemble.csv`` in ``path`` or the default folder)."""
    return (Path(path or DEFAULT_DIR) / "ensemble.csv").is_file()


def load(path: Path | str | None = None) -> Ensemble:
    """The ensemble in ``path`` (default experiments/calibration/ensemble/).

    Raises:
        ConfigError: no ensemble there, or one that names an unknown setting.

    """
    folder = Path(path or DEFAULT_DIR)
    csv = folder / "ensemble.csv"
    if not csv.is_file():
        raise ConfigError(f"no parameter ensemble at {csv}: build it with `python -m "
                          "zq_sim.ensemble`, or run with uncertainty=replicates")
    sets = pd.read_csv(csv).drop(columns=["set"], errors="ignore")
    meta_path = folder / "ensemble.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    unknown = [c for c in sets.columns if c != "weight" and not _is_setting(c)]
    if unknown:
        raise ConfigError(f"{csv}: columns {unknown} are not settings of zq_sim")
    return Ensemble(sets, meta)


def _is_setting(name: str) -> bool:
    try:
        space.value(RunConfig(), name)
    except AttributeError:
        return False
    return True


# ------------------------------------------------------------------------------------ settings
@dataclass
class EnsembleSettings:
    """How the ensemble is built."""

    method: str = "mcmc"            # "mcmc" (the posterior under a Gaussian error model, by
    #                                 emcee; the committed ensemble), "calibration" (the fit's
    #                                 sampling distribution, filtered by the targets) or
    #                                 "abc-smc" (pyabc; its weights collapse in 17 dimensions)
    seed: int = 4242                # root of the sampler's and the simulations' randomness
    population: int = 150           # particles per generation (the ensemble's size)
    generations: int = 40           # at most this many generations
    max_simulations: int = 12_000   # stop when the model has run this often
    noise_seeds: int = 30           # seeds on which the replicate noise is measured
    min_acceptance: float = 0.03    # stop when fewer than this share of proposals is accepted
    kernel_scaling: float = 1.0     # the proposal's covariance over the population's
    acceptance_rate: float = 0.3    # a temperature keeps at least this acceptance rate
    relative_ess: float = 0.5       # and at least this share of effective sets when reweighting
    jobs: int = -1                  # processes (-1: one per core)
    validation_seed: int = 20240101  # held-out seeds for the check (the run seed's family)
    screen_trajectories: int = 6    # Morris trajectories of the screening (SALib)
    weak_threshold: float = 1.5     # a parameter whose Morris mu* stays below this (in units of
    #                                 replicate noise or 5%, whichever is larger) on every 2024
    #                                 statistic is drawn from its declared range in each run
    tolerance: float = 0.05         # the error model's sd of a relative error is at least this
    extra_free: list[str] = field(default_factory=list)  # more parameters for the sampler
    from_db: str = ""               # finish a stopped abc-smc build from its kept database
    walkers: int = 40               # method=mcmc: emcee's walkers (at least twice the fitted
    #                                 parameters, and even)
    steps: int = 2000               # method=mcmc: steps of every walker
    burn: int = 600                 # method=mcmc: first steps dropped (the walkers must forget
    #                                 where they started)
    thin: int = 0                   # method=mcmc: keep every thin-th step after the burn-in
    #                                 (0: the longest autocorrelation time, so that the sets are
    #                                 about as many as the independent ones)
    crn_seeds: int = 2              # method=mcmc: each point's statistics are the mean over these
    #                                 many seeds, the same at every point (common random numbers)
    start_from: str = "experiments/calibration/ensemble_mcmc"  # method=mcmc: start the
    #                                 walkers from the last sets of an earlier MCMC ensemble's
    #                                 folder, carrying its chain on (the default: the first
    #                                 chain, kept as the start of the committed ensemble; "":
    #                                 start around the fit, over-dispersed)
    candidates: int = 600           # method=calibration: candidate sets drawn and run
    accept_rms: float = 1.2         # method=calibration: a set is kept when the root mean square
    #                                 of its scaled 2024 errors on one replicate is at most this
    floor_required: bool = True     # every village above 150k in 2024 is a fact, not a
    #                                 figure matched to 5%: method=calibration keeps a set only
    #                                 if its replicate holds it; method=mcmc gives a point whose
    #                                 runs on the fixed seeds leave any village below 150k no
    #                                 posterior (log posterior -inf)
    calibration_report: str = ""    # the fit's calibration.json ("" = experiments/calibration)
    quick: bool = False             # a smoke run of seconds into the Hydra folder
    out: str = ""                   # output folder ("" = experiments/calibration/ensemble)
    overwrite: bool = False         # replace an existing ensemble in the output folder


@dataclass
class EnsembleConfig(RunConfig):
    """A run configuration plus the ensemble's settings."""

    ensemble: EnsembleSettings = field(default_factory=EnsembleSettings)


ConfigStore.instance().store(name="ensemble_schema", node=EnsembleConfig)


# --------------------------------------------------------------------------------- the problem
def dimensions(calibrate_yaml: Path = CONF_DIR / "calibrate.yaml") -> tuple[space.Dimension, ...]:
    """Every declared uncertainty, and the calibration's parameters that priors.csv lacks."""
    dims = list(space.uncertainties())
    have = {d.name for d in dims}
    lever_units = {d.name: d.unit for d in space.levers()}
    params = OmegaConf.to_container(OmegaConf.load(calibrate_yaml))["calibration"]["parameters"]
    for name, p in params.items():
        if name not in have:
            default = space.value(RunConfig(), name)
            dims.append(space.Dimension(name, float(p["low"]), float(p["high"]), "uniform",
                                        float(default), lever_units.get(name, ""),
                                        str(p.get("why", "")), False, "uncertainty"))
    return tuple(dims)


def fitted_parameters(calibrate_yaml: Path = CONF_DIR / "calibrate.yaml") -> list[str]:
    """The calibration's free parameters and the support rule it fits after them."""
    params = OmegaConf.to_container(OmegaConf.load(calibrate_yaml))["calibration"]["parameters"]
    return [*params, "policy.support.threshold", "policy.support.gap_share"]


def _run_config(cfg: RunConfig) -> RunConfig:
    """A plain RunConfig copy of ``cfg`` (an app's config carries its own settings besides)."""
    return copy.deepcopy(RunConfig(**{f.name: getattr(cfg, f.name)
                                      for f in dataclasses.fields(RunConfig)}))


def _key(i: int) -> str:
    return f"p{i:03d}"


def _to_unit(z: np.ndarray) -> np.ndarray:
    """The probit scale to the unit cube (the standard normal's distribution function)."""
    return special.ndtr(np.asarray(z, dtype=float))


def _from_unit(u: np.ndarray) -> np.ndarray:
    """The unit cube to the probit scale."""
    return special.ndtri(np.clip(np.asarray(u, dtype=float), 1e-9, 1 - 1e-9))


def _sds(frame: pd.DataFrame) -> dict[str, float]:
    """Each column's sample sd."""
    return {n: float(frame[n].std(ddof=1)) for n in frame.columns}


class Simulator:
    """One 2024 run at a parameter set, returning the targets' relative errors and the floor's.

    Parameters are on the probit scale (``z``, standard normal under the prior, so that
    ``ndtr(z)`` is uniform on the unit cube of the declared ranges): the sampler's Gaussian moves
    never leave the ranges, and the prior's tails are as light as the moves' (a heavier-tailed
    scale such as the logistic left a handful of particles with all the weight).
    The ``free`` dimensions are those the sampler moves (the ones the 2024 figures can speak
    of, found by :func:`screen`); the others are nuisance parameters, drawn from their prior in
    each simulation from a generator seeded by the free values, so that every kept set is a
    whole parameter set (free and nuisance values) that can be rebuilt exactly.
    """

    def __init__(self, base: RunConfig, dims: Sequence[space.Dimension], targets: dict,
                 salt: int, free: Sequence[int] | None = None,
                 drawn: Sequence[int] = (), tolerance: float = 0.05) -> None:
        self.base = _run_config(base)
        self.base.years.end = self.base.years.calibration
        self.base.output.villages = False
        self.base.output.progress = False
        self.base.output.counterfactual = True
        self.dims = tuple(dims)
        self.free = list(range(len(dims)) if free is None else free)
        self.drawn = list(drawn)
        self.tolerance = float(tolerance)
        self.targets = {k: v for k, v in targets.items() if v["kind"] != "floor"}
        self.floor = next((float(v["value"]) for v in targets.values() if v["kind"] == "floor"),
                          None)
        self.salt = int(salt)
        self.scale: dict[str, float] = {}
        self.sd: dict[str, float] = {}

    @property
    def statistics(self) -> list[str]:
        """The names of the summary statistics."""
        return list(self.targets) + (["floor"] if self.floor is not None else [])

    def noise(self, seeds: Sequence[int]) -> dict[str, float]:
        """Each statistic's replicate sd at the base config.

        The error model's sd (the scale) is the larger of it and ``tolerance`` (5%: the
        calibration's criterion of a target met).
        """
        noise = _sds(pd.DataFrame([self.stats(None, seed) for seed in seeds]))
        self.scale = {n: max(v, self.tolerance) for n, v in noise.items()}
        self.sd = noise
        return noise

    def noise_drawn(self, seeds: Sequence[int], nuisance: np.ndarray,
                    jobs: int = 1) -> dict[str, float]:
        """Each statistic's sd at the point fit with the drawn parameters drawn too.

        Seed ``i`` runs with the drawn parameters of ``nuisance[i]``: the sd is replicate noise
        and the drawn parameters' joint effect together. Without drawn parameters it is
        :meth:`noise`'s (kept from its call on the same seeds).
        """
        if not self.drawn:
            return dict(self.sd)
        return _sds(self.runs_with(seeds, nuisance, jobs))

    def runs_with(self, seeds: Sequence[int], nuisance: np.ndarray,
                  jobs: int = 1) -> pd.DataFrame:
        """The statistics of seed ``i`` run at ``nuisance[i]`` (NaN: the base value), a row each."""
        from joblib import Parallel, delayed
        return pd.DataFrame(Parallel(n_jobs=jobs)(
            delayed(self.stats)(z, seed) for seed, z in zip(seeds, nuisance, strict=True)))

    def _streams(self, theta: np.ndarray) -> list[np.random.SeedSequence]:
        digest = hashlib.blake2b(np.asarray(theta, dtype=np.float64).tobytes()
                                 + self.salt.to_bytes(8, "little", signed=True), digest_size=16)
        return np.random.SeedSequence(int.from_bytes(digest.digest(), "little")).spawn(2)

    def full(self, theta: np.ndarray) -> tuple[np.ndarray, int]:
        """The parameter vector (probit scale; NaN where held) and the model seed."""
        nuisance, run = self._streams(theta)
        draws = np.random.default_rng(nuisance).standard_normal(len(self.dims))
        z = np.full(len(self.dims), np.nan)
        z[self.drawn] = draws[self.drawn]
        z[self.free] = theta
        return z, int(run.generate_state(1, np.uint64)[0] >> np.uint64(1))

    def values(self, z: np.ndarray) -> dict[str, Any]:
        """The settings at a point of the probit scale (NaN: keep the base config's value)."""
        z = np.asarray(z, dtype=float)
        keep = np.flatnonzero(np.isfinite(z))
        dims = [self.dims[i] for i in keep]
        return space.point(dims, space.from_unit(dims, _to_unit(z[keep]))[0])

    def stats(self, z: np.ndarray | None, seed: int) -> dict[str, float]:
        """Relative error of every target and the floor's relative shortfall (0 when held).

        ``z`` gives every dimension (None: the base config unchanged).
        """
        from zq_sim.run import run_replicate, target_values
        cfg = self.base if z is None else space.apply(self.base, self.values(z))
        ts, _ = run_replicate(cfg, seed)
        got = target_values(ts, cfg.years.calibration)
        out = {}
        for name, t in self.targets.items():
            value = float(t["value"])
            err = (got[name] - value) / abs(value)
            out[name] = float(err) if math.isfinite(err) else 10.0
        if self.floor is not None:
            low = float(ts.loc[ts["year"] == cfg.years.calibration, "min_total_income"].iloc[0])
            out["floor"] = max(0.0, (self.floor - low) / self.floor)
        return out

    def standardise(self, stats: dict[str, float]) -> dict[str, float]:
        """Each error over its scale (the larger of replicate noise and ``tolerance``)."""
        return {n: v / self.scale[n] for n, v in stats.items()}

    def __call__(self, pars: dict) -> dict:
        """The model for pyabc: free parameters {p000: z, ...} -> standardised statistics."""
        theta = np.array([pars[_key(i)] for i in range(len(self.free))], dtype=float)
        z, seed = self.full(theta)
        return self.standardise(self.stats(z, seed))


def screen(sim: Simulator, trajectories: int, seed: int, jobs: int,
           echo: Callable[[str], None] = print) -> pd.DataFrame:
    """Morris elementary effects (SALib) of every dimension on the standardised statistics.

    One seed for every point (common random numbers). Returns, per dimension, mu* on each
    statistic in units of its replicate noise, and ``score``: the largest of them.
    """
    from joblib import Parallel, delayed
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    problem = space.salib_problem(sim.dims)
    u = morris_sample.sample(problem, trajectories, num_levels=4, seed=seed)
    z = _from_unit(u)
    echo(f"zq_sim.ensemble: screening {len(sim.dims)} parameters with Morris ({len(u)} runs)")
    rows = Parallel(n_jobs=jobs)(delayed(sim.stats)(z[i], seed) for i in range(len(u)))
    frame = pd.DataFrame(rows)
    table = pd.DataFrame({"parameter": [d.name for d in sim.dims]})
    for name in frame.columns:
        y = frame[name].to_numpy(dtype=float) / sim.scale[name]
        res = morris_analyze.analyze(problem, u, y, num_levels=4, print_to_console=False)
        table[name] = np.asarray(res["mu_star"], dtype=float)
    table["score"] = table[list(frame.columns)].max(axis=1)
    table["moves_most"] = table[list(frame.columns)].idxmax(axis=1)
    return table.sort_values("score", ascending=False).reset_index(drop=True)


def _sampler(jobs: int, seed: int):
    """A pyabc MappingSampler whose tasks are seeded from ``seed`` (reproducible in parallel)."""
    from zq_sim.abc_sampler import SeededSampler

    if jobs == 1:
        return SeededSampler(map, seed), None
    # spawned workers: the screening's threads (joblib) make fork unsafe
    pool = multiprocessing.get_context("spawn").Pool(jobs)
    return SeededSampler(functools.partial(pool.map, chunksize=1), seed), pool


def build(cfg: EnsembleConfig, out: Path, echo: Callable[[str], None] = print) -> dict:
    """Run ABC-SMC and write the ensemble, its report and figures into ``out``."""
    s = cfg.ensemble
    try:
        import SALib  # noqa: F401  (the screening)
        if s.method == "mcmc":
            import emcee  # noqa: F401  (the sampler)
        elif s.method == "abc-smc":
            import pyabc  # noqa: F401  (the sampler)
    except ImportError as exc:
        raise ConfigError(f"building the ensemble with method={s.method} needs {exc.name}, "
                          "which is missing: pip install -e '.[uncertainty]'") from None

    if s.method not in METHODS:
        raise ConfigError(f"ensemble.method = {s.method!r} is not one of {', '.join(METHODS)}")
    if s.kernel_scaling <= 0:
        raise ConfigError(f"ensemble.kernel_scaling = {s.kernel_scaling}: must be positive")
    if s.population < 10:
        raise ConfigError(f"ensemble.population = {s.population}: at least 10")
    if s.method == "mcmc":
        check_mcmc(s, len(set(fitted_parameters()) | set(s.extra_free)))
    if (out / "ensemble.csv").exists() and not s.overwrite:
        raise ConfigError(f"{out / 'ensemble.csv'} exists: pass ensemble.overwrite=true to "
                          "replace it, or ensemble.out=<another folder>")
    jobs = s.jobs if s.jobs > 0 else (multiprocessing.cpu_count() or 1)
    dims = dimensions()
    targets = data.load_targets()["targets"]
    sim = Simulator(cfg, dims, targets, s.seed, tolerance=s.tolerance)
    names = sim.statistics
    from zq_sim.run import replicate_seeds
    noise = sim.noise(replicate_seeds(s.seed + 1, s.noise_seeds))
    echo("zq_sim.ensemble: replicate noise at the point fit (sd of each relative error): "
         + ", ".join(f"{n} {v:.3f}" for n, v in noise.items()))
    started = time.time()
    screened = screen(sim, s.screen_trajectories, s.seed, jobs, echo)
    fitted = set(fitted_parameters()) | set(s.extra_free)
    unknown = sorted(fitted - {d.name for d in dims})
    if unknown:
        raise ConfigError(f"ensemble.extra_free: {unknown} have no declared range "
                          "(data/priors.csv)")
    weak = set(screened.loc[screened["score"] < s.weak_threshold, "parameter"])
    free = [i for i, d in enumerate(dims) if d.name in fitted]
    drawn = [i for i, d in enumerate(dims) if d.name in weak and d.name not in fitted]
    held = [d.name for i, d in enumerate(dims) if i not in set(free) | set(drawn)]
    sim.free, sim.drawn = free, drawn
    echo(f"zq_sim.ensemble: {len(free)} fitted parameters (the calibration's and the support "
         "rule); "
         f"{len(drawn)} that the 2024 figures cannot see (screening score below "
         f"{s.weak_threshold}) are drawn from their declared ranges in every simulation; "
         f"{len(held)} that move 2024 but are not fitted keep their prior values")
    np.random.seed(s.seed)  # pyabc's own draws in the main process (none expected)
    mcmc = None
    if s.method == "mcmc":
        frame, weights, mcmc = _mcmc(sim, s, jobs, echo)
        generations = []
    elif s.method == "calibration":
        frame, weights, generations = _from_calibration(sim, s, jobs, echo)
    elif s.from_db:
        history = _read_history(Path(s.from_db))
        frame, weights, generations = _last_population(history)
        echo(f"zq_sim.ensemble: finishing from {s.from_db} (generation {history.max_t})")
    else:
        frame, weights, generations = _sample(sim, s, jobs, names, out, echo)
    _finish(sim, s, frame, weights, generations, screened, held, noise, started, jobs,
            out, echo, cfg, mcmc)
    db = _db_path(out)
    if not s.from_db and db.exists():
        db.unlink()
    return json.loads((out / "ensemble.json").read_text(encoding="utf-8"))


METHODS = ("mcmc", "calibration", "abc-smc")


def _fit(s: EnsembleSettings) -> tuple[dict, Path]:
    """The calibration report (calibration.json) the sets start from, and its path."""
    path = Path(s.calibration_report) if s.calibration_report else (
        ROOT / "experiments" / "calibration" / "calibration.json")
    if not path.is_file():
        raise ConfigError(f"no calibration report at {path}: run python -m zq_sim.calibrate, "
                          "or set ensemble.calibration_report")
    return json.loads(path.read_text(encoding="utf-8")), path


def _fit_draws(sim: Simulator, s: EnsembleSettings, n: int, rng: np.random.Generator,
               over_dispersed: bool = False) -> tuple[np.ndarray, Path]:
    """``n`` draws of the fitted parameters (probit scale) around the fit (calibration.json).

    Each is a normal around its fitted value with its SMM standard error, redrawn until inside
    the declared range (the fit's sampling distribution); ``over_dispersed`` (the MCMC's start)
    draws on the unit scale of the range instead, with sd the larger of ``START_WIDEN``
    standard errors and ``START_SPREAD``. A parameter fitted without an error (the support
    rule) is drawn from its declared range.
    """
    fit, path = _fit(s)
    dims = [sim.dims[i] for i in sim.free]
    unit = np.empty((n, len(dims)))
    for j, d in enumerate(dims):
        value, se = fit["fitted"].get(d.name), fit["se"].get(d.name)
        if value is None or se is None or not math.isfinite(float(se)):
            unit[:, j] = rng.random(n)   # not fitted with an error: its range
            continue
        centre, sd, low, high = float(value), float(se), d.low, d.high
        if over_dispersed:
            centre = float(space.to_unit([d], np.array([[value]]))[0, 0])
            step = abs(float(space.to_unit([d], np.array([[value + sd]]))[0, 0]) - centre)
            sd, low, high = max(START_WIDEN * step, START_SPREAD), 0.0, 1.0
        draws = np.empty(n)
        todo = np.arange(n)
        while todo.size:
            draws[todo] = centre + sd * rng.standard_normal(todo.size)
            todo = todo[(draws[todo] <= low) | (draws[todo] >= high)]
        unit[:, j] = draws if over_dispersed else space.to_unit([d], draws[:, None])[:, 0]
    return _from_unit(unit), path


#: The walkers' start: the fit's standard errors times this, and on the unit scale of each
#: declared range at least ``START_SPREAD`` (the posterior under a 5% error model is wider than
#: the fit's sampling error; walkers spread wider than it contract faster than a tight ball
#: expands).
START_WIDEN, START_SPREAD = 3.0, 0.1


def _from_calibration(sim: Simulator, s: EnsembleSettings, jobs: int,
                      echo: Callable[[str], None]) -> tuple[pd.DataFrame, np.ndarray, list]:
    """Candidate sets from the fit's sampling distribution, kept when they meet the targets.

    Each fitted parameter is drawn from a normal around its fitted value with the fit's
    standard error (calibration.json; redrawn until inside its declared range); the support
    rule, which no target identifies, from its declared range. Each candidate (with its drawn
    parameters, seeded by it) runs once on its own seed and is kept when the root mean square
    of its scaled 2024 errors is at most ``accept_rms``. Kept sets weigh the same.
    """
    from joblib import Parallel, delayed
    rng = np.random.default_rng(np.random.SeedSequence([s.seed, 0xCA1]))
    theta, path = _fit_draws(sim, s, s.candidates, rng)
    echo(f"zq_sim.ensemble: {s.candidates} candidate sets from the fit's sampling distribution "
         f"({path}); keeping those within a root mean square of {s.accept_rms} scaled errors"
         + (" whose lowest village is above 150k" if s.floor_required else ""))

    def one(t: np.ndarray) -> tuple[float, float]:
        z, seed = sim.full(t)
        stats = sim.stats(z, seed)
        scaled = sim.standardise(stats)
        return (float(np.sqrt(np.mean(np.square(list(scaled.values()))))),
                float(stats.get("floor", 0.0)))

    from tqdm import tqdm
    rows = np.array(Parallel(n_jobs=jobs, batch_size=8)(
        delayed(one)(t) for t in tqdm(theta, desc="candidate sets", unit="set", leave=False)))
    rms, shortfall = rows[:, 0], rows[:, 1]
    keep = rms <= s.accept_rms
    if s.floor_required:
        keep &= shortfall <= 0.0
    echo(f"zq_sim.ensemble: kept {int(keep.sum())} of {s.candidates} candidate sets "
         f"(median root mean square {np.median(rms):.2f})")
    if keep.sum() < 10:
        raise ConfigError(f"only {int(keep.sum())} candidate sets met the targets: raise "
                          "ensemble.candidates or ensemble.accept_rms")
    frame = pd.DataFrame(theta[keep], columns=[_key(i) for i in range(theta.shape[1])])
    generations = [{"t": 0, "epsilon": float(s.accept_rms), "simulations": int(s.candidates),
                    "particles": int(keep.sum())}]
    return frame, np.full(int(keep.sum()), 1.0 / keep.sum()), generations


class LogPosterior:
    """The log posterior of the fitted parameters (probit scale) under the Gaussian error model.

    Prior: the declared ranges (uniform on the unit scale, so standard normal on the probit
    scale). Likelihood: each 2024 statistic's mean over ``seeds``, each seed with its own
    draw of the drawn parameters (``nuisance``; the same seeds and draws at every point: common
    random numbers, so that the target is a fixed function of the parameters), is normal around
    zero with variance ``tolerance**2 + sd**2 * (1 + 1/len(seeds))``: the figures' discrepancy
    from the model (5%, the calibration's criterion of a target met), the spread that replicate
    noise and the drawn parameters give a statistic (``sd``, measured over seeds each with its
    own draw: the world's 2024 figures are one draw of the noise, and the drawn parameters are
    unknown, so their effect is marginalised as noise) and the noise left in a mean over
    ``len(seeds)`` runs.
    Returns the log posterior and, as emcee's blob, the statistics' scaled means.
    """

    def __init__(self, sim: Simulator, seeds: Sequence[int], floor_required: bool = False,
                 nuisance: np.ndarray | None = None, sd: dict[str, float] | None = None) -> None:
        self.sim = sim
        self.seeds = [int(x) for x in seeds]
        self.floor_required = bool(floor_required) and "floor" in sim.statistics
        k = len(self.seeds)
        # one fixed draw of the drawn parameters per seed (rows; NaN: keep the prior value)
        self.nuisance = (np.full((k, len(sim.dims)), np.nan) if nuisance is None
                         else np.asarray(nuisance, dtype=float))
        sd = sim.sd if sd is None else sd
        self.names = sim.statistics
        self.sd = np.array([math.sqrt(sim.tolerance ** 2 + sd[n] ** 2 * (1 + 1 / k))
                            for n in self.names])

    def scaled(self, theta: np.ndarray) -> np.ndarray:
        """Each statistic's mean over the seeds over its sd."""
        return self._runs(theta)[0]

    def _runs(self, theta: np.ndarray) -> tuple[np.ndarray, bool]:
        """The statistics' scaled means, and whether any run left a village below the floor."""
        # each seed runs with its own draw of the drawn parameters, the same at every point
        # (common random numbers for them too): redrawing them at every point (as a kept set
        # does) made the log posterior jump by 5-10 between points 0.001 of a range apart and
        # the walkers stick on lucky draws; holding them at their priors ignored their joint
        # effect on 2024 (a kept set, which draws them, then broke the floor more often)
        rows = []
        for seed, nuisance in zip(self.seeds, self.nuisance, strict=True):
            z = nuisance.copy()
            z[self.sim.free] = np.asarray(theta, dtype=float)
            rows.append(self.sim.stats(z, seed))
        mean = np.array([np.mean([r[n] for r in rows]) for n in self.names])
        return mean / self.sd, any(r.get("floor", 0.0) > 0 for r in rows)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The log posterior at ``theta`` and the scaled statistics (emcee's blob).

        With ``floor_required``, a point where any run leaves a village below the floor has
        none (-inf): every village above 150k is a reported fact, not a figure matched to 5%.
        """
        theta = np.asarray(theta, dtype=float)
        if not np.all(np.isfinite(theta)):
            return -np.inf, np.full(len(self.names), np.nan)
        e, broken = self._runs(theta)
        if self.floor_required and broken:
            return -np.inf, e
        return float(-0.5 * np.sum(theta ** 2) - 0.5 * np.sum(e ** 2)), e


class _JoblibPool:
    """The ``map`` emcee asks of a pool, on joblib's workers (kept for the whole run)."""

    def __init__(self, parallel) -> None:
        self.parallel = parallel

    def map(self, fn, items):  # noqa: A003 (emcee's name)
        from joblib import delayed
        return self.parallel(delayed(fn)(x) for x in items)


def check_mcmc(s: EnsembleSettings, ndim: int) -> None:
    """Refuse MCMC settings that cannot work with ``ndim`` fitted parameters (one line)."""
    if s.walkers < 2 * ndim or s.walkers % 2:
        raise ConfigError(f"ensemble.walkers = {s.walkers}: must be even and at least twice "
                          f"the {ndim} fitted parameters ({2 * ndim})")
    if not 0 <= s.burn < s.steps:
        raise ConfigError(f"ensemble.burn = {s.burn}: must be at least 0 and below "
                          f"ensemble.steps ({s.steps})")
    if s.crn_seeds < 1 or s.thin < 0:
        raise ConfigError(f"ensemble.crn_seeds = {s.crn_seeds}, ensemble.thin = {s.thin}: "
                          "crn_seeds at least 1, thin at least 0 (0: automatic)")
    if s.start_from and not (_project_path(s.start_from) / "ensemble.csv").is_file():
        raise ConfigError(f"ensemble.start_from = {s.start_from}: no ensemble there "
                          "(a folder with ensemble.csv; \"\" starts the walkers around the fit)")


def _project_path(path: str) -> Path:
    """``path`` as given if it exists there (or is absolute), else under the project's root."""
    p = Path(path)
    return p if p.is_absolute() or p.exists() else ROOT / p


def _last_sets(sim: Simulator, folder: Path, walkers: int) -> np.ndarray:
    """The fitted parameters (probit scale) of the last ``walkers`` sets of an MCMC ensemble.

    An MCMC ensemble's sets are its kept steps in order, each step's walkers together: its
    last ``walkers`` rows are where the walkers stood last (at the last kept step).
    """
    csv = folder / "ensemble.csv"
    if not csv.is_file():
        raise ConfigError(f"ensemble.start_from: no ensemble at {csv}")
    sets = pd.read_csv(csv)
    names = [sim.dims[i].name for i in sim.free]
    missing = [n for n in names if n not in sets]
    if missing or len(sets) < walkers:
        raise ConfigError(f"ensemble.start_from: {csv} lacks {missing or 'enough sets'} "
                          f"(it needs the {len(names)} fitted parameters and {walkers} sets)")
    dims = [sim.dims[i] for i in sim.free]
    unit = space.to_unit(dims, sets[names].to_numpy(dtype=float)[-walkers:])
    return _from_unit(unit)


def _nuisance(sim: Simulator, seed: int, k: int) -> np.ndarray:
    """``k`` fixed draws of the drawn parameters (probit scale; NaN elsewhere), one per row."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xD7A]))
    out = np.full((k, len(sim.dims)), np.nan)
    out[:, sim.drawn] = rng.standard_normal((k, len(sim.drawn)))
    return out


def _mcmc(sim: Simulator, s: EnsembleSettings, jobs: int,
          echo: Callable[[str], None]) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """The posterior of the fitted parameters by emcee's ensemble sampler (:class:`LogPosterior`).

    The walkers start around the fit, over-dispersed (:func:`_fit_draws`), and move by
    differential evolution (emcee's DEMove, with a DESnookerMove one step in five: in 17
    dimensions these mix faster than the stretch move). The first ``burn`` steps are dropped;
    of the rest every ``thin``-th is kept. Returns the kept sets, equal weights and the
    sampler's diagnostics (acceptance, autocorrelation times, effective sample size).
    """
    import emcee
    from joblib import Parallel

    from zq_sim.run import replicate_seeds
    ndim = len(sim.free)
    check_mcmc(s, ndim)
    rng = np.random.default_rng(np.random.SeedSequence([s.seed, 0x3C3C]))
    # drawn even when the chain is carried on: the sampler's seed comes next from ``rng``
    start, path = _fit_draws(sim, s, s.walkers, rng, over_dispersed=True)
    if s.start_from:
        path = _project_path(s.start_from)
        start = _last_sets(sim, path, s.walkers)
    seeds = replicate_seeds(s.seed + 3, s.crn_seeds)
    nuisance = _nuisance(sim, s.seed, s.crn_seeds)
    noise = sim.noise_drawn(replicate_seeds(s.seed + 1, s.noise_seeds),
                            _nuisance(sim, s.seed + 1, s.noise_seeds), jobs)
    echo("zq_sim.ensemble: replicate noise and the drawn parameters together at the point fit "
         "(sd of each relative error, each seed with its own draw): "
         + ", ".join(f"{n} {v:.3f}" for n, v in noise.items()))
    post = LogPosterior(sim, seeds, floor_required=s.floor_required, nuisance=nuisance,
                        sd=noise)
    echo(f"zq_sim.ensemble: MCMC (emcee, differential evolution) over {ndim} fitted "
         f"parameters: {s.walkers} walkers x {s.steps} steps, each point the mean of "
         f"{s.crn_seeds} runs on fixed seeds ({s.walkers * s.steps * s.crn_seeds} runs; "
         f"the first {s.burn} steps dropped); walkers start "
         + (f"where the chain of {path} ended" if s.start_from else
            f"around {path.name}'s fit, over-dispersed"))
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    with Parallel(n_jobs=jobs) as parallel:
        sampler = emcee.EnsembleSampler(s.walkers, ndim, post, moves=moves,
                                        pool=_JoblibPool(parallel) if jobs > 1 else None)
        sampler.random_state = np.random.RandomState(
            int(rng.integers(2 ** 31))).get_state()
        with warnings.catch_warnings():
            # a walker without posterior (-inf) proposing another: emcee subtracts -inf from
            # -inf (nan) and refuses the move, as it should, with a warning each time
            warnings.filterwarnings("ignore", "invalid value encountered in scalar subtract",
                                    RuntimeWarning)
            sampler.run_mcmc(start, s.steps, progress=True,
                             progress_kwargs={"desc": "MCMC steps", "unit": "step",
                                              "leave": False})
    chain = sampler.get_chain()                      # (steps, walkers, ndim)
    logp = sampler.get_log_prob()
    kept = chain[s.burn:]
    tau = emcee.autocorr.integrated_time(kept, quiet=True)
    longest = float(np.max(tau))
    thin = s.thin if s.thin > 0 else max(1, int(math.ceil(longest)))
    alive = np.isfinite(logp[s.burn:][::thin]).reshape(-1)
    # a walker without posterior (a start that broke the floor, not yet moved) is not a set
    flat = kept[::thin].reshape(-1, ndim)[alive]
    ess = float(kept.shape[0] * s.walkers / longest)
    acceptance = sampler.acceptance_fraction
    # drift: how far each parameter's median moved between the kept steps' two halves, in sds
    # of the kept sets (on the unit scale); a chain still finding its posterior drifts
    unit = _to_unit(chain)                           # also the trace's scale, below
    kept_unit = unit[s.burn:]
    h = kept_unit.shape[0] // 2
    sd = np.maximum(kept_unit.reshape(-1, ndim).std(axis=0), 1e-12)
    drift = np.abs(np.median(kept_unit[h:].reshape(-1, ndim), axis=0)
                   - np.median(kept_unit[:h].reshape(-1, ndim), axis=0)) / sd
    diagnostics = {
        "walkers": s.walkers, "steps": s.steps, "burn": s.burn, "thin": thin,
        "simulations": int(s.walkers * s.steps * s.crn_seeds), "crn_seeds": seeds,
        "acceptance_mean": float(np.mean(acceptance)),
        "acceptance_min": float(np.min(acceptance)),
        "autocorrelation_steps": {sim.dims[i].name: float(t) for i, t in zip(sim.free, tau,
                                                                              strict=True)},
        "autocorrelation_max": longest,
        "effective_sets": ess,
        "trusted": bool(kept.shape[0] >= 50 * longest),
        "drift_sd": {sim.dims[i].name: float(d) for i, d in zip(sim.free, drift, strict=True)},
        "floor_required": bool(post.floor_required),
        "rejected_floor": float(np.mean(~np.isfinite(logp[s.burn:]))),
        "error_sd": dict(zip(post.names, (float(x) for x in post.sd), strict=True)),
        "noise_drawn": noise,
    }
    # the walkers' spread at every step, on the unit scale of the declared ranges (trace.csv)
    finite = np.where(np.isfinite(logp), logp, np.nan)   # walkers without posterior left out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # a step where none has one: nan
        trace = [pd.DataFrame({"step": np.arange(len(chain)), "parameter": "log_posterior",
                               "p05": np.nanquantile(finite, 0.05, axis=1),
                               "p50": np.nanmedian(finite, axis=1),
                               "p95": np.nanquantile(finite, 0.95, axis=1)})]
    for j, i in enumerate(sim.free):
        trace.append(pd.DataFrame({"step": np.arange(len(chain)), "parameter": sim.dims[i].name,
                                   "p05": np.quantile(unit[:, :, j], 0.05, axis=1),
                                   "p50": np.median(unit[:, :, j], axis=1),
                                   "p95": np.quantile(unit[:, :, j], 0.95, axis=1)}))
    diagnostics["trace"] = pd.concat(trace, ignore_index=True)
    echo(f"zq_sim.ensemble: acceptance {diagnostics['acceptance_mean']:.2f} (lowest walker "
         f"{diagnostics['acceptance_min']:.2f}); longest autocorrelation time {longest:.0f} "
         f"steps; about {ess:.0f} independent sets in the {kept.shape[0]} steps kept; "
         f"{len(flat)} sets (every {thin}th step)")
    if len(flat) < 10:
        raise ConfigError(f"only {len(flat)} sets kept: raise ensemble.steps or lower "
                          "ensemble.thin")
    frame = pd.DataFrame(flat, columns=[_key(i) for i in range(ndim)])
    return frame, np.full(len(flat), 1.0 / len(flat)), diagnostics


def _highest(proposals: list) -> float:
    """The highest of the temperature schemes' proposals, as a float (EssScheme's is an array)."""
    return float(max(float(np.asarray(p, dtype=float).ravel()[0]) for p in proposals))


def _db_path(out: Path) -> Path:
    """Where the sampler keeps its generations while it runs (kept if the build stops)."""
    return out.parent / f".{out.name}.abc.db"


def _read_history(db: Path):
    import pyabc
    if not db.is_file():
        raise ConfigError(f"ensemble.from_db: no file {db}")
    return pyabc.History(f"sqlite:///{db}")


def _last_population(history) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    pops = history.get_all_populations()
    generations = [{"t": int(r.t), "epsilon": float(r.epsilon),
                    "simulations": int(r.samples), "particles": int(r.particles)}
                   for r in pops.itertuples() if r.t >= 0]
    return frame, np.asarray(weights, dtype=float), generations


def _sample(sim: Simulator, s: EnsembleSettings, jobs: int, names: list[str], out: Path,
            echo: Callable[[str], None]) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    """Run pyabc's ABC-SMC; its database is kept beside ``out`` until the ensemble is written."""
    import pyabc
    free = sim.free
    prior = pyabc.Distribution(**{_key(i): pyabc.RV("norm", 0.0, 1.0)
                                  for i in range(len(free))})
    sampler, pool = _sampler(jobs, s.seed)
    db = _db_path(out)
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists():
        db.unlink()
    try:
        # The error model: each statistic, over its scale, is standard normal (a Gaussian
        # likelihood, so the posterior is smooth and the importance weights stay even); pyabc's
        # stochastic acceptor samples it exactly, through temperatures falling to 1. One
        # Gaussian proposal fitted to the last population (abc_sampler.py says why).
        from zq_sim.abc_sampler import GaussianTransition
        abc = pyabc.ABCSMC(sim, prior, pyabc.IndependentNormalKernel(var=1.0),
                           population_size=s.population, sampler=sampler,
                           transitions=GaussianTransition(scaling=s.kernel_scaling),
                           # each temperature the higher of two proposals: one keeping the
                           # acceptance rate, one keeping the effective sample of the
                           # reweighted population (pyabc's default, the lower of an acceptance
                           # and a fixed decay, fell too fast: 4-12 effective sets of 200)
                           eps=pyabc.Temperature(
                               schemes=[pyabc.AcceptanceRateScheme(
                                            target_rate=s.acceptance_rate),
                                        pyabc.EssScheme(target_relative_ess=s.relative_ess)],
                               aggregate_fun=_highest, enforce_exact_final_temperature=False),
                           # normalised by the likelihood's maximum (zero error), not by the
                           # largest value found so far: pyabc's default raises the norm as it
                           # goes and gives the particles that raised it the weight of all
                           # the others (one set held 89% of the weight in a trial)
                           acceptor=pyabc.StochasticAcceptor(
                               pdf_norm_method=pyabc.acceptor.pdf_norm_from_kernel))
        abc.new(f"sqlite:///{db}", {n: 0.0 for n in names})
        echo(f"zq_sim.ensemble: ABC-SMC, population {s.population}, {jobs} processes; "
             f"stops at temperature 1 (the Gaussian error model exactly), "
             f"{s.max_simulations} simulations or {s.generations} generations")
        echo(f"zq_sim.ensemble: the generations are kept in {db}: if the build stops, "
             f"finish it from the last one with ensemble.from_db={db}")
        history = abc.run(minimum_epsilon=1.0, max_nr_populations=s.generations,
                          min_acceptance_rate=s.min_acceptance,
                          max_total_nr_simulations=s.max_simulations)
        return _last_population(history)
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def _finish(sim: Simulator, s: EnsembleSettings, frame: pd.DataFrame, weights: np.ndarray,
            generations: list[dict], screened: pd.DataFrame, held: list[str],
            noise: dict, started: float, jobs: int, out: Path,
            echo: Callable[[str], None], cfg: EnsembleConfig, mcmc: dict | None = None) -> None:
    """The sets of the last population, checked on held-out seeds, written with the report."""
    from zq_sim import ensemble_report
    dims, free, drawn = sim.dims, sim.free, sim.drawn
    names, scale = sim.statistics, sim.scale
    theta = frame[[_key(i) for i in range(len(free))]].to_numpy(dtype=float)
    z = np.array([sim.full(t)[0] for t in theta])
    values = space.from_unit(dims, _to_unit(np.nan_to_num(z)))
    base = space.current(sim.base, dims)
    for j, d in enumerate(dims):
        if d.name in held:
            values[:, j] = float(base[d.name])
    sets = pd.DataFrame(values, columns=[d.name for d in dims])
    for d in dims:
        if d.integer:
            sets[d.name] = sets[d.name].round().astype(int)
    sets.insert(0, "weight", np.asarray(weights, dtype=float) / float(np.sum(weights)))
    seconds = time.time() - started
    ess = float(1.0 / np.sum(sets["weight"].to_numpy() ** 2))
    meta = {
        "built": time.strftime("%Y-%m-%d"), "seconds": round(seconds, 1),
        "settings": OmegaConf.to_container(OmegaConf.structured(s)),
        "parameters": len(dims), "sets": len(sets), "effective_sets": round(ess, 1),
        "generations": generations,
        "final_temperature": generations[-1]["epsilon"] if generations else None,
        "statistics": names, "noise": noise, "scale": scale, "data": data.fingerprint(),
        "free": [dims[i].name for i in free], "drawn": [dims[i].name for i in drawn],
        "held": held,
    }
    trace = None
    if mcmc is not None:
        mcmc = dict(mcmc)
        trace = mcmc.pop("trace")
        meta["mcmc"] = mcmc
        meta["effective_sets"] = round(min(mcmc["effective_sets"], len(sets)), 1)
        echo(f"zq_sim.ensemble: {mcmc['simulations']} simulations in {seconds:.0f} s; "
             f"{len(sets)} sets")
    else:
        echo(f"zq_sim.ensemble: {len(generations)} generations, "
             f"{sum(g['simulations'] for g in generations)} simulations in {seconds:.0f} s; "
             f"final temperature {meta['final_temperature']:.3g}; {len(sets)} sets "
             f"(effective {ess:.0f})")
    validation = validate_ensemble(sim, sets, s, jobs, echo)
    meta["validation"] = validation["summary"]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        tmp_dir = Path(tmp)
        sets_out = sets.copy()
        sets_out.insert(0, "set", range(len(sets)))
        sets_out.to_csv(tmp_dir / "ensemble.csv", index=False, float_format="%.6g")
        (tmp_dir / "ensemble.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False),
                                               encoding="utf-8")
        validation["table"].to_csv(tmp_dir / "validation.csv", index=False,
                                   float_format="%.6g")
        screened.to_csv(tmp_dir / "screening.csv", index=False, float_format="%.4g")
        if trace is not None:
            trace.to_csv(tmp_dir / "trace.csv", index=False, float_format="%.5g")
        try:
            ensemble_report.write(tmp_dir, dims, sets, meta, validation, calibrated_point(),
                                  screened)
        except Exception as exc:  # the ensemble is kept; its report can be written again
            echo(f"zq_sim.ensemble: warning: the report failed ({exc!r}); the ensemble is "
                 f"saved: write the report with python -m zq_sim.ensemble_report {out}")
        for item in tmp_dir.iterdir():
            item.replace(out / item.name)
    echo(f"zq_sim.ensemble: wrote {out}")


def validate_ensemble(sim: Simulator, sets: pd.DataFrame, s: EnsembleSettings, jobs: int,
                      echo: Callable[[str], None] = print) -> dict:
    """Each set on a held-out seed, and the point fit on as many held-out seeds: target spread."""
    from joblib import Parallel, delayed

    from zq_sim.run import replicate_seeds
    seeds = replicate_seeds(s.validation_seed, len(sets))
    dims = sim.dims
    u = space.to_unit(dims, sets[[d.name for d in dims]].to_numpy(dtype=float))
    z = _from_unit(u)
    with Parallel(n_jobs=jobs) as parallel:
        ens = parallel(delayed(sim.stats)(z[i], seeds[i]) for i in range(len(sets)))
        fit = parallel(delayed(sim.stats)(None, seed) for seed in seeds)
    rows = [{"source": "ensemble", "set": i, "seed": seeds[i], **r} for i, r in enumerate(ens)]
    rows += [{"source": "point fit", "set": -1, "seed": seed, **r} for seed, r in zip(seeds, fit,
                                                                                    strict=True)]
    table = pd.DataFrame(rows)
    summary = {}
    for name in list(sim.targets) + (["floor"] if sim.floor is not None else []):
        e, f = table.loc[table.source == "ensemble", name], table.loc[table.source == "point fit",
                                                                       name]
        w = sets["weight"].to_numpy()
        summary[name] = {
            "ensemble_mean": float(np.average(e, weights=w)),
            "ensemble_p05": float(np.quantile(e, 0.05)),
            "ensemble_p95": float(np.quantile(e, 0.95)),
            "point_mean": float(f.mean()),
            "point_p05": float(np.quantile(f, 0.05)),
            "point_p95": float(np.quantile(f, 0.95)),
        }
    held_e = float(np.average(table.loc[table.source == "ensemble", "floor"] == 0, weights=w)) \
        if sim.floor is not None else None
    held_f = float((table.loc[table.source == "point fit", "floor"] == 0).mean()) \
        if sim.floor is not None else None
    held_d = point_floor_with_drawn(sim, seeds, s.validation_seed, jobs) \
        if sim.floor is not None and sim.drawn else None
    echo(f"zq_sim.ensemble: held-out check on {len(seeds)} seeds: floor held on "
         f"{held_e:.0%} (ensemble) and {held_f:.0%} (point fit)"
         + (f"; {held_d:.0%} at the point fit with the drawn parameters drawn"
            if held_d is not None else ""))
    return {"table": table, "summary": {"targets": summary, "floor_held_ensemble": held_e,
                                        "floor_held_point": held_f,
                                        "floor_held_point_drawn": held_d, "seeds": len(seeds)}}


def point_floor_with_drawn(sim: Simulator, seeds: Sequence[int], seed: int, jobs: int) -> float:
    """Share of ``seeds`` on which the point fit keeps every village above the floor.

    Each seed runs with its own draw of the drawn parameters, as a kept set draws them: the
    most a set can hope for.
    """
    rows = sim.runs_with(seeds, _nuisance(sim, seed, len(seeds)), jobs)
    return float((rows["floor"] == 0).mean())


# ----------------------------------------------------------------------------------- the app
@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="ensemble")
def app(cfg: DictConfig) -> None:
    """Hydra entry point."""
    try:
        typed: EnsembleConfig = OmegaConf.to_object(cfg)
        validate(typed)
        s = typed.ensemble
        if s.quick:
            s.population, s.generations, s.max_simulations = 12, 2, 80
            s.screen_trajectories, s.noise_seeds, s.candidates = 1, 5, 40
            s.accept_rms = max(s.accept_rms, 3.0)
            s.steps, s.burn, s.thin, s.crn_seeds = 3, 1, 1, 1
            s.overwrite = True
            out = Path(HydraConfig.get().runtime.output_dir)
        else:
            out = Path(s.out) if s.out else DEFAULT_DIR
        build(typed, out)
    except (ConfigError, data.DataError) as exc:
        print(f"zq_sim.ensemble: error: {exc}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Entry point: check the command line (one line per problem), then hand over to Hydra."""
    from zq_sim import overrides

    overrides.checked_app(app, "ensemble", "ensemble", EnsembleSettings())


if __name__ == "__main__":
    main()

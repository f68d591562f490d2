"""The parameter ensemble (ensemble.py) and runs that carry it (uncertainty=parameters)."""

from __future__ import annotations

import dataclasses
import functools
import json
import multiprocessing

import numpy as np
import pandas as pd
import pytest

from zq_sim import ensemble, space
from zq_sim.api import load_config
from zq_sim.config import ConfigError
from zq_sim.run import run, variance_split


def _fake(folder, lease=(100_000.0, 160_000.0, 260_000.0), weights=(0.2, 0.3, 0.5)):
    """An ensemble of three sets that differ in the west's lease pool and the platform's reach."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({
        "set": range(len(lease)), "weight": weights,
        "model.lease_pool_median_west": lease,
        "model.rent_growth": [0.0, 0.02, 0.04],
        "policy.three_assets.platform_coverage": [0.5, 0.7, 0.9],
    })
    frame.to_csv(folder / "ensemble.csv", index=False)
    (folder / "ensemble.json").write_text(json.dumps({"sets": len(lease)}), encoding="utf-8")
    return folder


def test_load_draw_and_configure(tmp_path):
    ens = ensemble.load(_fake(tmp_path / "e"))
    assert len(ens) == 3 and ens.weights.sum() == pytest.approx(1.0)
    a = ens.draw(50, np.random.default_rng(1))
    assert np.array_equal(a, ens.draw(50, np.random.default_rng(1)))
    assert np.bincount(ens.draw(4000, np.random.default_rng(2)), minlength=3)[2] > 1700  # 0.5
    base = load_config()
    cfg = ens.configure(base, 2)
    assert cfg.model.lease_pool_median_west == 260_000.0 and cfg.model.rent_growth == 0.04
    # the run keeps the calibrated 2024 coverage: the set's coverage applies
    assert cfg.policy.three_assets.platform_coverage == 0.9
    # a scenario that sets the lever keeps its own choice; the model's values still apply
    three = ens.configure(load_config(scenario="three_assets"), 2)
    assert three.policy.three_assets.platform_coverage == 0.95
    assert three.model.lease_pool_median_west == 260_000.0
    assert base.model.rent_growth != 0.04  # configure copies


def test_missing_or_bad_ensemble_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="no parameter ensemble at .*python -m zq_sim.ensemble"):
        ensemble.load(tmp_path / "nothing")
    folder = _fake(tmp_path / "bad")
    frame = pd.read_csv(folder / "ensemble.csv").assign(**{"model.nonsense": 1.0})
    frame.to_csv(folder / "ensemble.csv", index=False)
    with pytest.raises(ConfigError, match=r"model.nonsense.*not settings"):
        ensemble.load(folder)


def test_variance_split_recovers_known_components():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(400), 4)
    values = rng.normal(0, 2.0, 400)[groups] + rng.normal(0, 1.0, groups.size)
    split = variance_split(pd.Series(values), pd.Series(groups))
    assert split["parameters"] == pytest.approx(4.0, rel=0.2)
    assert split["replicate_noise"] == pytest.approx(1.0, rel=0.1)
    assert split["parameter_share"] == pytest.approx(0.8, abs=0.05)
    single = variance_split(pd.Series(values[:10]), pd.Series(np.arange(10)))
    assert single["parameter_share"] is None and single["total"] is not None


def test_parameter_uncertainty_widens_intervals_and_names_both(tmp_path):
    folder = _fake(tmp_path / "e", lease=(80_000.0, 170_000.0, 300_000.0),
                   weights=(1 / 3, 1 / 3, 1 / 3))
    common = {"years.end": 2025, "replicates": 8, "output.villages": False,
              "output.counterfactual": False, "output.progress": False}
    fixed = run(load_config(overrides=common), echo=None)
    tables: dict = {}
    both = run(load_config(overrides={**common, "uncertainty": "parameters",
                                      "parameter_sets.path": str(folder)}),
               echo=None, tables=tables)
    assert fixed["uncertainty"]["source"] == "replicates"
    u = both["uncertainty"]
    assert u["source"] == "parameters" and u["replicates_per_set"] == 2
    assert "replicate noise and parameter uncertainty" in u["note"]

    def width(s):
        m = s["years"]["2025"]["mean_operating_income"]
        return m["p95"] - m["p05"]
    assert width(both) > 2 * width(fixed)
    share = u["variance"]["mean_operating_income"]["2025"]["parameter_share"]
    assert share is not None and share > 0.5
    ts = tables["timeseries"]
    assert set(ts["parameter_set"]) <= {0, 1, 2}
    per_seed = ts.drop_duplicates("seed")["parameter_set"].tolist()
    assert per_seed[0::2] == per_seed[1::2]  # replicates come in pairs per set


def test_parameter_draws_do_not_depend_on_the_scenario(tmp_path):
    from zq_sim.run import parameter_sets
    folder = _fake(tmp_path / "e")
    over = {"uncertainty": "parameters", "parameter_sets.path": str(folder), "replicates": 6}
    _, a = parameter_sets(load_config(overrides=over))
    _, b = parameter_sets(load_config(scenario="land_transfer", overrides=over))
    _, c = parameter_sets(load_config(overrides={**over, "replicates": 10}))
    assert a == b and c[:6] == a


def _toy(pars):
    return {"y": pars["a"] + 0.1 * np.random.normal(), "z": pars["b"]}


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_seeded_sampler_gives_the_same_particles_serial_or_parallel(tmp_path):
    import pyabc

    from zq_sim.abc_sampler import GaussianTransition, SeededSampler

    def fit(sampler, name):
        abc = pyabc.ABCSMC(_toy, pyabc.Distribution(a=pyabc.RV("uniform", -2, 4),
                                                    b=pyabc.RV("norm", 0, 1)),
                           pyabc.PNormDistance(p=2), population_size=20, sampler=sampler,
                           transitions=GaussianTransition(1.5))
        abc.new(f"sqlite:///{tmp_path / name}", {"y": 0.5, "z": 0.0})
        history = abc.run(max_nr_populations=3)
        frame, w = history.get_distribution(m=0, t=history.max_t)
        return frame["a"].to_numpy(), w

    a, wa = fit(SeededSampler(map, 11), "a.db")
    with multiprocessing.get_context("fork").Pool(2) as pool:
        b, wb = fit(SeededSampler(pool.map, 11), "b.db")
    assert np.array_equal(np.sort(a), np.sort(b)) and np.allclose(np.sort(wa), np.sort(wb))
    assert abs(np.average(a, weights=wa) - 0.5) < 0.3  # it does approach the data
    assert 1 / np.sum((wa / wa.sum()) ** 2) > 8       # and keeps an effective sample
    c, _ = fit(SeededSampler(map, 12), "c.db")
    assert not np.array_equal(np.sort(a), np.sort(c))


def test_dimensions_cover_priors_and_the_calibrations_platform_coverage():
    dims = ensemble.dimensions()
    names = [d.name for d in dims]
    assert "policy.three_assets.platform_coverage" in names
    assert set(ensemble.fitted_parameters()) <= set(names)
    assert len(names) == len(set(names)) == len(space.uncertainties()) + 1


@pytest.mark.slow
def test_quick_build_writes_a_loadable_ensemble(tmp_path):
    import subprocess
    import sys
    out = tmp_path / "ens"
    done = subprocess.run(
        [sys.executable, "-m", "zq_sim.ensemble", "ensemble.quick=true", "ensemble.method=mcmc",
         f"hydra.run.dir={out}"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    ens = ensemble.load(out)
    meta = json.loads((out / "ensemble.json").read_text(encoding="utf-8"))
    # quick: 40 walkers, 3 steps, the first dropped: up to 80 sets of the (unconverged) chain,
    # fewer if a walker still stands where its start broke the floor
    assert meta["settings"]["method"] == "mcmc" and 40 <= len(ens) <= 80
    assert meta["mcmc"]["simulations"] == 120
    assert set(ensemble.fitted_parameters()) <= set(meta["free"])
    for name in ("report.md", "marginals.png", "targets.png", "correlations.png",
                 "validation.csv", "screening.csv", "trace.csv", "trace.png"):
        assert (out / name).is_file(), name


def test_registry_declares_what_a_run_with_parameter_sets_writes(tmp_path):
    from zq_sim import outputs
    folder = _fake(tmp_path / "e")
    out = tmp_path / "run"
    run(load_config(overrides={"years.end": 2024, "replicates": 2, "uncertainty": "parameters",
                               "parameter_sets.path": str(folder), "output.progress": False}),
        out, echo=None)
    ts = pd.read_parquet(out / "timeseries.parquet")
    villages = pd.read_parquet(out / "villages.parquet")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "parameter_set" in ts and "parameter_set" in villages
    assert outputs.undeclared(ts.columns, "timeseries") == []
    assert outputs.undeclared(villages.columns, "villages") == []
    assert outputs.undeclared(outputs.summary_keys(summary), "summary") == []


class _Toy(ensemble.Simulator):
    """Two parameters on [0, 1] whose "2024 statistics" are their distance from 0.3 and 0.6.

    Under the error model (scale 0.05, no replicate noise) the posterior of each is a normal
    around 0.3 and 0.6 with sd 0.05: what the sampler must find.
    """

    def __init__(self) -> None:
        dims = [space.Dimension(n, 0.0, 1.0, "uniform", 0.5, "", "toy", False, "uncertainty")
                for n in ("model.a", "model.b")]
        super().__init__(load_config(), dims, {"x": {"kind": "level", "value": 1.0},
                                                "y": {"kind": "level", "value": 1.0}}, 1)
        self.scale, self.sd = {"x": 0.05, "y": 0.05}, {"x": 0.0, "y": 0.0}

    def stats(self, z, seed):
        a, b = ensemble._to_unit(z)
        return {"x": float(a - 0.3), "y": float(b - 0.6)}


def _toy_chain(tmp_path, seed=5):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"fitted": {"model.a": 0.35, "model.b": 0.5},
                               "se": {"model.a": 0.01, "model.b": 0.01}}), encoding="utf-8")
    s = ensemble.EnsembleSettings(seed=seed, walkers=16, steps=400, burn=100, thin=1,
                                  crn_seeds=1, calibration_report=str(fit), start_from="")
    return ensemble._mcmc(_Toy(), s, 1, echo=lambda _: None)


def test_mcmc_recovers_a_known_posterior_and_repeats_itself(tmp_path):
    frame, weights, diag = _toy_chain(tmp_path)
    u = ensemble._to_unit(frame.to_numpy())
    assert len(frame) == 16 * 300 and np.allclose(weights, 1 / len(frame))
    # started off the mode (0.35, 0.5) with a narrow spread: it must find 0.3, 0.6 and sd 0.05
    assert np.allclose(u.mean(axis=0), [0.3, 0.6], atol=0.015)
    assert np.allclose(u.std(axis=0), 0.05, rtol=0.3)
    assert 0.2 < diag["acceptance_mean"] < 0.8 and diag["effective_sets"] > 100
    assert set(diag["trace"]["parameter"]) == {"log_posterior", "model.a", "model.b"}
    again, _, _ = _toy_chain(tmp_path)
    assert again.equals(frame)
    other, _, _ = _toy_chain(tmp_path, seed=6)
    assert not other.equals(frame)


def test_mcmc_carries_a_chain_on_from_its_last_sets(tmp_path):
    frame, _, _ = _toy_chain(tmp_path)
    folder = tmp_path / "first"
    folder.mkdir()
    u = ensemble._to_unit(frame.to_numpy())
    pd.DataFrame({"set": range(len(u)), "model.a": u[:, 0], "model.b": u[:, 1]}).to_csv(
        folder / "ensemble.csv", index=False)
    sim = _Toy()
    start = ensemble._last_sets(sim, folder, 16)
    assert np.allclose(start, frame.to_numpy()[-16:])    # the last step's 16 walkers
    s = ensemble.EnsembleSettings(seed=5, walkers=16, steps=3, burn=0, thin=1, crn_seeds=1,
                                  start_from=str(folder))
    again, _, _ = ensemble._mcmc(sim, s, 1, echo=lambda _: None)
    # one step on from there: the walkers whose move was refused stand where they started
    stayed = np.isclose(again.to_numpy()[:16], start).all(axis=1)
    assert 4 <= stayed.sum() < 16
    with pytest.raises(ConfigError, match="ensemble.start_from: no ensemble"):
        ensemble._last_sets(sim, tmp_path / "none", 16)
    with pytest.raises(ConfigError, match="needs the 2 fitted parameters and 16000 sets"):
        ensemble._last_sets(sim, folder, 40 * 400)


class _ToyFloor(_Toy):
    """The toy with a floor that holds only where a >= 0.25 (the support rule's bound)."""

    def __init__(self) -> None:
        super().__init__()
        self.floor = 1.0
        self.scale["floor"], self.sd["floor"] = 0.05, 0.0

    def stats(self, z, seed):
        a, _ = ensemble._to_unit(z)
        return {**super().stats(z, seed), "floor": float(max(0.0, 0.25 - a))}


def test_mcmc_floor_is_a_condition(tmp_path):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"fitted": {"model.a": 0.2, "model.b": 0.5},
                               "se": {"model.a": 0.01, "model.b": 0.01}}), encoding="utf-8")
    sim = _ToyFloor()
    assert sim.statistics == ["x", "y", "floor"]
    # the walkers start around 0.2 (most below the floor's 0.25): with the floor required none
    # of the kept sets breaks it, and a's posterior is the normal around 0.3 cut at 0.25
    s = ensemble.EnsembleSettings(seed=5, walkers=16, steps=400, burn=100, thin=1, crn_seeds=1,
                                  calibration_report=str(fit), floor_required=True,
                                  start_from="")
    frame, _, diag = ensemble._mcmc(sim, s, 1, echo=lambda _: None)
    a = ensemble._to_unit(frame.to_numpy())[:, 0]
    assert a.min() >= 0.25 and diag["floor_required"] and diag["rejected_floor"] == 0.0
    assert 0.30 < a.mean() < 0.35 and set(diag["drift_sd"]) == {"model.a", "model.b"}
    # as one statistic among others (sd 0.05) the floor only leans on a: some sets break it
    s = dataclasses.replace(s, floor_required=False)
    frame, _, diag = ensemble._mcmc(sim, s, 1, echo=lambda _: None)
    a = ensemble._to_unit(frame.to_numpy())[:, 0]
    assert (a < 0.25).mean() > 0.02 and not diag["floor_required"]


class _ToyDrawn(ensemble.Simulator):
    """a, b fitted and c drawn: c moves x a little (the drawn parameters' joint effect)."""

    def __init__(self) -> None:
        dims = [space.Dimension(n, 0.0, 1.0, "uniform", 0.5, "", "toy", False, "uncertainty")
                for n in ("model.a", "model.b", "model.c")]
        super().__init__(load_config(), dims, {"x": {"kind": "level", "value": 1.0},
                                                "y": {"kind": "level", "value": 1.0}}, 1,
                         free=[0, 1], drawn=[2])
        self.sd = {"x": 0.0, "y": 0.0}

    def stats(self, z, seed):
        z = np.full(3, np.nan) if z is None else np.asarray(z, dtype=float)
        a, b, c = np.where(np.isfinite(z), ensemble._to_unit(np.nan_to_num(z)), 0.5)
        return {"x": float(a - 0.3 + 0.2 * (c - 0.5)), "y": float(b - 0.6)}


def test_mcmc_runs_each_seed_with_its_own_fixed_draw_of_the_drawn_parameters():
    sim = _ToyDrawn()
    draws = ensemble._nuisance(sim, 7, 30)
    assert np.isnan(draws[:, :2]).all() and np.isfinite(draws[:, 2]).all()
    assert np.array_equal(draws, ensemble._nuisance(sim, 7, 30), equal_nan=True)
    noise = sim.noise_drawn(range(30), draws)
    # c uniform on [0, 1] moves x by 0.2 (c - 0.5): sd 0.2 / sqrt(12) = 0.058; y not at all
    assert noise["x"] == pytest.approx(0.2 / 12 ** 0.5, rel=0.35)
    assert noise["y"] == pytest.approx(0.0)
    post = ensemble.LogPosterior(sim, [1, 2], nuisance=ensemble._nuisance(sim, 7, 2), sd=noise)
    held = ensemble.LogPosterior(sim, [1, 2])
    theta = ensemble._from_unit(np.array([0.3, 0.6]))
    assert post.sd[0] > held.sd[0] > 0       # the drawn parameter's spread widens x's error
    assert post(theta)[0] == post(theta)[0]  # a fixed function of the point
    assert post.scaled(theta)[0] != 0.0 and held.scaled(theta)[0] == pytest.approx(0.0)


def test_mcmc_settings_are_checked(tmp_path):
    s = ensemble.EnsembleSettings(walkers=3)
    with pytest.raises(ConfigError, match="ensemble.walkers = 3: must be even"):
        ensemble._mcmc(_Toy(), s, 1, echo=lambda _: None)
    s = ensemble.EnsembleSettings(walkers=8, steps=10, burn=10)
    with pytest.raises(ConfigError, match="ensemble.burn = 10"):
        ensemble._mcmc(_Toy(), s, 1, echo=lambda _: None)


@pytest.mark.parametrize(("args", "expected"), [
    (["ensemble.walker=40"], "ensemble.walker: unknown setting; the nearest known setting is "
     "ensemble.walkers"),
    (["ensemble.steps=many"], "ensemble.steps: Value 'many'"),
    (["+scenario=land_transfer"], "python -m zq_sim.ensemble does not take a scenario"),
    (["model.rent_growh=0.01"], "nearest known setting is model.rent_growth"),
    (["~ensemble.seed"], "ensemble.seed is a setting"),
])
def test_ensemble_command_line_refused_in_one_line(args, expected):
    from zq_sim import overrides
    problems = overrides.check_app(args, "ensemble", "ensemble", ensemble.EnsembleSettings())
    assert len(problems) == 1 and expected in problems[0], problems


def test_calibrate_command_line_checked_too():
    from zq_sim import overrides
    from zq_sim.calibrate import CalibrationSettings
    check = functools.partial(overrides.check_app, config_name="calibrate",
                              section="calibration", settings=CalibrationSettings())
    assert "nearest known setting is calibration.seed" in check(["calibration.sed=3"])[0]
    # the open table of target values takes keys of its own (added with +, as README says)
    assert check(["calibration.quick=true", "+calibration.targets.premium_rate=0.3",
                  "calibration.only_targets=[premium_rate]"]) == []
    assert check(["ensemble.quick=true"])[0].startswith("ensemble.quick: unknown setting")
    # a fitted parameter's range: its dotted name cannot survive Hydra's key splitting
    line = check(["calibration.parameters.model.irregular_share.low=0.2"])[0]
    assert "entries of calibration.parameters are named with dots" in line
    assert "conf/calibrate.yaml" in line


def test_cli_refuses_before_any_work(tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "zq_sim.ensemble", "ensemble.method=mcmc",
                           "ensemble.walkers=41",
                           f"ensemble.out={tmp_path / 'e'}", f"hydra.run.dir={tmp_path / 'h'}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "zq_sim.ensemble: error: ensemble.walkers = 41: must be even and at least twice the "
        "17 fitted parameters (34)"]
    assert not (tmp_path / "e").exists()

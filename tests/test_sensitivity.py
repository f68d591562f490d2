"""Global sensitivity (sensitivity.py): the pipeline recovers known indices on toy functions of
the model's interface, settings are refused in one line, outputs are written whole or not at all,
and a tiny real analysis runs end to end."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from zq_sim import sensitivity as sa
from zq_sim import sensitivity_report as sr
from zq_sim import space
from zq_sim.config import ConfigError, OutputsExist

OUT = "mean_operating_income_2030"


def toy_dims(n: int, low: float = 0.0, high: float = 1.0) -> list[space.Dimension]:
    return [space.Dimension(f"model.x{i + 1}", low, high, "uniform", (low + high) / 2, "-",
                            "toy", False, "uncertainty") for i in range(n)]


class Linear:
    """y = w . x under the baseline; a policy adds v . x (its effect): known Morris and Sobol."""

    def __init__(self, w, v=None):
        self.w = np.asarray(w, float)
        self.v = None if v is None else np.asarray(v, float)
        self.cases = ("baseline",) if v is None else ("baseline", "three_assets")
        self.outcomes = (OUT,)

    def __call__(self, dims, values, seeds):
        base = np.atleast_2d(values) @ self.w
        cols = [base] if self.v is None else [base, base + np.atleast_2d(values) @ self.v]
        return np.column_stack(cols), 0.0


class Ishigami:
    """The Ishigami function (a = 7, b = 0.1) on [-pi, pi]^3, and a 4th input it ignores."""

    cases = ("baseline",)
    outcomes = (OUT,)

    def __call__(self, dims, values, seeds):
        x = np.atleast_2d(values)
        y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
        return y[:, None], 0.0


def settings(**kw) -> sa.SensitivitySettings:
    s = sa.SensitivitySettings(jobs=1, noise_seeds=2, levers=False, policies=[])
    s.oat.seeds = 2
    for key, value in kw.items():
        obj = s
        *parents, leaf = key.split(".")
        for part in parents:
            obj = getattr(obj, part)
        setattr(obj, leaf, value)
    return s


def run_toy(evaluator, dims, s, levers=()):
    nominal = {d.name: d.default for d in dims}
    return sa.analyse(s, evaluator, dims, levers, nominal=nominal, progress=False, echo=None)


def values(result, method, index, case="baseline", inputs="uncertainties"):
    ix = result.indices
    d = ix[(ix["method"] == method) & (ix["index"] == index) & (ix["case"] == case)
           & (ix["inputs"] == inputs)]
    return d.set_index("parameter")["value"]


def test_linear_function_ranked_and_measured_exactly():
    dims = toy_dims(4)
    w, v = [5.0, 2.0, 0.5, 0.0], [0.0, 0.0, 3.0, 1.0]
    s = settings(**{"morris.trajectories": 6, "sobol.top": 3, "sobol.samples": 512,
                    "oat.parameters": 2})
    result = run_toy(Linear(w, v), dims, s)
    mu_star = values(result, "morris", "mu_star")
    # a linear response: every elementary effect is the weight (per unit range)
    assert mu_star.to_numpy() == pytest.approx(w)
    effect = values(result, "morris", "mu", case="three_assets")
    assert effect.to_numpy() == pytest.approx(v)
    # Sobol inputs taken in turn from the baseline's leaders and the policy effect's
    assert result.top == ["model.x1", "model.x3", "model.x2"]
    s1 = values(result, "sobol", "S1")
    expect = np.array([25.0, 0.25, 4.0]) / 29.25  # x1, x3, x2: w^2 over their sum
    assert s1[result.top].to_numpy() == pytest.approx(expect, abs=0.05)
    assert values(result, "sobol", "ST", case="three_assets")["model.x3"] == pytest.approx(
        1.0, abs=0.05)
    # one at a time, from the low to the high end: exactly the weight
    oat = values(result, "oat", "swing")
    assert oat["model.x1"] == pytest.approx(5.0) and oat["model.x3"] == pytest.approx(0.5)
    # the policy's effect over the sample: v . x for x uniform, always >= 0
    e = result.effects.set_index("case").loc["three_assets"]
    assert e["nominal"] == pytest.approx(0.5 * 4.0) and e["share_positive"] > 0.9


def test_ishigami_indices_recovered_within_their_intervals():
    dims = toy_dims(4, -math.pi, math.pi)
    s = settings(**{"morris.trajectories": 20, "sobol.top": 4, "sobol.samples": 1024,
                    "oat.parameters": 0})
    result = run_toy(Ishigami(), dims, s)
    s1, st = values(result, "sobol", "S1"), values(result, "sobol", "ST")
    names = [d.name for d in dims]
    exact_s1 = [0.3139, 0.4424, 0.0, 0.0]
    exact_st = [0.5576, 0.4424, 0.2437, 0.0]
    assert s1[names].to_numpy() == pytest.approx(exact_s1, abs=0.06)
    assert st[names].to_numpy() == pytest.approx(exact_st, abs=0.06)
    mu_star = values(result, "morris", "mu_star")
    assert mu_star["model.x4"] == 0.0 and mu_star[names[:3]].min() > 1.0
    # x3 acts only through its interaction with x1: sigma large against its mu
    morris = sr.morris_frame(result.indices).set_index("parameter")
    assert morris.at["model.x3", "sigma"] > morris.at["model.x3", "mu_star"]


class NoisyEffect:
    """A clear baseline (5 x1 + x2) and a policy whose effect is replicate noise (sd 1) only."""

    cases = ("baseline", "three_assets")
    outcomes = (OUT,)

    def __call__(self, dims, values, seeds):
        x = np.atleast_2d(values)
        base = 5 * x[:, 0] + x[:, 1]
        noise = np.array([np.mean([np.random.default_rng([s, *np.round(row * 1e6).astype(int)])
                                   .normal() for s in seeds]) for row in x])
        return np.column_stack([base, base + 0.001 * x[:, 3] + noise]), 0.0


def test_a_response_of_noise_chooses_no_sobol_inputs_and_is_flagged():
    dims = toy_dims(4)
    s = settings(**{"morris.trajectories": 6, "sobol.top": 2, "sobol.samples": 64,
                    "oat.parameters": 0, "noise_seeds": 10})
    result = run_toy(NoisyEffect(), dims, s)
    noise = result.noise.set_index("case")
    assert noise.at["three_assets", "share_morris"] > 0.5
    assert noise.at["baseline", "sd"] == 0.0 and noise.at["baseline", "share_morris"] == 0.0
    assert result.top == ["model.x1", "model.x2"]  # the baseline's leaders only
    text = sr.report_text(result)
    assert "the indices below are mostly replicate noise" in text
    st = values(result, "sobol", "ST", case="three_assets")
    assert st.min() > 0.5  # every input's ST raised by the noise, as the report warns


def test_levers_screened_apart_from_the_uncertainties():
    dims = toy_dims(3)
    levers = [space.Dimension(f"policy.l{i}", 0.0, 2.0, "uniform", 1.0, "-", "toy", False,
                              "lever") for i in range(2)]
    s = settings(**{"morris.trajectories": 4, "morris.lever_trajectories": 4, "sobol.top": 2,
                    "sobol.samples": 16, "oat.parameters": 0})
    result = sa.analyse(s, Linear([1.0, 2.0, 3.0]), dims, levers, Linear([4.0, 0.0]),
                        nominal={d.name: 0.5 for d in dims}, progress=False, echo=None)
    lever_mu = values(result, "morris", "mu_star", inputs="levers")
    assert list(lever_mu.index) == ["policy.l0", "policy.l1"]
    assert lever_mu.to_numpy() == pytest.approx([8.0, 0.0])  # per range of 2
    assert set(result.top) <= {d.name for d in dims}
    assert set(result.evaluations["stage"]) == {"morris_uncertainties", "morris_levers",
                                                "sobol"}


def test_settings_checked_in_one_line():
    with pytest.raises(ConfigError, match="sensitivity.calibrated: unknown value 'fitted'.*"
                                          "choose from: fixed, prior"):
        sa.check(sa.SensitivitySettings(calibrated="fitted"))
    with pytest.raises(ConfigError, match="power of 2"):
        sa.check(sa.SensitivitySettings(sobol=sa.SobolSettings(samples=100)))
    with pytest.raises(ConfigError, match="did you mean three_assets"):
        sa.check(sa.SensitivitySettings(policies=["three_asset"]))
    with pytest.raises(ConfigError, match="unknown parameter 'rent_grwth'"):
        sa.check(sa.SensitivitySettings(parameters=["rent_grwth"]))
    with pytest.raises(ConfigError, match="even number"):
        sa.check(sa.SensitivitySettings(morris=sa.MorrisSettings(levels=3)))


@pytest.mark.parametrize("args, expected", [
    (["sensitivity.calibratd=prior"], "sensitivity.calibratd: unknown setting; the nearest "
     "known setting is sensitivity.calibrated; allowed in sensitivity: folder, overwrite"),
    (["sensitivity.sobol.sample=64"], "nearest known setting is sensitivity.sobol.samples"),
    (["sensitivity.calibrated=fitted"], "choose from: fixed, prior"),
    (["sensitivity.outcomes=[mean_income_2030]"], "unknown value 'mean_income_2030'"),
    (["+scenario=land_transfer"], "choose the policies whose effects are analysed with "
     "sensitivity.policies"),
    (["sensitivity.replicates=two"], "sensitivity.replicates"),
    (["years.end=2028"], "years.end = 2028: the outcomes need the years to 2030"),
    (["model.rent_growh=0.01"], "nearest known setting is model.rent_growth"),
])
def test_command_line_refused_in_one_line(args, expected):
    problems = sa.check_command(args)
    assert len(problems) == 1 and expected in problems[0], problems


def test_good_command_lines_pass():
    assert sa.check_command(["quick=true", "sensitivity.policies=[land_transfer]",
                             "sensitivity.calibrated=prior", "model=priors"]) == []


def test_cli_exits_2_with_one_line_and_writes_nothing(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "zq_sim.sensitivity", "quick=true",
                           "sensitivity.folder=elsewhere", f"hydra.run.dir={tmp_path / 'run'}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "zq_sim.sensitivity: error: sensitivity.folder: unknown value 'elsewhere'; choose "
        "from: auto, experiments, hydra"]
    assert not (tmp_path / "run").exists()


def small_result():
    dims = toy_dims(3)
    s = settings(**{"morris.trajectories": 2, "sobol.top": 2, "sobol.samples": 8,
                    "oat.parameters": 1})
    return run_toy(Linear([1.0, 2.0, 0.0], [0.0, 1.0, 0.0]), dims, s)


def test_outputs_written_whole_and_never_over_a_finished_one(tmp_path):
    out = tmp_path / "sensitivity"
    result = small_result()
    sr.write(result, out, config_yaml="a: 1\n")
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "indices.csv", "evaluations.parquet", "config.yaml",
            f"morris_{OUT}.png", f"sobol_{OUT}.png"} <= names
    table = pd.read_csv(out / "indices.csv")
    assert list(table.columns) == ["inputs", "case", "outcome", "parameter", "method", "index",
                                   "value", "confidence", "unit"]
    assert not list(tmp_path.glob(".sensitivity.partial-*"))
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = (out / "report.md").read_text(encoding="utf-8")
    with pytest.raises(OutputsExist, match="sensitivity.overwrite=true"):
        sr.write(result, out)
    assert (out / "report.md").read_text(encoding="utf-8") == before
    sr.write(result, out, overwrite=True)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # a user's file kept
    assert not (out / "config.yaml").exists()  # the old analysis' own files gone


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "sensitivity"

    def broken(result):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(sr, "report_text", broken)
    with pytest.raises(RuntimeError):
        sr.write(small_result(), out)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_figures_drawn_with_units_and_intervals():
    result = small_result()
    morris = sr.morris_frame(result.indices)
    fig, axes = sr.plot_morris(morris[morris["outcome"] == OUT], "case", result.noise, "t")
    ax = axes.ravel()[0]
    assert "mu*" in ax.get_xlabel() and ax.get_title()
    assert len(ax.collections) >= 1  # the points' error bars
    fig, axes = sr.plot_sobol(sr.sobol_frame(result.indices))
    ax = axes.ravel()[0]
    assert len(ax.patches) == 2 * 2  # S1 and ST bars of the two Sobol inputs
    assert [t.get_text() for t in ax.get_yticklabels()] == [sr.short(p) for p in result.top]


def test_model_evaluations_equal_serial_or_parallel():
    import zq_sim

    cfg = zq_sim.load_config(overrides={"years.end": 2030})
    dims = list(space.select(space.uncertainties(), ["rent_growth", "own_income_growth"]))
    ev = sa.ModelEvaluator(cfg, {"three_assets": sa.scenario_changes("three_assets")},
                           ("mean_operating_income_2027", "public_spending_2024_2030"))
    assert ev.base.years.end == 2030 and not ev.base.output.counterfactual
    x = space.from_unit(dims, np.array([[0.0, 0.0], [1.0, 0.5], [0.3, 0.9]]))
    serial = sa.evaluate(ev, dims, x, [11], jobs=1, progress=False)
    parallel = sa.evaluate(ev, dims, x, [11], jobs=2, chunk=1, progress=False)
    assert np.array_equal(serial, parallel)
    assert serial.shape == (3, 4) and np.all(np.isfinite(serial))
    assert serial[1, 0] > serial[0, 0]  # faster rent growth: more income in 2027


@pytest.mark.slow
def test_a_tiny_real_analysis_end_to_end(tmp_path):
    import zq_sim

    base = zq_sim.load_config(overrides={"years.end": 2030})
    cfg = sa.SensitivityConfig(**{f: getattr(base, f) for f in base.__dataclass_fields__})
    cfg.output.progress = False
    cfg.sensitivity = settings(**{
        "parameters": ["rent_growth", "own_income_growth", "lease_pool_sigma",
                       "bidders_reform"],
        "policies": ["three_assets"], "morris.trajectories": 2, "sobol.top": 2,
        "sobol.samples": 4, "oat.parameters": 1})
    result = sa.run_sensitivity(cfg, tmp_path / "out", echo=None)
    assert "model.bidders_reform" not in {d.name for d in result.uncertainties}  # calibrated
    assert "model.bidders_reform" in result.held
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "three_assets" in text and "bidders_reform" in text
    table = pd.read_csv(tmp_path / "out" / "indices.csv")
    assert set(table["method"]) == {"morris", "sobol", "oat"}
    assert table.loc[table["method"] == "morris", "value"].notna().all()


def test_benchmark_reports_rates_and_the_share_outside_the_model(capsys):
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "sensitivity.py"
    spec = importlib.util.spec_from_file_location("zq_bench_sensitivity", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(["--points", "2", "--repeats", "1", "--jobs", "1"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(
        json.dumps(result))
    for d in result["designs"].values():
        assert d["runs"] == 2 * len(result["cases"]) * result["replicates"]
        assert d["batched_runs_per_s"] > 0 and 0 <= d["batched_outside_share"] < 1
        assert 0 <= d["serial_outside_share"] < 1
    plan = result["default_plan"]
    assert plan["total_runs"] == sum(plan["runs"].values()) > 1000
    assert plan["projected_minutes"] > 0


def test_a_leader_must_push_its_response_one_way():
    rows = []
    # "flip": the largest mu* but effects of either sign (as noise gives); "steady": smaller,
    # always positive
    for name, mu_star, mu, sigma in (("flip", 1.0, 0.05, 1.5), ("steady", 0.5, 0.5, 0.1),
                                     ("none", 0.0, 0.0, 0.0)):
        for index, value in (("mu_star", mu_star), ("mu", mu), ("sigma", sigma)):
            rows.append({"inputs": "uncertainties", "case": "three_assets", "outcome": OUT,
                         "parameter": name, "method": "morris", "index": index,
                         "value": value, "confidence": 0.0})
    table = pd.DataFrame(rows)
    assert sa.leaders(table, 1, trajectories=10) == ["steady"]
    assert sa.leaders(table, 3, trajectories=10) == ["steady", "flip", "none"]


def _fake_ensemble(folder, n=5):
    """An ensemble of ``n`` sets of two fitted parameters and one drawn one."""
    import json
    folder.mkdir(parents=True)
    pd.DataFrame({"set": range(n), "weight": 1 / n,
                  "model.bidders_reform": np.linspace(1.0, 3.0, n),
                  "policy.support.threshold": np.linspace(140_000, 180_000, n),
                  "model.rent_growth": 0.02}).to_csv(folder / "ensemble.csv", index=False)
    (folder / "ensemble.json").write_text(json.dumps({
        "free": ["model.bidders_reform", "policy.support.threshold"],
        "drawn": ["model.rent_growth"]}), encoding="utf-8")
    return folder


def test_calibrated_ensemble_makes_the_fitted_parameters_one_input(tmp_path, monkeypatch):
    import zq_sim
    from zq_sim import run as run_module

    folder = _fake_ensemble(tmp_path / "ens")
    s = settings(calibrated="ensemble", ensemble_path=str(folder),
                 parameters=["bidders_reform", "rent_growth", "lease_pool_sigma"])
    cfg = zq_sim.load_config(overrides={"years.end": 2030})
    dims, held = sa.choose_inputs(cfg, s)
    names = [d.name for d in dims]
    # the fitted one leaves the screened list; the drawn one (rent growth) stays an input
    assert names == ["model.rent_growth", "model.lease_pool_sigma", sa.ENSEMBLE_SET]
    assert held == {}
    group = dims[-1]
    assert group.default == 2   # the most central of five evenly spread sets
    assert sorted(set(space.from_unit([group], np.linspace(0, 1, 101)[:, None])[:, 0])) == \
        [0, 1, 2, 3, 4]
    # the evaluator applies the set's fitted values (the policy's own change wins)
    seen = []

    def fake(cfg, seed):
        seen.append((cfg.model.bidders_reform, cfg.policy.support.threshold))
        return pd.DataFrame({"year": range(2021, 2031), "mean_operating_income": 1.0}), None

    monkeypatch.setattr(run_module, "run_replicate", fake)
    ev = sa.ModelEvaluator(cfg, {}, ("mean_operating_income_2027",),
                           sets=sa.ensemble_sets(s))
    ev(dims, np.array([[0.02, 0.5, 4.0], [0.02, 0.5, 0.0]]), [1])
    assert seen == [(3.0, 180_000.0), (1.0, 140_000.0)]
    with pytest.raises(ConfigError, match="no parameter ensemble"):
        sa.check(settings(calibrated="ensemble", ensemble_path=str(tmp_path / "none")))

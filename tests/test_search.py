"""The policy-mix search (search.py): small budgets, real configs, outputs in temporary folders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from zq_sim import search, space
from zq_sim.config import ConfigError, OutputsExist
from zq_sim.paths import CONF_DIR, ROOT

SMALL = ["search.trials=4", "search.population=2", "search.replicates=2", "search.confirm=2",
         "search.confirm_replicates=2", "search.holdout_replicates=2",
         "search.robustness.samples=12", "search.robustness.oat_seeds=1", "search.jobs=1",
         "search.dpi=50", "search.lang=pinyin", "output.progress=false",
         "search.goal.share=0.97", "search.uncertainty=replicates",
         "search.levers=[policy.assistance.fund,policy.talent.instructors]"]


def small_config(*extra: str) -> search.SearchConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="search", overrides=[*SMALL, *extra])
    return OmegaConf.to_object(cfg)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "run"
    result = search.search(small_config(), out, echo=None)
    return out, result


def test_a_small_search_writes_every_output(finished):
    out, result = finished
    for name in ("study.db", "trials.csv", "pareto.csv", "recommended.yaml", "recommended.json",
                 "robustness.csv", "report.md", "front.png", "levers.png"):
        assert (out / name).is_file(), name
    stored = json.loads((out / "recommended.json").read_text(encoding="utf-8"))
    assert stored["scenario"] == "recommended" and stored["trials"] == 4
    assert set(stored["levers"]) == {"policy.assistance.fund", "policy.talent.instructors"}
    assert isinstance(stored["levers"]["policy.talent.instructors"], int)
    claim = stored["claim"]
    assert claim["evaluations"] == 2 and 0.0 <= claim["probability"] <= 1.0
    assert claim["cost_unit_range"]["low"] < claim["cost"] < claim["cost_unit_range"]["high"]
    assert claim["cost"] == pytest.approx(sum(claim["cost_by_item"].values()))
    assert stored["uncertainty"] == "replicates" and stored["parameter_sets"] is None
    seeds = stored["seeds"]
    assert len(seeds["search"]) == 2 and len(seeds["confirm"]) == 2
    assert not set(seeds["search"]) & set(seeds["confirm"])
    assert seeds["holdout_disjoint"] is True and len(seeds["holdout"]) == 2
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4 and trials.loc[trials["trial"] == 0, "policy.talent.instructors"] \
        .iloc[0] == 38  # the 2024 mix is the first candidate
    front = pd.read_csv(out / "pareto.csv")
    assert {"cost", "probability", "probability_lo", "probability_hi", "cost_p05",
            "optuna_front"} <= set(front.columns)
    assert set(front["trial"]) <= set(trials["trial"])
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Check on held-out seeds" in report and "replicates only" in report
    assert "![Public cost against the goal](front.png)" in report


def test_a_finished_search_is_never_overwritten(finished):
    out, _ = finished
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(OutputsExist, match="holds a finished search"):
        search.search(small_config(), out, echo=None)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_the_recommended_scenario_runs_as_it_is(finished, tmp_path):
    from zq_sim.run import run

    out, result = finished
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    shutil.copy(out / "recommended.yaml", conf / "scenario" / "recommended.yaml")
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "+scenario=recommended", "years.end=2027", "replicates=2", "output.villages=false",
            "output.counterfactual=false", "output.progress=false"])
    typed = OmegaConf.to_object(cfg)
    assert typed.scenario == "recommended"
    dims = space.select(space.levers(), list(result["levers"]))
    assert space.current(typed, dims) == result["levers"]
    summary = run(typed, tmp_path / "run", echo=None)
    assert (tmp_path / "run" / "summary.json").is_file()
    # the scenario's runs are the search's held-out check: same mix, same seeds, same cost
    held = result["holdout"]
    assert summary["seeds"] == result["seeds"]["holdout"]
    ts = pd.read_parquet(tmp_path / "run" / "timeseries.parquet")
    cost = ts[ts["year"] >= 2024].groupby("seed")["public_spending"].sum()
    assert cost.mean() == pytest.approx(held["cost"], rel=1e-9)


def test_a_killed_search_resumes_where_it_stopped(tmp_path):
    cfg = small_config("search.trials=3")
    dims = search.check_settings(cfg)
    out = tmp_path / "run"
    out.mkdir()
    base = search.run_config(cfg)
    base.years.end = cfg.search.goal.year
    base.output.counterfactual = False
    base.output.villages = False
    stamp = search.fingerprint(cfg, dims, None)
    study = search.open_study(out / search.STUDY, cfg.search, dims, stamp,
                              space.current(base, dims))
    goal = search.Goal(2027, 200_000.0, 0.97)
    pairs = search.evaluation_pairs(cfg.search, None, "search", 2)
    search.optimise(study, dims, search.Evaluator(base, goal, None), pairs, 2, 2, 0.8)
    first = search.trials_table(study, dims).set_index("trial")
    killed = study.ask()  # asked, never told: what a killed search leaves RUNNING
    search._suggest(killed, dims)
    params = dict(killed.params)
    result = search.search(cfg, out, echo=None)
    again = search.trials_table(study, dims).set_index("trial")
    assert result["trials"] == 3 == len(again)
    pd.testing.assert_frame_equal(again.loc[first.index, first.columns], first)
    resumed = again.drop(index=first.index)
    assert [resumed.iloc[0][k] for k in params] == pytest.approx(list(params.values()))


def test_a_folder_of_another_search_is_refused(tmp_path):
    cfg = small_config("search.trials=1")
    dims = search.check_settings(cfg)
    out = tmp_path / "run"
    out.mkdir()
    stamp = search.fingerprint(cfg, dims, None)
    search.open_study(out / search.STUDY, cfg.search, dims, stamp, {d.name: d.default
                                                                     for d in dims})
    other = small_config("search.trials=1", "search.goal.year=2030")
    with pytest.raises(ConfigError, match=r"holds a search with other settings \(goal differs"):
        search.search(other, out, echo=None)


class StandInEnsemble:
    """What zq_sim.ensemble.load() returns: sets as dotted columns, configure(cfg, i)."""

    def __init__(self) -> None:
        self.sets = pd.DataFrame({"model.rent_growth": [0.0, 0.01, 0.03, 0.04],
                                  "model.own_income_growth": [0.01, 0.02, 0.03, 0.05]})

    def __len__(self) -> int:
        return len(self.sets)

    def configure(self, cfg, i):
        return space.apply(cfg, self.sets.iloc[int(i)].to_dict())


def test_the_seeds_are_spread_over_parameter_sets_of_an_ensemble(tmp_path):
    cfg = small_config("search.trials=2", "search.uncertainty=ensemble",
                       "search.parameter_sets=2", "search.robustness.samples=6")
    ens = StandInEnsemble()
    pairs = search.evaluation_pairs(cfg.search, ens, "search", 4)
    # four seeds spread over two sets in turn: the budget does not grow with the ensemble
    assert len(pairs) == 4 and len({s for _, s in pairs}) == 4
    sets = [i for i, _ in pairs]
    assert sets[:2] == sets[2:] and len(set(sets)) == 2
    result = search.search(cfg, tmp_path / "run", echo=None, ensemble=ens)
    assert result["uncertainty"] == "ensemble" and len(result["parameter_sets"]) == 2
    assert result["claim"]["evaluations"] == 2
    draws = pd.read_csv(tmp_path / "run" / "robustness.csv")
    assert {"model.rent_growth", "model.own_income_growth"} <= set(draws.columns)
    with pytest.raises(ConfigError, match="no parameter ensemble"):
        search.resolve_ensemble(small_config("search.uncertainty=ensemble",
                                             "search.ensemble_path=/nonexistent").search)


def test_candidates_share_their_seeds_and_each_stage_has_its_own():
    from zq_sim.run import replicate_seeds

    s = small_config().search
    a = search.evaluation_pairs(s, None, "search", 5)
    assert a == search.evaluation_pairs(s, None, "search", 5)
    assert [x for _, x in a] == replicate_seeds(s.seed, 5)
    streams = {k: set(search.seeds(s.seed, k, 50)) for k in search.SEED_STREAMS}
    names = list(streams)
    for i, k in enumerate(names):
        for other in names[i + 1:]:
            assert not streams[k] & streams[other], (k, other)
        assert not streams[k] & set(replicate_seeds(20240101, 50))


def test_the_goal_reads_the_time_series_or_the_village_panel():
    ts = pd.DataFrame({"year": [2026, 2027], "share_own_below_200k": [0.2, 0.05],
                       "share_own_below_150k": [0.1, 0.0]})
    panel = pd.DataFrame({"year": [2027] * 4, "operating_income": [1e5, 2.5e5, 3e5, 4e5]})
    assert search.Goal(2027, 200_000.0, 1.0).reached(ts, panel) == pytest.approx(0.95)
    assert search.Goal(2027, 150_000.0, 1.0).reached(ts, panel) == 1.0
    goal = search.Goal(2027, 280_000.0, 0.5)
    assert goal.needs_panel and goal.reached(ts, panel) == 0.5
    assert goal.met(np.array([0.5, 0.49])).tolist() == [True, False]


def test_the_front_keeps_only_what_nothing_beats():
    table = pd.DataFrame({"trial": range(5), "cost": [1.0, 2.0, 2.5, 3.0, 4.0],
                          "probability": [0.0, 0.5, 0.4, 0.9, 0.9],
                          "shortfall": [0.05, 0.01, 0.02, 0.001, 0.0]})
    front = search.pareto_front(table)
    assert front["trial"].tolist() == [0, 1, 3, 4]  # 2 is beaten by 1; 4 is closer than 3
    assert search.cheapest_meeting(table, 0.8)["trial"] == 3
    assert search.cheapest_meeting(table, 0.95) is None
    listed, ok = search.shortlist(table, 0.95, 2)
    assert not ok and listed["trial"].tolist() == [4, 3]
    twice = pd.concat([table, table.iloc[[3]].assign(trial=5)], ignore_index=True)
    assert search.shortlist(twice, 0.8, 3, ["cost", "probability"])[0]["trial"].tolist() == [3, 4]


def test_prim_names_the_conditions_of_failure():
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.random((400, 4)), columns=["model.a", "model.b", "model.c", "model.d"])
    failed = ((x["model.a"] < 0.3) & (x["model.c"] > 0.5)).to_numpy()
    box = search.prim_box(x, failed, density=0.8, peel_alpha=0.05)
    names = {c["name"]: c for c in box["conditions"]}
    assert set(names) == {"model.a", "model.c"}
    assert names["model.a"]["high"] == pytest.approx(0.3, abs=0.05)
    assert names["model.c"]["low"] == pytest.approx(0.5, abs=0.05)
    assert box["density"] >= 0.8 and box["coverage"] > 0.8
    assert search.prim_box(x, np.zeros(400, dtype=bool), 0.8, 0.05) is None


@pytest.mark.parametrize(("args", "message"), [
    (["search.trails=3"], "search.trails: unknown setting; allowed: search.confirm, "),
    (["search.goal.yaer=2030"], "search.goal.yaer: unknown setting; allowed: "
                                "search.goal.share, search.goal.threshold, search.goal.year"),
    (["search.probability=1.5"], "search.probability = 1.5 is outside the allowed range"),
    (["search.sampler=cmaes"], "search.sampler = 'cmaes' is not one of nsga2, tpe"),
    (["search.levers=[policy.pv.subsidyy]"], "search.levers: unknown parameter"),
    (["search.goal.year=2023"], "search.goal.year = 2023 is before years.policy_start"),
    (["+scenario=land_transfer"], "the search starts from the 2024 mix"),
    (["policy.pv.subsidi=0.5"], "unknown setting; the nearest known setting is "
                                "policy.pv.subsidy"),
    (["search.trials=abc"], "search.trials"),
])
def test_bad_settings_are_refused_in_one_line(args, message):
    problems = search.check_command_line(args)
    assert len(problems) == 1 and message in problems[0], problems
    assert "\n" not in problems[0]


def test_the_command_line_refuses_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    proc = subprocess.run([sys.executable, "-m", "zq_sim.search", "search.trails=3",
                           f"hydra.run.dir={out}"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zq_sim.search: error: search.trails: "
                                                   "unknown setting; allowed:")
    assert not out.exists()


def test_the_config_file_declares_every_setting_and_the_default_levers():
    doc = yaml.safe_load((CONF_DIR / "search.yaml").read_text(encoding="utf-8"))
    assert doc["search"]["levers"] == search.DEFAULT_LEVERS
    declared = set(search.settings_keys())

    def keys(node, prefix):
        for k, v in node.items():
            yield prefix + k
            if isinstance(v, dict):
                yield from keys(v, prefix + k + ".")
    assert set(keys(doc["search"], "search.")) == declared
    cfg = small_config()
    assert search.check_settings(cfg)


def test_figures_say_what_they_draw():
    import matplotlib.pyplot as plt

    from zq_sim import search_report, style

    style.use_language("pinyin")
    dims = space.select(space.levers(), ["policy.assistance.fund", "policy.talent.officials"])
    rows = []
    for i, (cost, p) in enumerate([(10e8, 0.0), (12e8, 0.5), (15e8, 0.9), (14e8, 0.2)]):
        rows.append({"trial": i, "cost": cost, "cost_p05": cost * 0.95, "cost_p95": cost * 1.05,
                     "probability": p, "probability_lo": max(p - 0.2, 0),
                     "probability_hi": min(p + 0.2, 1), "shortfall": 0.01 * (1 - p),
                     "reached_mean": 0.9 + 0.1 * p, "reached_p05": 0.85, "reached_p95": 1.0,
                     "policy.assistance.fund": 1e8 + i * 5e7, "policy.talent.officials": 200 + i})
    trials = pd.DataFrame(rows)
    front = search.pareto_front(trials)
    assert front["trial"].tolist() == [0, 1, 2]
    fig, axes = search_report.plot_front(trials, front, rows[2], 0.8, "recommended",
                                         "a goal", [2024, 2027], baseline=rows[0])
    assert "100M yuan" in axes[0].get_xlabel() and "2024-2027" in axes[0].get_xlabel()
    assert "Probability" in axes[0].get_ylabel() and "a goal" in fig._suptitle.get_text()
    assert any(line.get_ydata()[0] == 80 for line in axes[0].get_lines())  # required, dashed
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("recommended" in x for x in labels) and any("2024 mix" in x for x in labels)
    plt.close(fig)
    fig, axes = search_report.plot_levers(front, dims, rows[2], {d.name: d.default for d in dims},
                                          "recommended")
    titles = [ax.get_title() for ax in axes.flat if ax.get_visible() and ax.axison]
    assert titles[0].startswith("assistance.fund (100M yuan") and "people" in titles[1]
    plt.close(fig)
    draws = pd.DataFrame({"model.rent_growth": np.linspace(-0.02, 0.05, 20),
                          "model.own_income_growth": np.linspace(0.0, 0.06, 20)[::-1],
                          "reached": np.linspace(0.9, 1.0, 20)})
    draws["failed"] = draws["model.rent_growth"] < 0.0
    box = {"coverage": 1.0, "density": 0.9, "conditions": [
        {"name": "model.rent_growth", "low": -0.02, "high": 0.0, "qp": 0.001},
        {"name": "model.own_income_growth", "low": 0.0, "high": 0.06, "qp": 0.01}]}
    fig, ax = search_report.plot_prim(draws, box, {"model.rent_growth": "fraction/yr"},
                                      "recommended")
    assert "PRIM box" in ax.get_title() and "rent_growth (fraction/yr)" == ax.get_xlabel()
    assert len(ax.patches) == 1 and len(ax.collections) == 2  # the box; met and missed
    plt.close(fig)
    box["conditions"][1]["qp"] = 0.4  # not told apart from chance: one condition drawn
    fig, ax = search_report.plot_prim(draws, box, {}, "recommended")
    assert "reaching the threshold" in ax.get_ylabel() and len(ax.patches) == 1  # shaded range
    plt.close(fig)


def test_the_benchmark_runs_and_prints_its_figures(capsys):
    import importlib.util

    path = ROOT / "benchmarks" / "search.py"
    spec = importlib.util.spec_from_file_location("zq_benchmark_search", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--candidates", "2", "--seeds", "1", "--jobs", "1", "--repeats", "1"])
    parsed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = parsed["runs"][0]
    assert run["evaluations"] == 2 and run["failed"] == 0 and run["evaluations_per_s"] > 0
    assert run["evaluations_per_s"] == pytest.approx(2 / run["seconds"])
    assert result["runs"][0]["jobs"] == 1


def test_a_candidate_seen_before_is_told_its_result_without_running(tmp_path):
    cfg = small_config("search.trials=1")
    dims = search.check_settings(cfg)
    base = search.run_config(cfg)
    base.years.end = 2027
    base.output.counterfactual = False
    base.output.villages = False
    study = search.open_study(tmp_path / search.STUDY, cfg.search, dims,
                              search.fingerprint(cfg, dims, None), space.current(base, dims))
    evaluator = search.Evaluator(base, search.Goal(2027, 200_000.0, 0.97), None)
    pairs = search.evaluation_pairs(cfg.search, None, "search", 2)
    search.optimise(study, dims, evaluator, pairs, 2, 2, 0.8)  # the 2024 mix, the upper corner
    assert evaluator.runs == 4
    table = search.trials_table(study, dims)
    assert table.loc[1, [d.name for d in dims]].tolist() == [d.high for d in dims]
    study.enqueue_trial(study.trials[0].params)  # the same candidate again
    search.optimise(study, dims, evaluator, pairs, 3, 1, 0.8)
    assert evaluator.runs == 4
    first, _, again = search.trials_table(study, dims).to_dict("records")
    assert {k: v for k, v in first.items() if k != "trial"} == \
        {k: v for k, v in again.items() if k != "trial"}


def test_serial_and_parallel_searches_give_the_same_trials(tmp_path):
    common = ["search.trials=4", "search.robustness.samples=0", "search.holdout_replicates=0",
              "search.confirm=1", "search.confirm_replicates=1"]
    serial = search.search(small_config(*common, "search.jobs=1"), tmp_path / "a", echo=None)
    parallel = search.search(small_config(*common, "search.jobs=2"), tmp_path / "b", echo=None)
    a, b = (pd.read_csv(tmp_path / x / "trials.csv") for x in ("a", "b"))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert serial["claim"] == parallel["claim"] and serial["levers"] == parallel["levers"]


def test_auto_takes_the_committed_ensemble_and_replicates_ignore_it():
    from zq_sim import ensemble
    auto = small_config("search.uncertainty=auto").search
    if ensemble.exists():
        found = search.resolve_ensemble(auto)
        assert found is not None and len(found) >= 100
    else:
        assert search.resolve_ensemble(auto) is None
    assert search.resolve_ensemble(small_config().search) is None

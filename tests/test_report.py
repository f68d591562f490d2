"""Collecting a sweep and writing its report: hand-made job folders, a tiny real sweep, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from zq_sim import report
from zq_sim.callbacks import FAILED, failure_text, reproduce_command

YEARS = (2023, 2024, 2025)
#: Figure resolution where the test does not look at it (the default, 200 dpi, is slower).
FAST = 60
SEEDS = (11, 22, 33)


# ------------------------------------------------------------------------------------------
# A hand-made sweep
# ------------------------------------------------------------------------------------------
def timeseries(scenario: str, level: float, spend: float, seeds=SEEDS, years=YEARS,
               weak: bool = True):
    """A small time series: incomes grow with the year; the seed shifts them a little.

    With ``weak`` it has the weak-village columns of the current model (share of own income
    below 150k/200k, villages on support), which older sweeps lack.
    """
    rows = []
    for i, seed in enumerate(seeds):
        for year in years:
            mean = level * (1 + 0.1 * (year - years[0])) + 1000 * i
            extra = {"share_own_below_150k": 0.3 - level / 2e6, "share_own_below_200k": 0.4,
                     "villages_supported": 100 - level / 1e4, "mean_lease_income": 0.6 * mean,
                     "mean_dividends_income": 0.4 * mean, "mean_support": 2_000.0} if weak else {}
            rows.append({**extra,
                "scenario": scenario, "seed": seed, "year": year,
                "mean_operating_income": mean, "median_operating_income": 0.8 * mean,
                "p10_operating_income": 0.4 * mean, "p90_operating_income": 1.8 * mean,
                "min_operating_income": 0.2 * mean, "min_total_income": 0.3 * mean,
                "mean_total_income": 1.1 * mean, "share_below_150k": 0.1, "share_below_200k": 0.2,
                "gini": 0.3, "total_operating_income": 100 * mean, "total_income": 110 * mean,
                "public_spending": spend + 10 * i, "public_support": 0.1 * spend,
                "companies": 5,
            })
    return pd.DataFrame(rows)


def villages(scenario: str, level: float, seeds=SEEDS, year=YEARS[-1]):
    counties = ["鼎湖区", "高要区", "怀集县", "德庆县"]
    rows = []
    for seed in seeds:
        for k in range(20):
            income = level * (0.5 + k / 20)
            rows.append({"scenario": scenario, "seed": seed, "year": year, "code": f"v{k}",
                         "county": counties[k % 4], "town": "t", "operating_income": income,
                         "total_income": income + 10_000})
    return pd.DataFrame(rows)


def make_job(root: Path, num: int, overrides: list[str], scenario: str, level: float = 300_000,
             spend: float = 1.0e6, with_villages: bool = True, fail: str | None = None,
             finished: bool = True, weak: bool = True) -> Path:
    name = f"{num}_" + ",".join(o.lstrip("+") for o in overrides)
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(
        {"scenario": scenario, "seed": 1, "years": {"policy_start": 2024}}))
    (job / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    if fail:
        (job / FAILED).write_text(f"This job FAILED\n\nerror: {fail}\n")
        return job
    timeseries(scenario, level, spend, weak=weak).to_parquet(job / "timeseries.parquet")
    if with_villages:
        villages(scenario, level).to_parquet(job / "villages.parquet")
    if finished:
        (job / "summary.json").write_text(json.dumps({"scenario": scenario,
                                                     "seeds": list(SEEDS)}))
    return job


@pytest.fixture
def scenario_sweep(tmp_path: Path) -> Path:
    root = tmp_path / "sweep"
    make_job(root, 0, ["+scenario=baseline", "replicates=3"], "baseline", 300_000, 1.0e6)
    make_job(root, 1, ["+scenario=no_reform", "replicates=3"], "no_reform", 250_000, 1.0e6)
    make_job(root, 2, ["+scenario=land_transfer", "replicates=3"], "land_transfer", 320_000,
             1.2e6)
    return root


@pytest.fixture
def grid_sweep(tmp_path: Path) -> Path:
    root = tmp_path / "grid"
    num = 0
    for cov in (0.5, 0.9):
        for push in (1, 2):
            make_job(root, num, [f"policy.three_assets.platform_coverage={cov}",
                                 f"policy.companies.formation_push={push}", "replicates=3"],
                     "baseline", level=200_000 * cov * push, with_villages=False)
            num += 1
    return root


# ------------------------------------------------------------------------------------------
# Collection
# ------------------------------------------------------------------------------------------
def test_parse_overrides_makes_columns():
    got = report.parse_overrides(["+scenario=land_transfer", "seed=7", "years.end=2030",
                                  "policy.three_assets.platform_coverage=0.7",
                                  "output.villages=false", "hydra.launcher.n_jobs=2"])
    assert got == {"scenario": "land_transfer", "root_seed": 7, "years.end": 2030,
                   "policy.three_assets.platform_coverage": 0.7, "output.villages": False}


def test_collect_builds_one_tidy_table(scenario_sweep):
    sweep = report.collect(scenario_sweep, progress=False)
    assert list(sweep.jobs["status"]) == ["ok"] * 3
    runs = sweep.runs
    assert len(runs) == 3 * len(SEEDS) * len(YEARS)
    assert {"job", "scenario", "seed", "replicate", "year", "replicates", "group"} <= set(runs)
    assert set(runs["scenario"]) == {"baseline", "no_reform", "land_transfer"}
    assert sweep.swept == ["scenario"] and sweep.by == "scenario"
    assert sweep.constant == {"replicates": 3}
    assert not runs.duplicated(["job", "seed", "year"]).any()
    assert sweep.villages is not None and set(sweep.villages["year"]) == {YEARS[-1]}


def test_collect_swept_parameters_are_columns(grid_sweep):
    sweep = report.collect(grid_sweep, progress=False)
    cov, push = "policy.three_assets.platform_coverage", "policy.companies.formation_push"
    assert sweep.params == [cov, push]
    assert sorted(sweep.runs[cov].unique()) == [0.5, 0.9]
    assert sorted(sweep.runs[push].unique()) == [1, 2]
    assert sweep.by == "group"
    assert "platform_coverage=0.5, formation_push=2" in set(sweep.runs["group"])


def test_collect_refuses_a_folder_without_jobs(tmp_path):
    with pytest.raises(FileNotFoundError, match="no job folders"):
        report.collect(tmp_path, progress=False)


def test_summary_table_mean_and_interval(scenario_sweep):
    sweep = report.collect(scenario_sweep, progress=False)
    table = report.summary_table(sweep.runs)
    row = table[(table["scenario"] == "baseline")
                & (table["metric"] == "mean_operating_income")].iloc[0]
    values = 300_000 * 1.2 + 1000 * np.arange(3)  # last year, three seeds
    assert row["year"] == YEARS[-1] and row["n"] == 3
    assert row["mean"] == pytest.approx(values.mean())
    assert row["p05"] == pytest.approx(np.percentile(values, 5))
    assert row["p95"] == pytest.approx(np.percentile(values, 95))
    assert set(table["unit"]) >= {"yuan", "fraction of villages"}


# ------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------
FIGURES = ("weak_income", "own_below", "support_villages", "support_cost", "differences",
           "weak_income_difference", "income_sources", "cost_effectiveness", "income_over_time",
           "income_distribution", "counties")


def test_report_writes_tables_figures_markdown_and_html(scenario_sweep):
    md = report.write_report(scenario_sweep, progress=False, lang="pinyin")
    out = scenario_sweep / "report"
    assert md == out / "report.md"
    for name in ("runs.parquet", "jobs.csv", "summary.csv", "differences.csv",
                 "cost_effectiveness.csv", "report.html", *[f"{f}.png" for f in FIGURES]):
        assert (out / name).is_file(), name
    text = md.read_text(encoding="utf-8")
    for name in FIGURES:
        assert f"]({name}.png)" in text
    assert "land_transfer vs baseline" in text and "baseline vs no_reform" in text
    assert "## Weak villages and public cost" in text and "bottom-decile own income" in text
    glance = text.split("## At a glance: the weak villages' own income in 2025")[1].split("##")[0]
    # land_transfer: p10 = 0.4 * 20k * 1.2 higher on every seed; 0.2e6 a year more money
    assert ("- **land_transfer** vs baseline: bottom-decile own income +0.96 万元 [+0.96, +0.96] "
            "(3/3 seeds up); extra public money 2024-2025: 40.0 万元, ") in glance
    assert glance.index("**baseline** vs no_reform") < glance.index("land_transfer")  # +2.4 first
    assert "Older sweep" not in text
    runs = pd.read_parquet(out / "runs.parquet")
    assert {"scenario", "seed", "year", "replicates"} <= set(runs.columns)
    # print resolution
    from PIL import Image

    with Image.open(out / "weak_income.png") as im:
        assert im.info["dpi"][0] == pytest.approx(200, abs=1)
    # a second report does not collect the first one
    report.write_report(scenario_sweep, progress=False, lang="pinyin", dpi=FAST)
    assert len(pd.read_csv(out / "jobs.csv")) == 3


def test_a_new_report_removes_its_own_old_figures_only(scenario_sweep):
    out = scenario_sweep / "report"
    report.write_report(scenario_sweep, progress=False, lang="pinyin", dpi=FAST)
    (out / "my_notes.png").write_bytes(b"the user's own")
    assert (out / "counties.png").is_file()
    for job in scenario_sweep.glob("*_*"):
        (job / "villages.parquet").unlink()  # the next report cannot draw the counties
    report.write_report(scenario_sweep, progress=False, lang="pinyin", dpi=FAST)
    assert not (out / "counties.png").exists()  # not left stale beside the new report
    assert (out / "my_notes.png").read_bytes() == b"the user's own"


def test_html_is_self_contained(scenario_sweep):
    report.write_report(scenario_sweep, progress=False, lang="pinyin", dpi=FAST)
    html = (scenario_sweep / "report" / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    assert ".png\"" not in html and 'src="weak' not in html  # nothing read from beside it
    assert "<table>" in html and "<code>" in html
    import base64
    import re

    first = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(first)[:8] == b"\x89PNG\r\n\x1a\n"


def test_chosen_years_and_differences(scenario_sweep):
    report.write_report(scenario_sweep, progress=False, years=[2024, 1999], lang="pinyin",
                        dpi=FAST)
    out = scenario_sweep / "report"
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary["year"].unique()) == [2024, 2025]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "### 2024" in text and "### 2025" in text
    diffs = pd.read_csv(out / "differences.csv")
    row = diffs[(diffs["scenario"] == "land_transfer") & (diffs["year"] == 2025)
                & (diffs["metric"] == "mean_operating_income")].iloc[0]
    # land_transfer minus baseline on the same seeds: 20k * 1.2 on every seed, so no spread
    assert row["mean"] == pytest.approx(20_000 * 1.2) and row["n"] == 3
    assert row["lo"] == pytest.approx(row["mean"]) and row["n_above"] == 3
    ce = pd.read_csv(out / "cost_effectiveness.csv")
    assert set(ce["year"]) == {2024, 2025}
    assert set(ce.loc[ce["scenario"] == "land_transfer", "cost"]) == {"more"}


def test_shocks_are_drawn_apart_and_left_out_of_the_costs(scenario_sweep):
    make_job(scenario_sweep, 3, ["+scenario=rent_downturn", "replicates=3"], "rent_downturn",
             280_000, 1.0e6)
    make_job(scenario_sweep, 4, ["+scenario=free_lever", "replicates=3"], "free_lever",
             330_000, 1.0e6)
    md = report.write_report(scenario_sweep, progress=False, lang="pinyin", dpi=FAST)
    text = md.read_text(encoding="utf-8")
    assert "shocks (drawn apart from the policies): rent_downturn" in text
    assert "rent_downturn vs baseline (shock)" in text
    assert "Shocks (not policies):\n\n- **rent_downturn** vs baseline" in text
    ce = pd.read_csv(md.parent / "cost_effectiveness.csv")
    assert "rent_downturn" not in set(ce["scenario"])
    free = ce[ce["scenario"] == "free_lever"].iloc[-1]
    assert free["cost"] == "none" and np.isnan(free["weak_ratio"])
    assert "free lever: no ratio" in text


def test_old_sweep_without_the_new_columns_skips_those_panels(tmp_path):
    root = tmp_path / "old"
    make_job(root, 0, ["+scenario=baseline"], "baseline", weak=False, with_villages=False)
    make_job(root, 1, ["+scenario=integrated"], "integrated", 350_000, weak=False,
             with_villages=False)
    md = report.write_report(root, progress=False, lang="pinyin", dpi=FAST)
    text = md.read_text(encoding="utf-8")
    assert "**Older sweep**" in text and "`share_own_below_200k`" in text
    assert "villages below 150k/200k of own income not drawn" in text
    assert "villages on support not drawn" in text
    assert (md.parent / "weak_income.png").is_file()  # p10 is in old sweeps too
    assert not (md.parent / "own_below.png").exists()


def test_several_sweep_folders_are_pooled(scenario_sweep, tmp_path):
    extra = tmp_path / "later"
    make_job(extra, 0, ["+scenario=no_support", "replicates=3"], "no_support", 290_000, 0.5e6)
    make_job(extra, 1, ["+scenario=baseline", "replicates=3"], "baseline", 999_999, 1.0e6)
    out = tmp_path / "both"
    md = report.write_report([scenario_sweep, extra], out=out, progress=False, lang="pinyin",
                             dpi=FAST)
    text = md.read_text(encoding="utf-8")
    jobs = pd.read_csv(out / "jobs.csv")
    assert len(jobs) == 5
    dup = jobs[jobs["status"] == "duplicate"]
    assert list(dup["job"]) == ["later/1_scenario=baseline,replicates=3"]
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs["scenario"]) == {"baseline", "no_reform", "land_transfer", "no_support"}
    assert runs.loc[runs["scenario"] == "baseline", "mean_operating_income"].max() < 999_999
    assert "no_support vs baseline" in text and "## Jobs left out as duplicates" in text


def test_report_falls_back_without_village_panel_and_draws_heatmaps(grid_sweep, tmp_path):
    out = tmp_path / "elsewhere"
    md = report.write_report(grid_sweep, out=out, progress=False, lang="pinyin", dpi=FAST)
    text = md.read_text(encoding="utf-8")
    assert "not the village panel" in text
    assert "County-by-county figure not drawn" in text
    assert not (out / "counties.png").exists()
    assert (out / "heatmap_mean_operating_income.png").is_file()
    assert (out / "heatmap_p10_operating_income.png").is_file()
    assert "no comparator" in text
    assert not (grid_sweep / "report").exists()


def test_failed_jobs_are_named_and_the_rest_reported(scenario_sweep):
    make_job(scenario_sweep, 3, ["+scenario=three_assets", "replicates=3"], "three_assets",
             fail="ConfigError: policy.three_assets.platform_coverage = 1.5 is outside [0, 1]")
    make_job(scenario_sweep, 4, ["+scenario=pv_small_cut", "replicates=3"], "pv_small_cut",
             finished=False)
    sweep = report.collect(scenario_sweep, progress=False)
    failed = sweep.failed.set_index("scenario")
    assert set(failed.index) == {"three_assets", "pv_small_cut"}
    assert "outside [0, 1]" in failed.at["three_assets", "reason"]
    assert "no summary.json" in failed.at["pv_small_cut", "reason"]
    assert set(sweep.runs["scenario"]) == {"baseline", "no_reform", "land_transfer"}
    text = report.write_report(scenario_sweep, progress=False, dpi=FAST).read_text(
        encoding="utf-8")
    assert "## Failed jobs" in text
    assert "3_scenario=three_assets" in text and "4_scenario=pv_small_cut" in text
    assert (scenario_sweep / "report" / "income_over_time.png").is_file()


def test_main_reports_failures_and_returns_zero(scenario_sweep, capsys):
    make_job(scenario_sweep, 3, ["+scenario=three_assets"], "three_assets", fail="Boom: x")
    assert report.main([str(scenario_sweep), "--no-progress", "--dpi", "60"]) == 0
    captured = capsys.readouterr()
    assert "report.md" in captured.out
    assert "job failed, left out" in captured.err and "Boom: x" in captured.err
    assert report.main([str(scenario_sweep / "nothing"), "--no-progress"]) == 2


@pytest.mark.parametrize("args, message", [
    (["--years", "2027,next"], "--years = '2027,next'"),
    (["--lang", "fr"], "invalid choice"),
    (["--dpi", "5"], "--dpi = 5"),
])
def test_main_refuses_bad_options_in_one_line(scenario_sweep, capsys, args, message):
    with pytest.raises(SystemExit) if "--lang" in args else _nothing():
        code = report.main([str(scenario_sweep), "--no-progress", *args])
        assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (scenario_sweep / "report").exists()  # nothing half-written


def test_main_needs_out_for_several_folders(scenario_sweep, tmp_path, capsys):
    assert report.main([str(scenario_sweep), str(scenario_sweep), "--no-progress"]) == 2
    assert "--out is needed" in capsys.readouterr().err


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ------------------------------------------------------------------------------------------
# Failed jobs in a real Hydra sweep
# ------------------------------------------------------------------------------------------
def test_failure_text_says_error_seeds_and_command():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"scenario": "three_assets", "seed": 7, "replicates": 2})
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        text = failure_text(cfg, exc, ["+scenario=three_assets", "x=a b"])
    assert "error: ValueError: bad value" in text
    assert "seed: 7" in text and "replicate seeds: " in text
    assert "python -m zq_sim hydra.mode=RUN +scenario=three_assets 'x=a b'" in text
    assert "Traceback" in text
    assert reproduce_command([]) == "python -m zq_sim hydra.mode=RUN"


APP = '''
import json
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def app(cfg):
    if cfg.x == 2:
        raise RuntimeError("x=2 breaks")
    out = Path(HydraConfig.get().runtime.output_dir)
    (out / "summary.json").write_text(json.dumps({"x": cfg.x}))


if __name__ == "__main__":
    app()
'''

CONFIG = '''
defaults:
  - override hydra/launcher: joblib
  - _self_
x: 1
seed: 3
replicates: 1
hydra:
  sweep:
    dir: {sweep}
    subdir: ${{hydra.job.num}}
  launcher:
    n_jobs: 2
  sweeper:
    max_batch_size: 1   # one batch per job: Hydra would stop before the third without the callback
  callbacks:
    sweep_monitor:
      _target_: zq_sim.callbacks.SweepMonitor
      progress: false
'''


def test_failed_job_writes_failed_txt_and_the_sweep_goes_on(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "app.py").write_text(APP)
    sweep = tmp_path / "sweep"
    (tmp_path / "conf" / "config.yaml").write_text(textwrap.dedent(CONFIG.format(sweep=sweep)))
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    result = subprocess.run([sys.executable, "app.py", "-m", "x=1,2,3"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1, result.stderr
    assert (sweep / "0" / "summary.json").is_file()
    assert (sweep / "2" / "summary.json").is_file()  # the job after the failed one ran
    text = (sweep / "1" / FAILED).read_text(encoding="utf-8")
    assert "error: RuntimeError: x=2 breaks" in text
    assert "seed: 3" in text and "hydra.mode=RUN x=2" in text
    assert "1 job(s) of the sweep failed" in result.stderr
    assert "Traceback" not in result.stderr.split("1 job(s) of the sweep failed")[1]


# ------------------------------------------------------------------------------------------
# A tiny real sweep of the model
# ------------------------------------------------------------------------------------------
def _zq_sim_sweep(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "zq_sim", "-m", *args, "replicates=1", "years.end=2025",
         "output.counterfactual=false", "output.progress=false", "hydra.launcher.n_jobs=2",
         f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)


def test_real_sweep_is_collected_and_reported(tmp_path):
    result = _zq_sim_sweep(tmp_path, "+scenario=baseline,no_reform")
    assert result.returncode == 0, result.stderr
    # one comparison table at the end rather than a table per job, then folder and command
    assert "Targets, 2024" not in result.stdout
    assert "2 finished job(s)" in result.stdout
    assert f"report:       python -m zq_sim.report {tmp_path / 'sweep'}" in result.stdout
    sweep = report.collect(tmp_path / "sweep", progress=False)
    assert list(sweep.jobs["status"]) == ["ok", "ok"]
    assert set(sweep.runs["scenario"]) == {"baseline", "no_reform"}
    assert sorted(sweep.runs["year"].unique()) == [2023, 2024, 2025]
    assert sweep.runs.groupby("job")["seed"].nunique().tolist() == [1, 1]
    assert sweep.villages is not None and set(sweep.villages["year"]) == {2025}
    md = report.write_report(tmp_path / "sweep", progress=False, dpi=FAST)
    assert "baseline vs no_reform" in md.read_text(encoding="utf-8")
    assert (md.parent / "report.html").is_file() and (md.parent / "weak_income.png").is_file()
    assert (md.parent / "counties.png").is_file()


def test_real_sweep_with_a_bad_value_keeps_the_good_jobs(tmp_path):
    result = _zq_sim_sweep(tmp_path, "policy.three_assets.platform_coverage=0.5,1.5")
    jobs = sorted(p for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert len(jobs) == 2
    assert (jobs[0] / "summary.json").is_file()
    assert "outside the allowed range" in (jobs[1] / FAILED).read_text(encoding="utf-8")
    assert result.returncode == 1


@pytest.mark.parametrize("lang", ["pinyin", "zh"])
def test_money_headers_name_the_unit_the_values_are_in(lang):
    from zq_sim import plotting, style

    if lang == "zh" and style.find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    style.use_language(lang)
    try:
        big = plotting.scale_of("public_spending", [3.0e8])
        small = plotting.scale_of("public_support", [3.0e6])
        assert report._unit_in("public_spending", big) == "亿元"
        assert report._unit_in("public_support", small) == "万元"
        assert report._fmt_in("public_spending", 3.0e8, big) == "3.00"
    finally:
        style.use_language("pinyin")

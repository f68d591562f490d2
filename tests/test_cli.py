"""The command line: python -m zq_sim, run in a subprocess with outputs in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from zq_sim.data import load_targets

CONF_DIR = (Path(__file__).resolve().parents[1] / "conf").resolve()
SCENARIOS = sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))
STATS = {"mean", "p05", "p95", "min", "max"}
HORIZON = ("mean_operating_income", "median_operating_income", "min_total_income",
           "share_below_150k", "share_below_200k", "gini", "total_operating_income",
           "public_spending")


def zq_sim(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m zq_sim`` with its working and output folders under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "zq_sim", *args, f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    result = zq_sim(tmp, "replicates=2", "years.end=2025")
    return tmp, result


def test_cli_run_succeeds(good_run):
    tmp, result = good_run
    assert result.returncode == 0, result.stderr
    run_dir = tmp / "run"
    for name in ("summary.json", "timeseries.parquet", "villages.parquet"):
        assert (run_dir / name).is_file(), name
    assert not (tmp / "outputs").exists()  # nothing written outside hydra.run.dir
    assert "Targets, 2024" in result.stdout and "Horizon, 2025" in result.stdout


def test_cli_summary_contract(good_run):
    tmp, result = good_run
    summary = json.loads((tmp / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario"] == "baseline"
    assert len(summary["seeds"]) == 2
    assert isinstance(summary["config"], dict) and summary["config"]["replicates"] == 2
    targets = load_targets()["targets"]
    assert set(targets) <= set(summary["targets"])
    for name in targets:
        entry = summary["targets"][name]
        assert isinstance(entry, dict) and set(entry) == STATS, name
        assert entry["mean"] is not None, name
        assert entry["min"] <= entry["p05"] <= entry["mean"] <= entry["p95"] <= entry["max"], name
    for name in HORIZON:
        entry = summary["horizon"][name]
        assert set(entry) == STATS, name
        assert entry["mean"] is not None, name
        assert entry["min"] <= entry["p05"] <= entry["mean"] <= entry["p95"] <= entry["max"], name


def test_cli_timeseries_has_both_replicates(good_run):
    tmp, _ = good_run
    ts = pd.read_parquet(tmp / "run" / "timeseries.parquet")
    assert ts["seed"].nunique() == 2
    assert sorted(ts["year"].unique().tolist()) == [2023, 2024, 2025]
    assert {"scenario", "seed", "year"} <= set(ts.columns)


BAD = {
    "+scenario=nosuch": ["nosuch", *SCENARIOS],
    "policy.three_assets.platform_coverage=1.5": ["policy.three_assets.platform_coverage",
                                                  "[0, 1]"],
    "replicates=0": ["replicates"],
    "years.end=2020": ["years.end"],
    "policy.land.service_fee_multiplier=-1": ["policy.land.service_fee_multiplier"],
    "nosuchkey=1": ["nosuchkey", "unknown setting"],
    "model.nosuch=1": ["model.nosuch", "unknown setting"],
    "replicates=abc": ["replicates", "abc"],
    "policy.talent.targeting=east": ["policy.talent.targeting", "weak"],
    "population.scale=0": ["population.scale"],
    "+experiment=nosuch": ["experiment", "scenario_comparison"],
    "model=nosuch": ["model", "calibrated", "priors"],
    "+policy.three_assets.platform_coverag=0.9": [
        "policy.three_assets.platform_coverag:", "nearest known setting is "
        "policy.three_assets.platform_coverage"],
    "++model.contracts_per_villag=3": ["model.contracts_per_villag:",
                                       "model.contracts_per_village"],
    "~seed": ["~seed", "cannot be removed"],
    "+seed=3": ["seed", "without +"],
    "scenario=land_transfer": ["+scenario=land_transfer"],
    "+scenario@_global_=../../x": ["../../x", "baseline"],
    "+scenario@policy=baseline": ["@_global_"],
    "seed=1,2": ["-m"],
    "=5": ["needs a name"],
    "seed=nan": ["seed"],
    "policy.pv.subsidy=nan": ["policy.pv.subsidy", "finite"],
    "policy.land.service_fee_multiplier=1e308": ["policy.land.service_fee_multiplier",
                                                 "[0, 100]"],
    "model.contracts_per_village=1e300": ["model.contracts_per_village", "500"],
    "seed=99999999999999999999999": ["seed", "9223372036854775807"],
}


@pytest.mark.parametrize("override", list(BAD))
def test_cli_bad_override_fails_with_one_line(override, tmp_path):
    # keep a run short should the override wrongly be accepted
    quick = [q for q in ("replicates=1", "years.end=2024", "output.counterfactual=false")
             if q.split("=")[0] != override.split("=")[0]]
    result = zq_sim(tmp_path, override, *quick)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("zq_sim: error:")
    assert "Traceback" not in result.stderr
    for word in BAD[override]:
        assert word in line, f"{word!r} missing from: {line}"
    assert not list(tmp_path.rglob("summary.json"))
    assert not list(tmp_path.rglob("*.parquet"))
    assert not (tmp_path / "run").exists()  # no output folder left behind


@pytest.mark.slow
def test_cli_sweep_writes_one_summary_per_job(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "zq_sim", "-m", "+scenario=baseline,no_reform", "replicates=1",
         "years.end=2024", "output.counterfactual=false", "hydra.launcher.n_jobs=2",
         f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    summaries = sorted((tmp_path / "sweep").rglob("summary.json"))
    assert len(summaries) == 2
    names = {json.loads(p.read_text(encoding="utf-8"))["scenario"] for p in summaries}
    assert names == {"baseline", "no_reform"}


def test_sweep_rerun_refuses_finished_jobs_and_resume_skips_them(tmp_path):
    sweep = tmp_path / "sweep"
    args = [sys.executable, "-m", "zq_sim", "-m", "seed=1,2", "replicates=1", "years.end=2024",
            "output.counterfactual=false", f"hydra.sweep.dir={sweep}"]
    first = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    summaries = sorted(sweep.glob("*/summary.json"))
    assert len(summaries) == 2
    before = {p: p.read_bytes() for p in summaries}
    again = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1
    assert "2 job(s) not run" in again.stderr
    assert not list(sweep.rglob("FAILED.txt"))
    assert {p: p.read_bytes() for p in summaries} == before
    resumed = subprocess.run([*args, "resume=true"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("skipped (resume)") == 2


@pytest.mark.parametrize(("values", "bad"), [
    (["-m", "seed=1,abc,xyz"], ["abc", "xyz"]),
    (["-m", "+scenario=baseline,nosuch"], ["nosuch"]),
    (["-m", "seed=1,2", "policy.pv.subsidy=2"], ["policy.pv.subsidy"]),  # in every job
    (["-m", "+policy.pv.subsid=0.5,0.6"], ["policy.pv.subsidy"]),
    (["+experiment=coverage_by_push", "policy.companies.formation_push=-1"],
     ["policy.companies.formation_push"]),
])
def test_sweep_with_bad_values_refuses_before_starting(values, bad, tmp_path):
    sweep = tmp_path / "sweep"
    result = subprocess.run(
        [sys.executable, "-m", "zq_sim", *values, "replicates=1", "years.end=2024",
         f"hydra.sweep.dir={sweep}"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == len(bad), result.stderr
    for line, word in zip(lines, bad, strict=True):
        assert line.startswith("zq_sim: error:") and word in line, line
    assert "Traceback" not in result.stderr
    assert not sweep.exists()  # nothing started


def test_output_folder_that_cannot_be_made(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    result = subprocess.run(
        [sys.executable, "-m", "zq_sim", "replicates=1", "years.end=2024",
         f"hydra.run.dir={tmp_path / 'a_file' / 'run'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not a folder" in lines[0], result.stderr

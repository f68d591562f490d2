"""The sweep's ending: one comparison table, the folder and the report command; the warning
when a command-line list replaces a saved experiment's."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import yaml

from zq_sim import sweep_summary


def job(root: Path, num: int, scenario: str, mean: float, extra: list[str] = (),
        finished: bool = True, horizon_p10: bool = True) -> Path:
    folder = root / f"{num}_scenario={scenario}"
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump([f"+scenario={scenario}", "replicates=2", *extra]))
    horizon = {"mean_operating_income": {"mean": mean}, "public_spending": {"mean": 2.5e8}}
    if horizon_p10:
        horizon["p10_operating_income"] = {"mean": 0.5 * mean}
    pd.DataFrame({"year": [2029, 2030, 2030], "seed": [1, 1, 2],
                  "p10_operating_income": [1.0, 0.4 * mean, 0.6 * mean]}).to_parquet(
        folder / "timeseries.parquet")
    if finished:
        (folder / "summary.json").write_text(json.dumps(
            {"scenario": scenario, "seeds": [1, 2], "horizon_year": 2030, "horizon": horizon}))
    return folder


def test_end_message_compares_the_jobs_then_says_where_and_what_next(tmp_path):
    job(tmp_path, 0, "baseline", 600_000)
    job(tmp_path, 1, "integrated", 800_000, horizon_p10=False)
    job(tmp_path, 2, "rent_downturn", 550_000)
    job(tmp_path, 3, "three_assets", 1.0, finished=False)
    text = sweep_summary.end_message(tmp_path)
    lines = text.splitlines()
    assert "3 finished job(s), year 2030, means over 2 replicate(s)" in lines[0]
    assert "mean own income" in lines[1] and "public money 亿元" in lines[1]
    rows = {ln.split("  ")[0].strip(): ln.split() for ln in lines[2:5]}
    assert rows["baseline"][1:] == ["60.0", "30.0", "2.50"]
    # a summary without the bottom decile: read from the time series' last year (mean 0.5)
    assert rows["integrated"][1:] == ["80.0", "40.0", "2.50"]
    assert "rent_downturn (shock)" in rows
    assert lines[-2] == f"sweep folder: {tmp_path.resolve()}"
    assert lines[-1] == f"report:       python -m zq_sim.report {tmp_path.resolve()}"


def test_end_message_counts_only_this_sweeps_jobs(tmp_path):
    old = job(tmp_path, 0, "baseline", 600_000)
    past = time.time() - 3600
    os.utime(old / ".hydra" / "overrides.yaml", (past, past))
    job(tmp_path, 1, "integrated", 800_000)
    text = sweep_summary.end_message(tmp_path, since=time.time() - 60)
    assert "1 finished job(s)" in text and "baseline" not in text
    assert "no job of the sweep finished" in sweep_summary.end_message(tmp_path / "none")


def test_swept_settings_label_the_rows(tmp_path):
    job(tmp_path, 0, "baseline", 600_000, ["policy.companies.formation_push=1"])
    job(tmp_path, 1, "baseline", 700_000, ["policy.companies.formation_push=2"])
    text = sweep_summary.comparison_table(tmp_path)
    assert "baseline, formation_push=1" in text and "baseline, formation_push=2" in text


def test_warning_when_a_list_replaces_an_experiments_list():
    warn = sweep_summary.experiment_list_warning(
        ["+experiment=scenario_comparison", "+scenario=baseline,no_support", "replicates=3"])
    assert warn.startswith("zq_sim: warning: +scenario=baseline,no_support on the command line "
                           "REPLACES experiment scenario_comparison's list")
    assert "land_transfer" in warn and "Adding a scenario to a saved experiment" in warn
    assert sweep_summary.experiment_list_warning(
        ["+experiment=scenario_comparison", "replicates=3"]) is None
    assert sweep_summary.experiment_list_warning(["+scenario=a,b"]) is None
    assert sweep_summary.experiment_list_warning(
        ["+experiment=coverage_by_push", "policy.companies.formation_push=3"]).count(
        "REPLACES") == 1

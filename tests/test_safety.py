"""Output safety: one run per folder, finished folders untouched, failures leave no trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zq_sim import folder
from zq_sim.config import OutputsExist

QUICK = ("replicates=1", "years.end=2024", "output.counterfactual=false")


def zq_sim(cwd: Path, *args: str, env: dict | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m zq_sim ARGS`` in ``cwd``."""
    env = {k: v for k, v in (env or os.environ).items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run([sys.executable, "-m", "zq_sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``root``: its bytes and modification time."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines()
            if line.strip() and "rep/s]" not in line and "it/s]" not in line]


# ------------------------------------------------------------------------ the folder lock
def test_lock_refuses_a_second_holder(tmp_path):
    with folder.locked(tmp_path / "run"):
        busy = f"in use by another run .process {os.getpid()}"
        with pytest.raises(folder.FolderBusy, match=busy), folder.locked(tmp_path / "run"):
            pass
    with folder.locked(tmp_path / "run"):  # released at the end of the block
        pass


def test_folder_busy_is_a_refusal():
    assert issubclass(folder.FolderBusy, OutputsExist)  # sweeps refuse, write no FAILED.txt


def test_two_concurrent_runs_into_one_folder(tmp_path):
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    first = subprocess.Popen(
        # long enough that the second, a fresh Python process, is refused while it runs (40
        # replicates to 2030 once ended first on a loaded CI machine)
        [sys.executable, "-m", "zq_sim", "seed=1", "replicates=120", "years.end=2030",
         "output.counterfactual=false", "output.villages=false", f"hydra.run.dir={out}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lock = out / folder.LOCK
    deadline = time.time() + 120
    while not (lock.is_file() and lock.read_text().strip()) and time.time() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before the second started"
    second = zq_sim(tmp_path, "seed=2", *QUICK, f"hydra.run.dir={out}")
    still_running = first.poll() is None
    _, first_err = first.communicate(timeout=600)
    assert still_running, "the first run ended before the second was refused"
    assert first.returncode == 0, first_err
    assert second.returncode == 2
    lines = error_lines(second)
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith("zq_sim: error:") and "in use by another run" in lines[0]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["seed"] == 1 and summary["config"]["replicates"] == 120
    assert "seed=2" not in (out / ".hydra" / "overrides.yaml").read_text()
    assert not (out / "villages.parquet").exists()  # nothing of the second run


# ------------------------------------------------------------------------ finished folders
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finished")
    result = zq_sim(tmp, *QUICK, f"hydra.run.dir={tmp / 'run'}")
    assert result.returncode == 0, result.stderr
    return tmp, tmp / "run"


@pytest.mark.parametrize("args", [("seed=7",), ("resume=true",), ()],
                         ids=["other-seed", "resume", "same"])
def test_refused_or_skipped_run_changes_nothing(finished_run, args):
    tmp, run = finished_run
    before = snapshot(run)
    assert {".hydra/config.yaml", ".hydra/overrides.yaml", "summary.json"} <= set(before)
    result = zq_sim(tmp, *QUICK, *args, f"hydra.run.dir={run}")
    if args == ("resume=true",):
        assert result.returncode == 0, result.stderr
        assert "skipped (resume)" in result.stdout
    else:
        assert result.returncode == 2
        lines = error_lines(result)
        assert len(lines) == 1 and "already holds outputs" in lines[0], result.stderr
    assert snapshot(run) == before


def test_a_killed_runs_leftovers_are_cleared(tmp_path):
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("- seed=99\n")
    (run / "villages.parquet").write_bytes(b"not the new run's")  # an unfinished run's
    result = zq_sim(tmp_path, *QUICK, "output.villages=false", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr
    assert not (run / "villages.parquet").exists()
    assert "seed=99" not in (run / ".hydra" / "overrides.yaml").read_text()


def test_sweep_rerun_leaves_finished_job_folders_untouched(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "seed=1,2", *QUICK, f"hydra.sweep.dir={sweep}", "hydra.launcher.n_jobs=2"]
    first = zq_sim(tmp_path, *args)
    assert first.returncode == 0, first.stderr
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 2
    before = snapshot(sweep)  # the jobs' folders and the sweep's multirun.yaml
    # the same job folders (the seed is not in their names), another config: refused
    again = zq_sim(tmp_path, *[a.replace("seed=1,2", "seed=3,4") for a in args])
    assert again.returncode == 1, again.stderr
    assert "2 job(s) not run" in again.stderr
    assert snapshot(sweep) == before
    resumed = zq_sim(tmp_path, *args, "resume=true")
    assert resumed.returncode == 0, resumed.stderr
    assert snapshot(sweep) == before


def test_an_existing_empty_folder_survives_an_error(tmp_path):
    run = tmp_path / "mine"
    run.mkdir()
    env = {**os.environ, "ZQ_DATA_DIR": str(tmp_path / "no_data_here")}
    result = zq_sim(tmp_path, *QUICK, f"hydra.run.dir={run}", env=env)
    assert result.returncode == 2
    assert len(error_lines(result)) == 1, result.stderr
    assert run.is_dir() and not list(run.iterdir())


# ------------------------------------------------------------------------ non-finite outputs
def test_a_non_finite_output_stops_the_run_naming_column_year_and_stage(monkeypatch, tmp_path):
    from zq_sim import run as run_module
    from zq_sim.config import RunConfig

    cfg = RunConfig()
    cfg.replicates, cfg.years.end, cfg.output.progress = 1, 2025, False
    cfg.policy.land.service_fee_multiplier = 1e308  # beyond its bound: validation is skipped
    from zq_sim import model as model_module

    monkeypatch.setattr(run_module, "validate", lambda c: c)
    monkeypatch.setattr(model_module, "validate", lambda c: c)  # the model checks its config too
    with pytest.raises(run_module.RunFailed) as info:
        run_module.run(cfg, tmp_path / "run", echo=None)
    message = str(info.value)
    # the fee's multiplier makes the year's levers infinite (levers_for, in begin_year)
    assert "is nan in 2024" in message and "stage begin_year" in message
    assert "levers.service_fee" in message
    assert not (tmp_path / "run" / "summary.json").exists()


def test_first_nonfinite_finds_the_earliest_year():
    import numpy as np
    import pandas as pd

    from zq_sim.run import first_nonfinite

    ts = pd.DataFrame({"year": [2023, 2024, 2025], "a": [1.0, 2.0, np.inf],
                       "b": [0.0, np.nan, 1.0], "c": [np.nan] * 3})
    assert first_nonfinite(ts, skip=("c",)) == ("b", 2024, pytest.approx(np.nan, nan_ok=True))
    assert first_nonfinite(ts[["year", "a"]].iloc[:2]) is None


# ------------------------------------------------------------------------ the data used
def test_data_is_recorded_and_compared_on_resume(finished_run, tmp_path):
    import shutil

    from zq_sim import data

    tmp, run = finished_run
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["data"]["dir"] == str(data.DATA_DIR.resolve())
    assert summary["data"]["sha256"] == data.fingerprint()["sha256"]
    assert set(summary["data"]["files"]) == set(data.RUN_FILES)
    before = snapshot(run)
    same = tmp_path / "same"
    shutil.copytree(data.DATA_DIR, same)
    skipped = zq_sim(tmp, *QUICK, "resume=true", f"hydra.run.dir={run}",
                     env={**os.environ, "ZQ_DATA_DIR": str(same)})
    assert skipped.returncode == 0 and "skipped (resume)" in skipped.stdout, skipped.stderr
    other = tmp_path / "other"
    shutil.copytree(data.DATA_DIR, other)
    path = other / "targets.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("value: 500000", "value: 500001"),
                    encoding="utf-8")
    refused = zq_sim(tmp, *QUICK, "resume=true", f"hydra.run.dir={run}",
                     env={**os.environ, "ZQ_DATA_DIR": str(other)})
    assert refused.returncode == 2
    lines = error_lines(refused)
    assert len(lines) == 1 and "made with other data" in lines[0], refused.stderr
    assert snapshot(run) == before


# ------------------------------------------------------------------------ memory and time
def test_estimate_grows_with_scale_years_and_replicates():
    from zq_sim import resources
    from zq_sim.config import RunConfig

    base = RunConfig()
    gb, seconds = resources.estimate(base)
    assert 0.2 < gb < 1.0 and 0.5 < seconds < 60  # a default run: ~0.3 GB, a few seconds
    bigger = RunConfig()
    bigger.population.scale = 100
    assert resources.estimate(bigger)[0] > 5 * gb
    longer = RunConfig()
    longer.replicates = 1000
    assert resources.estimate(longer)[0] == gb  # outputs are written as replicates finish
    assert resources.estimate(longer)[1] == pytest.approx(100 * seconds)
    assert resources.machine_memory_gb() > 0.5


def test_a_run_that_cannot_fit_memory_is_refused_before_starting(tmp_path):
    from zq_sim import resources

    have = resources.machine_memory_gb()
    result = zq_sim(tmp_path, "population.scale=10000", f"hydra.run.dir={tmp_path / 'run'}")
    if have > 200:  # pragma: no cover - a machine large enough for it
        pytest.skip("this machine could hold population.scale=10000")
    assert result.returncode == 2
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert "GB of memory" in lines[0] and "at most population.scale=" in lines[0]
    fits = int(lines[0].split("at most population.scale=")[1].split()[0])
    assert 1 <= fits < 10000
    assert not (tmp_path / "run").exists()


def test_replicates_are_written_as_they_finish(tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq

    from zq_sim.config import RunConfig
    from zq_sim.run import replicate_seeds, run, run_replicate

    cfg = RunConfig()
    cfg.replicates, cfg.years.end, cfg.output.progress = 3, 2025, False
    cfg.output.counterfactual = False
    run(cfg, tmp_path, echo=None)
    for name in ("timeseries.parquet", "villages.parquet"):
        assert pq.ParquetFile(tmp_path / name).num_row_groups == 3  # one per replicate
    ts = pd.read_parquet(tmp_path / "timeseries.parquet")
    seeds = replicate_seeds(cfg.seed, 3)
    assert ts["seed"].drop_duplicates().tolist() == seeds
    one, panel = run_replicate(cfg, seeds[1])
    got = ts[ts["seed"] == seeds[1]].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, one)
    villages = pd.read_parquet(tmp_path / "villages.parquet")
    assert len(villages) == 3 * len(panel)
    assert not list(tmp_path.glob(".*.tmp"))


# ------------------------------------------------------------------------ a lost worker
def test_a_lost_worker_fails_its_job_and_the_others_go_on(tmp_path):
    sweep = tmp_path / "sweep"
    env = {**os.environ, "ZQ_SIM_TEST_KILL_SEED": "2"}  # the job of root seed 2 kills itself
    result = zq_sim(tmp_path, "-m", "seed=1,2,3,4", *QUICK, "output.villages=false",
                    "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}", env=env)
    assert result.returncode == 1, result.stderr
    assert "1 job(s) of the sweep failed" in result.stderr
    assert "Traceback" not in result.stderr
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(jobs) == 4
    for job in jobs:
        seed = int(yaml_seed(job))
        if seed == 2:
            text = (job / "FAILED.txt").read_text(encoding="utf-8")
            assert "WorkerLost" in text and "seed=2" in text
            assert not (job / "summary.json").exists()
        else:
            assert (job / "summary.json").is_file() and not (job / "FAILED.txt").exists()


def yaml_seed(job: Path) -> str:
    """The root seed a job of a sweep ran with (its .hydra/config.yaml)."""
    for line in (job / ".hydra" / "config.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("seed:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no seed in {job}")


# ------------------------------------------------------------------------ the report's inputs
@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sweep")
    result = zq_sim(tmp, "-m", "seed=1,2,3", *QUICK, "output.villages=false",
                    "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp / 'sweep'}")
    assert result.returncode == 0, result.stderr
    return tmp / "sweep"


def _copy_sweep(small_sweep: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    import shutil

    root = tmp_path / "sweep"
    shutil.copytree(small_sweep, root)
    return root, sorted(p for p in root.iterdir() if p.is_dir())


def test_report_takes_a_seed_beyond_int64_and_a_null_summary(small_sweep, tmp_path):
    import pandas as pd

    from zq_sim import report

    root, jobs = _copy_sweep(small_sweep, tmp_path)
    overrides = jobs[0] / ".hydra" / "overrides.yaml"
    overrides.write_text(overrides.read_text().replace("seed=1", f"seed={2**64 + 1}"))
    (jobs[2] / "summary.json").write_text("null")
    report.main([str(root), "--no-progress"])
    runs = pd.read_parquet(root / "report" / "runs.parquet")
    assert str(2**64 + 1) in set(runs["root_seed"].astype(str))
    table = pd.read_csv(root / "report" / "jobs.csv")
    (reason,) = table.loc[table["status"] != "ok", "reason"]
    assert "not a JSON object" in reason


def test_report_removes_an_earlier_reports_public_money_files(small_sweep, tmp_path):
    from zq_sim import report

    root, _ = _copy_sweep(small_sweep, tmp_path)  # one scenario: nothing to compare with
    (root / "report").mkdir()
    for stale in ("public_money.csv", "public_money.png"):
        (root / "report" / stale).write_text("from an earlier report")
    report.main([str(root), "--no-progress"])
    assert (root / "report" / "report.md").is_file()
    assert not (root / "report" / "public_money.csv").exists()
    assert not (root / "report" / "public_money.png").exists()


def test_a_sweep_job_whose_folder_is_busy_is_refused_alone(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "seed=1,2", *QUICK, "output.villages=false", f"hydra.sweep.dir={sweep}",
            "hydra.launcher.n_jobs=2"]
    assert zq_sim(tmp_path, *args).returncode == 0
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    busy = jobs[0]
    (busy / "summary.json").unlink()  # unfinished: a rerun would take it on...
    with folder.locked(busy):  # ...but another run is writing into it
        before = snapshot(busy)
        result = zq_sim(tmp_path, *args, "resume=true")
        assert snapshot(busy) == before
    assert result.returncode == 1, result.stderr
    assert "1 job(s) not run" in result.stderr and busy.name in result.stderr
    assert not (busy / "FAILED.txt").exists()
    assert (jobs[1] / "summary.json").is_file()


def test_a_read_only_output_folder_is_refused(tmp_path, monkeypatch):
    from zq_sim import overrides

    (tmp_path / "ro").mkdir()
    # the tests may run as root, for whom no folder is read-only: ask os.access to say it is
    monkeypatch.setattr(overrides.os, "access", lambda path, mode: Path(path) != tmp_path / "ro")
    assert "is not writable" in overrides._writable(tmp_path / "ro" / "run")
    assert overrides._writable(tmp_path / "elsewhere" / "run") is None

"""Same seed, same tables; different seeds, different tables; stable replicate seeds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from zq_sim.model import ZhaoqingModel
from zq_sim.run import replicate_seeds, run


def _model_tables(cfg, seed):
    model = ZhaoqingModel(cfg, rng=seed)
    return model.run(), model.village_panel()


def test_same_seed_same_model_tables(small_cfg):
    ts1, panel1 = _model_tables(small_cfg, 42)
    ts2, panel2 = _model_tables(small_cfg, 42)
    pd.testing.assert_frame_equal(ts1, ts2, check_exact=True)
    pd.testing.assert_frame_equal(panel1, panel2, check_exact=True)


def test_different_seeds_differ(small_cfg):
    ts1, panel1 = _model_tables(small_cfg, 42)
    ts2, panel2 = _model_tables(small_cfg, 43)
    assert not ts1.equals(ts2)
    assert not np.array_equal(panel1["operating_income"], panel2["operating_income"])
    assert panel1["code"].tolist() == panel2["code"].tolist()  # the same real villages


def test_same_seed_same_files(small_cfg, tmp_path):
    small_cfg.years.end = 2025
    a, b = tmp_path / "a", tmp_path / "b"
    run(small_cfg, a, echo=None)
    run(small_cfg, b, echo=None)
    for name in ("timeseries.parquet", "villages.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name),
                                      check_exact=True)
    sa = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    sb = json.loads((b / "summary.json").read_text(encoding="utf-8"))
    assert sa == sb


def test_different_root_seed_different_files(small_cfg, tmp_path):
    small_cfg.years.end = 2024
    small_cfg.output.counterfactual = False
    run(small_cfg, tmp_path / "a", echo=None)
    small_cfg.seed += 1
    run(small_cfg, tmp_path / "b", echo=None)
    ts_a = pd.read_parquet(tmp_path / "a" / "timeseries.parquet")
    ts_b = pd.read_parquet(tmp_path / "b" / "timeseries.parquet")
    assert set(ts_a["seed"]).isdisjoint(ts_b["seed"])
    assert not np.array_equal(ts_a["mean_operating_income"], ts_b["mean_operating_income"])


def test_replicates_differ_within_a_run(small_cfg, tmp_path):
    small_cfg.years.end = 2024
    small_cfg.output.counterfactual = False
    run(small_cfg, tmp_path, echo=None)
    ts = pd.read_parquet(tmp_path / "timeseries.parquet")
    assert ts["seed"].nunique() == 2
    by_seed = [g["mean_operating_income"].to_numpy() for _, g in ts.groupby("seed")]
    assert not np.array_equal(*by_seed)


@pytest.mark.parametrize("seed", [0, 1, 20240101, 2 ** 40])
def test_replicate_seeds_prefix_stable(seed):
    assert replicate_seeds(seed, 3) == replicate_seeds(seed, 5)[:3]
    assert replicate_seeds(seed, 1) == replicate_seeds(seed, 5)[:1]
    seeds = replicate_seeds(seed, 5)
    assert len(set(seeds)) == 5
    assert all(isinstance(s, int) and s >= 0 for s in seeds)


def test_replicate_seeds_depend_on_root():
    assert replicate_seeds(1, 3) != replicate_seeds(2, 3)
    assert replicate_seeds(7, 4) == replicate_seeds(7, 4)


def test_run_uses_the_replicate_seeds(small_cfg, tmp_path):
    small_cfg.years.end = 2024
    small_cfg.output.counterfactual = False
    summary = run(small_cfg, tmp_path, echo=None)
    assert summary["seeds"] == replicate_seeds(small_cfg.seed, small_cfg.replicates)
    ts = pd.read_parquet(tmp_path / "timeseries.parquet")
    assert sorted(ts["seed"].unique().tolist()) == sorted(summary["seeds"])
    # replicate i of a bigger run is the same as replicate i of a smaller one
    small_cfg.replicates = 1
    run(small_cfg, tmp_path / "one", echo=None)
    one = pd.read_parquet(tmp_path / "one" / "timeseries.parquet")
    first = ts[ts["seed"] == summary["seeds"][0]].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, first, check_exact=True)


def test_parallel_sweep_equals_serial_runs(tmp_path):
    """The same config and seed give identical outputs in a joblib sweep and in single runs."""
    import subprocess
    import sys

    common = ["replicates=2", "years.end=2025", "output.progress=false"]
    sweep = tmp_path / "sweep"
    r = subprocess.run([sys.executable, "-m", "zq_sim", "-m", "seed=11,12", *common,
                        "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    for seed in (11, 12):
        single = tmp_path / f"single{seed}"
        r = subprocess.run([sys.executable, "-m", "zq_sim", f"seed={seed}", *common,
                            f"hydra.run.dir={single}"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        job = next(p for p in sweep.iterdir() if (p / "summary.json").is_file()
                   and f"seed: {seed}\n" in (p / ".hydra" / "config.yaml").read_text())
        for name in ("timeseries.parquet", "villages.parquet"):
            a, b = pd.read_parquet(single / name), pd.read_parquet(job / name)
            pd.testing.assert_frame_equal(a, b, check_exact=True)

from zq_sim.data import load_targets
from zq_sim.model import ZhaoqingModel
from zq_sim.run import TARGET_METRICS, run


def test_model_runs_and_has_no_nan(small_cfg):
    ts = ZhaoqingModel(small_cfg, seed=1).run()
    assert list(ts["year"]) == [2023, 2024, 2025, 2026]
    assert not ts.isna().any().any()


def test_every_target_has_a_metric():
    assert set(load_targets()["targets"]) == set(TARGET_METRICS)


def test_run_writes_summary(small_cfg, tmp_path):
    summary = run(small_cfg, tmp_path, echo=None)
    assert (tmp_path / "summary.json").is_file()
    assert (tmp_path / "timeseries.parquet").is_file()
    assert set(summary["targets"]) == set(TARGET_METRICS)

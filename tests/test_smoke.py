from zq_sim.data import load_targets
from zq_sim.model import ZhaoqingModel
from zq_sim.run import TARGET_METRICS, run


def test_model_runs_and_has_no_nan(small_cfg):
    ts = ZhaoqingModel(small_cfg, rng=1).run()
    assert list(ts["year"]) == [2023, 2024, 2025, 2026]
    assert not ts.isna().any().any()


def test_every_target_has_a_metric():
    assert set(load_targets()["targets"]) == set(TARGET_METRICS)


def test_run_writes_summary(small_cfg, tmp_path):
    summary = run(small_cfg, tmp_path, echo=None)
    assert (tmp_path / "summary.json").is_file()
    assert (tmp_path / "timeseries.parquet").is_file()
    assert set(summary["targets"]) == set(TARGET_METRICS)


def test_summary_keeps_one_off_income_and_weak_villages_apart(small_cfg, tmp_path):
    from zq_sim.run import format_table

    lines = []
    summary = run(small_cfg, tmp_path, echo=lines.append)
    horizon = summary["horizon"]
    for name in ("mean_recurring_operating_income", "mean_arrears_income",
                 "share_own_below_150k", "share_own_below_200k", "p10_operating_income",
                 "villages_supported", "public_support"):
        assert horizon[name]["mean"] is not None, name
    # recurring + one-off = operating income, in every year shown
    assert set(summary["years"]) == {"2024", "2025", "2026"}
    for year in summary["years"].values():
        total = year["mean_operating_income"]["mean"]
        parts = (year["mean_recurring_operating_income"]["mean"]
                 + year["mean_arrears_income"]["mean"])
        assert abs(total - parts) < 1e-6 * total
    table = format_table(summary)
    assert "recurring" in table and "one-off" in table and lines[0] == table

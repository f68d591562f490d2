"""Plot functions: each takes a small table and returns (figure, axes); check what is drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from zq_sim import compare, plotting, style  # noqa: E402

SCENARIOS = ("baseline", "no_reform")
WAN_LABEL = "10k yuan (wan yuan) per village"


@pytest.fixture(autouse=True)
def _pinyin_and_close():
    style.use_language("pinyin")
    yield
    style.use_language("pinyin")
    plt.close("all")


@pytest.fixture
def runs() -> pd.DataFrame:
    rows = []
    for s, level in zip(SCENARIOS, (400_000.0, 300_000.0), strict=True):
        for seed in (1, 2, 3):
            for year in (2023, 2024, 2025):
                mean = level + 10_000 * (year - 2023) + 1_000 * seed
                rows.append({
                    "scenario": s, "seed": seed, "year": year, "mean_operating_income": mean,
                    "median_operating_income": 0.8 * mean, "p10_operating_income": 0.4 * mean,
                    "p90_operating_income": 1.8 * mean, "min_operating_income": 0.1 * mean,
                    "min_total_income": 0.4 * mean, "share_below_150k": 0.05 * seed,
                    "share_below_200k": 0.1 * seed,
                    "policy.x": 1.0 if s == "baseline" else 2.0, "policy.y": float(seed % 2)})
    return pd.DataFrame(rows)


def weak_runs(scenarios=("baseline", "land_transfer", "rent_downturn", "integrated"),
              seeds=(1, 2, 3), years=(2023, 2024, 2025, 2026)) -> pd.DataFrame:
    """A run table with the weak-village columns; scenario k lifts the bottom decile by k*10k."""
    rows = []
    for k, s in enumerate(scenarios):
        for seed in seeds:
            for year in years:
                lift = 10_000.0 * k * (year - years[0])
                p10 = 150_000.0 + 5_000 * seed + lift
                rows.append({
                    "scenario": s, "seed": seed, "year": year, "p10_operating_income": p10,
                    "mean_operating_income": 4 * p10, "total_operating_income": 4 * p10 * 100,
                    "share_own_below_150k": 0.2 - 0.01 * k, "share_own_below_200k": 0.3 - 0.02 * k,
                    "villages_supported": 30 - k, "public_support": 2e6 - 1e5 * k,
                    "public_spending": 1e8 + 1e6 * k,
                    "mean_lease_income": 2 * p10, "mean_dividends_income": p10,
                    "mean_own_income": p10, "mean_support": 5_000.0})
    return pd.DataFrame(rows)


def texts(fig: Figure) -> str:
    """Every piece of text in a figure (titles, labels, ticks, legends, annotations)."""
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def test_spread_mean_and_percentiles():
    df = pd.DataFrame({"g": ["a"] * 5, "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    row = plotting.spread(df, ["g"], "v").iloc[0]
    assert (row["mean"], row["n"]) == (3.0, 5)
    assert row["p05"] == pytest.approx(1.2) and row["p95"] == pytest.approx(4.8)


def test_income_over_time_draws_a_line_and_band_per_scenario(runs):
    fig, axes = plotting.plot_income_over_time(runs)
    assert isinstance(fig, Figure) and len(axes) == 2
    for ax in axes:
        lines = [ln for ln in ax.get_lines() if ln.get_label() in SCENARIOS]
        assert [ln.get_label() for ln in lines] == list(SCENARIOS)
        assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
        assert ax.get_xlabel() == "year" and ax.get_ylabel() == WAN_LABEL
        assert ax.get_title()
    # the mean line is the mean over seeds, in 10k yuan, in the scenario's fixed colour
    baseline = [ln for ln in axes[0].get_lines() if ln.get_label() == "baseline"][0]
    assert baseline.get_ydata()[0] == pytest.approx((400_000 + 2_000) / 1e4)
    assert to_hex(baseline.get_color()) == style.SCENARIO_COLORS["baseline"]
    assert "90% of replicates" in texts(fig)
    assert fig.legends and [t.get_text() for t in fig.legends[0].get_texts()] == list(SCENARIOS)


def test_share_below_prefers_own_income(runs):
    fig, axes = plotting.plot_share_below(runs)
    assert all(ax.get_ylabel() == "% of villages" for ax in axes)
    line = [ln for ln in axes[1].get_lines() if ln.get_label() == "baseline"][0]
    assert line.get_ydata()[0] == pytest.approx(20.0)  # mean of 10, 20, 30 %
    assert "total income" in axes[0].get_title()
    fig, axes = plotting.plot_share_below(weak_runs())
    assert "own income" in axes[0].get_title() and "before support" in axes[0].get_title()


def test_plot_groups_by_any_column_with_given_colours(runs):
    runs = runs.assign(group=runs["scenario"] + "!")
    colors = {"baseline!": (1, 0, 0, 1), "no_reform!": (0, 0, 1, 1)}
    fig, axes = plotting.plot_time_bands(runs, ["mean_operating_income"], by="group",
                                         colors=colors, policy_start=None)
    lines = {ln.get_label(): ln.get_color() for ln in axes[0].get_lines()}
    assert lines == colors


def test_small_multiples_one_panel_per_scenario_shocks_apart():
    runs = weak_runs()
    fig, axes = plotting.plot_small_multiples(runs, "p10_operating_income",
                                              companion=None, policy_start=2024)
    titles = [ax.get_title() for ax in axes]
    assert titles == ["baseline", "land_transfer", "integrated", "rent_downturn"]  # shock last
    shock_ax = axes[3]
    assert shock_ax.get_facecolor() != axes[0].get_facecolor()  # shaded ground
    assert "Shocks" in texts(fig) and "Policies" in texts(fig)
    # every panel but the baseline's carries the baseline's mean as a black dashed line
    for ax in axes[1:]:
        dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        assert len(dashed) == 1 and to_hex(dashed[0].get_color()) == "#000000"
        assert dashed[0].get_ydata()[-1] == pytest.approx((150_000 + 10_000) / 1e4)
    assert not [ln for ln in axes[0].get_lines() if ln.get_linestyle() == "--"]
    # the scenario's own line, in its fixed colour; one scale for all panels
    own = [ln for ln in axes[2].get_lines() if ln.get_linewidth() > 2][0]
    assert to_hex(own.get_color()) == style.SCENARIO_COLORS["integrated"]
    assert own.get_ydata()[-1] == pytest.approx((150_000 + 10_000 + 3 * 30_000) / 1e4)
    assert len({ax.get_ylim() for ax in axes}) == 1
    assert "10k yuan" in texts(fig)


def test_small_multiples_values_and_companion():
    runs = weak_runs()
    fig, axes = plotting.plot_small_multiples(runs, "share_own_below_200k",
                                              companion="share_own_below_150k")
    integrated = axes[2]
    solid = [ln for ln in integrated.get_lines() if ln.get_linewidth() > 2][0]
    dotted = [ln for ln in integrated.get_lines() if ln.get_linestyle() == ":"][0]
    assert solid.get_ydata()[0] == pytest.approx(100 * (0.3 - 0.02 * 3))
    assert dotted.get_ydata()[0] == pytest.approx(100 * (0.2 - 0.01 * 3))
    assert axes[0].get_ylim()[0] == 0.0


def test_differences_forest_and_over_time():
    runs = weak_runs()
    diffs = compare.paired_differences(runs, ["p10_operating_income", "share_own_below_200k"])
    fig, axes = plotting.plot_differences(diffs, ["p10_operating_income",
                                                  "share_own_below_200k"], [2025, 2026])
    assert len(axes) == 2
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels == ["land_transfer", "integrated", "rent_downturn"]
    # integrated (k=3) lifts the bottom decile by k * 10k yuan a year: +60k in 2025, +90k in 2026
    xs = [c.lines[0].get_xdata()[0] for c in axes[0].containers
          if to_hex(c.lines[0].get_color()) == style.SCENARIO_COLORS["integrated"]]
    assert sorted(xs) == pytest.approx([6.0, 9.0])
    assert axes[1].get_xlabel() == "percentage points"
    fig, axes = plotting.plot_difference_over_time(diffs, "p10_operating_income",
                                                   policy_start=2024)
    assert [ax.get_title() for ax in axes][0] == "land_transfer - baseline"
    band = [c for c in axes[1].collections if isinstance(c, PolyCollection)]
    assert len(band) == 1


def test_income_sources_stack_and_support_hatched():
    runs = weak_runs()
    fig, axes = plotting.plot_income_sources(runs, [2026])
    ax = axes[0]
    bars = [p for p in ax.patches if p.get_height() == pytest.approx(0.7)]
    hatched = [p for p in bars if p.get_hatch()]
    assert len(hatched) == 4  # one support segment per scenario
    solid = [p for p in bars if not p.get_hatch()]
    assert len(solid) == 4 * 3  # lease, dividends, own
    total = sum(p.get_width() for p in solid) / 4
    assert total == pytest.approx(runs[runs["year"] == 2026][
        ["mean_lease_income", "mean_dividends_income", "mean_own_income"]].sum(axis=1).mean()
        / 1e4)
    assert "fiscal support (not own income)" in texts(fig)
    assert plotting.source_columns(["mean_operating_income", "mean_total_income",
                                    "mean_recurring_operating_income", "mean_pv_income",
                                    "mean_lease_income", "mean_new_income"]) == [
        ("lease", "mean_lease_income"), ("pv", "mean_pv_income"), ("new", "mean_new_income")]


def test_cost_effectiveness_flags_free_levers_and_leaves_out_shocks():
    ce = pd.DataFrame({
        "scenario": ["integrated", "land_transfer", "rent_downturn"],
        "comparator": "baseline", "first_year": 2024, "year": 2030, "n_seeds": 3,
        "extra_mean": [2e8, 0.0, 0.0], "extra_p05": [1.5e8, 0, 0], "extra_p95": [2.5e8, 0, 0],
        "weak_mean": [4e7, 1e6, -1e6], "weak_p05": [3e7, 0.5e6, -2e6],
        "weak_p95": [5e7, 1.5e6, 0], "city_mean": [3e8, 5e6, -5e6], "city_p05": [2e8, 4e6, -6e6],
        "city_p95": [4e8, 6e6, -4e6], "cost": ["more", "none", "none"],
        "weak_ratio": [0.2, np.nan, np.nan], "weak_ratio_p05": [0.15, np.nan, np.nan],
        "weak_ratio_p95": [0.25, np.nan, np.nan], "city_ratio": [1.5, np.nan, np.nan],
        "city_ratio_p05": [1.2, np.nan, np.nan], "city_ratio_p95": [1.8, np.nan, np.nan]})
    fig, axes = plotting.plot_cost_effectiveness(ce)
    assert [t.get_text().split("\n")[0] for t in axes[0].get_yticklabels()] == [
        "integrated", "land_transfer"]
    assert axes[0].patches[0].get_width() == pytest.approx(2.0)  # 2e8 yuan in 亿元
    assert "100M yuan" in axes[0].get_xlabel()
    assert [p.get_width() for p in axes[1].patches] == [pytest.approx(0.2)]
    assert [p.get_width() for p in axes[2].patches] == [pytest.approx(1.5)]
    text = texts(fig)
    assert text.count("no ratio: no extra public money") == 2
    assert "adds 100 10k yuan" in text or "adds 100 10k yuan (wan yuan)" in text


def test_income_distribution_boxes_per_scenario():
    villages = _villages()
    fig, ax = plotting.plot_income_distribution(villages)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(SCENARIOS)
    assert len(ax.patches) == 2  # one box each
    assert ax.get_xscale() == "log"
    assert "10k yuan" in ax.get_xlabel() and "2030" in texts(fig)
    assert {"150k", "200k"} <= set(texts(fig).split("\n"))


def _villages() -> pd.DataFrame:
    rows = []
    for s, level in zip(SCENARIOS, (400_000.0, 300_000.0), strict=True):
        for seed in (1, 2):
            for k, county in enumerate(["鼎湖区", "怀集县", "德庆县"] * 5):
                income = level * (0.5 + k / 15)
                rows.append({"scenario": s, "seed": seed, "year": 2030, "county": county,
                             "operating_income": income, "total_income": income + 5_000})
    return pd.DataFrame(rows)


def test_income_percentiles_fallback(runs):
    fig, ax = plotting.plot_income_percentiles(runs)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(SCENARIOS)
    thick = [ln for ln in ax.get_lines() if ln.get_linewidth() >= 10]
    assert len(thick) == 2
    # the bar spans the mean p10 to the mean p90 of the last year, in 10k yuan
    assert thick[0].get_xdata()[0] == pytest.approx(0.4 * 422_000 / 1e4)
    assert thick[0].get_xdata()[1] == pytest.approx(1.8 * 422_000 / 1e4)
    assert "time series" in texts(fig)


def test_counties_in_pinyin_with_own_income_share():
    villages = _villages()
    fig, axes = plotting.plot_counties(villages)
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels == ["Dinghu (east)", "Huaiji (west)", "Deqing (west)"]
    assert not any(ord(ch) > 127 for ch in texts(fig))  # no glyphs the fonts lack
    assert len(axes[0].containers) == 2  # one error bar series per scenario
    assert "10k yuan" in axes[0].get_xlabel() and "%" in axes[1].get_xlabel()
    assert "own income" in axes[1].get_title()
    table = plotting.county_table(villages)
    assert len(table) == 2 * 3 * 2
    # no_reform: incomes 150k * (1 + k/7.5); own income below 200k for k < 2.5 -> k in 0, 1, 2
    dinghu = table[(table["scenario"] == "no_reform") & (table["county"] == "鼎湖区")]
    assert dinghu["share_own_below_200k"].iloc[0] == pytest.approx(1 / 5)


def test_chinese_labels_when_a_cjk_font_is_present(runs):
    if style.find_cjk_font() is None:
        pytest.skip("no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
    assert style.use_language("zh") == "zh"
    fig, axes = plotting.plot_counties(_villages())
    assert [t.get_text() for t in axes[0].get_yticklabels()][0] == "鼎湖区（东）"
    fig, axes = plotting.plot_income_over_time(runs)
    assert axes[0].get_ylabel() == "万元/村" and axes[0].get_xlabel() == "年份"


def test_heatmap_cells_and_labels(runs):
    fig, ax = plotting.plot_heatmap(runs, x="policy.x", y="policy.y",
                                    metric="mean_operating_income", xlabel="X lever")
    image = ax.get_images()[0].get_array()
    assert image.shape == (2, 2)
    assert ax.get_xlabel() == "X lever" and ax.get_ylabel() == "policy.y"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2"]
    # baseline (x=1), odd seeds (y=1): seeds 1 and 3 in 2025
    assert image[1, 0] == pytest.approx((420_000 + 2_000) / 1e4)
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 4 and all("[" in c for c in cells)
    assert "2025" in texts(fig)


def test_plot_functions_never_save(tmp_path, monkeypatch, runs):
    monkeypatch.chdir(tmp_path)
    plotting.plot_income_over_time(runs)
    plotting.plot_small_multiples(weak_runs(), "p10_operating_income")
    assert not list(tmp_path.iterdir())


def test_heatmap_warns_when_cells_differ_less_than_replicates(runs):
    flat = runs.assign(mean_operating_income=runs["seed"] * 100_000.0)
    fig, ax = plotting.plot_heatmap(flat, x="policy.x", y="policy.y",
                                    metric="mean_operating_income")
    assert "read the colours with care" in ax.get_title()
    fig, ax = plotting.plot_heatmap(runs, x="policy.x", y="policy.y",
                                    metric="mean_operating_income")
    assert "with care" not in ax.get_title()

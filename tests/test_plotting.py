"""Plot functions: each takes a small table and returns (figure, axes); check what is drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from zq_sim import plotting  # noqa: E402

SCENARIOS = ("baseline", "no_reform")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
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


@pytest.fixture
def villages() -> pd.DataFrame:
    rows = []
    for s, level in zip(SCENARIOS, (400_000.0, 300_000.0), strict=True):
        for seed in (1, 2):
            for k, county in enumerate(["鼎湖区", "怀集县", "德庆县"] * 5):
                income = level * (0.5 + k / 15)
                rows.append({"scenario": s, "seed": seed, "year": 2030, "county": county,
                             "operating_income": income, "total_income": income + 5_000})
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
    assert isinstance(fig, Figure) and len(axes) == 3
    for ax in axes:
        lines = [ln for ln in ax.get_lines() if ln.get_label() in SCENARIOS]
        assert [ln.get_label() for ln in lines] == list(SCENARIOS)
        assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
        assert ax.get_xlabel() == "year" and ax.get_ylabel() == plotting.MONEY_UNIT
        assert ax.get_title()
    # the mean line is the mean over seeds, in 10k yuan
    baseline = [ln for ln in axes[0].get_lines() if ln.get_label() == "baseline"][0]
    assert baseline.get_ydata()[0] == pytest.approx((400_000 + 2_000) / 1e4)
    text = texts(fig)
    assert "150k yuan floor" in text and "90% of replicates" in text
    assert "Village collective income" in text
    assert fig.legends and [t.get_text() for t in fig.legends[0].get_texts()] == list(SCENARIOS)


def test_share_below_is_in_percent(runs):
    fig, axes = plotting.plot_share_below(runs)
    assert len(axes) == 2
    assert all(ax.get_ylabel() == "% of villages" for ax in axes)
    line = [ln for ln in axes[1].get_lines() if ln.get_label() == "baseline"][0]
    assert line.get_ydata()[0] == pytest.approx(20.0)  # mean of 10, 20, 30 %
    assert "150k" in axes[0].get_title() and "200k" in axes[1].get_title()


def test_plot_groups_by_any_column_with_given_colours(runs):
    runs = runs.assign(group=runs["scenario"] + "!")
    colors = {"baseline!": (1, 0, 0, 1), "no_reform!": (0, 0, 1, 1)}
    fig, axes = plotting.plot_time_bands(runs, ["mean_operating_income"], by="group",
                                         colors=colors, policy_start=None)
    lines = {ln.get_label(): ln.get_color() for ln in axes[0].get_lines()}
    assert lines == colors


def test_income_distribution_boxes_per_scenario(villages):
    fig, ax = plotting.plot_income_distribution(villages)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(SCENARIOS)
    assert len(ax.patches) == 2  # one box each
    assert ax.get_xscale() == "log"
    assert "10k yuan" in ax.get_xlabel() and "2030" in texts(fig)
    assert {"150k", "200k"} <= set(texts(fig).split("\n"))


def test_income_percentiles_fallback(runs):
    fig, ax = plotting.plot_income_percentiles(runs)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(SCENARIOS)
    thick = [ln for ln in ax.get_lines() if ln.get_linewidth() >= 10]
    assert len(thick) == 2
    # the bar spans the mean p10 to the mean p90 of the last year, in 10k yuan
    assert thick[0].get_xdata()[0] == pytest.approx(0.4 * 422_000 / 1e4)
    assert thick[0].get_xdata()[1] == pytest.approx(1.8 * 422_000 / 1e4)
    assert "time series" in texts(fig)


def test_counties_in_pinyin_with_whiskers(villages):
    fig, axes = plotting.plot_counties(villages)
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels == ["Dinghu (east)", "Huaiji (west)", "Deqing (west)"]
    assert not any(ord(ch) > 127 for ch in texts(fig))  # no glyphs the fonts lack
    assert len(axes[0].containers) == 2  # one error bar series per scenario
    assert "10k yuan" in axes[0].get_xlabel() and "%" in axes[1].get_xlabel()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(SCENARIOS)
    table = plotting.county_table(villages)
    assert len(table) == 2 * 3 * 2


def test_public_money_marks_undefined_ratios():
    public = pd.DataFrame({
        "label": ["a vs baseline", "b vs baseline"], "first_year": 2024, "last_year": 2030,
        "n_seeds": 3, "added_mean": [1e6, 2e6], "added_p05": [0.5e6, 1.5e6],
        "added_p95": [1.5e6, 2.5e6], "extra_mean": [5e5, 0.0], "extra_p05": [4e5, -1e3],
        "extra_p95": [6e5, 1e3], "ratio": [2.0, np.nan], "ratio_p05": [1.5, np.nan],
        "ratio_p95": [2.5, np.nan], "note": ["", "extra public money is about nil"]})
    fig, axes = plotting.plot_public_money(public)
    assert len(axes) == 3
    assert len(axes[2].patches) == 1  # one ratio bar: b has none
    assert axes[2].patches[0].get_width() == pytest.approx(2.0)
    assert axes[0].patches[1].get_width() == pytest.approx(200.0)  # 2e6 yuan in 10k yuan
    text = texts(fig)
    assert "not defined" in text and "about nil" in text
    assert "2024-2030" in axes[0].get_title()
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["a\nvs baseline",
                                                                 "b\nvs baseline"]


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
    plotting.plot_share_below(runs)
    assert not list(tmp_path.iterdir())


def test_heatmap_warns_when_cells_differ_less_than_replicates(runs):
    flat = runs.assign(mean_operating_income=runs["seed"] * 100_000.0)
    fig, ax = plotting.plot_heatmap(flat, x="policy.x", y="policy.y",
                                    metric="mean_operating_income")
    assert "read the colours with care" in ax.get_title()
    fig, ax = plotting.plot_heatmap(runs, x="policy.x", y="policy.y",
                                    metric="mean_operating_income")
    assert "with care" not in ax.get_title()

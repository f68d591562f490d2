"""The dashboard: its config and runs equal the command line's, its figures, and the page itself
opened in headless Chromium (Debian's ``chromium`` driven by Playwright), used as a person would."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("solara", reason="the dashboard extra is not installed")

from hydra import compose, initialize_config_dir  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from zq_sim.__main__ import CONF_DIR  # noqa: E402
from zq_sim.config import ConfigError  # noqa: E402
from zq_sim.dashboard import figures, live  # noqa: E402
from zq_sim.dashboard.__main__ import parse, problem  # noqa: E402
from zq_sim.dashboard.browser import chromium_path, free_port  # noqa: E402
from zq_sim.run import replicate_seeds, run_replicate  # noqa: E402

matplotlib.use("Agg")


# ------------------------------------------------------------------ settings and runs
def test_every_lever_lies_inside_its_declared_range():
    for lever in live.LEVERS:
        lo, hi = live.declared_range(lever.key)
        assert lo is None or lever.lo >= lo, lever.key
        assert hi is None or lever.hi <= hi, lever.key
        assert lever.lo < lever.hi and 0 < lever.step <= lever.hi - lever.lo, lever.key


def test_scenarios_are_the_files_of_conf_scenario_baseline_first():
    names = live.scenarios()
    assert names[0] == "baseline"
    assert sorted(names) == sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))


def test_each_scenario_is_described_by_its_files_header():
    assert live.scenario_description("land_transfer").startswith(
        "a stronger land consolidation and transfer drive")
    assert "collective service fee 50% higher" in live.scenario_description("land_transfer")
    for name in live.scenarios():
        assert live.scenario_description(name), name


def test_config_is_composed_as_the_command_line_composes_it():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cli = OmegaConf.to_object(compose(config_name="config",
                                          overrides=["+scenario=land_transfer"]))
    mine = live.compose_config("land_transfer", replicates=4)
    assert mine.calibrated and mine.model == cli.model and mine.policy == cli.policy
    assert mine.scenario == "land_transfer" and mine.replicates == 4 and mine.seed == cli.seed


def test_levers_are_overrides_and_the_scenario_sets_their_start():
    base = live.scenario_levers("baseline")
    assert live.scenario_levers("land_transfer")["policy.land.consolidation_push"] > \
        base["policy.land.consolidation_push"]
    cfg = live.compose_config("baseline", {"policy.land.consolidation_push": 2.5,
                                           "policy.support.enabled": False,
                                           "policy.talent.managers": 40})
    assert cfg.policy.land.consolidation_push == 2.5
    assert cfg.policy.support.enabled is False and cfg.policy.talent.managers == 40


def test_a_run_is_marked_when_a_lever_differs_from_its_scenario():
    from zq_sim.dashboard.app import run_label

    defaults = live.scenario_levers("three_assets")
    assert run_label("three_assets", dict(defaults), defaults) == "three_assets"
    back = {**defaults, "policy.three_assets.platform_coverage": 95 / 100.0 * (1 + 1e-15)}
    assert run_label("three_assets", back, defaults) == "three_assets"  # a slider moved back
    moved = {**defaults, "policy.support.enabled": False}
    assert run_label("three_assets", moved, defaults) == "three_assets + your levers"


def test_bad_settings_are_refused_with_one_line_naming_them():
    with pytest.raises(ConfigError, match=r"policy.pv.subsidy = 1.5 is outside .*\[0, 1\]"):
        live.compose_config("baseline", {"policy.pv.subsidy": 1.5})
    with pytest.raises(ValueError, match="unknown scenario 'nope'; choose one of: baseline"):
        live.compose_config("nope")


def test_a_live_run_equals_the_command_lines_replicates_and_reports_progress():
    cfg = live.compose_config("three_assets", replicates=2, end=2025)
    steps = []
    result = live.run_live(cfg, "mine", progress=lambda done, total: steps.append((done, total)))
    assert steps == [(1, 2), (2, 2)]
    seeds = replicate_seeds(cfg.seed, 2)
    expected = pd.concat([run_replicate(cfg, s)[0] for s in seeds], ignore_index=True)
    pd.testing.assert_frame_equal(result.timeseries.drop(columns="scenario"), expected)
    assert set(result.villages["seed"]) == set(seeds) and (result.villages["scenario"] ==
                                                          "mine").all()
    assert live.run_live(cfg, "mine", cancelled=lambda: True) is None


def _panel(rows: list[tuple[int, int, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["seed", "year", "county", "operating_income", "support"])


def test_weak_villages_are_counted_on_own_income_from_the_panel():
    villages = _panel([(1, 2030, "怀集县", 100_000, 90_000), (1, 2030, "怀集县", 180_000, 18_000),
                       (1, 2030, "高要区", 500_000, 0), (1, 2030, "高要区", 150_000, 0)])
    ts = pd.DataFrame({"seed": [1], "year": [2030]})
    weak = live.weak_village_table(live.LiveRun("x", ts, villages))
    row = weak.iloc[0]
    assert row["share_own_below_150k"] == pytest.approx(1 / 4)
    assert row["share_own_below_200k"] == pytest.approx(3 / 4)  # 150k is below 200k
    assert row["villages_supported"] == 2 and row["public_support"] == pytest.approx(108_000)


def test_the_models_own_weak_village_columns_win_when_present():
    villages = _panel([(1, 2030, "怀集县", 100_000, 90_000)])
    ts = pd.DataFrame({"seed": [1], "year": [2030], "villages_supported": [7],
                       "share_own_below_150k": [0.25]})
    weak = live.weak_village_table(live.LiveRun("x", ts, villages)).iloc[0]
    assert weak["villages_supported"] == 7 and weak["share_own_below_150k"] == 0.25
    assert weak["share_own_below_200k"] == 1.0  # not in the time series: counted


def test_counties_and_headline_numbers():
    villages = _panel([(s, 2030, c, v * s, 0.0) for s in (1, 2)
                       for c, v in (("怀集县", 100_000), ("怀集县", 300_000), ("高要区", 400_000))])
    ts = pd.DataFrame({"seed": [1, 2], "year": [2030, 2030],
                       "mean_operating_income": [1.0, 3.0], "p10_operating_income": [0.5, 0.5]})
    run = live.LiveRun("x", ts, villages)
    c = live.county_table(run, 2030).set_index(["county", "seed"])
    assert c.loc[("怀集县", 2), "mean_operating_income"] == pytest.approx(400_000)
    assert c.loc[("怀集县", 1), "share_own_below_200k"] == pytest.approx(0.5)
    h = live.headline(run, 2030)
    assert h["mean_operating_income"][0] == pytest.approx(2.0)
    assert h["mean_operating_income"][1] == pytest.approx(1.1)  # 5th percentile of {1, 3}
    assert "public_spending" not in h
    assert all(math.isnan(x) for x in live.interval(pd.Series([np.nan])))


def test_differences_pair_replicates_by_seed():
    t = pd.DataFrame({"scenario": ["baseline", "baseline", "mine", "mine"], "seed": [1, 2, 1, 2],
                      "year": [2030] * 4, "x": [10.0, 20.0, 13.0, 21.0]})
    d = live.differences(t, "x").set_index("seed")["x"]
    assert d.to_dict() == {1: 3.0, 2: 1.0}


# ------------------------------------------------------------------ figures
@pytest.fixture(scope="module")
def two_runs():
    base = live.run_live(live.compose_config("baseline", replicates=2, end=2026), "baseline")
    mine = live.run_live(live.compose_config(
        "baseline", {"policy.land.consolidation_push": 3.0}, replicates=2, end=2026), "mine")
    return mine, base


def test_income_paths_show_levels_and_the_difference_from_the_baseline(two_runs):
    mine, base = two_runs
    ts = pd.concat([mine.timeseries, base.timeseries], ignore_index=True)
    fig, axes = figures.plot_income_paths(ts)
    assert axes.shape == (2, 2)
    drawn = axes[0, 0].lines[0].get_ydata()  # the baseline is drawn first, under the run
    expected = base.timeseries.groupby("year")["mean_operating_income"].mean() * 1e-4
    np.testing.assert_allclose(drawn, expected.to_numpy())
    diff = axes[1, 0].lines[0].get_ydata()
    np.testing.assert_allclose(
        diff, (mine.timeseries.groupby("year")["mean_operating_income"].mean()
               - base.timeseries.groupby("year")["mean_operating_income"].mean()) * 1e-4)
    assert figures.unit("wan") in axes[0, 0].get_ylabel()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["mine", "baseline"]
    alone, axes1 = figures.plot_income_paths(base.timeseries)
    assert axes1.shape == (1, 2)


def test_weak_village_figure_draws_the_shares_in_percent(two_runs):
    mine, _ = two_runs
    weak = live.weak_village_table(mine)
    fig, axes = figures.plot_weak_villages(weak)
    share150 = weak.groupby("year")["share_own_below_150k"].mean() * 100
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), share150.to_numpy())
    assert axes[0].get_ylabel() == "% of villages" and "support" in axes[2].get_title()


def test_county_figure_names_every_county(two_runs):
    c = pd.concat([live.county_table(r, 2026) for r in two_runs], ignore_index=True)
    fig, axes = figures.plot_counties(c)
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert len(labels) == c["county"].nunique()
    assert all(figures.county_name(x) in " ".join(labels) for x in c["county"].unique())
    assert "2026" in fig.get_suptitle()


def test_income_by_source_stacks_the_sources_present(two_runs):
    mine, _ = two_runs
    ts = mine.timeseries.drop(columns="mean_pv_income")
    fig, axes = figures.plot_income_sources(ts)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "PV (solar) income" not in labels and "Leases of assets and resources" in labels
    assert labels[0].startswith("Fiscal support")
    stacked = [f"mean_{p}_income" for p in live.SOURCES if f"mean_{p}_income" in ts]
    top = ts.groupby("year")[stacked + ["mean_support"]].mean().sum(axis=1)
    ymax = axes[0].collections[-1].get_paths()[0].vertices[:, 1].max()
    assert ymax == pytest.approx(top.max() * 1e-4, rel=1e-6)


def test_public_money_stacks_every_public_item(two_runs):
    mine, base = two_runs
    ts = pd.concat([mine.timeseries, base.timeseries], ignore_index=True)
    ts["public_platform_staff"] = 2.0e8  # an item the figure does not know by name yet
    fig, axes = figures.plot_public_money(ts)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "Platform staff"  # labelled from its name
    assert "Towns' public works let to companies" in labels
    assert "Fiscal support to weak villages" in labels and len(labels) == len(
        [c for c in ts if c.startswith("public_") and c != "public_spending"])
    items = [c for c in ts if c.startswith("public_") and c != "public_spending"]
    total = mine.timeseries.groupby("year")[items[:-1]].mean().sum(axis=1) + 2.0e8
    top = axes[0].collections[-1].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(total.max() * 1e-8)  # in 亿元 (100 million yuan)
    assert axes[0].get_ylabel() == f"{figures.unit('yi')} a year"


# ------------------------------------------------------------------ command line
@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_bad_port_is_refused_with_one_line(port):
    r = subprocess.run([sys.executable, "-m", "zq_sim.dashboard", "--port", port],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"zq_sim.dashboard: error: --port = {port} is outside the "
                                f"allowed range [1, 65535]")


def test_a_port_in_use_is_named():
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        why = problem(parse(["--port", str(port)]))
    assert why is not None and why.startswith(f"--port = {port} on 127.0.0.1 cannot be used")
    assert problem(parse(["--port", str(free_port())])) is None


# ------------------------------------------------------------------ in a real browser
def test_the_page_runs_the_model_and_a_slider_changes_the_figures():
    pytest.importorskip("playwright", reason="playwright is not installed (test extra)")
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run does)")
    from zq_sim.dashboard.app import lever_class
    from zq_sim.dashboard.browser import browser_page, serve, wait_for_results

    with serve() as url, browser_page(url) as page:
        wait_for_results(page)
        done = page.locator(".zq-status-done")
        assert "Scenario baseline," in done.inner_text()
        images = page.locator(".zq-status-done img")
        count = images.count()
        assert count >= 4  # paths, weak villages, counties, sources (and public money)
        before = [images.nth(i).get_attribute("src") for i in range(count)]
        table_before = page.inner_text(".zq-status-done table")

        slider = page.locator(f".{lever_class('policy.land.consolidation_push')} [role=slider]")
        slider.focus()
        slider.press("End")  # to the slider's maximum, 3 times the 2024 drive
        page.wait_for_selector("text=Land consolidation push: 3 × 2024", timeout=20_000)
        page.wait_for_selector("text=baseline + your levers", timeout=60_000)
        wait_for_results(page)

        after = [images.nth(i).get_attribute("src") for i in range(count)]
        assert all(a != b for a, b in zip(after, before, strict=True))
        table_after = page.inner_text(".zq-status-done table")
        assert table_after != table_before
        assert "baseline + your levers" in page.inner_text(".zq-status-done")
        assert not page.locator(".v-alert.error").count()


def test_a_local_html_page_is_pictured_whole(tmp_path):
    pytest.importorskip("playwright", reason="playwright is not installed (test extra)")
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run does)")
    from matplotlib.image import imread

    from zq_sim.dashboard.browser import screenshot_html

    html = tmp_path / "report.html"
    html.write_text("<html><body style='margin:0'><div style='height:1500px;background:#f00'>"
                    "</div></body></html>", encoding="utf-8")
    png = screenshot_html(html, tmp_path / "report.png", width=600)
    img = imread(png)
    assert img.shape[:2] == (1500, 600)  # the whole page, not the first screen
    assert img[10, 10, 0] > 0.9 and img[10, 10, 1] < 0.1  # and what it shows

"""Paired differences and cost-effectiveness against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zq_sim import compare


def runs(**levels) -> pd.DataFrame:
    """Per scenario (p10 lift per year, extra spending per year); seeds shift everything alike."""
    rows = []
    for scenario, (lift, spend) in levels.items():
        for seed, noise in ((1, 0.0), (2, 3_000.0), (3, -1_000.0), (4, 8_000.0)):
            for year in (2023, 2024, 2025):
                k = year - 2023
                p10 = 100_000 + noise + lift * k + (500 * seed if scenario == "wobbly" else 0)
                rows.append({"scenario": scenario, "seed": seed, "year": year,
                             "p10_operating_income": p10, "mean_operating_income": 400_000.0,
                             "total_operating_income": 400_000.0 * 1000 + 10 * lift * k,
                             "public_spending": 1e7 + spend * k})
    return pd.DataFrame(rows)


def test_comparators():
    r = runs(baseline=(0, 0), no_reform=(0, 0), a=(0, 0))
    assert compare.comparators(r) == {"baseline": "no_reform", "a": "baseline"}
    assert compare.comparators(r, forced="a") == {"baseline": "a", "no_reform": "a"}
    assert compare.comparators(runs(a=(0, 0), b=(0, 0))) == {}


def test_paired_differences_take_out_the_seed_noise():
    r = runs(baseline=(0, 0), lifted=(5_000, 0), wobbly=(0, 0))
    d = compare.paired_differences(r, ["p10_operating_income", "absent"]).set_index(
        ["scenario", "year"])
    row = d.loc[("lifted", 2025)]
    # the same noise on the same seed cancels: a sure +10k with a zero-width interval
    assert row["mean"] == pytest.approx(10_000) and row["n"] == 4 and row["n_above"] == 4
    assert row["lo"] == pytest.approx(10_000) and row["hi"] == pytest.approx(10_000)
    assert set(d["metric"]) == {"p10_operating_income"}
    wob = d.loc[("wobbly", 2024)]
    diffs = np.array([500.0, 1000.0, 1500.0, 2000.0])
    half = stats.t.ppf(0.95, 3) * diffs.std(ddof=1) / 2
    assert wob["mean"] == pytest.approx(1250.0)
    assert (wob["lo"], wob["hi"]) == (pytest.approx(1250 - half), pytest.approx(1250 + half))


def test_mean_interval_with_one_value_has_no_interval():
    m, lo, hi = compare.mean_interval(np.array([3.0]))
    assert m == 3.0 and math.isnan(lo) and math.isnan(hi)


def test_cost_effectiveness_weak_and_city_and_free_levers():
    r = runs(baseline=(0, 0), bought=(2_000, 1e6), free=(3_000, 0), thrifty=(1_000, -1e6),
             rent_downturn=(-1_000, 0))
    ce = compare.cost_effectiveness(r, comparator_of={"bought": "baseline", "free": "baseline",
                                                      "thrifty": "baseline"},
                                    first_year=2024, years=[2024]).set_index(["scenario", "year"])
    b = ce.loc[("bought", 2025)]
    # bottom decile: 100 of 1000 villages; p10 +2k in 2024 and +4k in 2025 -> 100 * 6k = 600k
    assert b["weak_mean"] == pytest.approx(600_000)
    assert b["city_mean"] == pytest.approx(10 * 2_000 * 3)
    assert b["extra_mean"] == pytest.approx(3e6)
    assert b["cost"] == "more" and b["weak_ratio"] == pytest.approx(0.2)
    assert b["weak_ratio_p05"] == pytest.approx(0.2) and b["city_ratio"] == pytest.approx(0.02)
    assert ce.loc[("bought", 2024), "extra_mean"] == pytest.approx(1e6)  # chosen year: 2024 only
    f = ce.loc[("free", 2025)]
    assert f["cost"] == "none" and math.isnan(f["weak_ratio"]) and f["weak_mean"] > 0
    assert ce.loc[("thrifty", 2025), "cost"] == "saves"
    assert "rent_downturn" not in ce.index.get_level_values(0)


def test_cost_effectiveness_needs_its_columns():
    r = runs(baseline=(0, 0), a=(1, 1)).drop(columns=["p10_operating_income"])
    assert compare.cost_effectiveness(r).empty

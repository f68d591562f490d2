"""Named reporters against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zq_sim.metrics import gini, growth, income_metrics, premium_rate, share_below


def test_gini_one_holds_all():
    assert gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)  # (n - 1) / n


def test_gini_equal_values():
    assert gini(np.full(5, 300_000.0)) == pytest.approx(0.0)


def test_gini_hand_computed():
    # mean absolute difference over all ordered pairs of [1, 2, 3]: (2 x (1 + 2 + 1)) / 9 = 8/9;
    # Gini = that / (2 x mean 2) = 2/9
    assert gini(np.array([3.0, 1.0, 2.0])) == pytest.approx(2.0 / 9.0)


def test_gini_edges():
    assert gini(np.array([])) == 0.0
    assert gini(np.zeros(3)) == 0.0


def test_share_below():
    x = np.array([100.0, 149_999.0, 150_000.0, 200_000.0])
    assert share_below(x, 150_000.0) == 0.5  # strictly below
    assert share_below(x, 200_001.0) == 1.0
    assert share_below(x, 0.0) == 0.0
    assert share_below(np.array([]), 1.0) == 0.0


def test_premium_rate():
    assert premium_rate(164.0, 1000.0) == pytest.approx(0.164)
    assert premium_rate(5.0, 0.0) == 0.0


def test_growth():
    assert growth(119.6, 100.0) == pytest.approx(0.196)
    assert math.isnan(growth(1.0, 0.0))


def test_income_metrics_hand_made():
    operating = np.array([100_000.0, 200_000.0, 300_000.0, 400_000.0])
    total = operating + np.array([60_000.0, 0.0, 0.0, 0.0])
    m = income_metrics(operating, total)
    assert m["mean_operating_income"] == 250_000.0
    assert m["median_operating_income"] == 250_000.0
    assert m["min_operating_income"] == 100_000.0
    assert m["min_total_income"] == 160_000.0
    assert m["mean_total_income"] == 265_000.0
    assert m["share_below_150k"] == 0.0
    assert m["share_below_200k"] == 0.25
    assert m["total_operating_income"] == 1_000_000.0
    assert m["total_income"] == 1_060_000.0
    # Gini = sum over ordered pairs |xi - xj| / (2 n^2 mean) = 2 x 10e5 / (2 x 16 x 2.5e5) = 0.25
    assert m["gini"] == pytest.approx(0.25)
    assert m["p10_operating_income"] == pytest.approx(130_000.0)
    assert m["p90_operating_income"] == pytest.approx(370_000.0)


def test_weak_village_metrics_on_own_income():
    from zq_sim.metrics import weak_village_metrics

    operating = np.array([100_000.0, 160_000.0, 190_000.0, 250_000.0, 400_000.0])
    arrears = np.array([0.0, 20_000.0, 0.0, 0.0, 50_000.0])
    support = np.array([60_000.0, 0.0, 10_000.0, 0.0, 0.0])
    weak = np.array([True, True, False, False, False])
    m = weak_village_metrics(operating, operating - arrears, support, weak)
    # judged before support: 1 of 5 below 150k, 3 of 5 below 200k
    assert m["share_own_below_150k"] == pytest.approx(0.2)
    assert m["share_own_below_200k"] == pytest.approx(0.6)
    assert m["mean_recurring_operating_income"] == pytest.approx((operating - arrears).mean())
    assert m["p10_recurring_operating_income"] == pytest.approx(
        np.percentile(operating - arrears, 10))
    assert m["villages_supported"] == 2
    assert m["weak_listed"] == 2

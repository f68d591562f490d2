"""PV small cut against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from zq_sim.mechanisms.pv import pv_revenue, pv_year

# 100 kW x 1100 kWh/kW x (1 - 2.5%) = 107,250 kWh in the first year, at 0.453 yuan/kWh = 48,584.25;
# O&M 2% x 3,500 yuan/kW x 100 kW = 7,000.
OWNED_AGE_1 = 41_584.25
# third year: two years of 0.6% degradation: 107,250 x 0.994^2 = 105,966.861 kWh
OWNED_AGE_3 = 105_966.861 * 0.453 - 7_000.0  # 41,002.988...
LEASED = 100.0 * 40.0  # roof rent 40 yuan/kW


def test_pv_revenue_hand_computed(make_params):
    p = make_params()
    kw = np.array([100.0, 100.0, 100.0, 0.0, 0.0])
    age = np.array([1.0, 3.0, 5.0, 0.0, 2.0])
    owned = np.array([True, True, False, True, False])
    np.testing.assert_allclose(pv_revenue(kw, age, owned, p),
                               [OWNED_AGE_1, OWNED_AGE_3, LEASED, 0.0, 0.0], rtol=1e-9)


def test_pv_revenue_age_zero_as_first_year(make_params):
    p = make_params()
    np.testing.assert_allclose(
        pv_revenue(np.array([100.0]), np.array([0.0]), np.array([True]), p), [OWNED_AGE_1])


def test_pv_year_owned_plant(make_villages, make_params):
    p = make_params()
    v = make_villages(1, funds=1.0e7, fixed_assets=1.0e6)
    subsidy, invest = pv_year(v, adopt=np.array([1.0]), subsidy=0.3, p=p,
                              rng=np.random.default_rng(5))
    kw = v.pv_kw[0]
    assert kw > 0 and v.pv_owned[0] and v.pv_age[0] == 1
    capex = kw * 3500.0
    assert invest == pytest.approx(capex)
    assert subsidy == pytest.approx(0.3 * capex)
    assert v.funds[0] == pytest.approx(1.0e7 - 0.7 * capex)
    assert v.fixed_assets[0] == pytest.approx(1.0e6 + capex)
    assert v.income["pv"][0] == pytest.approx(OWNED_AGE_1 * kw / 100.0)


def test_pv_year_leased_roof_when_funds_fall_short(make_villages, make_params):
    p = make_params()
    v = make_villages(1, funds=0.0, fixed_assets=1.0e6)
    subsidy, invest = pv_year(v, adopt=np.array([1.0]), subsidy=0.3, p=p,
                              rng=np.random.default_rng(5))
    kw = v.pv_kw[0]
    assert kw > 0 and not v.pv_owned[0]
    assert subsidy == 0.0 and invest == 0.0
    assert v.funds[0] == 0.0 and v.fixed_assets[0] == 1.0e6
    assert v.income["pv"][0] == pytest.approx(40.0 * kw)


def test_pv_year_existing_plant_ages_and_no_adoption(make_villages, make_params):
    p = make_params()
    v = make_villages(2, pv_kw=[100.0, 0.0], pv_age=[2.0, 0.0], pv_owned=[True, False],
                      funds=1.0e7)
    pv_year(v, adopt=np.array([1.0, 0.0]), subsidy=0.3, p=p, rng=np.random.default_rng(0))
    assert v.pv_kw.tolist() == [100.0, 0.0]  # an existing plant is not replaced
    assert v.pv_age.tolist() == [3.0, 0.0]
    assert v.funds.tolist() == [1.0e7, 1.0e7]
    np.testing.assert_allclose(v.income["pv"], [OWNED_AGE_3, 0.0])

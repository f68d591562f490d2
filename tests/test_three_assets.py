"""The three-assets platform against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zq_sim.mechanisms.three_assets import (
    contracts_managed,
    hazard_probability,
    platform_year,
    reform_probability,
    second_price,
    tender,
)
from zq_sim.state import REGULAR, UNDERPRICED, UNPAID

NO = -np.inf


# ------------------------------------------------------------------ second-price tender
def test_second_price_on_a_matrix_with_reserve():
    values = np.array([
        [100.0, 90.0, NO],     # two bids meet the reserve: the second-highest, 90
        [70.0, NO, NO],        # no bid meets it: unlet
        [120.0, 95.0, 110.0],  # second-highest is 110 (order of bidders does not matter)
        [NO, NO, NO],          # no bidders: unlet
        [85.0, 79.0, 50.0],    # only the best meets it: the reserve, 80
        [80.0, NO, NO],        # a bid exactly at the reserve lets at the reserve
        [90.0, 90.0, NO],      # a tie: the price is the tied value
    ])
    reserve = np.full(7, 80.0)
    price, let = second_price(values, reserve)
    assert let.tolist() == [True, False, True, False, True, True, True]
    assert price.tolist() == [90.0, 0.0, 110.0, 0.0, 80.0, 80.0, 90.0]


def test_second_price_one_bidder_column():
    price, let = second_price(np.array([[100.0], [50.0], [NO]]), np.array([80.0, 80.0, 80.0]))
    assert let.tolist() == [True, False, False]
    assert price.tolist() == [80.0, 0.0, 0.0]


def test_second_price_no_bidder_columns():
    price, let = second_price(np.zeros((2, 0)), np.array([10.0, 20.0]))
    assert not let.any()
    assert price.tolist() == [0.0, 0.0]


def test_second_price_reserve_per_contract():
    values = np.array([[100.0, 90.0], [100.0, 90.0], [100.0, 90.0]])
    price, let = second_price(values, np.array([50.0, 95.0, 101.0]))
    assert let.tolist() == [True, True, False]
    assert price.tolist() == [90.0, 95.0, 0.0]


@settings(max_examples=200, database=None, deadline=None)
@given(st.integers(1, 8).flatmap(lambda n: st.integers(1, 6).flatmap(
    lambda k: st.lists(st.lists(st.floats(0, 1e6), min_size=k, max_size=k),
                       min_size=n, max_size=n))),
       st.floats(0, 1e6))
def test_second_price_is_between_reserve_and_best_bid(rows, reserve):
    values = np.array(rows)
    price, let = second_price(values, np.full(len(rows), reserve))
    best = values.max(axis=1)
    assert (let == (best >= reserve)).all()
    assert (price[let] >= reserve).all()
    assert (price[let] <= best[let]).all()
    assert (price[~let] == 0).all()


def test_tender_without_bidders_lets_nothing():
    rng = np.random.default_rng(0)
    price, let = tender(np.array([1000.0, 2000.0]), np.array([800.0, 1600.0]), 0.0, 0.2, rng)
    assert not let.any() and (price == 0).all()


def test_tender_with_many_identical_bidders_pays_the_fair_rent():
    # 40 bidders on average, all valuing at exactly the fair rent (sigma 0): the second-highest
    # value is the fair rent, above the reserve.
    rng = np.random.default_rng(1)
    fair = np.array([1000.0, 2500.0, 10.0])
    price, let = tender(fair, 0.8 * fair, 40.0, 0.0, rng)
    assert let.all()
    np.testing.assert_allclose(price, fair)


# ------------------------------------------------------------------ probabilities
def test_reform_probability_scales_with_capacity_and_intensity():
    cap = np.array([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(reform_probability(0.3, cap),
                               [0.0, 1 - 0.7 ** 0.5, 0.3, 0.51], atol=1e-12)
    np.testing.assert_allclose(reform_probability(0.3, np.array([0.25, 0.5]), 2.0),
                               [0.3, 0.51], atol=1e-12)
    np.testing.assert_allclose(reform_probability(0.3, cap, 0.0), 0.0)


def test_reform_probability_edges():
    cap = np.array([0.0, 0.1, 0.9])
    assert reform_probability(1.0, cap).tolist() == [0.0, 1.0, 1.0]
    assert reform_probability(1.7, cap).tolist() == [0.0, 1.0, 1.0]  # clipped to 1
    assert reform_probability(0.0, cap).tolist() == [0.0, 0.0, 0.0]
    assert reform_probability(-0.2, cap).tolist() == [0.0, 0.0, 0.0]  # clipped to 0


def test_hazard_probability_known_values():
    cap = np.array([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(
        hazard_probability(1.5, cap),
        [0.0, 1 - math.exp(-0.75), 0.7768698398515702, 1 - math.exp(-3.0)], atol=1e-12)
    np.testing.assert_allclose(hazard_probability(1.5, np.array([0.25]), 2.0),
                               [0.7768698398515702])
    np.testing.assert_allclose(hazard_probability(0.0, cap), 0.0)
    assert hazard_probability(1e6, np.array([0.5]))[0] == 1.0


# ------------------------------------------------------------------ one year of the register
def _year(v, c, p, *, year=2024, coverage=0.0, bidders=0.0, detect_hazard=0.0,
          registration=0.0, discovery=0.0, rent_index=1.0, seed=0):
    return platform_year(v, c, year=year, coverage=coverage, bidders=bidders,
                         detect_hazard=detect_hazard, registration=registration,
                         discovery=discovery, rent_index=rent_index, p=p,
                         rng=np.random.default_rng(seed))


def _irregular_register(make_villages, make_contracts):
    """One village, three running contracts: regular, under-priced, unpaid (with arrears)."""
    v = make_villages(1, capacity=0.5)
    c = make_contracts(
        3, fair=[1000.0, 1000.0, 2000.0], reserve=[800.0, 800.0, 1600.0],
        rent=[900.0, 300.0, 1500.0], status=[REGULAR, UNDERPRICED, UNPAID],
        arrears=[0.0, 0.0, 4500.0], registered=[True, False, False], end=2030)
    return v, c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_certain_detection_puts_irregular_contracts_right(make_villages, make_contracts,
                                                          make_params, seed):
    v, c = _irregular_register(make_villages, make_contracts)
    p = make_params()  # appraisal 0.8, arrears recovery 0.6
    out = _year(v, c, p, detect_hazard=1e9, seed=seed)
    assert out.detected == 2
    # the under-priced rent (300) is raised to the reserve (800); the unpaid one keeps its rent
    # (1500), now paid; the regular one (900) is left alone
    assert c.rent.tolist() == [900.0, 800.0, 1500.0]
    assert (c.status == REGULAR).all()
    assert c.registered.all()
    assert c.arrears.tolist() == [0.0, 0.0, 0.0]
    # arrears x recovery booked as arrears income; the paid rents as lease income
    assert v.income["arrears"][0] == pytest.approx(4500.0 * 0.6)
    assert v.income["lease"][0] == pytest.approx(900.0 + 800.0 + 1500.0)
    assert out.deals == 0 and out.unlet == 0 and out.volume == 0.0


def test_rent_above_reserve_is_kept_when_put_right(make_villages, make_contracts, make_params):
    v = make_villages(1)
    c = make_contracts(1, fair=1000.0, rent=850.0, status=UNDERPRICED)
    _year(v, c, make_params(), detect_hazard=1e9)
    assert c.rent[0] == 850.0 and c.status[0] == REGULAR


def test_without_detection_unpaid_rent_adds_to_arrears(make_villages, make_contracts,
                                                       make_params):
    v, c = _irregular_register(make_villages, make_contracts)
    out = _year(v, c, make_params(), detect_hazard=0.0)
    assert out.detected == 0
    assert c.arrears.tolist() == [0.0, 0.0, 4500.0 + 1500.0]
    assert c.status.tolist() == [REGULAR, UNDERPRICED, UNPAID]
    assert v.income["arrears"][0] == 0.0
    # lease income is the sum of the rents actually paid (the unpaid one is not)
    assert v.income["lease"][0] == pytest.approx(900.0 + 300.0)
    assert c.irregular().sum() == 2


def test_off_platform_relet_at_discounted_reserve(make_villages, make_contracts, make_params):
    v = make_villages(1, capacity=0.5)
    c = make_contracts(2, fair=[1000.0, 2000.0], end=[2023, 2030], rent=[700.0, 1700.0])
    p = make_params(offplatform_irregular=0.0, term_min=5, term_max=5)
    out = _year(v, c, p, coverage=0.0, rent_index=1.1)
    # expired contract: reserve 1000 x 1.1 x 0.8 = 880, off-platform rent 880 x (1 - 0.1) = 792
    assert c.reserve[0] == pytest.approx(880.0)
    assert c.rent[0] == pytest.approx(792.0)
    assert c.end[0] == 2028 and c.let[0] and not c.platform[0] and c.status[0] == REGULAR
    # the running contract keeps its rent
    assert c.rent[1] == 1700.0 and c.end[1] == 2030
    assert v.income["lease"][0] == pytest.approx(792.0 + 1700.0)
    assert out.deals == 0


def test_platform_tender_with_many_bidders(make_villages, make_contracts, make_params):
    v = make_villages(1, capacity=0.5)
    # both expired; only the registered one may go to the platform
    c = make_contracts(2, fair=1000.0, end=2023, registered=[True, False])
    p = make_params(offplatform_irregular=0.0, term_min=5, term_max=5, bid_sigma=0.0)
    out = _year(v, c, p, coverage=1.0, bidders=40.0, rent_index=1.1)
    assert out.deals == 1 and out.unlet == 0
    assert c.rent[0] == pytest.approx(1100.0)  # every bidder values it at the fair rent
    assert c.platform.tolist() == [True, False]
    assert c.rent[1] == pytest.approx(792.0)
    assert out.premium_num == pytest.approx(1100.0 - 880.0)
    assert out.premium_den == pytest.approx(880.0)
    assert out.volume == pytest.approx(1100.0 * 5)
    assert v.income["lease"][0] == pytest.approx(1100.0 + 792.0)


def test_failed_tender_leaves_the_asset_vacant(make_villages, make_contracts, make_params):
    v = make_villages(1)
    c = make_contracts(1, end=2023, registered=True)
    out = _year(v, c, make_params(), coverage=1.0, bidders=0.0)
    assert out.unlet == 1 and out.deals == 0
    assert not c.let[0] and c.rent[0] == 0.0
    assert v.income["lease"][0] == 0.0


def test_inventory_finds_hidden_assets(make_villages, make_contracts, make_params):
    v = make_villages(1, capacity=0.5, fixed_assets=1.0e6, hidden_assets=3.0e5)
    c = make_contracts(2, fair=[1000.0, 500.0], hidden=[False, True], let=[True, False],
                       registered=[True, False], rent=[800.0, 0.0], end=[2030, 2023])
    p = make_params(term_min=4, term_max=4)
    out = _year(v, c, p, discovery=1.0, rent_index=1.0)
    assert out.found_assets == 1
    assert v.fixed_assets[0] == pytest.approx(1.3e6) and v.hidden_assets[0] == 0.0
    assert not c.hidden[1] and c.let[1] and c.registered[1]
    assert c.rent[1] == pytest.approx(400.0) and c.end[1] == 2027
    assert v.income["lease"][0] == pytest.approx(800.0 + 400.0)


def test_hidden_assets_stay_idle_without_inventory(make_villages, make_contracts, make_params):
    v = make_villages(1, hidden_assets=3.0e5)
    c = make_contracts(1, hidden=True, let=False, registered=False, rent=0.0, end=2022)
    out = _year(v, c, make_params(), discovery=0.0, coverage=1.0, bidders=40.0)
    assert out.found_assets == 0 and out.deals == 0 and out.unlet == 0
    assert c.hidden[0] and not c.let[0]
    assert v.hidden_assets[0] == 3.0e5 and v.income["lease"][0] == 0.0


def test_income_goes_to_the_owner_village(make_villages, make_contracts, make_params):
    v = make_villages(3)
    c = make_contracts(3, village=[2, 0, 2], rent=[100.0, 200.0, 300.0], end=2030)
    _year(v, c, make_params())
    assert v.income["lease"].tolist() == [200.0, 0.0, 400.0]


def test_contracts_managed(make_contracts):
    c = make_contracts(4, let=[True, True, False, True], registered=[True, False, True, True])
    assert contracts_managed(c) == 2


def test_arrears_stay_recoverable_after_relet(make_villages, make_contracts, make_params):
    v = make_villages(1, capacity=0.5)
    c = make_contracts(1, fair=1000.0, rent=500.0, status=UNPAID, arrears=2000.0, end=2023)
    p = make_params(offplatform_irregular=0.0)
    _year(v, c, p, year=2024, detect_hazard=0.0)  # not found before the lease ends: re-let
    assert c.arrears[0] == pytest.approx(2000.0)  # the old tenant still owes it
    v.reset_flows()
    _year(v, c, p, year=2025, detect_hazard=1e9)  # a certain clean-up
    assert v.income["arrears"][0] == pytest.approx(2000.0 * 0.6)


def test_lease_that_finds_no_tenant_is_recorded_as_lost_rent(make_villages, make_contracts,
                                                             make_params):
    # two villages; every contract expires in 2023 and is tendered (coverage 1) with no bidder,
    # so none is re-let. Village 0's paid leases (900 + 300) are lost; the unpaid one (village
    # 1's 1500) brought nothing, and village 1's lease running to 2030 is untouched.
    v = make_villages(2)
    c = make_contracts(4, village=[0, 0, 1, 1], rent=[900.0, 300.0, 1500.0, 700.0],
                       status=[REGULAR, UNDERPRICED, UNPAID, REGULAR],
                       end=[2023, 2023, 2023, 2030])
    out = _year(v, c, make_params(), coverage=1.0, bidders=0.0)
    assert out.unlet == 3 and out.deals == 0
    assert out.lost_rent.tolist() == [1200.0, 0.0]
    assert v.income["lease"].tolist() == [0.0, 700.0]


def test_lease_re_let_is_not_lost(make_villages, make_contracts, make_params):
    # off the platform (coverage 0) an expiring lease is always re-let
    v = make_villages(1)
    c = make_contracts(2, rent=[900.0, 300.0], end=2023)
    out = _year(v, c, make_params(), coverage=0.0)
    assert c.let.all()
    assert out.lost_rent.tolist() == [0.0]

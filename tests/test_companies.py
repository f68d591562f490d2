"""Strong-village companies against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zq_sim.mechanisms.companies import (
    TOWN,
    UNION,
    VILLAGE,
    CompanyTable,
    counts,
    form_companies,
    form_stock,
    operate,
    split_dividends,
)

# one company (0) with three member seats
COMPANY = np.array([0, 0, 0])
SHARES = np.array([0.5, 0.3, 0.2])


def test_split_dividends_by_share():
    pay = split_dividends(np.array([1_000_000.0]), COMPANY, SHARES,
                          weak=np.array([False, False, True]), weak_first=False,
                          weak_amount=200_000.0)
    np.testing.assert_allclose(pay, [500_000.0, 300_000.0, 200_000.0])


def test_split_dividends_weak_first_one_weak_seat():
    # the weak seat first gets 200,000; the other 800,000 go by shares to all three
    pay = split_dividends(np.array([1_000_000.0]), COMPANY, SHARES,
                          weak=np.array([False, False, True]), weak_first=True,
                          weak_amount=200_000.0)
    np.testing.assert_allclose(pay, [400_000.0, 240_000.0, 360_000.0])


def test_split_dividends_weak_first_small_pool():
    # 300,000 for two weak seats: 150,000 each, nothing left for shares
    pay = split_dividends(np.array([300_000.0]), COMPANY, SHARES,
                          weak=np.array([True, False, True]), weak_first=True,
                          weak_amount=200_000.0)
    np.testing.assert_allclose(pay, [150_000.0, 0.0, 150_000.0])


def test_split_dividends_weak_first_cap_keeps_a_share_for_the_others():
    # the same small pool with first payments capped at half of it: 75,000 to each weak seat
    # first, the other 150,000 by shares to all three
    pay = split_dividends(np.array([300_000.0]), COMPANY, SHARES,
                          weak=np.array([True, False, True]), weak_first=True,
                          weak_amount=200_000.0, cap=0.5)
    np.testing.assert_allclose(pay, [75_000.0 + 75_000.0, 45_000.0, 75_000.0 + 30_000.0])
    # a non-weak member keeps at least (1 - cap) of what its share would give it
    assert pay[1] >= 0.5 * 300_000.0 * SHARES[1]


def test_split_dividends_cap_does_not_bind_on_a_large_pool():
    pay = split_dividends(np.array([1_000_000.0]), COMPANY, SHARES,
                          weak=np.array([False, False, True]), weak_first=True,
                          weak_amount=200_000.0, cap=0.5)
    np.testing.assert_allclose(pay, [400_000.0, 240_000.0, 360_000.0])


def test_split_dividends_weak_first_without_weak_members():
    pay = split_dividends(np.array([1_000_000.0]), COMPANY, SHARES, weak=np.zeros(3, dtype=bool),
                          weak_first=True, weak_amount=200_000.0)
    np.testing.assert_allclose(pay, [500_000.0, 300_000.0, 200_000.0])


def test_split_dividends_two_companies():
    pool = np.array([100_000.0, 0.0, 60_000.0])
    company = np.array([0, 0, 1, 2, 2])
    share = np.array([0.6, 0.4, 1.0, 0.5, 0.5])
    weak = np.array([False, True, True, True, False])
    pay = split_dividends(pool, company, share, weak, weak_first=True, weak_amount=50_000.0)
    # company 0: weak seat 50,000 first, the other 50,000 by 0.6/0.4
    # company 1: nothing to pay; company 2: 50,000 first, 10,000 by halves
    np.testing.assert_allclose(pay, [30_000.0, 70_000.0, 0.0, 55_000.0, 5_000.0])


@settings(max_examples=200, database=None, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.floats(0.01, 1.0), st.booleans()),
                min_size=1, max_size=12),
       st.lists(st.floats(0.0, 1e7), min_size=4, max_size=4), st.booleans(),
       st.floats(0.0, 1e6), st.floats(0.0, 1.0))
def test_split_dividends_pays_out_each_pool_exactly(seats, pools, weak_first, amount, cap):
    company = np.array([s[0] for s in seats])
    raw = np.array([s[1] for s in seats])
    share = raw / np.bincount(company, weights=raw, minlength=4)[company]
    weak = np.array([s[2] for s in seats])
    pool = np.array(pools) * (np.bincount(company, minlength=4) > 0)
    pay = split_dividends(pool, company, share, weak, weak_first, amount, cap)
    assert (pay >= -1e-6).all()
    # nobody gets less than (1 - cap) of what its share alone would give
    assert (pay >= (1 - cap) * pool[company] * share - 1e-6).all() or not weak_first
    np.testing.assert_allclose(np.bincount(company, weights=pay, minlength=4), pool,
                               rtol=1e-9, atol=1e-6)


# ------------------------------------------------------------------ a company's business year
NO_CROWD = np.array([1e18])  # a market so large that it is not crowded
NO_WORKS = np.zeros(1)


def _one_company(capital=1.0e6, capability=1.0e6, shares=(0.6, 0.4), kind=UNION) -> CompanyTable:
    t = CompanyTable()
    t.extend(np.array([kind]), np.array([0]), np.array([capital]), 2023, np.array([capability]),
             [np.array([0, 1])], [np.array(shares)])
    return t


def _operate(t, v, p, demand=NO_CROWD, works=NO_WORKS, **kw):
    args = {"return_shift": 0.0, "failure_multiplier": 1.0, "weak_first": False,
            "weak_amount": 100_000.0, **kw}
    return operate(t, v, demand=demand, works=works, p=p, rng=np.random.default_rng(0), **args)


def test_operate_profit_and_dividends_by_share(make_villages, make_params):
    t = _one_company()
    v = make_villages(2, prev_operating=[500_000.0, 100_000.0])
    p = make_params(return_sd=0.0, failure_hazard=0.0, depreciation=0.04)
    _operate(t, v, p)
    # profit = 1e6 x 7% + 1e6 x 15% = 220,000; dividends 70% = 154,000; capital depreciates 4%
    assert t.profit[0] == pytest.approx(220_000.0)
    assert t.dividends[0] == pytest.approx(154_000.0)
    assert t.capital[0] == pytest.approx(960_000.0 + 66_000.0)
    np.testing.assert_allclose(v.income["dividends"], [92_400.0, 61_600.0])


def test_operate_weak_first_and_return_shift(make_villages, make_params):
    t = _one_company()
    v = make_villages(2, prev_operating=[500_000.0, 100_000.0])
    v.weak = np.array([False, True])  # village 1 is on the list of weak villages
    p = make_params(return_sd=0.0, failure_hazard=0.0)
    _operate(t, v, p, return_shift=-0.05, weak_first=True, weak_cap=0.5)
    # the shock shifts the return and the margin: profit = 1e6 x 2% + 1e6 x 10% = 120,000;
    # pool 84,000: half of it (the cap) to the weak village first, the rest by shares
    assert t.dividends[0] == pytest.approx(84_000.0)
    np.testing.assert_allclose(v.income["dividends"], [0.6 * 42_000.0, 42_000.0 + 0.4 * 42_000.0])


def test_companies_of_a_town_share_its_market_and_crowd_its_margin(make_villages, make_params):
    t = CompanyTable()
    t.extend(np.array([VILLAGE, VILLAGE]), np.array([0, 0]), np.array([0.0, 0.0]), 2023,
             np.array([1.0e6, 3.0e6]), [np.array([0]), np.array([1])],
             [np.array([1.0]), np.array([1.0])])
    v = make_villages(2)
    p = make_params(return_sd=0.0, failure_hazard=0.0, business_margin=0.2, crowding=0.5)
    _operate(t, v, p, demand=np.array([4.0e6]))
    # capabilities 4M against demand 4M: the market is half filled, each does half its
    # capability, and margins fall by 0.5 x 0.5
    np.testing.assert_allclose(t.business, [0.5e6, 1.5e6])
    assert t.business.sum() <= 4.0e6
    np.testing.assert_allclose(t.profit, t.business * 0.2 * 0.75)


def test_business_of_a_town_never_exceeds_its_demand(make_villages, make_params):
    rng = np.random.default_rng(5)
    t = CompanyTable()
    k = 40
    t.extend(np.zeros(k, dtype=int), rng.integers(0, 3, k), np.zeros(k), 2023,
             rng.lognormal(13, 1, k), [np.array([i]) for i in range(k)],
             [np.array([1.0])] * k)
    v = make_villages(k)
    demand = np.array([1.0e6, 5.0e6, 2.0e5])
    _operate(t, v, make_params(failure_hazard=0.0), demand=demand, works=np.zeros(3))
    per_town = np.bincount(t.town, weights=t.business, minlength=3)
    assert (per_town < demand).all()


def test_town_union_is_let_the_towns_public_works(make_villages, make_params):
    t = _one_company(capital=0.0, capability=0.0, kind=TOWN)
    v = make_villages(2)
    p = make_params(return_sd=0.0, failure_hazard=0.0, business_margin=0.15)
    year = _operate(t, v, p, works=np.array([2.0e6]))
    assert year.works == pytest.approx(2.0e6)  # paid by the town: public money
    assert t.profit[0] == pytest.approx(0.15 * 2.0e6)
    # a village-level company is not let public works
    t2 = _one_company(capital=0.0, capability=0.0, kind=VILLAGE)
    assert _operate(t2, make_villages(2), p, works=np.array([2.0e6])).works == 0.0


def test_company_capital_converges(make_villages, make_params):
    # retained profit against depreciation: capital settles at (1-payout) m B / (d - (1-payout) r)
    p = make_params(return_sd=0.0, failure_hazard=0.0, business_sd=0.0, company_learning=0.0,
                    depreciation=0.04, return_mean=0.07, payout=0.7, business_margin=0.15)
    t = _one_company(capital=0.0, capability=1.0e6)
    v = make_villages(2)
    for year in range(2024, 2400):
        _operate(t, v, p, year=year)
    expected = 0.3 * 0.15 * 1.0e6 / (0.04 - 0.3 * 0.07)
    assert t.capital[0] == pytest.approx(expected, rel=1e-3)


def test_young_companies_learn_then_stop(make_villages, make_params):
    p = make_params(business_sd=0.0, company_learning=0.1, company_maturity_years=3,
                    failure_hazard=0.0)
    t = _one_company(capability=1.0e6)  # founded 2023
    v = make_villages(2)
    caps = []
    for year in range(2023, 2030):
        _operate(t, v, p, year=year)
        caps.append(t.capability[0])
    # no growth in the founding year, 10% a year at ages 1-3, none after
    np.testing.assert_allclose(caps, [1.0e6] + [1.0e6 * np.exp(0.1 * a) for a in (1, 2, 3)]
                               + [1.0e6 * np.exp(0.3)] * 3)


def test_operate_failure_returns_half_the_capital(make_villages, make_params):
    t = _one_company(capital=2.0e6)
    v = make_villages(2, capacity=0.5, funds=[10.0, 20.0])
    p = make_params(failure_hazard=1.0)  # hazard 1 x (1.5 - 0.5) = 1: certain failure
    year = _operate(t, v, p, weak_amount=0.0)
    assert not t.alive[0]
    assert t.capital[0] == 0.0 and t.dividends[0] == 0.0
    np.testing.assert_allclose(v.funds, [10.0 + 0.6e6, 20.0 + 0.4e6])
    assert (v.income["dividends"] == 0).all()
    assert counts(t)["companies"] == 0
    assert year.failed.tolist() == [0] and year.capital_lost == pytest.approx(1.0e6)


def test_dead_company_stays_dead_and_pays_nothing(make_villages, make_params):
    t = _one_company()
    t.alive[:] = False
    v = make_villages(2)
    _operate(t, v, make_params(), weak_first=True, weak_amount=1e5)
    assert not t.alive[0] and t.dividends[0] == 0.0 and (v.income["dividends"] == 0).all()


# ------------------------------------------------------------------ formation
def test_form_stock_on_hand_built_towns(make_villages, make_params):
    # towns: 0 has villages 0-3, 1 has 4-6, 2 has only village 7 (no union possible)
    v = make_villages(8, town=[0, 0, 0, 0, 1, 1, 1, 2], funds=100_000.0, capacity=0.5)
    p = make_params(capital_share=0.3, max_memberships=3, company_min_capacity=0.4)
    t = CompanyTable()
    spent = form_stock(t, v, counts=(3, 2, 5), year=2024, seed_capital=300_000.0, p=p,
                       rng=np.random.default_rng(11))
    kinds = t.kind.tolist()
    assert kinds.count(VILLAGE) == 3 and kinds.count(UNION) == 2
    assert kinds.count(TOWN) == 2  # one per town with at least two villages
    assert spent == pytest.approx(300_000.0 * t.k)
    for j in range(t.k):
        members = t.members(j)
        assert (v.town[members] == t.town[j]).all()
        assert len(set(members.tolist())) == len(members)
        assert t.m_share[t.m_company == j].sum() == pytest.approx(1.0)
        if t.kind[j] == VILLAGE:
            assert len(members) == 1
        elif t.kind[j] == UNION:
            assert 2 <= len(members)
        else:
            assert sorted(members.tolist()) == np.flatnonzero(v.town == t.town[j]).tolist()
    # members pool 30% of their funds; the company's capital is that plus the seed capital
    seats = np.bincount(t.m_village, minlength=v.n)
    np.testing.assert_allclose(v.funds, 100_000.0 * 0.7 ** seats)
    pooled = 100_000.0 * v.n - v.funds.sum()
    assert t.capital.sum() == pytest.approx(300_000.0 * t.k + pooled)


def test_formation_draws_on_a_finite_pool(make_villages, make_params):
    # 60 villages in 6 towns; half of them lack the capacity to found a company
    n = 60
    v = make_villages(n, town=np.repeat(np.arange(6), 10), funds=100_000.0,
                      capacity=np.where(np.arange(n) % 2 == 0, 0.6, 0.3))
    p = make_params(company_min_capacity=0.45, max_memberships=2)
    t = CompanyTable()
    rng = np.random.default_rng(1)
    founded = []
    for year in range(2023, 2043):
        before = t.k
        form_companies(t, v, hazards=(0.3, 0.3, 0.3), year=year, seed_capital=0.0, p=p, rng=rng)
        founded.append(t.k - before)
    village_level = t.kind == VILLAGE
    owners = t.m_village[np.isin(t.m_company, np.flatnonzero(village_level))]
    assert set(owners.tolist()) <= set(range(0, n, 2))  # only capable villages found one
    assert len(set(owners.tolist())) == village_level.sum()  # one each
    assert (t.memberships(n) <= 2).all()
    assert ((t.kind == UNION).sum() <= 6) and ((t.kind == TOWN).sum() <= 6)
    # formation slows as the pool empties: most in the first years, none at the end
    assert sum(founded[:5]) > sum(founded[5:10]) > 0 and sum(founded[-5:]) == 0


def test_a_push_brings_formation_forward_within_the_pool(make_villages, make_params):
    def run(push):
        v = make_villages(200, town=np.repeat(np.arange(20), 10), funds=1.0, capacity=0.6)
        t = CompanyTable()
        rng = np.random.default_rng(2)
        path = []
        for year in range(2023, 2063):
            form_companies(t, v, hazards=(0.05 * push, 0.05 * push, 0.05 * push), year=year,
                           seed_capital=0.0, p=make_params(max_memberships=2), rng=rng)
            path.append(t.k)
        return path
    slow, fast = run(1.0), run(2.0)
    assert fast[2] > slow[2]  # more companies early
    # the pool bounds both: 200 village-level companies and one union of each kind per town
    assert max(fast[-1], slow[-1]) <= 200 + 2 * 20
    assert fast[-1] / slow[-1] < fast[2] / slow[2]  # the push matters less once the pool is used


def test_form_companies_does_not_duplicate(make_villages, make_params):
    v = make_villages(4, town=[0, 0, 1, 1], funds=1000.0, capacity=0.9)
    t = CompanyTable()
    rng = np.random.default_rng(0)
    p = make_params(max_memberships=3)
    for year in (2024, 2025, 2026):
        form_companies(t, v, hazards=(50.0, 0.0, 50.0), year=year, seed_capital=0.0, p=p,
                       rng=rng)
    assert (t.kind == VILLAGE).sum() == 4  # every village already has one
    assert (t.kind == TOWN).sum() == 2  # every town already has one
    c = counts(t)
    assert c == {"companies": 6, "companies_village": 4, "companies_village_union": 0,
                 "companies_town_union": 2}


def test_losses_run_capital_down_to_nothing_not_below(make_villages, make_params):
    t = _one_company(capital=100_000.0, capability=0.0)
    v = make_villages(2)
    p = make_params(return_sd=0.0, failure_hazard=0.0, return_mean=-1.0)
    for year in range(2024, 2030):
        _operate(t, v, p, year=year)
        assert t.capital[0] >= 0.0
    assert t.capital[0] == 0.0 and t.alive[0]

"""Land transfer and the Huaiji SOE against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import build_villages, params
from zq_sim.mechanisms.land import (
    free_land,
    land_year,
    logistic,
    operator_bid,
    soe_take,
    willingness,
)

# logistic(x) = 1 / (1 + e^-x), written out by hand for the inputs below
W_LOW = 0.2141650169574414    # logistic(-1.3): no off-farm income, no aged heads
W_MID = 0.31324327335609825   # logistic(-1.3 + 0.43 x 0.5 + 1.0 x 0.3) = logistic(-0.785)
W_HIGH = 0.5324543063873187   # logistic(-1.3 + 0.43 + 1.0) = logistic(0.13)


def test_logistic():
    np.testing.assert_allclose(logistic(np.array([0.0, np.log(3.0)])), [0.5, 0.75])


def test_willingness_logit(make_villages, make_params):
    v = make_villages(3, offfarm=[0.0, 0.5, 1.0], aged=[0.0, 0.3, 1.0])
    np.testing.assert_allclose(willingness(v, make_params()), [W_LOW, W_MID, W_HIGH], rtol=1e-12)


def test_willingness_rises_with_offfarm_income_and_age(make_villages, make_params):
    v = make_villages(4, offfarm=[0.2, 0.8, 0.2, 0.2], aged=[0.1, 0.1, 0.6, 0.1])
    w = willingness(v, make_params())
    assert w[1] > w[0] and w[2] > w[0]


def test_operator_bid_on_hand_built_villages(make_villages, make_params):
    v = make_villages(4, hilly=[False, True, False, False], distance=[10.0, 10.0, 200.0, 25.0],
                      margin_factor=[1.0, 1.0, 1.0, 1.2])
    p = make_params()  # margin 1800, transport 12 per km, hilly quality 0.5
    np.testing.assert_allclose(operator_bid(v, p), [
        0.5 * (1800 - 12 * 10),          # 840
        0.5 * (1800 * 0.5 - 12 * 10),    # 390
        0.0,                             # 0.5 x (1800 - 2400) < 0, floored
        0.5 * (1800 * 1.2 - 12 * 25),    # 930
    ])
    np.testing.assert_allclose(operator_bid(v, p, np.array([0.5, 1.0, 1.0, 1.0]))[0], 390.0)


def test_free_land(make_villages):
    v = make_villages(2, farmland=1000.0, fragmented=[300.0, 600.0], consolidated=[100.0, 300.0],
                      transferred=[50.0, 200.0], soe_land=[150.0, 0.0])
    assert free_land(v).tolist() == [400.0, 0.0]  # the second would be -100: floored at 0


def test_land_year_moves_consolidated_land_to_transferred(make_villages, make_params):
    # village 0: flat, near market (bid ~840 >> reservation 300): all willing households transfer
    # village 1: hilly and far (bid 0): rent-free, accepted with chance 0.7
    # village 2: flat and far (bid 0): unprofitable land stays with the households
    v = make_villages(3, farmland=1000.0, fragmented=300.0, consolidated=100.0,
                      transferred=50.0, hilly=[False, True, False],
                      distance=[10.0, 1000.0, 1000.0])
    p = make_params()
    land_year(v, consolidation=0.1, soe_plan=3000.0, huaiji=np.zeros(3, dtype=bool), fee=50.0,
              p=p, rng=np.random.default_rng(3))
    new = np.array([130.0 * W_MID, 130.0 * W_MID * 0.7, 0.0])
    np.testing.assert_allclose(v.fragmented, 270.0)
    np.testing.assert_allclose(v.consolidated, 130.0 - new)
    np.testing.assert_allclose(v.transferred, 50.0 + new)
    np.testing.assert_allclose(v.new_transfer, new)
    assert (v.soe_land == 0).all()  # no Huaiji villages
    np.testing.assert_allclose(v.income["land"], (50.0 + new) * 50.0)


def test_land_year_books_the_soe_fee(make_villages, make_params):
    v = make_villages(2, farmland=1000.0, transferred=[100.0, 0.0], soe_land=[0.0, 200.0],
                      distance=1000.0)
    p = make_params(soe_fee=80.0)
    land_year(v, consolidation=0.0, soe_plan=0.0, huaiji=np.array([False, True]), fee=60.0,
              p=p, rng=np.random.default_rng(0))
    np.testing.assert_allclose(v.income["land"], [100.0 * 60.0, 200.0 * 80.0])


def test_soe_takes_no_more_than_free_land(make_villages, make_params):
    # village 0: 100 mu free; village 1: none free; village 2: free but not in Huaiji
    v = make_villages(3, farmland=1000.0, fragmented=[600.0, 600.0, 0.0],
                      consolidated=[300.0, 400.0, 0.0])
    huaiji = np.array([True, True, False])
    taken = soe_take(v, 50.0, huaiji, make_params(), np.random.default_rng(7))
    assert v.soe_land.tolist() == [100.0, 0.0, 0.0]
    assert taken == pytest.approx(100.0)
    assert free_land(v).tolist() == [0.0, 0.0, 1000.0]


def test_soe_takes_nothing_without_room(make_villages, make_params):
    v = make_villages(2, farmland=100.0, fragmented=100.0)
    assert soe_take(v, 50.0, np.ones(2, dtype=bool), make_params(), np.random.default_rng(0)) == 0
    assert (v.soe_land == 0).all()


def test_soe_takes_nothing_outside_huaiji(make_villages, make_params):
    v = make_villages(2)
    assert soe_take(v, 50.0, np.zeros(2, dtype=bool), make_params(),
                    np.random.default_rng(0)) == 0.0


_stock = st.floats(0.0, 1.0)


@settings(max_examples=150, database=None, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 5000.0), _stock, _stock, _stock, _stock, st.booleans(),
                          st.floats(0.0, 100.0)), min_size=1, max_size=6),
       st.floats(0.0, 1.0), st.floats(0.0, 40.0), st.integers(0, 2 ** 32 - 1))
def test_land_stocks_never_exceed_farmland(rows, consolidation, blocks, seed):
    farmland = np.array([r[0] for r in rows])
    # stocks as shares of what is left, so the start is consistent
    a, b, c, d = (np.array([r[i] for r in rows]) for i in (1, 2, 3, 4))
    fragmented = farmland * a
    consolidated = (farmland - fragmented) * b
    transferred = (farmland - fragmented - consolidated) * c
    soe = (farmland - fragmented - consolidated - transferred) * d
    v = build_villages(len(rows), farmland=farmland, fragmented=fragmented,
                       consolidated=consolidated, transferred=transferred, soe_land=soe,
                       hilly=[r[5] for r in rows], distance=[r[6] for r in rows])
    rng = np.random.default_rng(seed)
    huaiji = rng.random(len(rows)) < 0.5
    for _ in range(3):
        land_year(v, consolidation=consolidation, soe_plan=blocks * 700.0, huaiji=huaiji, fee=50.0,
                  p=params(), rng=rng)
    used = v.fragmented + v.consolidated + v.transferred + v.soe_land
    assert (used <= v.farmland * (1 + 1e-9) + 1e-9).all()
    for stock in (v.fragmented, v.consolidated, v.transferred, v.soe_land, v.new_transfer):
        assert (stock >= 0).all()
    assert (v.soe_land[~huaiji] == soe[~huaiji]).all()
    assert (v.transferred >= transferred).all()

"""Invariants over random valid configurations and seeds (hypothesis)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zq_sim.config import RunConfig, validate
from zq_sim.model import ZhaoqingModel
from zq_sim.state import INCOME_PARTS

shares = st.floats(0.0, 1.0, allow_nan=False)
pushes = st.floats(0.0, 3.0, allow_nan=False)


@st.composite
def configs(draw) -> RunConfig:
    cfg = RunConfig()
    cfg.years.end = 2025
    cfg.output.progress = False
    cfg.policy.three_assets.reform = draw(st.booleans())
    cfg.policy.three_assets.platform_coverage = draw(shares)
    cfg.policy.three_assets.cleanup_intensity = draw(pushes)
    cfg.policy.land.consolidation_push = draw(pushes)
    cfg.policy.land.soe_push = draw(pushes)
    cfg.policy.companies.formation_push = draw(pushes)
    cfg.policy.companies.weak_first = draw(st.booleans())
    cfg.policy.companies.failure_multiplier = draw(pushes)
    cfg.policy.pv.adopt_rate = draw(st.floats(0.0, 0.5))
    cfg.policy.support.enabled = draw(st.booleans())
    cfg.policy.support.gap_share = draw(shares)
    cfg.policy.shock.rent_change = draw(st.floats(-0.3, 0.3))
    cfg.model.irregular_share = draw(shares)
    cfg.model.unpaid_share = draw(shares)
    cfg.model.capital_share = draw(shares)
    return validate(cfg)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), seed=st.integers(0, 2**32 - 1))
def test_invariants_hold_every_year(cfg, seed):
    model = ZhaoqingModel(cfg, rng=seed)
    v, c, t = model.villages, model.contracts, model.companies
    while model.year < cfg.years.end:
        model.step()
        # land: stocks never negative, never more than the farmland
        for stock in (v.fragmented, v.consolidated, v.transferred, v.soe_land):
            assert (stock >= -1e-9).all()
        used = v.fragmented + v.consolidated + v.transferred + v.soe_land
        assert (used <= v.farmland * (1 + 1e-9) + 1e-9).all()
        # money: operating income is its parts; nothing NaN or infinite
        parts = sum(v.income[p] for p in INCOME_PARTS)
        np.testing.assert_allclose(v.operating_income(), parts)
        for part in INCOME_PARTS:
            assert np.isfinite(v.income[part]).all(), part
        assert np.isfinite(v.support).all() and (v.support >= 0).all()
        assert np.isfinite(v.funds).all() and np.isfinite(v.fixed_assets).all()
        # dividends paid by companies equal dividends received by villages
        np.testing.assert_allclose(t.dividends.sum(), v.income["dividends"].sum(), rtol=1e-9,
                                   atol=1e-6)
        # companies' members are real villages; unions' members lie in the company's town
        if t.k:
            assert ((t.m_village >= 0) & (t.m_village < v.n)).all()
            union = t.kind[t.m_company] != 0
            assert (v.town[t.m_village[union]] == t.town[t.m_company[union]]).all()
        # contracts: rents and arrears never negative; hidden assets are not let
        assert (c.rent >= 0).all() and (c.arrears >= 0).all()
        assert not (c.hidden & c.let).any()
    ts = model.timeseries()
    counts = [col for col in ts if col.startswith(("companies", "platform_deals", "petitions",
                                                   "contracts", "irregular", "assets_found"))]
    assert (ts[counts] >= 0).all().all()
    assert np.isfinite(ts.select_dtypes("number").to_numpy()).all()

"""Accounting identities and invariants of a real run of the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zq_sim.agents import StrongVillageCompany
from zq_sim.mechanisms.companies import TOWN, UNION, VILLAGE
from zq_sim.model import ZhaoqingModel
from zq_sim.state import INCOME_PARTS

COUNT_COLUMNS = ("platform_deals", "contracts_managed", "irregular_contracts",
                 "contracts_put_right", "assets_found", "petitions", "companies",
                 "companies_village", "companies_village_union", "companies_town_union")


@pytest.fixture(scope="module")
def stepped():
    """A baseline model stepped year by year to 2026, with the checks of every year."""
    from zq_sim.config import RunConfig

    cfg = RunConfig()
    cfg.years.end = 2026
    model = ZhaoqingModel(cfg, rng=3)
    years = []
    while model.year < cfg.years.end:
        model.step()
        v, t = model.villages, model.companies
        years.append({
            "year": model.year,
            "operating": v.operating_income().copy(),
            "parts": {k: a.copy() for k, a in v.income.items()},
            "support": v.support.copy(),
            "lost_rent": model._platform.lost_rent.copy(),
            "agent_operating": np.array([a.operating_income for a in model.village_agents]),
            "dividends_paid": float(t.dividends.sum()),
            "land": (v.farmland.copy(), v.fragmented.copy(), v.consolidated.copy(),
                     v.transferred.copy(), v.soe_land.copy()),
            "companies": t.copy(),
        })
    return model, years


def test_income_parts_are_the_declared_ones(stepped):
    model, years = stepped
    for y in years:
        assert set(y["parts"]) == set(INCOME_PARTS)


def test_operating_income_is_the_sum_of_its_parts(stepped):
    model, years = stepped
    for y in years:
        np.testing.assert_allclose(y["operating"], sum(y["parts"].values()), rtol=1e-12)
        np.testing.assert_allclose(y["agent_operating"], y["operating"], rtol=1e-12)


def test_timeseries_mean_operating_is_the_sum_of_mean_parts(stepped):
    model, _ = stepped
    ts = model.timeseries()
    parts = ts[[f"mean_{p}_income" for p in INCOME_PARTS]].sum(axis=1)
    np.testing.assert_allclose(ts["mean_operating_income"], parts, rtol=1e-9)
    np.testing.assert_allclose(ts["mean_total_income"],
                               ts["mean_operating_income"] + ts["mean_support"], rtol=1e-9)


def test_village_panel_adds_up(stepped):
    model, _ = stepped
    panel = model.village_panel()
    np.testing.assert_allclose(panel["operating_income"],
                               panel[list(INCOME_PARTS)].sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(panel["total_income"],
                               panel["operating_income"] + panel["support"], rtol=1e-9)
    ts = model.timeseries().set_index("year")
    by_year = panel.groupby("year")
    np.testing.assert_allclose(by_year["operating_income"].mean(), ts["mean_operating_income"],
                               rtol=1e-9)
    np.testing.assert_allclose(by_year["total_income"].min(), ts["min_total_income"], rtol=1e-12)


def test_support_follows_last_years_accounts(stepped):
    # support is budgeted on last year's recurring operating income (the one-off recovery of
    # arrears does not count) less the dividends of companies wound up this year and the rents
    # of leases that found no new tenant (tests/test_three_assets.py checks those)
    model, years = stepped
    s = model.cfg.policy.support
    n = model.villages.n
    assert (years[0]["support"] == 0).all()  # 2023: no support lever yet
    closures = 0
    for before, now in zip(years, years[1:], strict=False):
        recurring = before["operating"] - before["parts"]["arrears"]
        old, new = before["companies"], now["companies"]
        closed = old.alive & ~new.alive[:old.k]
        closures += int(closed.sum())
        seats = np.flatnonzero(closed[old.m_company])
        lost = np.bincount(old.m_village[seats], weights=old.m_paid[seats], minlength=n)
        expected = s.gap_share * np.maximum(
            s.threshold - (recurring - lost - now["lost_rent"]), 0.0)
        np.testing.assert_allclose(now["support"], expected, rtol=1e-12)
    assert closures > 0  # the check above has seen companies wound up
    assert any(y["lost_rent"].sum() > 0 for y in years[1:])  # and leases not re-let


def test_seat_dividends_add_up_to_what_villages_receive(stepped):
    _, years = stepped
    for y in years:
        t = y["companies"]
        received = np.bincount(t.m_village, weights=t.m_paid, minlength=len(y["operating"]))
        np.testing.assert_allclose(received, y["parts"]["dividends"], rtol=1e-9, atol=1e-6)


def test_no_nan_or_infinity(stepped):
    model, _ = stepped
    for frame in (model.timeseries(), model.village_panel()):
        numeric = frame.select_dtypes("number").to_numpy(dtype=float)
        assert np.isfinite(numeric).all()


def test_land_stocks_within_farmland_and_non_negative(stepped):
    _, years = stepped
    for y in years:
        farmland, fragmented, consolidated, transferred, soe = y["land"]
        for stock in (fragmented, consolidated, transferred, soe):
            assert (stock >= 0).all()
        used = transferred + soe + fragmented + consolidated
        assert (used <= farmland * (1 + 1e-9)).all()


def test_transferred_land_only_grows(stepped):
    _, years = stepped
    for before, now in zip(years, years[1:], strict=False):
        assert (now["land"][3] >= before["land"][3]).all()
        assert (now["land"][4] >= before["land"][4]).all()


def test_dividends_paid_equal_dividends_received(stepped):
    _, years = stepped
    for y in years:
        assert y["dividends_paid"] > 0
        assert y["parts"]["dividends"].sum() == pytest.approx(y["dividends_paid"], rel=1e-9)


def test_timeseries_dividends_agree(stepped):
    model, _ = stepped
    ts = model.timeseries()
    n = model.villages.n
    np.testing.assert_allclose(ts["mean_dividends_income"] * n, ts["dividends_paid"], rtol=1e-9)


def test_counts_never_negative(stepped):
    model, _ = stepped
    ts = model.timeseries()
    for column in COUNT_COLUMNS:
        assert (ts[column] >= 0).all(), column
    assert (ts["companies"] == ts["companies_village"] + ts["companies_village_union"]
            + ts["companies_town_union"]).all()
    for column in ("land_transferred", "land_transferred_stock", "huaiji_soe_land", "pv_kw",
                   "platform_volume", "public_spending", "fixed_assets", "dividends_paid"):
        assert (ts[column] >= 0).all(), column


def test_public_spending_is_the_sum_of_its_parts(stepped):
    model, _ = stepped
    ts = model.timeseries()
    parts = ts[[c for c in ts.columns if c.startswith("public_") and c != "public_spending"]]
    np.testing.assert_allclose(ts["public_spending"], parts.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(ts["public_support"], ts["mean_support"] * model.villages.n,
                               rtol=1e-9)


def test_company_members_are_real_villages_of_their_town(stepped):
    model, years = stepped
    v = model.villages
    t = years[-1]["companies"]
    assert t.k > 0
    assert ((t.m_village >= 0) & (t.m_village < v.n)).all()
    for j in range(t.k):
        members = t.members(j)
        assert len(members) >= 1
        assert len(np.unique(members)) == len(members)
        assert (v.town[members] == t.town[j]).all(), f"company {j} has villages of another town"
        if t.kind[j] == VILLAGE:
            assert len(members) == 1
        if t.kind[j] in (UNION, TOWN):
            assert len(members) >= 2
        assert t.m_share[t.m_company == j].sum() == pytest.approx(1.0)
    # at most one live village-level company per village, and one live union of each kind per
    # town; no village a member of more live companies than allowed
    live_village = t.alive & (t.kind == VILLAGE)
    seats = t.m_village[live_village[t.m_company]]
    assert len(np.unique(seats)) == len(seats)
    for kind in (UNION, TOWN):
        towns = t.town[t.alive & (t.kind == kind)]
        assert len(np.unique(towns)) == len(towns)
    assert (t.memberships(v.n) <= model.p.max_memberships).all()


def test_company_agents_mirror_the_table(stepped):
    model, _ = stepped
    # live companies are agents; failed ones have left the model's agents
    assert sorted(a.row for a in model.company_agents) == np.flatnonzero(
        model.companies.alive).tolist()
    in_model = {a.row for a in model.agents if isinstance(a, StrongVillageCompany)}
    assert in_model == set(np.flatnonzero(model.companies.alive).tolist())
    agent = model.company_agents[-1]
    assert agent.members == model.companies.members(agent.row).tolist()


def test_years_and_columns(stepped):
    model, _ = stepped
    ts = model.timeseries()
    assert ts["year"].tolist() == [2023, 2024, 2025, 2026]
    assert isinstance(ts, pd.DataFrame) and ts["year"].is_unique

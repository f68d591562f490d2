"""Talent, assistance and fiscal support against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from zq_sim.mechanisms.assistance import (
    ProjectTable,
    assistance_year,
    choose,
    support_transfer,
    talent_year,
)


def test_support_transfer():
    prev = np.array([0.0, 50_000.0, 199_999.0, 200_000.0, 350_000.0, -10_000.0])
    np.testing.assert_allclose(support_transfer(prev, 200_000.0, 0.9),
                               [180_000.0, 135_000.0, 0.9, 0.0, 0.0, 189_000.0])
    assert (support_transfer(prev, 200_000.0, 0.0) == 0).all()
    assert (support_transfer(prev, 0.0, 0.9)[:5] == 0).all()


def test_choose_weak_picks_lowest_prev_operating(make_villages):
    v = make_villages(4, prev_operating=[500.0, 100.0, 300.0, 50.0])
    rng = np.random.default_rng(0)
    assert choose(v, 1, "weak", rng).tolist() == [3]
    assert choose(v, 2, "weak", rng).tolist() == [3, 1]
    # more picks than villages: round again from the weakest
    assert choose(v, 6, "weak", rng).tolist() == [3, 1, 2, 0, 3, 1]
    assert choose(v, 0, "weak", rng).size == 0


def test_choose_west_and_random(make_villages):
    v = make_villages(6, west=[True, False, True, False, False, False])
    rng = np.random.default_rng(1)
    west = choose(v, 50, "west", rng)
    assert len(west) == 50 and set(west.tolist()) <= {0, 2}
    assert sorted(choose(v, 2, "west", rng).tolist()) == [0, 2]  # without repetition
    anywhere = choose(v, 200, "random", rng)
    assert set(anywhere.tolist()) == set(range(6))
    assert len(set(choose(v, 6, "random", rng).tolist())) == 6


def test_choose_west_without_western_villages_falls_back(make_villages):
    v = make_villages(3, west=False)
    assert set(choose(v, 30, "west", np.random.default_rng(0)).tolist()) == {0, 1, 2}


def test_talent_year_raises_and_fades(make_villages, make_params):
    p = make_params()  # gains 0.08 / 0.15 / 0.2, decay 0.2
    v = make_villages(3, capacity_base=[0.5, 0.5, 0.9], capacity=[0.5, 0.5, 0.9],
                      prev_operating=[100.0, 200.0, 50.0])
    rng = np.random.default_rng(0)
    talent_year(v, officials=2, instructors=1, managers=1, targeting="weak", p=p, rng=rng)
    # officials to villages 2 and 0; the instructor and the manager to village 2
    np.testing.assert_allclose(v.talent, [0.08, 0.0, 0.08 + 0.15 + 0.2])
    np.testing.assert_allclose(v.capacity, [0.58, 0.5, 0.99])  # capped at 0.99
    talent_year(v, officials=0, instructors=0, managers=0, targeting="weak", p=p, rng=rng)
    np.testing.assert_allclose(v.talent, [0.064, 0.0, 0.344])
    np.testing.assert_allclose(v.capacity, [0.564, 0.5, 0.99])


def _stock(village, value, rate, year) -> ProjectTable:
    projects = ProjectTable()
    projects.extend(np.array(village), np.array(value, dtype=float), np.array(rate), year)
    return projects


def test_assistance_year_without_fund_keeps_returns(make_villages, make_params):
    v = make_villages(2, fixed_assets=0.0)
    projects = _stock([0], [1.0e6], [0.05], 2021)
    spent = assistance_year(v, projects, fund=0.0, targeting="weak", year=2024,
                            p=make_params(), rng=np.random.default_rng(0))
    assert spent == 0.0
    np.testing.assert_allclose(v.income["assistance"], [50_000.0, 0.0])
    np.testing.assert_allclose(v.assist_assets, [1.0e6, 0.0])
    assert (v.fixed_assets == 0).all()


def test_assistance_year_books_projects(make_villages, make_params):
    p = make_params(assist_return_sd=0.0, assist_return=0.08)
    v = make_villages(3, prev_operating=[10.0, 20.0, 30.0], fixed_assets=0.0)
    projects = _stock([2], [2.0e6], [0.05], 2023)
    spent = assistance_year(v, projects, fund=5.0e6, targeting="weak", year=2024, p=p,
                            rng=np.random.default_rng(4))
    added = v.assist_assets - np.array([0.0, 0.0, 2.0e6])
    assert spent > 0
    assert added.sum() == pytest.approx(spent)
    np.testing.assert_allclose(v.fixed_assets, added)
    # new projects return 8%, the old stock of village 2 keeps 5%
    np.testing.assert_allclose(v.income["assistance"], 0.08 * added + [0.0, 0.0, 0.05 * 2.0e6])
    assert added[0] > 0  # the weakest village gets a project first


@pytest.mark.parametrize(("year", "paid"), [(2021, True), (2035, True), (2036, False)])
def test_a_project_pays_for_its_term_and_then_stops(make_villages, make_params, year, paid):
    # funded in 2021 with a 15-year term: it pays 2021-2035, nothing from 2036
    v = make_villages(1, fixed_assets=0.0)
    projects = _stock([0], [1.0e6], [0.06], 2021)
    assistance_year(v, projects, fund=0.0, targeting="weak", year=year,
                    p=make_params(assist_term=15), rng=np.random.default_rng(0))
    assert v.income["assistance"][0] == pytest.approx(60_000.0 if paid else 0.0)
    assert v.assist_assets[0] == pytest.approx(1.0e6 if paid else 0.0)


def test_the_model_starts_with_the_projects_of_2021_and_2022():
    from zq_sim.config import RunConfig
    from zq_sim.model import ZhaoqingModel

    cfg = RunConfig()
    cfg.output.villages = False
    model = ZhaoqingModel(cfg, rng=3)
    starts = set(model.projects.start.tolist())
    assert starts == {2021, 2022}
    # about assist_fund_2021 a year (Poisson count of lognormal projects)
    per_year = model.projects.value.sum() / 2
    assert 0.6 * cfg.model.assist_fund_2021 < per_year < 1.4 * cfg.model.assist_fund_2021
    model.step()  # 2023: the stock pays its returns
    assert model.villages.income["assistance"].sum() > 0.9 * (
        model.projects.value * model.projects.rate)[model.projects.start < 2023].sum()


def test_the_starting_stock_spreads_over_the_weak_villages():
    # each year's projects raise their villages' income, so the next year's go to others
    from zq_sim.config import RunConfig
    from zq_sim.model import ZhaoqingModel

    model = ZhaoqingModel(RunConfig(), rng=1, collect_agents=False)
    p = model.projects
    first = set(p.village[p.start == 2021].tolist())
    second = set(p.village[p.start == 2022].tolist())
    assert len(first & second) < 0.5 * len(second)  # all of them before it counted income

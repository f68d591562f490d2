"""The model as a whole: population options, the floor as a result, the agents as views."""

from __future__ import annotations

import numpy as np
import pytest

from zq_sim.config import RunConfig
from zq_sim.model import ZhaoqingModel


def _cfg(end: int = 2024) -> RunConfig:
    cfg = RunConfig()
    cfg.years.end = end
    cfg.output.progress = False
    return cfg


@pytest.fixture(scope="module")
def base_model():
    model = ZhaoqingModel(_cfg(), rng=9)
    model.run()
    return model


def test_real_village_list(base_model):
    table = base_model.population.table
    assert len(table) == base_model.villages.n == len(base_model.village_agents)
    assert table["code"].is_unique
    assert len(base_model.population.counties) == 8
    assert base_model.huaiji.any() and not base_model.huaiji.all()


def test_scale_copies_every_village():
    cfg = _cfg()
    one = ZhaoqingModel(cfg, rng=1)
    cfg.population.scale = 2
    two = ZhaoqingModel(cfg, rng=1)
    assert two.villages.n == 2 * one.villages.n
    assert two.population.table["code"].is_unique
    # county and town shares are kept
    np.testing.assert_array_equal(np.bincount(two.villages.county),
                                  2 * np.bincount(one.villages.county))
    ts = two.run()
    assert np.isfinite(ts.select_dtypes("number").to_numpy(dtype=float)).all()


def test_scale_copies_towns_with_their_villages():
    cfg = _cfg()
    one = ZhaoqingModel(cfg, rng=1)
    cfg.population.scale = 3
    three = ZhaoqingModel(cfg, rng=1)
    # every town copied whole: three times as many towns, of the same sizes
    sizes_one = np.sort(np.bincount(one.villages.town))
    sizes_three = np.sort(np.bincount(three.villages.town))
    np.testing.assert_array_equal(sizes_three, np.repeat(sizes_one, 3))
    # each village keeps its farmland: residents per village do not fall with the copies
    assert three.villages.farmland.mean() == pytest.approx(one.villages.farmland.mean(), rel=0.03)


@pytest.mark.parametrize("column", ["mean_operating_income", "p10_operating_income",
                                    "mean_land_income", "mean_dividends_income",
                                    "share_own_below_200k"])
def test_scale_leaves_per_village_results_unchanged(column):
    frames = {}
    for scale in (1, 2):
        cfg = _cfg(end=2027)
        cfg.population.scale = scale
        runs = [ZhaoqingModel(cfg, rng=s).run().set_index("year") for s in (1, 2, 3)]
        frames[scale] = sum(r[column] for r in runs) / len(runs)
    for year in (2024, 2027):
        one, two = frames[1][year], frames[2][year]
        assert two == pytest.approx(one, rel=0.08, abs=0.02), (column, year)


def test_scale_multiplies_city_totals():
    totals = {}
    for scale in (1, 2):
        cfg = _cfg(end=2027)
        cfg.population.scale = scale
        runs = [ZhaoqingModel(cfg, rng=s).run().set_index("year") for s in (1, 2, 3)]
        totals[scale] = sum(r.loc[2027] for r in runs) / len(runs)
    for column in ("total_operating_income", "land_transferred_stock", "huaiji_soe_land",
                   "companies", "public_spending", "contracts_managed"):
        assert totals[2][column] == pytest.approx(2 * totals[1][column], rel=0.1), column


def test_residents_committees_add_collectives():
    cfg = _cfg()
    villages_only = ZhaoqingModel(cfg, rng=1).villages.n
    cfg.population.include_residents_committees = True
    model = ZhaoqingModel(cfg, rng=1)
    assert model.villages.n > villages_only
    assert np.isfinite(model.run().select_dtypes("number").to_numpy(dtype=float)).all()


def test_floor_is_a_result_of_support_not_a_clamp():
    # without support for weak villages, some villages end below 150k in 2024
    cfg = _cfg()
    cfg.policy.support.enabled = False
    ts = ZhaoqingModel(cfg, rng=9).run().set_index("year")
    assert ts.loc[2024, "share_below_150k"] > 0
    assert ts.loc[2024, "public_support"] == 0.0


def test_support_lifts_weak_villages(base_model):
    cfg = _cfg()
    cfg.policy.support.enabled = False
    without = ZhaoqingModel(cfg, rng=9).run().set_index("year")
    with_support = base_model.timeseries().set_index("year")
    assert with_support.loc[2024, "share_below_150k"] < without.loc[2024, "share_below_150k"]
    assert with_support.loc[2024, "public_support"] > 0


def test_no_support_before_policy_start(base_model):
    ts = base_model.timeseries().set_index("year")
    assert ts.loc[2023, "public_support"] == 0.0
    assert ts.loc[2023, "mean_support"] == 0.0


def test_village_agents_are_views(base_model):
    v = base_model.villages
    for agent in base_model.village_agents[:5]:
        i = agent.row
        assert agent.operating_income == pytest.approx(v.operating_income()[i])
        assert agent.total_income == pytest.approx(v.total_income()[i])
        assert agent.fixed_assets == v.fixed_assets[i]
        assert agent.county == base_model.population.counties[v.county[i]]
        assert (base_model.contracts.village[agent.contracts()] == i).all()


def test_operators(base_model):
    kinds = {op.kind: op for op in base_model.operators}
    assert kinds["soe"].land == pytest.approx(base_model.villages.soe_land.sum())
    assert kinds["private"].land == pytest.approx(base_model.villages.transferred.sum())
    assert (kinds["private"].bids() >= 0).all()

"""ZhaoqingModel as Mesa users drive it: rng, settings by keyword, running, DataCollector."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from zq_sim.agents import StrongVillageCompany, Village
from zq_sim.config import ConfigError
from zq_sim.model import ZhaoqingModel


def test_default_model_is_calibrated():
    model = ZhaoqingModel(**{"years.end": 2024})
    assert model.cfg.calibrated


@pytest.mark.parametrize("rng", [5, np.int64(5)])
def test_rng_int_and_numpy_integer_give_the_same_run(rng):
    a = ZhaoqingModel(rng=rng, **{"years.end": 2024}).run()
    b = ZhaoqingModel(rng=5, **{"years.end": 2024}).run()
    assert a.equals(b)


def test_rng_seed_sequence_and_none():
    seq = ZhaoqingModel(rng=np.random.SeedSequence(11), **{"years.end": 2024})
    assert seq.seed == 11
    fresh = ZhaoqingModel(rng=None, **{"years.end": 2024})
    assert isinstance(fresh.seed, int)  # the drawn entropy is recorded: the run can be repeated
    again = ZhaoqingModel(rng=fresh.seed, **{"years.end": 2024})
    assert fresh.run().equals(again.run())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rng": "abc"}, "rng = 'abc'"),
    ({"rng": -1}, "rng = -1"),
    ({"policy.three_assets.platform_coverage": 1.5}, "outside the allowed range [0, 1]"),
    ({"policy.three_assets.platform_coverag": 0.9}, "did you mean"),
    ({"seed": 3}, "give its seed as rng"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError) as err:
        ZhaoqingModel(**kwargs)
    assert message in str(err.value)


def test_keyword_settings_reach_the_model():
    model = ZhaoqingModel(rng=3, **{"years.end": 2024, "policy.support.enabled": False})
    model.run()
    assert model.timeseries().set_index("year").loc[2024, "public_support"] == 0.0


def test_running_stops_at_years_end_and_the_model_refuses_to_step_past_it():
    model = ZhaoqingModel(rng=1, **{"years.end": 2025})
    years = 0
    while model.running:
        model.step()
        years += 1
    assert years == 3 and model.year == 2025 and model.steps == 3
    with pytest.raises(RuntimeError, match="years.end = 2025"):
        model.step()


def test_datacollector_has_every_yearly_metric_and_agent_reporters():
    model = ZhaoqingModel(rng=2, **{"years.end": 2024})
    model.run()
    frame = model.datacollector.get_model_vars_dataframe()
    ts = model.timeseries()
    assert list(frame.columns) == list(ts.columns)
    assert np.allclose(frame["mean_operating_income"], ts["mean_operating_income"])
    villages = model.datacollector.get_agenttype_vars_dataframe(Village)
    assert len(villages) == 2 * model.villages.n
    companies = model.datacollector.get_agenttype_vars_dataframe(StrongVillageCompany)
    assert (companies["members"] >= 1).all()


def test_batch_run_sweeps_settings_by_dotted_name():
    results = mesa.batch_run(
        ZhaoqingModel,
        parameters={"years.end": 2025, "policy.companies.formation_push": [1.0, 3.0],
                    "collect_agents": False},
        rng=[7], max_steps=50, number_processes=1, data_collection_period=-1,
        display_progress=False)
    assert len(results) == 2
    by_push = {r["policy.companies.formation_push"]: r for r in results}
    assert set(by_push) == {1.0, 3.0}
    assert all(r["year"] == 2025 for r in results)  # stopped at years.end, not max_steps
    assert by_push[3.0]["companies"] > by_push[1.0]["companies"]

"""The public API: load_config and simulate, as a notebook user calls them."""

from __future__ import annotations

import pandas as pd
import pytest

import zq_sim
from zq_sim.config import ConfigError


def test_load_config_is_calibrated_and_validated():
    cfg = zq_sim.load_config()
    assert cfg.calibrated and cfg.scenario == "baseline"
    assert not zq_sim.load_config(calibrated=False).calibrated


def test_load_config_takes_a_scenario_and_overrides_both_ways():
    a = zq_sim.load_config("land_transfer", {"years.end": 2030, "replicates": 3})
    b = zq_sim.load_config("land_transfer", ["years.end=2030", "replicates=3"])
    assert a == b
    assert a.scenario == "land_transfer" and a.years.end == 2030
    assert a.policy.land.consolidation_push == 2.0


@pytest.mark.parametrize(("scenario", "overrides", "message"), [
    ("nope", None, "unknown scenario 'nope'; choose one of"),
    (None, {"policy.three_assets.platform_coverage": 1.5}, "outside the allowed range [0, 1]"),
    (None, {"policy.three_assets.platform_coverag": 0.9},
     "unknown setting; did you mean policy.three_assets.platform_coverage"),
    (None, {"replicates": "many"}, "replicates"),
    (None, ["years.end=abc"], "years.end: Value 'abc'"),
    (None, ["+policy.support.threshhold=1"], "did you mean policy.support.threshold"),
    (None, ["replicates"], "not of the form key=value"),
])
def test_load_config_refuses_bad_input_in_one_line(scenario, overrides, message):
    with pytest.raises(ConfigError, match=None) as err:
        zq_sim.load_config(scenario, overrides)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_simulate_returns_tables():
    result = zq_sim.simulate({"years.end": 2025}, replicates=2, seed=3, villages=True,
                             counterfactual=False)
    assert isinstance(result.timeseries, pd.DataFrame)
    assert len(result.timeseries) == 2 * 3  # replicates x years 2023-2025
    assert set(result.timeseries["year"]) == {2023, 2024, 2025}
    assert result.villages is not None and len(result.villages) == 2 * 3 * 1255
    assert result.summary["horizon_year"] == 2025
    # the same seed gives the same tables
    again = zq_sim.simulate({"years.end": 2025}, replicates=2, seed=3, counterfactual=False)
    pd.testing.assert_frame_equal(result.timeseries, again.timeseries)
    assert again.villages is None


def test_simulate_a_loaded_config_leaves_it_unchanged():
    cfg = zq_sim.load_config("no_support", {"years.end": 2024})
    result = zq_sim.simulate(cfg, replicates=1, counterfactual=False)
    assert cfg.replicates == 10 and cfg.output.villages  # the caller's config is not touched
    assert (result.timeseries["scenario"] == "no_support").all()
    assert result.timeseries["public_support"].eq(0).all()

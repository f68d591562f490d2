"""Config validation: bad values raise ConfigError naming the field."""

from __future__ import annotations

import math

import pytest

from zq_sim.config import ConfigError, RunConfig, describe_fields, validate


def _cfg(**dotted) -> RunConfig:
    """RunConfig() with dotted fields set, e.g. _cfg(**{"policy.pv.subsidy": 2.0})."""
    cfg = RunConfig()
    for name, value in dotted.items():
        *path, last = name.split(".")
        obj = cfg
        for part in path:
            obj = getattr(obj, part)
        assert hasattr(obj, last), name
        setattr(obj, last, value)
    return cfg


def test_defaults_are_valid():
    cfg = RunConfig()
    assert validate(cfg) is cfg


BAD = [
    ("policy.three_assets.platform_coverage", 1.5, "[0, 1]"),
    ("policy.three_assets.platform_coverage", -0.1, "[0, 1]"),
    ("policy.pv.subsidy", 2.0, "[0, 1]"),
    ("policy.land.service_fee_multiplier", -1.0, "[0, 100]"),
    ("policy.land.service_fee_multiplier", 1e308, "[0, 100]"),
    ("policy.companies.seed_capital", -5.0, "[0, 1e+09]"),
    ("policy.talent.officials", -1, "[0, 100000]"),
    ("policy.support.gap_share", 1.01, "[0, 1]"),
    ("policy.shock.rent_change", -0.9, "[-0.5, 0.5]"),
    ("replicates", 0, "[1, 100000]"),
    ("seed", -1, f"[0, {2**63 - 1}]"),
    ("seed", 2**63, f"[0, {2**63 - 1}]"),
    ("years.end", 2020, "[2023, 2100]"),
    ("years.policy_start", 2022, "[2023, 2100]"),
    ("population.scale", 0, "[1, 10000]"),
    ("model.contracts_per_village", 0.0, "positive"),
    ("model.contracts_per_village", 1e300, "[1e-12, 500]"),
    ("model.appraisal_ratio", 5.0, "[0.1, 2]"),
    ("model.irregular_share", 1.2, "[0, 1]"),
    ("model.term_min", 0, "[1, 50]"),
    ("model.willingness_intercept", 25.0, "[-20, 20]"),
]


@pytest.mark.parametrize(("field", "value", "range_text"), BAD,
                         ids=[f"{f}={v}" for f, v, _ in BAD])
def test_out_of_range_names_the_field(field, value, range_text):
    with pytest.raises(ConfigError) as info:
        validate(_cfg(**{field: value}))
    message = str(info.value)
    assert message.startswith(field + " ")
    assert range_text in message


@pytest.mark.parametrize("field", ["model.rent_growth", "policy.assistance.fund",
                                   "model.operator_margin"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused(field, value):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        validate(_cfg(**{field: value}))


@pytest.mark.parametrize("field", ["policy.talent.targeting", "policy.assistance.targeting"])
def test_unknown_targeting(field):
    with pytest.raises(ConfigError) as info:
        validate(_cfg(**{field: "everyone"}))
    assert field in str(info.value)
    for choice in ("weak", "west", "random"):
        assert choice in str(info.value)


def test_term_max_below_term_min():
    with pytest.raises(ConfigError, match=r"model\.term_max"):
        validate(_cfg(**{"model.term_min": 10, "model.term_max": 5}))


def test_calibration_year_after_end():
    with pytest.raises(ConfigError, match=r"years\.calibration"):
        validate(_cfg(**{"years.end": 2023}))  # calibration 2024 > end 2023


def test_calibration_year_before_base():
    with pytest.raises(ConfigError, match=r"years\.calibration"):
        validate(_cfg(**{"years.calibration": 2022}))


def test_edges_are_allowed():
    validate(_cfg(**{"policy.three_assets.platform_coverage": 0.0, "policy.pv.subsidy": 1.0,
                     "replicates": 1, "years.end": 2024, "policy.land.service_fee_multiplier":
                     0.0, "model.term_min": 7, "model.term_max": 7}))


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_every_field_is_documented():
    rows = describe_fields()
    assert rows
    for row in rows:
        if row["name"] == "scenario":
            continue
        assert row["doc"], f"{row['name']} has no doc"


def test_every_number_has_an_upper_bound():
    """A run must be able to execute every allowed value: nothing is unbounded."""
    for row in describe_fields():
        if isinstance(row["default"], bool | str):
            continue
        assert row["lo"] is not None and row["hi"] is not None, f"{row['name']} has no bounds"
        assert row["lo"] <= row["default"] <= row["hi"], row["name"]


def _extremes():
    for row in describe_fields():
        if row["name"].startswith(("model.", "policy.")) and \
                not isinstance(row["default"], bool | str):
            for which in ("lo", "hi"):
                yield row["name"], which, type(row["default"])(row[which])


@pytest.mark.slow
@pytest.mark.parametrize(("name", "which", "value"), list(_extremes()),
                         ids=[f"{n}-{w}" for n, w, _ in _extremes()])
def test_a_run_executes_at_every_bound(name, which, value):
    from zq_sim.run import check_finite, run_replicate

    cfg = _cfg(**{name: value})
    cfg.years.end = 2025
    cfg.output.villages = False
    if name == "model.term_min":
        cfg.model.term_max = max(cfg.model.term_max, value)
    if name == "model.term_max":
        cfg.model.term_min = min(cfg.model.term_min, value)
    validate(cfg)
    ts, _ = run_replicate(cfg, 1)
    check_finite(ts, cfg, 1, 0)  # raises naming the column and stage

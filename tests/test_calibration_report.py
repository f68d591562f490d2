"""The calibration report's arithmetic: standard errors of the held-out means and noise."""

import math

import pandas as pd
import pytest

from zq_sim.calibration_report import loose_parameters, miss_chance, target_table


def test_miss_chance_is_the_two_sided_normal_tail():
    # tolerance 5%, s.e. 2.5%: two standard errors, 4.55% outside
    assert miss_chance(0.025) == pytest.approx(0.0455, abs=1e-4)
    assert miss_chance(0.05) == pytest.approx(0.3173, abs=1e-4)
    assert miss_chance(0.0) == 0.0
    assert miss_chance(None) is None
    assert miss_chance(0.01) < miss_chance(0.02) < miss_chance(0.1) < 1.0


def _report(sd: float, replicates: int = 20) -> dict:
    held = {"growth": {"mean": 0.38, "p05": 0.24, "p95": 0.52, "min": 0.2, "max": 0.6},
            "min_total_income": {"mean": 2e5, "p05": 1.6e5, "p95": 2.2e5, "min": 1.4e5,
                                 "max": 2.3e5}}
    return {"targets": {"growth": 0.346, "min_total_income": 150000.0},
            "validation": {"baseline": {"summary": {"targets": held,
                                                    "seeds": list(range(replicates))},
                                        "target_sd": {"growth": sd}}}}


def test_target_table_reports_standard_error_and_noise():
    table = target_table(_report(sd=0.15)).set_index("target")
    se = 0.15 / math.sqrt(20) / 0.346
    assert table.loc["growth", "se_of_mean"] == pytest.approx(se)
    assert table.loc["growth", "noise_miss_chance"] == pytest.approx(miss_chance(se))
    assert table.loc["growth", "relative_error"] == pytest.approx(0.38 / 0.346 - 1)
    assert not table.loc["growth", "met"]
    # the floor is checked on the lowest village of every replicate, not on a mean
    assert not table.loc["min_total_income", "met"]
    assert pd.isna(table.loc["min_total_income", "se_of_mean"])


def test_a_precise_target_has_little_noise():
    table = target_table(_report(sd=0.003)).set_index("target")
    assert table.loc["growth", "noise_miss_chance"] < 1e-6


def test_loose_parameters_are_those_the_targets_barely_move():
    ident = {"column_norms": {"a": 5.0, "b": 0.05, "c": 0.2}}
    assert loose_parameters(ident) == ["b"]
    assert loose_parameters({"column_norms": {}}) == []


def test_growth_decomposition_adds_up_by_source():
    from zq_sim.calibration_report import growth_decomposition

    paths = {"mean_lease_income": {2024: 300.0, 2035: 400.0},
             "mean_dividends_income": {2024: 10.0, 2035: 60.0},
             "mean_arrears_income": {2024: 120.0, 2035: 0.0}}
    table = growth_decomposition(paths, 2024, 2035).set_index("source")
    assert table.loc["lease", "change"] == 100.0
    assert table.loc["arrears", "change"] == -120.0
    assert table["change"].sum() == 30.0
    assert table["share_of_change"].sum() == pytest.approx(1.0)


def test_support_section_names_the_rule_and_its_weakest_thresholds():
    from zq_sim.calibration_report import support_section

    tried = [{"threshold": 3e5, "gap_share": 0.5, "held": 1.0, "cost": 9e7, "supported": 900},
             {"threshold": 2.2e5, "gap_share": 0.5, "held": 0.95, "cost": 6e7, "supported": 700},
             {"threshold": 2.0e5, "gap_share": 0.5, "held": 0.9, "cost": 5e7, "supported": 650}]
    report = {"support": {"threshold": 2.2e5, "gap_share": 0.5, "held": 0.95,
                          "probability": 0.95, "seeds": 40, "feasible": True, "tried": tried}}
    text = "\n".join(support_section(report))
    assert "threshold 220,000 yuan, gap share 0.50" in text
    assert "| 0.50 | 220,000 | 95% | 700 | 6,000 |" in text  # the weakest that holds it
    report["support"]["feasible"] = False
    assert "NOT met" in "\n".join(support_section(report))

"""levers_for: the one place that chooses between 2023 practice and the policy levers."""

from __future__ import annotations

import pytest

from zq_sim.config import RunConfig
from zq_sim.levers import levers_for


def test_the_base_year_runs_2023_practice():
    cfg = RunConfig()
    lv = levers_for(2023, cfg)
    p = cfg.model
    assert not lv.policy_year and not lv.support and not lv.weak_first
    assert (lv.officials, lv.instructors, lv.managers) == (
        p.officials_2023, p.instructors_2023, p.managers_2023)
    assert lv.talent_targeting == "weak" and lv.assist_targeting == "weak"
    assert lv.coverage == p.coverage_2023 and lv.bidders == p.bidders_2023
    assert lv.consolidation == p.consolidation_2023 and lv.formation_push == p.formation_2023
    assert lv.pv_adopt == lv.pv_adopt_gaoyao == p.pv_adopt_2023 and lv.pv_subsidy == 0.0
    assert lv.assist_fund == p.assist_fund_2023 and lv.seed_capital == p.seed_capital_2023
    assert lv.service_fee == p.service_fee and lv.soe_push == 1.0


def test_policy_years_run_the_scenarios_levers():
    cfg = RunConfig()
    cfg.policy.land.consolidation_push = 2.0
    cfg.policy.land.service_fee_multiplier = 1.5
    cfg.policy.talent.targeting = "west"
    lv = levers_for(2024, cfg)
    assert lv.policy_year and lv.support and lv.weak_first
    assert lv.coverage == cfg.policy.three_assets.platform_coverage
    assert lv.consolidation == pytest.approx(2.0 * cfg.model.consolidation_reform)
    assert lv.service_fee == pytest.approx(1.5 * cfg.model.service_fee)
    assert lv.talent_targeting == "west" and lv.managers == cfg.policy.talent.managers


def test_without_the_three_assets_reform_the_platform_stays_at_2023_practice():
    cfg = RunConfig()
    cfg.policy.three_assets.reform = False
    lv = levers_for(2030, cfg)
    assert lv.policy_year  # the other levers act
    assert lv.coverage == cfg.model.coverage_2023 and lv.detect_hazard == cfg.model.detect_base


def test_consolidation_is_capped_and_support_can_be_off():
    cfg = RunConfig()
    cfg.policy.land.consolidation_push = 1e6
    cfg.policy.support.enabled = False
    lv = levers_for(2025, cfg)
    assert lv.consolidation == 1.0 and not lv.support


@pytest.mark.parametrize(("year", "review"), [(2023, False), (2024, True), (2025, False),
                                               (2027, True), (2030, True), (2031, False)])
def test_the_weak_list_is_reviewed_every_few_years_from_the_policy_start(year, review):
    assert levers_for(year, RunConfig()).review_weak_list is review

"""Which levers act in a year: the scenario's policy levers, or the practice of 2023.

The first simulated year (2023) runs under the practice of 2023 (``ModelParams``' ``*_2023``
values and the pre-reform platform parameters); from ``years.policy_start`` on, the policy
levers of the scenario act (``PolicyConfig``). This module makes that choice once a year, in
one place, so that the model's stages only read what acts.

Two switches are easy to confuse with it: ``policy.three_assets.reform`` turns the three-assets
reform itself off (the no_reform scenario: its platform stays at 2023 practice in the policy
years too), and ``policy.shock.start`` is when a scenario's shocks begin.
"""

from __future__ import annotations

from dataclasses import dataclass

from zq_sim.config import RunConfig


@dataclass(frozen=True)
class Levers:
    """What acts in one year (counts per copy of the population, money in yuan)."""

    policy_year: bool            # the scenario's levers act (else 2023 practice)
    review_weak_list: bool       # a year the list of weak villages is drawn up
    officials: int
    instructors: int
    managers: int
    talent_targeting: str
    coverage: float              # share of re-lets tendered on the platform
    bidders: float               # mean bidders per tender
    detect_hazard: float         # yearly hazard of finding an irregular contract
    registration: float          # yearly chance an unregistered contract is registered
    discovery: float             # yearly chance the inventory finds an unrecorded asset
    consolidation: float         # share of fragmented land consolidated (capped at 1)
    soe_push: float              # the Huaiji SOE's plan relative to its prior
    service_fee: float           # the collective's fee on transferred land (yuan/mu/yr)
    formation_push: float        # company founding hazards relative to their priors
    seed_capital: float          # public start-up capital per new company
    weak_first: bool             # companies pay listed weak members first
    pv_adopt: float              # yearly PV adoption chance outside 高要区
    pv_adopt_gaoyao: float       # the same in 高要区
    pv_subsidy: float            # public share of PV capex
    assist_fund: float           # income-generating assistance projects this year
    assist_targeting: str
    support: bool                # towns pay fiscal support


def platform_levers(policy_year: bool, cfg: RunConfig) -> dict[str, float]:
    """Coverage, bidders, clean-up, registration and inventory rates of the platform."""
    p, ta = cfg.model, cfg.policy.three_assets
    if not (policy_year and ta.reform):
        return {"coverage": p.coverage_2023, "bidders": p.bidders_2023,
                "detect_hazard": p.detect_base, "registration": p.discovery_2023,
                "discovery": p.discovery_2023}
    return {
        "coverage": ta.platform_coverage,
        "bidders": p.bidders_reform * ta.bidder_reach,
        "detect_hazard": p.detect_reform * ta.cleanup_intensity,
        "registration": 1.0 - (1.0 - p.registration_rate) ** ta.cleanup_intensity,
        "discovery": 1.0 - (1.0 - p.discovery_rate) ** ta.inventory_intensity,
    }


def levers_for(year: int, cfg: RunConfig) -> Levers:
    """The levers acting in ``year`` under ``cfg``."""
    p, pol = cfg.model, cfg.policy
    on = year >= cfg.years.policy_start
    since = year - cfg.years.policy_start
    if on:
        talent = (pol.talent.officials, pol.talent.instructors, pol.talent.managers,
                  pol.talent.targeting)
        consolidation = p.consolidation_reform * pol.land.consolidation_push
    else:  # 2023: the officials sent since 2023, aimed at weak villages (an assumption)
        talent = (p.officials_2023, p.instructors_2023, p.managers_2023, "weak")
        consolidation = p.consolidation_2023
    return Levers(
        policy_year=on,
        review_weak_list=on and since % pol.support.review_years == 0,
        officials=talent[0], instructors=talent[1], managers=talent[2],
        talent_targeting=talent[3],
        **platform_levers(on, cfg),
        consolidation=min(consolidation, 1.0),
        soe_push=pol.land.soe_push if on else 1.0,
        service_fee=p.service_fee * (pol.land.service_fee_multiplier if on else 1.0),
        formation_push=pol.companies.formation_push if on else p.formation_2023,
        seed_capital=pol.companies.seed_capital if on else p.seed_capital_2023,
        weak_first=pol.companies.weak_first and on,
        pv_adopt=pol.pv.adopt_rate if on else p.pv_adopt_2023,
        pv_adopt_gaoyao=pol.pv.adopt_rate_gaoyao if on else p.pv_adopt_2023,
        pv_subsidy=pol.pv.subsidy if on else 0.0,
        assist_fund=pol.assistance.fund if on else p.assist_fund_2023,
        assist_targeting=pol.assistance.targeting if on else "weak",
        support=on and pol.support.enabled,
    )

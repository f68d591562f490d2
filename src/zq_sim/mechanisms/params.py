"""Small typed parameter objects for the mechanisms, each with the behavioural parameters it reads.

The model builds them once from its ``ModelParams`` (:func:`for_model`) and hands each mechanism
its own, so that a mechanism's signature says which parameters it depends on. Their fields are
copies of ModelParams fields of the same name (data/priors.csv documents them).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


def _of(cls, p: Any):
    """The fields of ``cls`` read from a ModelParams (or anything with those attributes)."""
    return cls(**{f.name: getattr(p, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class CompanyParams:
    """The parameters of strong-village companies (companies.py)."""

    business_margin: float
    business_sd: float
    capability_sigma: float
    capability_town: float
    capability_union: float
    capability_village: float
    capital_share: float
    company_learning: float
    company_maturity_years: int
    company_min_capacity: float
    crowding: float
    depreciation: float
    failure_grace_years: int
    failure_hazard: float
    max_memberships: int
    payout: float
    return_mean: float
    return_sd: float


@dataclass(frozen=True)
class LandParams:
    """The parameters of land consolidation and transfer (land.py)."""

    hilly_quality: float
    operator_margin: float
    rent_free_hilly: float
    reservation_rent: float
    soe_block_mu: float
    soe_fee: float
    transport_cost: float
    willingness_aged: float
    willingness_intercept: float
    willingness_offfarm: float


@dataclass(frozen=True)
class PVParams:
    """The parameters of the PV small cut (pv.py)."""

    pv_capex: float
    pv_degradation: float
    pv_first_year_loss: float
    pv_kw_median: float
    pv_om: float
    pv_roof_rent: float
    pv_tariff: float
    pv_yield: float


@dataclass(frozen=True)
class PlatformParams:
    """The parameters of the three-assets platform (three_assets.py)."""

    appraisal_ratio: float
    arrears_recovery: float
    bid_sigma: float
    offplatform_discount: float
    offplatform_irregular: float
    petitions_other: float
    petitions_per_irregular: float
    term_max: int
    term_min: int
    underpricing_depth: float
    unpaid_share: float


@dataclass(frozen=True)
class AssistanceParams:
    """The parameters of talent and paired assistance (assistance.py)."""

    assist_project_median: float
    assist_return: float
    assist_return_sd: float
    assist_term: int
    capacity_decay: float
    gain_instructor: float
    gain_manager: float
    gain_official: float


@dataclass(frozen=True)
class MechanismParams:
    """Each mechanism's parameters, built once per model."""

    companies: CompanyParams
    land: LandParams
    pv: PVParams
    platform: PlatformParams
    assistance: AssistanceParams


def for_model(p: Any) -> MechanismParams:
    """Every mechanism's parameters from the model's ModelParams."""
    return MechanismParams(companies=_of(CompanyParams, p), land=_of(LandParams, p),
                           pv=_of(PVParams, p), platform=_of(PlatformParams, p),
                           assistance=_of(AssistanceParams, p))

"""Typed configuration: every setting of a run, its unit, meaning and allowed range.

The dataclasses here are registered in Hydra's ConfigStore as the schema of ``conf/config.yaml``,
so a mistyped key or a value of the wrong type is refused by Hydra at composition. Ranges that a
type cannot express (a share in [0, 1], a non-negative rent) are declared beside each field with
the helpers below and checked by :func:`validate` before anything runs.

Three groups of settings:

- ``model``: behavioural parameters and the state of 2023 practice. Their defaults are the priors
  recorded with their sources in ``data/priors.csv``; calibration writes fitted values into
  ``conf/model/``.
- ``policy``: the levers a scenario moves. The defaults are the 2024 policy mix (baseline); they act
  from ``years.policy_start`` on, and 2023 is simulated under the 2023 practice found in ``model``.
- run settings: seed, replicates, years, population, output.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

TARGETINGS = ("weak", "west", "random")


def _f(default: Any, doc: str, lo: float | None = None, hi: float | None = None, **kw):
    """A field with a docstring and an allowed closed range [lo, hi] (None: unbounded)."""
    meta = {"doc": doc, "lo": lo, "hi": hi, **kw}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def share(default: float, doc: str):
    """A fraction or probability in [0, 1]."""
    return _f(default, doc, 0.0, 1.0)


def nonneg(default: float, doc: str, hi: float | None = None):
    """A non-negative amount (yuan, mu, kW, a rate...), at most ``hi``."""
    return _f(default, doc, 0.0, hi)


def positive(default: float, doc: str, hi: float | None = None):
    """A strictly positive amount (checked as >= a tiny number), at most ``hi``."""
    return _f(default, doc, 1e-12, hi)


# --------------------------------------------------------------------------------------------
# Behavioural parameters (priors; see data/priors.csv for sources and bounds)
# --------------------------------------------------------------------------------------------
@dataclass
class ModelParams:
    """Behavioural parameters and the 2023 state of practice. Units in each field's doc."""

    # Endowments (drawn per village, lognormal with an east/west median)
    lease_pool_median_east: float = nonneg(
        320_000.0, "median fair annual rent of a village's leasable assets, east (yuan/yr)", hi=1e8)
    lease_pool_median_west: float = nonneg(
        140_000.0, "same, west counties (yuan/yr)", hi=1e8)
    lease_pool_sigma: float = nonneg(0.9, "log-sd of the lease pool across villages", hi=3.0)
    contracts_per_village: float = positive(14.0, "mean number of lease contracts per village",
        hi=500.0)
    hidden_share: float = nonneg(
        0.35, "fair rent of unrecorded assets, used without paying, relative to the recorded pool",
        hi=10.0)
    hidden_size: float = _f(
        1.0, "mean fair rent of an unrecorded asset relative to a recorded contract's", 0.05, 20.0)
    vacant_share: float = share(
        0.04, "share of recorded leasable assets vacant at the start of 2023")
    unregistered_share: float = share(0.1, "share of let contracts not under management, 2023")
    irregular_share: float = share(0.45, "share of let contracts irregular at the start of 2023")
    unpaid_share: float = share(0.45, "share of irregular contracts whose rent goes unpaid")
    underpricing_depth: float = share(
        0.5, "mean shortfall of an under-priced rent below a regular off-platform rent")
    arrears_years: float = nonneg(3.0, "mean years of rent owed on an unpaid contract, 2023",
        hi=50.0)
    appraisal_ratio: float = _f(0.8, "reserve (appraised) rent over fair rent", 0.1, 2.0)
    offplatform_discount: float = share(0.1, "off-platform rent below reserve (fraction)")
    offplatform_irregular: float = share(
        0.25, "chance an off-platform let turns irregular, at governance capacity 0")
    term_min: int = _f(3, "shortest lease term (years)", 1, 50)
    term_max: int = _f(15, "longest lease term (years)", 1, 50)
    bidders_2023: float = nonneg(1.6, "mean number of bidders per platform tender, 2023", hi=100.0)
    bidders_reform: float = nonneg(2.0, "mean bidders per tender in a reform year (2024 reach)",
        hi=100.0)
    bid_sigma: float = nonneg(0.22, "log-sd of bidders' values around the fair rent", hi=3.0)
    coverage_2023: float = share(0.5, "share of re-lets tendered on the platform, 2023")
    detect_base: float = nonneg(0.05, "yearly hazard of finding an irregular contract, 2023",
        hi=50.0)
    detect_reform: float = nonneg(
        1.5, "yearly hazard of finding an irregular contract in a clean-up of intensity 1", hi=50.0)
    arrears_recovery: float = share(0.6, "share of arrears recovered when a contract is put right")
    registration_rate: float = share(
        0.55, "yearly chance an unregistered contract is registered in a reform year")
    discovery_rate: float = share(
        0.55, "yearly chance the inventory finds an unrecorded asset in a reform year")
    discovery_2023: float = share(0.03, "same under 2023 practice")
    hidden_assets_share: float = nonneg(
        0.3, "book value of unrecorded fixed assets relative to recorded ones, 2023 (-)", hi=10.0)
    petitions_per_irregular: float = nonneg(
        0.05, "petitions per irregular contract per year", hi=100.0)
    petitions_other: float = nonneg(0.3, "other collective-asset petitions per village per year",
        hi=1000.0)
    rent_growth: float = _f(0.02, "yearly growth of market rents (fraction)", -0.5, 0.5)

    # Accounts and fixed assets
    fixed_assets_median_east: float = nonneg(4.0e6, "median recorded fixed assets, east (yuan)",
        hi=1e10)
    fixed_assets_median_west: float = nonneg(1.5e6, "median recorded fixed assets, west (yuan)",
        hi=1e10)
    fixed_assets_sigma: float = nonneg(0.8, "log-sd of fixed assets across villages", hi=3.0)
    depreciation: float = share(0.04, "yearly depreciation of fixed assets")
    retained_share: float = share(0.5, "share of income kept in village funds (rest spent)")
    reinvest_share: float = share(0.3, "share of funds invested in fixed assets each year")
    own_income_median_east: float = nonneg(50_000.0, "median own-business income, east (yuan/yr)",
        hi=1e8)
    own_income_median_west: float = nonneg(15_000.0, "median own-business income, west (yuan/yr)",
        hi=1e8)
    own_income_sigma: float = nonneg(1.2, "log-sd of own-business income", hi=3.0)
    own_income_growth: float = _f(0.03, "yearly growth of own-business income", -0.5, 0.5)
    income_shock_sigma: float = nonneg(0.15, "log-sd of the yearly shock to own-business income",
        hi=3.0)

    # Land transfer
    farmland_per_resident: float = nonneg(0.9, "contracted farmland per rural resident (mu)",
        hi=100.0)
    fragmented_share: float = share(0.3, "share of farmland too fragmented to transfer (2023)")
    consolidation_2023: float = share(0.004, "share of fragmented land consolidated a year, 2023")
    consolidation_reform: float = share(
        0.025, "same in a reform year at consolidation push 1")
    willingness_intercept: float = _f(-1.3, "logit intercept of willingness to transfer", -20, 20)
    willingness_offfarm: float = _f(
        0.43, "logit slope on off-farm income share (+0.09 probability at p=0.3)", -20, 20)
    willingness_aged: float = _f(
        1.0, "logit slope on the share of household heads over 60", -20, 20)
    offfarm_east: float = share(0.7, "mean off-farm income share of households, east")
    offfarm_west: float = share(0.55, "same, west")
    aged_share: float = share(0.3, "mean share of household heads over 60")
    operator_margin: float = nonneg(1800.0, "operators' gross margin on flat farmland (yuan/mu/yr)",
        hi=1e5)
    operator_margin_sigma: float = nonneg(0.3, "log-sd of operators' margins between villages",
        hi=3.0)
    transport_cost: float = nonneg(12.0, "operators' transport cost (yuan/mu/yr per km)", hi=1e4)
    distance_east: float = nonneg(10.0, "mean distance to market, east (km)", hi=1000.0)
    distance_west: float = nonneg(25.0, "mean distance to market, west (km)", hi=1000.0)
    hilly_quality: float = share(0.5, "margin of hilly land relative to flat land")
    hilly_share_west: float = share(0.6, "share of western villages that are hilly")
    hilly_share_east: float = share(0.2, "share of eastern villages that are hilly")
    reservation_rent: float = nonneg(300.0, "households' net return from farming (yuan/mu/yr)",
        hi=1e5)
    rent_free_hilly: float = share(0.7, "chance unprofitable hilly land goes rent-free")
    service_fee: float = nonneg(50.0, "collective's service fee on transferred land (yuan/mu/yr)",
        hi=1e4)
    soe_plan_mu: float = nonneg(6500.0, "Huaiji SOE: land it plans to take a year at push 1 (mu)",
        hi=1e6)
    soe_block_mu: float = nonneg(700.0, "Huaiji SOE: median block size (mu)", hi=1e5)
    soe_fee: float = nonneg(80.0, "Huaiji SOE: fee or dividend to the collective (yuan/mu/yr)",
        hi=1e4)

    # Strong-village companies
    companies_initial: int = _f(30, "companies at the start of 2023", 0, 10_000)
    village_company_hazard: float = nonneg(
        0.06, "yearly chance a candidate village founds a village-level company (push 1, "
        "capacity 0.5; scales with capacity squared)", hi=10.0)
    union_hazard: float = nonneg(
        0.08, "yearly chance a town without a village-village union has one founded (push 1)",
        hi=10.0)
    town_company_hazard: float = nonneg(
        0.08, "yearly chance a town without a town-village union founds one (push 1)", hi=10.0)
    formation_2023: float = nonneg(0.6, "formation rate in 2023 relative to push 1", hi=50.0)
    company_min_capacity: float = share(
        0.45, "governance capacity a village needs to found a village-level company")
    max_memberships: int = _f(2, "companies one village can be a member of at a time", 1, 10)
    capital_share: float = share(0.3, "share of members' funds pooled into a new company")
    return_mean: float = _f(0.07, "mean yearly return on company capital", -1, 1)
    return_sd: float = nonneg(0.08, "sd of the yearly return on company capital", hi=1.0)
    capability_village: float = nonneg(
        400_000.0, "median yearly business a new village-level company can do in an uncrowded "
        "market (yuan): leasing, services", hi=1e10)
    capability_union: float = nonneg(800_000.0, "same, village-village union (yuan)", hi=1e10)
    capability_town: float = nonneg(
        800_000.0, "same, town-village union, besides public works", hi=1e10)
    capability_sigma: float = nonneg(0.5, "log-sd of a new company's capability", hi=5.0)
    market_per_village: float = nonneg(
        300_000.0, "yearly demand of a town's market for companies' business, per village of "
        "the town, east, 2023 (yuan)", hi=1e10)
    market_west_factor: float = share(0.5, "the same per village in the west, relative to east")
    market_growth: float = _f(0.03, "yearly growth of that demand (fraction)", -0.5, 0.5)
    crowding: float = share(
        0.5, "fall of the margin on market business when companies fill their town's market")
    business_margin: float = share(0.15, "company margin on its business in an empty market")
    business_sd: float = nonneg(0.1, "log-sd of the yearly change in a company's capability",
                                 hi=2.0)
    company_learning: float = _f(
        0.08, "yearly growth of a young company's capability (fraction)", -0.5, 1.0)
    company_maturity_years: int = _f(5, "years over which a company's capability grows", 0, 50)
    town_works_per_village: float = nonneg(
        150_000.0, "small public works a town lets each year, per village of the town (yuan)",
        hi=1e10)
    failure_hazard: float = share(0.04, "yearly failure chance of a company at capacity 0.5")
    failure_grace_years: int = _f(2, "years after founding before a company can fail", 0, 50)
    payout: float = share(0.7, "share of company profit paid as dividends")

    # PV small cut
    pv_kw_median: float = nonneg(150.0, "median rooftop PV per adopting village (kW)", hi=1e5)
    pv_yield: float = nonneg(1100.0, "PV yield (kWh per kWp per year)", hi=3000.0)
    pv_tariff: float = nonneg(0.453, "tariff (yuan/kWh)", hi=10.0)
    pv_degradation: float = share(0.006, "yearly PV degradation after the first year")
    pv_first_year_loss: float = share(0.025, "PV first-year degradation")
    pv_capex: float = nonneg(3500.0, "PV investment (yuan/kW)", hi=1e5)
    pv_om: float = share(0.02, "PV operation and maintenance (share of capex per year)")
    pv_roof_rent: float = nonneg(40.0, "roof rent when the roof is leased (yuan/kW/yr)", hi=1e4)
    pv_adopt_2023: float = share(0.01, "yearly chance a village adopts PV, 2023")

    # Capacity and talent
    capacity_east: float = share(0.6, "mean governance capacity, east")
    capacity_west: float = share(0.45, "mean governance capacity, west")
    capacity_sd: float = nonneg(0.12, "sd of governance capacity", hi=1.0)
    gain_official: float = share(0.08, "capacity gain from an official serving a village")
    gain_instructor: float = share(0.15, "capacity gain from an instructor")
    gain_manager: float = share(0.2, "capacity gain from a rural professional manager")
    capacity_decay: float = share(0.2, "yearly return of capacity toward its base")

    # 2023 practice of levers that predate the 2024 reforms (the article: "2023年以来")
    officials_2023: int = _f(210, "young civil servants serving in towns in 2023", 0, 100_000)
    instructors_2023: int = _f(38, "village instructors in 2023", 0, 100_000)
    managers_2023: int = _f(0, "rural professional managers in 2023 (the pilot is of 2024)", 0,
                            100_000)
    assist_fund_2023: float = nonneg(1.2e8, "income-generating assistance projects in 2023 (yuan)",
        hi=1e12)
    seed_capital_2023: float = nonneg(300_000.0, "public start-up capital per company in 2023",
        hi=1e9)

    # Assistance
    assist_project_median: float = nonneg(1.0e6, "median income-generating project (yuan)",
                                          hi=1e10)
    assist_return: float = _f(0.06, "mean yearly return of an assistance project", -1, 1)
    assist_return_sd: float = nonneg(0.04, "sd of a project's return", hi=1.0)
    assist_term: int = _f(15, "years an assistance project pays its return", 1, 50)
    assist_fund_2021: float = nonneg(
        1.2e8, "income-generating assistance projects a year in 2021 and 2022 (yuan)", hi=1e12)


# --------------------------------------------------------------------------------------------
# Policy levers (the 2024 mix by default)
# --------------------------------------------------------------------------------------------
@dataclass
class ThreeAssetsPolicy:
    """The three-assets (三资) reform: platform coverage, clean-up, inventory."""

    reform: bool = _f(True, "run the 2024 three-assets reform (False: 2023 practice continues)")
    platform_coverage: float = share(0.55, "share of re-lets tendered on the platform")
    bidder_reach: float = nonneg(
        1.0, "bidders reached per tender relative to 2024 (publicity, online bidding)", hi=100.0)
    cleanup_intensity: float = nonneg(1.0, "contract clean-up intensity (1 = the 2024 drive)",
        hi=100.0)
    inventory_intensity: float = nonneg(1.0, "asset inventory intensity (1 = the 2024 drive)",
        hi=100.0)


@dataclass
class LandPolicy:
    """Land consolidation and transfer."""

    consolidation_push: float = nonneg(1.0, "consolidation drive (1 = 2024)", hi=100.0)
    soe_push: float = nonneg(1.0, "Huaiji SOE model drive (1 = 2024)", hi=100.0)
    service_fee_multiplier: float = nonneg(1.0, "collective service fee relative to the prior",
        hi=100.0)


@dataclass
class CompanyPolicy:
    """Strong-village companies."""

    formation_push: float = nonneg(1.0, "company formation drive (1 = 2024)", hi=50.0)
    seed_capital: float = nonneg(300_000.0, "public start-up capital per new company (yuan)",
        hi=1e9)
    weak_first: bool = _f(True, "pay weak member villages first (as 下茆镇 did)")
    weak_first_amount: float = nonneg(200_000.0, "dividend a weak member receives first (yuan)",
        hi=1e9)
    weak_first_cap: float = share(
        0.5, "largest share of a company's dividend pool that first payments to weak members take")
    works_share: float = share(
        0.5, "share of a town's small public works let to its town-village company")
    failure_multiplier: float = nonneg(1.0, "company failure hazard relative to the prior",
                                       hi=100.0)
    return_shock: float = _f(0.0, "shift of the mean return on capital", -1.0, 1.0)


@dataclass
class PVPolicy:
    """PV small cut (光伏小切口)."""

    adopt_rate: float = share(0.03, "yearly chance a village adopts PV")
    adopt_rate_gaoyao: float = share(0.12, "the same in 高要区, where the small cut was piloted")
    subsidy: float = share(0.3, "public share of PV capex")


@dataclass
class TalentPolicy:
    """Officials, instructors and professional managers sent to villages."""

    officials: int = _f(210, "young civil servants serving in towns at a time", 0, 100_000)
    instructors: int = _f(38, "officials serving as village instructors", 0, 100_000)
    managers: int = _f(10, "rural professional managers", 0, 100_000)
    targeting: str = _f("weak", "which villages get them", choices=TARGETINGS)


@dataclass
class AssistancePolicy:
    """Paired assistance (对口帮扶) and in-town teams (驻镇帮镇扶村)."""

    fund: float = nonneg(1.2e8, "income-generating assistance projects a year (yuan)", hi=1e12)
    targeting: str = _f("weak", "which villages get projects", choices=TARGETINGS)


@dataclass
class SupportPolicy:
    """Fiscal support for weak villages, budgeted on last year's accounts."""

    enabled: bool = _f(True, "support weak villages")
    threshold: float = nonneg(
        200_000.0, "expected operating income below which a town supports a village (yuan)",
        hi=1e9)
    gap_share: float = share(0.9, "share of last year's shortfall below the threshold paid")
    review_years: int = _f(3, "years between reviews of the list of weak villages (薄弱村)", 1, 50)
    weak_line: float = nonneg(
        150_000.0, "recurring operating income below which a village is put on the list of "
        "weak villages (薄弱村) that companies pay first (yuan)", hi=1e9)


@dataclass
class ShockPolicy:
    """Shocks that scenarios can switch on."""

    rent_change: float = _f(0.0, "yearly change of market rents from shock_start", -0.5, 0.5)
    start: int = _f(2025, "first year of the shock", 2023, 2100)


@dataclass
class PolicyConfig:
    """All policy levers; they act from years.policy_start on."""

    three_assets: ThreeAssetsPolicy = field(default_factory=ThreeAssetsPolicy)
    land: LandPolicy = field(default_factory=LandPolicy)
    companies: CompanyPolicy = field(default_factory=CompanyPolicy)
    pv: PVPolicy = field(default_factory=PVPolicy)
    talent: TalentPolicy = field(default_factory=TalentPolicy)
    assistance: AssistancePolicy = field(default_factory=AssistancePolicy)
    support: SupportPolicy = field(default_factory=SupportPolicy)
    shock: ShockPolicy = field(default_factory=ShockPolicy)


# --------------------------------------------------------------------------------------------
# Run settings
# --------------------------------------------------------------------------------------------
@dataclass
class YearsConfig:
    """Simulated years."""

    base: int = _f(2023, "first simulated year (2023 practice, before the reforms)", 2023, 2023)
    policy_start: int = _f(2024, "first year of the policy levers", 2023, 2100)
    calibration: int = _f(2024, "year compared with the targets", 2023, 2100)
    end: int = _f(2035, "last simulated year", 2023, 2100)


@dataclass
class PopulationConfig:
    """Which villages are simulated."""

    include_residents_committees: bool = _f(
        False, "also simulate residents' committees (社区) as collectives")
    scale: int = _f(
        1, "copies of each town with its villages (benchmarks, province-sized runs)", 1, 10_000)


@dataclass
class OutputConfig:
    """What a run writes."""

    villages: bool = _f(True, "write the village panel (villages.parquet)")
    counterfactual: bool = _f(
        True, "run each replicate again without the three-assets reform to measure its income")
    progress: bool = _f(True, "show a progress bar over replicates")


UNCERTAINTIES = ("replicates", "parameters")


@dataclass
class ParameterSetsConfig:
    """Which parameter ensemble ``uncertainty=parameters`` draws from, and how."""

    path: str = _f("", "folder of the ensemble (ensemble.csv); empty: "
                   "experiments/calibration/ensemble")
    replicates_per_set: int = _f(
        2, "replicates run with each drawn parameter set (2 or more splits the variance into "
        "replicate noise and parameter uncertainty)", 1, 1000)


@dataclass
class RunConfig:
    """A whole run: one scenario, several replicates."""

    scenario: str = "baseline"
    seed: int = _f(20240101, "root seed; replicate seeds are spawned from it", 0, 2**63 - 1)
    replicates: int = _f(10, "replicates (independent seeds)", 1, 100_000)
    calibrated: bool = _f(False, "whether model parameters come from a calibration")
    resume: bool = _f(
        False, "skip a run whose folder already holds complete outputs of the same config")
    uncertainty: str = _f(
        "replicates", "what the intervals cover: replicate noise at the calibrated parameters "
        "(replicates), or also parameter uncertainty, each replicate group drawing a parameter "
        "set from the ensemble (parameters)", choices=UNCERTAINTIES)
    parameter_sets: ParameterSetsConfig = field(default_factory=ParameterSetsConfig)
    years: YearsConfig = field(default_factory=YearsConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    model: ModelParams = field(default_factory=ModelParams)
    policy: PolicyConfig = field(default_factory=PolicyConfig)


class ConfigError(ValueError):
    """A setting outside its allowed values."""


class OutputsExist(ConfigError):
    """The output folder already holds a finished run that is not to be overwritten."""


def _walk(obj: Any, prefix: str = ""):
    """Yield (dotted name, value, field metadata) for every leaf field of a config dataclass."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _walk(value, name + ".")
        else:
            yield name, value, f.metadata


def _num(x: float) -> str:
    """A bound as people write it: 1e+08 as 1e+08, 2**63 - 1 in full, 0.5 as 0.5."""
    return str(x) if isinstance(x, int) else f"{x:g}"


def validate(cfg: RunConfig) -> RunConfig:
    """Check every range and cross-field rule; raise ConfigError naming the first bad field."""
    for name, value, meta in _walk(cfg):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{name} = {value} must be a finite number")
        lo, hi = meta.get("lo"), meta.get("hi")
        if lo is not None and hi is not None and not lo <= value <= hi:
            if lo > 0 and lo < 1e-9 and value < lo:
                raise ConfigError(f"{name} = {value} must be positive (at most {_num(hi)})")
            raise ConfigError(
                f"{name} = {value} is outside the allowed range [{_num(lo)}, {_num(hi)}]")
        if lo is not None and hi is None and value < lo:
            what = "positive" if lo > 0 else "zero or more"
            raise ConfigError(f"{name} = {value} must be {what}")
        if "choices" in meta and value not in meta["choices"]:
            raise ConfigError(f"{name} = {value!r} is not one of {', '.join(meta['choices'])}")
    y = cfg.years
    if y.end < y.base:
        raise ConfigError(f"years.end = {y.end} is before the base year {y.base}")
    if not y.base <= y.calibration <= y.end:
        raise ConfigError(
            f"years.calibration = {y.calibration} must lie in [years.base, years.end] = "
            f"[{y.base}, {y.end}]")
    if cfg.model.term_max < cfg.model.term_min:
        raise ConfigError(
            f"model.term_max = {cfg.model.term_max} is below model.term_min = {cfg.model.term_min}")
    return cfg


def describe_fields(obj: Any = None, prefix: str = "") -> list[dict]:
    """Every leaf setting with its default, range and doc (for docs and priors checks)."""
    obj = obj if obj is not None else RunConfig()
    rows = []
    for name, value, meta in _walk(obj, prefix):
        rows.append({"name": name, "default": value, "lo": meta.get("lo"), "hi": meta.get("hi"),
                     "doc": meta.get("doc", "")})
    return rows


def register_configs() -> None:
    """Register the schema so that conf/config.yaml is checked against it.

    Only ``run_schema`` (the ``model`` group's configs are YAML files checked through it):
    Hydra deep-copies every registered config each time it composes one, that is twice for every
    job of a sweep, so nothing is registered that no config uses.
    """
    ConfigStore.instance().store(name="run_schema", node=RunConfig)


register_configs()

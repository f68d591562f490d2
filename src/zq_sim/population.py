"""Build the synthetic population of 2023: villages, towns, counties, contracts.

The villages, towns and counties are the real ones (data/zhaoqing_village_units_2023.csv, NBS
2023 codes). What the statistics do not give per village (income, assets, contracts, land,
capacity) is drawn from distributions whose parameters are the priors in ``ModelParams``
(data/priors.csv), east and west counties apart. ``scale`` copies every town with its villages
that many times (each copy a town of its own), so that per-village distributions do not depend
on it and city totals grow with it, for benchmarks and province-sized experiments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zq_sim.config import ModelParams
from zq_sim.state import REGULAR, UNDERPRICED, UNPAID, ContractTable, VillageState


@dataclass
class Population:
    """The villages' state, their contracts, and the tables that name them."""

    villages: VillageState
    contracts: ContractTable
    table: pd.DataFrame      # one row per village: code, name, town, county, region
    counties: list[str]      # county names, indexed by VillageState.county
    towns: list[str]         # town names, indexed by VillageState.town
    town_county: np.ndarray  # county index of each town


def lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float,
              size: int) -> np.ndarray:
    """Lognormal draws with a given median and log-sd."""
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(size))


def beta_mean(rng: np.random.Generator, mean: np.ndarray | float, concentration: float,
              size: int) -> np.ndarray:
    """Beta draws with a given mean and concentration a + b."""
    mean = np.clip(np.asarray(mean, dtype=float), 1e-6, 1 - 1e-6)
    return rng.beta(mean * concentration, (1 - mean) * concentration, size)


def group_sums(values: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """Sum of values per group index (0..n-1)."""
    return np.bincount(groups, weights=values, minlength=n)


def build_population(village_table: pd.DataFrame, counties: pd.DataFrame, p: ModelParams,
                     rng: np.random.Generator, scale: int = 1) -> Population:
    """Draw the 2023 state of every village.

    Args:
        village_table: rows of data/zhaoqing_village_units_2023.csv to simulate.
        counties: data/counties.csv (region and rural residents per county).
        p: behavioural parameters (priors or calibrated).
        rng: the population's own generator (same seed, same villages in every scenario).
        scale: copies of each town with its villages.

    """
    # scale copies towns with their villages: copy c of town T is a town of its own (its code
    # suffixed "-c"), so towns keep their size and every per-village quantity its distribution
    table = village_table.loc[village_table.index.repeat(scale)].reset_index(drop=True)
    if scale > 1:
        copy = np.tile(np.arange(scale), len(village_table)).astype(str)
        table["code"] = table["code"] + "-" + copy
        table["town_code"] = table["town_code"].astype(str) + "-" + copy
    county_names = list(counties["county"])
    # factorize (in C) and map only the distinct names: the same indices as mapping every row,
    # towns numbered in order of first appearance
    county_code, county_seen = pd.factorize(table["county"])
    county_idx = pd.Series(county_seen).map(
        {c: i for i, c in enumerate(county_names)}).to_numpy()[county_code]
    town_idx, town_seen = pd.factorize(table["town_code"])
    towns = list(town_seen)
    town_county = np.zeros(len(towns), dtype=int)
    town_county[town_idx] = county_idx
    west_by_county = (counties["region"] == "west").to_numpy()
    west = west_by_county[county_idx]
    n = len(table)
    table["region"] = np.where(west, "west", "east")

    def by_region(east: float, west_value: float) -> np.ndarray:
        return np.where(west, west_value, east)

    # Rural residents per village: each county's rural residents shared by its simulated units
    # (of one copy: a scaled population has scale times the residents)
    per_county = np.bincount(county_idx, minlength=len(county_names)) / scale
    residents = (counties["rural_residents_10k"].to_numpy() * 1e4)[county_idx] / np.maximum(
        per_county[county_idx], 1)
    farmland = residents * p.farmland_per_resident * np.exp(0.3 * rng.standard_normal(n) - 0.045)

    capacity = np.clip(by_region(p.capacity_east, p.capacity_west)
                       + p.capacity_sd * rng.standard_normal(n), 0.05, 0.95)
    fixed_assets = lognormal(rng, by_region(p.fixed_assets_median_east,
                                            p.fixed_assets_median_west), p.fixed_assets_sigma, n)
    hidden_assets = fixed_assets * p.hidden_assets_share * np.exp(
        0.5 * rng.standard_normal(n) - 0.125)
    own = lognormal(rng, by_region(p.own_income_median_east, p.own_income_median_west),
                    p.own_income_sigma, n)
    hilly = rng.random(n) < by_region(p.hilly_share_east, p.hilly_share_west)
    fragmented = farmland * p.fragmented_share

    villages = VillageState(
        county=county_idx, town=town_idx, west=west, hilly=hilly,
        capacity_base=capacity, capacity=capacity.copy(),
        fixed_assets=fixed_assets, hidden_assets=hidden_assets, funds=np.zeros(n),
        own_base=own, farmland=farmland, fragmented=fragmented, consolidated=np.zeros(n),
        transferred=np.zeros(n), soe_land=np.zeros(n),
        offfarm=beta_mean(rng, by_region(p.offfarm_east, p.offfarm_west), 20.0, n),
        aged=beta_mean(rng, p.aged_share, 20.0, n),
        distance=rng.gamma(4.0, by_region(p.distance_east, p.distance_west) / 4.0),
        margin_factor=np.exp(p.operator_margin_sigma * rng.standard_normal(n)
                             - p.operator_margin_sigma ** 2 / 2),
        pv_kw=np.zeros(n), pv_age=np.zeros(n), pv_owned=np.zeros(n, dtype=bool),
        assist_assets=np.zeros(n), talent=np.zeros(n),
        prev_operating=np.zeros(n),
    )
    contracts = build_contracts(villages, p, rng)
    # Funds at the start: one year of the income the contracts and own business bring.
    paid = contracts.let & (contracts.status != UNPAID)
    lease = group_sums(np.where(paid, contracts.rent, 0.0), contracts.village, n)
    villages.funds = lease + own
    villages.prev_operating = lease + own
    return Population(villages, contracts, table, county_names, towns, town_county)


def build_contracts(v: VillageState, p: ModelParams, rng: np.random.Generator,
                    base_year: int = 2023) -> ContractTable:
    """Lease contracts of every village in 2023, with their irregularities."""
    n = v.n
    pool = lognormal(rng, np.where(v.west, p.lease_pool_median_west, p.lease_pool_median_east),
                     p.lease_pool_sigma, n)
    n_rec = 1 + rng.poisson(max(p.contracts_per_village - 1, 0), n)
    n_hid = rng.poisson(p.contracts_per_village * p.hidden_share / p.hidden_size, n)
    village = np.repeat(np.arange(n), n_rec + n_hid)
    m = len(village)
    # position of each contract within its village: recorded ones first
    starts = np.repeat(np.cumsum(n_rec + n_hid) - (n_rec + n_hid), n_rec + n_hid)
    hidden = (np.arange(m) - starts) >= n_rec[village]
    # split the recorded pool among recorded contracts (Dirichlet(1) weights); hidden assets are
    # hidden_size times a recorded contract's mean size and hidden_share / hidden_size times as
    # many, so their total is hidden_share of the pool on average
    weight = rng.gamma(1.0, 1.0, m)
    rec_sum = group_sums(np.where(hidden, 0.0, weight), village, n)
    fair = np.where(hidden, weight * p.hidden_size / n_rec[village],
                    weight / np.maximum(rec_sum[village], 1e-12))
    fair = fair * pool[village]

    term = rng.integers(p.term_min, p.term_max + 1, m)
    end = base_year - 1 + (rng.random(m) * term).astype(int)  # 1/term expire each year
    registered = ~hidden & (rng.random(m) >= p.unregistered_share)
    platform = registered & (rng.random(m) < p.coverage_2023)
    reserve = fair * p.appraisal_ratio
    rent = reserve * np.where(platform, 1.1, 1.0 - p.offplatform_discount)
    irregular = ~hidden & (rng.random(m) < p.irregular_share)
    unpaid = irregular & (rng.random(m) < p.unpaid_share)
    depth = underpricing_depth(rng, p.underpricing_depth, m)
    status = np.where(unpaid, UNPAID, np.where(irregular, UNDERPRICED, REGULAR))
    rent = np.where(status == UNDERPRICED, reserve * (1.0 - p.offplatform_discount)
                    * (1.0 - depth), rent)
    arrears = np.where(unpaid, rent * rng.exponential(max(p.arrears_years, 1e-9), m), 0.0)
    vacant = ~hidden & (rng.random(m) < p.vacant_share)  # re-listed in the first year
    let = ~hidden & ~vacant
    return ContractTable(
        village=village, fair=fair, reserve=np.where(let, reserve, 0.0),
        rent=np.where(let, rent, 0.0), end=np.where(let, end, base_year - 1),
        let=let, registered=registered, platform=platform & let,
        status=np.where(let, status, REGULAR),
        arrears=np.where(let, arrears, 0.0), hidden=hidden)


def underpricing_depth(rng: np.random.Generator, mean: float, size: int) -> np.ndarray:
    """Shortfall of an under-priced rent below fair: Beta with the given mean."""
    return beta_mean(rng, mean, 6.0, size)

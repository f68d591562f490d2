"""Land transfer (土地流转) through the collective, and Huaiji's state-owned-enterprise model.

The model follows the land that the collective mediates (the land behind the 4,513 mu of 2024):

- Consolidation (土地综合整治) turns a share of the fragmented farmland into consolidated plots
  each year.
- Households transfer consolidated land with a probability that rises with their off-farm income
  share and age (a logit; Wang, Xin & Wang 2020 give +0.09 probability per unit of off-farm share).
- Operators bid 0.5 x (margin x quality - transport cost x distance) per mu, floored at zero
  (AgriPoliS' rental bid). Land goes for rent where the bid covers the households' own net return
  from farming; unprofitable hilly land often goes rent-free (Wang et al. 2019: over 70% in
  mountain areas); other unprofitable land stays with the households.
- The collective earns a service fee per transferred mu a year.
- Huaiji's state-owned enterprise (国有企业+土地流转+N) takes large blocks of free farmland in
  Huaiji villages, up to a yearly plan, and pays the collective a fee or dividend per mu.
"""

from __future__ import annotations

import numpy as np

from zq_sim.mechanisms.params import LandParams
from zq_sim.state import VillageState


def logistic(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def willingness(v: VillageState, p: LandParams) -> np.ndarray:
    """Share of households willing to transfer land out."""
    return logistic(p.willingness_intercept + p.willingness_offfarm * v.offfarm
                    + p.willingness_aged * v.aged)


def operator_bid(v: VillageState, p: LandParams,
                 margin_shock: np.ndarray | float = 1.0) -> np.ndarray:
    """AgriPoliS-style rental bid per mu: 0.5 x (margin x quality - transport x distance), >= 0."""
    quality = np.where(v.hilly, p.hilly_quality, 1.0)
    margin = p.operator_margin * v.margin_factor * margin_shock * quality
    return np.maximum(0.5 * (margin - p.transport_cost * v.distance), 0.0)


def free_land(v: VillageState) -> np.ndarray:
    """Farmland not fragmented, consolidated-and-waiting or already transferred."""
    return np.maximum(v.farmland - v.fragmented - v.consolidated - v.transferred - v.soe_land, 0.0)


def land_year(v: VillageState, *, consolidation: float, soe_plan: float, huaiji: np.ndarray,
              fee: float, p: LandParams, rng: np.random.Generator) -> None:
    """Consolidate, transfer, let the SOE take blocks, and book the collective's land income.

    Args:
        v: village state (changed in place): land stocks, ``new_transfer`` and ``income['land']``.
        consolidation: share of fragmented land consolidated this year.
        soe_plan: land the Huaiji SOE plans to take this year (mu).
        huaiji: bool mask of Huaiji villages.
        fee: the collective's service fee (yuan/mu/yr).
        p: the parameters of land transfer (mechanisms/params.py LandParams).
        rng: this mechanism's generator.

    """
    newly = v.fragmented * consolidation
    v.fragmented -= newly
    v.consolidated += newly

    bid = operator_bid(v, p, np.exp(0.1 * rng.standard_normal(v.n)))
    paid = bid >= p.reservation_rent
    accept = np.where(paid, 1.0, np.where(v.hilly, p.rent_free_hilly, 0.0))
    share = willingness(v, p) * accept
    new = v.consolidated * share
    v.consolidated -= new
    v.transferred += new
    v.new_transfer += new

    soe_take(v, soe_plan, huaiji, p, rng)
    v.income["land"] += v.transferred * fee + v.soe_land * p.soe_fee


def soe_take(v: VillageState, plan: float, huaiji: np.ndarray, p: LandParams,
             rng: np.random.Generator) -> float:
    """The Huaiji SOE takes blocks of free land until this year's plan (mu) is reached.

    A state enterprise expands by plan: it takes whole blocks (sizes drawn around soe_block_mu)
    until their sum reaches ``plan``, each in a Huaiji village drawn in proportion to its free
    land times its households' willingness; a village gives no more than its free land.
    Returns the mu taken.
    """
    candidates = np.flatnonzero(huaiji)
    if plan <= 0 or len(candidates) == 0 or p.soe_block_mu <= 0:
        return 0.0
    room = free_land(v)[candidates] * willingness(v, p)[candidates]
    if room.sum() <= 0:
        return 0.0
    most = int(np.ceil(8.0 * plan / p.soe_block_mu)) + 1
    sizes = p.soe_block_mu * np.exp(0.5 * rng.standard_normal(most))
    k = min(int(np.searchsorted(np.cumsum(sizes), plan)) + 1, most)  # the block reaching the plan
    sizes = sizes[:k]
    chosen = rng.choice(candidates, size=k, p=room / room.sum())
    wanted = np.bincount(np.searchsorted(candidates, chosen), weights=sizes,
                         minlength=len(candidates))
    taken = np.minimum(wanted, free_land(v)[candidates])
    v.soe_land[candidates] += taken
    return float(taken.sum())

"""The three-assets (三资) platform: inventory, contract clean-up, tendering, rent collection.

A year of the register (all arrays over contracts, no loop over villages):

1. Inventory (底数摸清): unrecorded assets are found with a chance that rises with governance
   capacity and the inventory drive; found fixed assets are booked, and found leasable assets
   that someone used without paying the collective are brought under a registered contract at
   the appraised reserve rent.
2. Clean-up (合同清理): irregular contracts (under-priced or unpaid) are detected with a hazard that
   rises with capacity and the clean-up drive. A detected contract is registered and re-priced
   to at least the appraised reserve by renegotiation with the sitting tenant, and a share of its
   arrears is recovered (a one-off income). Unregistered regular contracts are registered.
3. Letting: expiring and vacant contracts are re-let. A registered contract goes to the platform
   with probability ``coverage``: a tender with Poisson-many bidders whose values scatter around
   the fair rent; price = max(reserve, second-highest value) when the best bid meets the reserve
   (second-price), else the asset stays vacant. Off the platform the rent is at a discount to the
   reserve, and the deal may turn irregular (more so where capacity is low).
   A paid lease that ended without a new tenant is recorded as the village's lost rent (the
   town, which runs the platform, knows it when it budgets support).
4. Collection: rents of let, paid contracts are income; unpaid ones add to arrears.
5. Petitions follow the stock of irregular contracts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zq_sim.mechanisms.params import PlatformParams
from zq_sim.population import group_sums, underpricing_depth
from zq_sim.state import REGULAR, UNDERPRICED, UNPAID, ContractTable, VillageState

MAX_BIDDERS = 40


@dataclass
class PlatformYear:
    """What the register did in one year (city totals unless said)."""

    volume: float = 0.0            # value of platform deals: price x term, yuan
    premium_num: float = 0.0       # sum of (price - reserve) over platform deals
    premium_den: float = 0.0       # sum of reserves over platform deals
    deals: int = 0                 # platform deals
    unlet: int = 0                 # tenders with no bid at or above reserve
    detected: int = 0              # irregular contracts put right
    found_assets: int = 0          # leasable assets found by the inventory
    petitions: int = 0
    # per village: rents of its leases that ended this year and found no new tenant (the town
    # runs the platform and knows); None where the register did not run
    lost_rent: np.ndarray | None = None


def reform_probability(rate: float, capacity: np.ndarray, intensity: float = 1.0) -> np.ndarray:
    """Chance of an event whose yearly chance is ``rate`` at capacity 0.5 and intensity 1.

    The hazard scales with intensity x capacity / 0.5: p = 1 - (1 - rate) ** (intensity * c / 0.5).
    """
    rate = min(max(rate, 0.0), 1.0)
    if rate >= 1.0:
        return np.where(capacity * intensity > 0, 1.0, 0.0)
    return 1.0 - (1.0 - rate) ** (intensity * capacity / 0.5)


def hazard_probability(hazard: float, capacity: np.ndarray, intensity: float = 1.0) -> np.ndarray:
    """Chance of detection in a year: 1 - exp(-hazard x intensity x capacity / 0.5)."""
    return 1.0 - np.exp(-hazard * intensity * capacity / 0.5)


def second_price(values: np.ndarray, reserve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Price of a sealed-bid second-price tender with a reserve.

    Args:
        values: bidders' values, shape (contracts, bidders); absent bidders as -inf.
        reserve: reserve rents, shape (contracts,).

    Returns:
        (price, let): the price is the reserve when only the best bid meets it, the second-highest
        value when that meets it too; ``let`` is False where no bid meets the reserve.

    """
    if values.shape[1] == 0:
        return np.zeros(len(reserve)), np.zeros(len(reserve), dtype=bool)
    # the two highest values of each row, one column at a time (exactly the values a partition
    # finds, at a fraction of its cost for the few columns a tender has)
    columns = np.ascontiguousarray(values.T)
    best, second = columns[0].copy(), np.full(len(reserve), -np.inf)
    for col in columns[1:]:
        np.maximum(second, np.minimum(best, col), out=second)
        np.maximum(best, col, out=best)
    let = best >= reserve
    price = np.where(let, np.maximum(reserve, second), 0.0)
    return price, let


def tender(fair: np.ndarray, reserve: np.ndarray, mean_bidders: float, sigma: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Tender each contract: Poisson(mean_bidders) bidders, values fair x lognormal(0, sigma)."""
    k = np.minimum(rng.poisson(mean_bidders, len(fair)), MAX_BIDDERS)
    width = int(k.max()) if len(k) else 0
    # one value per bidder present, laid out bidder by bidder (the transpose), which is how
    # second_price reads them; absent bidders are -inf
    values = np.full((width, len(fair)), -np.inf)
    present = np.arange(width)[:, None] < k[None, :]
    cols = np.broadcast_to(np.arange(len(fair)), (width, len(fair)))[present]
    z = rng.standard_normal(int(present.sum()))
    values[present] = fair[cols] * np.exp(sigma * z - sigma**2 / 2)
    return second_price(values.T, reserve)


def platform_year(v: VillageState, c: ContractTable, *, year: int, coverage: float,
                  bidders: float, detect_hazard: float, registration: float, discovery: float,
                  rent_index: float, p: PlatformParams, rng: np.random.Generator) -> PlatformYear:
    """Run one year of the register; write lease and arrears income into ``v.income``.

    Args:
        v: village state (changed in place).
        c: contract register (changed in place).
        year: the simulated year.
        coverage: share of re-lets of registered contracts tendered on the platform.
        bidders: mean bidders per tender.
        detect_hazard: yearly detection hazard of irregular contracts at capacity 0.5.
        registration: yearly chance an unregistered contract is registered (capacity 0.5).
        discovery: yearly chance an unrecorded asset is found (capacity 0.5).
        rent_index: market rent level relative to 2023.
        p: ModelParams.
        rng: this mechanism's generator.

    """
    out = PlatformYear()
    n = v.n
    # Each stage draws one number per contract, but only a few contracts (hidden, irregular,
    # unregistered) can change: those are picked out by index and only they are compared and
    # updated. Chances depend on the owner village's capacity only: computed per village and
    # looked up per contract (the same numbers as computing them per contract).
    cv = c.village

    def reserve_now(rows: np.ndarray) -> np.ndarray:
        return c.fair[rows] * rent_index * p.appraisal_ratio

    # 1. Inventory: unrecorded assets found and booked; occupied ones brought under contract
    p_find = reform_probability(discovery, v.capacity)
    found_value = v.hidden_assets * p_find
    v.hidden_assets -= found_value
    v.fixed_assets += found_value
    hidden = np.flatnonzero(c.hidden)
    found = hidden[rng.random(len(hidden)) < p_find[cv[hidden]]]
    term = rng.integers(p.term_min, p.term_max + 1, len(found))
    c.hidden[found] = False
    c.registered[found] = True
    c.let[found] = True
    c.status[found] = REGULAR
    c.rent[found] = reserve_now(found)
    c.reserve[found] = c.rent[found]
    c.end[found] = year + term - 1
    out.found_assets = len(found)

    # 2. Clean-up: irregular contracts detected, registered, re-priced, arrears recovered
    # arrears left on a contract that has since been re-let are still owed and can be found
    suspect = np.flatnonzero(c.irregular() | (c.arrears > 0))
    detected = suspect[rng.random(len(suspect)) < hazard_probability(
        detect_hazard, v.capacity)[cv[suspect]]]
    # arrears are >= 0, so leaving out the zeros of the undetected changes no sum
    v.income["arrears"] += group_sums(c.arrears[detected] * p.arrears_recovery, cv[detected], n)
    c.arrears[detected] = 0.0
    c.registered[detected] = True
    # an under-priced rent is renegotiated up to the reserve; an unpaid one keeps its rent, and
    # so does a new tenant of a contract whose earlier tenant left arrears
    repriced = c.let[detected] & (c.status[detected] == UNDERPRICED)
    c.rent[detected] = np.where(repriced, np.maximum(c.rent[detected], reserve_now(detected)),
                                c.rent[detected])
    c.status[detected] = REGULAR
    out.detected = len(detected)
    unreg = np.flatnonzero(c.let & ~c.registered)
    chance = reform_probability(registration, v.capacity)[cv[unreg]]
    c.registered[unreg[rng.random(len(unreg)) < chance]] = True

    # 3. Letting: expiring and vacant contracts
    due = ~c.hidden & (~c.let | (c.end < year))
    idx = np.flatnonzero(due)
    # rent a let, paying contract brought in until it ended; lost if no new tenant is found
    ended_rent = np.where(c.let[idx] & (c.status[idx] != UNPAID), c.rent[idx], 0.0)
    fair_now = c.fair[idx] * rent_index
    reserve = fair_now * p.appraisal_ratio
    on_platform = c.registered[idx] & (rng.random(len(idx)) < coverage)
    term = rng.integers(p.term_min, p.term_max + 1, len(idx))
    rent = reserve * (1.0 - p.offplatform_discount)
    let = np.ones(len(idx), dtype=bool)
    plat = np.flatnonzero(on_platform)
    price, won = tender(fair_now[plat], reserve[plat], bidders, p.bid_sigma, rng)
    rent[plat] = price
    let[plat] = won
    out.deals = int(won.sum())
    out.unlet = int((~won).sum())
    out.volume = float((price * term[plat])[won].sum())
    out.premium_num = float((price - reserve[plat])[won].sum())
    out.premium_den = float(reserve[plat][won].sum())
    # off-platform deals may turn irregular
    off = ~on_platform
    irregular = off & (rng.random(len(idx)) < p.offplatform_irregular * (1.0 - v.capacity[cv[idx]]))
    unpaid = irregular & (rng.random(len(idx)) < p.unpaid_share)
    status = np.where(unpaid, UNPAID, np.where(irregular, UNDERPRICED, REGULAR))
    under = np.flatnonzero(status == UNDERPRICED)
    rent[under] *= 1.0 - underpricing_depth(rng, p.underpricing_depth, len(under))  # below off
    c.rent[idx] = np.where(let, rent, 0.0)
    c.reserve[idx] = reserve
    c.let[idx] = let
    c.platform[idx] = on_platform & let
    c.status[idx] = np.where(let, status, REGULAR)
    c.end[idx] = np.where(let, year + term - 1, year)
    # leases that ended without a new tenant: the town runs the platform and knows
    out.lost_rent = group_sums(np.where(let, 0.0, ended_rent), cv[idx], n)

    # 4. Collection
    unpaid_now = c.status == UNPAID
    paid = c.let & ~unpaid_now
    v.income["lease"] += group_sums(np.where(paid, c.rent, 0.0), cv, n)
    owed = np.flatnonzero(c.let & unpaid_now)
    c.arrears[owed] += c.rent[owed]

    # 5. Petitions follow irregular contracts
    irregular_per_village = np.bincount(cv[c.irregular()], minlength=n).astype(float)
    lam = p.petitions_per_irregular * irregular_per_village + p.petitions_other
    out.petitions = int(rng.poisson(lam).sum())
    return out


def contracts_managed(c: ContractTable) -> int:
    """Contracts under management: registered contracts that are let."""
    return int((c.let & c.registered).sum())

"""Talent, paired assistance and fiscal support for weak villages.

- Talent: officials, instructors and rural professional managers are assigned each year to
  villages chosen by a targeting rule; each raises the village's governance capacity by a gain
  that fades at a yearly rate once the person leaves.
- Assistance (对口帮扶, 驻镇帮镇扶村): a yearly fund finances income-generating projects (shops,
  workshops, cold stores) given to villages by a targeting rule; a project is booked as the
  village's fixed assets and pays a yearly return drawn around a mean (a failed project, drawn
  below zero, pays nothing).
- Support: towns pay villages whose expected income fell below a threshold a share of the
  shortfall, as a transfer. Expected income is last year's recurring operating income (without
  one-off arrears recovered) less the income streams the town knows have ended this year:
  dividends of companies wound up (it is a party to the companies) and rents of leases that
  found no new tenant (it runs the platform). How this year's going concerns do (rent levels,
  company results, the split of dividends, own business) it cannot see, so a village can still
  end below the threshold: the floor is a result, not a clamp.
"""

from __future__ import annotations

import numpy as np

from zq_sim.state import VillageState


def choose(v: VillageState, k: int, targeting: str, rng: np.random.Generator) -> np.ndarray:
    """Pick k villages (with repetition where k exceeds the candidates) by a targeting rule.

    weak: the lowest operating income last year first; west: random western villages;
    random: any village.
    """
    if k <= 0:
        return np.zeros(0, dtype=int)
    if targeting == "weak":
        key = v.prev_operating + 1e-9 * rng.random(v.n)
        if k >= v.n:
            order = np.argsort(key, kind="stable")
            return order[np.arange(k) % v.n]
        return smallest(key, k)
    pool = np.flatnonzero(v.west) if targeting == "west" and v.west.any() else np.arange(v.n)
    return rng.choice(pool, size=k, replace=k > len(pool))


def smallest(key: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest keys, in the order of a stable argsort (0 < k < len(key)).

    The same as ``np.argsort(key, kind="stable")[:k]`` without sorting the whole array: only
    the keys at or below the k-th smallest are sorted (ties kept in index order).
    """
    kth = np.partition(key, k - 1)[k - 1]
    if np.isnan(kth):  # NaN keys sort last; keep argsort's order for them
        return np.argsort(key, kind="stable")[:k]
    candidates = np.flatnonzero(key <= kth)
    return candidates[np.argsort(key[candidates], kind="stable")][:k]


def talent_year(v: VillageState, *, officials: int, instructors: int, managers: int,
                targeting: str, p, rng: np.random.Generator) -> None:
    """Assign talent and update governance capacity."""
    gain = np.zeros(v.n)
    for count, g in ((officials, p.gain_official), (instructors, p.gain_instructor),
                     (managers, p.gain_manager)):
        np.add.at(gain, choose(v, count, targeting, rng), g)
    v.talent = np.maximum((1.0 - p.capacity_decay) * v.talent, gain)
    v.capacity = np.minimum(v.capacity_base + v.talent, 0.99)


def assistance_year(v: VillageState, *, fund: float, targeting: str, p,
                    rng: np.random.Generator) -> float:
    """Finance projects worth about ``fund`` and book their returns; returns the money spent."""
    mean_size = p.assist_project_median * np.exp(0.125)
    k = int(rng.poisson(fund / mean_size)) if fund > 0 and mean_size > 0 else 0
    sizes = p.assist_project_median * np.exp(0.5 * rng.standard_normal(k))
    # the village receives the project's contracted return; a failed project pays nothing
    rates = np.maximum(p.assist_return + p.assist_return_sd * rng.standard_normal(k), 0.0)
    to = choose(v, k, targeting, rng)
    value = np.bincount(to, weights=sizes, minlength=v.n)
    earning = np.bincount(to, weights=sizes * rates, minlength=v.n)
    total = v.assist_assets + value
    v.assist_rate = np.where(total > 0, (v.assist_assets * v.assist_rate + earning)
                             / np.maximum(total, 1e-12), 0.0)
    v.assist_assets = total
    v.fixed_assets += value
    v.income["assistance"] += v.assist_assets * v.assist_rate
    return float(sizes.sum())


def support_transfer(expected: np.ndarray, threshold: float, gap_share: float) -> np.ndarray:
    """Fiscal support: gap_share x max(0, threshold - expected operating income)."""
    return gap_share * np.maximum(threshold - expected, 0.0)

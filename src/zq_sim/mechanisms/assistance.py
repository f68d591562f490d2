"""Talent, paired assistance and fiscal support for weak villages.

- Talent: officials, instructors and rural professional managers are assigned each year to
  villages chosen by a targeting rule; each raises the village's governance capacity by a gain
  that fades at a yearly rate once the person leaves.
- Assistance (对口帮扶, 驻镇帮镇扶村): a yearly fund finances income-generating projects (shops,
  workshops, cold stores, shares in parks) given to villages by a targeting rule; a project is
  booked as the village's fixed assets and pays a yearly return drawn around a mean (a failed
  project, drawn below zero, pays nothing) for a fixed term (15 years in 云浮's parks), after
  which its income ends. The programme has run since 2021, so the projects of 2021 and 2022
  are a stock at the start (``ProjectTable``, built by the model before 2023).
- Support: towns pay villages whose expected income fell below a threshold a share of the
  shortfall, as a transfer. Expected income is last year's recurring operating income (without
  one-off arrears recovered) less the income streams the town knows have ended this year:
  dividends of companies wound up (it is a party to the companies) and rents of leases that
  found no new tenant (it runs the platform). How this year's going concerns do (rent levels,
  company results, the split of dividends, own business) it cannot see, so a village can still
  end below the threshold: the floor is a result, not a clamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zq_sim.mechanisms.params import AssistanceParams
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
                targeting: str, p: AssistanceParams, rng: np.random.Generator) -> None:
    """Assign talent and update governance capacity."""
    gain = np.zeros(v.n)
    for count, g in ((officials, p.gain_official), (instructors, p.gain_instructor),
                     (managers, p.gain_manager)):
        np.add.at(gain, choose(v, count, targeting, rng), g)
    v.talent = np.maximum((1.0 - p.capacity_decay) * v.talent, gain)
    v.capacity = np.minimum(v.capacity_base + v.talent, 0.99)


@dataclass
class ProjectTable:
    """Income-generating assistance projects: arrays over projects."""

    village: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    value: np.ndarray = field(default_factory=lambda: np.zeros(0))   # investment, yuan
    rate: np.ndarray = field(default_factory=lambda: np.zeros(0))    # yearly return
    start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # funding year

    def extend(self, village: np.ndarray, value: np.ndarray, rate: np.ndarray,
               year: int) -> None:
        """Append the projects funded in one year."""
        self.village = np.concatenate([self.village, village]).astype(int)
        self.value = np.concatenate([self.value, value])
        self.rate = np.concatenate([self.rate, rate])
        self.start = np.concatenate([self.start, np.full(len(village), year)]).astype(int)

    def running(self, year: int, term: int) -> np.ndarray:
        """Mask of projects that pay a return in ``year`` (funded within the last term years)."""
        return (self.start <= year) & (year < self.start + term)


def fund_projects(projects: ProjectTable, v: VillageState, *, fund: float, targeting: str,
                  year: int, p: AssistanceParams,
                  rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """Finance projects worth about ``fund`` in ``year``; return (money spent, value by village).

    The number of projects is Poisson with mean fund / mean project size; sizes are lognormal
    around ``assist_project_median``, returns normal around ``assist_return`` (floored at 0).
    """
    mean_size = p.assist_project_median * np.exp(0.125)
    k = int(rng.poisson(fund / mean_size)) if fund > 0 and mean_size > 0 else 0
    sizes = p.assist_project_median * np.exp(0.5 * rng.standard_normal(k))
    # the village receives the project's contracted return; a failed project pays nothing
    rates = np.maximum(p.assist_return + p.assist_return_sd * rng.standard_normal(k), 0.0)
    to = choose(v, k, targeting, rng)
    projects.extend(to, sizes, rates, year)
    return float(sizes.sum()), np.bincount(to, weights=sizes, minlength=v.n)


def assistance_year(v: VillageState, projects: ProjectTable, *, fund: float, targeting: str,
                    year: int, p: AssistanceParams, rng: np.random.Generator) -> float:
    """Fund this year's projects, book them, pay every running project's return.

    Returns the public money spent on new projects (yuan). ``v.assist_assets`` holds the value
    of projects still within their term.
    """
    spent, value = fund_projects(projects, v, fund=fund, targeting=targeting, year=year, p=p,
                                 rng=rng)
    v.fixed_assets += value
    live = projects.running(year, p.assist_term)
    v.assist_assets = np.bincount(projects.village[live], weights=projects.value[live],
                                  minlength=v.n)
    v.income["assistance"] += np.bincount(
        projects.village[live], weights=(projects.value * projects.rate)[live], minlength=v.n)
    return spent


def support_transfer(expected: np.ndarray, threshold: float, gap_share: float) -> np.ndarray:
    """Fiscal support: gap_share x max(0, threshold - expected operating income)."""
    return gap_share * np.maximum(threshold - expected, 0.0)

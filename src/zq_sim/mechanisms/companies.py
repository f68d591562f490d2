"""Strong-village companies (强村公司): formation, business, failure, dividends.

Companies are few (hundreds per city), but their accounts are still kept as arrays so that a
province-sized population needs no loop over companies either:

- Formation: each year Poisson-many companies of each kind form (village-level, village-village
  union, town-village union), at rates raised by the policy push. Village-level companies form
  where capacity is high; unions form among villages of one town (real towns from the NBS list).
  Members pool a share of their funds; the town adds public start-up capital.
- Business: profit = capital x a yearly return drawn around its mean + a margin on the
  company's yearly business (leasing idle assets, services, and for town-village unions the
  town's small public works let to them, as 下茆镇's company did); business size is drawn per
  company around a median by kind.
- Failure: a yearly hazard that falls with the members' governance capacity, from the end of a
  grace period in which a young company lives on its start-up endowment (the "liability of
  adolescence" of organisational ecology); half the capital of a failed company goes back to
  its members, and what it paid them last year is recorded as their lost dividends (support
  is budgeted with it, ``ZhaoqingModel.close_accounts``).
- Dividends: a share of profit; members on the list of weak villages (薄弱村, see
  ``ZhaoqingModel.review_weak_list``) are paid first up to a set amount when the policy says so,
  out of at most a set share of the pool (a tilt toward weak members, not the whole of the
  others' dividends), the rest by shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from zq_sim.population import group_sums
from zq_sim.state import VillageState

VILLAGE, UNION, TOWN = 0, 1, 2
KIND_NAMES = ("village", "village_union", "town_union")


@dataclass
class CompanyTable:
    """Companies (arrays over companies) and memberships (arrays over member seats)."""

    kind: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    town: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    capital: np.ndarray = field(default_factory=lambda: np.zeros(0))
    founded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    business: np.ndarray = field(default_factory=lambda: np.zeros(0))  # yearly business, yuan
    profit: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dividends: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # memberships
    m_company: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    m_village: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    m_share: np.ndarray = field(default_factory=lambda: np.zeros(0))
    m_paid: np.ndarray = field(default_factory=lambda: np.zeros(0))  # seat's last dividend

    @property
    def k(self) -> int:
        """Number of companies ever formed."""
        return len(self.kind)

    def copy(self) -> CompanyTable:
        """A deep copy."""
        return CompanyTable(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def members(self, company: int) -> np.ndarray:
        """Village indices of one company's members."""
        return self.m_village[self.m_company == company]

    def extend(self, kind: np.ndarray, town: np.ndarray, capital: np.ndarray, year: int,
               business: np.ndarray, members: list[np.ndarray], shares: list[np.ndarray]) -> None:
        """Append new companies (arrays over the new companies, lists of member arrays)."""
        if len(kind) == 0:
            return
        first = self.k
        self.kind = np.concatenate([self.kind, kind])
        self.town = np.concatenate([self.town, town])
        self.capital = np.concatenate([self.capital, capital])
        self.founded = np.concatenate([self.founded, np.full(len(kind), year)])
        self.alive = np.concatenate([self.alive, np.ones(len(kind), dtype=bool)])
        self.business = np.concatenate([self.business, business])
        self.profit = np.concatenate([self.profit, np.zeros(len(kind))])
        self.dividends = np.concatenate([self.dividends, np.zeros(len(kind))])
        sizes = [len(m) for m in members]
        self.m_company = np.concatenate(
            [self.m_company, np.repeat(np.arange(first, first + len(kind)), sizes)])
        self.m_village = np.concatenate([self.m_village, *members]).astype(int)
        self.m_share = np.concatenate([self.m_share, *shares])
        self.m_paid = np.concatenate([self.m_paid, np.zeros(len(self.m_share) - len(self.m_paid))])


def form_companies(t: CompanyTable, v: VillageState, *, counts: tuple[int, int, int],
                   year: int, seed_capital: float, p, rng: np.random.Generator) -> float:
    """Form companies of each kind; return the public start-up capital spent (yuan)."""
    n_village, n_union, n_town = counts
    groups: list[tuple[int, int, np.ndarray]] = []  # (kind, town, members)
    has_village_co = np.zeros(v.n, dtype=bool)
    alive_village = t.alive[t.m_company] & (t.kind[t.m_company] == VILLAGE)
    has_village_co[t.m_village[alive_village]] = True
    # village-level companies: villages without one, chosen by capacity squared
    free = np.flatnonzero(~has_village_co)
    if n_village and len(free):
        w = v.capacity[free] ** 2
        chosen = rng.choice(free, size=min(n_village, len(free)), replace=False, p=w / w.sum())
        groups += [(VILLAGE, town, chosen[j:j + 1])
                   for j, town in enumerate(v.town[chosen].tolist())]
    town_sizes = np.bincount(v.town)
    towns_with_villages = np.flatnonzero(town_sizes >= 2)
    has_town_co = np.zeros(len(town_sizes), dtype=bool)
    has_town_co[t.town[t.alive & (t.kind == TOWN)]] = True
    # villages of each town in index order (as np.flatnonzero(v.town == town) lists them)
    by_town = np.argsort(v.town, kind="stable") if n_union or n_town else None
    town_start = np.concatenate([[0], np.cumsum(town_sizes)])
    for kind, count in ((UNION, n_union), (TOWN, n_town)):
        pool = towns_with_villages if kind == UNION else towns_with_villages[
            ~has_town_co[towns_with_villages]]
        for _ in range(count):
            if len(pool) == 0:
                break
            town = int(rng.choice(pool))
            villages = by_town[town_start[town]:town_start[town + 1]]
            if kind == UNION:
                size = min(len(villages), int(rng.integers(2, 8)))
                villages = np.sort(rng.choice(villages, size=size, replace=False))
            else:
                pool = pool[pool != town]
            groups.append((kind, town, villages))
    return _found(t, v, groups, year, seed_capital, p, rng)


def _found(t: CompanyTable, v: VillageState, groups: list[tuple[int, int, np.ndarray]],
           year: int, seed_capital: float, p, rng: np.random.Generator) -> float:
    """Pool members' capital and append the new companies; return public capital spent."""
    if not groups:
        return 0.0
    kinds = np.array([g[0] for g in groups])
    towns = np.array([g[1] for g in groups])
    members = [g[2] for g in groups]
    contribution, totals = _contributions(v, members, p.capital_share)
    sizes = np.array([len(mem) for mem in members])
    total_seat = np.repeat(totals, sizes)
    shares = [np.where(total_seat > 0, contribution / np.where(total_seat > 0, total_seat, 1.0),
                       1.0 / np.repeat(sizes, sizes))]
    capital = totals + seed_capital
    median = np.array([p.business_village, p.business_union, p.business_town])[kinds]
    business = median * np.exp(0.5 * rng.standard_normal(len(groups)))
    t.extend(kinds, towns, capital, year, business, members, shares)
    return seed_capital * len(groups)


def _contributions(v: VillageState, members: list[np.ndarray],
                   capital_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Each member seat's contribution and each new company's total; draws down ``v.funds``.

    Companies are founded in order: a village in several new companies pays capital_share of
    what its funds hold after paying into the earlier ones. The seats are handled in rounds (a
    village's first seat, then its second...), which gives the same numbers as a loop over the
    companies without a Python step per company.
    """
    sizes = np.array([len(mem) for mem in members])
    seat_village = np.concatenate(members)
    # rank of each seat among the same village's seats, in company order
    order = np.argsort(seat_village, kind="stable")
    ranked = seat_village[order]
    new_village = np.ones(len(ranked), dtype=bool)
    new_village[1:] = ranked[1:] != ranked[:-1]
    first = np.maximum.accumulate(np.where(new_village, np.arange(len(ranked)), 0))
    rank = np.empty(len(ranked), dtype=int)
    rank[order] = np.arange(len(ranked)) - first
    contribution = np.empty(len(seat_village))
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        seats = np.flatnonzero(rank == r)
        villages = seat_village[seats]  # distinct within a round
        paid = capital_share * np.maximum(v.funds[villages], 0.0)
        v.funds[villages] -= paid
        contribution[seats] = paid
    # totals summed per company as np.sum sums each company's own array
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    totals = contribution[starts].copy()
    for j in np.flatnonzero(sizes > 1).tolist():
        totals[j] = contribution[starts[j]:starts[j] + sizes[j]].sum()
    return contribution, totals


def operate(t: CompanyTable, v: VillageState, *, return_shift: float, failure_multiplier: float,
            weak_first: bool, weak_amount: float, p, rng: np.random.Generator,
            year: int | None = None, weak_cap: float = 1.0) -> None:
    """One business year of every live company; pay dividends into ``v.income['dividends']``.

    Also records in ``v.weak_help`` what each village was paid first as a weak member, and in
    ``v.lost_dividends`` the dividends it was paid last year by companies wound up this year
    (what the town, a party to the companies, knows it will miss when it budgets support).
    """
    v.weak_help = np.zeros(v.n)
    v.lost_dividends = np.zeros(v.n)
    if t.k == 0:
        return
    alive = t.alive.copy()
    r = p.return_mean + return_shift + p.return_sd * rng.standard_normal(t.k)
    profit = np.where(alive, t.capital * r + t.business * p.business_margin, 0.0)
    t.profit = profit
    # failure hazard falls with members' mean capacity (0.5 gives the prior hazard)
    seats_alive = alive[t.m_company]
    cap_sum = np.bincount(t.m_company, weights=v.capacity[t.m_village], minlength=t.k)
    cap_mean = cap_sum / np.maximum(np.bincount(t.m_company, minlength=t.k), 1)
    hazard = np.clip(p.failure_hazard * failure_multiplier * (1.5 - cap_mean), 0.0, 1.0)
    # liability of adolescence: a company lives on its start-up endowment (public capital, the
    # town's business) for its first years; with year None every company is at risk
    exposed = alive if year is None else alive & (year - t.founded >= p.failure_grace_years)
    fails = exposed & (rng.random(t.k) < hazard)
    # a failed company returns half its capital to members by share
    refund = np.where(fails[t.m_company], 0.5 * np.maximum(t.capital, 0)[t.m_company], 0.0)
    v.funds += group_sums(refund * t.m_share, t.m_village, v.n)
    v.lost_dividends = group_sums(np.where(fails[t.m_company], t.m_paid, 0.0), t.m_village, v.n)
    t.alive = alive & ~fails
    paying = t.alive & (profit > 0)
    pool = np.where(paying, p.payout * profit, 0.0)
    t.capital = np.where(t.alive, t.capital + profit - pool, 0.0)
    t.dividends = pool
    weak_seat = v.weak[t.m_village] & seats_alive
    seat_pay = split_dividends(pool, t.m_company, t.m_share, weak=weak_seat,
                               weak_first=weak_first, weak_amount=weak_amount, cap=weak_cap)
    if weak_first:
        first, _ = first_payments(pool, t.m_company, weak_seat, weak_amount, weak_cap)
        v.weak_help = group_sums(np.where(weak_seat, first[t.m_company], 0.0), t.m_village, v.n)
    t.m_paid = seat_pay
    v.income["dividends"] += group_sums(seat_pay, t.m_village, v.n)


def split_dividends(pool: np.ndarray, company: np.ndarray, share: np.ndarray, weak: np.ndarray,
                    weak_first: bool, weak_amount: float, cap: float = 1.0) -> np.ndarray:
    """Dividend per membership seat.

    Without weak-first, each seat gets pool x share. With it, weak seats first get
    min(weak_amount, cap x pool / number of weak seats) each (first payments take at most the
    share ``cap`` of the pool); what is left goes by shares to all.
    """
    if not weak_first:
        return pool[company] * share
    first, n_weak = first_payments(pool, company, weak, weak_amount, cap)
    rest = pool - first * n_weak
    return np.where(weak, first[company], 0.0) + rest[company] * share


def first_payments(pool: np.ndarray, company: np.ndarray, weak: np.ndarray,
                   weak_amount: float, cap: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per company: what each weak seat is paid first, and the number of weak seats."""
    n_weak = np.bincount(company, weights=weak.astype(float), minlength=len(pool))
    first = np.where(n_weak > 0, np.minimum(weak_amount, cap * pool / np.maximum(n_weak, 1)),
                     0.0)
    return first, n_weak


def counts(t: CompanyTable) -> dict[str, int]:
    """Live companies in total and by kind."""
    out = {"companies": int(t.alive.sum())}
    for kind, name in enumerate(KIND_NAMES):
        out[f"companies_{name}"] = int((t.alive & (t.kind == kind)).sum())
    return out


def first_joined(t: CompanyTable, n: int) -> np.ndarray:
    """Year each village first joined a company (0 for never)."""
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, t.m_village, t.founded[t.m_company])
    return np.where(first == np.iinfo(np.int64).max, 0, first)

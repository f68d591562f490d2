"""Strong-village companies (强村公司): formation, business, failure, dividends.

Companies are few (hundreds per city), but their accounts are still kept as arrays so that a
province-sized population needs no loop over companies either:

- Formation draws on a finite pool. A village can found a village-level company when it has
  none, has the governance capacity to run one (``company_min_capacity``) and is a member of
  fewer than ``max_memberships`` companies; each such candidate founds one with a yearly hazard
  that rises with capacity squared and with the policy push. A town hosts at most one live
  village-village union and one town-village union; a town that has none founds one with a
  yearly hazard, among its villages that can still join one. So formation slows as candidates
  are used up, and a push speeds it up within the pool. Members pool a share of their funds;
  the town adds public start-up capital.
- Business has a source. Each company has a capability: the yearly business it could do in an
  uncrowded market (drawn at founding by kind; it grows in the company's first years as it
  learns, then drifts with yearly shocks). Its market is its town's demand for what companies
  sell (leasing idle assets, services, farm services, vehicle rental), which grows at a yearly
  rate and moves with the rent shock. Companies of one town share it: with capabilities summing
  to W and demand D, a company with capability w does w x D / (W + D) of business, so the
  town's companies together never do more than D, and its margin falls by ``crowding`` x
  W / (W + D) as they fill the market. A town-village union is also let a share of the town's
  small public works (as 下茆镇's company was): paid by the town, counted as public money.
- Profit = capital x a yearly return + market business x crowded margin + public works x margin,
  the return shock shifting both the return and the margins. Company capital depreciates at the
  villages' rate and grows by retained profit, so it converges rather than piles up.
- Failure: a yearly hazard that falls with the members' governance capacity, from the end of a
  grace period in which a young company lives on its start-up endowment (the "liability of
  adolescence" of organisational ecology); half the capital of a failed company goes back to
  its members (the other half is recorded as capital lost), what it paid them last year is
  recorded as their lost dividends (support is budgeted with it,
  ``ZhaoqingModel.close_accounts``), and it leaves the set of live agents.
- Dividends: a share of profit; members on the list of weak villages (薄弱村, see
  ``ZhaoqingModel.review_weak_list``) are paid first up to a set amount when the policy says so,
  out of at most a set share of the pool (a tilt toward weak members, not the whole of the
  others' dividends), the rest by shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from zq_sim.mechanisms.params import CompanyParams
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
    capability: np.ndarray = field(default_factory=lambda: np.zeros(0))  # uncrowded business
    business: np.ndarray = field(default_factory=lambda: np.zeros(0))  # market business, yuan/yr
    works: np.ndarray = field(default_factory=lambda: np.zeros(0))  # public works let, yuan/yr
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

    def memberships(self, n: int) -> np.ndarray:
        """Live companies each of n villages is a member of."""
        live = self.alive[self.m_company]
        return np.bincount(self.m_village[live], minlength=n)

    def extend(self, kind: np.ndarray, town: np.ndarray, capital: np.ndarray, year: int,
               capability: np.ndarray, members: list[np.ndarray],
               shares: list[np.ndarray]) -> None:
        """Append new companies (arrays over the new companies, lists of member arrays)."""
        if len(kind) == 0:
            return
        first = self.k
        new = len(kind)
        self.kind = np.concatenate([self.kind, kind])
        self.town = np.concatenate([self.town, town])
        self.capital = np.concatenate([self.capital, capital])
        self.founded = np.concatenate([self.founded, np.full(new, year)])
        self.alive = np.concatenate([self.alive, np.ones(new, dtype=bool)])
        self.capability = np.concatenate([self.capability, capability])
        for name in ("business", "works", "profit", "dividends"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(new)]))
        sizes = [len(m) for m in members]
        self.m_company = np.concatenate(
            [self.m_company, np.repeat(np.arange(first, first + new), sizes)])
        self.m_village = np.concatenate([self.m_village, *members]).astype(int)
        self.m_share = np.concatenate([self.m_share, *shares])
        self.m_paid = np.concatenate([self.m_paid, np.zeros(len(self.m_share) - len(self.m_paid))])


@dataclass
class CompanyYear:
    """What one business year of the companies hands back to the model."""

    works: float = 0.0           # public works let to companies by towns (public money), yuan
    failed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # rows failed
    capital_lost: float = 0.0    # capital of failed companies not returned to members, yuan
    # per village: what it was paid first as a listed weak member (read at the next review of
    # the list), and last year's dividends from its companies wound up this year (which the
    # town, a party to them, knows it will miss when it budgets support); None: nothing paid
    weak_help: np.ndarray | None = None
    lost_dividends: np.ndarray | None = None


def village_candidates(t: CompanyTable, v: VillageState, p: CompanyParams) -> np.ndarray:
    """Mask of villages that can found a village-level company this year."""
    alive_village = t.alive[t.m_company] & (t.kind[t.m_company] == VILLAGE)
    has_own = np.zeros(v.n, dtype=bool)
    has_own[t.m_village[alive_village]] = True
    return (~has_own & (t.memberships(v.n) < p.max_memberships)
            & (v.capacity >= p.company_min_capacity))


def form_companies(t: CompanyTable, v: VillageState, *, hazards: tuple[float, float, float],
                   year: int, seed_capital: float, p: CompanyParams,
                   rng: np.random.Generator) -> float:
    """Found the year's companies from the pool of candidates; return public capital spent.

    Args:
        t: the company table (extended in place).
        v: the villages (their funds pay the members' capital).
        hazards: yearly founding hazards (village-level per candidate village at capacity 0.5,
            village-village union and town-village union per candidate town), push included.
        year: the founding year.
        seed_capital: public start-up capital per new company (yuan).
        p: behavioural parameters (``company_min_capacity``, ``max_memberships``, capital and
            capability parameters).
        rng: the companies' stream.

    """
    h_village, h_union, h_town = hazards
    # a draw for every village and town, candidate or not, so that the stream's position does
    # not depend on the size of the pool
    draw = rng.random(v.n)
    chance = 1.0 - np.exp(-h_village * (v.capacity / 0.5) ** 2)
    founders = np.flatnonzero(village_candidates(t, v, p) & (draw < chance))
    towns = _Towns(t, v)
    groups = towns.village_groups(founders)
    for kind, hazard in ((UNION, h_union), (TOWN, h_town)):
        draw = rng.random(towns.n)
        hosts = np.flatnonzero(towns.can_host(kind, p) & (draw < 1.0 - np.exp(-hazard)))
        groups += towns.union_groups(kind, hosts, p, rng)
    return _found(t, v, groups, year, seed_capital, p, rng)


def form_stock(t: CompanyTable, v: VillageState, *, counts: tuple[int, int, int], year: int,
               seed_capital: float, p: CompanyParams, rng: np.random.Generator) -> float:
    """Found a given number of companies of each kind among the candidates (a starting stock).

    Village-level founders are drawn among the candidate villages with weights capacity
    squared, unions among the towns that can host one. Returns the public capital spent.
    """
    n_village, n_union, n_town = counts
    candidates = np.flatnonzero(village_candidates(t, v, p))
    founders = np.zeros(0, dtype=int)
    if n_village and len(candidates):
        w = v.capacity[candidates] ** 2
        founders = np.sort(rng.choice(candidates, size=min(n_village, len(candidates)),
                                      replace=False, p=w / w.sum()))
    towns = _Towns(t, v)
    groups = towns.village_groups(founders)
    for kind, count in ((UNION, n_union), (TOWN, n_town)):
        able = np.flatnonzero(towns.can_host(kind, p))
        hosts = np.sort(rng.choice(able, size=min(count, len(able)), replace=False))
        groups += towns.union_groups(kind, hosts, p, rng)
    return _found(t, v, groups, year, seed_capital, p, rng)


class _Towns:
    """The towns' villages and memberships while one year's companies are being founded."""

    def __init__(self, t: CompanyTable, v: VillageState) -> None:
        self.t, self.v = t, v
        self.n = int(v.town.max()) + 1 if v.n else 0
        self.by_town = np.argsort(v.town, kind="stable")
        self.start = np.concatenate([[0], np.cumsum(np.bincount(v.town, minlength=self.n))])
        self.joined = t.memberships(v.n)

    def villages(self, town: int) -> np.ndarray:
        """The town's villages, in index order."""
        return self.by_town[self.start[town]:self.start[town + 1]]

    def village_groups(self, founders: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        """One village-level company per founder."""
        self.joined[founders] += 1
        return [(VILLAGE, int(self.v.town[i]), np.array([i])) for i in founders.tolist()]

    def can_host(self, kind: int, p: CompanyParams) -> np.ndarray:
        """Mask of towns with no live union of this kind and two villages free to join one."""
        t = self.t
        hosts = np.zeros(self.n, dtype=bool)
        hosts[t.town[t.alive & (t.kind == kind)]] = True
        free = np.bincount(self.v.town, weights=(self.joined < p.max_memberships).astype(float),
                           minlength=self.n)
        return ~hosts & (free >= 2)

    def union_groups(self, kind: int, hosts: np.ndarray, p: CompanyParams,
                     rng: np.random.Generator) -> list[tuple[int, int, np.ndarray]]:
        """A union in each host town: 2-7 free villages (village-village) or all free ones."""
        groups = []
        for town in hosts.tolist():
            villages = self.villages(town)
            free = villages[self.joined[villages] < p.max_memberships]
            if len(free) < 2:
                continue  # an earlier union of the same year took the villages
            if kind == UNION:
                size = min(len(free), int(rng.integers(2, 8)))
                free = np.sort(rng.choice(free, size=size, replace=False))
            self.joined[free] += 1
            groups.append((kind, town, free))
        return groups


def _found(t: CompanyTable, v: VillageState, groups: list[tuple[int, int, np.ndarray]],
           year: int, seed_capital: float, p: CompanyParams, rng: np.random.Generator) -> float:
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
    median = np.array([p.capability_village, p.capability_union, p.capability_town])[kinds]
    capability = median * np.exp(p.capability_sigma * rng.standard_normal(len(groups)))
    t.extend(kinds, towns, capital, year, capability, members, shares)
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


def operate(t: CompanyTable, v: VillageState, *, demand: np.ndarray, works: np.ndarray,
            return_shift: float, failure_multiplier: float, weak_first: bool,
            weak_amount: float, p: CompanyParams, rng: np.random.Generator, year: int | None = None,
            weak_cap: float = 1.0) -> CompanyYear:
    """One business year of every live company; pay dividends into ``v.income['dividends']``.

    Args:
        t: the company table (updated in place).
        v: the villages (members).
        demand: each town's market demand for companies' business this year (yuan).
        works: each town's public works let to its town-village union this year (yuan).
        return_shift: shift of the return on capital and of the margins (a shock).
        failure_multiplier: failure hazard relative to the prior.
        weak_first: pay members on the weak list first.
        weak_amount: what a weak member is paid first (yuan).
        p: the companies' parameters (mechanisms/params.py CompanyParams).
        rng: the companies' stream.
        year: the business year (None: every company is past its grace period and learning).
        weak_cap: largest share of a pool that first payments take.

    Returns the year's results, among them what each village was paid first as a weak member
    (``weak_help``) and the dividends it was paid last year by companies wound up this year
    (``lost_dividends``).

    """
    weak_help = np.zeros(v.n)
    if t.k == 0:
        return CompanyYear(weak_help=weak_help, lost_dividends=np.zeros(v.n))
    alive = t.alive.copy()
    age = np.zeros(t.k) if year is None else year - t.founded
    # capability: learning in the first years (not in the founding year), then drift
    learn = np.where((age >= 1) & (age <= p.company_maturity_years), p.company_learning, 0.0)
    shock = p.business_sd * rng.standard_normal(t.k) - p.business_sd ** 2 / 2
    grown = age >= 1
    t.capability = np.where(alive & grown, t.capability * np.exp(learn + shock), t.capability)
    # the town's market: shared by its companies, margins crowded as they fill it
    n_towns = len(demand)
    w_town = np.bincount(t.town, weights=np.where(alive, t.capability, 0.0), minlength=n_towns)
    fill = np.where(w_town + demand > 0, w_town / np.maximum(w_town + demand, 1e-12), 0.0)
    t.business = np.where(alive, t.capability * (1.0 - fill[t.town]), 0.0)
    margin = p.business_margin * (1.0 - p.crowding * fill[t.town]) + return_shift
    t.works = np.where(alive & (t.kind == TOWN), works[t.town], 0.0)
    r = p.return_mean + return_shift + p.return_sd * rng.standard_normal(t.k)
    profit = np.where(alive, t.capital * r + t.business * margin
                      + t.works * (p.business_margin + return_shift), 0.0)
    t.profit = profit
    # failure hazard falls with members' mean capacity (0.5 gives the prior hazard)
    seats_alive = alive[t.m_company]
    cap_sum = np.bincount(t.m_company, weights=v.capacity[t.m_village], minlength=t.k)
    cap_mean = cap_sum / np.maximum(np.bincount(t.m_company, minlength=t.k), 1)
    hazard = np.clip(p.failure_hazard * failure_multiplier * (1.5 - cap_mean), 0.0, 1.0)
    # liability of adolescence: a company lives on its start-up endowment (public capital, the
    # town's business) for its first years; with year None every company is at risk
    exposed = alive if year is None else alive & (age >= p.failure_grace_years)
    fails = exposed & (rng.random(t.k) < hazard)
    # a failed company returns half its capital to members by share; the rest is lost
    kept = 0.5 * np.maximum(t.capital, 0)
    refund = np.where(fails[t.m_company], kept[t.m_company], 0.0)
    v.funds += group_sums(refund * t.m_share, t.m_village, v.n)
    lost_dividends = group_sums(np.where(fails[t.m_company], t.m_paid, 0.0), t.m_village, v.n)
    t.alive = alive & ~fails
    paying = t.alive & (profit > 0)
    pool = np.where(paying, p.payout * profit, 0.0)
    # capital depreciates and grows by retained profit; losses run it down to nothing, not
    # below (a company without capital still does its business)
    t.capital = np.where(t.alive, np.maximum(t.capital * (1.0 - p.depreciation) + profit - pool,
                                             0.0), 0.0)
    t.dividends = pool
    weak_seat = v.weak[t.m_village] & seats_alive
    seat_pay = split_dividends(pool, t.m_company, t.m_share, weak=weak_seat,
                               weak_first=weak_first, weak_amount=weak_amount, cap=weak_cap)
    if weak_first:
        first, _ = first_payments(pool, t.m_company, weak_seat, weak_amount, weak_cap)
        weak_help = group_sums(np.where(weak_seat, first[t.m_company], 0.0), t.m_village, v.n)
    t.m_paid = seat_pay
    v.income["dividends"] += group_sums(seat_pay, t.m_village, v.n)
    return CompanyYear(works=float(t.works.sum()), failed=np.flatnonzero(fails),
                       capital_lost=float(kept[fails].sum()), weak_help=weak_help,
                       lost_dividends=lost_dividends)


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

"""The Mesa model of Zhaoqing's village collectives: set-up, the yearly schedule, reporting.

One step is one year. The first step simulates the base year 2023 under the practice of 2023;
policy levers act from ``years.policy_start`` (2024) on. Every mechanism draws from its own
random stream spawned from the seed, so that two scenarios run on the same seed share the same
villages and the same draws wherever their mechanisms do the same thing (common random numbers).
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from zq_sim import costs, data, metrics
from zq_sim.agents import LandOperator, StrongVillageCompany, Village
from zq_sim.config import ConfigError, RunConfig, validate
from zq_sim.levers import Levers, levers_for
from zq_sim.mechanisms import assistance, companies, land, params, pv, three_assets
from zq_sim.population import Population, build_population

STREAMS = ("population", "three_assets", "land", "companies", "pv", "talent", "assistance",
           "own")
#: Variables of the village panel (one row per village and year).
PANEL = ("operating_income", "recurring_operating_income", "total_income", "support", "lease",
         "arrears", "land", "dividends", "pv", "assistance", "own", "fixed_assets", "capacity",
         "transferred", "pv_kw", "company_joined", "weak")


SeedLike = int | np.integer | np.random.SeedSequence | None
#: Mesa agent-type reporters (attribute names of the agents).
VILLAGE_REPORTERS = {"code": "code", "county": "county", "town": "town",
                     "operating_income": "operating_income", "total_income": "total_income",
                     "capacity": "capacity", "fixed_assets": "fixed_assets"}
COMPANY_REPORTERS = {"kind": "kind", "capital": "capital", "business": "business",
                     "dividends": "dividends", "members": "n_members"}


def _or_zero(values: np.ndarray | None) -> np.ndarray | float:
    """A mechanism's per-village result, or 0 where it did not run this year."""
    return 0.0 if values is None else values


def latest(model: ZhaoqingModel, name: str) -> Any:
    """A Mesa model reporter: one metric of the model's latest yearly row."""
    return model.records[-1][name]


def _seed(rng: SeedLike) -> int | np.random.SeedSequence:
    """The replicate's seed from Mesa's ``rng`` argument (None draws and records entropy)."""
    if rng is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer) or rng < 0:
        raise ConfigError(f"rng = {rng!r}: give a non-negative int, a numpy SeedSequence or "
                          "None")
    return int(rng)


def _configure(cfg: RunConfig | None, overrides: dict[str, Any]) -> RunConfig:
    """The configuration the model runs: cfg (or the calibrated one) with overrides, validated."""
    from zq_sim.api import apply_overrides, load_config

    if "seed" in overrides:
        raise ConfigError("seed: a model runs one replicate; give its seed as rng=...")
    if cfg is None:
        return load_config(overrides=overrides)
    return validate(apply_overrides(cfg, overrides))


@lru_cache(maxsize=8)
def _tables(data_dir: str, include_residents: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (data.load_villages(data_dir, include_residents), data.load_counties(data_dir))


class ZhaoqingModel(mesa.Model):
    """Village collective income in Zhaoqing under the 2024 county-town-village reforms.

    Used as Mesa models are::

        model = ZhaoqingModel(rng=42, **{"policy.companies.formation_push": 2.0})
        while model.running:
            model.step()
        model.datacollector.get_model_vars_dataframe()

    and by ``mesa.batch_run(ZhaoqingModel, parameters={"years.end": 2030, ...}, rng=[1, 2])``.

    Args:
        cfg: the run's configuration (``config.RunConfig``); the model reads ``cfg.model``
            (behaviour), ``cfg.policy`` (levers), ``cfg.years`` and ``cfg.population``.
            None: the calibrated configuration (conf/model/calibrated.yaml, as the command
            line composes it).
        rng: this replicate's seed: an int, a numpy integer, a numpy SeedSequence, or None
            (fresh entropy, recorded in ``self.seed``). Mesa's own generators and every
            random stream of the model are spawned from it.
        data_dir: folder of the data files (default: the project's data/).
        collect_agents: also collect the agent-type reporters of villages and companies in
            ``self.datacollector`` each year (the village panel, ``village_panel()``, is
            collected from the arrays either way).
        **overrides: settings by dotted name, applied to ``cfg`` (or the calibrated config) and
            validated, e.g. ``**{"years.end": 2030, "policy.support.enabled": False}``.

    Raises:
        ConfigError: an unknown setting, a value out of range, or a bad ``rng``.

    """

    def __init__(self, cfg: RunConfig | None = None, *, rng: SeedLike = None,
                 data_dir: str | None = None, collect_agents: bool = True,
                 **overrides: Any) -> None:
        seed = _seed(rng)
        super().__init__(rng=seed)
        self._build_state(_configure(cfg, overrides), seed, data_dir)
        self.village_agents = [Village(self, i) for i in range(self.villages.n)]
        self.operators = [LandOperator(self, "private"), LandOperator(self, "soe", "怀集县")]
        self.company_agents: list[StrongVillageCompany] = []
        self._form_initial_companies()
        self._fund_initial_projects()
        self.datacollector: mesa.DataCollector | None = None
        self._collect_agents = collect_agents
        self.running = self.year < self.cfg.years.end

    def _build_state(self, cfg: RunConfig, seed: int | np.random.SeedSequence,
                     data_dir: str | None) -> None:
        """The arrays, streams and tables of the model (everything but Mesa's agents)."""
        self.cfg = cfg
        self.p = self.cfg.model
        # each mechanism's own parameters, read once (mechanisms/params.py)
        self.mp = params.for_model(self.p)
        self.policy = self.cfg.policy
        self.seed = seed.entropy if isinstance(seed, np.random.SeedSequence) else seed
        sequence = seed if isinstance(seed, np.random.SeedSequence) else \
            np.random.SeedSequence(seed)
        children = sequence.spawn(len(STREAMS))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, children,
                                                                          strict=True)}
        village_table, counties = _tables(str(data_dir or data.DATA_DIR),
                                          self.cfg.population.include_residents_committees)
        #: yuan per unit of what the levers buy (data/lever_costs.csv), for the public accounts
        self.unit_costs = costs.unit_costs(data.load_lever_costs(data_dir or data.DATA_DIR))
        self.scale = self.cfg.population.scale
        self.population: Population = build_population(
            village_table, counties, self.p, self.streams["population"], self.scale)
        self.villages = self.population.villages
        self.contracts = self.population.contracts
        self.companies = companies.CompanyTable()
        self.projects = assistance.ProjectTable()
        v = self.villages
        n_towns = len(self.population.towns)
        #: villages per town, and whether the town is in the west (for its market's size)
        self.town_size = np.bincount(v.town, minlength=n_towns)
        self.town_west = np.zeros(n_towns, dtype=bool)
        self.town_west[v.town] = v.west
        self.huaiji = self.villages.county == self.population.counties.index("怀集县")
        self.gaoyao = self.villages.county == self.population.counties.index("高要区")
        self.year = self.cfg.years.base - 1
        self.records: list[dict] = []
        self.panel: dict[int, dict[str, np.ndarray]] = {}

    # ---------------------------------------------------------------- schedule
    def step(self) -> None:
        """Simulate one year; ``running`` turns False at ``years.end``."""
        if self.year >= self.cfg.years.end:
            raise RuntimeError(f"the model has reached years.end = {self.cfg.years.end}; it "
                               "does not step past it (raise years.end to simulate further)")
        self.year += 1
        self.begin_year()
        self.review_weak_list()
        self.assign_talent()
        self.run_three_assets()
        self.transfer_land()
        self.run_companies()
        self.run_pv()
        self.fund_assistance()
        self.close_accounts()
        self.pay_for_levers()
        self.collect()
        self.running = self.year < self.cfg.years.end

    def run(self) -> pd.DataFrame:
        """Simulate from the base year to ``years.end``; return the yearly metrics."""
        while self.year < self.cfg.years.end:
            self.step()
        return self.timeseries()

    # ---------------------------------------------------------------- stages
    @property
    def shocked(self) -> bool:
        """Whether the scenario's shocks act this year."""
        return self.year >= self.policy.shock.start

    def rent_index(self) -> float:
        """Market rents relative to 2023."""
        years = self.year - self.cfg.years.base
        return (1.0 + self.p.rent_growth) ** years * self.shock_index()

    def shock_index(self) -> float:
        """Rents and local markets relative to their path without the rent shock."""
        if not self.shocked:
            return 1.0
        return (1.0 + self.policy.shock.rent_change) ** (self.year - self.policy.shock.start + 1)

    def begin_year(self) -> None:
        """Zero the year's flows; remember where the stocks start."""
        v = self.villages
        v.reset_flows()
        self._spent = {"companies": 0.0, "town_works": 0.0, "pv": 0.0, "assistance": 0.0,
                       "support": 0.0}
        # last year's first payments to weak members, read by this year's review of the list
        last = getattr(self, "_company_year", None)
        self._weak_help_last = last.weak_help if last is not None else None
        self._company_year = companies.CompanyYear()
        self._platform = three_assets.PlatformYear()
        self._fixed_assets_start = v.fixed_assets.copy()
        self._land_start = (float(v.fragmented.sum()), float(v.soe_land.sum()))  # mu
        self.levers: Levers = levers_for(self.year, self.cfg)

    def review_weak_list(self) -> None:
        """Every few years from the policy start, list the weak villages (薄弱村).

        A village is weak when its recurring operating income last year, less what it was paid
        first as a weak company member, was below the weak line (``policy.support.weak_line``,
        the city's 150k goal). Companies pay listed villages first; the list does not follow
        every year's income, and a village lifted only by those first payments stays on it.
        """
        if self.levers.review_weak_list:
            v = self.villages
            # judged without the weak-first dividends the list itself brought, so that a village
            # lifted only by them keeps its place
            helped = 0.0 if self._weak_help_last is None else self._weak_help_last
            v.weak = v.prev_operating - helped < self.policy.support.weak_line

    def assign_talent(self) -> None:
        """Officials, instructors and managers raise capacity (since 2023: 2023 practice first)."""
        lv = self.levers
        assistance.talent_year(
            self.villages, officials=lv.officials * self.scale,
            instructors=lv.instructors * self.scale, managers=lv.managers * self.scale,
            targeting=lv.talent_targeting, p=self.mp.assistance, rng=self.streams["talent"])

    def run_three_assets(self) -> None:
        """Inventory, clean-up, tendering and rent collection on the three-assets platform."""
        self._platform = three_assets.platform_year(
            self.villages, self.contracts, year=self.year, rent_index=self.rent_index(),
            p=self.mp.platform, rng=self.streams["three_assets"], coverage=self.levers.coverage,
            bidders=self.levers.bidders, detect_hazard=self.levers.detect_hazard,
            registration=self.levers.registration, discovery=self.levers.discovery)

    def transfer_land(self) -> None:
        """Consolidation, household transfers, the Huaiji SOE, the collective's land income."""
        lv = self.levers
        land.land_year(
            self.villages, consolidation=lv.consolidation,
            soe_plan=self.p.soe_plan_mu * lv.soe_push * self.scale, huaiji=self.huaiji,
            fee=lv.service_fee, p=self.mp.land, rng=self.streams["land"])

    def run_companies(self) -> None:
        """Found strong-village companies from the pool, run their business, pay dividends."""
        p, cp, lv = self.p, self.policy.companies, self.levers
        push = lv.formation_push
        hazards = (p.village_company_hazard * push, p.union_hazard * push,
                   p.town_company_hazard * push)
        self._spent["companies"] += self._form(hazards, lv.seed_capital)
        years = self.year - self.cfg.years.base
        demand = (p.market_per_village * self.town_size
                  * np.where(self.town_west, p.market_west_factor, 1.0)
                  * (1.0 + p.market_growth) ** years * self.shock_index())
        works = p.town_works_per_village * self.town_size * cp.works_share
        result = companies.operate(
            self.companies, self.villages, demand=demand, works=works,
            return_shift=cp.return_shock if self.shocked else 0.0,
            failure_multiplier=cp.failure_multiplier if self.shocked else 1.0,
            weak_first=lv.weak_first, weak_amount=cp.weak_first_amount,
            weak_cap=cp.weak_first_cap,
            p=self.mp.companies, rng=self.streams["companies"], year=self.year)
        self._spent["town_works"] += result.works
        self._company_year = result
        self._remove_company_agents(result.failed)

    def run_pv(self) -> None:
        """PV adoption (the small cut, pushed in 高要区) and PV income."""
        lv = self.levers
        adopt = np.where(self.gaoyao, lv.pv_adopt_gaoyao, lv.pv_adopt)
        subsidy, _ = pv.pv_year(self.villages, adopt=adopt, subsidy=lv.pv_subsidy, p=self.mp.pv,
                                rng=self.streams["pv"])
        self._spent["pv"] += subsidy

    def fund_assistance(self) -> None:
        """Paired-assistance projects (running since 2021: 2023 practice in 2023)."""
        lv = self.levers
        self._spent["assistance"] += assistance.assistance_year(
            self.villages, self.projects, fund=lv.assist_fund * self.scale,
            targeting=lv.assist_targeting,
            year=self.year, p=self.mp.assistance, rng=self.streams["assistance"])

    def close_accounts(self) -> None:
        """Own business, fiscal support, funds, investment and depreciation."""
        v, p, s = self.villages, self.p, self.policy.support
        rng = self.streams["own"]
        v.own_base = v.own_base * (1.0 + p.own_income_growth)
        shock = np.exp(p.income_shock_sigma * rng.standard_normal(v.n)
                       - p.income_shock_sigma ** 2 / 2)
        v.income["own"] += v.own_base * shock * (1.0 + v.talent)
        if self.levers.support:
            # budgeted on last year's recurring income less the streams the town knows have
            # ended this year: dividends of companies wound up (it is a party to them) and rents
            # of leases that found no new tenant on its platform
            expected = (v.prev_operating - _or_zero(self._company_year.lost_dividends)
                        - _or_zero(self._platform.lost_rent))
            v.support = assistance.support_transfer(expected, s.threshold, s.gap_share)
        self._spent["support"] += float(v.support.sum())
        operating = v.operating_income()
        v.funds += p.retained_share * (operating + v.support)
        invest = p.reinvest_share * np.maximum(v.funds, 0.0)
        v.funds -= invest
        v.fixed_assets += invest - p.depreciation * self._fixed_assets_start
        # weak or not is judged on recurring income: a one-off recovery of arrears does not count
        v.prev_operating = operating - v.income["arrears"]

    def pay_for_levers(self) -> None:
        """Book the public cost of the platform, campaigns, land works and people (costs.py).

        Accounting only: the year's quantities are read off the levers and the land stocks,
        priced with data/lever_costs.csv and added to the year's public spending by item.
        """
        v, (fragmented, soe_land) = self.villages, self._land_start
        works = costs.Works(consolidated_mu=fragmented - float(v.fragmented.sum()),
                            soe_taken_mu=float(v.soe_land.sum()) - soe_land)
        bought = costs.quantities(self.levers, self.cfg, v.n, works)
        self._spent.update(costs.bill(bought, self.unit_costs))

    # ---------------------------------------------------------------- reporting
    def _form(self, hazards: tuple[float, float, float], seed_capital: float) -> float:
        before = self.companies.k
        spent = companies.form_companies(
            self.companies, self.villages, hazards=hazards, year=self.year,
            seed_capital=seed_capital, p=self.mp.companies, rng=self.streams["companies"])
        self._add_company_agents(before)
        return spent

    def _add_company_agents(self, before: int) -> None:
        self.company_agents += [StrongVillageCompany(self, r)
                                for r in range(before, self.companies.k)]

    def _remove_company_agents(self, failed: np.ndarray) -> None:
        """A failed company leaves the set of agents (its row stays in the table, not alive)."""
        gone = set(failed.tolist())
        for agent in [a for a in self.company_agents if a.row in gone]:
            agent.remove()
        self.company_agents = [a for a in self.company_agents if a.row not in gone]

    def _form_initial_companies(self) -> None:
        """Companies that existed before 2023 (``companies_initial``, an assumption).

        Split by kind as the 2024 stock is (88 of 117 village-level; the other 29 evenly between
        village-village and town-village unions, which the article does not split), founded
        among the candidates of 2023.
        """
        total = self.p.companies_initial * self.scale
        if total == 0:
            return
        shares = np.array([88.0, 14.5, 14.5]) / 117.0
        counts = self.streams["companies"].multinomial(total, shares)
        before = self.companies.k
        companies.form_stock(self.companies, self.villages,
                             counts=tuple(int(c) for c in counts), year=self.cfg.years.base - 1,
                             seed_capital=self.p.seed_capital_2023, p=self.mp.companies,
                             rng=self.streams["companies"])
        self._add_company_agents(before)

    def _fund_initial_projects(self) -> None:
        """Assistance projects of 2021 and 2022: the programme's stock at the start of 2023.

        Funded at ``assist_fund_2021`` a year, aimed at weak villages as in 2023; their value is
        already in the villages' 2023 fixed assets (drawn from the priors), so it is not booked
        again. They pay their return from the year they are funded: the next year's targeting
        and the 2022 income that the 2023 accounts start from (``prev_operating``) include it,
        so the programme does not fund the same villages every year.
        """
        v = self.villages
        for year in (self.cfg.years.base - 2, self.cfg.years.base - 1):
            before = len(self.projects.value)
            assistance.fund_projects(
                self.projects, v, fund=self.p.assist_fund_2021 * self.scale,
                targeting="weak", year=year, p=self.mp.assistance,
                rng=self.streams["assistance"])
            earning = (self.projects.value * self.projects.rate)[before:]
            v.prev_operating = v.prev_operating + np.bincount(
                self.projects.village[before:], weights=earning, minlength=v.n)

    def collect(self) -> None:
        """Record the year's metrics and, if wanted, the village panel."""
        v, c, pl = self.villages, self.contracts, self._platform
        operating, total = v.operating_income(), v.total_income()
        recurring = v.recurring_operating_income()
        row = {"year": self.year, **metrics.income_metrics(operating, total),
               **metrics.weak_village_metrics(operating, recurring, v.support, v.weak)}
        for part, values in v.income.items():
            row[f"mean_{part}_income"] = float(values.mean())
        row.update({
            "mean_support": float(v.support.mean()),
            "fixed_assets": float(v.fixed_assets.sum()),
            "platform_volume": pl.volume,
            "platform_deals": pl.deals,
            "premium_rate": metrics.premium_rate(pl.premium_num, pl.premium_den),
            "contracts_managed": three_assets.contracts_managed(c),
            "irregular_contracts": int(c.irregular().sum()),
            "contracts_put_right": pl.detected,
            "assets_found": pl.found_assets,
            "petitions": pl.petitions,
            "land_transferred": float(v.new_transfer.sum()),
            "land_transferred_stock": float(v.transferred.sum()),
            "huaiji_soe_land": float(v.soe_land.sum()),
            "pv_kw": float(v.pv_kw.sum()),
            **companies.counts(self.companies),
            "companies_failed": len(self._company_year.failed),
            "company_capital_lost": self._company_year.capital_lost,
            "company_business": float(self.companies.business.sum()),
            "dividends_paid": float(self.companies.dividends.sum()),
            "assistance_projects_running": int(
                self.projects.running(self.year, self.p.assist_term).sum()),
            "public_spending": float(sum(self._spent.values())),
            **{f"public_{k}": val for k, val in self._spent.items()},
        })
        self.records.append(row)
        self._mesa_collect(row)
        if self.cfg.output.villages:
            self.panel[self.year] = {
                "operating_income": operating, "recurring_operating_income": recurring,
                "total_income": total,
                "support": v.support.copy(),
                **{k: a.copy() for k, a in v.income.items()},
                "fixed_assets": v.fixed_assets.copy(), "capacity": v.capacity.copy(),
                "transferred": v.transferred.copy(), "pv_kw": v.pv_kw.copy(),
                "company_joined": companies.first_joined(self.companies, v.n),
                "weak": v.weak.copy()}

    def _mesa_collect(self, row: dict) -> None:
        """Feed Mesa's DataCollector: every yearly metric, and agents' reporters if asked."""
        if not hasattr(self, "_collect_agents"):
            return  # the benchmark's array kernel: no Mesa
        if self.datacollector is None:
            agents = {Village: dict(VILLAGE_REPORTERS),
                      StrongVillageCompany: dict(COMPANY_REPORTERS)}
            self.datacollector = mesa.DataCollector(
                model_reporters={name: partial(latest, name=name) for name in row},
                agenttype_reporters=agents if self._collect_agents else None)
        self.datacollector.collect(self)

    def timeseries(self) -> pd.DataFrame:
        """One row per simulated year."""
        return pd.DataFrame.from_records(self.records)

    def village_panel(self) -> pd.DataFrame:
        """One row per village and year (empty when output.villages is off)."""
        if not self.panel:
            return pd.DataFrame()
        t = self.population.table
        frames = []
        for year, cols in self.panel.items():
            frame = pd.DataFrame({"year": year, "code": t["code"], "county": t["county"],
                                  "town": t["town_name"], **cols})
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

"""The outcome registry: every output of a run declared once, with its label, unit and kind.

A run writes three things (:mod:`zq_sim.run`): ``timeseries.parquet`` (one row per replicate
and year), ``villages.parquet`` (one row per village, replicate and year) and ``summary.json``.
Each of their columns and keys is an :class:`Output` here: its name, an English and a Chinese
label, the unit it is stored in, the factor it is shown with (1e4 for 万元, 1e8 for 亿元, 0.01
for a percentage) and its kind. The figures, the report, the dashboard and the command line's
tables take their labels and units from here, and docs/outputs.md is generated from it::

    python -m zq_sim.outputs            # print docs/outputs.md
    python -m zq_sim.outputs --write    # rewrite docs/outputs.md (in a checkout)

Two families are open: ``mean_<part>_income`` and ``public_<item>`` (more public items come as
levers get costs). A member the registry does not name gets a label built from its name.

The income thresholds of the weak-village measures (:data:`FLOOR`, :data:`HIGHER`) are here
too, so that the model's reporters and the figures count against the same lines.

This module imports nothing of the model: the plotting and reporting modules read it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

#: The city's 2024 floor for a village's collective income (yuan a year; 所有村集体收入均超15万元).
FLOOR = 150_000.0
#: The next step above the floor (yuan a year).
HIGHER = 200_000.0
#: 10,000 yuan (万元) and 100 million yuan (亿元).
WAN, YI = 1.0e4, 1.0e8

#: The tables a run writes.
TABLES = ("timeseries", "villages", "summary")
#: Each table's file.
FILES = {"timeseries": "timeseries.parquet", "villages": "villages.parquet",
         "summary": "summary.json"}

#: Display units in English (with pinyin) and Chinese.
UNITS: dict[str, tuple[str, str]] = {
    "wan": ("10k yuan (wan yuan)", "万元"),
    "yi": ("100M yuan (yi yuan)", "亿元"),
    "wan_per_village": ("10k yuan (wan yuan) per village", "万元/村"),
    "pct": ("% of villages", "% 村"),
    "pp": ("percentage points", "百分点"),
    "percent": ("%", "%"),
    "villages": ("villages", "个村"),
    "number": ("number", "个"),
    "mu": ("mu", "亩"),
    "kw": ("kW", "千瓦"),
    "ratio": ("yuan per yuan", "元/元"),
}


@dataclass(frozen=True)
class Kind:
    """How outputs of one kind are stored and shown.

    Attributes:
        meaning: what the kind is.
        unit: the stored unit (an output of kind "count" names its own).
        factor: shown value = stored value / factor; None: 万元 or 亿元, whichever fits the
            values (:func:`zq_sim.style.money_scale`).
        shown: key of :data:`UNITS` for the shown unit ("" for none, or the output's own).

    """

    meaning: str
    unit: str
    factor: float | None
    shown: str


#: The kinds of output. Flows of money (incomes, spending) are per year.
KINDS: dict[str, Kind] = {
    "income": Kind("yuan a year per village: one village's, or a statistic over villages",
                   "yuan per village", WAN, "wan_per_village"),
    "money": Kind("yuan: a sum over the city (a flow per year, or a stock), or one village's "
                  "stock", "yuan", None, ""),
    "share": Kind("fraction of villages", "fraction of villages", 0.01, "pct"),
    "rate": Kind("a fraction (growth, premium)", "fraction", 0.01, "percent"),
    "count": Kind("a number of things (the unit names them)", "", 1.0, ""),
    "area": Kind("land", "mu", 1.0, "mu"),
    "power": Kind("installed capacity", "kW", 1.0, "kw"),
    "index": Kind("a number without unit", "", 1.0, ""),
    "year": Kind("a calendar year", "year", 1.0, ""),
    "flag": Kind("true or false", "", 1.0, ""),
    "id": Kind("identifies the row", "", 1.0, ""),
    "meta": Kind("describes the run", "", 1.0, ""),
}


@dataclass(frozen=True)
class Output:
    """One column of a table, or one key of summary.json.

    Attributes:
        name: the column or key (summary.json keys as dotted paths, ``years.<year>.X`` for a
            chosen year); a name with ``<part>`` or ``<item>`` is an open family.
        label: English label (figure titles, axes, tables).
        label_zh: Chinese label.
        kind: a key of :data:`KINDS`.
        doc: what it is and how it is measured.
        unit: stored unit; the kind's when empty (counts name what they count).
        unit_zh: Chinese unit of a count (its measure word), shown on Chinese axes.
        short: a short English header for tables (the label when empty).
        table: "timeseries", "villages" or "summary".
        read: for a target of summary.json: (timeseries column, "level" or "growth").
        when: the setting under which it is written (empty: always).

    """

    name: str
    label: str
    label_zh: str
    kind: str
    doc: str = ""
    unit: str = ""
    unit_zh: str = ""
    short: str = ""
    table: str = "timeseries"
    read: tuple[str, str] | None = None
    when: str = ""

    @property
    def stored_unit(self) -> str:
        """The unit the value is stored in."""
        return self.unit or KINDS[self.kind].unit

    @property
    def factor(self) -> float | None:
        """Shown value = stored value / factor (None: 万元 or 亿元, whichever fits)."""
        return KINDS[self.kind].factor

    def shown_unit(self, lang: str = "en") -> str:
        """The unit the value is shown in ("" for none; money: see :attr:`factor`)."""
        key = KINDS[self.kind].shown
        if key:
            return UNITS[key][1 if lang == "zh" else 0]
        if self.kind == "count":
            return (self.unit_zh or "个") if lang == "zh" else (self.unit or "number")
        return ""

    @property
    def header(self) -> str:
        """A short English header for tables."""
        return self.short or self.label

    @property
    def family(self) -> bool:
        """Whether this is an open family of names (``public_<item>``, ``mean_<part>_income``)."""
        return "<part>" in self.name or "<item>" in self.name


# ------------------------------------------------------------------------------------------
# Families: the parts of income and the items of public spending
# ------------------------------------------------------------------------------------------
#: The parts of a village's operating income (state.INCOME_PARTS, in that order): noun phrases
#: in English and Chinese.
INCOME_PARTS: dict[str, tuple[str, str]] = {
    "lease": ("leases of assets and resources", "资产资源租赁"),
    "arrears": ("arrears recovered (one-off)", "清收欠款（一次性）"),
    "land": ("land transfer fees", "土地流转服务费"),
    "dividends": ("company dividends", "强村公司分红"),
    "pv": ("PV (solar) income", "光伏收益"),
    "assistance": ("assistance projects", "帮扶项目"),
    "own": ("own businesses and services", "自营及服务"),
}
_PART_DOCS = {
    "lease": "rents of leased collective assets and resources (三资), on the platform or off it",
    "arrears": "unpaid rent recovered when the clean-up puts a contract right (a one-off)",
    "land": "service fees on land transferred through the collective, and the Huaiji SOE's fee",
    "dividends": "dividends of the strong-village companies the village belongs to",
    "pv": "income of the village's rooftop PV",
    "assistance": "returns of paired-assistance projects within their term",
    "own": "income of the collective's own businesses and services",
}
#: The items of public spending (``public_<item>``): noun phrases in English and Chinese.
PUBLIC_ITEMS: dict[str, tuple[str, str]] = {
    "companies": ("start-up capital of companies", "强村公司启动资金"),
    "town_works": ("towns' public works let to companies", "镇级工程交由强村公司承接"),
    "pv": ("PV subsidy", "光伏补贴"),
    "assistance": ("assistance projects", "帮扶项目"),
    "support": ("fiscal support to weak villages", "薄弱村财政补助"),
    # the levers' own costs (data/lever_costs.csv; src/zq_sim/costs.py)
    "platform": ("three-assets platform service", "三资交易平台服务"),
    "publicity": ("tender publicity and online bidding", "招标宣传与网上竞价"),
    "cleanup": ("contract clean-up campaign", "合同清理整治"),
    "inventory": ("asset inventory campaign", "资产清查"),
    "consolidation": ("land consolidation works", "土地整治工程"),
    "soe": ("Huaiji state-enterprise land model", "怀集国企土地流转模式"),
    "officials": ("young civil servants in towns", "驻镇年轻公务员"),
    "instructors": ("village instructors", "驻村指导员"),
    "managers": ("rural professional managers", "乡村职业经理人"),
}
_ITEM_DOCS = {
    "companies": "start-up capital of the companies founded this year (those of before 2023 not "
                 "counted)",
    "town_works": "the towns' small public works let to town-village union companies",
    "pv": "the public share of the PV investment of the year",
    "assistance": "assistance projects financed this year (the 2021-2022 stock not counted)",
    "support": "fiscal support transfers to weak villages",
    "platform": "the platform's service to the villages it covers (unit cost x villages x "
                "coverage; data/lever_costs.csv)",
    "publicity": "publicity and online bidding that bring bidders (unit cost x villages x "
                 "coverage x bidder reach)",
    "cleanup": "the contract clean-up campaign (unit cost x villages x intensity)",
    "inventory": "the asset inventory campaign (unit cost x villages x intensity)",
    "consolidation": "works on the fragmented farmland consolidated this year (per mu)",
    "soe": "public capital the Huaiji state enterprise puts into land it newly takes (per mu)",
    "officials": "employment cost of the young civil servants serving in towns",
    "instructors": "employment cost of the officials serving as village instructors",
    "managers": "pay of the rural professional managers",
}


def part_label(part: str) -> tuple[str, str]:
    """An income part's noun phrase (English, Chinese); an unknown part's from its name."""
    return INCOME_PARTS.get(part, (part.replace("_", " "), part))


def item_label(item: str) -> tuple[str, str]:
    """A public item's noun phrase (English, Chinese); an unknown item's from its name."""
    return PUBLIC_ITEMS.get(item, (item.replace("_", " "), item))


def capitalised(text: str) -> str:
    """A label with its first letter in upper case (for a legend entry)."""
    return text[:1].upper() + text[1:]


def _parts(name: str, label: tuple[str, str], kind: str, doc: str, table: str,
           ) -> list[Output]:
    """One output per income part: name, label and doc with ``{}`` for the part."""
    return [Output(name.format(p), label[0].format(en), label[1].format(zh), kind,
                   doc.format(_PART_DOCS[p]), table=table)
            for p, (en, zh) in INCOME_PARTS.items()]


# ------------------------------------------------------------------------------------------
# The time series (timeseries.parquet; model.collect and run.run_replicate)
# ------------------------------------------------------------------------------------------
_ID = [
    Output("scenario", "Scenario", "情景", "id",
           "the scenario's name (`scenario` of conf/scenario/NAME.yaml; baseline by default)"),
    Output("seed", "Replicate seed", "重复种子", "id",
           "the replicate's seed, spawned from the root `seed` (numpy SeedSequence)"),
    Output("year", "Year", "年份", "year",
           "the simulated year: 2023 (the base year, under 2023 practice) to `years.end`"),
    Output("parameter_set", "Parameter set", "参数组", "id",
           "the set of the parameter ensemble the replicate ran (row `set` of "
           "experiments/calibration/ensemble/ensemble.csv); replicates come in groups of "
           "`parameter_sets.replicates_per_set` on one set", when="uncertainty=parameters"),
]

TIMESERIES: tuple[Output, ...] = (
    *_ID,
    Output("mean_operating_income", "Mean operating income per village", "村均经营性收入",
           "income", "mean over villages of operating income (经营性收入, own income): the sum "
           "of the income parts, before fiscal support", short="mean own income"),
    Output("median_operating_income", "Median operating income per village", "经营性收入中位数",
           "income", "median over villages of operating income"),
    Output("p10_operating_income", "Bottom-decile village's own (operating) income",
           "末10%分位村自身经营性收入", "income",
           "10th percentile over villages of operating income: the weak villages' own income",
           short="bottom-decile own income"),
    Output("p90_operating_income", "Top-decile village's operating income",
           "前10%分位村经营性收入", "income", "90th percentile over villages of operating income"),
    Output("min_operating_income", "Lowest village's operating income", "最低村经营性收入",
           "income", "the lowest village's operating income"),
    Output("mean_total_income", "Mean total income per village (incl. fiscal support)",
           "村均总收入（含财政补助）", "income",
           "mean over villages of total income: operating income plus fiscal support"),
    Output("min_total_income", "Lowest village's total income (incl. fiscal support)",
           "最低村总收入（含财政补助）", "income",
           "the lowest village's total income: the floor holds when it is at least 150k"),
    Output("p10_total_income", "Bottom-decile village's total income (incl. fiscal support)",
           "末10%分位村总收入（含财政补助）", "income",
           "10th percentile over villages of total income"),
    Output("share_below_150k", "Villages with total income (incl. support) below 150k yuan",
           "总收入（含补助）低于15万元的村", "share",
           "share of villages whose total income is strictly below 150k yuan"),
    Output("share_below_200k", "Villages with total income (incl. support) below 200k yuan",
           "总收入（含补助）低于20万元的村", "share",
           "share of villages whose total income is strictly below 200k yuan"),
    Output("gini", "Gini coefficient of operating income", "经营性收入基尼系数", "index",
           "Gini coefficient of operating income over villages (0 equal, 1 one holds all)"),
    Output("total_operating_income", "Operating income of all villages", "全市村集体经营性收入",
           "money", "sum over villages of operating income"),
    Output("total_income", "Total income of all villages", "全市村集体总收入", "money",
           "sum over villages of total income"),
    Output("mean_recurring_operating_income",
           "Mean recurring operating income (without arrears)", "村均经常性经营收入（不含清欠）",
           "income", "mean over villages of operating income less the one-off recovery of "
           "arrears"),
    Output("p10_recurring_operating_income",
           "Bottom-decile village's recurring operating income (without arrears)",
           "末10%分位村经常性经营收入（不含清欠）", "income",
           "10th percentile over villages of recurring operating income"),
    Output("share_own_below_150k", "Villages with own income below 150k yuan (before support)",
           "自身经营性收入低于15万元的村（补助前）", "share",
           "share of villages whose operating (own) income, before support, is strictly below "
           "150k yuan", short="own <150k"),
    Output("share_own_below_200k", "Villages with own income below 200k yuan (before support)",
           "自身经营性收入低于20万元的村（补助前）", "share",
           "share of villages whose operating (own) income, before support, is strictly below "
           "200k yuan", short="own <200k"),
    Output("villages_supported", "Villages receiving fiscal support", "获财政补助的村", "count",
           "villages paid fiscal support this year", unit="villages", unit_zh="个村",
           short="on support"),
    Output("weak_listed", "Villages on the weak-village list", "薄弱村名单内的村", "count",
           "villages on the list of weak villages (reviewed every few years)", unit="villages",
           unit_zh="个村"),
    *_parts("mean_{}_income", ("Mean income from {}", "村均{}收入"), "income",
            "mean over villages of {}", "timeseries"),
    Output("mean_<part>_income", "Mean income from {}", "村均{}收入", "income",
           "mean over villages of another part of operating income (one the registry does "
           "not name yet)"),
    Output("mean_support", "Mean fiscal support per village", "村均财政补助", "income",
           "mean over villages of fiscal support received (not operating income)"),
    Output("fixed_assets", "Fixed assets of all villages", "全市村集体固定资产", "money",
           "sum over villages of recorded fixed assets at the end of the year (a stock)"),
    Output("platform_volume", "Value of the year's platform deals", "平台年度成交额", "money",
           "sum of price x term over the year's lets on the three-assets platform (交易额)"),
    Output("platform_deals", "Deals on the three-assets platform", "平台交易宗数", "count",
           "number of the year's lets on the platform (交易量, a calibration target)",
           unit="deals", unit_zh="宗"),
    Output("premium_rate", "Platform premium over the reserve price", "平台交易溢价率", "rate",
           "sum of (price - reserve) over the sum of reserves, over the year's platform lets "
           "(0 with no deals)"),
    Output("contracts_managed", "Contracts under management", "在管合同", "count",
           "contracts let and registered at the end of the year", unit="contracts",
           unit_zh="份"),
    Output("irregular_contracts", "Irregular contracts", "不规范合同", "count",
           "contracts still irregular (under-priced, unregistered or in arrears) at the end of "
           "the year", unit="contracts", unit_zh="份"),
    Output("contracts_put_right", "Contracts put right this year", "当年清理规范的合同",
           "count", "irregular contracts found and put right by the clean-up this year",
           unit="contracts", unit_zh="份"),
    Output("assets_found", "Assets found by the inventory this year", "当年清查新发现的资产",
           "count", "unrecorded assets found by the inventory this year", unit="assets",
           unit_zh="项"),
    Output("petitions", "Petitions about collective assets", "集体资产相关信访", "count",
           "the year's petitions about collective assets", unit="petitions", unit_zh="件"),
    Output("land_transferred", "Farmland newly transferred this year", "当年新流转耕地",
           "area", "land newly transferred through the collectives this year (SOE land apart)"),
    Output("land_transferred_stock", "Farmland transferred", "累计流转土地", "area",
           "land transferred through the collectives, end of the year (a stock)"),
    Output("huaiji_soe_land", "Land taken by the Huaiji SOE", "怀集国企流转土地", "area",
           "land taken by Huaiji's state-owned enterprise, end of the year (a stock)"),
    Output("pv_kw", "Rooftop PV installed", "已装光伏容量", "power",
           "village rooftop PV installed, end of the year"),
    Output("companies", "Strong-village companies", "强村公司", "count",
           "live strong-village companies, end of the year", unit="companies", unit_zh="家"),
    Output("companies_village", "Village-level companies", "村级强村公司", "count",
           "live village-level companies", unit="companies", unit_zh="家"),
    Output("companies_village_union", "Village-village union companies", "村村联合强村公司",
           "count", "live companies of several villages", unit="companies", unit_zh="家"),
    Output("companies_town_union", "Town-village union companies", "镇村联合强村公司", "count",
           "live companies of a town and its villages", unit="companies", unit_zh="家"),
    Output("companies_failed", "Companies failed this year", "当年倒闭的强村公司", "count",
           "companies that failed this year", unit="companies", unit_zh="家"),
    Output("company_capital_lost", "Capital lost in failed companies", "倒闭公司损失的资本",
           "money", "the half of the failed companies' capital that is lost"),
    Output("company_business", "Companies' market business", "强村公司市场经营额", "money",
           "market business this year of the companies alive at its start, those that failed "
           "in it included (public works apart)"),
    Output("dividends_paid", "Dividends paid by companies", "强村公司分红", "money",
           "sum of the companies' dividend pools this year"),
    Output("assistance_projects_running", "Assistance projects running", "在期帮扶项目",
           "count", "paired-assistance projects within their term this year", unit="projects",
           unit_zh="个"),
    Output("public_spending", "Public money spent on the policy levers", "政策财政投入",
           "money", "public money this year: the sum of the public_<item> columns",
           short="public money"),
    Output("public_support", "Fiscal support paid to weak villages", "薄弱村财政补助支出",
           "money", "public money: " + _ITEM_DOCS["support"], short="support cost"),
    *[Output(f"public_{i}", f"Public money: {en}", f"财政投入：{zh}", "money",
             f"public money: {_ITEM_DOCS[i]}")
      for i, (en, zh) in PUBLIC_ITEMS.items() if i != "support"],
    Output("public_<item>", "Public money: {}", "财政投入：{}", "money",
           "public money for another item (one the registry does not name yet)"),
    Output("three_assets_added_income", "Added income of the three-assets reform",
           "三资改革增收", "money",
           "operating income of all villages less that of the same replicate run without the "
           "three-assets reform (0 when the reform is off; empty when output.counterfactual "
           "is off)"),
)

# ------------------------------------------------------------------------------------------
# The village panel (villages.parquet; model.PANEL)
# ------------------------------------------------------------------------------------------
VILLAGES: tuple[Output, ...] = tuple(replace(o, table="villages") for o in (
    *_ID,
    Output("code", "Village code", "村代码", "id",
           "the village committee's 12-digit statistical code (NBS 2023)"),
    Output("county", "County", "县（市、区）", "id", "the village's county-level unit"),
    Output("town", "Town", "镇（街道）", "id", "the village's town or sub-district"),
    Output("operating_income", "Operating income", "经营性收入", "income",
           "the village's operating (own) income: the sum of its income parts"),
    Output("recurring_operating_income", "Recurring operating income (without arrears)",
           "经常性经营收入（不含清欠）", "income",
           "operating income less the one-off recovery of arrears"),
    Output("total_income", "Total income (incl. fiscal support)", "总收入（含财政补助）",
           "income", "operating income plus fiscal support"),
    Output("support", "Fiscal support received", "获得的财政补助", "income",
           "fiscal support paid to the village this year"),
    *_parts("{}", ("Income: {}", "收入：{}"), "income", "{}", "villages"),
    Output("fixed_assets", "Fixed assets", "固定资产", "money",
           "the village's recorded fixed assets at the end of the year"),
    Output("capacity", "Governance capacity", "治理能力", "index",
           "governance capacity this year, 0 to 1 (talent serving included)"),
    Output("transferred", "Land transferred through the collective", "经集体流转的土地",
           "area", "the village's land transferred through the collective (a stock)"),
    Output("pv_kw", "Rooftop PV installed", "已装光伏容量", "power",
           "the village's rooftop PV installed"),
    Output("company_joined", "Year it first joined a company", "首次加入强村公司的年份",
           "year", "the year the village first joined a strong-village company (0: never)"),
    Output("weak", "On the weak-village list", "列入薄弱村名单", "flag",
           "whether the village is on the list of weak villages"),
))

# ------------------------------------------------------------------------------------------
# summary.json (run.summarise)
# ------------------------------------------------------------------------------------------
#: Time-series metrics reported for the last simulated year (summary.json ``horizon``).
HORIZON = (
    "mean_operating_income", "mean_recurring_operating_income", "mean_arrears_income",
    "median_operating_income", "min_total_income", "share_below_150k", "share_below_200k",
    # weak villages on their own income (operating income, before support)
    "share_own_below_150k", "share_own_below_200k", "p10_operating_income",
    "min_operating_income", "villages_supported", "public_support", "weak_listed",
    "gini", "total_operating_income", "public_spending", "mean_total_income",
    "companies", "land_transferred_stock", "fixed_assets",
)
#: Time-series metrics shown for chosen years (summary.json ``years``): income with its one-off
#: part apart, and the weak villages on their own income.
PATHS = (
    "mean_operating_income", "mean_recurring_operating_income", "mean_arrears_income",
    "p10_operating_income", "share_own_below_150k", "share_own_below_200k", "villages_supported",
    "public_support", "public_spending",
)
#: Years besides the calibration year and the last year shown in summary.json ``years``.
MILESTONES = (2025, 2027, 2030)
_STATS = "{mean, p05, p95, min, max} over replicates"


def _target(name: str, read: tuple[str, str], label: str, label_zh: str, kind: str,
            doc: str, **kw) -> Output:
    how = ("the calibration year's value of" if read[1] == "level"
           else "growth over the year before (calibration year / year before - 1) of")
    return Output(f"targets.{name}", label, label_zh, kind,
                  f"{how} `{read[0]}` ({doc}), {_STATS}", table="summary", read=read, **kw)


_TARGETS = (
    _target("mean_operating_income", ("mean_operating_income", "level"),
            "Mean operating income per village", "村均经营性收入", "income",
            "reported: 带动全市村集体经营性收入平均达50万元"),
    _target("min_total_income", ("min_total_income", "level"),
            "Lowest village's total income (the floor)", "最低村总收入（底线）", "income",
            "reported: 所有村集体收入均超15万元"),
    _target("fixed_assets_growth", ("fixed_assets", "growth"), "Growth of fixed assets",
            "农村集体固定资产增长", "rate", "reported: 核定农村集体固定资产增长19.6%"),
    _target("platform_volume_growth", ("platform_deals", "growth"),
            "Growth of the platform's deals (交易量)", "平台交易量增长", "rate",
            "reported: 平台交易量增长34.6% (交易量 read as the number of deals)"),
    _target("contracts_growth", ("contracts_managed", "growth"),
            "Growth of contracts under management", "在管合同增长", "rate",
            "reported: 在管合同增长16.1%"),
    _target("premium_rate", ("premium_rate", "level"), "Platform premium rate", "交易溢价率",
            "rate", "reported: 交易溢价率16.4%"),
    _target("three_assets_added_income", ("three_assets_added_income", "level"),
            "Added income of the three-assets reform", "三资改革增收", "money",
            "reported: 为村集体增收约2.5亿元"),
    _target("petitions_change", ("petitions", "growth"), "Change in petitions",
            "相关信访数量变化", "rate", "reported: 相关信访数量下降20%"),
    _target("strong_village_companies", ("companies", "level"), "Strong-village companies",
            "强村公司", "count", "reported: 全市有117家强村公司", unit="companies",
            unit_zh="家"),
    _target("village_level_companies", ("companies_village", "level"),
            "Village-level companies", "村级强村公司", "count", "reported: 其中村级强村公司88家",
            unit="companies", unit_zh="家"),
    _target("farmland_transferred_mu", ("land_transferred", "level"), "Farmland transferred",
            "流转耕地", "area", "reported: 全市共流转耕地4513亩"),
    _target("huaiji_soe_transferred_mu", ("huaiji_soe_land", "level"),
            "Land transferred to the Huaiji SOE", "怀集国企流转土地", "area",
            "reported for Huaiji's state-owned enterprise"),
)
#: How each target of data/targets.yaml is read off the time series: (column, "level" or
#: "growth"), where "level" is the calibration year's value and "growth" the change over the
#: year before.
TARGETS: dict[str, tuple[str, str]] = {o.name.removeprefix("targets."): o.read
                                       for o in _TARGETS}


def _of_column(prefix: str, column: str, doc: str) -> Output:
    o = _find(column, TIMESERIES)
    return Output(f"{prefix}.{column}", o.label, o.label_zh, o.kind, doc, o.unit, o.unit_zh,
                  o.short, "summary")


def _find(name: str, entries: Iterable[Output]) -> Output:
    return next(o for o in entries if o.name == name)


SUMMARY: tuple[Output, ...] = (
    Output("scenario", "Scenario", "情景", "id", "the scenario's name", table="summary"),
    Output("seeds", "Replicate seeds", "重复种子", "id",
           "the replicates' seeds, spawned from the root `seed`, in the order run",
           table="summary"),
    Output("calibrated", "Calibrated parameters", "是否校准参数", "flag",
           "true when the run used conf/model/calibrated.yaml, false on the priors",
           table="summary"),
    Output("data", "Input data", "输入数据", "meta",
           "the data used: `dir` (folder), `sha256` (of its files together) and `files` "
           "(name: SHA-256)", table="summary"),
    Output("calibration_year", "Calibration year", "校准年份", "year",
           "the year the targets are read in (`years.calibration`)", table="summary"),
    Output("horizon_year", "Horizon year", "展望年份", "year",
           "the last simulated year (`years.end`)", table="summary"),
    *_TARGETS,
    *[_of_column("horizon", m, f"the last year's `{m}`, {_STATS}") for m in HORIZON],
    *[_of_column("years.<year>", m, f"`{m}` in a chosen year, {_STATS}") for m in PATHS],
    Output("uncertainty", "What the intervals cover", "区间涵盖的不确定性", "meta",
           "`source` (replicates, or parameters), a `note` saying what the intervals over "
           "replicates cover; under `uncertainty=parameters` also the ensemble's folder, "
           "`sets_drawn`, `replicates_per_set` and `variance`: for mean and bottom-decile "
           "operating income, the share below 200k own income and public spending in each "
           "reported year, the variance over replicates split into `replicate_noise` (within "
           "a set), `parameters` (between sets) and `parameter_share`", table="summary"),
    Output("config", "Resolved configuration", "完整配置", "meta",
           "every setting of the run, resolved (as in .hydra/config.yaml)", table="summary"),
)

REGISTRY: dict[str, tuple[Output, ...]] = {"timeseries": TIMESERIES, "villages": VILLAGES,
                                           "summary": SUMMARY}


# ------------------------------------------------------------------------------------------
# Lookup
# ------------------------------------------------------------------------------------------
def _pattern(name: str) -> re.Pattern:
    """The regular expression of a family's names (``<part>``, ``<item>``: one word)."""
    return re.compile(re.escape(name).replace("<part>", r"(\w+)").replace("<item>", r"(\w+)")
                      + r"\Z")


@lru_cache(maxsize=2048)
def lookup(name: str, table: str = "timeseries") -> Output | None:
    """The declared output of a column (or summary key), or None if the registry lacks it.

    A member of an open family (``public_<item>``, ``mean_<part>_income``) gets the family's
    entry with its label filled in from the member's name.
    """
    if table not in REGISTRY:
        raise ValueError(f"table = {table!r}; choose one of: {', '.join(TABLES)}")
    entries = REGISTRY[table]
    for o in entries:
        if o.name == name:
            return o
    for o in entries:
        if o.family and (m := _pattern(o.name).match(name)):
            member = m.group(1)
            en, zh = item_label(member) if o.name.startswith("public_") else part_label(member)
            return replace(o, name=name, label=o.label.format(en), label_zh=o.label_zh.format(zh))
    return None


def describe(name: str, table: str = "timeseries") -> Output:
    """As :func:`lookup`, but an undeclared name gets a plain entry (its name as label)."""
    return lookup(name, table) or Output(name, name.replace("_", " "), name, "index",
                                         table=table)


def label(name: str, lang: str = "en", table: str = "timeseries") -> str:
    """A column's label in English ("en", also for "pinyin") or Chinese ("zh")."""
    o = describe(name, table)
    return o.label_zh if lang == "zh" else o.label


def income_part(column: str) -> str | None:
    """The part of income a ``mean_<part>_income`` column reports (None for another column).

    ``mean_operating_income`` and the like are declared apart: they are not parts.
    """
    m = re.fullmatch(r"mean_(\w+)_income", column)
    if m is None:
        return None
    part = m.group(1)
    if part in INCOME_PARTS or not any(o.name == column for o in TIMESERIES):
        return part
    return None


def summary_keys(summary: Mapping) -> list[str]:
    """The keys of a summary.json as the registry names them (``years.<year>.X`` for years)."""
    keys = []
    for key, value in summary.items():
        if key in ("targets", "horizon") and isinstance(value, Mapping):
            keys += [f"{key}.{k}" for k in value]
        elif key == "years" and isinstance(value, Mapping):
            keys += [f"years.<year>.{k}" for year in value.values() for k in year]
        else:
            keys.append(key)
    return list(dict.fromkeys(keys))


def undeclared(columns: Iterable[str], table: str) -> list[str]:
    """Columns (or summary keys) the registry does not declare."""
    return [c for c in columns if lookup(c, table) is None]


def unused(columns: Iterable[str], table: str) -> list[str]:
    """Declared outputs that none of ``columns`` is (a family: that no column belongs to)."""
    columns = list(columns)
    out = []
    for o in REGISTRY[table]:
        if o.family or o.when:
            # an output written only under a setting is not stale in a run without it; a
            # family stays declared while any column not named exactly belongs to it: an
            # open family with no unnamed member yet is kept (its members are declared)
            continue
        if o.name not in columns:
            out.append(o.name)
    return out


# ------------------------------------------------------------------------------------------
# docs/outputs.md
# ------------------------------------------------------------------------------------------
def _unit_text(o: Output) -> str:
    if o.kind in ("id", "meta", "flag"):
        return ""
    return o.stored_unit


def _shown_text(o: Output) -> str:
    if o.kind == "money":
        return "万元 or 亿元 (whichever fits)"
    if o.kind in ("id", "meta", "flag", "year", "index"):
        return ""
    factor = o.factor
    unit = o.shown_unit("zh") if o.kind == "income" else o.shown_unit("en")
    if factor is not None and factor > 1.0:
        return f"{unit} (÷ {factor:,.0f})"
    if factor is not None and factor < 1.0:
        return f"{unit} (× {1 / factor:,.0f})"
    return unit


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """docs/outputs.md: every output of a run, from the registry."""
    lines = [
        "# Outputs of a run",
        "",
        "<!-- Generated by `python -m zq_sim.outputs --write` from src/zq_sim/outputs.py; "
        "do not edit by hand. -->",
        "",
        "A run (`python -m zq_sim`, `zq_sim.simulate`) writes into its output folder "
        "`timeseries.parquet` (one row per replicate and year), `villages.parquet` (one row "
        "per village, replicate and year; `output.villages=false` skips it) and "
        "`summary.json` (written last: its presence means the run is complete). This page "
        "lists every column and key, from the registry in `src/zq_sim/outputs.py`, which the "
        "figures, the report and the dashboard take their labels and units from.",
        "",
        "Money is in yuan, flows per year; *shown* is how figures and tables show a value "
        "(stored value / factor). Names with `<part>` or `<item>` are open families: a member "
        "not listed (a new item of public spending) is labelled from its name.",
        "",
        "Kinds:",
        "",
    ]
    lines += [f"- **{k}**: {v.meaning}" for k, v in KINDS.items()]
    lines += ["", f"Thresholds of the weak-village measures: {FLOOR:,.0f} yuan (the 2024 "
              f"floor) and {HIGHER:,.0f} yuan a year.", ""]
    titles = {"timeseries": "Time series: timeseries.parquet",
              "villages": "Village panel: villages.parquet",
              "summary": "Summary: summary.json"}
    for table in TABLES:
        lines += [f"## {titles[table]}", ""]
        if table == "summary":
            chosen = ", ".join(str(y) for y in MILESTONES)
            lines += ["Keys as dotted paths. `years.<year>` stands for each chosen year: the "
                      f"calibration year, {chosen} and the last year, those the run simulated. "
                      "Targets are the figures of data/targets.yaml as the model reads them.",
                      ""]
        lines += ["| name | label | 中文 | kind | unit | shown | what it is |",
                  "|---|---|---|---|---|---|---|"]
        for o in REGISTRY[table]:
            lines.append("| " + " | ".join(_cell(c) for c in (
                f"`{o.name}`", o.label.format("…"), o.label_zh.format("…"), o.kind,
                _unit_text(o), _shown_text(o),
                o.doc + (f" (written only with `{o.when}`)" if o.when else ""))) + " |")
        lines.append("")
    return "\n".join(lines)


def docs_path() -> Path:
    """docs/outputs.md of the checkout (the error names what is missing otherwise)."""
    from zq_sim.paths import checkout

    return checkout("writing docs/outputs.md") / "docs" / "outputs.md"


def main(argv: list[str] | None = None) -> int:
    """Print docs/outputs.md, or write it (``--write``) or check it (``--check``)."""
    parser = argparse.ArgumentParser(prog="python -m zq_sim.outputs", description=__doc__
                                     .splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite docs/outputs.md")
    group.add_argument("--check", action="store_true",
                       help="exit 1 if docs/outputs.md differs from the registry")
    args = parser.parse_args(argv)
    text = markdown()
    if not (args.write or args.check):
        sys.stdout.write(text)
        return 0
    try:
        path = docs_path()
    except RuntimeError as exc:
        print(f"zq_sim.outputs: error: {exc}", file=sys.stderr)
        return 2
    if args.write:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current != text:
        print(f"{path} is out of date: run python -m zq_sim.outputs --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How the report and its figures look: one colour per scenario, shocks apart, units, language.

Shared by :mod:`zq_sim.plotting` and :mod:`zq_sim.report` so that every figure and every report
gives a scenario the same colour and the same kind:

- **Colours** are fixed by scenario name (:data:`SCENARIO_COLORS`); a name not listed (a custom
  scenario or a swept group's label) gets one from a palette chosen by a hash of the name
  (:func:`color_of`), so it too keeps its colour from report to report.
- **Shocks** (events that happen to the villages, not policies anyone chooses) are the scenarios
  of :data:`SHOCKS` or a scenario file with ``kind: shock`` at its top level
  (conf/scenario/NAME.yaml); figures draw them apart from the policies.
- **Money** is shown in 万元 (10,000 yuan) or 亿元 (100 million yuan), whichever fits the values;
  the units' labels, and every output's label and unit, are declared in :mod:`zq_sim.outputs`.
- **Language**: Chinese labels when a CJK font is installed (Noto Sans CJK, Debian's
  ``fonts-noto-cjk``; others are tried too), pinyin and English otherwise.
  :func:`use_language` chooses ("auto", "zh" or "pinyin") and sets matplotlib's font.

This module reads config files only; it never imports the model.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from zq_sim import outputs
from zq_sim.paths import CONF_DIR

#: Scenarios that are shocks to the 2024 mix rather than policies (besides ``kind: shock``).
SHOCKS = ("rent_downturn", "company_failures")
#: The reference scenario: the 2024 policy mix continued.
BASELINE = "baseline"

#: A fixed colour per known scenario. Policies take saturated colours; the baseline is near
#: black (it is the reference line in every panel) and no_reform grey; shocks take browns.
SCENARIO_COLORS: dict[str, str] = {
    "baseline": "#1b1b1b",
    "no_reform": "#8d8d8d",
    "land_transfer": "#2ca02c",
    "strong_village_company": "#1f77b4",
    "three_assets": "#9467bd",
    "pv_small_cut": "#ff7f0e",
    "talent_assistance": "#17becf",
    "integrated": "#d62728",
    "no_support": "#bcbd22",
    "rent_downturn": "#8c564b",
    "company_failures": "#c49a3a",
}
#: Colours for policies without a fixed one (chosen by a hash of the name).
POLICY_FALLBACK = ("#e377c2", "#7f7f3f", "#393b79", "#637939", "#8c6d31", "#843c39",
                   "#7b4173", "#3182bd", "#31a354", "#756bb1", "#e6550d", "#636363",
                   "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8")
#: Colours for shocks without a fixed one (browns and ochres).
SHOCK_FALLBACK = ("#a0522d", "#6b4226", "#b5651d", "#8b5a2b", "#cd853f", "#5c4033")


def _hash(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def color_of(name: str, shock: bool | None = None) -> str:
    """The colour of a scenario (or group label): fixed for known names, else by hash."""
    if name in SCENARIO_COLORS:
        return SCENARIO_COLORS[name]
    shock = is_shock(name) if shock is None else shock
    pool = SHOCK_FALLBACK if shock else POLICY_FALLBACK
    return pool[_hash(name) % len(pool)]


def colors_for(names: Iterable[str], shocks: Iterable[str] = ()) -> dict[str, str]:
    """A colour per name, as :func:`color_of`, without two names in one colour.

    Names that would share a fallback colour are moved to the next free one (in name order),
    so that one figure never shows two groups in one colour.
    """
    shocks = set(shocks)
    names = list(dict.fromkeys(names))
    out: dict[str, str] = {}
    taken: set[str] = set()
    for n in names:
        if n in SCENARIO_COLORS:
            out[n] = SCENARIO_COLORS[n]
            taken.add(out[n])
    for n in sorted(n for n in names if n not in out):
        shock = n in shocks or is_shock(n)
        pool = SHOCK_FALLBACK if shock else POLICY_FALLBACK
        start = _hash(n) % len(pool)
        for k in range(len(pool)):
            c = pool[(start + k) % len(pool)]
            if c not in taken:
                break
        out[n] = c
        taken.add(c)
    return {n: out[n] for n in names}


@lru_cache(maxsize=256)
def _scenario_file_kind(name: str) -> str | None:
    path = CONF_DIR / "scenario" / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return str(data.get("kind")) if isinstance(data, dict) and data.get("kind") else None


def is_shock(scenario: str) -> bool:
    """True if the scenario is a shock (listed in :data:`SHOCKS` or ``kind: shock``)."""
    return scenario in SHOCKS or _scenario_file_kind(str(scenario)) == "shock"


def order_groups(groups: Iterable[str], shocks: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(policies, shocks), each in the given order, the baseline first among the policies."""
    shocks = set(shocks)
    groups = list(dict.fromkeys(groups))
    shock = [g for g in groups if g in shocks or is_shock(g)]
    policy = [g for g in groups if g not in shock]
    policy.sort(key=lambda g: g != BASELINE)  # stable: the baseline first, the rest as given
    return policy, shock


# ------------------------------------------------------------------------------------------
# Money
# ------------------------------------------------------------------------------------------
WAN, YI = outputs.WAN, outputs.YI


def money_scale(values: Iterable[float]) -> tuple[float, str]:
    """(factor, unit) to show yuan amounts: 亿元 when the largest is 1 亿 or more, else 万元."""
    finite = [abs(float(v)) for v in values if v == v and abs(float(v)) != float("inf")]
    top = max(finite) if finite else 0.0
    return (1 / YI, unit("yi")) if top >= YI else (1 / WAN, unit("wan"))


def unit(name: str) -> str:
    """A unit's label in the current language: "wan" (万元), "yi" (亿元), "pct", "villages".

    The labels are the registry's (:data:`zq_sim.outputs.UNITS`).
    """
    return _t(*outputs.UNITS[name])


def format_money(yuan: float, scale: tuple[float, str] | None = None) -> str:
    """An amount of yuan as text in 万元 or 亿元 (as fits the amount, unless ``scale`` given)."""
    if yuan is None or yuan != yuan:
        return "n/a"
    factor, name = scale or money_scale([yuan])
    v = yuan * factor
    digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return f"{v:,.{digits}f} {name}"


# ------------------------------------------------------------------------------------------
# Language and fonts
# ------------------------------------------------------------------------------------------
#: CJK font families tried, in order (Noto Sans CJK first: Debian's fonts-noto-cjk).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Source Han Sans SC",
                "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
                "Microsoft YaHei", "PingFang SC", "Heiti SC")
_state = {"lang": "pinyin"}


def find_cjk_font() -> str | None:
    """The family name of an installed CJK font matplotlib can use, or None.

    Fonts installed after matplotlib built its font cache are not in it: system font files
    whose names say CJK are added to the font manager first.
    """
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    if not any(n in names for n in CJK_FAMILIES):
        for path in fm.findSystemFonts():
            stem = Path(path).name.lower()
            if any(k in stem for k in ("sanscjk", "sourcehansans", "wqy", "simhei", "msyh")):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {f.name for f in fm.fontManager.ttflist}
    return next((n for n in CJK_FAMILIES if n in names), None)


def use_language(lang: str = "auto") -> str:
    """Choose the labels' language: "zh" (needs a CJK font), "pinyin", or "auto".

    Sets matplotlib's sans-serif font to the CJK font for "zh". Returns the language used.

    Raises:
        ValueError: for another value, or "zh" without a CJK font.

    """
    import matplotlib

    if lang not in ("auto", "zh", "pinyin"):
        raise ValueError(f"lang = {lang!r}; choose one of: auto, zh, pinyin")
    font = find_cjk_font() if lang in ("auto", "zh") else None
    if lang == "zh" and font is None:
        raise ValueError("lang = 'zh' needs a CJK font (e.g. Debian: apt-get install "
                         "fonts-noto-cjk); none was found")
    chosen = "zh" if font else "pinyin"
    if font:
        family = list(matplotlib.rcParams["font.sans-serif"])
        matplotlib.rcParams["font.sans-serif"] = [font] + [f for f in family if f != font]
        matplotlib.rcParams["font.family"] = "sans-serif"
        matplotlib.rcParams["axes.unicode_minus"] = False
    _state["lang"] = chosen
    return chosen


def language() -> str:
    """The current labels' language ("zh" or "pinyin")."""
    return _state["lang"]


def _t(en: str, zh: str) -> str:
    return zh if _state["lang"] == "zh" else en


def t(en: str, zh: str) -> str:
    """The English (with pinyin names) or the Chinese text, by the current language."""
    return _t(en, zh)


#: Zhaoqing's county-level units (data/counties.csv) in pinyin.
COUNTY_PINYIN: dict[str, str] = {
    "端州区": "Duanzhou", "鼎湖区": "Dinghu", "高要区": "Gaoyao", "四会市": "Sihui",
    "广宁县": "Guangning", "怀集县": "Huaiji", "封开县": "Fengkai", "德庆县": "Deqing",
}


def county_name(name: str) -> str:
    """A county's name in the current language (pinyin without a CJK font)."""
    return name if _state["lang"] == "zh" else COUNTY_PINYIN.get(name, name)

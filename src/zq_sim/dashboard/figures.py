"""The dashboard's figures: tables of a live run in, matplotlib (figure, axes) out.

Each function takes tables shaped like the run outputs (a ``scenario`` column naming the run:
the user's settings and the baseline they are compared with) and returns ``(fig, axes)``;
none saves or shows. Figures are built on :class:`matplotlib.figure.Figure` rather than pyplot,
so the page can draw them in a worker thread without leaking figures.

Lines are means over replicates, bands the 5th to 95th percentile over replicates. Money is in
万元 (10,000 yuan) or 亿元 (100 million yuan), written in Chinese when a CJK font is installed
(Debian: ``apt-get install fonts-noto-cjk``), else as "10k yuan" / "100M yuan"; counties are
named in Chinese or pinyin on the same rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from zq_sim import outputs, style
from zq_sim.dashboard.live import FLOOR, REFERENCE, SOURCES, bands, differences
from zq_sim.plotting import EAST, county_label

#: Width of every figure (inches): at the page's 110 dpi, the width of its results column.
WIDTH = 10.5
#: The baseline reference's colour (a run takes its scenario's colour, style.color_of).
REFERENCE_COLOR = "#7f7f7f"
#: Colours of the income sources (a qualitative palette, one per source, fixed).
SOURCE_COLORS = dict(zip(SOURCES, ("#4c72b0", "#c7c7c7", "#55a868", "#8172b2", "#ccb974",
                                   "#64b5cd", "#dd8452"), strict=True))


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None (``style.find_cjk_font``)."""
    return style.find_cjk_font()


def unit(kind: str) -> str:
    """The label of a money unit: ``wan`` (10,000 yuan) or ``yi`` (100 million yuan)."""
    chinese = cjk_font() is not None
    return {"wan": "万元" if chinese else "10k yuan",
            "yi": "亿元" if chinese else "100M yuan"}[kind]


def county_name(county: str) -> str:
    """A county's name in Chinese when the figures can show it, else in pinyin."""
    return county if cjk_font() is not None else county_label(county)


def _styled(plot: Callable) -> Callable:
    """Draw with a CJK font as fallback when one is installed, and at a readable size."""
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        family = ["DejaVu Sans"] + ([cjk_font()] if cjk_font() else [])
        with matplotlib.rc_context({"font.family": family, "font.size": 9.5,
                                    "axes.titlesize": 10.5, "axes.spines.top": False,
                                    "axes.spines.right": False, "figure.dpi": 100}):
            return plot(*args, **kwargs)
    return wrapper


def _colors(groups: Sequence[str]) -> dict[str, str]:
    """The baseline reference in grey; a run in its scenario's colour, as in every report."""
    return {g: REFERENCE_COLOR if g == REFERENCE else style.color_of(g.split()[0])
            for g in groups}


def _groups(table: pd.DataFrame) -> list[str]:
    """The runs of a table, the baseline last (drawn under the others' legend entries)."""
    names = list(dict.fromkeys(table["scenario"]))
    return [n for n in names if n != REFERENCE] + [n for n in names if n == REFERENCE]


def _band(ax: Axes, table: pd.DataFrame, column: str, factor: float = 1.0,
          colors: Mapping[str, str] | None = None, **line) -> None:
    """A line per run (mean over replicates) with its 5-95% band."""
    colors = colors or _colors(_groups(table))
    b = bands(table, column)
    for g in _groups(table)[::-1]:  # the baseline first, under the others
        s = b[b["scenario"] == g]
        ax.fill_between(s["year"], s["p05"] * factor, s["p95"] * factor, color=colors[g],
                        alpha=0.18, lw=0)
        ax.plot(s["year"], s["mean"] * factor, color=colors[g], lw=2.0, **line)


def _year_axis(ax: Axes) -> None:
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.grid(alpha=0.3)


def _legend(fig: Figure, groups: Sequence[str], colors: Mapping[str, str], note: str) -> None:
    handles = [Patch(facecolor=colors[g], alpha=0.6, edgecolor=colors[g]) for g in groups]
    fig.legend(handles, groups, loc="outside lower center", ncols=len(groups) + 1, frameon=False,
               title=note, title_fontsize=8.5)


def _n_rep(table: pd.DataFrame) -> int:
    return int(table.groupby("scenario")["seed"].nunique().min())


@_styled
def plot_income_paths(timeseries: pd.DataFrame) -> tuple[Figure, np.ndarray]:
    """Mean and bottom-decile operating income per village over time, with 90% bands.

    With a run besides the baseline, a second row shows its difference from the baseline,
    replicate by replicate (the runs share their seeds), with its 90% band.
    """
    groups = _groups(timeseries)
    compare = len(groups) > 1 and REFERENCE in groups
    fig = Figure(figsize=(WIDTH, 6.6 if compare else 3.9), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2 if compare else 1, 2, sharex=True))
    panels = (("mean_operating_income", "Mean operating income per village"),
              ("p10_operating_income", "Bottom decile: 10th percentile of villages"))
    for ax, (column, title) in zip(axes[0], panels, strict=True):
        _band(ax, timeseries, column, 1e-4)
        ax.set_title(title)
        ax.set_ylabel(f"{unit('wan')} per village per year")
        ax.set_ylim(bottom=0)
        ax.axhline(FLOOR * 1e-4, color="0.3", lw=0.8, ls=":")
        ax.annotate("15万 floor" if cjk_font() else "150k floor", (0.01, FLOOR * 1e-4),
                    xycoords=("axes fraction", "data"), xytext=(0, 3),
                    textcoords="offset points", fontsize=8, color="0.3")
        _year_axis(ax)
    if compare:
        for ax, (column, title) in zip(axes[1], panels, strict=True):
            _band(ax, differences(timeseries, column), column, 1e-4)
            ax.axhline(0.0, color=REFERENCE_COLOR, lw=1.2)
            ax.set_title(f"{title.split(':')[0]}: difference from the baseline")
            ax.set_ylabel(f"{unit('wan')} per village per year")
            _year_axis(ax)
    _legend(fig, groups, _colors(groups), f"lines: mean of {_n_rep(timeseries)} replicates; "
            "bands: 90% of replicates")
    fig.suptitle("Operating income (own income, before fiscal support)", fontweight="bold")
    return fig, axes


def _money_factor(values: pd.Series) -> tuple[float, str]:
    """Factor and unit for an amount of yuan: 亿元 from 100 million up, else 万元."""
    top = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    return (1e-8, unit("yi")) if top >= 1e8 else (1e-4, unit("wan"))


@_styled
def plot_weak_villages(weak: pd.DataFrame) -> tuple[Figure, np.ndarray]:
    """Weak villages: shares below 150k and 200k yuan of own income; support and its cost.

    ``weak`` is :func:`zq_sim.dashboard.live.weak_village_table`'s table.
    """
    fig = Figure(figsize=(WIDTH, 3.9), layout="constrained")
    axes = fig.subplots(1, 3)
    _band(axes[0], weak, "share_own_below_150k", 100.0)
    _band(axes[0], weak, "share_own_below_200k", 100.0, ls="--")
    axes[0].set_title("Villages whose own income is below\n150k (solid) / 200k (dashed) yuan")
    axes[0].set_ylabel("% of villages")
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    _band(axes[1], weak, "villages_supported")
    axes[1].set_title("Villages receiving fiscal support")
    axes[1].set_ylabel("villages")
    factor, money = _money_factor(weak["public_support"])
    _band(axes[2], weak, "public_support", factor)
    axes[2].set_title("Cost of fiscal support")
    axes[2].set_ylabel(f"{money} a year")
    for ax in axes:
        ax.set_ylim(bottom=0)
        _year_axis(ax)
    groups = _groups(weak)
    _legend(fig, groups, _colors(groups), f"lines: mean of {_n_rep(weak)} replicates; "
            "bands: 90% of replicates")
    fig.suptitle("Weak villages, on their own income before support", fontweight="bold")
    return fig, axes


@_styled
def plot_counties(counties: pd.DataFrame) -> tuple[Figure, np.ndarray]:
    """County by county in one year: mean and bottom-decile operating income of villages.

    ``counties`` is :func:`zq_sim.dashboard.live.county_table`'s table (several runs stacked);
    a dot per run and county (mean over replicates), whiskers over 90% of replicates.
    """
    groups = _groups(counties)
    colors = _colors(groups)
    present = list(dict.fromkeys(counties["county"]))
    order = [c for c in EAST if c in present] + sorted(c for c in present if c not in EAST)
    fig = Figure(figsize=(WIDTH, 1.4 + 0.42 * len(order)), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    ypos = np.arange(len(order))[::-1]
    offsets = np.linspace(0.15, -0.15, len(groups)) if len(groups) > 1 else [0.0]
    for ax, column, factor in ((axes[0], "mean_operating_income", 1e-4),
                               (axes[1], "p10_operating_income", 1e-4)):
        g_stats = counties.groupby(["scenario", "county"])[column]
        stats = pd.DataFrame({"mean": g_stats.mean(), "p05": g_stats.quantile(0.05),
                              "p95": g_stats.quantile(0.95)}) * factor
        for off, g in zip(offsets, groups, strict=True):
            s = stats.loc[g].reindex(order)
            err = np.clip(np.vstack([s["mean"] - s["p05"], s["p95"] - s["mean"]]), 0, None)
            ax.errorbar(s["mean"], ypos + off, xerr=err, fmt="o", color=colors[g], ms=5,
                        capsize=2, lw=1.2)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlim(left=0)
    east = "east" if cjk_font() is None else "东"
    west = "west" if cjk_font() is None else "西"
    axes[0].set_yticks(ypos, [f"{county_name(c)} ({east if c in EAST else west})"
                              for c in order])
    axes[0].set_title("Mean operating income per village")
    axes[0].set_xlabel(f"{unit('wan')} per village per year")
    axes[1].set_title("Bottom decile: the county's 10th-percentile village")
    axes[1].set_xlabel(f"{unit('wan')} per village per year")
    for ax in axes:
        ax.axvline(FLOOR * 1e-4, color="0.3", lw=0.8, ls=":")
    year = int(counties["year"].iloc[0]) if "year" in counties else ""
    _legend(fig, groups, colors, f"dots: mean of {_n_rep(counties)} replicates; whiskers: 90% "
            "of replicates")
    fig.suptitle(f"County by county, {year}", fontweight="bold")
    return fig, axes


@_styled
def plot_income_sources(timeseries: pd.DataFrame) -> tuple[Figure, np.ndarray]:
    """Mean income per village by source over time, one panel per run (stacked areas).

    Sources are the ``mean_<part>_income`` columns present; fiscal support (``mean_support``),
    which is not operating income, is stacked on top, hatched.
    """
    groups = _groups(timeseries)
    parts = [p for p in SOURCES if f"mean_{p}_income" in timeseries]
    fig = Figure(figsize=(WIDTH, 3.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True, squeeze=False)[0])
    columns = [f"mean_{p}_income" for p in parts] + (
        ["mean_support"] if "mean_support" in timeseries else [])
    means = timeseries.groupby(["scenario", "year"])[columns].mean() * 1e-4
    for ax, g in zip(axes, groups, strict=True):
        m = means.loc[g]
        stack = ax.stackplot(m.index, *[m[c] for c in columns],
                             colors=[SOURCE_COLORS[p] for p in parts] + ["white"][:len(
                                 columns) - len(parts)], lw=0.3, edgecolor="white")
        if "mean_support" in columns:
            stack[-1].set_hatch("///")
            stack[-1].set_edgecolor("0.45")
        ax.set_title(g)
        ax.set_ylabel(f"{unit('wan')} per village per year")
        _year_axis(ax)
    handles = [Patch(facecolor=SOURCE_COLORS[p]) for p in parts]
    labels = [SOURCES[p] for p in parts]
    if "mean_support" in columns:
        handles.append(Patch(facecolor="white", edgecolor="0.45", hatch="///"))
        labels.append("Fiscal support (not operating income)")
    fig.legend(handles[::-1], labels[::-1], loc="outside right center", frameon=False,
               title="source", fontsize=8.5)
    fig.suptitle(f"Where the income comes from (mean per village; mean of {_n_rep(timeseries)} "
                 "replicates)", fontweight="bold")
    return fig, axes



def public_items(table: pd.DataFrame) -> list[str]:
    """The items of public spending in a table (its ``public_<item>`` columns but the total)."""
    return [c.removeprefix("public_") for c in table.columns
            if c.startswith("public_") and c != "public_spending"]


@_styled
def plot_public_money(timeseries: pd.DataFrame) -> tuple[Figure, np.ndarray]:
    """Public money a year by item, one panel per run (stacked areas, means over replicates).

    Every ``public_<item>`` column is an item, so items added to the model appear by themselves
    (labelled by the registry, :func:`zq_sim.outputs.item_label`, or from their name).
    """
    groups = _groups(timeseries)
    items = public_items(timeseries)
    columns = [f"public_{i}" for i in items]
    means = timeseries.groupby(["scenario", "year"])[columns].mean()
    factor, money = _money_factor(means.sum(axis=1))
    fig = Figure(figsize=(WIDTH, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True, squeeze=False)[0])
    cycle = matplotlib.colormaps["tab10"].colors
    colors = [cycle[k % len(cycle)] for k in range(len(items))]
    for ax, g in zip(axes, groups, strict=True):
        m = means.loc[g] * factor
        ax.stackplot(m.index, *[m[c] for c in columns], colors=colors, lw=0.3, edgecolor="white")
        ax.set_title(g)
        ax.set_ylabel(f"{money} a year")
        _year_axis(ax)
    handles = [Patch(facecolor=c) for c in colors]
    labels = [outputs.capitalised(outputs.item_label(i)[0]) for i in items]
    fig.legend(handles[::-1], labels[::-1], loc="outside right center", frameon=False,
               title="public money for", fontsize=8.5)
    fig.suptitle(f"What the public money buys (city-wide; mean of {_n_rep(timeseries)} "
                 "replicates)", fontweight="bold")
    return fig, axes

"""Figures of a sweep: pure functions from tidy tables to matplotlib (figure, axes).

Every function takes a DataFrame (the tables that :mod:`zq_sim.report` collects from the run
outputs), draws, and returns ``(fig, ax)`` or ``(fig, axes)``; none saves or shows, and none
imports the model. The tables:

- ``runs``: one row per job, replicate and year, as in each job's ``timeseries.parquet``, with a
  grouping column (``scenario`` by default, or any label such as the report's ``group``);
- ``villages``: one row per village and replicate (of one year), as in ``villages.parquet``;
- ``diffs``: paired differences from :func:`zq_sim.compare.paired_differences`;
- ``ce``: cost-effectiveness rows from :func:`zq_sim.compare.cost_effectiveness`.

Lines are means over replicates and bands (or whiskers) the 5th to 95th percentile over
replicates, i.e. where 90% of the simulated outcomes fall; differences from the baseline carry a
90% confidence interval of the mean paired difference instead. Each scenario keeps one colour
(:mod:`zq_sim.style`), shocks are drawn apart from policies, money is in 万元 or 亿元, and labels
are Chinese when a CJK font is present (:func:`zq_sim.style.use_language`), else English with
pinyin names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from zq_sim import outputs, style
from zq_sim.style import t

#: 10,000 yuan (万元).
WAN = style.WAN
#: Income thresholds (yuan): the 2024 floor and the next step (declared in zq_sim.outputs).
FLOOR, HIGHER = outputs.FLOOR, outputs.HIGHER
EAST = ("端州区", "鼎湖区", "高要区", "四会市")
COUNTY_PINYIN = style.COUNTY_PINYIN

#: Colours of the income sources (``mean_<source>_income`` columns), in drawing order; their
#: labels are the registry's (:data:`zq_sim.outputs.INCOME_PARTS`).
SOURCE_COLORS: dict[str, str] = {
    "lease": "#4e79a7", "land": "#59a14f", "dividends": "#f28e2b", "pv": "#edc948",
    "assistance": "#76b7b2", "own": "#b07aa1", "arrears": "#9c755f",
}

#: Keyword for horizontal box plots (``vert`` was replaced by ``orientation`` in matplotlib 3.10).
_HORIZONTAL = ({"orientation": "horizontal"}
               if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (3, 10)
               else {"vert": False})


# ------------------------------------------------------------------------------------------
# Labels, units, colours
# ------------------------------------------------------------------------------------------
def county_label(name: str) -> str:
    """A county's name in the current language (pinyin without a CJK font)."""
    return style.county_name(name)


def metric_kind(metric: str) -> str:
    """The metric's kind (:data:`zq_sim.outputs.KINDS`): "income", "money", "share", ..."""
    return outputs.describe(metric).kind


def metric_title(metric: str) -> str:
    """A metric's name in the current language (:mod:`zq_sim.outputs`)."""
    o = outputs.describe(metric)
    return t(o.label, o.label_zh)


def scale_of(metric: str, values: Iterable[float] = (), difference: bool = False,
             ) -> tuple[float, str]:
    """(factor from the stored value, unit label) for a metric's values.

    The registry's display factor and unit; money (city-wide yuan) in 万元 or 亿元, whichever
    fits ``values``; a difference of shares in percentage points.
    """
    o = outputs.describe(metric)
    if o.kind == "money":
        return style.money_scale(values)
    if o.kind == "share" and difference:
        return 1 / o.factor, t(*outputs.UNITS["pp"])
    return 1 / (o.factor or 1.0), t(o.shown_unit("en"), o.shown_unit("zh"))


def ordered(values: Iterable) -> list:
    """Distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


def palette(groups: Sequence[str]) -> dict[str, str]:
    """A colour per group, the same in every figure and report (:func:`zq_sim.style.colors_for`)."""
    return style.colors_for(groups)


def spread(df: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean, 5th and 95th percentile of ``value`` within each ``keys`` group, and the count.

    Missing values (NaN) are left out; a group with none gives NaN and a count of 0.
    """
    def pct(q: float):
        def f(s: pd.Series) -> float:
            a = s.to_numpy(float)
            a = a[np.isfinite(a)]
            return float(np.percentile(a, q)) if a.size else np.nan
        return f

    g = df.groupby(keys, sort=False, observed=True)[value]
    out = g.agg(mean="mean", p05=pct(5), p95=pct(95), n="count")
    return out.reset_index()


def _number_axis(ax: Axes, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.3g}")
    which = ax.yaxis if axis == "y" else ax.xaxis
    which.set_major_formatter(fmt)
    if axis == "x":
        which.set_major_locator(MaxNLocator(4))


def _year_axis(ax: Axes, years: Sequence[int], max_ticks: int = 8) -> None:
    years = sorted(set(int(y) for y in years))
    step = max(1, int(np.ceil(len(years) / max_ticks)))
    ax.set_xticks(years[::step])
    ax.set_xlim(years[0], years[-1])


def _policy_line(ax: Axes, policy_start: int | None, years: Sequence[int]) -> None:
    if policy_start is not None and min(years) < policy_start <= max(years):
        ax.axvline(policy_start, color="0.6", lw=0.8, ls=":", zorder=0)


def _legend_below(fig: Figure, handles: list, labels: list[str], title: str,
                  note: str = "") -> None:
    """A legend under the panels (constrained layout makes room for it)."""
    ncol = min(len(labels), 4 if max(len(x) for x in labels) > 24 else 5)
    leg = fig.legend(handles, labels, title=title, loc="outside lower center", ncol=ncol,
                     frameon=False)
    if note:
        leg.set_title(f"{title}    ({note})" if title else note)
    leg.get_title().set_fontsize(9.5)


def _title(fig: Figure, title: str) -> None:
    fig.suptitle(title, fontsize=12.5, fontweight="bold")


def _shock_set(groups: Iterable[str], shocks: Iterable[str] | None) -> set[str]:
    return set(shocks) if shocks is not None else {g for g in groups if style.is_shock(g)}


def _format_values(ax: Axes, kind: str, axis: str = "y") -> None:
    if kind == "share":
        fmt = PercentFormatter(decimals=0)
        (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    else:
        _number_axis(ax, axis)


# ------------------------------------------------------------------------------------------
# Lines over the years
# ------------------------------------------------------------------------------------------
def plot_time_bands(runs: pd.DataFrame, metrics: Sequence[str], by: str = "scenario",
                    colors: Mapping[str, Any] | None = None, title: str | None = None,
                    policy_start: int | None = 2024,
                    references: Mapping[str, tuple[float, str]] | None = None,
                    ) -> tuple[Figure, np.ndarray]:
    """One panel per metric over the years: a line and a 90% band per group (all overlaid).

    For a few groups; with many, :func:`plot_small_multiples` reads better.

    Args:
        runs: one row per replicate and year with ``by``, ``year`` and the metrics.
        metrics: columns to draw (their labels and units from :mod:`zq_sim.outputs`).
        by: the grouping column (one line and band each).
        colors: colour per group (default: :func:`palette`).
        title: the figure's title.
        policy_start: year the policy levers start (a dotted line); None for none.
        references: per metric, a horizontal reference line (value in stored units, label).

    Returns:
        The figure and its axes (one per metric).

    """
    groups = ordered(runs[by])
    colors = dict(colors or palette(groups))
    shocks = _shock_set(groups, None)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.8), squeeze=False,
                             layout="constrained")
    axes = axes[0]
    years = runs["year"].unique()
    for ax, metric in zip(axes, metrics, strict=True):
        stats = spread(runs, [by, "year"], metric)
        k, unit = scale_of(metric, stats["mean"])
        for g in groups:
            s = stats[stats[by] == g].sort_values("year")
            ax.fill_between(s["year"], s["p05"] * k, s["p95"] * k, color=colors[g], alpha=0.18,
                            lw=0)
            ax.plot(s["year"], s["mean"] * k, color=colors[g], lw=2, label=str(g),
                    ls="--" if g in shocks else "-")
        ref = (references or {}).get(metric)
        if ref is not None:
            ax.axhline(ref[0] * k, color="0.25", lw=1, ls="--")
            ax.annotate(ref[1], xy=(0.01, ref[0] * k), xycoords=("axes fraction", "data"),
                        xytext=(0, 3), textcoords="offset points", fontsize=8, color="0.25")
        _policy_line(ax, policy_start, years)
        ax.set_title(metric_title(metric), fontsize=10.5)
        ax.set_ylabel(unit)
        ax.set_xlabel(t("year", "年份"))
        _year_axis(ax, years)
        _format_values(ax, metric_kind(metric))
        if metric_kind(metric) == "share":
            ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colors[g], lw=2, ls="--" if g in shocks else "-")
               for g in groups]
    n_rep = int(runs.groupby([by, "year"]).size().min())
    note = (t(f"lines: mean of {n_rep} replicates; bands: 90% of replicates",
              f"线：{n_rep}次重复的均值；带：90%的重复")
            + (t(f"; dotted: policy start {policy_start}", f"；点线：政策起始{policy_start}年")
               if policy_start else ""))
    _legend_below(fig, handles, [str(g) for g in groups], by, note)
    _title(fig, title or "")
    return fig, axes


def plot_income_over_time(runs: pd.DataFrame, by: str = "scenario",
                          colors: Mapping[str, Any] | None = None,
                          policy_start: int | None = 2024) -> tuple[Figure, np.ndarray]:
    """Mean and bottom-decile operating income over the years, all groups overlaid."""
    metrics = [m for m in ("mean_operating_income", "p10_operating_income") if m in runs]
    return plot_time_bands(runs, metrics, by=by, colors=colors, policy_start=policy_start,
                           title=t("Village collective income over the years",
                                   "村集体收入逐年变化"))


def plot_share_below(runs: pd.DataFrame, by: str = "scenario",
                     colors: Mapping[str, Any] | None = None,
                     policy_start: int | None = 2024) -> tuple[Figure, np.ndarray]:
    """Share of villages below 150k and 200k yuan over the years: own income where recorded."""
    own = all(m in runs for m in ("share_own_below_150k", "share_own_below_200k"))
    metrics = (["share_own_below_150k", "share_own_below_200k"] if own
               else ["share_below_150k", "share_below_200k"])
    title = (t("Weak villages: share with own income below a threshold (before support)",
               "薄弱村：自身经营性收入低于标准的村占比（补助前）") if own else
             t("Share of villages with total income (incl. fiscal support) below a threshold",
               "总收入（含财政补助）低于标准的村占比"))
    return plot_time_bands(runs, metrics, by=by, colors=colors, policy_start=policy_start,
                           title=title)


def _grid(groups: Sequence[str], shocks: set[str], ncols: int, panel_size=(3.3, 2.5),
          extra_height: float = 1.6) -> tuple[Figure, dict[str, Axes], list]:
    """A figure with one panel per group: policies first, shocks in a block of their own.

    The panels do not share their axes (matplotlib's shared axes are slow across subfigures);
    :func:`_same_ylim` gives them one scale once they are drawn.
    """
    policy = [g for g in groups if g not in shocks]
    shock = [g for g in groups if g in shocks]
    ncols = max(1, min(ncols, max(len(policy), len(shock), 1)))
    rows_p, rows_s = math.ceil(len(policy) / ncols), math.ceil(len(shock) / ncols)
    fig = plt.figure(figsize=(panel_size[0] * ncols + 1.0,
                              panel_size[1] * (rows_p + rows_s) + extra_height
                              + 0.5 * bool(shock)),
                     layout="constrained")
    blocks = [(policy, rows_p, t("Policies", "政策情景"))] if policy else []
    if shock:
        blocks.append((shock, rows_s, t("Shocks (events, not policies)",
                                        "冲击情景（外部事件，非政策）")))
    subfigs = fig.subfigures(len(blocks), 1, height_ratios=[b[1] for b in blocks],
                             squeeze=False)[:, 0] if len(blocks) > 1 else [fig]
    axes: dict[str, Axes] = {}
    for sub, (names, rows, label) in zip(subfigs, blocks, strict=True):
        grid = sub.subplots(rows, ncols, squeeze=False)
        if shock:
            sub.suptitle(label, fontsize=11, x=0.01, ha="left",
                         color="#6b4226" if names is shock else "black")
        for i, ax in enumerate(grid.ravel()):
            if i >= len(names):
                ax.remove()
                continue
            axes[names[i]] = ax
            if names is shock:
                ax.set_facecolor("#faf5ee")
    return fig, axes, list(subfigs)


def _same_ylim(axes: Iterable[Axes], bottom: float | None = None) -> None:
    """One vertical scale for all panels: the union of their own."""
    axes = list(axes)
    lims = np.array([ax.get_ylim() for ax in axes])
    lo, hi = float(lims[:, 0].min()), float(lims[:, 1].max())
    if bottom is not None:
        lo = bottom
    for ax in axes:
        ax.set_ylim(lo, hi)


def plot_small_multiples(runs: pd.DataFrame, metric: str, by: str = "scenario",
                         colors: Mapping[str, Any] | None = None,
                         reference: str | None = style.BASELINE,
                         shocks: Iterable[str] | None = None,
                         policy_start: int | None = 2024, companion: str | None = None,
                         title: str | None = None, ncols: int = 4,
                         ) -> tuple[Figure, np.ndarray]:
    """One small panel per group: its mean and 90% band over the years, on one shared axis.

    The reference's mean is a thin black dashed line in every other panel.

    Args:
        runs: one row per replicate and year with ``by``, ``year`` and ``metric``.
        metric: the column drawn (solid line, band).
        by: the grouping column (one panel each).
        colors: colour per group (default: :func:`palette`).
        reference: the group drawn in every panel for comparison (None: none).
        shocks: groups that are shocks (default: :func:`zq_sim.style.is_shock`); drawn in a
            block of their own.
        policy_start: year the policy levers start (a dotted line); None for none.
        companion: a second column in the same unit (thin line of the same colour, no band),
            e.g. the 150k share beside the 200k share.
        title: the figure's title (default: the metric's name).
        ncols: panels per row.

    Returns:
        The figure and its axes, one per group (policies first, then shocks).

    """
    groups = ordered(runs[by])
    policy, shock = style.order_groups(groups, shocks or ())
    if shocks is None:
        shock = [g for g in groups if g in _shock_set(groups, None)]
        policy = [g for g in policy if g not in shock]
    groups = policy + shock
    colors = dict(colors or palette(groups))
    stats = spread(runs, [by, "year"], metric)
    comp = spread(runs, [by, "year"], companion) if companion else None
    k, unit = scale_of(metric, stats["mean"])
    fig, axes, subfigs = _grid(groups, set(shock), ncols)
    years = runs["year"].unique()
    ref = stats[stats[by] == reference].sort_values("year") if reference in groups else None
    for g, ax in axes.items():
        s = stats[stats[by] == g].sort_values("year")
        if ref is not None and g != reference:
            ax.plot(ref["year"], ref["mean"] * k, color="black", lw=1.0, ls="--", zorder=3)
        ax.fill_between(s["year"], s["p05"] * k, s["p95"] * k, color=colors[g], alpha=0.25, lw=0)
        ax.plot(s["year"], s["mean"] * k, color=colors[g], lw=2.2)
        if comp is not None:
            c = comp[comp[by] == g].sort_values("year")
            ax.plot(c["year"], c["mean"] * k, color=colors[g], lw=1.2, ls=":")
        _policy_line(ax, policy_start, years)
        ax.set_title(str(g), fontsize=10, color=colors[g] if g != reference else "black",
                     fontweight="bold")
        _year_axis(ax, years, max_ticks=4)
        _format_values(ax, metric_kind(metric))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8.5)
    _same_ylim(axes.values(), bottom=0.0 if metric_kind(metric) in ("share", "count") else None)
    for sub in subfigs:
        sub.supylabel(unit, fontsize=9.5)
    n_rep = int(runs.groupby([by, "year"]).size().min())
    handles = [Line2D([], [], color="0.35", lw=2.2),
               Patch(color="0.35", alpha=0.25)]
    labels = [metric_title(metric) if companion else t("mean over replicates", "重复均值"),
              t(f"90% of {n_rep} replicates", f"{n_rep}次重复的90%区间")]
    if companion:
        handles.append(Line2D([], [], color="0.35", lw=1.2, ls=":"))
        labels.append(metric_title(companion))
    if ref is not None:
        handles.append(Line2D([], [], color="black", lw=1.0, ls="--"))
        labels.append(t(f"{reference} (mean), for comparison", f"{reference}（均值），供对比"))
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 2),
               frameon=False, fontsize=9)
    _title(fig, title or metric_title(metric))
    return fig, np.array(list(axes.values()), dtype=object)


def plot_difference_over_time(diffs: pd.DataFrame, metric: str, by: str = "scenario",
                              colors: Mapping[str, Any] | None = None,
                              shocks: Iterable[str] | None = None,
                              policy_start: int | None = 2024, title: str | None = None,
                              ncols: int = 4) -> tuple[Figure, np.ndarray]:
    """One small panel per group: its paired difference from its comparator over the years.

    Args:
        diffs: :func:`zq_sim.compare.paired_differences` (``by``, ``comparator``, ``year``,
            ``metric``, ``mean``, ``lo``, ``hi``, ``n``).
        metric: the metric drawn.
        by: the grouping column.
        colors: colour per group.
        shocks: groups that are shocks (default: :func:`zq_sim.style.is_shock`).
        policy_start: a dotted line at this year; None for none.
        title: the figure's title.
        ncols: panels per row.

    Returns:
        The figure and its axes (policies first, then shocks).

    """
    d = diffs[diffs["metric"] == metric]
    groups = ordered(d[by])
    shock_set = _shock_set(groups, shocks)
    policy, shock = style.order_groups(groups, shock_set)
    groups = policy + shock
    colors = dict(colors or palette(groups))
    k, unit = scale_of(metric, d["mean"], difference=True)
    fig, axes, subfigs = _grid(groups, set(shock), ncols)
    years = d["year"].unique()
    for g, ax in axes.items():
        s = d[d[by] == g].sort_values("year")
        ax.axhline(0, color="black", lw=0.8)
        ax.fill_between(s["year"], s["lo"] * k, s["hi"] * k, color=colors[g], alpha=0.25, lw=0)
        ax.plot(s["year"], s["mean"] * k, color=colors[g], lw=2.2)
        _policy_line(ax, policy_start, years)
        comp = s["comparator"].iloc[0] if len(s) else ""
        ax.set_title(t(f"{g} - {comp}", f"{g} 减 {comp}"), fontsize=9.5, color=colors[g],
                     fontweight="bold")
        _year_axis(ax, years, max_ticks=4)
        _number_axis(ax)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8.5)
    _same_ylim(axes.values())
    for sub in subfigs:
        sub.supylabel(t(f"difference ({unit})", f"差值（{unit}）"), fontsize=9.5)
    n = int(d["n"].min()) if len(d) else 0
    fig.legend([Line2D([], [], color="0.35", lw=2.2), Patch(color="0.35", alpha=0.25)],
               [t(f"mean difference over {n} paired replicates (same seeds)",
                  f"{n}对同种子重复的平均差值"),
                t("90% confidence interval of the mean difference", "平均差值的90%置信区间")],
               loc="outside lower center", ncol=2, frameon=False, fontsize=9)
    _title(fig, title or t(f"{metric_title(metric)}: difference from the comparator",
                           f"{metric_title(metric)}：与对照情景之差"))
    return fig, np.array(list(axes.values()), dtype=object)


_YEAR_MARKERS = ("o", "s", "^", "D", "v", "P")


def plot_differences(diffs: pd.DataFrame, metrics: Sequence[str], years: Sequence[int],
                     by: str = "scenario", colors: Mapping[str, Any] | None = None,
                     shocks: Iterable[str] | None = None) -> tuple[Figure, np.ndarray]:
    """Each group's paired difference from its comparator in chosen years: dots and intervals.

    A column of panels per metric, a row per group (policies, then shocks on a shaded ground),
    a marker per year with its 90% confidence interval; the zero line is "no difference".

    Args:
        diffs: :func:`zq_sim.compare.paired_differences`.
        metrics: the metrics (those without rows are left out).
        years: the years shown (those without rows are left out).
        by: the grouping column.
        colors: colour per group.
        shocks: groups that are shocks (default: :func:`zq_sim.style.is_shock`).

    Returns:
        The figure and its axes (one per metric).

    """
    metrics = [m for m in metrics if m in set(diffs["metric"])]
    years = [y for y in years if y in set(diffs["year"])]
    groups = ordered(diffs[by])
    shock_set = _shock_set(groups, shocks)
    policy, shock = style.order_groups(groups, shock_set)
    colors = dict(colors or palette(policy + shock))
    rows = policy + ([""] if shock and policy else []) + shock
    ypos = {g: len(rows) - 1 - i for i, g in enumerate(rows) if g}
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics) + 2.2,
                                                       1.4 + 0.42 * len(rows)),
                             sharey=True, squeeze=False, layout="constrained")
    axes = axes[0]
    offsets = (np.arange(len(years)) - (len(years) - 1) / 2) * 0.22
    for ax, metric in zip(axes, metrics, strict=True):
        d = diffs[diffs["metric"] == metric]
        k, unit = scale_of(metric, d["mean"], difference=True)
        if shock:
            ax.axhspan(-0.5, len(shock) - 0.5, color="#faf5ee", zorder=0)
        for off, year, marker in zip(offsets, years, _YEAR_MARKERS, strict=False):
            for g in policy + shock:
                r = d[(d[by] == g) & (d["year"] == year)]
                if r.empty:
                    continue
                r = r.iloc[0]
                m, lo, hi = r["mean"] * k, r["lo"] * k, r["hi"] * k
                err = None if not np.isfinite(lo) else [[max(m - lo, 0)], [max(hi - m, 0)]]
                ax.errorbar(m, ypos[g] - off, xerr=err, fmt=marker, color=colors[g], ms=5.5,
                            capsize=2.5, lw=1.3, mfc=colors[g] if off <= 0 else "white")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(metric_title(metric), fontsize=10)
        ax.set_xlabel(unit)
        _number_axis(ax, "x")
        ax.grid(axis="x", alpha=0.3)
    labels = []
    for g in rows:
        if not g:
            continue
        comp = diffs.loc[diffs[by] == g, "comparator"].iloc[0]
        labels.append((ypos[g], str(g) if comp == style.BASELINE
                       else t(f"{g} (vs {comp})", f"{g}（对比{comp}）")))
    axes[0].set_yticks([p for p, _ in labels], [lab for _, lab in labels])
    axes[0].set_ylim(-0.7, len(rows) - 0.3)
    for tick, g in zip(axes[0].get_yticklabels(), [g for g in rows if g], strict=True):
        tick.set_color(colors[g] if g != style.BASELINE else "black")
    handles = [Line2D([], [], color="0.3", marker=mk, ls="", mfc="0.3" if off <= 0 else "white")
               for off, mk in zip(offsets, _YEAR_MARKERS, strict=False)]
    n = int(diffs["n"].min()) if len(diffs) else 0
    _legend_below(fig, handles, [str(y) for y in years], t("year", "年份"),
                  t(f"dot: mean difference over {n} paired replicates (same seeds); "
                    "bar: its 90% confidence interval" + ("; shaded: shocks" if shock else ""),
                    f"点：{n}对同种子重复的平均差值；线：90%置信区间"
                    + ("；底色：冲击情景" if shock else "")))
    _title(fig, t("Each scenario minus the baseline (the baseline minus no_reform)",
                  "各情景与基准情景之差（基准情景对比无改革情景）"))
    return fig, axes


# ------------------------------------------------------------------------------------------
# Income by source
# ------------------------------------------------------------------------------------------
def source_columns(columns: Iterable[str]) -> list[tuple[str, str]]:
    """(source, column) of the ``mean_<source>_income`` columns, known sources first."""
    found = {}
    for c in columns:
        part = outputs.income_part(c)
        if part is not None:
            found[part] = c
    known = [(s, found[s]) for s in SOURCE_COLORS if s in found]
    return known + sorted((s, c) for s, c in found.items() if s not in SOURCE_COLORS)


def plot_income_sources(runs: pd.DataFrame, years: Sequence[int], by: str = "scenario",
                        shocks: Iterable[str] | None = None) -> tuple[Figure, np.ndarray]:
    """Mean income per village by source in chosen years: a stacked bar per group.

    Operating (own) income by source, means over replicates, then fiscal support hatched at the
    end (it is not own income). A panel per year; policies first, shocks on a shaded ground.
    """
    sources = source_columns(runs.columns)
    groups = ordered(runs[by])
    shock_set = _shock_set(groups, shocks)
    policy, shock = style.order_groups(groups, shock_set)
    rows = policy + ([""] if shock and policy else []) + shock
    ypos = {g: len(rows) - 1 - i for i, g in enumerate(rows) if g}
    years = [y for y in years if y in set(runs["year"])]
    fig, axes = plt.subplots(1, len(years), figsize=(5.2 * len(years) + 2.2,
                                                     2.0 + 0.42 * len(rows)),
                             sharey=True, sharex=True, squeeze=False, layout="constrained")
    axes = axes[0]
    fallback = plt.get_cmap("tab20")
    color = {s: SOURCE_COLORS[s] if s in SOURCE_COLORS else fallback(i % 20)
             for i, (s, _) in enumerate(sources)}
    for ax, year in zip(axes, years, strict=True):
        last = runs[runs["year"] == year]
        means = last.groupby(by, sort=False)[[c for _, c in sources]
                                            + (["mean_support"] if "mean_support" in last
                                               else [])].mean()
        if shock:
            ax.axhspan(-0.5, len(shock) - 0.5, color="#faf5ee", zorder=0)
        for g in policy + shock:
            left = 0.0
            for s, c in sources:
                v = means.at[g, c] / WAN
                ax.barh(ypos[g], v, left=left, color=color[s], height=0.7)
                left += v
            if "mean_support" in means:
                v = means.at[g, "mean_support"] / WAN
                ax.barh(ypos[g], v, left=left, color="white", edgecolor="0.4", hatch="////",
                        height=0.7, lw=0.5)
            end = left + (means.at[g, "mean_support"] / WAN if "mean_support" in means else 0)
            ax.annotate(f"{left:,.1f}", xy=(end, ypos[g]), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.set_title(str(year), fontsize=10.5)
        ax.set_xlabel(t("10k yuan (wan yuan) per village per year", "万元/村·年"))
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.08)
    labels = [(ypos[g], str(g)) for g in rows if g]
    axes[0].set_yticks([p for p, _ in labels], [lab for _, lab in labels])
    axes[0].set_ylim(-0.7, len(rows) - 0.3)
    handles = [Patch(color=color[s]) for s, _ in sources]
    names = [t(*outputs.part_label(s)) for s, _ in sources]
    if "mean_support" in runs:
        handles.append(Patch(facecolor="white", edgecolor="0.4", hatch="////"))
        names.append(t("fiscal support (not own income)", "财政补助（非自身收入）"))
    n_rep = int(runs.groupby([by, "year"]).size().min())
    _legend_below(fig, handles, names, "",
                  t(f"bars: means over {n_rep} replicates; number: own (operating) income",
                    f"条：{n_rep}次重复均值；数字：自身经营性收入"))
    _title(fig, t("Village income by source (mean per village)", "村集体收入来源构成（村均）"))
    return fig, axes


# ------------------------------------------------------------------------------------------
# Cost-effectiveness
# ------------------------------------------------------------------------------------------
def plot_cost_effectiveness(ce: pd.DataFrame, by: str = "scenario",
                            colors: Mapping[str, Any] | None = None,
                            shocks: Iterable[str] | None = None) -> tuple[Figure, np.ndarray]:
    """Extra public money and the own income it adds, for weak villages and the whole city.

    Args:
        ce: :func:`zq_sim.compare.cost_effectiveness` rows of one year (one per group).
        by: the grouping column.
        colors: colour per group.
        shocks: groups that are shocks: left out (nobody buys a shock with public money).

    Returns:
        The figure and its three axes: extra public money; bottom-decile own income added per
        yuan; the city's own income added per yuan. A lever that costs no extra public money has
        no ratio: its panel says so and gives the income it adds.

    """
    groups = ordered(ce[by])
    shock_set = _shock_set(groups, shocks)
    ce = ce[~ce[by].isin(shock_set)]
    groups = ordered(ce[by])
    colors = dict(colors or palette(groups))
    ypos = np.arange(len(groups))[::-1]
    fig, axes = plt.subplots(1, 3, figsize=(15, 2.6 + 0.55 * len(groups)), sharey=True,
                             layout="constrained")
    span = f"{int(ce['first_year'].min())}-{int(ce['year'].max())}"
    k, unit = style.money_scale(ce[["extra_mean", "extra_p05", "extra_p95"]].to_numpy().ravel())
    mean = ce["extra_mean"].to_numpy(float) * k
    lo, hi = ce["extra_p05"].to_numpy(float) * k, ce["extra_p95"].to_numpy(float) * k
    ax = axes[0]
    ax.barh(ypos, mean, color=[colors[g] for g in groups], alpha=0.8, height=0.6)
    ax.errorbar(mean, ypos, xerr=np.vstack([mean - lo, hi - mean]).clip(0), fmt="none",
                ecolor="black", capsize=3, lw=1)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_title(t(f"Extra public money, {span}", f"新增财政投入，{span}年"), fontsize=10.5)
    ax.set_xlabel(t(f"{unit}, summed over the years", f"{unit}，逐年合计"))
    _number_axis(ax, "x")
    ax.grid(axis="x", alpha=0.3)
    panels = (("weak", t("Weak villages: bottom-decile own income added\nper yuan of extra "
                         "public money", "薄弱村：每元新增财政投入带来的\n末10%村自身收入增量")),
              ("city", t("Whole city: own income added\nper yuan of extra public money",
                         "全市：每元新增财政投入带来的\n村集体自身收入增量")))
    for ax, (name, title) in zip(axes[1:], panels, strict=True):
        ratio = ce[f"{name}_ratio"].to_numpy(float)
        ok = np.isfinite(ratio)
        rlo = ce[f"{name}_ratio_p05"].to_numpy(float)
        rhi = ce[f"{name}_ratio_p95"].to_numpy(float)
        if ok.any():
            ax.barh(ypos[ok], ratio[ok], color=[colors[g] for g, o in zip(groups, ok,
                                                                          strict=True) if o],
                    alpha=0.8, height=0.6)
            ax.errorbar(ratio[ok], ypos[ok],
                        xerr=np.vstack([ratio - rlo, rhi - ratio])[:, ok].clip(0), fmt="none",
                        ecolor="black", capsize=3, lw=1)
            top = float(np.nanmax(np.r_[rhi[ok], ratio[ok]]))
            top = 1.05 if 0.7 <= top < 1.0 else top  # near 1: show the 1 yuan per yuan line
            bottom = float(np.nanmin(np.r_[rlo[ok], 0.0]))
            pad = 0.08 * (top - bottom) or 0.1
            ax.set_xlim(bottom - pad, top + pad)
            if top >= 1.0:
                ax.axvline(1.0, color="0.3", lw=0.8, ls="--")
        else:
            ax.set_xlim(0, 2)
        ax.axvline(0, color="black", lw=0.8)
        added_scale = style.money_scale(ce[f"{name}_mean"])
        for y, r in zip(ypos, ce.itertuples(), strict=True):
            if r.cost != "more":
                what = {"none": t("no extra public money", "无新增财政投入"),
                        "saves": t("saves public money", "节省财政资金"),
                        "mixed": t("extra money of varying sign", "新增投入正负不定")}[r.cost]
                added = style.format_money(getattr(r, f"{name}_mean"), added_scale)
                ax.annotate(t(f"no ratio: {what};\nadds {added}",
                              f"不计比值：{what}；\n增收{added}"),
                            xy=(0.02, y), xycoords=("axes fraction", "data"), va="center",
                            fontsize=8.5, color="0.15",
                            bbox={"boxstyle": "round", "fc": "#fff4cc", "ec": "#d4a017"})
        ax.set_title(title, fontsize=10.5)
        ax.set_xlabel(t("yuan of own income per yuan (ratio of the means)",
                        "元/元（均值之比）"))
        ax.grid(axis="x", alpha=0.3)
    labels = [f"{g}\n" + t(f"vs {c}", f"对比{c}") for g, c in zip(groups, ce["comparator"],
                                                                  strict=True)]
    axes[0].set_yticks(ypos, labels)
    n = int(ce["n_seeds"].min()) if len(ce) else 0
    fig.supxlabel(t(f"bars: mean of {n} paired replicates; whiskers: 90% of replicates "
                    "(bootstrap over replicates for the ratios). Own income excludes fiscal "
                    "support; dashed: 1 yuan per yuan (where in range).\nWeak villages: the "
                    "10th-percentile village's added income times the villages in the bottom "
                    "decile.",
                    f"条：{n}对同种子重复的均值；须：90%区间（比值为自助法）。自身收入不含财政"
                    "补助；虚线：1元/元（在范围内时）。\n薄弱村：第10百分位村的增收乘以末10%的村数。"),
                  fontsize=8.5)
    _title(fig, t(f"What the public money buys, {span}: each policy against its comparator",
                  f"财政投入的成效（{span}年）：各政策对比其对照情景"))
    return fig, axes


# ------------------------------------------------------------------------------------------
# Villages, counties, heat maps
# ------------------------------------------------------------------------------------------
#: Tick values (10k yuan) for the logarithmic income axes.
_LOG_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000)


def _log_money_axis(ax: Axes, lo: float, hi: float) -> None:
    """A logarithmic axis in 10k yuan with plain tick labels."""
    ax.set_xscale("log")
    lo, hi = max(lo, 0.1), max(hi, lo * 1.5)
    ax.set_xlim(lo / 1.25, hi * 1.25)
    ticks = [t for t in _LOG_TICKS if lo / 1.25 <= t <= hi * 1.25]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _threshold_lines(ax: Axes) -> None:
    for value, text in ((FLOOR, t("150k", "15万")), (HIGHER, t("200k", "20万"))):
        ax.axvline(value / WAN, color="0.4", lw=0.8, ls="--", zorder=0)
        ax.annotate(text, xy=(value / WAN, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, -10), textcoords="offset points", fontsize=8, color="0.3")


def _range(*arrays: np.ndarray) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    lo = min(np.min(values), FLOOR / WAN) if values.size else FLOOR / WAN
    hi = max(np.max(values), HIGHER / WAN) if values.size else HIGHER / WAN
    return float(lo), float(hi)


def plot_income_distribution(villages: pd.DataFrame, by: str = "scenario",
                             income: str = "operating_income",
                             colors: Mapping[str, tuple] | None = None,
                             ) -> tuple[Figure, Axes]:
    """Distribution of village income in one year, a box per group (villages of all replicates).

    Args:
        villages: one row per village and replicate, with ``by`` and the ``income`` column.
        by: the grouping column.
        income: ``operating_income`` or ``total_income`` (yuan).
        colors: colour per group.

    Returns:
        The figure and its axes. Boxes span the middle half of villages, whiskers 5% to 95%,
        the line is the median and the diamond the mean; the axis is logarithmic.

    """
    groups = ordered(villages[by])
    colors = dict(colors or palette(groups))
    fig, ax = plt.subplots(figsize=(10, 1.9 + 0.5 * len(groups)), layout="constrained")
    data = [villages.loc[villages[by] == g, income].to_numpy(float) / WAN for g in groups]
    data = [np.clip(d, 0.1, None) for d in data]  # log axis: zero or less is drawn at 1,000 yuan
    pos = np.arange(len(groups))[::-1]
    box = ax.boxplot(data, positions=pos, **_HORIZONTAL, whis=(5, 95),
                     showfliers=False, showmeans=True, widths=0.6, patch_artist=True,
                     medianprops={"color": "black", "lw": 1.5},
                     meanprops={"marker": "D", "markerfacecolor": "white",
                                "markeredgecolor": "black", "markersize": 5})
    for patch, g in zip(box["boxes"], groups, strict=True):
        patch.set_facecolor(colors[g])
        patch.set_alpha(0.75)
    ax.set_yticks(pos, [str(g) for g in groups])
    _log_money_axis(ax, *_range(*[np.percentile(d, [5, 95]) for d in data if d.size]))
    _threshold_lines(ax)
    what = "operating income" if income == "operating_income" else "total income"
    what_zh = "经营性收入" if income == "operating_income" else "总收入"
    ax.set_xlabel(t(f"Village {what} (10k yuan (wan yuan) per year, log scale)",
                    f"村{what_zh}（万元/年，对数轴）"))
    ax.set_ylabel(t(by, "情景") if by == "scenario" else by)
    ax.grid(axis="x", alpha=0.3)
    year = int(villages["year"].max()) if "year" in villages else None
    n_rep = int(villages.groupby(by)["seed"].nunique().min()) if "seed" in villages else 1
    ax.set_title(t(f"box: middle 50% of villages; whiskers: 5th-95th percentile; line: median; "
                   f"diamond: mean\nvillages of {n_rep} replicates pooled",
                   f"箱：中间50%的村；须：第5-95百分位；线：中位数；菱形：均值\n{n_rep}次重复的村合并"),
                 fontsize=9.5)
    _title(fig, t(f"Village {what} in {year}, spread over villages",
                  f"{year}年各村{what_zh}分布"))
    return fig, ax


def plot_income_percentiles(runs: pd.DataFrame, by: str = "scenario",
                            colors: Mapping[str, tuple] | None = None) -> tuple[Figure, Axes]:
    """Distribution of village operating income in the last year from the time series alone.

    The fallback when no village panel was written: per group, the 10th-90th percentile range of
    villages (a thick bar), the median (a dot) and the mean (a diamond), each averaged over
    replicates; the thin whiskers on the median show its 90% interval over replicates.
    """
    groups = ordered(runs[by])
    colors = dict(colors or palette(groups))
    year = int(runs["year"].max())
    last = runs[runs["year"] == year]
    fig, ax = plt.subplots(figsize=(10, 1.9 + 0.5 * len(groups)), layout="constrained")
    pos = np.arange(len(groups))[::-1]
    for y, g in zip(pos, groups, strict=True):
        s = last[last[by] == g]
        p10, p90 = s["p10_operating_income"].mean() / WAN, s["p90_operating_income"].mean() / WAN
        med = s["median_operating_income"].to_numpy(float) / WAN
        m = med.mean()
        ax.plot([max(p10, 0.1), p90], [y, y], color=colors[g], lw=12, alpha=0.7,
                solid_capstyle="butt")
        ax.errorbar(m, y, xerr=[[max(m - np.percentile(med, 5), 0.0)],
                                [max(np.percentile(med, 95) - m, 0.0)]],
                    fmt="o", color="black", ms=5, capsize=3, lw=1)
        ax.plot(s["mean_operating_income"].mean() / WAN, y, "D", mfc="white", mec="black", ms=5)
    ax.set_yticks(pos, [str(g) for g in groups])
    _log_money_axis(ax, *_range(last["p10_operating_income"] / WAN,
                                last["p90_operating_income"] / WAN))
    _threshold_lines(ax)
    ax.set_xlabel(t("Village operating income (10k yuan (wan yuan) per year, log scale)",
                    "村经营性收入（万元/年，对数轴）"))
    ax.set_ylabel(t(by, "情景") if by == "scenario" else by)
    ax.grid(axis="x", alpha=0.3)
    n_rep = int(last.groupby(by)["seed"].nunique().min()) if "seed" in last else 1
    ax.set_title(t(f"bar: 10th-90th percentile of villages; dot: median (whiskers: 90% of "
                   f"replicates); diamond: mean\neach an average over {n_rep} replicates; "
                   f"no village panel was written, so this is drawn from the time series",
                   f"条：第10-90百分位的村；点：中位数（须：90%的重复）；菱形：均值\n"
                   f"均为{n_rep}次重复的平均；未输出村级面板，据逐年分位数绘制"),
                 fontsize=9.5)
    _title(fig, t(f"Village operating income in {year}, spread over villages "
                  f"(from the yearly percentiles)", f"{year}年各村经营性收入分布（据逐年分位数）"))
    return fig, ax


def county_table(villages: pd.DataFrame, by: str = "scenario") -> pd.DataFrame:
    """Per group, county and replicate: mean operating income, share of own income below 200k.

    The share counts villages whose own (operating) income, before support, is below 200k yuan.
    """
    v = villages.assign(_below=villages["operating_income"] < HIGHER)
    per_rep = v.groupby([by, "county", "seed"], sort=False, observed=True).agg(
        mean_operating_income=("operating_income", "mean"),
        share_own_below_200k=("_below", "mean"))
    return per_rep.reset_index()


def plot_counties(villages: pd.DataFrame, by: str = "scenario",
                  colors: Mapping[str, tuple] | None = None) -> tuple[Figure, np.ndarray]:
    """County by county: mean operating income and the share of villages below 200k yuan.

    A dot per group and county (mean over replicates) with whiskers over 90% of replicates;
    counties in pinyin, the eastern ones first.
    """
    groups = ordered(villages[by])
    colors = dict(colors or palette(groups))
    per_rep = county_table(villages, by)
    present = set(per_rep["county"])
    counties = [c for c in COUNTY_PINYIN if c in present] + sorted(present - set(COUNTY_PINYIN))
    rows = len(counties) * max(1.0, len(groups) / 4)
    fig, axes = plt.subplots(1, 2, figsize=(12, 2.2 + 0.5 * rows), sharey=True,
                             layout="constrained")
    height = 0.75
    offsets = (np.arange(len(groups)) - (len(groups) - 1) / 2) * height / max(len(groups), 1)
    ypos = np.arange(len(counties))[::-1]
    for ax, metric, k in ((axes[0], "mean_operating_income", 1 / WAN),
                          (axes[1], "share_own_below_200k", 100.0)):
        stats = spread(per_rep, [by, "county"], metric)
        for off, g in zip(offsets[::-1], groups, strict=True):
            s = stats[stats[by] == g].set_index("county").reindex(counties)
            mean = s["mean"].to_numpy() * k
            err = np.vstack([mean - s["p05"].to_numpy() * k, s["p95"].to_numpy() * k - mean])
            ax.errorbar(mean, ypos + off, xerr=np.clip(err, 0.0, None), fmt="o", color=colors[g],
                        ms=5, capsize=2, lw=1.2, label=str(g))
        ax.grid(axis="x", alpha=0.3)
        for y in ypos[:-1]:
            ax.axhline(y - 0.5, color="0.85", lw=0.6)
    axes[0].set_yticks(ypos, [county_label(c) + (t(" (east)", "（东）") if c in EAST
                                                 else t(" (west)", "（西）"))
                              for c in counties])
    axes[0].set_xlabel(t("10k yuan (wan yuan) per village per year", "万元/村·年"))
    axes[0].set_title(metric_title("mean_operating_income"), fontsize=10.5)
    _number_axis(axes[0], "x")
    axes[1].set_xlabel(t("% of the county's villages", "占本县村数的%"))
    axes[1].set_title(metric_title("share_own_below_200k"),
                      fontsize=10.5)
    axes[1].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    axes[1].set_xlim(left=-0.02 * max(1.0, axes[1].get_xlim()[1]))
    axes[0].set_ylim(-0.6, len(counties) - 0.4)
    handles = [Line2D([], [], color=colors[g], marker="o", lw=1.2) for g in groups]
    n_rep = int(per_rep.groupby(by)["seed"].nunique().min())
    _legend_below(fig, handles, [str(g) for g in groups], by,
                  f"dots: mean of {n_rep} replicates; whiskers: 90% of replicates")
    year = int(villages["year"].max()) if "year" in villages else ""
    _title(fig, t(f"County by county, {year}", f"{year}年分县（市、区）比较"))
    return fig, axes


def plot_heatmap(runs: pd.DataFrame, x: str, y: str, metric: str,
                 xlabel: str | None = None, ylabel: str | None = None,
                 cmap: str = "viridis") -> tuple[Figure, Axes]:
    """A metric in the last year over two swept parameters: colour is the mean over replicates.

    Each cell is annotated with its mean and, below, the 90% interval over replicates.

    Args:
        runs: one row per replicate and year with columns ``x``, ``y``, ``year`` and ``metric``.
        x: parameter on the horizontal axis.
        y: parameter on the vertical axis.
        metric: the metric (its label and unit from :mod:`zq_sim.outputs`).
        xlabel: axis label (default: the parameter's name).
        ylabel: axis label (default: the parameter's name).
        cmap: colour map.

    Returns:
        The figure and its axes.

    """
    year = int(runs["year"].max())
    last = runs[runs["year"] == year]
    stats = spread(last, [y, x], metric)
    xs, ys = sorted(stats[x].unique()), sorted(stats[y].unique())
    k, unit = scale_of(metric, last[metric])

    def table(col: str) -> np.ndarray:
        grid = stats.pivot_table(index=y, columns=x, values=col, aggfunc="mean")
        return grid.reindex(index=ys, columns=xs).to_numpy(float) * k

    values, lo, hi = table("mean"), table("p05"), table("p95")
    fig, ax = plt.subplots(figsize=(1.8 * len(xs) + 3.6, 1.15 * len(ys) + 2.6),
                           layout="constrained")
    im = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto")
    label = metric_title(metric)
    bar = fig.colorbar(im, ax=ax)
    bar.set_label(t(f"{unit}, mean over replicates", f"{unit}，重复均值"))
    pct = unit.startswith("%")

    def fmt(v: float) -> str:
        if not np.isfinite(v):
            return "n/a"
        if pct:
            return f"{v:.1f}%" if abs(v) >= 1 or v == 0 else f"{v:.2f}%"
        return f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"

    finite = values[np.isfinite(values)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for i in range(len(ys)):
        for j in range(len(xs)):
            v = values[i, j]
            color = "black" if np.isfinite(v) and v > mid else "white"
            ax.text(j, i, f"{fmt(v)}\n[{fmt(lo[i, j])}, {fmt(hi[i, j])}]",
                    ha="center", va="center", fontsize=9, color=color)

    def tick(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float | np.floating) else str(v)

    ax.set_xticks(range(len(xs)), [tick(v) for v in xs])
    ax.set_yticks(range(len(ys)), [tick(v) for v in ys])
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    n = int(stats["n"].min())
    subtitle = t(f"cell: mean of {n} replicates [90% of replicates]",
                 f"格：{n}次重复的均值 [90%的重复]")
    if finite.size and finite.max() - finite.min() < np.nanmedian(hi - lo):
        subtitle += t("\nthe cells differ by less than the typical spread between replicates: "
                      "read the colours with care", "\n各格之差小于重复间的典型离散：颜色须慎读")
    ax.set_title(subtitle, fontsize=9.5)
    _title(fig, f"{label}, {year}")
    return fig, ax

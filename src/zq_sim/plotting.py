"""Figures of a sweep: pure functions from tidy tables to matplotlib (figure, axes).

Every function takes a DataFrame (the tables that :mod:`zq_sim.report` collects from the run
outputs), draws, and returns ``(fig, ax)`` or ``(fig, axes)``; none saves or shows, and none
imports the model. The tables:

- ``runs``: one row per job, replicate and year, as in each job's ``timeseries.parquet``, with a
  grouping column (``scenario`` by default, or any label such as the report's ``group``);
- ``villages``: one row per village and replicate (of one year), as in ``villages.parquet``;
- ``public``: one row per scenario, from :func:`zq_sim.report.public_money_table`.

Lines are means over replicates and bands (or whiskers) the 5th to 95th percentile over
replicates, i.e. where 90% of the simulated outcomes fall. Money is shown in units of 10,000 yuan
(万元), written "10k yuan" because the default fonts have no Chinese glyphs; county names are
shown in pinyin for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

#: 10,000 yuan (万元): the unit of money in the figures.
WAN = 1.0e4
MONEY_UNIT = "10k yuan"
#: Income thresholds of the targets (yuan): the 2024 floor and the next step.
FLOOR, HIGHER = 150_000.0, 200_000.0

#: Zhaoqing's county-level units (data/counties.csv) in pinyin, east first, then west.
COUNTY_PINYIN: dict[str, str] = {
    "端州区": "Duanzhou", "鼎湖区": "Dinghu", "高要区": "Gaoyao", "四会市": "Sihui",
    "广宁县": "Guangning", "怀集县": "Huaiji", "封开县": "Fengkai", "德庆县": "Deqing",
}
EAST = ("端州区", "鼎湖区", "高要区", "四会市")

#: What each metric of the time series means: (label, unit, factor from the stored value).
METRICS: dict[str, tuple[str, str, float]] = {
    "mean_operating_income": ("Mean operating income per village", MONEY_UNIT, 1 / WAN),
    "median_operating_income": ("Median operating income per village", MONEY_UNIT, 1 / WAN),
    "min_operating_income": ("Lowest village's operating income", MONEY_UNIT, 1 / WAN),
    "p10_operating_income": ("10th percentile of operating income", MONEY_UNIT, 1 / WAN),
    "mean_total_income": ("Mean total income per village (incl. fiscal support)",
                          MONEY_UNIT, 1 / WAN),
    "min_total_income": ("Lowest village's total income (incl. fiscal support)",
                         MONEY_UNIT, 1 / WAN),
    "share_below_150k": ("Villages with total income below 150k yuan", "% of villages", 100.0),
    "share_below_200k": ("Villages with total income below 200k yuan", "% of villages", 100.0),
    "gini": ("Gini coefficient of operating income", "0 = equal, 1 = one village has all", 1.0),
    "total_operating_income": ("Operating income of all villages", MONEY_UNIT, 1 / WAN),
    "total_income": ("Total income of all villages", MONEY_UNIT, 1 / WAN),
    "public_spending": ("Public money spent on the policy levers", MONEY_UNIT, 1 / WAN),
    "fixed_assets": ("Fixed assets of all villages", MONEY_UNIT, 1 / WAN),
    "companies": ("Strong-village companies", "companies", 1.0),
    "land_transferred_stock": ("Farmland transferred", "mu", 1.0),
}

#: Keyword for horizontal box plots (``vert`` was replaced by ``orientation`` in matplotlib 3.10).
_HORIZONTAL = ({"orientation": "horizontal"}
               if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (3, 10)
               else {"vert": False})



def county_label(name: str) -> str:
    """Pinyin name of a county (the name itself if unknown)."""
    return COUNTY_PINYIN.get(name, name)


def metric_label(metric: str) -> str:
    """'Label (unit)' for an axis."""
    label, unit, _ = METRICS.get(metric, (metric.replace("_", " "), "", 1.0))
    return f"{label} ({unit})" if unit else label


def _scale(metric: str) -> float:
    return METRICS.get(metric, ("", "", 1.0))[2]


def ordered(values: Iterable) -> list:
    """Distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


def palette(groups: Sequence[str]) -> dict[str, tuple]:
    """A colour per group: tab10 up to ten groups, tab20 beyond."""
    cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20")
    return {g: cmap(i % cmap.N) for i, g in enumerate(groups)}


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


def _money_axis(ax: Axes, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.3g}")
    which = ax.yaxis if axis == "y" else ax.xaxis
    which.set_major_formatter(fmt)
    if axis == "x":
        which.set_major_locator(MaxNLocator(4))


def _year_axis(ax: Axes, years: Sequence[int]) -> None:
    years = sorted(set(int(y) for y in years))
    step = max(1, int(np.ceil(len(years) / 8)))
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
        leg.set_title(f"{title}    ({note})")
    leg.get_title().set_fontsize(9.5)


def _title(fig: Figure, title: str) -> None:
    fig.suptitle(title, fontsize=12.5, fontweight="bold")


def plot_time_bands(runs: pd.DataFrame, metrics: Sequence[str], by: str = "scenario",
                    colors: Mapping[str, tuple] | None = None, title: str | None = None,
                    policy_start: int | None = 2024,
                    references: Mapping[str, tuple[float, str]] | None = None,
                    ) -> tuple[Figure, np.ndarray]:
    """One panel per metric over the years: a line and a 90% band per group.

    Args:
        runs: one row per replicate and year with ``by``, ``year`` and the metrics.
        metrics: columns to draw (see :data:`METRICS` for their labels and units).
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
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.8), squeeze=False,
                             layout="constrained")
    axes = axes[0]
    years = runs["year"].unique()
    for ax, metric in zip(axes, metrics, strict=True):
        stats = spread(runs, [by, "year"], metric)
        k = _scale(metric)
        for g in groups:
            s = stats[stats[by] == g].sort_values("year")
            ax.fill_between(s["year"], s["p05"] * k, s["p95"] * k, color=colors[g], alpha=0.18,
                            lw=0)
            ax.plot(s["year"], s["mean"] * k, color=colors[g], lw=2, label=str(g))
        ref = (references or {}).get(metric)
        if ref is not None:
            ax.axhline(ref[0] * k, color="0.25", lw=1, ls="--")
            ax.annotate(ref[1], xy=(0.01, ref[0] * k), xycoords=("axes fraction", "data"),
                        xytext=(0, 3), textcoords="offset points", fontsize=8, color="0.25")
        _policy_line(ax, policy_start, years)
        label, unit, _ = METRICS.get(metric, (metric.replace("_", " "), "", 1.0))
        ax.set_title(label, fontsize=10.5)
        ax.set_ylabel(unit)
        ax.set_xlabel("year")
        _year_axis(ax, years)
        if unit.startswith("%"):
            ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
            ax.set_ylim(bottom=0)
        elif unit == MONEY_UNIT:
            _money_axis(ax)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colors[g], lw=2) for g in groups]
    n_rep = int(runs.groupby([by, "year"]).size().min())
    note = (f"lines: mean of {n_rep} replicates; bands: 90% of replicates"
            + (f"; dotted: policy start {policy_start}" if policy_start else ""))
    _legend_below(fig, handles, [str(g) for g in groups], by, note)
    _title(fig, title or "")
    return fig, axes


def plot_income_over_time(runs: pd.DataFrame, by: str = "scenario",
                          colors: Mapping[str, tuple] | None = None,
                          policy_start: int | None = 2024) -> tuple[Figure, np.ndarray]:
    """Mean and lowest village income over the years, one band per group.

    Three panels: mean operating income, the lowest village's operating income, and the lowest
    village's total income (operating income plus fiscal support) against the 150k floor.
    """
    return plot_time_bands(
        runs, ["mean_operating_income", "min_operating_income", "min_total_income"], by=by,
        colors=colors, policy_start=policy_start,
        title="Village collective income over the years",
        references={"min_total_income": (FLOOR, "150k yuan floor")})


def plot_share_below(runs: pd.DataFrame, by: str = "scenario",
                     colors: Mapping[str, tuple] | None = None,
                     policy_start: int | None = 2024) -> tuple[Figure, np.ndarray]:
    """Share of villages whose total income is below 150k and 200k yuan, over the years."""
    return plot_time_bands(
        runs, ["share_below_150k", "share_below_200k"], by=by, colors=colors,
        policy_start=policy_start,
        title="Weak villages: share with total income (incl. fiscal support) below a threshold")


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
    for value, text in ((FLOOR, "150k"), (HIGHER, "200k")):
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
    ax.set_xlabel(f"Village {what} ({MONEY_UNIT} per year, log scale)")
    ax.set_ylabel(by)
    ax.grid(axis="x", alpha=0.3)
    year = int(villages["year"].max()) if "year" in villages else None
    n_rep = int(villages.groupby(by)["seed"].nunique().min()) if "seed" in villages else 1
    ax.set_title(f"box: middle 50% of villages; whiskers: 5th-95th percentile; line: median; "
                 f"diamond: mean\nvillages of {n_rep} replicates pooled", fontsize=9.5)
    _title(fig, f"Village {what} in {year}, spread over villages")
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
    ax.set_xlabel(f"Village operating income ({MONEY_UNIT} per year, log scale)")
    ax.set_ylabel(by)
    ax.grid(axis="x", alpha=0.3)
    n_rep = int(last.groupby(by)["seed"].nunique().min()) if "seed" in last else 1
    ax.set_title(f"bar: 10th-90th percentile of villages; dot: median (whiskers: 90% of "
                 f"replicates); diamond: mean\neach an average over {n_rep} replicates; "
                 f"no village panel was written, so this is drawn from the time series",
                 fontsize=9.5)
    _title(fig, f"Village operating income in {year}, spread over villages "
                f"(from the yearly percentiles)")
    return fig, ax


def county_table(villages: pd.DataFrame, by: str = "scenario") -> pd.DataFrame:
    """Per group, county and replicate: mean operating income and share below 200k yuan."""
    v = villages.assign(_below=villages["total_income"] < HIGHER)
    per_rep = v.groupby([by, "county", "seed"], sort=False, observed=True).agg(
        mean_operating_income=("operating_income", "mean"), share_below_200k=("_below", "mean"))
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
                          (axes[1], "share_below_200k", 100.0)):
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
    axes[0].set_yticks(ypos, [county_label(c) + (" (east)" if c in EAST else " (west)")
                              for c in counties])
    axes[0].set_xlabel(f"{MONEY_UNIT} per village per year")
    axes[0].set_title("Mean operating income per village", fontsize=10.5)
    _money_axis(axes[0], "x")
    axes[1].set_xlabel("% of the county's villages")
    axes[1].set_title("Villages with total income (incl. fiscal support) below 200k yuan",
                      fontsize=10.5)
    axes[1].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    axes[1].set_xlim(left=-0.02 * max(1.0, axes[1].get_xlim()[1]))
    axes[0].set_ylim(-0.6, len(counties) - 0.4)
    handles = [Line2D([], [], color=colors[g], marker="o", lw=1.2) for g in groups]
    n_rep = int(per_rep.groupby(by)["seed"].nunique().min())
    _legend_below(fig, handles, [str(g) for g in groups], by,
                  f"dots: mean of {n_rep} replicates; whiskers: 90% of replicates")
    year = int(villages["year"].max()) if "year" in villages else ""
    _title(fig, f"County by county, {year}")
    return fig, axes


def plot_public_money(public: pd.DataFrame) -> tuple[Figure, np.ndarray]:
    """Added income, extra public money and their ratio, per scenario against its comparator.

    Args:
        public: one row per scenario with ``label`` (e.g. "land_transfer vs baseline"),
            ``added_mean/_p05/_p95`` (cumulative added total income, yuan),
            ``extra_mean/_p05/_p95`` (cumulative extra public spending, yuan),
            ``ratio``, ``ratio_p05``, ``ratio_p95`` (yuan per yuan, NaN where not defined),
            ``note`` (why a ratio is not defined), ``first_year``, ``last_year``, ``n_seeds``.

    Returns:
        The figure and its three axes.

    """
    labels = list(public["label"])
    ypos = np.arange(len(labels))[::-1]
    fig, axes = plt.subplots(1, 3, figsize=(15, 2.4 + 0.65 * len(labels)), sharey=True,
                             layout="constrained")
    span = f"{int(public['first_year'].min())}-{int(public['last_year'].max())}"
    panels = (("added", f"Added total income, {span}", "tab:green"),
              ("extra", f"Extra public money, {span}", "tab:orange"))
    for ax, (key, title, color) in zip(axes[:2], panels, strict=False):
        mean = public[f"{key}_mean"].to_numpy(float) / WAN
        lo, hi = public[f"{key}_p05"].to_numpy(float) / WAN, public[f"{key}_p95"].to_numpy(
            float) / WAN
        ax.barh(ypos, mean, color=color, alpha=0.7, height=0.6)
        ax.errorbar(mean, ypos, xerr=np.vstack([mean - lo, hi - mean]).clip(0), fmt="none",
                    ecolor="black", capsize=3, lw=1)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(title, fontsize=10.5)
        ax.set_xlabel(f"{MONEY_UNIT}, summed over the years")
        _money_axis(ax, "x")
        ax.grid(axis="x", alpha=0.3)
    ax = axes[2]
    ratio = public["ratio"].to_numpy(float)
    ok = np.isfinite(ratio)
    if ok.any():
        lo, hi = public["ratio_p05"].to_numpy(float), public["ratio_p95"].to_numpy(float)
        ax.barh(ypos[ok], ratio[ok], color="tab:blue", alpha=0.7, height=0.6)
        ax.errorbar(ratio[ok], ypos[ok], xerr=np.vstack([ratio - lo, hi - ratio])[:, ok].clip(0),
                    fmt="none", ecolor="black", capsize=3, lw=1)
        ax.axvline(1.0, color="0.3", lw=0.8, ls="--")
        ax.annotate("1 yuan per yuan", xy=(1.0, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -10), textcoords="offset points", fontsize=8, color="0.3")
        ax.set_xlim(left=min(0.0, float(np.nanmin(lo[ok])) * 1.1))
    else:
        ax.set_xlim(0, 2)
        ax.set_xticks([])
    ax.axvline(0, color="black", lw=0.8)
    for y, note, good in zip(ypos, public["note"].fillna(""), ok, strict=True):
        if not good:
            ax.annotate("not defined:\n" + note, xy=(0.03, y), xycoords=("axes fraction", "data"),
                        va="center", fontsize=8.5, color="0.2")
    ax.set_title("Added income per extra yuan of public money", fontsize=10.5)
    ax.set_xlabel("yuan per yuan (ratio of the means)")
    ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(ypos, [lab.replace(" vs ", "\nvs ") for lab in labels])
    n = int(public["n_seeds"].min()) if "n_seeds" in public else 0
    fig.supxlabel(f"bars: mean of {n} paired replicates; whiskers: 90% of replicates "
                  "(bootstrap over replicates for the ratio). Total income includes fiscal "
                  "support, so a pure transfer scores 1.", fontsize=9)
    _title(fig, "What the public money buys: each scenario against its comparator, same seeds")
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
        metric: the metric (see :data:`METRICS`).
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
    k = _scale(metric)

    def table(col: str) -> np.ndarray:
        grid = stats.pivot_table(index=y, columns=x, values=col, aggfunc="mean")
        return grid.reindex(index=ys, columns=xs).to_numpy(float) * k

    values, lo, hi = table("mean"), table("p05"), table("p95")
    fig, ax = plt.subplots(figsize=(1.8 * len(xs) + 3.6, 1.15 * len(ys) + 2.6),
                           layout="constrained")
    im = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto")
    label, unit, _ = METRICS.get(metric, (metric.replace("_", " "), "", 1.0))
    bar = fig.colorbar(im, ax=ax)
    bar.set_label(f"{unit}, mean over replicates")
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
    subtitle = f"cell: mean of {n} replicates [90% of replicates]"
    if finite.size and finite.max() - finite.min() < np.nanmedian(hi - lo):
        subtitle += ("\nthe cells differ by less than the typical spread between replicates: "
                     "read the colours with care")
    ax.set_title(subtitle, fontsize=9.5)
    _title(fig, f"{label}, {year}")
    return fig, ax

"""The report's figures (report.py): what to draw for a sweep, as figure specifications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from zq_sim import compare, outputs, plotting, style
from zq_sim.report_tables import (
    DIFF_METRICS,
    WEAK_METRICS,
    _axis_label,
    report_years,
    summary_table,
)
from zq_sim.sweep_collect import Sweep, ordered_unique


# ------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------
@dataclass
class FigureSpec:
    """A figure of the report: file name, heading, caption and a function that draws it."""

    name: str
    heading: str
    caption: str
    draw: Any


@dataclass
class Analysis:
    """What the report computes from a sweep before it draws and writes."""

    sweep: Sweep
    years: list[int]
    groups: list[str]
    shocks: list[str]
    colors: dict[str, str]
    comparator_of: dict[str, str]
    summary: pd.DataFrame
    diffs: pd.DataFrame
    ce: pd.DataFrame
    missing: list[str]


def analyse(sweep: Sweep, years: Sequence[int] = (), comparator: str | None = None) -> Analysis:
    """Summaries, paired differences and cost-effectiveness of a collected sweep."""
    runs, by = sweep.runs, sweep.by
    chosen = report_years(runs, years)
    groups = ordered_unique(runs[by])
    first = runs.drop_duplicates(by)
    scen = dict(zip(first[by], first["scenario"], strict=True))
    shocks = [g for g in groups if style.is_shock(str(scen[g]))]
    colors = style.colors_for(groups, shocks)
    comparator_of = compare.comparators(runs, by, sweep.params, comparator)
    summary = summary_table(runs, by=by, keys=sweep.params, years=chosen)
    diffs = compare.paired_differences(runs, DIFF_METRICS, by, comparator_of)
    ce = compare.cost_effectiveness(runs, by, {g: c for g, c in comparator_of.items()
                                               if g not in shocks},
                                    first_year=sweep.policy_start, years=chosen)
    missing = [m for m in WEAK_METRICS if m not in runs.columns]
    return Analysis(sweep, chosen, groups, shocks, colors, comparator_of, summary, diffs, ce,
                    missing)


def figures(a: Analysis) -> tuple[list[FigureSpec], list[str]]:
    """The report's figures for this sweep, and notes on those it cannot draw."""
    sweep = a.sweep
    runs, by = sweep.runs, sweep.by
    ps = sweep.policy_start
    kw = {"by": by, "colors": a.colors, "shocks": a.shocks}
    notes: list[str] = []
    out: list[FigureSpec] = []
    n = int(runs.groupby("job")["seed"].nunique().min())
    band = (f"Each panel is one scenario: its mean over {n} replicates (line) and the band "
            "holding 90% of them; the black dashed line is the baseline's mean, for comparison. "
            "Panels share one axis. Shocks are drawn apart, below the policies.")

    def multiples(metric: str, title: str, **extra: Any):
        return lambda: plotting.plot_small_multiples(runs, metric, policy_start=ps, title=title,
                                                     **kw, **extra)

    if "p10_operating_income" in runs:
        out.append(FigureSpec(
            "weak_income", "Weak villages' own income",
            "Operating income (own income, before fiscal support) of the village at the 10th "
            "percentile: nine in ten villages earn more. " + band + " Money in 万元.",
            multiples("p10_operating_income", style.t(
                "Weak villages: own income of the bottom-decile village",
                "薄弱村：末10%分位村的自身经营性收入"))))
    if {"share_own_below_150k", "share_own_below_200k"} <= set(runs.columns):
        out.append(FigureSpec(
            "own_below", "Villages below 150k and 200k of own income",
            "Share of villages whose own (operating) income, before fiscal support, is below "
            "200k yuan (solid, with band) and 150k yuan (dotted). " + band,
            multiples("share_own_below_200k", style.t(
                "Villages whose own income is below 200k yuan (solid) and 150k (dotted)",
                "自身经营性收入低于20万元（实线）和15万元（点线）的村占比"),
                companion="share_own_below_150k")))
    else:
        notes.append("Figure of villages below 150k/200k of own income not drawn: this sweep's "
                     "time series has no `share_own_below_150k`/`share_own_below_200k` (it was "
                     "run before the model recorded them); re-run it with the current model.")
    if "villages_supported" in runs:
        out.append(FigureSpec(
            "support_villages", "Villages on fiscal support",
            "Number of villages receiving fiscal support each year. " + band,
            multiples("villages_supported", style.t("Villages receiving fiscal support",
                                                    "获得财政补助的村数"))))
    else:
        notes.append("Figure of villages on support not drawn: this sweep's time series has no "
                     "`villages_supported`; re-run it with the current model.")
    if "public_support" in runs:
        out.append(FigureSpec(
            "support_cost", "What the support costs",
            "Fiscal support paid to weak villages each year (its public cost). " + band,
            multiples("public_support", style.t("Fiscal support paid to weak villages (cost)",
                                                "薄弱村财政补助支出"))))
    if len(a.diffs):
        metrics = [m for m in DIFF_METRICS if m in set(a.diffs["metric"])]
        yrs = ", ".join(str(y) for y in a.years)
        out.append(FigureSpec(
            "differences", "Each scenario against the baseline",
            f"Difference from the comparator (each scenario minus the baseline; the baseline "
            f"minus no_reform) in {yrs}, paired by replicate seed (common random numbers): "
            "dot = mean difference, bar = its 90% confidence interval. An interval clear of "
            "zero is a difference the replicates bear out. Shocks on the shaded rows.",
            lambda: plotting.plot_differences(a.diffs, metrics, a.years, **kw)))
        if "p10_operating_income" in metrics:
            out.append(FigureSpec(
                "weak_income_difference", "Weak villages' own income against the baseline",
                "The bottom-decile village's own income minus the comparator's, year by year, "
                "paired by seed; band: 90% confidence interval of the mean difference.",
                lambda: plotting.plot_difference_over_time(
                    a.diffs, "p10_operating_income", policy_start=ps, **kw)))
    else:
        notes.append("Differences from the baseline not drawn: the sweep has no comparator job "
                     "(a baseline or no_reform job with the same other settings).")
    if plotting.source_columns(runs.columns):
        out.append(FigureSpec(
            "income_sources", "Income by source",
            "Mean income per village by source in " + ", ".join(str(y) for y in a.years)
            + " (means over replicates); fiscal support hatched at the end, since it is not "
            "own income. The number is the own (operating) income.",
            lambda: plotting.plot_income_sources(runs, a.years, by=by, shocks=a.shocks)))
    if len(a.ce):
        last = a.ce[a.ce["year"] == a.years[-1]]
        out.append(FigureSpec(
            "cost_effectiveness", "What the public money buys",
            f"Each policy against its comparator on the same seeds, summed over "
            f"{sweep.policy_start}-{a.years[-1]}: extra public money (all `public_*` items), and "
            "the own income it adds per extra yuan, for the weak villages (the bottom decile: "
            "the 10th-percentile village's added income times the villages in that decile) and "
            "for the whole city. Own income excludes fiscal support, so a transfer adds nothing "
            "here. A policy that costs no extra public money gets no ratio (it would be "
            "inflated by dividing by almost nothing); its panel says so and gives what it adds. "
            "Shocks are left out.",
            lambda: plotting.plot_cost_effectiveness(last, **kw)))
    else:
        notes.append("Cost-effectiveness not drawn: no policy has a comparator in the sweep, or "
                     "the time series lacks `p10_operating_income` or `public_spending`.")
    out.append(FigureSpec(
        "income_over_time", "Mean own income over the years",
        "Mean operating income per village. " + band,
        multiples("mean_operating_income", style.t("Mean own (operating) income per village",
                                                   "村均自身经营性收入"))))
    if sweep.villages is not None and set(sweep.villages[by]) >= set(a.groups):
        villages = sweep.villages
        out.append(FigureSpec(
            "income_distribution", "Village income in the last year",
            "Operating income of every village in the last simulated year (villages of all "
            "replicates pooled), logarithmic axis; the dashed lines at 150k and 200k yuan are for "
            "reference.",
            lambda: plotting.plot_income_distribution(villages, by=by, colors=a.colors)))
        out.append(FigureSpec(
            "counties", "County by county",
            "Mean operating income per village and the share of villages whose own income is "
            "below 200k yuan, per county (Duanzhou 端州, Dinghu 鼎湖, Gaoyao 高要, Sihui 四会, "
            "Guangning 广宁, Huaiji 怀集, Fengkai 封开, Deqing 德庆) in the last year.",
            lambda: plotting.plot_counties(villages, by=by, colors=a.colors)))
    elif "p90_operating_income" in runs:
        out.append(FigureSpec(
            "income_distribution", "Village income in the last year",
            "**Drawn from the time series, not the village panel**: no job left a readable "
            "villages.parquet (run with output.villages=false, or the file is damaged: see "
            "jobs.csv), so the spread over villages is shown by "
            "the yearly 10th, 50th and 90th percentiles of operating income, averaged over "
            "replicates.",
            lambda: plotting.plot_income_percentiles(runs, by=by, colors=a.colors)))
        notes.append("County-by-county figure not drawn: it needs the village panel, and no "
                     "job left a readable villages.parquet (output.villages=false, or a damaged "
                     "file: jobs.csv says which). Re-run the sweep with output.villages=true to "
                     "get it.")
    out += _heatmaps(sweep, notes)
    return out, notes


def _heatmaps(sweep: Sweep, notes: list[str]) -> list[FigureSpec]:
    runs, params = sweep.runs, sweep.params
    numeric = [p for p in params if pd.api.types.is_numeric_dtype(runs[p])] if len(runs) else []
    out = []
    if len(params) == 2 and len(numeric) == 2:
        y, x = params
        scenarios = ordered_unique(runs["scenario"])
        metrics = [m for m in ("p10_operating_income", "share_own_below_200k",
                               "mean_operating_income", "public_spending") if m in runs]
        for scenario in scenarios:
            sub = runs[runs["scenario"] == scenario]
            for metric in metrics:
                suffix = f"_{scenario}" if len(scenarios) > 1 else ""
                title = outputs.label(metric)
                out.append(FigureSpec(
                    f"heatmap_{metric}{suffix}",
                    f"Heat map: {title.lower()}" + (f" ({scenario})" if len(scenarios) > 1
                                                    else ""),
                    f"{title} in the last year over the two swept parameters, {x} and {y}; each "
                    "cell gives the mean over replicates and its 90% interval.",
                    lambda sub=sub, metric=metric: plotting.plot_heatmap(
                        sub, x=x, y=y, metric=metric, xlabel=_axis_label(x),
                        ylabel=_axis_label(y))))
    elif len(params) > 2:
        notes.append(f"No heat map: the sweep varies {len(params)} parameters ({', '.join(params)})"
                     "; a heat map is drawn for exactly two.")
    return out



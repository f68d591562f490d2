"""The report's tables (report.py): summaries over replicates, the comparator, formatting."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from zq_sim import compare, outputs, plotting

#: Metrics of the summary table (each job's last year), where the time series has them.
SUMMARY_METRICS = (
    "mean_operating_income", "median_operating_income", "min_operating_income",
    "min_total_income", "share_below_150k", "share_below_200k", "gini", "mean_total_income",
    "total_operating_income", "total_income", "public_spending", "companies",
    "land_transferred_stock", "fixed_assets", "three_assets_added_income",
    "p10_operating_income", "mean_recurring_operating_income", "share_own_below_150k",
    "share_own_below_200k", "villages_supported", "weak_listed", "public_support",
)
#: Columns of the scenario table (those a sweep lacks are skipped); headers from the registry.
HEADLINE = ("p10_operating_income", "share_own_below_150k", "share_own_below_200k",
            "villages_supported", "public_support", "mean_operating_income", "public_spending")
#: Metrics of the weak-village outcomes that older sweeps may lack.
WEAK_METRICS = ("p10_operating_income", "share_own_below_150k", "share_own_below_200k",
                "villages_supported", "public_support")
#: Metrics compared with the baseline (paired by seed); headers from the registry.
DIFF_METRICS = ("p10_operating_income", "share_own_below_200k", "villages_supported",
                "public_support", "mean_operating_income", "public_spending")


# ------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------
def last_year(runs: pd.DataFrame) -> pd.DataFrame:
    """Each job's rows of its own last year."""
    key = "job" if "job" in runs else None
    end = runs.groupby(key)["year"].transform("max") if key else runs["year"].max()
    return runs[runs["year"] == end]


def report_years(runs: pd.DataFrame, years: Sequence[int] = ()) -> list[int]:
    """The years the report shows: the chosen ones the runs hold, then the last year."""
    held = set(int(y) for y in runs["year"].unique())
    last = int(runs["year"].max())
    return sorted({int(y) for y in years if int(y) in held} | {last})


def summary_table(runs: pd.DataFrame, by: str = "scenario",
                  metrics: Sequence[str] = SUMMARY_METRICS,
                  keys: Sequence[str] = (), years: Sequence[int] = ()) -> pd.DataFrame:
    """Per group, year and metric: mean and 90% interval over replicates.

    Args:
        runs: one row per replicate and year (and job).
        by: the grouping column.
        metrics: metrics to summarise (those absent from ``runs`` are skipped).
        keys: further columns to carry (swept parameters), constant within a group.
        years: years to summarise besides each job's last year.

    Returns:
        A long table: ``by``, keys, ``metric``, ``label``, ``unit``, ``year``, ``n``, ``mean``,
        ``p05``, ``p95``; values in stored units (yuan, fractions).

    """
    chosen = runs[runs["year"].isin(list(years))]
    table = pd.concat([chosen, last_year(runs)]).drop_duplicates(
        [c for c in ("job", "seed", "year") if c in runs.columns])
    rows = []
    carry = [k for k in dict.fromkeys([by, "scenario", *keys]) if k in table.columns]
    for metric in [m for m in metrics if m in table.columns]:
        stats = plotting.spread(table, [*carry, "year"], metric)
        o = outputs.describe(metric)
        rows.append(stats.assign(metric=metric, label=o.label, unit=o.stored_unit))
    out = pd.concat(rows, ignore_index=True)
    return out[[*carry, "metric", "label", "unit", "year", "n", "mean", "p05", "p95"]]


def choose_comparator(scenario: str, available: Sequence[str],
                      forced: str | None = None) -> str | None:
    """The scenario that ``scenario`` is compared with (see :func:`zq_sim.compare`)."""
    return compare.choose_comparator(scenario, available, forced)


# ------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------
def _fmt_in(metric: str, v: float, scale: tuple[float, str] | None = None,
            signed: bool = False) -> str:
    """A value of a metric as text, in the unit of :func:`zq_sim.plotting.scale_of`."""
    if v is None or not np.isfinite(v):
        return "n/a"
    kind = plotting.metric_kind(metric)
    factor = (scale or plotting.scale_of(metric, [v]))[0]
    x = v * factor
    sign = "+" if signed else ""
    if kind in ("share", "rate"):
        return f"{x:{sign}.1f}" + ("" if signed else "%")
    if kind in ("year", "id"):
        return f"{x:.0f}"
    if kind in ("count", "area", "power"):
        return f"{x:{sign},.0f}"
    if kind == "index":
        return f"{x:{sign}.3f}"
    return f"{x:{sign},.0f}" if abs(x) >= 100 else f"{x:{sign},.1f}" if abs(x) >= 10 \
        else f"{x:{sign},.2f}"


def _unit_in(metric: str, scale: tuple[float, str] | None = None,
             difference: bool = False) -> str:
    o = outputs.describe(metric)
    if o.kind == "income":
        return "万元"
    if o.kind == "money":  # 万元 or 亿元 as the scale chose, in either language's report
        return "亿元" if scale and scale[0] < 1 / outputs.WAN else "万元"
    if o.kind in ("share", "rate"):
        return "pp" if difference else "%"
    return o.shown_unit("en")


def _param_doc(name: str) -> str:
    """The documented meaning of a setting (from the config schema), or ''."""
    try:
        from zq_sim.config import describe_fields

        docs = {f["name"]: f["doc"] for f in describe_fields()}
    except Exception:  # noqa: BLE001 - labels are a courtesy
        return ""
    return docs.get(name, "")


def _axis_label(name: str) -> str:
    doc = _param_doc(name)
    return f"{name}\n{doc}" if doc else name



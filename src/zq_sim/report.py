"""Collect sweeps into tables, compare the scenarios and write a report with figures.

    python -m zq_sim.report multirun/<date>/<time>              # writes <folder>/report/
    python -m zq_sim.report multirun/<date>/<time> --years 2027,2030 --out DIR
    python -m zq_sim.report SWEEP1 SWEEP2 --out DIR               # several sweeps pooled

A sweep folder holds one folder per job (Hydra's multirun layout); a job folder holds the run
outputs (``summary.json``, ``timeseries.parquet``, maybe ``villages.parquet``) and ``.hydra/``
with the job's overrides. The report reads only these files; it never imports the model.

The question it answers: which policy mix lifts the weak villages' own income, at what public
cost, and how sure. So it shows the weak villages on their own (operating) income over time
(the bottom-decile village, the shares below 150k and 200k before support, the villages on
support and its cost), income by source, each scenario's difference from the baseline paired by
replicate seed with a confidence interval, and the own income added per yuan of extra public
money for the weak villages and the city (levers that cost nothing are flagged, not divided by
almost nothing), in the last year and in chosen years. Shocks are drawn apart from policies; each
scenario keeps one colour (:mod:`zq_sim.style`). Columns an older sweep lacks are skipped with a
note.

What it writes into the report folder:

- ``report.md`` and ``report.html`` (the same report as one self-contained page, figures
  embedded) and the figures (PNG, 200 dpi);
- ``runs.parquet``: every job's time series in one tidy table, one row per job, replicate and
  year, with the job, ``scenario``, ``seed`` (the replicate's seed), ``root_seed`` if it was swept,
  and every override of the job as a column (``+scenario=x`` -> ``scenario``,
  ``policy.three_assets.platform_coverage=0.7`` -> ``policy.three_assets.platform_coverage``);
- ``jobs.csv``: one row per job: folder, status (ok, failed or duplicate), why, overrides;
- ``summary.csv``: per group, year (chosen years and the last) and metric: mean, 5th and 95th
  percentile over replicates (a 90% interval), in stored units;
- ``differences.csv``: per group, year and metric, the mean difference from the comparator over
  shared seeds and its 90% confidence interval (:mod:`zq_sim.compare`);
- ``cost_effectiveness.csv``: added own income (weak villages, city) and extra public money.

A job that failed (``FAILED.txt`` in its folder, or no ``summary.json``) is named in the report
and left out of the tables; the rest are reported as usual.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from zq_sim import compare, outputs, plotting, style
from zq_sim.document import Document

REPORT_DIR = "report"
FAILED = "FAILED.txt"

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
#: Columns of the village panel that the report keeps (last year only).
VILLAGE_COLUMNS = ["seed", "year", "code", "county", "operating_income", "total_income"]


# ------------------------------------------------------------------------------------------
# Collection
# ------------------------------------------------------------------------------------------
@dataclass
class Sweep:
    """A collected sweep.

    Attributes:
        root: the (first) sweep folder.
        roots: every sweep folder collected.
        jobs: one row per job: ``job`` (folder below root), ``job_num``, ``status`` ("ok",
            "failed" or "duplicate"), ``reason``, ``scenario``, ``group`` and one column per
            override.
        runs: one row per job, replicate and year (ok jobs only).
        villages: the village panel's last year of every ok job that wrote one (else None).
        swept: override columns whose value differs between jobs.
        constant: overrides shared by every job, as {column: value}.
        by: the column that names one line per group in the figures.
        policy_start: the first year of the policy levers.

    """

    root: Path
    roots: list[Path]
    jobs: pd.DataFrame
    runs: pd.DataFrame
    villages: pd.DataFrame | None
    swept: list[str]
    constant: dict[str, Any] = field(default_factory=dict)
    by: str = "scenario"
    policy_start: int = 2024

    @property
    def failed(self) -> pd.DataFrame:
        """The jobs that failed."""
        return self.jobs[self.jobs["status"] == "failed"]

    @property
    def duplicates(self) -> pd.DataFrame:
        """Jobs left out because an earlier folder holds their group."""
        return self.jobs[self.jobs["status"] == "duplicate"]

    @property
    def params(self) -> list[str]:
        """Swept parameters that define groups (not the scenario, nor run sizes)."""
        return [c for c in self.swept if c != "scenario" and c not in NOT_GROUPING]


def column_name(key: str) -> str:
    """Column for an override key: ``+scenario`` -> ``scenario``; ``seed`` -> ``root_seed``."""
    key = key.lstrip("+~")
    return "root_seed" if key == "seed" else key


#: Overrides that do not change results (left out of the tables).
NOT_PARAMETERS = ("resume", "output.progress")


def parse_overrides(lines: Sequence[str]) -> dict[str, Any]:
    """Hydra's override strings as {column: value}, values parsed as YAML.

    hydra.* and the settings that do not change results (resume, progress) are left out.
    """
    out: dict[str, Any] = {}
    for line in lines:
        key, sep, value = str(line).partition("=")
        bare = key.lstrip("+~")
        if not sep or bare.startswith("hydra.") or bare in NOT_PARAMETERS:
            continue
        try:
            parsed = yaml.safe_load(value) if value != "" else ""
        except yaml.YAMLError:
            parsed = value
        if isinstance(parsed, int) and not -2**63 <= parsed < 2**63:
            parsed = value  # beyond a table's integers (a seed above 2**63): kept as text
        out[column_name(key)] = parsed if isinstance(parsed, str | int | float | bool) or \
            parsed is None else value
    return out


def find_jobs(root: Path, exclude: Path | None = None) -> list[Path]:
    """Job folders below ``root`` (folders with ``.hydra/overrides.yaml``), in job order."""
    root = Path(root)
    found = []
    for marker in root.rglob(".hydra/overrides.yaml"):
        job = marker.parent.parent
        if exclude is not None and (job == exclude or exclude in job.parents):
            continue
        found.append(job)

    def order(p: Path) -> tuple:
        m = re.match(r"(\d+)_", p.name)
        return (int(m.group(1)) if m else math.inf, str(p))

    return sorted(found, key=order)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def _failure_reason(job: Path) -> str | None:
    """Why a job failed, or None if it finished."""
    failed = job / FAILED
    if failed.exists():
        text = failed.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            if line.startswith("error: "):
                return line[len("error: "):]
        return text.strip().splitlines()[0] if text.strip() else "FAILED.txt (empty)"
    if not (job / "summary.json").exists():
        return ("no summary.json: the job did not finish (it failed, was stopped, or is still "
                "running; see its log)")
    if not (job / "timeseries.parquet").exists():
        return "no timeseries.parquet beside summary.json"
    return None


def read_job(job: Path, root: Path) -> tuple[dict, pd.DataFrame | None, pd.DataFrame | None]:
    """One job: its record (folder, status, overrides), time series and last-year villages."""
    overrides = parse_overrides(_read_yaml(job / ".hydra" / "overrides.yaml") or [])
    config = _read_yaml(job / ".hydra" / "config.yaml") or {}
    hydra_cfg = _read_yaml(job / ".hydra" / "hydra.yaml") or {}
    num = (hydra_cfg.get("hydra", {}).get("job", {}) or {}).get("num")
    rel = str(job.relative_to(root)) if job != root else job.name
    record = {"job": rel, "job_num": num, "status": "ok", "reason": "",
              "scenario": config.get("scenario", overrides.get("scenario", "baseline")),
              "policy_start": (config.get("years") or {}).get("policy_start")}
    record.update({k: v for k, v in overrides.items() if k != "scenario"})
    reason = _failure_reason(job)
    if reason is not None:
        record.update(status="failed", reason=reason)
        return record, None, None
    try:
        ts = pd.read_parquet(job / "timeseries.parquet")
        summary = json.loads((job / "summary.json").read_text(encoding="utf-8"))
        if not isinstance(summary, dict):
            raise ValueError(f"summary.json holds {type(summary).__name__}, not a JSON object")
    except Exception as exc:  # noqa: BLE001 - an unreadable job is reported, not fatal
        record.update(status="failed", reason=f"unreadable outputs: {type(exc).__name__}: {exc}")
        return record, None, None
    record["scenario"] = summary.get("scenario", record["scenario"])
    seeds = list(summary.get("seeds") or ordered_unique(ts["seed"]))
    ts = ts.assign(replicate=ts["seed"].map({s: i for i, s in enumerate(seeds)}))
    villages = None
    panel = job / "villages.parquet"
    if panel.exists():
        last = int(ts["year"].max())
        try:
            villages = pd.read_parquet(panel, columns=VILLAGE_COLUMNS,
                                       filters=[("year", "==", last)])
        except Exception as exc:  # noqa: BLE001
            record["reason"] = f"villages.parquet unreadable ({exc}); time series used"
    return record, ts, villages


def _as_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python types (a seed too large for an integer among others) as text."""
    mixed = {c: runs[c] for c in runs.columns if runs[c].dtype == object
             and runs[c].dropna().map(type).nunique() > 1}
    if not mixed:
        return runs
    return runs.assign(**{c: col.map(lambda v: v if v is None else str(v))
                          for c, col in mixed.items()})


def ordered_unique(values) -> list:
    """Distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


def _label(row: pd.Series, parts: list[str]) -> str:
    def short(name: str) -> str:
        return name.rsplit(".", 1)[-1]

    bits = []
    for p in parts:
        v = row[p]
        bits.append(str(v) if p == "scenario" else f"{short(p)}={_fmt_value(v)}")
    return ", ".join(bits) if bits else str(row["scenario"])


def _money_text(yuan: float) -> str:
    """Yuan as text in 万元 or 亿元 (the report's text is Chinese-capable in any language)."""
    factor, _ = style.money_scale([yuan])
    number = style.format_money(yuan, (factor, "")).strip()
    return f"{number} {'亿元' if factor == 1 / style.YI else '万元'}"


def _fmt_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


#: Overrides that size or shape a run but do not define a group: jobs that differ only in them
#: are the same scenario (their first replicates share seeds), e.g. across two sweep folders.
NOT_GROUPING = ("experiment", "replicates", "years.end", "output.villages",
                "output.counterfactual")


def collect(roots: Path | str | Sequence[Path | str], exclude: Path | None = None,
            progress: bool = True) -> Sweep:
    """Read every job of one or more sweep folders into one :class:`Sweep`.

    Args:
        roots: the sweep folder (or a single run folder), or several: their jobs are pooled,
            named ``<folder>/<job>``. A job whose group (scenario and swept settings) a folder
            given earlier already holds is left out as a duplicate (status "duplicate").
        exclude: a folder to skip (the report's own output folder).
        progress: show a progress bar over the jobs.

    Returns:
        The collected sweep. Failed jobs are in ``jobs`` with their reason, not in ``runs``.

    Raises:
        FileNotFoundError: if a folder is missing or has no job folders.

    """
    roots = [roots] if isinstance(roots, str | Path) else list(roots)
    roots = [Path(r).resolve() for r in roots]
    jobs: list[tuple[Path, Path]] = []
    for root in roots:
        if not root.is_dir():
            raise FileNotFoundError(f"{root} is not a folder")
        found = find_jobs(root, exclude.resolve() if exclude is not None else None)
        if not found:
            raise FileNotFoundError(
                f"{root} has no job folders (folders with .hydra/overrides.yaml); "
                f"is it the folder of a sweep (multirun/<date>/<time>)?")
        jobs += [(root, j) for j in found]
    several = len(roots) > 1
    records, frames, panels = [], [], []
    for root, job in tqdm(jobs, desc="collecting jobs", unit="job", disable=not progress):
        record, ts, villages = read_job(job, root)
        if several:
            record["job"] = f"{root.name}/{record['job']}"
        records.append(record)
        if ts is not None:
            frames.append((record, ts))
        if villages is not None:
            panels.append((record, villages))
    table = pd.DataFrame.from_records(records)
    if table["job_num"].isna().all() or several:
        table["job_num"] = range(len(table))
    override_cols = [c for c in table.columns
                     if c not in ("job", "job_num", "status", "reason", "policy_start")]
    swept = [c for c in override_cols
             if table[c].astype(str).nunique(dropna=False) > 1]
    constant = {c: table[c].iloc[0] for c in override_cols
                if c not in swept and c != "scenario" and table[c].notna().all()}
    parts = [c for c in swept if c not in NOT_GROUPING]
    table["group"] = table.apply(_label, axis=1, parts=parts)
    seen: dict[str, str] = {}
    for i, row in table.iterrows():
        if row["status"] != "ok":
            continue
        if row["group"] in seen:
            table.loc[i, ["status", "reason"]] = [
                "duplicate", f"same group ({row['group']}) as {seen[row['group']]}, "
                             "which is used (the first folder given wins)"]
        else:
            seen[row["group"]] = row["job"]
    by = "scenario" if parts in ([], ["scenario"]) else "group"
    starts = table["policy_start"].dropna()
    policy_start = int(starts.min()) if len(starts) else 2024

    used = set(table.loc[table["status"] == "ok", "job"])
    job_cols = ["job", "job_num", "group", *[c for c in override_cols if c != "scenario"]]
    frames = [(rec, ts) for rec, ts in frames if rec["job"] in used]
    panels = [(rec, v) for rec, v in panels if rec["job"] in used]
    runs = pd.concat([_with_job(ts, rec, table, job_cols) for rec, ts in frames],
                     ignore_index=True) if frames else pd.DataFrame()
    villages = pd.concat([_with_job(v, rec, table, job_cols + ["scenario"]) for rec, v in panels],
                         ignore_index=True) if panels else None
    return Sweep(root=roots[0], roots=roots, jobs=table, runs=runs, villages=villages,
                 swept=swept, constant=constant, by=by, policy_start=policy_start)


def _with_job(df: pd.DataFrame, record: dict, table: pd.DataFrame,
              cols: list[str]) -> pd.DataFrame:
    row = table[table["job"] == record["job"]].iloc[0]
    extra = {c: row[c] for c in cols if c not in df.columns}
    front = pd.DataFrame({c: [v] * len(df) for c, v in extra.items()}, index=df.index)
    return pd.concat([front, df], axis=1)


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


# ------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------
def write_report(roots: Path | str | Sequence[Path | str], out: Path | str | None = None,
                 progress: bool = True, comparator: str | None = None, dpi: int = 200,
                 years: Sequence[int] = (), lang: str = "auto") -> Path:
    """Collect one or more sweeps and write tables, figures, ``report.md`` and ``report.html``.

    Args:
        roots: the sweep folder, or several (pooled; see :func:`collect`).
        out: the report folder (default: ``<first folder>/report``).
        progress: show progress bars.
        comparator: compare every scenario with this one (default: each with the baseline, the
            baseline with no_reform).
        dpi: resolution of the PNG figures (200 or more prints sharply).
        years: years to show besides the last (e.g. 2027, 2030).
        lang: labels' language: "auto" (Chinese when a CJK font is installed), "zh", "pinyin".

    Returns:
        The path of report.md.

    """
    import matplotlib.pyplot as plt

    roots = [roots] if isinstance(roots, str | Path) else list(roots)
    first = Path(roots[0]).resolve()
    out = Path(out).resolve() if out is not None else first / REPORT_DIR
    used_lang = style.use_language(lang)
    sweep = collect(roots, exclude=out, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    _remove_earlier_report(out)
    sweep.jobs.drop(columns=["policy_start"]).to_csv(out / "jobs.csv", index=False)
    if sweep.runs.empty:
        doc = _document(sweep, None, [], ["No job finished: nothing to draw."], used_lang)
        return _write(doc, out)
    _as_table(sweep.runs).to_parquet(out / "runs.parquet", index=False)
    a = analyse(sweep, years, comparator)
    a.summary.to_csv(out / "summary.csv", index=False)
    for name, table in (("differences.csv", a.diffs), ("cost_effectiveness.csv", a.ce)):
        if len(table):
            table.to_csv(out / name, index=False)
        else:
            (out / name).unlink(missing_ok=True)
    figs, notes = figures(a)
    _note_files(out, [f"{f.name}.png" for f in figs])
    drawn = []
    for fig_spec in tqdm(figs, desc="drawing figures", unit="fig", disable=not progress):
        try:
            fig, _ = fig_spec.draw()
        except Exception as exc:  # noqa: BLE001 - one figure's failure must not lose the rest
            notes.append(f"Figure {fig_spec.name} failed: {type(exc).__name__}: {exc}")
            continue
        fig.savefig(out / f"{fig_spec.name}.png", dpi=dpi)
        plt.close(fig)
        drawn.append(fig_spec)
    return _write(_document(sweep, a, drawn, notes, used_lang), out)


#: File in the report folder listing the figures the report wrote there.
MANIFEST = ".zq_sim_report_files"


def _note_files(out: Path, names: Sequence[str]) -> None:
    (out / MANIFEST).write_text("\n".join(names) + "\n", encoding="utf-8")


def _remove_earlier_report(out: Path) -> None:
    """Remove the figures an earlier report wrote into ``out`` (and only those).

    So that a figure this sweep cannot draw does not linger beside the new report; files of the
    user's own in the folder are left alone.
    """
    manifest = out / MANIFEST
    if manifest.is_file():
        for name in manifest.read_text(encoding="utf-8").split():
            if "/" not in name and name.endswith(".png"):
                (out / name).unlink(missing_ok=True)
        manifest.unlink()
    # what reports of earlier versions wrote and this one no longer does
    for legacy in ("public_money.csv", "public_money.png"):
        (out / legacy).unlink(missing_ok=True)


def _write(doc: Document, out: Path) -> Path:
    """Write report.md and report.html (through temporary names, then renamed)."""
    for name, text in (("report.md", doc.markdown()), ("report.html", doc.html(out))):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out / name)
    return out / "report.md"


def _document(sweep: Sweep, a: Analysis | None, figs: list[FigureSpec], notes: list[str],
              lang: str) -> Document:
    jobs, runs = sweep.jobs, sweep.runs
    ok = jobs[jobs["status"] == "ok"]
    names = ", ".join(r.name for r in sweep.roots)
    doc = Document(f"Sweep report: {names}")
    facts = [f"Sweep folder{'s' if len(sweep.roots) > 1 else ''}: "
             + ", ".join(f"`{r}`" for r in sweep.roots),
             f"Written {datetime.now():%Y-%m-%d %H:%M} by `python -m zq_sim.report`.",
             f"jobs: {len(jobs)}, of which {len(ok)} finished and {len(sweep.failed)} failed"
             + (f"; {len(sweep.duplicates)} left out as duplicates" if len(sweep.duplicates)
                else "")]
    if len(runs):
        reps = runs.groupby("job")["seed"].nunique()
        facts.append(f"replicates per job: {reps.min()}" + (f" to {reps.max()}"
                                                           if reps.max() != reps.min() else ""))
        facts.append(f"years: {int(runs['year'].min())} to {int(runs['year'].max())} "
                     f"(policy levers from {sweep.policy_start})")
        sources = set(jobs["uncertainty"].dropna().astype(str)) if "uncertainty" in jobs else set()
        facts.append(
            "intervals over replicates: "
            + ("replicate noise and parameter uncertainty (uncertainty=parameters: each group "
               "of replicates runs a parameter set drawn from the ensemble; each job's "
               "summary.json splits the variance)" if "parameters" in sources else
               "replicate noise only, at the calibrated parameters (uncertainty=parameters "
               "adds parameter uncertainty)"))
    for c in sweep.swept:
        values = ", ".join(_fmt_value(v) for v in ordered_unique(jobs[c]))
        facts.append(f"swept: `{c}` = {values}")
    for c, v in sweep.constant.items():
        facts.append(f"same in every job: `{c}` = {_fmt_value(v)}")
    if a is not None and a.shocks:
        facts.append("shocks (drawn apart from the policies): " + ", ".join(a.shocks))
    facts.append("figure labels: " + ("Chinese (a CJK font is installed)" if lang == "zh" else
                                      "English and pinyin (no CJK font found; README says how "
                                      "to install one)"))
    doc.ul(facts)
    if a is not None and a.missing:
        doc.p("**Older sweep**: its time series lacks " + ", ".join(f"`{m}`" for m in a.missing)
              + "; the panels and columns that need them are left out. Re-run the sweep with "
              "the current model to get them.")
    if len(sweep.failed):
        doc.h2("Failed jobs")
        doc.p(f"{len(sweep.failed)} job(s) failed and are left out of every table and figure. "
              f"Each folder's `{FAILED}` (where present) holds the error, the seeds and the "
              "command that reproduces the job.")
        doc.table(["job", "scenario", "why"],
                  [[f"`{r.job}`", r.scenario, r.reason] for r in sweep.failed.itertuples()])
    if len(sweep.duplicates):
        doc.h2("Jobs left out as duplicates")
        doc.table(["job", "why"], [[f"`{r.job}`", r.reason]
                                   for r in sweep.duplicates.itertuples()])
    if a is not None:
        _glance_section(doc, a)
        _summary_section(doc, a)
        _differences_section(doc, a)
        _cost_section(doc, a)
    if figs:
        doc.h2("Figures")
        for f in figs:
            doc.figure(f.name, f.heading, f.caption)
    if notes:
        doc.h2("Notes")
        doc.ul(notes)
    doc.h2("Files")
    doc.ul([
        "`report.html`: this report as one page with the figures embedded (open it in a browser "
        "or mail it).",
        "`runs.parquet`: every job's time series, one row per job, replicate and year, with the "
        "job's overrides as columns (`seed` is the replicate's seed).",
        "`jobs.csv`: one row per job: folder, status, why it failed, overrides.",
        "`summary.csv`: per group, year (the chosen years and the last) and metric: mean, p05, "
        "p95 over replicates (yuan, fractions).",
        "`differences.csv`: per group, year and metric: mean paired difference from the "
        "comparator and its 90% confidence interval (yuan, fractions).",
        "`cost_effectiveness.csv`: added own income (weak villages, city) and extra public money "
        "per policy, summed from the policy start to each year, with the ratios (yuan).",
    ])
    return doc


def _glance_section(doc: Document, a: Analysis) -> None:
    """The answer first: each scenario's effect on the weak villages' own income, cost, surety."""
    d, by, year = a.diffs, a.sweep.by, a.years[-1]
    if d.empty or "p10_operating_income" not in set(d["metric"]):
        return
    p10 = d[(d["metric"] == "p10_operating_income") & (d["year"] == year)].set_index(by)
    ce = a.ce[a.ce["year"] == year].set_index(by) if len(a.ce) else pd.DataFrame()
    policy, shock = style.order_groups(a.groups, a.shocks)
    scale = plotting.scale_of("p10_operating_income")

    def line(g: str) -> str:
        r = p10.loc[g]
        sure = (f"{r['n_above']}/{r['n']} seeds up" if np.isfinite(r["lo"]) and r["lo"] > 0
                or np.isfinite(r["hi"]) and r["hi"] < 0 else
                f"not sure: the interval holds 0; {r['n_above']}/{r['n']} seeds up")
        text = (f"**{g}** vs {r['comparator']}: bottom-decile own income "
                f"{_fmt_in('p10_operating_income', r['mean'], scale, True)} 万元 "
                f"[{_fmt_in('p10_operating_income', r['lo'], scale, True)}, "
                f"{_fmt_in('p10_operating_income', r['hi'], scale, True)}] ({sure})")
        if g in ce.index:
            c = ce.loc[g]
            extra = _money_text(c["extra_mean"])
            text += (f"; extra public money {a.sweep.policy_start}-{year}: {extra}, "
                     + (f"{c['weak_ratio']:.2f} yuan of weak villages' own income per yuan"
                        if c["cost"] == "more" else
                        {"none": "none: a free lever", "saves": "it saves public money",
                         "mixed": "about none (varying sign)"}[c["cost"]]))
        return text

    doc.h2(f"At a glance: the weak villages' own income in {year}")
    doc.p("Each scenario's bottom-decile village (own income before support) against its "
          "comparator, paired by seed, with the 90% confidence interval, and the extra public "
          "money it takes; ranked by the gain. Details and other years below.")
    ranked = sorted((g for g in policy if g in p10.index), key=lambda g: -p10.at[g, "mean"])
    doc.ul([line(g) for g in ranked])
    if shock:
        doc.p("Shocks (not policies):")
        doc.ul([line(g) for g in shock if g in p10.index])


def _summary_section(doc: Document, a: Analysis) -> None:
    by, s = a.sweep.by, a.summary
    metrics = [m for m in HEADLINE if m in set(s["metric"])]
    scales = {m: plotting.scale_of(m, s.loc[s["metric"] == m, "mean"]) for m in metrics}
    doc.h2("Weak villages and public cost, scenario by scenario")
    doc.p("Mean over replicates [5th, 95th percentile over replicates]: the interval holds 90% of "
          "the simulated outcomes (the spread of outcomes, not a confidence interval of the "
          "mean; rough with few replicates). Own income is operating income before fiscal "
          "support. Money in 万元 (per village) or as the column says; shares in % of villages. "
          "All metrics: `summary.csv`.")
    policy, shock = style.order_groups(a.groups, a.shocks)
    for year in a.years:
        doc.h3(f"{year}")
        header = [by] + [f"{outputs.describe(m).header} ({_unit_in(m, scales[m])})"
                         for m in metrics]
        rows = []
        for g in policy + shock:
            sub = s[(s[by] == g) & (s["year"] == year)].set_index("metric")
            if sub.empty:
                continue
            label = f"{g} (shock)" if g in shock else str(g)
            rows.append([label] + [
                f"{_fmt_in(m, sub.at[m, 'mean'], scales[m])} "
                f"[{_fmt_in(m, sub.at[m, 'p05'], scales[m])}, "
                f"{_fmt_in(m, sub.at[m, 'p95'], scales[m])}]" if m in sub.index else "n/a"
                for m in metrics])
        doc.table(header, rows)


def _differences_section(doc: Document, a: Analysis) -> None:
    d, by = a.diffs, a.sweep.by
    if d.empty:
        return
    metrics = [m for m in DIFF_METRICS if m in set(d["metric"])]
    doc.h2("Difference from the baseline, and how sure")
    n = int(d["n"].min())
    doc.p(f"Each scenario minus its comparator (the baseline; the baseline minus no_reform), "
          f"paired by replicate seed over {n} seeds (common random numbers): mean difference "
          "[90% confidence interval of the mean, Student's t]. An interval that does not "
          "contain 0 is a difference the replicates bear out; 'k/n up' counts the seeds on "
          "which the bottom-decile income rose. Shares in percentage points (pp). "
          "All metrics and years: `differences.csv`.")
    policy, shock = style.order_groups(a.groups, a.shocks)
    for year in a.years:
        sub = d[d["year"] == year]
        if sub.empty:
            continue
        doc.h3(f"{year}")
        scales = {m: plotting.scale_of(m, d.loc[d["metric"] == m, "mean"], difference=True)
                  for m in metrics}  # one unit per metric across the years
        header = [f"{by} vs comparator"] + [
            f"{outputs.describe(m).header} ({_unit_in(m, scales[m], True)})" for m in metrics]
        if "p10_operating_income" in metrics:
            header.append("k/n up")
        rows = []
        for g in policy + shock:
            r = sub[sub[by] == g].set_index("metric")
            if r.empty:
                continue
            label = f"{g} vs {r['comparator'].iloc[0]}" + (" (shock)" if g in shock else "")
            cells = [f"{_fmt_in(m, r.at[m, 'mean'], scales[m], True)} "
                     f"[{_fmt_in(m, r.at[m, 'lo'], scales[m], True)}, "
                     f"{_fmt_in(m, r.at[m, 'hi'], scales[m], True)}]" if m in r.index else "n/a"
                     for m in metrics]
            if "p10_operating_income" in metrics:
                cells.append(f"{r.at['p10_operating_income', 'n_above']}/"
                             f"{r.at['p10_operating_income', 'n']}")
            rows.append([label] + cells)
        doc.table(header, rows)


def _cost_section(doc: Document, a: Analysis) -> None:
    ce, by = a.ce, a.sweep.by
    if ce.empty:
        return
    doc.h2("Cost-effectiveness: own income added per yuan of public money")
    doc.p(f"Each policy against its comparator on the seeds both share, summed from "
          f"{a.sweep.policy_start} to the year: extra public money (every `public_*` item), the "
          "own income added to the weak villages (the bottom decile: the 10th-percentile "
          "village's added income times the villages in that decile) and to the whole city, and "
          "the income added per extra yuan (ratio of the means, bootstrap 90% interval over "
          "seeds). Own income excludes fiscal support, so money merely handed over adds nothing "
          "here. **A lever that costs no extra public money gets no ratio** (dividing by almost "
          "nothing would inflate it): the table says so and gives the income it adds. Shocks are "
          "left out: nobody buys them.")
    scales = {name: style.money_scale(ce[[f"{name}_mean", f"{name}_p05", f"{name}_p95"]]
                                      .to_numpy().ravel()) for name in ("extra", "weak", "city")}
    unit = {name: "亿元" if sc[0] == 1 / style.YI else "万元" for name, sc in scales.items()}
    for year in sorted(set(ce["year"])):
        sub = ce[ce["year"] == year]
        doc.h3(f"{a.sweep.policy_start}-{year}")
        rows = []
        for r in sub.itertuples():
            def ratio(name: str, r=r) -> str:
                if r.cost != "more":
                    return {"none": "free lever: no ratio", "saves": "saves money: no ratio",
                            "mixed": "no ratio (extra money of varying sign)"}[r.cost]
                v, lo, hi = (getattr(r, f"{name}_ratio{s}") for s in ("", "_p05", "_p95"))
                return f"{v:.2f} [{lo:.2f}, {hi:.2f}]"

            def money_cell(name: str, r=r) -> str:
                v = [style.format_money(getattr(r, f"{name}{s}"), scales[name]).split(" ")[0]
                     for s in ("_mean", "_p05", "_p95")]
                return f"{v[0]} [{v[1]}, {v[2]}]"

            rows.append([f"{getattr(r, by)} vs {r.comparator}", r.n_seeds,
                         money_cell("extra"), money_cell("weak"), ratio("weak"),
                         money_cell("city"), ratio("city")])
        doc.table(["policy vs comparator", "seeds", f"extra public money ({unit['extra']})",
                   f"weak villages: own income added ({unit['weak']})", "weak: yuan per yuan",
                   f"city: own income added ({unit['city']})", "city: yuan per yuan"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: collect one or more sweep folders and write their report."""
    parser = argparse.ArgumentParser(
        prog="python -m zq_sim.report",
        description="Collect sweeps' jobs into tables and write figures, report.md and "
                    "report.html.")
    parser.add_argument("folders", type=Path, nargs="+", metavar="folder",
                        help="sweep folder(s) (multirun/<date>/<time>); several are pooled")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"report folder (default: <folder>/{REPORT_DIR}; needed with "
                             "several folders)")
    parser.add_argument("--years", default="",
                        help="years to show besides the last, comma-separated (e.g. 2027,2030)")
    parser.add_argument("--comparator", default=None,
                        help="compare every scenario with this one (default: each with "
                             "baseline, baseline with no_reform)")
    parser.add_argument("--lang", default="auto", choices=("auto", "zh", "pinyin"),
                        help="figure labels: Chinese when a CJK font is installed (auto), or "
                             "force one")
    parser.add_argument("--dpi", type=int, default=200, help="resolution of the figures (200)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    try:
        years = [int(y) for y in args.years.split(",") if y.strip()]
    except ValueError:
        print(f"zq_sim.report: error: --years = {args.years!r}: give years separated by commas, "
              "e.g. --years 2027,2030", file=sys.stderr)
        return 2
    if len(args.folders) > 1 and args.out is None:
        print("zq_sim.report: error: --out is needed with several sweep folders (the report "
              "would otherwise go into the first one)", file=sys.stderr)
        return 2
    if args.dpi < 50 or args.dpi > 1200:
        print(f"zq_sim.report: error: --dpi = {args.dpi}: choose 50 to 1200", file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")  # files only: no windows from the command line
    try:
        path = write_report(args.folders, args.out, progress=not args.no_progress,
                            comparator=args.comparator, years=years, lang=args.lang,
                            dpi=args.dpi)
    except (FileNotFoundError, ValueError) as exc:
        print(f"zq_sim.report: error: {exc}", file=sys.stderr)
        return 2
    jobs = pd.read_csv(path.parent / "jobs.csv")
    for r in jobs[jobs["status"] == "failed"].itertuples():
        print(f"zq_sim.report: job failed, left out: {r.job}: {r.reason}", file=sys.stderr)
    for r in jobs[jobs["status"] == "duplicate"].itertuples():
        print(f"zq_sim.report: duplicate job left out: {r.job}: {r.reason}", file=sys.stderr)
    held = set(pd.read_parquet(path.parent / "runs.parquet", columns=["year"])["year"]) \
        if (path.parent / "runs.parquet").exists() else set()
    for y in years:
        if held and y not in held:
            print(f"zq_sim.report: note: --years {y} is outside the sweep's years "
                  f"({min(held)}-{max(held)}); left out", file=sys.stderr)
    print(f"report: {path}\n        {path.with_suffix('.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

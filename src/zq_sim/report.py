"""Collect a sweep into tables, summarise it and write a report with figures.

    python -m zq_sim.report multirun/<date>/<time>            # writes <folder>/report/
    python -m zq_sim.report multirun/<date>/<time> --out DIR

A sweep folder holds one folder per job (Hydra's multirun layout); a job folder holds the run
outputs (``summary.json``, ``timeseries.parquet``, maybe ``villages.parquet``) and ``.hydra/``
with the job's overrides. The report reads only these files; it never imports the model.

What it writes into the report folder:

- ``runs.parquet``: every job's time series in one tidy table, one row per job, replicate and
  year, with the job, ``scenario``, ``seed`` (the replicate's seed), ``root_seed`` if it was swept,
  and every override of the job as a column (``+scenario=x`` -> ``scenario``,
  ``policy.three_assets.platform_coverage=0.7`` -> ``policy.three_assets.platform_coverage``);
- ``jobs.csv``: one row per job: folder, status (ok or failed), why it failed, overrides;
- ``summary.csv``: per group (scenario, or scenario and swept values) and metric, in each job's
  last year: mean, 5th and 95th percentile over replicates (a 90% interval), in stored units;
- ``public_money.csv``: added income per extra yuan of public money against a comparator;
- the figures (PNG) and ``report.md``, which embeds them.

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

from zq_sim import plotting

REPORT_DIR = "report"
FAILED = "FAILED.txt"

#: Metrics of the summary table (each job's last year), where the time series has them.
SUMMARY_METRICS = (
    "mean_operating_income", "median_operating_income", "min_operating_income",
    "min_total_income", "share_below_150k", "share_below_200k", "gini", "mean_total_income",
    "total_operating_income", "total_income", "public_spending", "companies",
    "land_transferred_stock", "fixed_assets", "three_assets_added_income",
)
#: Columns of the Markdown summary (a selection of SUMMARY_METRICS).
HEADLINE = ("mean_operating_income", "median_operating_income", "min_total_income",
            "share_below_150k", "share_below_200k", "gini", "public_spending")
#: Reference scenarios, in order of preference, for the added income per yuan of public money.
REFERENCES = ("baseline", "no_reform")
#: Extra public money counts as none when within this share of the comparator's own spending.
SPENDING_TOLERANCE = 0.005
#: Columns of the village panel that the report keeps (last year only).
VILLAGE_COLUMNS = ["seed", "year", "code", "county", "operating_income", "total_income"]


# ------------------------------------------------------------------------------------------
# Collection
# ------------------------------------------------------------------------------------------
@dataclass
class Sweep:
    """A collected sweep.

    Attributes:
        root: the sweep folder.
        jobs: one row per job: ``job`` (folder below root), ``job_num``, ``status`` ("ok" or
            "failed"), ``reason``, ``scenario``, ``group`` and one column per override.
        runs: one row per job, replicate and year (ok jobs only).
        villages: the village panel's last year of every ok job that wrote one (else None).
        swept: override columns whose value differs between jobs.
        constant: overrides shared by every job, as {column: value}.
        by: the column that names one line per group in the figures.
        policy_start: the first year of the policy levers.

    """

    root: Path
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
        return self.jobs[self.jobs["status"] != "ok"]

    @property
    def params(self) -> list[str]:
        """Swept parameters other than the scenario (and the experiment's name)."""
        return [c for c in self.swept if c not in ("scenario", "experiment")]


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


def _fmt_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def collect(root: Path | str, exclude: Path | None = None, progress: bool = True) -> Sweep:
    """Read every job of a sweep folder into one :class:`Sweep`.

    Args:
        root: the sweep folder (or a single run folder).
        exclude: a folder to skip (the report's own output folder).
        progress: show a progress bar over the jobs.

    Returns:
        The collected sweep. Failed jobs are in ``jobs`` with their reason, not in ``runs``.

    Raises:
        FileNotFoundError: if the folder has no job folders.

    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    jobs = find_jobs(root, exclude.resolve() if exclude is not None else None)
    if not jobs:
        raise FileNotFoundError(
            f"{root} has no job folders (folders with .hydra/overrides.yaml); "
            f"is it the folder of a sweep (multirun/<date>/<time>)?")
    records, frames, panels = [], [], []
    for job in tqdm(jobs, desc="collecting jobs", unit="job", disable=not progress):
        record, ts, villages = read_job(job, root)
        records.append(record)
        if ts is not None:
            frames.append((record, ts))
        if villages is not None:
            panels.append((record, villages))
    table = pd.DataFrame.from_records(records)
    if table["job_num"].isna().all():
        table["job_num"] = range(len(table))
    override_cols = [c for c in table.columns
                     if c not in ("job", "job_num", "status", "reason", "policy_start")]
    swept = [c for c in override_cols
             if table[c].astype(str).nunique(dropna=False) > 1]
    constant = {c: table[c].iloc[0] for c in override_cols
                if c not in swept and c != "scenario" and table[c].notna().all()}
    parts = [c for c in swept if c != "experiment"]
    table["group"] = table.apply(_label, axis=1, parts=parts)
    by = "scenario" if parts in ([], ["scenario"]) else "group"
    starts = table["policy_start"].dropna()
    policy_start = int(starts.min()) if len(starts) else 2024

    job_cols = ["job", "job_num", "group", *[c for c in override_cols if c != "scenario"]]
    runs = pd.concat([_with_job(ts, rec, table, job_cols) for rec, ts in frames],
                     ignore_index=True) if frames else pd.DataFrame()
    villages = pd.concat([_with_job(v, rec, table, job_cols + ["scenario"]) for rec, v in panels],
                         ignore_index=True) if panels else None
    return Sweep(root=root, jobs=table, runs=runs, villages=villages, swept=swept,
                 constant=constant, by=by, policy_start=policy_start)


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


def summary_table(runs: pd.DataFrame, by: str = "scenario",
                  metrics: Sequence[str] = SUMMARY_METRICS,
                  keys: Sequence[str] = ()) -> pd.DataFrame:
    """Per group and metric, in each job's last year: mean and 90% interval over replicates.

    Args:
        runs: one row per replicate and year (and job).
        by: the grouping column.
        metrics: metrics to summarise (those absent from ``runs`` are skipped).
        keys: further columns to carry (swept parameters), constant within a group.

    Returns:
        A long table: ``by``, keys, ``metric``, ``label``, ``unit``, ``year``, ``n``, ``mean``,
        ``p05``, ``p95``; values in stored units (yuan, fractions).

    """
    last = last_year(runs)
    rows = []
    carry = [k for k in dict.fromkeys([by, "scenario", *keys]) if k in last.columns]
    for metric in [m for m in metrics if m in last.columns]:
        stats = plotting.spread(last, carry, metric)
        years = last.groupby(carry, sort=False, observed=True)["year"].max().reset_index()
        stats = stats.merge(years, on=carry)
        label, unit, _ = plotting.METRICS.get(metric, (metric.replace("_", " "), "", 1.0))
        unit = {"% of villages": "fraction of villages", plotting.MONEY_UNIT: "yuan"}.get(unit,
                                                                                          unit)
        rows.append(stats.assign(metric=metric, label=label, unit=unit))
    out = pd.concat(rows, ignore_index=True)
    return out[[*carry, "metric", "label", "unit", "year", "n", "mean", "p05", "p95"]]


def choose_comparator(scenario: str, available: Sequence[str],
                      forced: str | None = None) -> str | None:
    """The scenario that ``scenario`` is compared with for its added income, or None.

    Each scenario is compared with the baseline (the effect of its levers on top of the 2024
    mix), the baseline with no_reform (the effect of the three-assets reform); ``forced`` makes
    one comparator for all.
    """
    if forced:
        return forced if scenario != forced and forced in available else None
    if scenario == "no_reform":
        return None
    if scenario == "baseline":
        return "no_reform" if "no_reform" in available else None
    for ref in REFERENCES:
        if ref in available:
            return ref
    return None


def public_money_table(runs: pd.DataFrame, by: str = "scenario", match: Sequence[str] = (),
                       first_year: int = 2024, comparator: str | None = None,
                       tolerance: float = SPENDING_TOLERANCE, n_boot: int = 2000,
                       ) -> pd.DataFrame:
    """Added total income per extra yuan of public money, each group against its comparator.

    On every seed that both runs share, the added income is the sum over the years from
    ``first_year`` of (total income - comparator's total income), and the extra public money
    the same sum of public spending. The ratio is the mean added income over the mean extra
    money (a ratio of means, robust to a replicate with almost no extra spending), with a
    bootstrap 90% interval over seeds. It is only defined when every seed spends more than
    ``tolerance`` times the comparator's own spending; otherwise ``note`` says why.

    Args:
        runs: one row per replicate and year with ``by``, ``scenario``, ``seed``, ``year``,
            ``total_income`` and ``public_spending``.
        by: the grouping column.
        match: swept parameters a comparator must share with the group.
        first_year: first year counted (the policy start).
        comparator: compare every scenario with this one (default: see
            :func:`choose_comparator`).
        tolerance: share of the comparator's spending below which extra money counts as none.
        n_boot: bootstrap draws for the ratio's interval.

    Returns:
        One row per compared group; empty when the sweep has no comparator.

    """
    needed = {"total_income", "public_spending", "seed", "year", "scenario"}
    if runs.empty or not needed <= set(runs.columns):
        return pd.DataFrame()
    keys = runs[list(dict.fromkeys([by, "scenario", *match]))].drop_duplicates()
    window = runs[runs["year"] >= first_year]
    sums = window.groupby([by, "seed"], sort=False)[["total_income", "public_spending"]].sum()
    rng = np.random.default_rng(0)
    rows = []
    for _, g in keys.iterrows():
        ref_scenario = choose_comparator(g["scenario"], list(keys["scenario"].unique()),
                                         comparator)
        if ref_scenario is None:
            continue
        ref = keys[keys["scenario"] == ref_scenario]
        for m in match:
            ref = ref[ref[m].astype(str) == str(g[m])]
        if len(ref) != 1 or ref[by].iloc[0] == g[by]:
            continue
        ref_group = ref[by].iloc[0]
        a, b = sums.loc[g[by]], sums.loc[ref_group]
        common = a.index.intersection(b.index)
        if len(common) == 0:
            continue
        added = (a.loc[common, "total_income"] - b.loc[common, "total_income"]).to_numpy()
        extra = (a.loc[common, "public_spending"] - b.loc[common, "public_spending"]).to_numpy()
        tol = tolerance * b.loc[common, "public_spending"].abs().to_numpy()
        years = window.loc[window[by] == g[by], "year"]
        row = {by: g[by], "scenario": g["scenario"], "comparator": ref_group,
               "label": f"{g[by]} vs {ref_group}", "first_year": first_year,
               "last_year": int(years.max()), "n_seeds": len(common),
               **_interval("added", added), **_interval("extra", extra),
               "ratio": math.nan, "ratio_p05": math.nan, "ratio_p95": math.nan, "note": ""}
        if np.all(extra > tol):
            row["ratio"] = float(added.mean() / extra.mean())
            idx = rng.integers(0, len(common), size=(n_boot, len(common)))
            boot = added[idx].mean(axis=1) / extra[idx].mean(axis=1)
            row["ratio_p05"], row["ratio_p95"] = (float(q) for q in np.percentile(boot, [5, 95]))
        elif np.all(extra < -tol):
            row["note"] = "it costs no extra public money (it saves some)"
        else:
            row["note"] = "extra public money is about nil or of varying sign"
        rows.append(row)
    return pd.DataFrame(rows)


def _interval(name: str, values: np.ndarray) -> dict[str, float]:
    return {f"{name}_mean": float(np.mean(values)),
            f"{name}_p05": float(np.percentile(values, 5)),
            f"{name}_p95": float(np.percentile(values, 95))}


# ------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------
def _fmt(metric: str, v: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    unit = plotting.METRICS.get(metric, ("", "", 1.0))[1]
    if unit == "% of villages":
        return f"{100 * v:.1f}%" if v == 0 or 100 * abs(v) >= 1 else f"{100 * v:.2f}%"
    if unit == plotting.MONEY_UNIT:
        w = v / plotting.WAN
        return f"{w:,.0f}" if abs(w) >= 100 else f"{w:,.1f}"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def esc(s: Any) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


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


@dataclass
class FigureSpec:
    """A figure of the report: file name, heading, caption and a function that draws it."""

    name: str
    heading: str
    caption: str
    draw: Any


def figures(sweep: Sweep, public: pd.DataFrame) -> tuple[list[FigureSpec], list[str]]:
    """The report's figures for this sweep, and notes on those it cannot draw."""
    runs, by = sweep.runs, sweep.by
    groups = ordered_unique(runs[by])
    colors = plotting.palette(groups)
    notes: list[str] = []
    ps = sweep.policy_start
    out = [
        FigureSpec("income_over_time", "Income over the years",
               "Mean operating income per village, the lowest village's operating income, and "
               "the lowest village's total income (operating income plus fiscal support; dashed: "
               "the 150k yuan floor). Lines are means over replicates, bands hold 90% of "
               "replicates. Money in 万元 (10,000 yuan).",
               lambda: plotting.plot_income_over_time(runs, by=by, colors=colors,
                                                      policy_start=ps)),
        FigureSpec("share_below", "Weak villages",
               "Share of villages whose total income (including fiscal support) is below 150k and "
               "200k yuan, each year.",
               lambda: plotting.plot_share_below(runs, by=by, colors=colors, policy_start=ps)),
    ]
    if sweep.villages is not None and set(sweep.villages[by]) >= set(groups):
        villages = sweep.villages
        out.append(FigureSpec(
            "income_distribution", "Village income in the last year",
            "Operating income of every village in the last simulated year (villages of all "
            "replicates pooled), logarithmic axis; the dashed lines at 150k and 200k yuan are for "
            "reference.",
            lambda: plotting.plot_income_distribution(villages, by=by, colors=colors)))
        out.append(FigureSpec(
            "counties", "County by county",
            "Mean operating income per village and the share of villages below 200k yuan, per "
            "county (pinyin: Duanzhou 端州, Dinghu 鼎湖, Gaoyao 高要, Sihui 四会, Guangning 广宁, "
            "Huaiji 怀集, Fengkai 封开, Deqing 德庆) in the last year.",
            lambda: plotting.plot_counties(villages, by=by, colors=colors)))
    else:
        out.append(FigureSpec(
            "income_distribution", "Village income in the last year",
            "**Drawn from the time series, not the village panel**: the jobs wrote no "
            "villages.parquet (output.villages=false), so the spread over villages is shown by "
            "the yearly 10th, 50th and 90th percentiles of operating income, averaged over "
            "replicates.",
            lambda: plotting.plot_income_percentiles(runs, by=by, colors=colors)))
        notes.append("County-by-county figure not drawn: it needs the village panel, and these "
                     "jobs ran with output.villages=false. Re-run the sweep with "
                     "output.villages=true to get it.")
    if not public.empty:
        comps = ", ".join(sorted(set(public["label"])))
        out.append(FigureSpec(
            "public_money", "Added income per yuan of public money",
            f"Each scenario against its comparator on the same seeds ({comps}), summed over "
            f"{int(public['first_year'].min())}-{int(public['last_year'].max())}: added total "
            "income, extra public money (fiscal support, company seed capital, PV subsidy, "
            "assistance), and their ratio. Total income includes fiscal support, so a pure "
            "transfer scores 1 yuan per yuan. Where the extra public money is nil or negative "
            "the ratio is not defined and the panel says so instead.",
            lambda: plotting.plot_public_money(public)))
    else:
        notes.append("Added income per yuan of public money not drawn: the sweep has no "
                     "comparator job (a baseline or no_reform job with the same other settings).")
    params = sweep.params
    numeric = [p for p in params if pd.api.types.is_numeric_dtype(runs[p])] if len(runs) else []
    if len(params) == 2 and len(numeric) == 2:
        y, x = params
        scenarios = ordered_unique(runs["scenario"])
        for scenario in scenarios:
            sub = runs[runs["scenario"] == scenario]
            for metric in ("mean_operating_income", "share_below_200k", "min_total_income"):
                suffix = f"_{scenario}" if len(scenarios) > 1 else ""
                out.append(FigureSpec(
                    f"heatmap_{metric}{suffix}",
                    f"Heat map: {plotting.METRICS[metric][0].lower()}"
                    + (f" ({scenario})" if len(scenarios) > 1 else ""),
                    f"{plotting.METRICS[metric][0]} in the last year over the two swept "
                    f"parameters, {x} and {y}; each cell gives the mean over replicates and its "
                    "90% interval.",
                    lambda sub=sub, metric=metric: plotting.plot_heatmap(
                        sub, x=x, y=y, metric=metric, xlabel=_axis_label(x),
                        ylabel=_axis_label(y))))
    elif len(params) > 2:
        notes.append(f"No heat map: the sweep varies {len(params)} parameters ({', '.join(params)})"
                     "; a heat map is drawn for exactly two.")
    return out, notes


def write_report(root: Path | str, out: Path | str | None = None, progress: bool = True,
                 comparator: str | None = None, dpi: int = 110) -> Path:
    """Collect a sweep and write its tables, figures and ``report.md`` into ``out``.

    Args:
        root: the sweep folder.
        out: the report folder (default: ``<root>/report``).
        progress: show progress bars.
        comparator: compare every scenario with this one for the public-money figure.
        dpi: resolution of the PNG figures.

    Returns:
        The path of report.md.

    """
    import matplotlib.pyplot as plt

    root = Path(root).resolve()
    out = Path(out).resolve() if out is not None else root / REPORT_DIR
    sweep = collect(root, exclude=out, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    sweep.jobs.drop(columns=["policy_start"]).to_csv(out / "jobs.csv", index=False)
    if sweep.runs.empty:
        text = _markdown(sweep, None, pd.DataFrame(), [], ["No job finished: nothing to draw."])
        (out / "report.md").write_text(text, encoding="utf-8")
        return out / "report.md"
    _as_table(sweep.runs).to_parquet(out / "runs.parquet", index=False)
    summary = summary_table(sweep.runs, by=sweep.by, keys=sweep.params)
    summary.to_csv(out / "summary.csv", index=False)
    public = public_money_table(sweep.runs, by=sweep.by, match=sweep.params,
                                first_year=sweep.policy_start, comparator=comparator)
    for stale in ("public_money.csv", "public_money.png"):  # an earlier report's
        (out / stale).unlink(missing_ok=True)
    if not public.empty:
        public.to_csv(out / "public_money.csv", index=False)
    figs, notes = figures(sweep, public)
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
    text = _markdown(sweep, summary, public, drawn, notes)
    (out / "report.md").write_text(text, encoding="utf-8")
    return out / "report.md"


def _markdown(sweep: Sweep, summary: pd.DataFrame | None, public: pd.DataFrame,
              figs: list[FigureSpec], notes: list[str]) -> str:
    jobs, runs = sweep.jobs, sweep.runs
    ok = jobs[jobs["status"] == "ok"]
    lines = [f"# Sweep report: {sweep.root.name}", "",
             f"Sweep folder: `{sweep.root}`  ",
             f"Written {datetime.now():%Y-%m-%d %H:%M} by `python -m zq_sim.report`.", "",
             f"- jobs: {len(jobs)}, of which {len(ok)} finished and {len(sweep.failed)} failed"]
    if len(runs):
        reps = runs.groupby("job")["seed"].nunique()
        lines.append(f"- replicates per job: {reps.min()}" + (f" to {reps.max()}"
                                                              if reps.max() != reps.min() else ""))
        lines.append(f"- years: {int(runs['year'].min())} to {int(runs['year'].max())} "
                     f"(policy levers from {sweep.policy_start})")
    for c in sweep.swept:
        values = ", ".join(_fmt_value(v) for v in ordered_unique(jobs[c]))
        lines.append(f"- swept: `{c}` = {values}")
    for c, v in sweep.constant.items():
        lines.append(f"- same in every job: `{c}` = {_fmt_value(v)}")
    if len(sweep.failed):
        lines += ["", "## Failed jobs", "",
                  f"{len(sweep.failed)} job(s) failed and are left out of every table and figure. "
                  f"Each folder's `{FAILED}` (where present) holds the error, the seeds and the "
                  "command that reproduces the job.", ""]
        lines.append(_md_table(["job", "scenario", "why"],
                               [[f"`{r.job}`", r.scenario, r.reason]
                                for r in sweep.failed.itertuples()]))
    if summary is not None and len(summary):
        lines += ["", "## Summary: the last simulated year", "",
                  "Mean over replicates [5th, 95th percentile over replicates]: the interval "
                  "holds 90% of the simulated outcomes; it is the spread of outcomes, not a "
                  "confidence interval of the mean, and it is rough with few replicates. "
                  "Money in 万元 (10,000 yuan); shares in % of villages. "
                  "All metrics for every group: `summary.csv` (stored units: yuan, fractions).",
                  ""]
        by = sweep.by
        metrics = [m for m in HEADLINE if m in set(summary["metric"])]
        header = [by] + [_short_label(m) for m in metrics]
        rows = []
        for g in ordered_unique(summary[by]):
            s = summary[summary[by] == g].set_index("metric")
            rows.append([g] + [f"{_fmt(m, s.at[m, 'mean'])} [{_fmt(m, s.at[m, 'p05'])}, "
                               f"{_fmt(m, s.at[m, 'p95'])}]" for m in metrics])
        lines.append(_md_table(header, rows))
    if len(public):
        lines += ["", "### Added income per yuan of public money", "",
                  f"Summed over {int(public['first_year'].min())}-"
                  f"{int(public['last_year'].max())} on the seeds the two jobs share; added "
                  "income is total income (operating income plus fiscal support) minus the "
                  "comparator's. The ratio is the mean added income over the mean extra public "
                  "money, with a bootstrap 90% interval over seeds; it is not given where the "
                  f"extra money is within {SPENDING_TOLERANCE:.1%} of the comparator's spending "
                  "or negative, because a ratio over almost nothing says nothing.", ""]
        rows = [[r.label, r.n_seeds,
                 f"{_fmt('total_income', r.added_mean)} [{_fmt('total_income', r.added_p05)}, "
                 f"{_fmt('total_income', r.added_p95)}]",
                 f"{_fmt('total_income', r.extra_mean)} [{_fmt('total_income', r.extra_p05)}, "
                 f"{_fmt('total_income', r.extra_p95)}]",
                 (f"{r.ratio:.2f} [{r.ratio_p05:.2f}, {r.ratio_p95:.2f}]"
                  if np.isfinite(r.ratio) else f"n/a: {r.note}")]
                for r in public.itertuples()]
        lines.append(_md_table(["scenario vs comparator", "seeds", "added income (万元)",
                                "extra public money (万元)", "yuan per yuan"], rows))
    if figs:
        lines += ["", "## Figures"]
        for f in figs:
            lines += ["", f"### {f.heading}", "", f.caption, "", f"![{f.heading}]({f.name}.png)"]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    lines += ["", "## Files", "",
              "- `runs.parquet`: every job's time series, one row per job, replicate and year, "
              "with the job's overrides as columns (`seed` is the replicate's seed).",
              "- `jobs.csv`: one row per job: folder, status, why it failed, overrides.",
              "- `summary.csv`: per group and metric, last year: mean, p05, p95 over replicates.",
              "- `public_money.csv`: the added-income table above (yuan)." if len(public)
              else "", ""]
    return "\n".join(lines)


def _short_label(metric: str) -> str:
    return {"mean_operating_income": "mean operating income (万元)",
            "median_operating_income": "median operating income (万元)",
            "min_total_income": "lowest total income (万元)",
            "share_below_150k": "below 150k", "share_below_200k": "below 200k",
            "gini": "Gini", "public_spending": "public money that year (万元)"}.get(metric, metric)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: collect a sweep folder and write its report."""
    parser = argparse.ArgumentParser(
        prog="python -m zq_sim.report",
        description="Collect a sweep's jobs into tables and write figures and report.md.")
    parser.add_argument("folder", type=Path, help="the sweep folder (multirun/<date>/<time>)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"report folder (default: <folder>/{REPORT_DIR})")
    parser.add_argument("--comparator", default=None,
                        help="compare every scenario with this one for the public-money figure "
                             "(default: each with baseline, baseline with no_reform)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")  # files only: no windows from the command line
    try:
        path = write_report(args.folder, args.out, progress=not args.no_progress,
                            comparator=args.comparator)
    except FileNotFoundError as exc:
        print(f"zq_sim.report: error: {exc}", file=sys.stderr)
        return 2
    sweep_failed = pd.read_csv(path.parent / "jobs.csv")
    failed = sweep_failed[sweep_failed["status"] != "ok"]
    for r in failed.itertuples():
        print(f"zq_sim.report: job failed, left out: {r.job}: {r.reason}", file=sys.stderr)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

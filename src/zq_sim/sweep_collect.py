"""Collecting a sweep for the report (report.py): its jobs, their overrides and outputs.

:func:`collect` reads one or several sweep folders into a :class:`Sweep`: a table of jobs
(status, why, overrides) and every finished job's time series (and last-year village panel).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from tqdm import tqdm

from zq_sim import style

FAILED = "FAILED.txt"
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



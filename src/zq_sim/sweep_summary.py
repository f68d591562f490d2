"""What a sweep prints when it ends: one comparison table, the sweep folder, the report command.

Called by :class:`zq_sim.callbacks.SweepMonitor` in the process that launched the sweep, which
does not import pandas or the model: this module reads each finished job's ``summary.json``
(its ``horizon``: the last year's metrics over replicates) and ``.hydra/overrides.yaml`` with the
standard library and PyYAML only.

It also warns when a sweep's ``+scenario=`` list on the command line replaces the list of a saved
experiment (conf/experiment/*.yaml): Hydra lets the command line's value of a swept key win over
the experiment's, silently.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import yaml

from zq_sim import outputs
from zq_sim.paths import CONF_DIR
from zq_sim.style import is_shock

#: Columns of the comparison: (horizon metric, unit shown, format); headers are the registry's
#: short labels (:mod:`zq_sim.outputs`). Absent ones are skipped.
_SHOWN = (
    ("mean_operating_income", "wan", "{:,.1f}"),
    ("p10_operating_income", "wan", "{:,.1f}"),
    ("share_own_below_200k", "pct", "{:.1f}%"),
    ("villages_supported", "", "{:,.0f}"),
    ("public_support", "wan", "{:,.0f}"),
    ("public_spending", "yi", "{:,.2f}"),
)
#: (metric, header, factor, format) of each column.
COLUMNS = tuple(
    (m, outputs.describe(m).header + (f" {outputs.UNITS[u][1]}" if u in ("wan", "yi") else ""),
     {"wan": 1 / outputs.WAN, "yi": 1 / outputs.YI, "pct": 100.0}.get(u, 1.0), fmt)
    for m, u, fmt in _SHOWN)
IGNORED = ("hydra.", "seed", "resume", "output.progress")


def _job_dirs(sweep_dir: Path, since: float) -> list[Path]:
    jobs = []
    for marker in sweep_dir.rglob(".hydra/overrides.yaml"):
        try:
            if marker.stat().st_mtime >= since:
                jobs.append(marker.parent.parent)
        except OSError:
            continue

    def order(p: Path) -> tuple:
        m = re.match(r"(\d+)_", p.name)
        return (int(m.group(1)) if m else 1 << 30, p.name)

    return sorted(jobs, key=order)


def _overrides(job: Path) -> dict[str, str]:
    try:
        lines = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    out = {}
    for line in lines or []:
        key, _, value = str(line).partition("=")
        key = key.lstrip("+~")
        if not key.startswith(IGNORED) and key not in IGNORED:
            out[key] = value
    return out


def _fill_from_timeseries(job: Path, summary: dict) -> None:
    """Add to ``summary["horizon"]`` the means of the columns it lacks, from the time series.

    Older summaries hold fewer horizon metrics than the time series has (the bottom decile, for
    one); pyarrow reads just those columns of the last year.
    """
    horizon = summary.setdefault("horizon", {})
    wanted = [m for m, *_ in COLUMNS if (horizon.get(m) or {}).get("mean") is None]
    year = summary.get("horizon_year")
    if not wanted or year is None:
        return
    try:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        schema = pq.read_schema(job / "timeseries.parquet")
        present = [m for m in wanted if m in schema.names]
        if not present:
            return
        table = pq.read_table(job / "timeseries.parquet", columns=["year", *present])
        table = table.filter(pc.equal(table["year"], year))
        for m in present:
            mean = pc.mean(table[m]).as_py()
            if mean is not None:
                horizon[m] = {"mean": mean}
    except Exception:  # noqa: BLE001 - the table is a courtesy; the report reads everything
        return


def comparison_table(sweep_dir: Path | str, since: float = 0.0) -> str | None:
    """The finished jobs of a sweep side by side (last year, means over replicates), or None."""
    sweep_dir = Path(sweep_dir)
    rows = []
    for job in _job_dirs(sweep_dir, since):
        try:
            summary = json.loads((job / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        _fill_from_timeseries(job, summary)
        rows.append((job, summary, _overrides(job)))
    if not rows:
        return None
    keys = list(dict.fromkeys(k for _, _, o in rows for k in o))
    varied = [k for k in keys if len({o.get(k) for _, _, o in rows}) > 1 and k != "experiment"]

    def label(summary: dict, overrides: dict) -> str:
        scenario = str(summary.get("scenario", "?"))
        bits = [scenario + (" (shock)" if is_shock(scenario) else "")]
        bits += [f"{k.rsplit('.', 1)[-1]}={overrides.get(k, '-')}" for k in varied
                 if k != "scenario"]
        return ", ".join(bits)

    columns = [c for c in COLUMNS
               if any((s.get("horizon") or {}).get(c[0], {}).get("mean") is not None
                      for _, s, _ in rows)]
    labels = [label(s, o) for _, s, o in rows]
    width = max(_width("scenario"), *(_width(x) for x in labels))
    widths = [max(_width(h), 10) for _, h, _, _ in columns]
    years = sorted({s.get("horizon_year") for _, s, _ in rows if s.get("horizon_year")})
    reps = sorted({len(s.get("seeds") or []) for _, s, _ in rows})
    lines = [f"zq_sim: {len(rows)} finished job(s), year "
             f"{', '.join(str(y) for y in years) or '(last)'}, means over "
             f"{'/'.join(str(r) for r in reps)} replicate(s) (the report gives intervals):",
             "  ".join([_pad("scenario", width, left=True)]
                       + [_pad(h, w) for (_, h, _, _), w in zip(columns, widths, strict=True)])]
    for lab, (_, s, _) in zip(labels, rows, strict=True):
        cells = []
        for (metric, _, factor, fmt), w in zip(columns, widths, strict=True):
            v = (s.get("horizon") or {}).get(metric, {}).get("mean")
            cells.append(_pad("n/a" if v is None else fmt.format(v * factor), w))
        lines.append("  ".join([_pad(lab, width, left=True)] + cells))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns a text takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, left: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return text + fill if left else fill + text


def end_message(sweep_dir: Path | str, since: float = 0.0) -> str:
    """The comparison table, then the sweep folder and the command that writes its report."""
    sweep_dir = Path(sweep_dir).resolve()
    table = comparison_table(sweep_dir, since)
    lines = [table] if table else ["zq_sim: no job of the sweep finished."]
    lines += ["", f"sweep folder: {sweep_dir}",
              f"report:       python -m zq_sim.report {sweep_dir}"]
    return "\n".join(lines)


def experiment_list_warning(task_overrides: Sequence[str]) -> str | None:
    """A warning when a command-line sweep list replaces a saved experiment's list, else None.

    Args:
        task_overrides: the command line's overrides (Hydra's ``hydra.overrides.task``).

    """
    given = {}
    experiment = None
    for o in task_overrides:
        key, sep, value = str(o).partition("=")
        if not sep:
            continue
        if key.lstrip("+~") == "experiment":
            experiment = value
        else:
            given[key.lstrip("+~")] = (key, value)
    if not experiment or not given:
        return None
    try:
        saved = yaml.safe_load((CONF_DIR / "experiment" / f"{experiment}.yaml")
                               .read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    params = ((saved.get("hydra") or {}).get("sweeper") or {}).get("params") or {}
    replaced = [k for k in (str(p).lstrip("+~") for p in params) if k in given]
    if not replaced:
        return None
    return "\n".join(
        f"zq_sim: warning: {'='.join(given[k])} on the command line REPLACES experiment "
        f"{experiment}'s "
        f"list ({params.get(k, params.get('+' + k))}); it does not add to it. To add a "
        f"scenario, repeat the whole list, or run it into another folder and report both "
        f"folders together (README, 'Adding a scenario to a saved experiment')."
        for k in replaced)

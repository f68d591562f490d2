"""Run replicates of one configuration and write the output contract.

A run executes ``replicates`` seeds spawned from the root ``seed`` (numpy SeedSequence: the i-th
replicate's seed does not depend on how many replicates are run), each from the base year to
``years.end``. With ``output.counterfactual`` each replicate is run a second time on the same
seed with the three-assets reform switched off (the ``no_reform`` scenario's setting); the
difference in collective operating income is the reform's added income, with common random
numbers.

Outputs, written into the output folder atomically (a temporary name, then a rename; summary.json
last, so its presence means the run is complete):

- ``timeseries.parquet``: one row per replicate and year;
- ``villages.parquet``: one row per village, replicate and year (``output.villages``);
- ``summary.json``: scenario, seeds, resolved config, ``targets`` and ``horizon``.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from zq_sim import data, metrics, outputs, resources
from zq_sim.config import RunConfig, validate
from zq_sim.model import ZhaoqingModel

#: How each target is read off the time series, the metrics of the last year and of chosen
#: years, and those years: declared with every output in :mod:`zq_sim.outputs`.
TARGET_METRICS = outputs.TARGETS
HORIZON_METRICS = outputs.HORIZON
PATH_METRICS = outputs.PATHS
MILESTONES = outputs.MILESTONES


#: Outcomes whose variance summary.json splits into replicate noise and parameter uncertainty.
VARIANCE_METRICS = ("mean_operating_income", "p10_operating_income", "share_own_below_200k",
                    "public_spending")
#: Stream of the run's randomness that draws parameter sets (apart from replicate seeds).
_SET_STREAM = 0x5E7


def parameter_sets(cfg: RunConfig):
    """(ensemble, set index of each replicate) under ``uncertainty=parameters``; else (None, None).

    Replicates come in groups of ``parameter_sets.replicates_per_set``; each group runs one set
    drawn by weight from a generator seeded by the run's root seed (so every scenario of a
    comparison gets the same sets on the same seeds, and the first groups stay the same as
    replicates are added).
    """
    if cfg.uncertainty != "parameters":
        return None, None
    from zq_sim import ensemble
    ens = ensemble.load(cfg.parameter_sets.path or None)
    per_set = cfg.parameter_sets.replicates_per_set
    groups = math.ceil(cfg.replicates / per_set)
    draws = ens.draw(groups, np.random.default_rng(np.random.SeedSequence([cfg.seed,
                                                                           _SET_STREAM])))
    return ens, [int(draws[i // per_set]) for i in range(cfg.replicates)]


def variance_split(values: pd.Series, groups: pd.Series) -> dict[str, float | None]:
    """One-way random-effects split of the variance over replicates (ANOVA estimators).

    ``groups`` labels the replicates that share a parameter set. Replicate noise is the pooled
    within-group variance; parameter uncertainty is the variance of the group means less the
    noise they still carry, at least zero. None where a group has fewer than 2 replicates.
    """
    frame = pd.DataFrame({"v": values.to_numpy(dtype=float), "g": groups.to_numpy()})
    frame = frame[np.isfinite(frame["v"])]
    sizes = frame.groupby("g")["v"].size()
    total = float(frame["v"].var(ddof=1)) if len(frame) > 1 else None
    if len(sizes) < 2 or sizes.min() < 2:
        return {"total": total, "replicate_noise": None, "parameters": None,
                "parameter_share": None}
    within = float(frame.groupby("g")["v"].var(ddof=1).mean())
    means = frame.groupby("g")["v"].mean()
    m = float(len(frame) / len(sizes))
    between = max(0.0, float(means.var(ddof=1)) - within / m)
    share = between / (between + within) if between + within > 0 else None
    return {"total": total, "replicate_noise": within, "parameters": between,
            "parameter_share": share}


class RunFailed(RuntimeError):
    """A run that cannot give a valid result (a non-finite output)."""


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seeds of the replicates, spawned from the root seed (stable as replicates grow)."""
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [int(c.generate_state(1)[0]) for c in children]


def counterfactual_config(cfg: RunConfig) -> RunConfig:
    """The same run without the three-assets reform (and without writing a village panel)."""
    cf = copy.deepcopy(cfg)
    cf.policy.three_assets.reform = False
    cf.output.villages = False
    return cf


def run_replicate(cfg: RunConfig, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replicate: (yearly metrics, village panel), with the reform's added income.

    numpy's warnings on overflow and invalid values are silenced: :func:`check_finite` stops a
    run whose outputs are not finite, naming the stage, in one line.
    """
    with np.errstate(all="ignore"):
        return _run_replicate(cfg, seed)


def _run_replicate(cfg: RunConfig, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    model = ZhaoqingModel(cfg, rng=seed, collect_agents=False)
    ts = model.run()
    if cfg.output.counterfactual and cfg.policy.three_assets.reform:
        cf = ZhaoqingModel(counterfactual_config(cfg), rng=seed,
                           collect_agents=False).run()
        # added OPERATING income: the reform adds collective income, not transfers (support
        # reacts to income and would offset part of it)
        ts["three_assets_added_income"] = (ts["total_operating_income"]
                                           - cf["total_operating_income"])
    elif not cfg.policy.three_assets.reform:
        ts["three_assets_added_income"] = 0.0  # no reform: nothing added, by definition
    else:
        ts["three_assets_added_income"] = math.nan  # not measured (output.counterfactual off)
    ts.insert(0, "seed", seed)
    panel = model.village_panel()
    if not panel.empty:
        panel.insert(0, "seed", seed)
    return ts, panel


def first_nonfinite(ts: pd.DataFrame, skip: Iterable[str] = ()) -> tuple[str, int, float] | None:
    """(column, year, value) of the earliest non-finite number in a time series, or None."""
    numeric = ts.drop(columns=[c for c in skip if c in ts.columns]).select_dtypes("number")
    bad = ~np.isfinite(numeric.to_numpy(dtype=float))
    if not bad.any():
        return None
    row = int(np.flatnonzero(bad.any(axis=1))[0])
    col = int(np.flatnonzero(bad[row])[0])
    return numeric.columns[col], int(ts["year"].iloc[row]), float(numeric.iat[row, col])


def _schedule() -> list[str]:
    """The stages of ZhaoqingModel.step, in order (the ``self.stage()`` calls of its body)."""
    import inspect
    import re

    try:
        return re.findall(r"self\.(\w+)\(\)", inspect.getsource(ZhaoqingModel.step))
    except (OSError, TypeError):
        return []


def _nonfinite_state(model: ZhaoqingModel) -> str | None:
    """The first of the model's numbers (its state tables and accounts) that is not finite."""
    def scan(value, name: str, depth: int) -> str | None:
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return name if not np.isfinite(value).all() else None
        if isinstance(value, float):
            return name if not math.isfinite(value) else None
        if isinstance(value, dict) and depth < 3:
            for k, v in value.items():
                found = scan(v, f"{name}[{k!r}]", depth + 1)
                if found:
                    return found
        elif depth < 2 and type(value).__module__.startswith("zq_sim") and \
                hasattr(value, "__dict__"):
            for k, v in vars(value).items():
                found = scan(v, f"{name}.{k}", depth + 1)
                if found:
                    return found
        return None

    for name, value in vars(model).items():
        if not name.startswith("__"):
            found = scan(value, name.lstrip("_"), 0)
            if found:
                return found
    return None


def locate_nonfinite(cfg: RunConfig, seed: int, year: int) -> str:
    """Which stage first made a number of the model's state non-finite, up to ``year``.

    The replicate is run again, stage by stage; if the state stays finite, the year's metrics
    (stage collect) made the number from finite state.
    """
    model = ZhaoqingModel(cfg, rng=seed, collect_agents=False)
    found: list[str] = []
    stages = _schedule()
    if not stages:
        return "a stage of the model (its schedule, ZhaoqingModel.step, could not be read)"
    for stage in stages:
        method = getattr(model, stage)

        def traced(method=method, stage=stage):
            method()
            if not found:
                where = _nonfinite_state(model)
                if where:
                    found.append(f"stage {stage} (model.{where}, {model.year})")

        setattr(model, stage, traced)
    if _nonfinite_state(model):
        return f"the set-up of the model ({_nonfinite_state(model)})"
    with np.errstate(all="ignore"):
        while model.year < year and not found:
            model.step()
    return found[0] if found else "the year's metrics (stage collect), from finite state"


def check_finite(ts: pd.DataFrame, cfg: RunConfig, seed: int, index: int) -> None:
    """Raise RunFailed naming the column, year and stage of a non-finite output."""
    measured = cfg.output.counterfactual and cfg.policy.three_assets.reform
    bad = first_nonfinite(ts, skip=() if measured else ("three_assets_added_income",))
    if bad is None:
        return
    column, year, value = bad
    traced = cfg
    if column == "three_assets_added_income" and first_nonfinite(
            ts.drop(columns=[column])) is None:
        traced = counterfactual_config(cfg)  # the run without the reform went wrong
    stage = locate_nonfinite(traced, seed, year)
    raise RunFailed(
        f"{column} is {value} in {year} (replicate {index}, seed {seed}); the first "
        f"non-finite number came from {stage}"
        f"{' of the run without the reform' if traced is not cfg else ''}: the settings are "
        f"too extreme for the model; move the ones far from their defaults back")


def stats(values: Iterable[float]) -> dict[str, float | None]:
    """Mean, 5th and 95th percentile, min and max over replicates (None where undefined)."""
    a = np.asarray(list(values), dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {k: None for k in ("mean", "p05", "p95", "min", "max")}
    return {"mean": float(a.mean()), "p05": float(np.percentile(a, 5)),
            "p95": float(np.percentile(a, 95)), "min": float(a.min()), "max": float(a.max())}


def target_values(ts: pd.DataFrame, year: int) -> dict[str, float]:
    """Simulated value of each target in one replicate's time series."""
    by_year = ts.set_index("year")
    out = {}
    for name, (column, kind) in TARGET_METRICS.items():
        now = by_year[column].get(year, math.nan)
        if kind == "growth":
            before = by_year[column].get(year - 1, math.nan)
            out[name] = metrics.growth(now, before)
        else:
            out[name] = float(now)
    return out


def summarise(cfg: RunConfig, timeseries: pd.DataFrame, seeds: list[int],
              resolved: dict | None = None) -> dict:
    """The summary.json contract from all replicates' time series."""
    per_rep = [target_values(g, cfg.years.calibration) for _, g in timeseries.groupby("seed")]
    last = timeseries[timeseries["year"] == cfg.years.end]
    shown = sorted({cfg.years.calibration, *MILESTONES, cfg.years.end} & set(
        timeseries["year"].unique().tolist()))
    years = {str(y): {name: stats(timeseries.loc[timeseries["year"] == y, name])
                      for name in PATH_METRICS if name in timeseries}
             for y in shown}
    return {
        "scenario": cfg.scenario,
        "seeds": seeds,
        "calibrated": cfg.calibrated,
        "data": data.fingerprint(),
        "calibration_year": cfg.years.calibration,
        "horizon_year": cfg.years.end,
        "targets": {name: stats(r[name] for r in per_rep) for name in TARGET_METRICS},
        "horizon": {name: stats(last[name]) for name in HORIZON_METRICS},
        "years": years,
        "uncertainty": uncertainty_block(cfg, timeseries, seeds, shown),
        "config": resolved if resolved is not None else asdict(cfg),
    }


def uncertainty_block(cfg: RunConfig, timeseries: pd.DataFrame, seeds: list[int],
                      years: Iterable[int]) -> dict:
    """What the intervals cover; under parameter uncertainty, the variance split by source."""
    if cfg.uncertainty != "parameters" or "parameter_set" not in timeseries:
        return {"source": "replicates",
                "note": "intervals over replicates at the calibrated parameters: replicate "
                        "noise only (uncertainty=parameters adds parameter uncertainty)"}
    per_set = cfg.parameter_sets.replicates_per_set
    group = timeseries["seed"].map({s: i // per_set for i, s in enumerate(seeds)})
    split = {}
    for name in VARIANCE_METRICS:
        if name not in timeseries:
            continue
        split[name] = {str(y): variance_split(timeseries.loc[timeseries["year"] == y, name],
                                              group[timeseries["year"] == y])
                       for y in years}
    from zq_sim import ensemble
    ens_dir = cfg.parameter_sets.path or str(ensemble.DEFAULT_DIR)
    return {"source": "parameters",
            "note": "intervals over replicates that each run a parameter set drawn from the "
                    "ensemble: replicate noise and parameter uncertainty together",
            "ensemble": ens_dir,
            "sets_drawn": int(timeseries.drop_duplicates("seed")["parameter_set"].nunique()),
            "replicates_per_set": per_set,
            "variance": split}


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; outputs are shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def jsonable(obj):
    """A structure JSON can hold (summary.json, calibration.json, the search's result).

    NaN and infinities become null, numpy scalars and pandas Series Python ones, keys text.
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, pd.Series):
        return jsonable(obj.to_dict())
    return obj


class TableStream:
    """A parquet file written a replicate at a time (a row group each), renamed into place last.

    Replicates' tables are written as they finish, so that a run holds one replicate's village
    panel at a time, not every replicate's. Readers see one file, as before.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._writer = None
        self._schema = None
        self._tmp: Path | None = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append one replicate's rows (the first fixes the columns and their types)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self._schema = table.schema
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                       dir=self.path.parent)
            os.close(fd)
            self._tmp = Path(tmp)
            self._writer = pq.ParquetWriter(tmp, self._schema)
        else:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        self._writer.write_table(table)

    def close(self) -> None:
        """Finish the file and rename it into place (nothing if no rows were written)."""
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)  # mkstemp makes owner-only files
        os.replace(self._tmp, self.path)

    def discard(self) -> None:
        """Drop what was written (a failed run leaves no half-written file)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)


def write_summary(out_dir: Path, summary: dict) -> None:
    """Write summary.json (last: its presence means the run is complete)."""
    text = json.dumps(jsonable(summary), ensure_ascii=False, indent=2)
    _atomic(Path(out_dir) / "summary.json", lambda p: p.write_text(text, encoding="utf-8"))


def run(cfg: RunConfig, out_dir: Path | None = None, resolved: dict | None = None,
        echo: Callable[[str], None] | None = print, tables: dict | None = None) -> dict:
    """Run every replicate of ``cfg``; write outputs into ``out_dir`` if given; return summary.

    Each replicate's time series and village panel are written as it finishes (one row group
    of timeseries.parquet and villages.parquet each); only the years that the summary needs are
    kept in memory, unless ``tables`` is given: it then receives the whole ``timeseries`` and
    ``villages`` (None when the village panel is off). summary.json is written last.
    """
    validate(cfg)
    # read and check every data file before anything starts (errors name file, row, column)
    data.load_targets()
    data.load_counties()
    data.load_villages(include_residents=cfg.population.include_residents_committees)
    resources.check(cfg, echo)
    seeds = replicate_seeds(cfg.seed, cfg.replicates)
    ens, sets = parameter_sets(cfg)
    kept_years = {cfg.years.calibration - 1, cfg.years.calibration, *MILESTONES, cfg.years.end}
    kept, panels = [], []
    streams = {}
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        streams["ts"] = TableStream(Path(out_dir) / "timeseries.parquet")
        if cfg.output.villages:
            streams["panel"] = TableStream(Path(out_dir) / "villages.parquet")
    bar = tqdm(seeds, desc=f"{cfg.scenario}: replicates", unit="rep",
               disable=not cfg.output.progress, leave=False)
    try:
        for i, seed in enumerate(bar):
            try:
                rcfg = cfg if ens is None else ens.configure(cfg, sets[i])
                ts, panel = run_replicate(rcfg, seed)
            except Exception as exc:
                raise RuntimeError(
                    f"replicate {i} (seed {seed}) of scenario {cfg.scenario} failed: {exc!r}. "
                    f"It is replicate {i} of root seed {cfg.seed}: rerun the same command with "
                    f"seed={cfg.seed} replicates={i + 1} to reproduce it") from exc
            check_finite(ts, cfg, seed, i)
            if sets is not None:
                ts.insert(1, "parameter_set", sets[i])
                if not panel.empty:
                    panel.insert(1, "parameter_set", sets[i])
            ts.insert(0, "scenario", cfg.scenario)
            kept.append(ts if tables is not None else ts[ts["year"].isin(kept_years)])
            if "ts" in streams:
                streams["ts"].write(ts)
            if cfg.output.villages and not panel.empty:
                panel.insert(0, "scenario", cfg.scenario)
                if "panel" in streams:
                    streams["panel"].write(panel)
                if tables is not None:
                    panels.append(panel)
            del ts, panel
        timeseries = pd.concat(kept, ignore_index=True)
        summary = summarise(cfg, timeseries, seeds, resolved)
        if tables is not None:
            tables.update(timeseries=timeseries, villages=pd.concat(panels, ignore_index=True)
                          if panels else None)
        for stream in streams.values():
            stream.close()
    except BaseException:
        for stream in streams.values():
            stream.discard()
        raise
    if out_dir is not None:
        write_summary(Path(out_dir), summary)
    if echo is not None:
        echo(format_table(summary))
        if out_dir is not None:
            echo(f"outputs: {out_dir}")
    return summary


def _fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "n/a"
    if unit == "fraction":
        return f"{x:+.1%}" if abs(x) < 10 else f"{x:.3g}"
    if abs(x) >= 1e3:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def format_table(summary: dict) -> str:
    """Targets against simulated values, then the horizon metrics, as plain text."""
    targets = data.load_targets()["targets"]
    lines = [
        f"zq_sim: scenario {summary['scenario']}, {len(summary['seeds'])} replicates, parameters: "
        + ("calibrated" if summary["calibrated"] else "priors (not calibrated yet)"),
        "",
        f"Targets, {summary['calibration_year']}: mean [90% interval over replicates]",
        f"{'target':28} {'reported':>14} {'simulated':>14} {'p05':>14} {'p95':>14}",
    ]
    for name, t in targets.items():
        s = summary["targets"].get(name, {})
        unit = t.get("unit", "")
        unit = "fraction" if unit == "fraction" else unit
        value = "n/a" if s.get("mean") is None else _fmt(s["mean"], unit)
        lines.append(f"{name:28} {_fmt(float(t['value']), unit):>14} {value:>14} "
                     f"{_fmt(s.get('p05'), unit):>14} {_fmt(s.get('p95'), unit):>14}")
    years = summary.get("years") or {}
    if years:
        lines += ["", "Operating income per village, mean over replicates: recurring + one-off",
                  "(arrears recovered by the clean-up); weak villages on their own income",
                  "(operating income before support):",
                  f"{'year':>6} {'operating':>12} {'recurring':>12} {'one-off':>10} "
                  f"{'bottom 10%':>12} {'own <150k':>10} {'own <200k':>10}"]
        for year, m in years.items():
            def mean(name, m=m):
                return (m.get(name) or {}).get("mean")
            lines.append(
                f"{year:>6} {_fmt(mean('mean_operating_income'), 'yuan'):>12} "
                f"{_fmt(mean('mean_recurring_operating_income'), 'yuan'):>12} "
                f"{_fmt(mean('mean_arrears_income'), 'yuan'):>10} "
                f"{_fmt(mean('p10_operating_income'), 'yuan'):>12} "
                f"{_share(mean('share_own_below_150k')):>10} "
                f"{_share(mean('share_own_below_200k')):>10}")
        lines += ["A spike in the first reform year and a dip after it are the one-off recovery",
                  "of unpaid rent, not a change in what villages earn."]
    lines += ["", f"Horizon, {summary['horizon_year']}: mean [p05, p95]"]
    for name, s in summary["horizon"].items():
        unit = "fraction" if outputs.describe(name).kind in ("share", "rate", "index") else "yuan"
        if s["mean"] is None:
            continue
        if unit == "fraction":
            text = f"{s['mean']:.3f} [{s['p05']:.3f}, {s['p95']:.3f}]"
        else:
            text = f"{_fmt(s['mean'], unit)} [{_fmt(s['p05'], unit)}, {_fmt(s['p95'], unit)}]"
        lines.append(f"{name:28} {text}")
    lines += uncertainty_lines(summary.get("uncertainty") or {})
    return "\n".join(lines)


def uncertainty_lines(block: dict) -> list[str]:
    """What the intervals cover, and the variance split by source, as plain text."""
    if not block:
        return []
    lines = ["", f"Intervals: {block['note']}."]
    if block.get("source") != "parameters":
        return lines
    lines.append(f"{block['sets_drawn']} parameter sets drawn from {block['ensemble']}, "
                 f"{block['replicates_per_set']} replicates each. Share of the variance over "
                 "replicates that is parameter uncertainty (the rest is replicate noise):")
    split = block.get("variance") or {}
    years = sorted({y for by_year in split.values() for y in by_year})
    lines.append(f"{'outcome':28} " + " ".join(f"{y:>7}" for y in years))
    for name, by_year in split.items():
        cells = []
        for y in years:
            share = (by_year.get(y) or {}).get("parameter_share")
            cells.append(f"{'n/a' if share is None else f'{share:.0%}':>7}")
        lines.append(f"{name:28} " + " ".join(cells))
    return lines

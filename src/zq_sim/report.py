"""Collect sweeps into tables, compare the scenarios and write a report with figures.

The collecting is in :mod:`zq_sim.sweep_collect`, the tables in :mod:`zq_sim.report_tables`, the
figures in :mod:`zq_sim.report_figures`; this module writes the report (and re-exports their
names for callers).

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
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from zq_sim import outputs, plotting, style
from zq_sim.document import Document
from zq_sim.report_figures import Analysis, FigureSpec, analyse, figures
from zq_sim.report_tables import (  # noqa: F401  (some re-exported for callers)
    DIFF_METRICS,
    HEADLINE,
    SUMMARY_METRICS,
    WEAK_METRICS,
    _fmt_in,
    _unit_in,
    choose_comparator,
    last_year,
    report_years,
    summary_table,
)
from zq_sim.sweep_collect import (  # noqa: F401  (some re-exported for callers)
    FAILED,
    VILLAGE_COLUMNS,
    Sweep,
    _as_table,
    _fmt_value,
    _money_text,
    collect,
    find_jobs,
    ordered_unique,
    parse_overrides,
    read_job,
)

REPORT_DIR = "report"


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


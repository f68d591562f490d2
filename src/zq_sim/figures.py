"""Make the README's figures (docs/figures/) from the current code, in one command.

    python -m zq_sim.figures                    # the saved scenario comparison -> docs/figures/
    python -m zq_sim.figures --replicates 3 --end 2030 --out /tmp/figs   # a quicker try

It runs the saved sweep ``+experiment=scenario_comparison`` through the project's own command
line into a temporary folder, writes its report (years 2027 and 2030 besides the last), copies
the figures the README shows into the output folder and writes ``STAMP`` there: the hash of the
model's behaviour (:data:`MODEL_FILES`), when and from which commit the figures were made and the
command. ``tests/test_figures.py`` fails when the committed STAMP's hash differs from the code's,
that is when the model changed after the figures were made: rerun this command and commit
docs/figures/.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml

from zq_sim.paths import ROOT, CheckoutNeeded, checkout

FIGURES_DIR = ROOT / "docs" / "figures"
STAMP = "STAMP"
#: Files whose content is the model's behaviour (globs below the project folder).
MODEL_FILES = ("src/zq_sim/model.py", "src/zq_sim/agents.py", "src/zq_sim/population.py",
               "src/zq_sim/mechanisms/*.py", "conf/model/calibrated.yaml",
               "conf/scenario/*.yaml")
#: Figures of the report that the README shows (those a sweep cannot draw are skipped).
SHOWN = ("weak_income", "own_below", "differences", "cost_effectiveness", "income_sources",
         "support_cost", "income_over_time")
#: Screenshots in headless Chromium: report.html and the dashboard (scripts/figures_dashboard.py).
SCREENSHOTS = ("report", "dashboard", "dashboard_full")


def model_hash(root: Path = ROOT) -> str:
    """SHA-256 over the model's files (:data:`MODEL_FILES`), names and contents, in name order.

    Line endings are normalised so that a checkout on another system hashes the same.
    """
    h = hashlib.sha256()
    files = sorted({p for pattern in MODEL_FILES for p in root.glob(pattern) if p.is_file()})
    for path in files:
        h.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return h.hexdigest()


def read_stamp(folder: Path = FIGURES_DIR) -> dict:
    """The STAMP of a figures folder ({} if there is none)."""
    try:
        return yaml.safe_load((folder / STAMP).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=30)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--"]
                               + list(MODEL_FILES), capture_output=True, text=True, timeout=30)
        return out.stdout.strip() + (" (with uncommitted model changes)"
                                     if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def make_figures(out: Path = FIGURES_DIR, replicates: int = 10, end: int = 2035,
                 scenarios: Sequence[str] = (), years: Sequence[int] = (2027, 2030),
                 keep: Path | None = None, jobs: int | None = None,
                 screenshots: bool = True) -> list[Path]:
    """Run the scenario comparison, write its report, copy the shown figures and the STAMP.

    Args:
        out: the folder the figures go into (docs/figures/ by default).
        replicates: replicates per scenario.
        end: the last simulated year.
        scenarios: run only these scenarios (default: the experiment's list).
        years: years the report shows besides the last.
        keep: keep the sweep and its full report in this folder (default: a temporary one,
            removed afterwards).
        jobs: parallel jobs (default: Hydra's, one per core).
        screenshots: also picture report.html and the dashboard (needs Chromium).

    Returns:
        The figure files written.

    Raises:
        RuntimeError: if the sweep fails (its output is in the message).

    """
    from zq_sim import report

    out = Path(out).resolve()
    work = Path(keep).resolve() if keep else Path(tempfile.mkdtemp(prefix="zq_sim_figures_"))
    work.mkdir(parents=True, exist_ok=True)
    sweep = work / "sweep"
    # a list of scenarios replaces the experiment's (its only other setting: no village panel)
    chosen = ([f"+scenario={','.join(scenarios)}", "output.villages=false"] if scenarios
              else ["+experiment=scenario_comparison"])
    args = [sys.executable, "-m", "zq_sim", "-m", *chosen, f"replicates={replicates}",
            f"years.end={end}", "output.progress=false", f"hydra.sweep.dir={sweep}"]
    if jobs:
        args.append(f"hydra.launcher.n_jobs={jobs}")
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    try:
        print(f"zq_sim.figures: running the scenario comparison into {sweep} ...", flush=True)
        result = subprocess.run(args, cwd=work, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"the sweep failed (exit {result.returncode}):\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        report.write_report(sweep, out=work / "report", progress=False, years=years)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in SHOWN:
            src = work / "report" / f"{name}.png"
            if src.is_file():
                shutil.copyfile(src, out / f"{name}.png")
                written.append(out / f"{name}.png")
        if screenshots:
            written += _screenshots(out, work / "report" / "report.html")
        stamp = {
            "model_hash": model_hash(),
            "made": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": _commit(),
            "command": "python -m zq_sim.figures " + " ".join(
                [f"--replicates {replicates}", f"--end {end}"]
                + ([f"--scenarios {','.join(scenarios)}"] if scenarios else [])),
            "figures": [p.name for p in written],
        }
        header = ("# Written by `python -m zq_sim.figures`. tests/test_figures.py fails when\n"
                  "# model_hash differs from the code's: rerun the command and commit.\n")
        (out / STAMP).write_text(header + yaml.safe_dump(stamp, sort_keys=False,
                                                         allow_unicode=True), encoding="utf-8")
        return written
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _screenshots(out: Path, report_html: Path) -> list[Path]:
    """Pictures of report.html and of the dashboard, where headless Chromium is installed."""
    try:
        from zq_sim.dashboard import browser
    except ImportError as exc:  # the dashboard extra is not installed
        print(f"zq_sim.figures: no screenshots ({exc}); install the dashboard extra", flush=True)
        return []
    if browser.chromium_path() is None:
        print("zq_sim.figures: no screenshots: Chromium is not installed "
              "(Debian: apt-get install chromium)", flush=True)
        return []
    shots = [browser.screenshot_html(report_html, out / "report.png", height=1500)]
    script = ROOT / "scripts" / "figures_dashboard.py"
    result = subprocess.run([sys.executable, str(script), str(out)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the dashboard screenshots failed:\n{result.stderr[-3000:]}")
    shots += [out / "dashboard.png", out / "dashboard_full.png"]
    return shots


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: make the README's figures."""
    parser = argparse.ArgumentParser(
        prog="python -m zq_sim.figures",
        description="Run the saved scenario comparison and copy its report's figures into "
                    "docs/figures/ with a STAMP of the model they were made with.")
    parser.add_argument("--out", type=Path, default=FIGURES_DIR,
                        help="folder for the figures (default: docs/figures/)")
    parser.add_argument("--replicates", type=int, default=10, help="replicates per scenario (10)")
    parser.add_argument("--end", type=int, default=2035, help="last simulated year (2035)")
    parser.add_argument("--scenarios", default="",
                        help="comma-separated scenarios (default: the experiment's list)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the sweep and its full report in this folder")
    parser.add_argument("--jobs", type=int, default=None, help="parallel jobs (default: cores)")
    parser.add_argument("--no-screenshots", action="store_true",
                        help="skip the screenshots of report.html and the dashboard")
    args = parser.parse_args(argv)
    try:  # the figures belong to docs/figures/; the model's hash and the screenshots to src/
        checkout("python -m zq_sim.figures (it remakes the README's figures)")
    except CheckoutNeeded as exc:
        print(f"zq_sim.figures: error: {exc}", file=sys.stderr)
        return 2
    if args.replicates < 1:
        print(f"zq_sim.figures: error: --replicates = {args.replicates}: give 1 or more",
              file=sys.stderr)
        return 2
    if not 2025 <= args.end <= 2050:
        print(f"zq_sim.figures: error: --end = {args.end}: choose a year in 2025-2050",
              file=sys.stderr)
        return 2
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        print(f"zq_sim.figures: error: --keep {args.keep} is not empty; choose a new folder",
              file=sys.stderr)
        return 2
    scenarios = [s for s in args.scenarios.split(",") if s]
    known = sorted(p.stem for p in (ROOT / "conf" / "scenario").glob("*.yaml"))
    unknown = [s for s in scenarios if s not in known]
    if unknown:
        print(f"zq_sim.figures: error: --scenarios: unknown scenario '{unknown[0]}'; choose "
              f"from: {', '.join(known)}", file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    try:
        written = make_figures(args.out, args.replicates, args.end, scenarios,
                               keep=args.keep, jobs=args.jobs,
                               screenshots=not args.no_screenshots)
    except RuntimeError as exc:
        print(f"zq_sim.figures: error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(f"wrote {p}" for p in written) + f"\nwrote {Path(args.out) / STAMP}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

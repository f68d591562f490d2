"""The parameter ensemble's report: marginals, strongest correlations, the targets' spread.

Written by ``python -m zq_sim.ensemble`` into the ensemble's folder (report.md and PNG figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from zq_sim import space  # noqa: E402

#: Figures are drawn at this resolution.
DPI = 150


def shrinkage(dims: Sequence[space.Dimension], sets: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: prior and posterior mean and sd on the unit scale, and their ratio.

    A ratio near 1 says the 2024 figures leave the parameter where its declared range put it;
    a small ratio says they pin it down.
    """
    u = space.to_unit(dims, sets[[d.name for d in dims]].to_numpy(dtype=float))
    w = sets["weight"].to_numpy(dtype=float)
    mean = np.average(u, axis=0, weights=w)
    sd = np.sqrt(np.average((u - mean) ** 2, axis=0, weights=w))
    prior_sd = 1.0 / np.sqrt(12.0)
    table = pd.DataFrame({
        "parameter": [d.name for d in dims],
        "low": [d.low for d in dims], "high": [d.high for d in dims],
        "prior_value": [d.default for d in dims],
        "ensemble_median": [float(np.quantile(sets[d.name], 0.5)) for d in dims],
        "ensemble_p05": [float(np.quantile(sets[d.name], 0.05)) for d in dims],
        "ensemble_p95": [float(np.quantile(sets[d.name], 0.95)) for d in dims],
        "unit_mean": mean, "sd_ratio": sd / prior_sd,
    })
    return table.sort_values("sd_ratio").reset_index(drop=True)


def correlations(dims: Sequence[space.Dimension], sets: pd.DataFrame,
                 top: int = 12) -> pd.DataFrame:
    """The strongest pairwise (weighted, unit-scale) correlations between parameters."""
    u = space.to_unit(dims, sets[[d.name for d in dims]].to_numpy(dtype=float))
    w = sets["weight"].to_numpy(dtype=float)
    cov = np.cov(u, rowvar=False, aweights=w)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    corr = cov / np.outer(sd, sd)
    rows = [{"a": dims[i].name, "b": dims[j].name, "r": float(corr[i, j])}
            for i in range(len(dims)) for j in range(i + 1, len(dims))
            if np.isfinite(corr[i, j])]
    table = pd.DataFrame(rows)
    return table.reindex(table["r"].abs().sort_values(ascending=False).index).head(top)


def plot_marginals(dims: Sequence[space.Dimension], sets: pd.DataFrame, names: Sequence[str],
                   point: dict[str, Any], title: str = "Parameter ensemble: marginals"):
    """Histograms of the ensemble's values (weighted), zoomed on them.

    The declared range is in each title, the point fit a red line.
    """
    import textwrap
    by = {d.name: d for d in dims}
    n = len(names)
    cols = 4
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        d = by[name]
        values = sets[name].to_numpy(dtype=float)
        lo, hi = float(values.min()), float(values.max())
        if hi <= lo:
            lo, hi = lo * 0.99 - 1e-9, hi * 1.01 + 1e-9
        bins = np.linspace(lo, hi, 15)   # zoomed: a log scale adds nothing over so short a span
        ax.hist(values, bins=bins, weights=sets["weight"], color="#4c72b0", alpha=0.8,
                label="ensemble (weight)")
        if name in point:
            ax.axvline(float(point[name]), color="#d62728", lw=1.5, label="point fit")
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_title(f"{d.label}\ndeclared {d.low:g} to {d.high:g}", fontsize=8)
        ax.set_xlabel(textwrap.shorten(d.unit or "value", 40, placeholder="..."), fontsize=7)
        ax.set_ylabel("weight", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.9, 0.96))
    return fig, axes


def plot_correlations(table: pd.DataFrame, dims: Sequence[space.Dimension], sets: pd.DataFrame):
    """Scatter plots of the strongest correlated pairs (unit scale, point size by weight)."""
    pairs = table.head(6).to_dict("records")
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.5), squeeze=False)
    by = {d.name: d for d in dims}
    w = sets["weight"].to_numpy(dtype=float)
    for ax, pair in zip(axes.flat, pairs, strict=False):
        a, b = by[pair["a"]], by[pair["b"]]
        ax.scatter(sets[a.name], sets[b.name], s=8 + 400 * w, alpha=0.5, color="#4c72b0")
        import textwrap

        from matplotlib.ticker import MaxNLocator
        xa, yb = a.name.rsplit(".", 1)[-1], b.name.rsplit(".", 1)[-1]
        ax.set_xlabel(textwrap.shorten(f"{xa} ({a.unit})", 45, placeholder="...)"), fontsize=8)
        ax.set_ylabel(textwrap.shorten(f"{yb} ({b.unit})", 40, placeholder="...)"), fontsize=8)
        ax.set_title(f"r = {pair['r']:+.2f}", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    fig.suptitle("The strongest pairwise correlations in the ensemble (point size: weight)",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig, axes


def plot_targets(validation: pd.DataFrame, names: Sequence[str]):
    """Each target's relative error on held-out seeds: ensemble (a set a seed) vs point fit."""
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(names) + 1.5))
    pos = np.arange(len(names))
    for offset, source, color in ((-0.18, "ensemble", "#4c72b0"), (0.18, "point fit", "#d62728")):
        data = [100 * validation.loc[validation.source == source, n].to_numpy() for n in names]
        parts = ax.boxplot(data, positions=pos + offset, widths=0.3, orientation="horizontal",
                           patch_artist=True, showfliers=False, manage_ticks=False)
        for box in parts["boxes"]:
            box.set_facecolor(color)
            box.set_alpha(0.55)
        ax.plot([], [], color=color, lw=6, alpha=0.55, label=source)
    ax.axvline(0, color="black", lw=1)
    ax.axvspan(-5, 5, color="#2ca02c", alpha=0.08, label="within 5%")
    ax.set_yticks(pos)
    ax.set_yticklabels([n.replace("_", " ") for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("simulated minus reported, % of the reported value (the floor: shortfall "
                  "below 150k, %)")
    ax.set_title("2024 targets on held-out seeds: the ensemble against the point fit\n"
                 "(boxes: quartiles, whiskers: 1.5 IQR; a set or the point fit on each seed)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig, ax


def plot_trace(trace: pd.DataFrame, dims: Sequence[space.Dimension], burn: int):
    """The walkers over the steps: log posterior and each fitted parameter (unit scale).

    A band spans 5-95% of the walkers at each step, the line is their median; the dashed line
    ends the burn-in. Flat bands after it say the walkers have forgotten where they started.
    """
    import textwrap
    by = {d.name: d for d in dims}
    names = list(dict.fromkeys(trace["parameter"]))
    cols = 3
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 1.9 * rows), squeeze=False,
                             sharex=True)
    for ax, name in zip(axes.flat, names, strict=False):
        t = trace[trace["parameter"] == name]
        ax.fill_between(t["step"], t["p05"], t["p95"], color="#4c72b0", alpha=0.3,
                        label="5-95% of walkers")
        ax.plot(t["step"], t["p50"], color="#4c72b0", lw=1, label="median walker")
        ax.axvline(burn, color="black", ls="--", lw=0.8, label="end of burn-in")
        if name == "log_posterior":
            ax.set_title("log posterior", fontsize=8)
            ax.set_ylabel("log density", fontsize=7)
            lo = float(t.loc[t["step"] >= burn, "p05"].min())
            hi = float(t["p95"].max())
            if np.isfinite(lo) and np.isfinite(hi):
                ax.set_ylim(lo - 0.5 * (hi - lo + 1), hi + 0.1 * (hi - lo + 1))
        else:
            d = by.get(name)
            label = d.label if d is not None else name
            ax.set_title(textwrap.shorten(label, 55, placeholder="..."), fontsize=8)
            ax.set_ylabel("share of range", fontsize=7)
            ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step", fontsize=7)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", fontsize=8, ncol=3,
               bbox_to_anchor=(0.5, 0.965))
    fig.suptitle("MCMC: where the walkers are, step by step (parameters on the unit scale of "
                 "their declared ranges)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig, axes


def _fmt(x: float) -> str:
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _size_lines(method: str, meta: dict, s: dict, gens: list[dict]) -> list[str]:
    if method == "calibration":
        return [f"- Sets: {meta['sets']}.",
                f"- Candidates {gens[0]['simulations']}, kept {gens[0]['particles']}."]
    if method == "mcmc":
        mc = meta["mcmc"]
        return [f"- Sets: {meta['sets']} (equal weights; about {mc['effective_sets']:.0f} "
                "independent ones by the longest autocorrelation time).",
                f"- Simulations: {mc['simulations']} (2024 only)."]
    return [f"- Sets: {meta['sets']} (weighted; effective number {meta['effective_sets']:.0f}), "
            f"population {s['population']}.",
            f"- Final temperature {meta['final_temperature']:.3g} (1: the error model exactly)."]


def _mcmc_section(mc: dict) -> list[str]:
    """How far to trust the chain: acceptance, autocorrelation times, the trace figure."""
    tau = sorted(mc["autocorrelation_steps"].items(), key=lambda kv: -kv[1])
    kept = mc["steps"] - mc["burn"]
    lines = [
        "", "## How far to trust the chain", "",
        f"- Acceptance: {mc['acceptance_mean']:.2f} on average (lowest walker "
        f"{mc['acceptance_min']:.2f}). Below about 0.2 the walkers move in short steps; "
        "the autocorrelation times below say how many steps a walker needs to forget where "
        "it was.",
        f"- Integrated autocorrelation time (emcee, steps): longest {mc['autocorrelation_max']:.0f}"
        f" ({tau[0][0]}), median {float(np.median([t for _, t in tau])):.0f}. The {kept} steps "
        f"kept are {kept / mc['autocorrelation_max']:.0f} times the longest: "
        + ("enough for emcee's estimate to be trusted (50 or more)." if mc["trusted"] else
           "fewer than the 50 emcee asks before its estimate is trusted, so the estimate is a "
           "lower bound and the sets fewer independent than the count says; more steps "
           "(ensemble.steps) would settle it."),
        f"- Independent sets, roughly: walkers x steps kept / longest time = "
        f"{mc['effective_sets']:.0f}.",
        *_drift_lines(mc),
        *([("- Replicate noise and the drawn parameters together, at the point fit (sd of "
            "each relative error; replicate noise alone is above): "
            + ", ".join(f"{n} {v:.3f}" for n, v in mc["noise_drawn"].items()) + ".")]
          if mc.get("noise_drawn") else []),
        "- The likelihood's sd of each statistic (relative error): "
        + ", ".join(f"{n} {v:.3f}" for n, v in mc["error_sd"].items()) + ".", "",
        "![trace](trace.png)", ""]
    drift = mc.get("drift_sd") or {}
    if drift:
        lines += ["| parameter | autocorrelation time (steps) | drift (sd) |", "|---|---:|---:|"]
        lines += [f"| {name} | {t:.0f} | {drift.get(name, float('nan')):.2f} |"
                  for name, t in tau]
    else:
        lines += ["| parameter | autocorrelation time (steps) |", "|---|---:|"]
        lines += [f"| {name} | {t:.0f} |" for name, t in tau]
    return lines + [""]


DRIFT_LIMIT = 0.25   # a kept chain whose medians moved more (in sds) is still finding its posterior


def _drift_lines(mc: dict) -> list[str]:
    """The drift check and the floor's rejections, for chains that recorded them."""
    lines = []
    drift = mc.get("drift_sd")
    if drift:
        moving = {n: d for n, d in drift.items() if d > DRIFT_LIMIT}
        lines.append(
            "- Drift: each parameter's median in the second half of the kept steps against the "
            "first half, in sds of the kept sets (table below). "
            + (f"Largest {max(drift.values()):.2f}: all below {DRIFT_LIMIT}, so the kept "
               "steps do not show the walkers still moving." if not moving else
               f"Above {DRIFT_LIMIT} for " + ", ".join(f"{n} ({d:.2f})" for n, d in
                                                       sorted(moving.items(),
                                                              key=lambda kv: -kv[1]))
               + ": the walkers were still moving there, so its marginal is not settled."))
    if mc.get("floor_required"):
        lines.append(
            "- The floor is a condition, not a statistic: a point whose runs on the fixed "
            "seeds leave any village below 150k has no posterior. Walkers without one after "
            f"the burn-in (still where a start put them): {mc.get('rejected_floor', 0.0):.1%} "
            "of the kept steps.")
    return lines


def rewrite(folder: Path) -> None:
    """Write report.md and the figures again from an ensemble folder's saved files."""
    import json

    from zq_sim import ensemble
    meta = json.loads((folder / "ensemble.json").read_text(encoding="utf-8"))
    sets = pd.read_csv(folder / "ensemble.csv").drop(columns=["set"], errors="ignore")
    dims = [d for d in ensemble.dimensions() if d.name in sets.columns]
    validation = {"table": pd.read_csv(folder / "validation.csv"),
                  "summary": meta["validation"]}
    screened = pd.read_csv(folder / "screening.csv")
    write(folder, dims, sets, meta, validation, ensemble.calibrated_point(), screened)


def write(out: Path, dims: Sequence[space.Dimension], sets: pd.DataFrame, meta: dict,
          validation: dict, point: dict[str, Any], screened: pd.DataFrame | None = None) -> None:
    """report.md and its figures into ``out``."""
    held = set(meta.get("held", []))
    method = meta["settings"].get("method", "abc-smc")
    moved = [d for d in dims if d.name not in held]
    shrink = shrinkage(moved, sets)
    shrink.to_csv(out / "marginals.csv", index=False, float_format="%.6g")
    free = [n for n in meta.get("free", point) if n in {d.name for d in dims}]
    fig, _ = plot_marginals(dims, sets, free, point, title=(
        "Parameter ensemble: the fitted parameters' values in the kept sets\n"
        + {"calibration": "(the fit's sampling distribution, filtered by the 2024 targets)",
           "mcmc": "(posterior under the Gaussian error model; emcee MCMC)"}.get(
               method, "(ABC-SMC posterior)")))
    fig.savefig(out / "marginals.png", dpi=DPI)
    plt.close(fig)
    corr = correlations([d for d in dims if d.name in free], sets)
    fig, _ = plot_correlations(corr, dims, sets)
    fig.savefig(out / "correlations.png", dpi=DPI)
    plt.close(fig)
    table = validation["table"]
    names = [n for n in meta["statistics"] if n in table]
    fig, _ = plot_targets(table, names)
    fig.savefig(out / "targets.png", dpi=DPI)
    plt.close(fig)

    mc = meta.get("mcmc")
    trace_path = out / "trace.csv"
    if mc is not None and trace_path.is_file():
        fig, _ = plot_trace(pd.read_csv(trace_path), dims, int(mc["burn"]))
        fig.savefig(out / "trace.png", dpi=DPI)
        plt.close(fig)

    s = meta["settings"]
    gens = meta["generations"]
    drawn = meta.get("drawn", [])
    method = s.get("method", "abc-smc")
    if method == "calibration":
        how = [
            f"Built by `python -m zq_sim.ensemble` on {meta['built']} in {meta['seconds']:.0f} s "
            f"(settings: conf/ensemble.yaml, seed {s['seed']}, method `calibration`). Each "
            "candidate set draws the fitted parameters from the calibration's sampling "
            "distribution (a normal around each fitted value with its standard error, "
            "experiments/calibration/calibration.json, inside the declared range; the fit "
            "treats the city's 2024 figures as one draw of the model) and the support rule, "
            "which no target identifies, from its declared range; it runs 2024 once and is kept "
            "when the root mean square of its scaled errors is at most "
            f"{s.get('accept_rms')}"
            + (" and every village's total income is above 150k (the floor, a fact the support "
               "rule must reproduce)" if s.get("floor_required") else "")
            + ". A statistic's scale is the larger of its replicate noise "
            f"at the point fit and {s.get('tolerance', 0.05):.0%} (the calibration's criterion "
            "of a target met); the statistics are each target's relative error "
            "(data/targets.yaml) and the floor's relative shortfall below 150k. Kept sets "
            "weigh the same.", "",
            "This is not a Bayesian posterior over the declared ranges: the fitted parameters "
            "vary as much as the fit's own sampling error, not as much as the targets allow. "
            "The Bayesian route (`ensemble.method=abc-smc`, pyabc's ABC-SMC) is in the code, "
            "but in these 17 dimensions its importance weights collapsed within a few "
            "generations at every setting tried (docs/ODD.md); it needs far larger populations "
            "than a workstation runs in an hour.", ""]
    elif method == "mcmc":
        how = [
            f"Built by `python -m zq_sim.ensemble` on {meta['built']} in {meta['seconds']:.0f} s "
            f"(settings: conf/ensemble.yaml, seed {s['seed']}, method `mcmc`). The sets are a "
            "sample of the posterior of the fitted parameters given the 2024 figures, drawn by "
            "emcee's ensemble MCMC (differential-evolution moves) from:", "",
            "- the prior: each parameter uniform on its declared range (data/priors.csv; "
            "conf/calibrate.yaml for the calibration's own parameters);",
            "- the likelihood: each 2024 statistic (a target's relative error, "
            "data/targets.yaml; the floor's relative shortfall below 150k) is normal around "
            f"zero. Its sd combines {s.get('tolerance', 0.05):.0%} (the reported figure's "
            "discrepancy from the model; the calibration's criterion of a target met), "
            + ("the spread that replicate noise and the drawn parameters below give the "
               "statistic together (the 2024 figures are one draw of the noise, and the drawn "
               "parameters are unknown: their effect is marginalised as noise) "
               if mc.get("noise_drawn") else
               "the world's own replicate noise (the 2024 figures are one draw of it) ")
            + f"and the noise left in the model's side, a mean over {s.get('crn_seeds')} runs "
            "on seeds fixed for the whole chain (common random numbers, so that the posterior "
            "is a fixed function of the parameters, as in the calibration's own fit). "
            "Statistics are treated as independent. "
            + ("Each of those runs has its own draw of the drawn parameters, the same at every "
               "point; each kept set draws them afresh." if mc.get("noise_drawn") else
               "The drawn parameters below keep their prior values while the chain runs and "
               "are drawn from their ranges for each kept set.")
            + (" Every village above 150k is a condition: a point whose runs on the fixed "
               "seeds leave any village below it has no posterior." if mc.get("floor_required")
               else ""), "",
            f"{mc['walkers']} walkers start "
            + (f"where the chain of {s['start_from']} ended" if s.get("start_from") else
               "around the fit, over-dispersed (docs/ODD.md),")
            + f" and take {mc['steps']} steps; the first {mc['burn']} "
            f"are dropped and every {mc['thin']}th of the rest kept. Kept sets weigh the same.",
            "",
            "It is a posterior under this error model and conditional on the held parameters "
            "below; it is wider than the fit's sampling error because the targets are "
            f"matched to about {s.get('tolerance', 0.05):.0%}, not to their sampling "
            "error.", ""]
    else:
        how = [
            f"Built by `python -m zq_sim.ensemble` on {meta['built']} in {meta['seconds']:.0f} s "
            f"(settings: conf/ensemble.yaml, seed {s['seed']}, method `abc-smc`): ABC-SMC "
            "(pyabc) over the declared ranges of data/priors.csv with pyabc's stochastic "
            "acceptor. The error model: each 2024 statistic (a target's relative error; the "
            "floor's relative shortfall below 150k) is normal around zero with an sd of the "
            "larger of its replicate noise at the point fit and "
            f"{s.get('tolerance', 0.05):.0%}.", ""]
    lines = ["# Parameter ensemble", "", *how,
        "## Which parameters vary, and how", "",
        "A Morris screening (SALib; screening.csv) first measures how far each of the "
        f"{meta['parameters']} declared parameters moves each 2024 statistic over its range, "
        "in the same units. Three kinds follow:", "",
        f"1. **Fitted** ({len(free)}): the calibration's free parameters and the support rule "
        "(threshold and gap share, which the floor bounds from one side only).",
        f"2. **Drawn** ({len(drawn)}): parameters whose effect on every 2024 statistic stays "
        f"below {s.get('weak_threshold', 1.5)} units (no more than replicate noise): the 2024 "
        "figures cannot speak of them, so each set draws them from their declared ranges. "
        "They include the assumptions that shape 2025-2035: rent growth, own-business growth, "
        "company margins, learning and capabilities, project returns and terms, PV costs.",
        f"3. **Held** ({len(held)}): parameters that move the 2024 figures but that the "
        "calibration does not fit (it keeps them at their priors; the targets cannot "
        "separate them from the fitted ones). The ensemble holds them at their prior values, "
        "as the point fit does: its spread is conditional on them. `python -m "
        "zq_sim.sensitivity` screens them over their whole ranges; `ensemble.extra_free` moves "
        "named ones into the sampler at the cost of more simulations.", "",
        *_size_lines(method, meta, s, gens),
        "- Replicate noise at the point fit (sd of the relative error in one replicate): "
        + ", ".join(f"{n} {v:.3f}" for n, v in meta["noise"].items()) + ".",
        ""]
    if mc is not None:
        lines += _mcmc_section(mc)
    if method == "abc-smc":
        lines += ["| generation | temperature | simulations | sets |", "|---:|---:|---:|---:|"]
        lines += [f"| {g['t']} | {g['epsilon']:.3g} | {g['simulations']} | {g['particles']} |"
                  for g in gens]
    v = validation["summary"]
    lines += [
        "", "## The targets under the ensemble", "",
        f"Each set run once on a held-out seed ({v['seeds']} seeds of the default run seed's "
        "family, never used in building), and the point fit (conf/model/calibrated.yaml) on "
        "the same seeds. Relative errors, % of the reported value (ensemble mean weighted):", "",
        "| target | ensemble mean | ensemble 5-95% | point fit mean | point fit 5-95% |",
        "|---|---:|---:|---:|---:|"]
    for name, t in v["targets"].items():
        lines.append(
            f"| {name} | {100 * t['ensemble_mean']:+.1f} | {100 * t['ensemble_p05']:+.1f} to "
            f"{100 * t['ensemble_p95']:+.1f} | {100 * t['point_mean']:+.1f} | "
            f"{100 * t['point_p05']:+.1f} to {100 * t['point_p95']:+.1f} |")
    lines += [
        "", f"The floor (every village above 150k total income) held on "
        f"{v['floor_held_ensemble']:.0%} of the ensemble's runs and {v['floor_held_point']:.0%} "
        "of the point fit's"
        + (f" ({v['floor_held_point_drawn']:.0%} of the point fit's with the drawn parameters "
           "drawn, as each set draws them: the most a set can hope for)."
           if v.get("floor_held_point_drawn") is not None else "."),
        "", "![targets](targets.png)", "",
        "## Marginals", "",
        "The fitted parameters' values in the sets (zoomed on them; the declared range in each "
        "title, the point fit red). The table gives every fitted and drawn parameter, most "
        "constrained "
        "first (sd on the unit scale over the prior's: 1 = left where its range put it); "
        "marginals.csv has them all.", "",
        "![marginals](marginals.png)", "",
        "| parameter | kind | declared range | point fit | ensemble median | ensemble 5-95% "
        "| sd / prior sd |",
        "|---|---|---|---:|---:|---:|---:|"]
    for r in shrink.itertuples():
        if r.parameter not in free and r.Index >= 30:
            continue
        kind = "fitted" if r.parameter in free else "drawn"
        fit = _fmt(float(point[r.parameter])) if r.parameter in point else ""
        lines.append(f"| {r.parameter} | {kind} | {_fmt(r.low)} to {_fmt(r.high)} | {fit} | "
                     f"{_fmt(r.ensemble_median)} | {_fmt(r.ensemble_p05)} to "
                     f"{_fmt(r.ensemble_p95)} | {r.sd_ratio:.2f} |")
    lines += ["", "Held at their prior values: " + ", ".join(sorted(held)) + ".",
              "", "## Strongest correlations among the fitted parameters", "",
              ("The candidates draw the fitted parameters independently, so any correlation "
               "here comes from the filter: pairs the targets trade off (one can make up for "
               "the other). They are weak: the fit's errors are small against what the filter "
               "allows." if method == "calibration" else
               "Pairs of parameters the targets trade off against each other (one can make up "
               "for the other): the posterior's ridges." if method == "mcmc" else
               "Parameters the targets trade off against each other (one can make up for the "
               "other):"), "", "| a | b | r |", "|---|---|---:|"]
    lines += [f"| {r.a} | {r.b} | {r.r:+.2f} |" for r in corr.itertuples()]
    lines += ["", "![correlations](correlations.png)", "",
              "## Use", "",
              "`python -m zq_sim uncertainty=parameters` runs each group of "
              "`parameter_sets.replicates_per_set` replicates on a set drawn by weight, and "
              "splits the variance of the headline outcomes into replicate noise and parameter "
              "uncertainty (summary.json `uncertainty`; docs/ODD.md, 'Uncertainty'). In "
              "Python: `zq_sim.ensemble.load()`.", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m zq_sim.ensemble_report ENSEMBLE_FOLDER")
    rewrite(Path(sys.argv[1]))

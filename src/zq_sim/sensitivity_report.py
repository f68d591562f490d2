"""The sensitivity analysis' outputs: report.md, indices.csv, evaluations.parquet and figures.

Figures are pure functions from the index table (:func:`morris_frame`, :func:`sobol_frame`) to
matplotlib ``(fig, axes)``; :func:`write` saves them. Everything is written into a hidden folder
beside the destination first and moved in when complete (``report.md`` last), so that a folder
never holds half an analysis; a finished analysis is replaced only when asked (``overwrite``),
and then only its own files are removed.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from zq_sim import style  # noqa: E402
from zq_sim.config import OutputsExist  # noqa: E402
from zq_sim.plotting import metric_title, scale_of  # noqa: E402
from zq_sim.sensitivity import BASELINE, NOISY, OUTCOMES, Result  # noqa: E402

#: Files of an analysis (patterns): removed from the destination only on ``overwrite``.
OWN = ("report.md", "indices.csv", "evaluations.parquet", "config.yaml", "morris_*.png",
       "sobol_*.png", "levers_*.png")
#: A file whose presence marks a finished analysis.
FINISHED = ("report.md", "indices.csv")


# --------------------------------------------------------------------------------- the tables
def morris_frame(indices: pd.DataFrame, inputs: str = "uncertainties") -> pd.DataFrame:
    """One row per (case, outcome, parameter): mu_star, mu, sigma and mu_star_conf."""
    m = indices[(indices["method"] == "morris") & (indices["inputs"] == inputs)]
    wide = m.pivot_table(index=["case", "outcome", "parameter"], columns="index",
                         values="value", sort=False).reset_index()
    conf = m[m["index"] == "mu_star"].set_index(["case", "outcome", "parameter"])["confidence"]
    wide["mu_star_conf"] = conf.reindex(
        pd.MultiIndex.from_frame(wide[["case", "outcome", "parameter"]])).to_numpy()
    wide.columns.name = None
    return wide


def sobol_frame(indices: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, outcome, parameter): S1, S1_conf, ST, ST_conf."""
    s = indices[indices["method"] == "sobol"]
    value = s.pivot_table(index=["case", "outcome", "parameter"], columns="index",
                          values="value", sort=False, dropna=False)
    conf = s.pivot_table(index=["case", "outcome", "parameter"], columns="index",
                         values="confidence", sort=False, dropna=False)
    conf.columns = [f"{c}_conf" for c in conf.columns]
    out = value.join(conf).reset_index()
    out.columns.name = None
    return out


# --------------------------------------------------------------------------------- labels
def outcome_title(outcome: str) -> str:
    """An outcome's name and year(s) in the current language."""
    o = OUTCOMES[outcome]
    when = str(o.last) if o.how == "value" else style.t(
        f"sum {o.first}-{o.last}", f"{o.first}-{o.last}年合计")
    return f"{metric_title(o.column)}, {when}"


def outcome_scale(outcome: str, values: Sequence[float], difference: bool) -> tuple[float, str]:
    """(factor, unit) to show an outcome's values (or a change of it: ``difference``)."""
    return scale_of(OUTCOMES[outcome].column, values, difference=difference)


def case_title(case: str) -> str:
    """A panel's title: the baseline's level, or a policy's effect."""
    if case == BASELINE:
        return style.t("Baseline (2024 mix continued): level", "基准（延续2024政策）：水平")
    return style.t(f"Effect of {case} (policy - baseline)", f"{case} 的效果（政策 - 基准）")


def short(parameter: str) -> str:
    """A setting's name without its ``model.`` or ``policy.`` group."""
    group, _, rest = parameter.partition(".")
    return rest if group in ("model", "policy") and rest else parameter


# --------------------------------------------------------------------------------- figures
def plot_morris(table: pd.DataFrame, panel: str = "case", noise: pd.DataFrame | None = None,
                title: str = "", label_top: int = 6):
    """Morris mu* (x) against sigma (y), a panel per value of ``panel`` ("case" or "outcome").

    Args:
        table: rows of :func:`morris_frame` (one outcome when ``panel="case"``, one case when
            ``panel="outcome"``).
        panel: the column that splits the panels.
        noise: rows of the noise table (case, outcome, mu_star_noise): the mu* that replicate
            noise alone could give is shaded (an upper bound: common seeds make it smaller).
        title: the figure's title.
        label_top: the inputs with the largest mu* named in each panel.

    Returns:
        (fig, axes).

    """
    keys = list(dict.fromkeys(table[panel]))
    ncols = min(len(keys), 2 if len(keys) <= 4 else 3)
    nrows = math.ceil(len(keys) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.2 * nrows), squeeze=False)
    flat = axes.ravel()
    for ax, key in zip(flat, keys, strict=False):
        d = table[table[panel] == key]
        case, outcome = d["case"].iloc[0], d["outcome"].iloc[0]
        diff = case != BASELINE
        factor, unit = outcome_scale(outcome, np.r_[d["mu_star"], d["sigma"]], diff)
        x, y = d["mu_star"].to_numpy() * factor, d["sigma"].to_numpy() * factor
        colour = style.color_of(case)
        ax.errorbar(x, y, xerr=d["mu_star_conf"].to_numpy() * factor, fmt="o", ms=4,
                    color=colour, ecolor=colour, alpha=0.75, elinewidth=0.8, capsize=0,
                    label=style.t("input (mu* with its 95% interval)", "输入（mu*及95%区间）"))
        xlim = 1.08 * max(float(np.nanmax(x + d["mu_star_conf"].to_numpy() * factor))
                          if len(x) else 0.0, 1e-12)
        ylim = 1.15 * max(float(np.nanmax(y)) if len(y) else 0.0, 1e-12)
        for ratio, ls in ((0.1, ":"), (0.5, "--"), (1.0, "-")):
            ax.plot([0, xlim], [0, ratio * xlim], ls=ls, color="#999999", lw=0.8,
                    label=f"sigma / mu* = {ratio:g}")
        if noise is not None:
            n = noise[(noise["case"] == case) & (noise["outcome"] == outcome)]
            if len(n) and np.isfinite(n["mu_star_noise"].iloc[0]):
                ax.axvspan(0, float(n["mu_star_noise"].iloc[0]) * factor, color="#dddddd",
                           alpha=0.6, lw=0, label=style.t("noise alone could give this mu*",
                                                          "仅重复噪声即可达到的mu*"))
        for i in np.argsort(-np.nan_to_num(x))[:label_top]:
            ax.annotate(short(d["parameter"].iloc[i]), (x[i], y[i]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlim(0, xlim)
        ax.set_ylim(0, ylim)
        ax.set_xlabel(f"mu* ({unit})")
        ax.set_ylabel(f"sigma ({unit})")
        ax.set_title(case_title(case) if panel == "case" else outcome_title(outcome), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in flat[len(keys):]:
        ax.set_visible(False)
    handles, labels = flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.07 if nrows == 1 else 0.04, 1, 0.95))
    return fig, axes


def plot_sobol(table: pd.DataFrame, title: str = "", noise: pd.DataFrame | None = None):
    """First-order (S1) and total (ST) Sobol indices with their intervals, a panel per case.

    Args:
        table: rows of :func:`sobol_frame` for one outcome.
        title: the figure's title.
        noise: rows of the noise table (case, outcome, share_sobol): the share of the
            variance that replicate noise could make is drawn as a dashed line (every ST is
            raised by about that much).

    Returns:
        (fig, axes).

    """
    cases = list(dict.fromkeys(table["case"]))
    ncols = min(len(cases), 2)
    nrows = math.ceil(len(cases) / ncols)
    params = list(dict.fromkeys(table["parameter"]))
    height = 0.45 * len(params) + 1.6
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, height * nrows),
                             squeeze=False)
    flat = axes.ravel()
    pos = np.arange(len(params))
    for ax, case in zip(flat, cases, strict=False):
        d = table[table["case"] == case].set_index("parameter").reindex(params)
        colour = style.color_of(case)
        ax.barh(pos - 0.2, d["S1"], height=0.38, xerr=d["S1_conf"], color=colour, alpha=0.45,
                error_kw={"elinewidth": 0.8}, label=style.t("first order S1", "一阶 S1"))
        ax.barh(pos + 0.2, d["ST"], height=0.38, xerr=d["ST_conf"], color=colour,
                error_kw={"elinewidth": 0.8}, label=style.t("total ST", "总效应 ST"))
        if noise is not None:
            n = noise[(noise["case"] == case) & (noise["outcome"] == table["outcome"].iloc[0])]
            if len(n) and np.isfinite(n["share_sobol"].iloc[0]):
                ax.axvline(min(float(n["share_sobol"].iloc[0]), 1.2), color="#666666", ls="--",
                           lw=0.9, label=style.t("replicate noise's share of the variance",
                                                 "重复噪声占方差的比例"))
        ax.set_yticks(pos, [short(p) for p in params], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlim(min(-0.05, float(np.nanmin((d["S1"] - d["S1_conf"]).to_numpy(), initial=0))),
                    max(1.05, float(np.nanmax((d["ST"] + d["ST_conf"]).to_numpy(), initial=1))))
        ax.set_xlabel(style.t("share of the variance (-), 95% interval",
                              "方差占比（-），95%区间"))
        ax.set_title(case_title(case), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    for ax in flat[len(cases):]:
        ax.set_visible(False)
    handles, labels = flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 0.94))
    return fig, axes


# --------------------------------------------------------------------------------- the report
def _fmt(value: float, outcome: str, difference: bool, scale=None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    factor, unit = scale or outcome_scale(outcome, [value], difference)
    v = value * factor
    digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return f"{v:,.{digits}f} {unit}"


def _md_table(df: pd.DataFrame) -> list[str]:
    head = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    return [head, rule, *("| " + " | ".join(str(v) for v in row) + " |"
                          for row in df.itertuples(index=False))]


def _interval(v: float, c: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.2f} ± {c:.2f}"


def report_text(result: Result) -> str:
    """The report's Markdown."""
    s, ix, t = result.settings, result.indices, result.timing
    morris = morris_frame(ix, "uncertainties")
    sob = sobol_frame(ix)
    meta = result.meta
    outcomes = list(dict.fromkeys(morris["outcome"]))
    cases = list(dict.fromkeys(morris["case"]))
    lines = [
        "# Global sensitivity of the headline outcomes",
        "",
        f"Written by `python -m zq_sim.sensitivity` on {meta.get('date', 'n/a')}"
        + (f" (code {meta['commit']})" if meta.get("commit") else "")
        + (" - a quick smoke run (`quick=true`): too few points to read."
           if meta.get("quick") else "."),
        f"Command: `{meta.get('command', 'n/a')}`. Settings as run: `config.yaml`; every index: "
        "`indices.csv`; every design point and its responses: `evaluations.parquet`.",
        "",
        f"{t.points:,} design points, {t.runs:,} model runs in {t.wall_s:,.0f} s on "
        f"{t.workers} worker(s): {t.runs / max(t.wall_s, 1e-9):,.1f} runs/s, "
        f"{t.outside_share:.0%} of the workers' time outside the model.",
        "",
        "## What was varied",
        "",
        f"- **Uncertainties** (data/priors.csv): {len(result.uncertainties)} screened, each over "
        "its declared range and distribution (uniform or log-uniform), the policy levers at the "
        "2024 mix.",
    ]
    if result.held:
        held = ", ".join(f"`{short(k)}` = {v:.4g}" for k, v in result.held.items())
        lines += [
            f"- **Held at their calibrated values** (`calibrated: fixed`, the default): "
            f"{len(result.held)} parameters fitted to the 2024 targets "
            f"(conf/model/calibrated.yaml): {held}. Screening them over their whole prior "
            "would ignore the 2024 figures they were fitted to; `sensitivity.calibrated=prior` "
            "does so all the same. The other uncertainties are varied over their priors "
            "although some of them also move the 2024 figures (the lease pools, for one): "
            "the worlds sampled here are not all consistent with 2024. "
            "`sensitivity.calibrated=ensemble` draws the fitted ones from their posterior "
            "instead (the parameter ensemble).",
        ]
    elif s.calibrated == "ensemble":
        lines.append(
            "- **Calibrated parameters drawn from the parameter ensemble** (`calibrated: "
            "ensemble`): the parameters the ensemble fits to the 2024 figures vary together as "
            "one input, `ensemble.set` (a set of experiments/calibration/ensemble, uniform over "
            "the sets; its nominal value the most central set). Its indices are those of the "
            "group: how much of an outcome's variance the posterior of the fitted parameters "
            "carries. Morris sees as many sets as it has levels, so the group is always carried "
            "into Sobol, which sees them all; it has no one-at-a-time check (a set has no low "
            "and high end). The ensemble holds some parameters that move 2024 at their priors; "
            "they are varied here over their ranges as in the default mode.")
    elif s.calibrated == "prior":
        lines.append("- **Calibrated parameters screened over their prior ranges** "
                     "(`calibrated: prior`): this ignores the 2024 targets they were fitted to.")
    lines += [
        f"- **Levers** (data/levers.csv): {len(result.levers)} screened apart, the uncertainties "
        "at their nominal (calibrated or prior) values." if result.levers else
        "- **Levers**: not screened (`levers: false`).",
        f"- **Policies**: {', '.join(c for c in cases if c != BASELINE) or 'none'}; each "
        "policy's *effect* is the scenario minus the baseline on the same seeds and in the "
        "same sampled world (conf/scenario/NAME.yaml).",
        f"- Every design point is the mean of {s.replicates} replicate(s) on the same seeds "
        f"(common random numbers, root seed {s.seed}).",
        "",
        "## How to read the indices",
        "",
        "- **Morris mu\\*** (in the outcome's unit): the mean absolute change of the outcome per "
        "full range of the input, from elementary steps of "
        f"{s.morris.levels / (2 * (s.morris.levels - 1)):.2g} of the range. Large: the input "
        "matters. **sigma**: how much that change varies from one point to another; "
        "sigma/mu\\* near or above 1 means interactions or a curved response. mu (signed) "
        "near mu\\* means the input always moves the outcome in one direction.",
        "- **Sobol S1**: the share of the outcome's variance the input explains alone; **ST**: "
        "with all its interactions. ST - S1 large: the input acts through interactions. "
        "ST near 0: the input can be fixed anywhere in its range. The intervals are "
        f"{s.sobol.conf_level:.0%} bootstrap intervals; the indices are over the "
        f"{len(result.top)} inputs carried into Sobol, the others held at their nominal values.",
        "- **Replicate noise**: every point is a simulation; the grey band in the Morris figures "
        "is the mu\\* that replicate noise alone could give (an upper bound: the common seeds "
        "remove most of it).",
        "",
    ]
    lines += _noise_section(result)
    lines += ["## Which uncertainties matter", ""]
    for outcome in outcomes:
        lines += [f"### {outcome_title(outcome)}", ""]
        for case in cases:
            d = morris[(morris["case"] == case) & (morris["outcome"] == outcome)]
            d = d.sort_values("mu_star", ascending=False).head(5)
            sv = sob[(sob["case"] == case) & (sob["outcome"] == outcome)].set_index("parameter")
            diff = case != BASELINE
            scale = outcome_scale(outcome, d["mu_star"], diff)
            rows = []
            for r in d.itertuples():
                s1 = _interval(sv.at[r.parameter, "S1"], sv.at[r.parameter, "S1_conf"]) \
                    if r.parameter in sv.index else "-"
                st = _interval(sv.at[r.parameter, "ST"], sv.at[r.parameter, "ST_conf"]) \
                    if r.parameter in sv.index else "-"
                rows.append([f"`{short(r.parameter)}`", _fmt(r.mu_star, outcome, diff, scale),
                             _fmt(r.mu, outcome, diff, scale), _fmt(r.sigma, outcome, diff, scale),
                             s1, st])
            lines += [f"{case_title(case)}:", ""]
            noisy = result.noise[(result.noise["case"] == case)
                                 & (result.noise["outcome"] == outcome)]
            if len(noisy) and not noisy["share_sobol"].iloc[0] <= NOISY:
                lines += [f"(noise share {_share(noisy['share_sobol'].iloc[0])}: the indices "
                          "below are mostly replicate noise.)", ""]
            lines += _md_table(pd.DataFrame(rows, columns=["input", "mu*", "mu", "sigma",
                                                           "S1", "ST"]))
            lines.append("")
        lines += [f"Figures: `morris_{outcome}.png`, `sobol_{outcome}.png`.", ""]
    lines += _policy_section(result, sob)
    if result.levers:
        lines += _lever_section(result)
    lines += _oat_section(result, morris)
    return "\n".join(lines) + "\n"


def _noise_section(result: Result) -> list[str]:
    rows = []
    spread = result.evaluations[result.evaluations["stage"] == "sobol"]
    for r in result.noise.itertuples():
        col = f"{r.case}|{r.outcome}"
        sd_all = float(spread[col].std()) if col in spread else math.nan
        diff = r.case != BASELINE
        rows.append([r.case, r.outcome, _fmt(r.sd, r.outcome, diff),
                     _fmt(sd_all, r.outcome, diff), _share(r.share_morris),
                     _share(r.share_sobol)])
    return ["## Replicate noise against the spread over the uncertainties", "",
            f"The sd over {result.settings.noise_seeds} seeds at the nominal point, against the "
            "sd over the Sobol sample; then the share of the variance over the Morris design "
            "and over the Sobol sample that the noise of one design point could make (without "
            f"common seeds: an upper bound). A response above {NOISY:.0%} on the Morris design "
            "chose no Sobol inputs. Noise adds about its share to every total index ST of the "
            "response (Jansen's estimator counts it as variance), and spreads S1 around its "
            "value: read a noisy response's ST against its noise share (the dashed line in the "
            "Sobol figures) and give its S1 little weight.", "",
            *_md_table(pd.DataFrame(rows, columns=[
                "case", "outcome", "replicate sd", "sd over the Sobol sample",
                "noise share (Morris)", "noise share (Sobol)"])), ""]


def _share(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.0%}" + (" (noisy)" if x > NOISY else "")


def _policy_section(result: Result, sob: pd.DataFrame) -> list[str]:
    e = result.effects[result.effects["case"] != BASELINE]
    if e.empty:
        return []
    lines = ["## Which uncertainties matter for which policy conclusion", "",
             "Each policy's effect at the nominal point, its spread over the Sobol sample's "
             f"{int(e['samples'].iloc[0])} independent draws of the {len(result.top)} leading "
             "uncertainties (5-95%), the share of draws in which it is positive, and the "
             "uncertainties with the largest total index ST for that effect:", ""]
    share = result.noise.set_index(["case", "outcome"])["share_sobol"]
    rows = []
    for r in e.itertuples():
        sv = sob[(sob["case"] == r.case) & (sob["outcome"] == r.outcome)]
        sv = sv.sort_values("ST", ascending=False).head(3)
        lead = ", ".join(f"`{short(p)}` {st:.2f}" for p, st in zip(sv["parameter"], sv["ST"],
                                                                    strict=True)
                         if np.isfinite(st))
        scale = outcome_scale(r.outcome, [r.p05, r.p95, r.nominal], True)
        rows.append([r.case, r.outcome, _fmt(r.nominal, r.outcome, True, scale),
                     f"{_fmt(r.p05, r.outcome, True, scale)} to "
                     f"{_fmt(r.p95, r.outcome, True, scale)}",
                     f"{r.share_positive:.0%}", lead or "n/a",
                     _share(share.get((r.case, r.outcome), math.nan))])
    lines += _md_table(pd.DataFrame(rows, columns=["policy", "outcome", "effect (nominal)",
                                                   "5-95% over the uncertainties", "positive",
                                                   "uncertainties that matter (ST)",
                                                   "noise share"]))
    lines += ["", "Where the noise share is marked noisy, the spread of the effect is mostly "
              "replicate noise and its ST are near the noise share for every input: that "
              "conclusion's dependence on the uncertainties cannot be read at this many "
              "replicates (raise `sensitivity.replicates`)."]
    return [*lines, ""]


def _lever_section(result: Result) -> list[str]:
    lev = morris_frame(result.indices, "levers")
    lines = ["## Which levers matter (at the nominal uncertainties)", "",
             "The three levers with the largest Morris mu\\* for each outcome (mu signed: the "
             "direction of the change over the lever's whole range). Figure: "
             "`levers_morris.png`.", ""]
    rows = []
    for outcome in dict.fromkeys(lev["outcome"]):
        d = lev[lev["outcome"] == outcome].sort_values("mu_star", ascending=False).head(3)
        scale = outcome_scale(outcome, d["mu_star"], True)
        rows.append([outcome, "; ".join(f"`{p}` {_fmt(m, outcome, True, scale)} "
                                        f"(mu {_fmt(mu, outcome, True, scale)})"
                                        for p, m, mu in zip(d["parameter"], d["mu_star"],
                                                            d["mu"], strict=True))])
    lines += _md_table(pd.DataFrame(rows, columns=["outcome", "levers by mu*"]))
    return [*lines, ""]


def _oat_section(result: Result, morris: pd.DataFrame) -> list[str]:
    oat = result.indices[result.indices["method"] == "oat"]
    if oat.empty:
        return []
    lines = ["## A check: one-at-a-time runs", "",
             f"Each leading uncertainty run at the low and at the high end of its range, the "
             f"others nominal, on {result.settings.oat.seeds} seeds: the swing (high - low, "
             "mean over seeds, 95% interval) against the Morris mean effect mu over the whole "
             "range. They agree when the response is near linear and without interactions "
             "(sigma small against mu*); Morris averages over the other inputs' values, the "
             "one-at-a-time run holds them at one point.", ""]
    rows = []
    base = oat[oat["case"] == BASELINE]
    agree = total = 0
    for r in base.itertuples():
        m = morris[(morris["case"] == BASELINE) & (morris["outcome"] == r.outcome)
                   & (morris["parameter"] == r.parameter)]
        if m.empty:
            continue
        mu, mu_star = float(m["mu"].iloc[0]), float(m["mu_star"].iloc[0])
        scale = outcome_scale(r.outcome, [r.value, mu], True)
        same_sign = np.sign(mu) == np.sign(r.value) or abs(r.value) <= r.confidence
        total += 1
        agree += bool(same_sign)
        rows.append([f"`{short(r.parameter)}`", r.outcome,
                     f"{_fmt(r.value, r.outcome, True, scale)} ± "
                     f"{_fmt(r.confidence, r.outcome, True, scale)}",
                     _fmt(mu, r.outcome, True, scale), _fmt(mu_star, r.outcome, True, scale),
                     "yes" if same_sign else "no"])
    lines += _md_table(pd.DataFrame(rows, columns=["input", "outcome", "one-at-a-time swing",
                                                   "Morris mu", "Morris mu*", "same direction"]))
    lines += ["", f"Same direction (or a swing within its interval of zero) in {agree} of "
              f"{total} cases."]
    agree = total = 0
    for r in oat[oat["case"] != BASELINE].itertuples():
        m = morris[(morris["case"] == r.case) & (morris["outcome"] == r.outcome)
                   & (morris["parameter"] == r.parameter)]
        if len(m):
            total += 1
            agree += bool(np.sign(float(m["mu"].iloc[0])) == np.sign(r.value)
                          or abs(r.value) <= r.confidence)
    if total:
        lines.append(f"For the policies' effects (in indices.csv, method `oat`): {agree} of "
                     f"{total}.")
    return [*lines, ""]


# --------------------------------------------------------------------------------- writing
def finished(out_dir: Path) -> bool:
    """True if ``out_dir`` holds a finished analysis."""
    return any((Path(out_dir) / name).is_file() for name in FINISHED)


def refuse_finished(out_dir: Path, overwrite: bool) -> None:
    """Raise OutputsExist if ``out_dir`` holds a finished analysis and overwrite is off."""
    if finished(out_dir) and not overwrite:
        raise OutputsExist(f"{out_dir} already holds a finished sensitivity analysis; not "
                           "overwriting it: set sensitivity.overwrite=true, or "
                           "sensitivity.folder=hydra to write into the Hydra run folder")


def clear_stale(out_dir: Path) -> None:
    """Remove hidden partial folders that killed analyses left beside ``out_dir``."""
    parent = Path(out_dir).parent
    for p in parent.glob(f".{Path(out_dir).name}.partial-*"):
        try:
            pid = int(p.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:
            continue


def figures(result: Result) -> dict[str, plt.Figure]:
    """Every figure of the analysis, by file name."""
    ix = result.indices
    out = {}
    morris = morris_frame(ix, "uncertainties")
    sob = sobol_frame(ix)
    for outcome in dict.fromkeys(morris["outcome"]):
        fig, _ = plot_morris(morris[morris["outcome"] == outcome], "case", result.noise,
                             style.t(f"Morris screening of the uncertainties: "
                                     f"{outcome_title(outcome)}",
                                     f"不确定参数的Morris筛选：{outcome_title(outcome)}"))
        out[f"morris_{outcome}.png"] = fig
        d = sob[sob["outcome"] == outcome]
        if len(d):
            fig, _ = plot_sobol(d, style.t(f"Sobol indices of the leading uncertainties: "
                                           f"{outcome_title(outcome)}",
                                           f"主要不确定参数的Sobol指数：{outcome_title(outcome)}"),
                                result.noise)
            out[f"sobol_{outcome}.png"] = fig
    if result.levers:
        lev = morris_frame(ix, "levers")
        fig, _ = plot_morris(lev, "outcome", result.noise, style.t(
            "Morris screening of the policy levers (uncertainties at their nominal values)",
            "政策杠杆的Morris筛选（不确定参数取名义值）"), label_top=4)
        out["levers_morris.png"] = fig
    return out


def write(result: Result, out_dir: Path, *, overwrite: bool = False,
          config_yaml: str = "") -> Path:
    """Write the analysis into ``out_dir`` whole, or not at all.

    Raises:
        OutputsExist: a finished analysis is there and ``overwrite`` is off.

    """
    out_dir = Path(out_dir)
    refuse_finished(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-{os.getpid()}-",
                                dir=out_dir.parent))
    try:
        style.use_language("auto")
        result.indices.to_csv(tmp / "indices.csv", index=False)
        result.evaluations.to_parquet(tmp / "evaluations.parquet", index=False)
        if config_yaml:
            (tmp / "config.yaml").write_text(config_yaml, encoding="utf-8")
        for name, fig in figures(result).items():
            fig.savefig(tmp / name, dpi=110)
            plt.close(fig)
        (tmp / "report.md").write_text(report_text(result), encoding="utf-8")
        refuse_finished(out_dir, overwrite)  # one finished meanwhile
        out_dir.mkdir(parents=True, exist_ok=True)
        if overwrite:
            for pattern in OWN:
                for old in out_dir.glob(pattern):
                    old.unlink()
        names = sorted(p.name for p in tmp.iterdir())
        for name in [n for n in names if n != "report.md"] + ["report.md"]:
            os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def now() -> str:
    """The date and time, for the report's header."""
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M")

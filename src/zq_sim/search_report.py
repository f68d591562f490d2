"""The search's report: figures of the front, the levers along it and the PRIM box; report.md.

Plot functions take the search's tables (``trials.csv``, ``pareto.csv``, ``robustness.csv`` as
DataFrames) and return ``(fig, ax)``; :func:`write` saves them and writes ``report.md`` into the
search's folder. Money is in 亿元 (or 万元 where it fits), probabilities in %; labels follow
:func:`zq_sim.style.use_language`. Nothing here imports the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from zq_sim import space, style  # noqa: E402
from zq_sim.document import Document  # noqa: E402
from zq_sim.style import t  # noqa: E402

FAIL_COLOR, MET_COLOR, CANDIDATE_COLOR = "#d62728", "#9e9e9e", "#bdbdbd"
#: A PRIM condition whose quasi-p-value is below this stands out from chance (drawn, marked).
SIGNIFICANT_QP = 0.1


def _yi(yuan) -> np.ndarray:
    return np.asarray(yuan, dtype=float) / style.YI


def _money_axis(values: Sequence[float], unit: str) -> tuple[float, str]:
    """Factor and unit label for a lever or parameter: yuan shown in 万元 or 亿元."""
    if "yuan" in unit:
        factor, name = style.money_scale(values)
        rest = unit.replace("yuan", "").strip()
        return factor, f"{name} {rest}".strip()
    return 1.0, unit


def plot_front(trials: pd.DataFrame, front: pd.DataFrame, claim: Mapping,
               required: float, name: str, goal_text: str, years: Sequence[int],
               baseline: Mapping | None = None, holdout: Mapping | None = None):
    """Public cost against the probability of meeting the goal and the villages reaching it.

    Left, the probability of meeting the goal; right, the share of villages reaching its
    threshold; both with 90% intervals.

    Args:
        trials: every candidate (``cost``, ``probability``, ``reached_mean``), on the search's
            seeds.
        front: the Pareto front (with ``cost_p05``/``cost_p95``, ``probability_lo``/
            ``probability_hi`` and ``reached_p05``/``reached_p95``).
        claim: the chosen mix on fresh seeds (the same columns).
        required: the probability required.
        name: the chosen mix's scenario name (its colour).
        goal_text: the goal in words (subtitle).
        years: first and last year of the cost.
        baseline: the 2024 mix on the search's seeds, if evaluated.
        holdout: the chosen mix on the held-out run seeds, if run.

    """
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), sharex=True)
    panels = (("probability", "probability_lo", "probability_hi",
               t("Probability of meeting the goal (%)", "达成目标的概率（%）")),
              ("reached_mean", "reached_p05", "reached_p95",
               t("Villages reaching the threshold (%, mean; bars: 90% of runs)",
                 "达到门槛的村（%，均值；误差线：90%的运行）")))
    color = style.color_of(name)
    for ax, (col, lo, hi, ylabel) in zip(axes, panels, strict=True):
        ax.scatter(_yi(trials["cost"]), 100 * trials[col], s=10, color=CANDIDATE_COLOR,
                   label=t("candidate mixes (search seeds)", "候选组合（搜索种子）"), zorder=1)
        if not front.empty:
            x, y = _yi(front["cost"]), 100 * front[col]
            ax.errorbar(x, y, xerr=[x - _yi(front["cost_p05"]), _yi(front["cost_p95"]) - x],
                        yerr=[y - 100 * front[lo], 100 * front[hi] - y], fmt="o", ms=4,
                        capsize=2, color="#4e79a7", ecolor="#9ab3d5", zorder=2,
                        label=t("Pareto front (bars: 90% intervals)",
                                "帕累托前沿（误差线：90%区间）"))

        def point(row: Mapping, marker: str, label: str, c: str, size: int = 11,
                  ax=ax, col=col, lo=lo, hi=hi) -> None:
            x, y = float(row["cost"]) / style.YI, 100 * float(row[col])
            ax.errorbar([x], [y], xerr=[[x - row["cost_p05"] / style.YI],
                                        [row["cost_p95"] / style.YI - x]],
                        yerr=[[y - 100 * row[lo]], [100 * row[hi] - y]], fmt=marker, ms=size,
                        color=c, ecolor=c, capsize=3, zorder=4, label=label)

        if baseline is not None:
            point(baseline, "s", t("2024 mix (search seeds)", "2024年政策组合（搜索种子）"),
                  style.color_of(style.BASELINE), 7)
        point(claim, "*", t(f"{name}: fresh seeds", f"{name}：新种子复核"), color, 15)
        if holdout is not None and col in holdout:
            point(holdout, "D", t(f"{name}: held-out run seeds", f"{name}：留出的运行种子"),
                  "#555555", 7)
        if col == "probability":
            ax.axhline(100 * required, ls="--", lw=1, color="#444444",
                       label=t(f"required probability ({required:.0%})",
                               f"要求的概率（{required:.0%}）"))
            ax.set_ylim(-3, 103)
        ax.set_xlabel(t(f"Public cost {years[0]}-{years[1]}, all items ({style.unit('yi')})",
                        f"{years[0]}-{years[1]}年财政投入合计（{style.unit('yi')}）"))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(t("Public cost against the goal", "财政投入与目标") + "\n" + goal_text,
                 fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig, axes


def plot_levers(front: pd.DataFrame, dims: Sequence[space.Dimension], chosen: Mapping,
                start: Mapping, name: str):
    """Each searched lever's value along the front (cheapest to surest).

    With its 2024 value (dashed) and the chosen mix (a star).

    Args:
        front: the Pareto front (``cost`` and a column per lever).
        dims: the searched levers.
        chosen: the chosen mix: ``cost`` (on the search's seeds) and each lever's value.
        start: each lever's 2024 value.
        name: the chosen mix's scenario name (its colour).

    """
    n = len(dims)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 2.7 * rows), squeeze=False)
    x = _yi(front["cost"])
    for ax, d in zip(axes.flat, dims, strict=False):
        values = front[d.name].to_numpy(dtype=float)
        factor, unit = _money_axis([d.high], d.unit)
        ax.plot(x, values * factor, "o-", ms=3, lw=1, color="#4e79a7",
                label=t("Pareto front", "帕累托前沿"))
        ax.axhline(start[d.name] * factor, ls="--", lw=1, color=style.color_of(style.BASELINE),
                   label=t("2024 value", "2024年取值"))
        ax.plot([chosen["cost"] / style.YI], [chosen[d.name] * factor], "*", ms=12,
                color=style.color_of(name), label=name)
        ax.set_ylim(d.low * factor - 0.05 * (d.high - d.low) * factor,
                    d.high * factor + 0.05 * (d.high - d.low) * factor)
        ax.set_title(f"{d.name.removeprefix('policy.')} ({unit})", fontsize=9)
        ax.set_xlabel(t(f"public cost ({style.unit('yi')})", f"财政投入（{style.unit('yi')}）"),
                      fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(t("Lever values along the front, from the cheapest mix to the surest",
                   "前沿上各政策杠杆的取值（从最省到最稳）"), fontsize=11)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig, axes


def plot_prim(draws: pd.DataFrame, box: Mapping, units: Mapping[str, str], name: str):
    """The draws of the uncertainties where the mix meets or misses the goal, and PRIM's box.

    The conditions drawn are those whose quasi-p-value is below :data:`SIGNIFICANT_QP` (the
    first one if none is). Two or more: a scatter of the first two, the box drawn; one: the
    share of villages reaching the threshold against it, the box's range shaded.

    Args:
        draws: one row per draw (a column per uncertainty, ``failed``, ``reached``).
        box: PRIM's box (``conditions``, ``coverage``, ``density``).
        units: unit of each uncertainty (axis labels).
        name: the mix's scenario name.

    """
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    conds = [c for c in box["conditions"] if c.get("qp", 0.0) < SIGNIFICANT_QP] or \
        box["conditions"][:1]
    failed = draws["failed"].to_numpy(dtype=bool)

    def label(c: Mapping) -> tuple[float, str]:
        factor, unit = _money_axis(draws[c["name"]], units.get(c["name"], ""))
        return factor, f"{c['name'].removeprefix('model.')} ({unit})"

    fx, lx = label(conds[0])
    if len(conds) >= 2:
        fy, ly = label(conds[1])
        xs, ys = draws[conds[0]["name"]] * fx, draws[conds[1]["name"]] * fy
        ax.scatter(xs[~failed], ys[~failed], s=14, color=MET_COLOR, label=t("goal met",
                                                                          "达成目标"))
        ax.scatter(xs[failed], ys[failed], s=18, marker="x", color=FAIL_COLOR,
                   label=t("goal missed", "未达成目标"))
        ax.add_patch(Rectangle((conds[0]["low"] * fx, conds[1]["low"] * fy),
                               (conds[0]["high"] - conds[0]["low"]) * fx,
                               (conds[1]["high"] - conds[1]["low"]) * fy, fill=False, lw=2,
                               ec=FAIL_COLOR, label=t("PRIM box", "PRIM框")))
        ax.set_ylabel(ly)
    else:
        xs, ys = draws[conds[0]["name"]] * fx, 100 * draws["reached"]
        ax.axvspan(conds[0]["low"] * fx, conds[0]["high"] * fx, color=FAIL_COLOR, alpha=0.12,
                   label=t("PRIM box", "PRIM框"))
        ax.scatter(xs[~failed], ys[~failed], s=14, color=MET_COLOR, label=t("goal met",
                                                                          "达成目标"))
        ax.scatter(xs[failed], ys[failed], s=18, marker="x", color=FAIL_COLOR,
                   label=t("goal missed", "未达成目标"))
        ax.set_ylabel(t("Villages reaching the threshold (%)", "达到门槛的村（%）"))
    ax.set_xlabel(lx)
    ax.set_title(t(f"Where {name} fails: PRIM box (coverage {box['coverage']:.0%}, density "
                   f"{box['density']:.0%})",
                   f"{name}失效的条件：PRIM框（覆盖率{box['coverage']:.0%}，密度"
                   f"{box['density']:.0%}）"), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, ax


# ---------------------------------------------------------------------------------- report
def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def _yi_text(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else \
        f"{x / style.YI:,.2f}"


def _unit(d: space.Dimension) -> str:
    return _money_axis([d.high], d.unit)[1]


def _value(d: space.Dimension, v: float) -> str:
    v = float(v) * _money_axis([d.high], d.unit)[0]
    return f"{v:,.0f}" if d.integer else f"{v:,.3g}"


def write(out: Path, result: dict, trials: pd.DataFrame, front: pd.DataFrame,
          dims: Sequence[space.Dimension], robust: dict, *, lang: str = "auto",
          dpi: int = 150) -> Path:
    """Save the figures and write report.md into ``out``; return its path."""
    from zq_sim.run import _atomic

    lang_used = style.use_language(lang)
    name, goal, claim = result["scenario"], result["goal"], result["claim"]
    years = goal["cost_years"]
    start = {d.name: trials.loc[trials["trial"] == 0, d.name].iloc[0]
             if (trials["trial"] == 0).any() else d.default for d in dims}
    chosen_row = trials[trials["trial"] == result["trial"]].iloc[0]

    def save(fig, stem: str) -> None:
        _atomic(out / f"{stem}.png", lambda p: fig.savefig(p, dpi=dpi, format="png"))
        plt.close(fig)

    goal_text = goal["text_zh"] if lang_used == "zh" else goal["text"]
    fig, _ = plot_front(trials, front, claim, goal["required_probability"], name, goal_text,
                        years, result.get("baseline_2024_mix") and {
                            **trials[trials["trial"] == 0].iloc[0].to_dict()},
                        result.get("holdout"))
    save(fig, "front")
    fig, _ = plot_levers(front, dims, {**chosen_row.to_dict()}, start, name)
    save(fig, "levers")
    box = robust.get("box")
    if box is not None:
        units = {d.name: d.unit for d in space.uncertainties()}
        fig, _ = plot_prim(robust["draws"][robust["draws"]["ran"]], box, units, name)
        save(fig, "prim")

    doc = Document(f"Finding a policy mix: {goal['text']}")
    verdict = (f"**{name}** is the cheapest mix found that meets the goal with probability "
               f"at least {goal['required_probability']:.0%}" if result["meets_goal"] else
               f"**No mix within the bounds met the goal with probability "
               f"{goal['required_probability']:.0%}.** The closest found is written as "
               f"**{name}**; it is not a mix that meets the goal")
    doc.p(f"{verdict}. On {claim['evaluations']} fresh evaluations (seeds the search did not "
          f"choose on) it meets the goal in {claim['probability']:.0%} of them (90% interval "
          f"{_pct(claim['probability_lo'])}-{_pct(claim['probability_hi'])}), at a public cost "
          f"of {_yi_text(claim['cost'])}亿元 over {years[0]}-{years[1]} (90% of runs "
          f"{_yi_text(claim['cost_p05'])}-{_yi_text(claim['cost_p95'])}亿; "
          f"{_yi_text(claim['cost_unit_range']['low'])}-"
          f"{_yi_text(claim['cost_unit_range']['high'])}亿 at the low and high unit costs of "
          f"data/lever_costs.csv, all assumptions).")
    base = result.get("baseline_2024_mix")
    if base:
        doc.p(f"The 2024 mix, on the search's seeds: probability {base['probability']:.0%}, "
              f"cost {_yi_text(base['cost'])}亿元.")
    doc.p("Parameter uncertainty: " + (
        "**replicates only** (the calibrated parameters; no parameter ensemble was used, so "
        "the probability covers the model's randomness, not the uncertainty of its "
        "parameters; the robustness step below draws the uncertain parameters)."
        if result["uncertainty"] == "replicates" else
        f"the parameter ensemble: the seeds spread over its sets {result['parameter_sets']}; "
        "the probability covers the model's randomness and those sets."))

    doc.h2("The recommended mix" if result["meets_goal"] else "The closest mix")
    doc.table(["lever", "unit", "2024", name, "searched from", "to"],
              [[f"`{d.name}`", _unit(d), _value(d, start[d.name]),
                _value(d, result["levers"][d.name]), _value(d, d.low), _value(d, d.high)]
               for d in dims])
    if result.get("fixed"):
        doc.p("Held at the command line's values (also in recommended.yaml): "
              + ", ".join(f"`{k}={v}`" for k, v in result["fixed"].items()) + ".")
    doc.p(f"Run it as a scenario: copy `recommended.yaml` into `conf/scenario/{name}.yaml`, "
          f"then `python -m zq_sim +scenario={name} years.end={goal['year']}`.")
    items = claim["cost_by_item"]
    doc.table(["item of public spending", f"{years[0]}-{years[1]} (亿元)"],
              [[f"`public_{k}`", _yi_text(v)] for k, v in sorted(items.items(),
                                                                 key=lambda kv: -kv[1])])

    doc.h2("Check on held-out seeds")
    h = result.get("holdout", {})
    if "probability" in h:
        doc.table(["", "evaluations", "probability of meeting the goal (90% interval)",
                   "public cost, mean (90% of runs), 亿元"],
                  [["claim (confirmation seeds)", claim["evaluations"],
                    f"{claim['probability']:.0%} ({_pct(claim['probability_lo'])}-"
                    f"{_pct(claim['probability_hi'])})",
                    f"{_yi_text(claim['cost'])} ({_yi_text(claim['cost_p05'])}-"
                    f"{_yi_text(claim['cost_p95'])})"],
                   [f"held out: run seeds of root seed {h['root']}", h["evaluations"],
                    f"{h['probability']:.0%} ({_pct(h['probability_lo'])}-"
                    f"{_pct(h['probability_hi'])})",
                    f"{_yi_text(h['cost'])} ({_yi_text(h['cost_p05'])}-"
                    f"{_yi_text(h['cost_p95'])})"]])
        disjoint = result["seeds"]["holdout_disjoint"]
        doc.p(f"The held-out seeds are the replicate seeds `python -m zq_sim "
              f"+scenario={name} seed={h['root']}` runs (calibrated parameters"
              + ("; so they cover replicate noise only, while the claim above also covers "
                 "the ensemble's parameter sets" if result.get("uncertainty") == "ensemble"
                 else "")
              + "); "
              + ("none of them was used by the search." if disjoint else
                 "**some of them were also used by the search.**"))
    else:
        doc.p(f"Not run ({h.get('skipped', 'no runs')}).")

    doc.h2("The front")
    doc.figure("front", "Public cost against the goal",
               "Every candidate (grey) on the search's seeds; the Pareto front (no candidate "
               "is cheaper, surer and closer to the goal at once) with bars holding 90% of the "
               "runs' cost and, left, the 90% Wilson interval of the probability of meeting "
               "the goal, right, 90% of the runs' share of villages reaching the threshold; "
               "the chosen mix on fresh seeds (star) and on the held-out run seeds (diamond); "
               "the 2024 mix (square). Cost: every `public_*` item summed over "
               f"{years[0]}-{years[1]}, 亿元.")
    doc.figure("levers", "Lever values along the front",
               "Each searched lever's value on the front, from its cheapest mix (left) to its "
               "surest (right); dashed: the 2024 value; star: the chosen mix (at its cost on "
               "the search's seeds).")
    doc.table(["trial", "cost 亿元", "probability", "villages reaching"]
              + [d.name.rsplit(".", 1)[-1] for d in dims],
              [[int(r["trial"]), _yi_text(r["cost"]), _pct(r["probability"]),
                f"{r['reached_mean']:.1%}"] + [_value(d, r[d.name]) for d in dims]
               for _, r in front.iterrows()])

    doc.h2("Robustness: where the mix fails")
    if "skipped" in robust:
        doc.p(f"Not run ({robust['skipped']}).")
    else:
        doc.p(f"The mix was run over {robust['samples']} draws ({robust['space']}; "
              f"{robust['dimensions']} uncertain parameters, one seed each"
              + (f"; {robust['not_run']} draws could not be run" if robust["not_run"] else "")
              + f"): it misses the goal in {robust['failure_rate']:.0%} of them. "
              + ("Each draw is a set of the parameter ensemble (the fitted parameters from "
                 "their posterior, the drawn ones from their ranges, the held ones at their "
                 "priors): the probability above comes from the search's few sets, this from "
                 "many." if robust.get("space") == "ensemble" else
                 "Under the calibrated parameters the probability above holds; this is how it "
                 "changes when what the calibration does not pin down is uncertain."))
        if box is None:
            doc.p("PRIM needs at least 5 draws that fail and 5 that succeed; there are too few "
                  "of one kind to name conditions.")
        else:
            doc.p(f"PRIM (EMA workbench) box: {box['coverage']:.0%} of the failures fall in "
                  f"it (coverage) and {box['density']:.0%} of the draws in it fail (density), "
                  f"against {box['base_rate']:.0%} overall; it holds {box['mass']:.0%} of the "
                  f"draws. (The box kept is the largest whose density is at least "
                  f"{box['density_required']:.0%}: the setting `robustness.density`, and at "
                  "least halfway from the base rate to 1; "
                  + ("none was, so the densest is shown" if box["density"] <
                     box["density_required"] - 1e-9 else "this one is") + ".) "
                  "The mix fails when:")
            doc.table(["parameter", "box", "range drawn", "quasi-p", "stands out"],
                      [[f"`{c['name']}`", f"{c['low']:.4g} - {c['high']:.4g}",
                        f"{c['range_low']:.4g} - {c['range_high']:.4g}",
                        f"{c['qp']:.2g}", "yes" if c["qp"] < SIGNIFICANT_QP else "no"]
                       for c in box["conditions"]])
            doc.p(f"A condition stands out from chance when its quasi-p-value (EMA workbench's "
                  f"binomial test of the box with and without it) is below {SIGNIFICANT_QP}; "
                  "PRIM's other restrictions may be noise of a few hundred draws over many "
                  "parameters.")
            doc.figure("prim", "Where the mix fails",
                       "Each draw of the uncertain parameters with the mix: goal met (grey) or "
                       "missed (red), against the conditions that stand out (two: the box "
                       "drawn; one: the share of villages reaching the threshold against it, "
                       "the box's range shaded).")
            if robust.get("oat"):
                doc.p("Each condition alone (one at a time): the mix with that parameter in "
                      "the box and outside it, every other parameter at its base value, on "
                      f"the same {robust['oat'][0]['seeds']} seeds. A condition that matters "
                      "fails more often inside.")
                doc.table(["parameter", "inside: value", "failure", "outside: value",
                           "failure"],
                          [[f"`{o['name']}`", f"{o['inside_value']:.4g}",
                            _pct(o["inside_failure"]), f"{o['outside_value']:.4g}",
                            _pct(o["outside_failure"])] for o in robust["oat"]])

    doc.h2("How the search ran")
    seeds = result["seeds"]
    doc.ul([
        f"Goal: {goal['text']}; required probability {goal['required_probability']:.0%}; "
        f"cost summed over {years[0]}-{years[1]}.",
        f"{result['trials']} candidates (the 2024 mix first), {len(seeds['search'])} "
        f"evaluations each on the same seeds (common random numbers; root {seeds['root']}); "
        f"{len(result['confirmed'])} confirmed on {len(seeds['confirm'])} fresh evaluations; "
        f"{result['runs']} model runs in all.",
        "Levers searched: " + ", ".join(f"`{d.name}`" for d in dims) + "; the others keep "
        "their 2024 values.",
        "Objectives (Optuna): mean public cost and the goal's shortfall (mean share of "
        "villages the goal misses); the front above is drawn on cost and probability.",
        f"Labels: {'Chinese' if lang_used == 'zh' else 'English with pinyin'}.",
    ])
    doc.table(["confirmed trial", "probability (fresh)", "cost 亿元 (fresh)"],
              [[c["trial"], _pct(c["probability"]), _yi_text(c["cost"])]
               for c in result["confirmed"]])
    path = out / "report.md"
    _atomic(path, lambda p: p.write_text(doc.markdown(), encoding="utf-8"))
    return path

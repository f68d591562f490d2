"""Write the calibration report (Markdown, CSV tables and a figure) from calibrate()'s results.

Reads only the result dictionary: it never runs the model.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

TOLERANCE = 0.05

#: Each source of operating income: the mechanism behind its path after 2024 and what bounds it.
SOURCES = {
    "lease": ("leases of collective assets and resources (三资): re-let on the platform or off it; "
              "the clean-up re-prices irregular contracts once",
              "rents grow at rent_growth (2%/yr, assumption, range -2% to 5%); the stock of "
              "leasable assets is fixed, found ones included"),
    "arrears": ("one-off recovery of unpaid rent when the clean-up puts a contract right",
                "the stock of arrears of 2023 (arrears_years, fitted); it ends once recovered"),
    "land": ("service fees on land transferred through the collective; the Huaiji SOE's fee",
             "farmland per village; consolidation pace (fitted) and the SOE's yearly plan"),
    "dividends": ("strong-village companies: market business in their town and, for "
                  "town-village unions, town public works",
                  "a finite pool of candidate villages and towns; each town's market demand "
                  "(market_per_village, growing at market_growth) shared by its companies with "
                  "crowded margins; capital converges as it depreciates (facts.md: 中山's "
                  "companies earned about 78k each)"),
    "pv": ("village rooftop PV (光伏小切口)",
           "adoption rates per village; tariff, yield and degradation (facts.md)"),
    "assistance": ("paired-assistance projects (对口帮扶) paying a return for their term",
                   "the yearly fund (a stock growing by about the same each year, not "
                   "compounding); a 15-year term (云浮's parks, facts.md) ends the first "
                   "projects (of 2021) from 2036"),
    "own": ("villages' own businesses",
            "own_income_growth (3%/yr, assumption, range 0-6%)"),
}


def miss_chance(se_relative: float | None, tolerance: float = TOLERANCE) -> float | None:
    """Chance that a model exactly on target misses it by more than ``tolerance``.

    The mean over replicates is taken as normal with the given standard error (relative to the
    target): 2 x (1 - Phi(tolerance / se)).
    """
    if se_relative is None or not math.isfinite(se_relative):
        return None
    if se_relative <= 0:
        return 0.0
    return math.erfc(tolerance / se_relative / math.sqrt(2.0))


def target_table(report: dict) -> pd.DataFrame:
    """Each target: reported value, held-out mean and 90% interval, relative error, met.

    Also the standard error of the held-out mean relative to the target (replicate sd over the
    square root of the replicates) and the chance that noise alone misses the tolerance.
    """
    base = report["validation"]["baseline"]
    held = base["summary"]["targets"]
    sds = base.get("target_sd", {})
    reps = len(base["summary"]["seeds"])
    rows = []
    for name, value in report["targets"].items():
        s = held[name]
        sd = sds.get(name)
        se_rel = sd / math.sqrt(reps) / abs(value) if sd is not None and reps else None
        if name == "min_total_income":
            floor = report["validation"].get("floor")
            if floor:  # held on at least the stated probability, less two standard errors
                p, n = floor["probability"], floor["seeds"]
                met = floor["held"] >= p - 2 * math.sqrt(p * (1 - p) / n)
            else:
                met = s["min"] is not None and s["min"] >= value
            err = None
        else:
            err = (s["mean"] - value) / abs(value) if s["mean"] is not None else None
            met = err is not None and abs(err) <= TOLERANCE
        rows.append({"target": name, "reported": value, "simulated_mean": s["mean"],
                     "p05": s["p05"], "p95": s["p95"], "min": s["min"],
                     "relative_error": err, "met": met,
                     "se_of_mean": None if name == "min_total_income" else se_rel,
                     "noise_miss_chance": None if name == "min_total_income"
                     else miss_chance(se_rel)})
    return pd.DataFrame(rows)


def parameter_table(report: dict) -> pd.DataFrame:
    """Fitted parameters with prior, bounds, standard error and the spread across starts."""
    rows = []
    for name, value in report["fitted"].items():
        spread = report["equally_good_spread"][name]
        rows.append({"parameter": name, "moves": report["moves"][name],
                     "prior": report["prior"][name],
                     "low": report["bounds"][name][0], "high": report["bounds"][name][1],
                     "fitted": value, "se": report["se"][name],
                     "starts_min": min(spread), "starts_max": max(spread),
                     "why": report["why"][name]})
    return pd.DataFrame(rows)


def loose_parameters(ident: dict, share: float = 0.02) -> list[str]:
    """Parameters whose Jacobian column is below ``share`` of the largest (targets barely move)."""
    norms = ident["column_norms"]
    if not norms:
        return []
    top = max(norms.values())
    return [n for n, v in norms.items() if v < share * top]


def plot_fit(table: pd.DataFrame):
    """Simulated over reported value for each target, with the 90% interval; returns (fig, ax)."""
    t = table[table["target"] != "min_total_income"].iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 6.2))
    ratio = t["simulated_mean"] / t["reported"]
    lo = t["p05"] / t["reported"]
    hi = t["p95"] / t["reported"]
    y = range(len(t))
    # for negative targets (petitions change) the ratio keeps its meaning: 1 = on target
    lo, hi = lo.combine(hi, min), hi.combine(lo, max)
    ax.axvspan(1 - TOLERANCE, 1 + TOLERANCE, color="tab:green", alpha=0.15,
               label=f"within {TOLERANCE:.0%} of the reported value")
    ax.axvline(1.0, color="tab:green", lw=1)
    ax.errorbar(ratio, list(y), xerr=[ratio - lo, hi - ratio], fmt="o", color="tab:blue",
                capsize=3, label="simulated mean, 90% interval over held-out replicates")
    ax.set_yticks(list(y), t["target"])
    ax.set_xlabel("simulated / reported (1 = on target)")
    ax.set_title("Calibration fit: 2024 targets on held-out seeds")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    ax.text(0.0, -0.24, "The floor (every village above 150,000 yuan) is in the report's table.",
            transform=ax.transAxes, fontsize=8, color="0.3")
    fig.tight_layout()
    return fig, ax


def _money(x) -> str:
    if x is None or pd.isna(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def verdict(ok: bool) -> str:
    """'reproduced' or 'missed'."""
    return "reproduced" if ok else "missed"


def write_report(report: dict, out: Path) -> None:
    """Write report.md, targets.csv, parameters.csv and fit.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    targets = target_table(report)
    params = parameter_table(report)
    targets.to_csv(out / "targets.csv", index=False)
    params.to_csv(out / "parameters.csv", index=False)
    fig, _ = plot_fit(targets)
    fig.savefig(out / "fit.png", dpi=200)
    plt.close(fig)
    paths = report["validation"]["baseline"].get("paths", {})
    if paths.get("mean_operating_income"):
        fig, _ = plot_sources(paths)
        fig.savefig(out / "sources.png", dpi=200)
        plt.close(fig)
    val = report["validation"]
    pat = val["baseline"]["patterns"]
    nosup = val["no_support"]["patterns"]
    added_cf = (val["baseline"]["summary"]["targets"]["mean_operating_income"]["mean"]
                - val["no_reform"]["summary"]["targets"]["mean_operating_income"]["mean"])
    lines = [
        "# Calibration report",
        "",
        f"Written by `python -m zq_sim.calibrate`: {len(report['fitted'])} parameters fitted to "
        f"{len(report['targets'])} targets by simulated method of moments "
        f"({report['evaluations']} model runs, {report['seconds']:.0f} s), common random "
        f"numbers on {len(report['fit_seeds'])} calibration seeds, scipy least_squares from "
        f"{len(report['starts'])} starts. The fitted values are in conf/model/calibrated.yaml.",
        "",
        "## Targets on held-out seeds",
        "",
        f"The fitted model run on {len(val['baseline']['summary']['seeds'])} replicates whose "
        "seeds were never used in fitting (the default run seed). The floor is met when the "
        "lowest village of every replicate is at or above 150,000 yuan; it is not a moment of "
        "the fit but held by the support rule, chosen after the fit as the weakest rule that "
        "holds it with a stated probability (see 'The floor and the support rule').",
        "",
        "'s.e.' is the standard error of the simulated mean (replicate sd over the square "
        "root of the replicates), relative to the reported value; 'noise' is the chance that a "
        "model whose expectation is exactly the reported value would still miss it by more "
        f"than {TOLERANCE:.0%} on this many replicates.",
        "",
        "| target | reported | simulated mean | 90% interval | error | s.e. | noise | met |",
        "|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in targets.itertuples():
        err = "" if r.relative_error is None or pd.isna(r.relative_error) else \
            f"{r.relative_error:+.1%}"
        interval = f"{_money(r.p05)} – {_money(r.p95)}"
        if r.target == "min_total_income":
            held = report["validation"]["baseline"]["patterns"]["floor_held"]
            interval += (f" (lowest {_money(r.min)}; floor held in {held['replicates']} of "
                         f"{held['of']} replicates")
            floor = report["validation"].get("floor")
            if floor:
                interval += (f", and on {floor['held']:.1%} of {floor['seeds']} held-out seeds "
                             f"run to {report.get('calibration_year', 2024)}, against the "
                             f"{floor['probability']:.0%} asked")
            interval += ")"
        se = "" if r.se_of_mean is None or pd.isna(r.se_of_mean) else f"{r.se_of_mean:.1%}"
        noise = "" if r.noise_miss_chance is None or pd.isna(r.noise_miss_chance) else \
            f"{r.noise_miss_chance:.0%}"
        lines.append(f"| {r.target} | {_money(r.reported)} | {_money(r.simulated_mean)} | "
                     f"{interval} | {err} | {se} | {noise} | {'yes' if r.met else 'NO'} |")
    noisy = targets[targets["noise_miss_chance"].fillna(0) > 0.2]
    if len(noisy):
        lines += ["", "Targets that the mean of these replicates cannot check to "
                  f"{TOLERANCE:.0%}: " + "; ".join(
                      f"{r.target} (s.e. {r.se_of_mean:.1%}: a model exactly on target misses "
                      f"by more than {TOLERANCE:.0%} with chance {r.noise_miss_chance:.0%})"
                      for r in noisy.itertuples())
                  + ". For these the check says more about the replicates than about the fit."]
    lines += ["", "![fit](fit.png)", "", "## Fitted parameters", "",
              "Standard errors: SMM sandwich with the moments' covariance over replicates (the "
              "reported figures treated as one draw of the model; their own measurement error "
              "is unknown and not included). 'Starts' is the range over the starts whose fit "
              "was within 10% of the best.", "",
              "| parameter | moves | prior | range | fitted | s.e. | starts | why free |",
              "|---|---|---:|---:|---:|---:|---:|---|"]
    ident = report["identifiability"]
    loose = loose_parameters(ident)
    for r in params.itertuples():
        se = "not identified" if r.parameter in loose else f"{r.se:.3g}"
        lines.append(f"| {r.parameter} | {r.moves} | {r.prior:.4g} | {r.low:.4g}–{r.high:.4g} | "
                     f"{r.fitted:.4g} | {se} | {r.starts_min:.4g}–{r.starts_max:.4g} | "
                     f"{r.why} |")
    lines += ["", "## Identifiability", "",
              "Singular values of the Jacobian of the moments (relative errors) with respect to "
              "the parameters in their unit ranges: " + ", ".join(
                  f"{s:.3g}" for s in ident["singular_values"]) + "."]
    if ident["weak"]:
        lines += ["", "Directions the targets barely pin down (several parameter sets fit "
                  "about equally well along them):", ""]
        for w in ident["weak"]:
            d = ", ".join(f"{k} {v:+.2f}" for k, v in w["direction"].items())
            lines.append(f"- singular value {w['singular_value']:.3g}: {d}")
    else:
        lines += ["", "No direction is much weaker than 5% of the strongest."]
    lines += ["", "How strongly the targets respond to each parameter (column norm of the "
              "Jacobian):", ""]
    for n, v in sorted(ident["column_norms"].items(), key=lambda kv: kv[1]):
        lines.append(f"- {n}: {v:.3g}")
    if loose:
        lines += ["", "Not pinned down by the targets (their moments barely move with them): "
                  + ", ".join(loose) + ". Their sandwich standard errors mean nothing here and "
                  "are not shown."]
    lines += support_section(report)
    lines += ["", "Results of each start:", ""]
    for k, s in enumerate(report["starts"], 1):
        lines.append(f"- start {k}: cost {s['cost']:.5f} ({s['nfev']} steps)")
    weak = pat.get("weak_joiners")
    west_poorer = (pat["west_mean_operating_income"]["mean"]
                   < pat["east_mean_operating_income"]["mean"])
    lines += [
        "", "## Validation against patterns that were not fitted", "",
        "| pattern | field evidence | simulated (held-out seeds) | verdict |",
        "|---|---|---|---|",
        f"| west poorer than east | the four western counties are the poorer half of the city "
        f"| east {_money(pat['east_mean_operating_income']['mean'])}, west "
        f"{_money(pat['west_mean_operating_income']['mean'])} yuan mean operating income, 2024 | "
        f"{verdict(west_poorer)} |",
        f"| share of villages below 100k operating income, 2023 | 云浮 2021: 71% (602 of 972); "
        f"Zhaoqing 2023 is two years later, so somewhat less is plausible, say 30-70% | "
        f"{pat['share_below_100k_base_year']['mean']:.0%} "
        f"({pat['share_below_100k_base_year']['min']:.0%}–"
        f"{pat['share_below_100k_base_year']['max']:.0%}) | "
        f"{verdict(0.3 <= pat['share_below_100k_base_year']['mean'] <= 0.7)} |",
    ]
    if weak:
        lines.append(
            f"| weak villages joining a company in 2024 | 四会 下茆镇: about 100k in 2023 to "
            f"above 300k in 2024, 200k of it dividends | {weak['villages_per_replicate']:.0f} "
            f"villages a replicate: {_money(weak['operating_income_before'])} to "
            f"{_money(weak['operating_income_after'])} operating income, "
            f"{_money(weak['dividends_after'])} of it dividends | "
            f"{verdict(weak['operating_income_after'] >= 2 * weak['operating_income_before'])} |")
    else:
        lines.append("| weak villages joining a company in 2024 | 下茆镇 | none joined in the "
                     "held-out runs | missed |")
    lines.append(
        f"| without weak-village support, villages fall below 150k | the floor is a policy "
        f"result | {nosup['villages_below_150k_total']['mean']:.0f} villages below 150k total "
        f"income in 2024 (range {nosup['villages_below_150k_total']['min']:.0f}–"
        f"{nosup['villages_below_150k_total']['max']:.0f}) | "
        f"{verdict(nosup['villages_below_150k_total']['min'] > 0)} |")
    platform = platform_value_pattern(val["baseline"].get("paths", {}), report)
    if platform:
        lines.append(platform)
    lines += ["", "A pattern marked 'missed' is one the model does not reproduce with these "
              "parameters; it is reported, not tuned away; 'reported' marks a figure with no "
              "field evidence to hold it against."]
    lines += [
        "",
        f"The no_reform counterfactual on the same held-out seeds: mean operating income "
        f"{_money(added_cf)} yuan a village lower in 2024 than the baseline; the three-assets "
        f"added income target is computed the same way (baseline minus no_reform operating "
        f"income, same seed).",
        "",
        "County means of operating income, 2024 (baseline, held-out seeds):",
        "",
    ]
    for county, v in pat["county_mean_operating_income"].items():
        lines.append(f"- {county}: {_money(v)} yuan")
    lines += growth_section(paths, report)
    if paths.get("mean_operating_income"):
        lines += ["", "![sources of operating income](sources.png)"]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _at(path: dict, year: int) -> float | None:
    if not path:
        return None
    return path.get(year, path.get(str(year)))


def support_section(report: dict) -> list[str]:
    """The floor and the support rule: the rule chosen, what it holds, whom it pays, its cost."""
    sup = report.get("support")
    if not sup:
        return []
    val = report.get("validation") or {}
    lines = ["", "## The floor and the support rule", "",
             "No target pins the support rule: the floor says only that support was strong "
             "enough in 2024. Its threshold and gap share are declared as uncertain policy "
             "settings (data/priors.csv) and chosen after the fit as the weakest rule (least "
             f"public money in 2024) that keeps every village of a replicate at or above "
             f"150,000 yuan of total income on at least {sup['probability']:.0%} of "
             f"{sup['seeds']} seeds spawned from the calibration seed (runs to the calibration "
             "year; the 95% tail needs many more seeds than the moments, and a rule that "
             "passes on a few seeds may pass by luck): for each gap share of a grid, a bisection "
             "finds "
             "the lowest threshold that does. Support is budgeted on what a town knows (last "
             "year's recurring income less the streams it knows have ended), so it is paid to "
             "villages whose expected income is low, also when this year's turns out higher.", ""]
    held = (val.get("baseline", {}).get("patterns") or {}).get("floor_held")
    verdict_text = "" if sup.get("feasible", True) else (
        " No rule in the declared ranges holds the floor that often: this is the strongest "
        "rule tried, and the floor target is NOT met with the stated probability.")
    lines.append(f"Chosen: threshold {_money(sup['threshold'])} yuan, gap share "
                 f"{sup['gap_share']:.2f}. The floor held on {sup['held']:.0%} of those "
                 f"seeds" + (f" and in {held['replicates']} of {held['of']} held-out "
                                         "replicates" if held else "") + "." + verdict_text)
    paths = val.get("baseline", {}).get("paths", {})
    year = report.get("calibration_year", 2024)
    listed = _at(paths.get("weak_listed", {}), year)
    supported = _at(paths.get("villages_supported", {}), year)
    cost = _at(paths.get("public_support", {}), year)
    below = _at(paths.get("share_own_below_150k", {}), year)
    if supported is not None:
        lines += ["", f"In {year} (held-out baseline): {listed:.0f} villages on the weak list "
                  f"(recurring operating income below the weak line, 150,000 yuan), "
                  f"{supported:.0f} villages supported, at {cost / 1e8:.2f} 亿元 "
                  f"({cost / 1e4:,.0f} 万元); {below:.1%} of villages had own (operating) income "
                  "below 150,000 yuan before support."]
    by_share: dict[float, dict] = {}
    for r in sup.get("tried", []):
        if r["held"] >= sup["probability"]:
            g = round(r["gap_share"], 4)
            if g not in by_share or r["threshold"] < by_share[g]["threshold"]:
                by_share[g] = r
    if by_share:
        lines += ["", "The weakest threshold that holds the floor at each gap share (those "
                  "seeds, 2024):", "",
                  "| gap share | threshold (yuan) | floor held | villages supported "
                  "| cost (万元) |",
                  "|---:|---:|---:|---:|---:|"]
        for g, r in sorted(by_share.items()):
            lines.append(f"| {g:.2f} | {_money(r['threshold'])} | {r['held']:.0%} | "
                         f"{r['supported']:.0f} | {r['cost'] / 1e4:,.0f} |")
    return lines


def platform_value_pattern(paths: dict, report: dict) -> str | None:
    """The value of platform deals (交易额) as a pattern: its growth in the calibration year."""
    deals, value = paths.get("platform_deals"), paths.get("platform_volume")
    year = report.get("calibration_year", 2024)
    if not deals or not value or not _at(value, year - 1):
        return None
    g_value = _at(value, year) / _at(value, year - 1) - 1
    g_deals = _at(deals, year) / _at(deals, year - 1) - 1
    return (f"| value of platform deals (交易额), {year} | not reported; the target 平台交易量 "
            f"+34.6% is read as the number of deals | number of deals {g_deals:+.1%}, value "
            f"of deals {g_value:+.1%} (price x term) | reported |")


def growth_decomposition(paths: dict, start: int, end: int) -> pd.DataFrame:
    """Change in mean operating income from ``start`` to ``end`` by source (yuan a village)."""
    rows = []
    for part in SOURCES:
        path = paths.get(f"mean_{part}_income")
        if not path or _at(path, start) is None or _at(path, end) is None:
            continue
        rows.append({"source": part, "start": _at(path, start), "end": _at(path, end),
                     "change": _at(path, end) - _at(path, start)})
    table = pd.DataFrame(rows)
    if len(table):
        total = table["change"].sum()
        table["share_of_change"] = table["change"] / total if total else float("nan")
    return table


def growth_section(paths: dict, report: dict) -> list[str]:
    """Where the baseline's growth after the calibration year comes from, and one-offs."""
    if not paths or "mean_operating_income" not in paths:
        return []
    years = sorted(int(y) for y in paths["mean_operating_income"])
    start, end = report.get("calibration_year", 2024), years[-1]
    if end <= start:
        return []
    table = growth_decomposition(paths, start, end)
    mean = paths["mean_operating_income"]
    rec = paths.get("mean_recurring_operating_income", {})
    arrears = paths.get("mean_arrears_income", {})
    lines = ["", f"## Sources of the baseline's change, {start}-{end}", "",
             f"Mean operating income (held-out baseline, mean of the replicates) goes from "
             f"{_money(_at(mean, start))} yuan a village in {start} to {_money(_at(mean, end))} "
             f"in {end}. Each source, the mechanism behind it and what bounds it:", "",
             f"| source | {start} | {end} | change | share of change | mechanism | bounded by |",
             "|---|---:|---:|---:|---:|---|---|"]
    for r in table.itertuples():
        mech, bound = SOURCES[r.source]
        lines.append(f"| {r.source} | {_money(r.start)} | {_money(r.end)} | {r.change:+,.0f} | "
                     f"{r.share_of_change:+.0%} | {mech} | {bound} |")
    if rec and arrears and _at(arrears, start) is not None:
        after = start + 1
        lines += ["", f"One-off and recurring income. In {start} the clean-up recovered unpaid "
                  f"rent of {_money(_at(arrears, start))} yuan a village, a one-off "
                  f"({_at(arrears, start) / _at(mean, start):.0%} of that year's mean); "
                  f"recurring operating income was {_money(_at(rec, start))}. In {after} the "
                  f"recovery falls to {_money(_at(arrears, after))}, so mean operating income "
                  f"moves from {_money(_at(mean, start))} to {_money(_at(mean, after))} while "
                  f"recurring income moves from {_money(_at(rec, start))} to "
                  f"{_money(_at(rec, after))}: the {start} spike and the {after} dip are the "
                  "one-off recovery, not a fall in what villages earn."]
    comp = paths.get("companies", {})
    paid = paths.get("dividends_paid", {})
    if comp and paid and _at(comp, start):
        payout = (report.get("prior") or {}).get("model.payout", 0.7)
        per_co = _at(paid, start) / _at(comp, start)
        lines += ["", f"Companies: {_at(comp, start):.0f} live in {start}, {_at(comp, end):.0f} "
                  f"in {end}; dividends of {_money(per_co)} yuan a company in {start} (profit "
                  f"about {_money(per_co / payout)} at a payout of {payout:.0%}), against about "
                  "78k of profit a company for 中山's 27 companies of 2023-24 (facts.md). Town "
                  "public works let to town-village unions, counted as public money: "
                  f"{_at(paths.get('public_town_works', {}), start) / 1e8:.2f} 亿元 in {start}, "
                  f"{_at(paths.get('public_town_works', {}), end) / 1e8:.2f} 亿元 in {end}."]
    return lines


def plot_sources(paths: dict):
    """Mean operating income by source over the years (stacked), in 万元; returns (fig, ax).

    The unit is written 万元 when a CJK font is installed (``style.use_language``), else
    "10k yuan".
    """
    from zq_sim import style

    style.use_language("auto")
    years = sorted(int(y) for y in paths["mean_operating_income"])
    fig, ax = plt.subplots(figsize=(8, 4.8))
    parts = [p for p in SOURCES if paths.get(f"mean_{p}_income")]
    stack = [[_at(paths[f"mean_{p}_income"], y) / 1e4 for y in years] for p in parts]
    ax.stackplot(years, stack, labels=parts, alpha=0.85)
    rec = paths.get("mean_recurring_operating_income")
    if rec:
        ax.plot(years, [_at(rec, y) / 1e4 for y in years], color="black", lw=1.5, ls="--",
                label="recurring (without arrears recovered)")
    ax.set_xlabel("year")
    ax.set_ylabel(f"mean operating income per village ({style.unit('wan')})")
    ax.set_title("Held-out baseline: mean operating income by source (mean of replicates)")
    ax.legend(loc="upper left", fontsize=8, ncol=2, frameon=False)
    ax.set_xlim(years[0], years[-1])
    fig.tight_layout()
    return fig, ax

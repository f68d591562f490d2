"""Scenarios against their comparator, paired by replicate seed (common random numbers).

Every job of a sweep spawns its replicate seeds from the same root seed, so replicate i of a
scenario and replicate i of the baseline share their random draws: the difference between them is
the scenario's effect with the chance between villages and years taken out. These functions
compute, from the report's ``runs`` table (one row per job, replicate and year):

- :func:`comparators`: which group each group is compared with (each scenario with the baseline,
  the baseline with no_reform; a forced one for all);
- :func:`paired_differences`: per group, year and metric, the mean difference over the shared
  seeds and a 90% confidence interval of that mean (Student's t over the paired differences),
  with the number of seeds on which the difference is above zero;
- :func:`cost_effectiveness`: added own income of the weak villages (the bottom decile) and of
  the whole city per extra yuan of public money, summed from the policy start to a year, with the
  levers that cost no extra public money flagged instead of divided by almost nothing.

Reads tables only; never imports the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

#: Reference scenarios, in order of preference.
REFERENCES = ("baseline", "no_reform")
#: Extra public money counts as none when within this share of the comparator's own spending.
SPENDING_TOLERANCE = 0.005
#: Share of villages in the bottom decile.
DECILE = 0.10


def choose_comparator(scenario: str, available: Sequence[str],
                      forced: str | None = None) -> str | None:
    """The scenario that ``scenario`` is compared with, or None.

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


def comparators(runs: pd.DataFrame, by: str = "scenario", match: Sequence[str] = (),
                forced: str | None = None) -> dict[str, str]:
    """{group: comparator group}: the comparator scenario's group with the same swept values."""
    if runs.empty or "scenario" not in runs:
        return {}
    keys = runs[list(dict.fromkeys([by, "scenario", *match]))].drop_duplicates()
    scenarios = list(keys["scenario"].unique())
    out = {}
    for _, g in keys.iterrows():
        ref_scenario = choose_comparator(g["scenario"], scenarios, forced)
        if ref_scenario is None:
            continue
        ref = keys[keys["scenario"] == ref_scenario]
        for m in match:
            ref = ref[ref[m].astype(str) == str(g[m])]
        if len(ref) == 1 and ref[by].iloc[0] != g[by]:
            out[g[by]] = ref[by].iloc[0]
    return out


def mean_interval(values: np.ndarray, level: float = 0.90) -> tuple[float, float, float]:
    """Mean and its two-sided confidence interval (Student's t); NaN bounds for one value."""
    a = np.asarray(values, float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan, math.nan
    m = float(a.mean())
    if a.size < 2:
        return m, math.nan, math.nan
    half = float(sps.t.ppf(0.5 + level / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))
    return m, m - half, m + half


def paired(runs: pd.DataFrame, group: str, ref: str, by: str,
           columns: Sequence[str]) -> pd.DataFrame:
    """Per shared seed and year: ``group``'s values minus ``ref``'s, for ``columns``."""
    cols = [c for c in columns if c in runs.columns]
    a = runs.loc[runs[by] == group, ["seed", "year", *cols]]
    b = runs.loc[runs[by] == ref, ["seed", "year", *cols]]
    m = a.merge(b, on=["seed", "year"], suffixes=("", "_ref"))
    out = m[["seed", "year"]].copy()
    for c in cols:
        out[c] = m[c].astype(float) - m[f"{c}_ref"].astype(float)
        out[f"{c}_ref"] = m[f"{c}_ref"].astype(float)
    return out


def paired_differences(runs: pd.DataFrame, metrics: Sequence[str], by: str = "scenario",
                       comparator_of: dict[str, str] | None = None,
                       level: float = 0.90) -> pd.DataFrame:
    """Each group minus its comparator, per year and metric, paired by seed.

    Returns:
        A long table: ``by``, ``comparator``, ``year``, ``metric``, ``n`` (shared seeds),
        ``mean`` (mean difference), ``lo``/``hi`` (its ``level`` confidence interval; NaN with
        one seed), ``n_above`` (seeds on which the difference is above zero). Metrics absent from
        ``runs`` are left out; empty without comparators.

    """
    comparator_of = comparator_of if comparator_of is not None else comparators(runs, by)
    rows = []
    present = [m for m in metrics if m in runs.columns]
    for group, ref in comparator_of.items():
        d = paired(runs, group, ref, by, present)
        for (year,), sub in d.groupby(["year"], sort=True):
            for metric in present:
                values = sub[metric].to_numpy(float)
                values = values[np.isfinite(values)]
                mean, lo, hi = mean_interval(values, level)
                rows.append({by: group, "comparator": ref, "year": int(year), "metric": metric,
                             "n": int(values.size), "mean": mean, "lo": lo, "hi": hi,
                             "n_above": int((values > 0).sum())})
    cols = [by, "comparator", "year", "metric", "n", "mean", "lo", "hi", "n_above"]
    return pd.DataFrame(rows, columns=cols)


def villages_count(runs: pd.DataFrame) -> pd.Series:
    """Number of villages per row, from total and mean operating income."""
    return (runs["total_operating_income"] / runs["mean_operating_income"]).round()


def cost_effectiveness(runs: pd.DataFrame, by: str = "scenario",
                       comparator_of: dict[str, str] | None = None, first_year: int = 2024,
                       years: Sequence[int] | None = None,
                       tolerance: float = SPENDING_TOLERANCE, n_boot: int = 2000,
                       ) -> pd.DataFrame:
    """Added own income per extra yuan of public money, summed from ``first_year`` to each year.

    On every seed that a group and its comparator share, summed over the years from
    ``first_year`` to ``year``:

    - ``weak``: added own (operating) income of the bottom decile of villages, counted as the
      change of the 10th-percentile village's operating income times the villages in the bottom
      decile (one tenth of all): what a policy adds at the weak end, before any fiscal support;
    - ``city``: added operating income of all villages;
    - ``extra``: extra public money (``public_spending``: support, company capital, PV subsidy,
      assistance and any other ``public_*`` item).

    The ratios are the mean added income over the mean extra money (a ratio of means), with a
    bootstrap 90% interval over seeds. They are defined only when the scenario spends more on
    every seed than ``tolerance`` times the comparator's own spending; otherwise ``cost`` says
    "none" (about no extra money: the lever is free in the model), "saves" (less money on every
    seed) or "mixed", and the added income is reported without a ratio.

    Returns:
        One row per group and year: ``by``, ``comparator``, ``first_year``, ``year``,
        ``n_seeds``, ``weak_mean/_p05/_p95``, ``city_mean/...``, ``extra_mean/...`` (yuan;
        p05/p95 over seeds), ``cost`` ("more", "none", "saves", "mixed"), ``weak_ratio``,
        ``weak_ratio_p05/_p95``, ``city_ratio``, ``city_ratio_p05/_p95`` (NaN unless cost is
        "more"). Empty when a needed column is missing or there is no comparator.

    """
    needed = {"total_operating_income", "mean_operating_income", "p10_operating_income",
              "public_spending", "seed", "year"}
    if runs.empty or not needed <= set(runs.columns):
        return pd.DataFrame()
    comparator_of = comparator_of if comparator_of is not None else comparators(runs, by)
    runs = runs.assign(_weak=runs["p10_operating_income"] * DECILE * villages_count(runs))
    rng = np.random.default_rng(0)
    rows = []
    for group, ref in comparator_of.items():
        d = paired(runs, group, ref, by, ["_weak", "total_operating_income", "public_spending"])
        d = d[d["year"] >= first_year]
        if d.empty:
            continue
        ends = sorted(set(years or []) | {int(d["year"].max())})
        for end in [y for y in ends if y in set(d["year"])]:
            s = d[d["year"] <= end].groupby("seed")[
                ["_weak", "total_operating_income", "public_spending", "public_spending_ref"]
            ].sum()
            weak, city = s["_weak"].to_numpy(), s["total_operating_income"].to_numpy()
            extra = s["public_spending"].to_numpy()
            tol = tolerance * np.abs(s["public_spending_ref"].to_numpy())
            row = {by: group, "comparator": ref, "first_year": first_year, "year": end,
                   "n_seeds": len(s), **_spread("weak", weak), **_spread("city", city),
                   **_spread("extra", extra)}
            if np.all(extra > tol):
                row["cost"] = "more"
                idx = rng.integers(0, len(s), size=(n_boot, len(s)))
                for name, added in (("weak", weak), ("city", city)):
                    row[f"{name}_ratio"] = float(added.mean() / extra.mean())
                    boot = added[idx].mean(axis=1) / extra[idx].mean(axis=1)
                    lo, hi = np.percentile(boot, [5, 95])
                    row[f"{name}_ratio_p05"], row[f"{name}_ratio_p95"] = float(lo), float(hi)
            else:
                row["cost"] = ("none" if np.all(np.abs(extra) <= tol)
                               else "saves" if np.all(extra < -tol) else "mixed")
                for name in ("weak", "city"):
                    for suffix in ("", "_p05", "_p95"):
                        row[f"{name}_ratio{suffix}"] = math.nan
            rows.append(row)
    return pd.DataFrame(rows)


def _spread(name: str, values: np.ndarray) -> dict[str, float]:
    return {f"{name}_mean": float(np.mean(values)),
            f"{name}_p05": float(np.percentile(values, 5)),
            f"{name}_p95": float(np.percentile(values, 95))}


#: Notes for the cost kinds without a ratio.
COST_NOTES = {
    "none": "costs no extra public money in the model: no ratio (it would be inflated)",
    "saves": "spends less public money than its comparator on every seed: no ratio",
    "mixed": "extra public money of varying sign over seeds: no ratio",
}

"""Named reporters: one number per year from the village arrays.

Each function takes arrays (not the model) so that it is tested on hand-made inputs; the model
calls :func:`income_metrics` once a year (model.collect).
"""

from __future__ import annotations

import numpy as np

from zq_sim.outputs import FLOOR, HIGHER  # the lines the share_*_150k/200k columns count below


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, 1 = one holds all)."""
    x = np.sort(np.maximum(np.asarray(x, dtype=float), 0.0))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return 0.0
    # an elementwise sum rather than a BLAS dot product: the same bits on every machine and
    # thread count (serial and parallel runs must agree exactly)
    return float(np.sum((2.0 * np.arange(1, n + 1) - n - 1) * x) / (n * total))


def share_below(x: np.ndarray, threshold: float) -> float:
    """Share of values strictly below a threshold."""
    return float(np.mean(np.asarray(x) < threshold)) if len(x) else 0.0


def premium_rate(premium_sum: float, reserve_sum: float) -> float:
    """Platform premium: sum of (price - reserve) over sum of reserves (0 with no deals)."""
    return premium_sum / reserve_sum if reserve_sum > 0 else 0.0


def growth(now: float, before: float) -> float:
    """Growth as a fraction (now / before - 1); NaN when before is zero."""
    return now / before - 1.0 if before else float("nan")


def income_metrics(operating: np.ndarray, total: np.ndarray) -> dict[str, float]:
    """Distribution of village incomes (yuan)."""
    q = np.percentile(operating, [10, 50, 90])
    return {
        "mean_operating_income": float(operating.mean()),
        "median_operating_income": float(q[1]),
        "p10_operating_income": float(q[0]),
        "p90_operating_income": float(q[2]),
        "min_operating_income": float(operating.min()),
        "mean_total_income": float(total.mean()),
        "min_total_income": float(total.min()),
        "p10_total_income": float(np.percentile(total, 10)),
        "share_below_150k": share_below(total, FLOOR),
        "share_below_200k": share_below(total, HIGHER),
        "gini": gini(operating),
        "total_operating_income": float(operating.sum()),
        "total_income": float(total.sum()),
    }


def weak_village_metrics(operating: np.ndarray, recurring: np.ndarray, support: np.ndarray,
                         weak: np.ndarray) -> dict[str, float]:
    """Weak villages judged on their own income (operating income, before support).

    Args:
        operating: operating income of each village (yuan).
        recurring: operating income less the one-off recovery of arrears (yuan).
        support: fiscal support received (yuan).
        weak: whether each village is on the list of weak villages.

    """
    return {
        "mean_recurring_operating_income": float(recurring.mean()),
        "p10_recurring_operating_income": float(np.percentile(recurring, 10)),
        "share_own_below_150k": share_below(operating, FLOOR),
        "share_own_below_200k": share_below(operating, HIGHER),
        "villages_supported": int((support > 0).sum()),
        "weak_listed": int(np.sum(weak)),
    }

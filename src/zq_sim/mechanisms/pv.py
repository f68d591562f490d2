"""PV "small cut" (光伏小切口, piloted in 高要区): rooftop PV, owned by the village or leased.

A village adopts PV with a yearly chance set by policy (higher where the small cut is pushed).
It owns the plant when its funds cover its share of the investment (the rest is a public
subsidy) and otherwise leases its roofs to an investor for a rent per kW. An owned plant earns
kW x yield x tariff x (1 - first-year loss) x (1 - degradation) ** (age - 1) less operation and
maintenance; its investment is booked as fixed assets.
"""

from __future__ import annotations

import numpy as np

from zq_sim.mechanisms.params import PVParams
from zq_sim.state import VillageState


def pv_revenue(kw: np.ndarray, age: np.ndarray, owned: np.ndarray, p: PVParams) -> np.ndarray:
    """Yearly PV income of each village (yuan): own plant's net revenue or roof rent."""
    output = kw * p.pv_yield * (1.0 - p.pv_first_year_loss) * (
        1.0 - p.pv_degradation) ** np.maximum(age - 1, 0)
    own = output * p.pv_tariff - p.pv_om * p.pv_capex * kw
    return np.where(kw > 0, np.where(owned, own, kw * p.pv_roof_rent), 0.0)


def pv_year(v: VillageState, *, adopt: np.ndarray, subsidy: float, p: PVParams,
            rng: np.random.Generator) -> tuple[float, float]:
    """Adoption, investment and revenue for one year.

    Args:
        v: village state (changed in place).
        adopt: each village's chance to adopt this year.
        subsidy: public share of the investment.
        p: ModelParams.
        rng: this mechanism's generator.

    Returns:
        (public subsidy paid, investment booked as fixed assets), yuan.

    """
    new = (v.pv_kw == 0) & (rng.random(v.n) < adopt)
    size = p.pv_kw_median * np.exp(0.5 * rng.standard_normal(v.n))
    capex = size * p.pv_capex
    own = new & (v.funds >= capex * (1.0 - subsidy))
    v.pv_kw = np.where(new, size, v.pv_kw)
    v.pv_owned = np.where(new, own, v.pv_owned)
    v.pv_age = np.where(v.pv_kw > 0, v.pv_age + 1, 0)
    v.funds -= np.where(own, capex * (1.0 - subsidy), 0.0)
    v.fixed_assets += np.where(own, capex, 0.0)
    v.income["pv"] += pv_revenue(v.pv_kw, v.pv_age, v.pv_owned, p)
    return float((capex * subsidy)[own].sum()), float(capex[own].sum())

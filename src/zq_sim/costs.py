"""The public cost of what the levers did in a year, priced with data/lever_costs.csv.

The mechanisms pay money levers themselves (start-up capital, PV subsidy, assistance, support,
town works: ``public_<item>`` at face value). The other levers cost the public purse through
people and works, which no mechanism pays: this module prices them.

============= ================================================ ========================
item          quantity in a year                               lever it scales with
============= ================================================ ========================
platform      villages x platform coverage                     platform_coverage
publicity     villages x platform coverage x bidder reach      bidder_reach
cleanup       villages x clean-up intensity                    cleanup_intensity
inventory     villages x inventory intensity                   inventory_intensity
consolidation mu of fragmented land consolidated               consolidation_push
soe           mu newly taken by the Huaiji SOE                 soe_push
officials     officials serving (times population copies)      talent.officials
instructors   instructors serving                              talent.instructors
managers      rural professional managers                      talent.managers
============= ================================================ ========================

Quantities are read from the levers acting in the year (:func:`zq_sim.levers.levers_for`), so
the practice of 2023 (and of a scenario without the three-assets reform) is priced too: its
clean-up, inventory and bidder reach are expressed in units of the 2024 drive through the
hazards they act by (e.g. clean-up intensity = detection hazard / the 2024 hazard). Counting
costs draws no random number and changes no state: it is accounting only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zq_sim.config import RunConfig
from zq_sim.data import PRICED_ITEMS
from zq_sim.levers import Levers


@dataclass(frozen=True)
class Works:
    """What the year's land works did (mu), measured on the village stocks."""

    consolidated_mu: float     # fragmented farmland consolidated this year
    soe_taken_mu: float        # farmland newly taken by the Huaiji SOE this year


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def campaign_intensities(levers: Levers, cfg: RunConfig) -> dict[str, float]:
    """Clean-up, inventory and bidder reach acting this year, in units of the 2024 drive.

    In a policy year of the reform these are the levers themselves; under 2023 practice they are
    the 2023 hazards over the 2024 ones (``detect_base / detect_reform`` for the clean-up; the
    inventory's yearly discovery chance converted to an intensity as the reform converts one).
    """
    p = cfg.model
    discovery = min(levers.discovery, 1.0 - 1e-12)
    base = min(p.discovery_rate, 1.0 - 1e-12)
    inventory = _ratio(-math.log1p(-discovery), -math.log1p(-base))
    return {"cleanup": _ratio(levers.detect_hazard, p.detect_reform),
            "inventory": inventory,
            "reach": _ratio(levers.bidders, p.bidders_reform)}


def quantities(levers: Levers, cfg: RunConfig, villages: int, works: Works) -> dict[str, float]:
    """How much of each priced item the levers bought this year (units of lever_costs.csv)."""
    scale = cfg.population.scale
    c = campaign_intensities(levers, cfg)
    covered = villages * levers.coverage
    return {"platform": covered,
            "publicity": covered * c["reach"],
            "cleanup": villages * c["cleanup"],
            "inventory": villages * c["inventory"],
            "consolidation": max(works.consolidated_mu, 0.0),
            "soe": max(works.soe_taken_mu, 0.0),
            "officials": float(levers.officials * scale),
            "instructors": float(levers.instructors * scale),
            "managers": float(levers.managers * scale)}


def unit_costs(table: dict[str, dict], which: str = "value") -> dict[str, float]:
    """Yuan per unit of each priced item: the central ``value``, or ``low`` or ``high``."""
    return {item: float(table[item][which]) for item in PRICED_ITEMS}


def bill(quantity: dict[str, float], unit: dict[str, float]) -> dict[str, float]:
    """Public cost of each priced item (yuan): quantity times unit cost."""
    return {item: quantity[item] * unit[item] for item in PRICED_ITEMS}

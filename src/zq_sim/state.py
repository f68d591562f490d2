"""The model's state as numpy arrays: one row per village, one row per lease contract.

Mechanisms read and write these arrays as wholes (no Python loop over villages); Mesa agents in
``agents.py`` are views on one row each.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

# Contract status codes
REGULAR, UNDERPRICED, UNPAID = 0, 1, 2

#: Parts of a village's operating income (yuan/yr), in the order they are reported.
INCOME_PARTS = ("lease", "arrears", "land", "dividends", "pv", "assistance", "own")


@dataclass
class VillageState:
    """Per-village state: arrays of length N (villages).

    Money in yuan, land in mu, PV in kW. Income arrays hold the current year's values.
    """

    county: np.ndarray          # int, index into the county table
    town: np.ndarray            # int, index into the town table
    west: np.ndarray            # bool, one of the four western counties
    hilly: np.ndarray           # bool
    capacity_base: np.ndarray   # governance capacity without assigned talent, [0, 1]
    capacity: np.ndarray        # governance capacity this year, [0, 1]
    fixed_assets: np.ndarray    # recorded (verified) fixed assets
    hidden_assets: np.ndarray   # fixed assets not yet on the books
    funds: np.ndarray           # village funds
    own_base: np.ndarray        # own-business income trend
    farmland: np.ndarray        # contracted farmland
    fragmented: np.ndarray      # farmland too fragmented to transfer
    consolidated: np.ndarray    # consolidated land not yet transferred
    transferred: np.ndarray     # land transferred through the collective (stock)
    soe_land: np.ndarray        # taken by the Huaiji SOE (kept apart from transferred)
    offfarm: np.ndarray         # households' off-farm income share
    aged: np.ndarray            # share of household heads over 60
    distance: np.ndarray        # km to market
    margin_factor: np.ndarray   # operators' margin on this village's land relative to the mean
    pv_kw: np.ndarray           # rooftop PV installed
    pv_age: np.ndarray          # years since installation
    pv_owned: np.ndarray        # bool: the village owns the plant (else leases the roof)
    assist_assets: np.ndarray   # value of assistance projects within their term
    talent: np.ndarray          # capacity gain from talent serving this year
    prev_operating: np.ndarray  # last year's recurring operating income (without arrears)
    weak: np.ndarray = None     # bool: on the list of weak villages (reviewed every few years)
    # the year's flows
    income: dict[str, np.ndarray] = field(default_factory=dict)  # INCOME_PARTS
    support: np.ndarray = None  # fiscal support received (transfer)
    new_transfer: np.ndarray = None  # land newly transferred this year

    def __post_init__(self) -> None:
        n = self.n
        for part in INCOME_PARTS:
            self.income.setdefault(part, np.zeros(n))
        if self.support is None:
            self.support = np.zeros(n)
        if self.new_transfer is None:
            self.new_transfer = np.zeros(n)
        if self.weak is None:
            self.weak = np.zeros(n, dtype=bool)

    @property
    def n(self) -> int:
        """Number of villages."""
        return len(self.county)

    def operating_income(self) -> np.ndarray:
        """Operating income: the sum of its parts (yuan/yr)."""
        return sum(self.income[p] for p in INCOME_PARTS)

    def recurring_operating_income(self) -> np.ndarray:
        """Operating income less the one-off recovery of arrears (yuan/yr)."""
        return self.operating_income() - self.income["arrears"]

    def total_income(self) -> np.ndarray:
        """Operating income plus transfers (fiscal support)."""
        return self.operating_income() + self.support

    def reset_flows(self) -> None:
        """Zero the year's flows before a new year."""
        for part in INCOME_PARTS:
            self.income[part][:] = 0.0
        self.support[:] = 0.0
        self.new_transfer[:] = 0.0

    def copy(self) -> VillageState:
        """A deep copy (arrays copied)."""
        kwargs = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, dict):
                kwargs[f.name] = {k: a.copy() for k, a in v.items()}
            else:
                kwargs[f.name] = v.copy()
        return VillageState(**kwargs)


@dataclass
class ContractTable:
    """Lease contracts of collective assets and resources: arrays of length M.

    ``hidden`` contracts are assets the collective owns but has not recorded, used by someone
    without paying it: they bring nothing until the inventory finds them and puts them under
    contract.
    """

    village: np.ndarray     # int, owner village
    fair: np.ndarray        # fair (market) rent at the 2023 rent level, yuan/yr
    reserve: np.ndarray     # appraised reserve rent fixed when let, yuan/yr
    rent: np.ndarray        # contracted rent, yuan/yr
    end: np.ndarray         # int, last year of the lease
    let: np.ndarray         # bool, currently let
    registered: np.ndarray  # bool, under management on the platform's system
    platform: np.ndarray    # bool, last let by tender on the platform
    status: np.ndarray      # int, REGULAR / UNDERPRICED / UNPAID
    arrears: np.ndarray     # rent owed, yuan
    hidden: np.ndarray      # bool, not yet recorded

    @property
    def m(self) -> int:
        """Number of contracts (including hidden assets)."""
        return len(self.village)

    def irregular(self) -> np.ndarray:
        """Mask of irregular contracts (under-priced or unpaid) that are let."""
        return self.let & (self.status != REGULAR)

    def copy(self) -> ContractTable:
        """A deep copy (arrays copied)."""
        return ContractTable(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

"""Mesa agents: the interface users and Mesa's tools see.

Each agent is a view on one row of the model's arrays (``state.py``, ``mechanisms/companies.py``):
reading an attribute reads the array, so the agents always agree with the vectorised yearly
update, which never loops over agents.
"""

from __future__ import annotations

import mesa
import numpy as np

from zq_sim.mechanisms.companies import KIND_NAMES
from zq_sim.mechanisms.land import operator_bid


class Village(mesa.Agent):
    """A village collective (村集体经济组织) of one administrative village."""

    def __init__(self, model, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def code(self) -> str:
        """NBS 12-digit code (with a copy suffix in scaled populations)."""
        return self.model.population.table["code"].iat[self.row]

    @property
    def name(self) -> str:
        """Village name."""
        return self.model.population.table["name"].iat[self.row]

    @property
    def county(self) -> str:
        """County-level unit."""
        return self.model.population.counties[self.model.villages.county[self.row]]

    @property
    def town(self) -> str:
        """Town (township-level unit)."""
        return self.model.population.towns[self.model.villages.town[self.row]]

    @property
    def operating_income(self) -> float:
        """Operating income of the current year (yuan)."""
        v = self.model.villages
        return float(sum(part[self.row] for part in v.income.values()))

    @property
    def total_income(self) -> float:
        """Operating income plus transfers (yuan)."""
        return self.operating_income + float(self.model.villages.support[self.row])

    @property
    def income_parts(self) -> dict[str, float]:
        """Operating income by source (yuan)."""
        return {k: float(a[self.row]) for k, a in self.model.villages.income.items()}

    @property
    def capacity(self) -> float:
        """Governance capacity, 0 to 1."""
        return float(self.model.villages.capacity[self.row])

    @property
    def fixed_assets(self) -> float:
        """Recorded fixed assets (yuan)."""
        return float(self.model.villages.fixed_assets[self.row])

    @property
    def funds(self) -> float:
        """Village funds (yuan)."""
        return float(self.model.villages.funds[self.row])

    @property
    def land_transferred(self) -> float:
        """Land transferred through the collective, stock (mu)."""
        return float(self.model.villages.transferred[self.row])

    def contracts(self) -> np.ndarray:
        """Indices of this village's contracts in the register."""
        return np.flatnonzero(self.model.contracts.village == self.row)


class StrongVillageCompany(mesa.Agent):
    """A strong-village company (强村公司): a view on one row of the company table."""

    def __init__(self, model, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def kind(self) -> str:
        """village, village_union or town_union."""
        return KIND_NAMES[self.model.companies.kind[self.row]]

    @property
    def alive(self) -> bool:
        """Still operating."""
        return bool(self.model.companies.alive[self.row])

    @property
    def capital(self) -> float:
        """Capital (yuan)."""
        return float(self.model.companies.capital[self.row])

    @property
    def members(self) -> list[int]:
        """Rows of the member villages."""
        return self.model.companies.members(self.row).tolist()

    @property
    def n_members(self) -> int:
        """Number of member villages."""
        return int((self.model.companies.m_company == self.row).sum())

    @property
    def business(self) -> float:
        """Market business this year (yuan)."""
        return float(self.model.companies.business[self.row])

    @property
    def dividends(self) -> float:
        """Dividends paid this year (yuan)."""
        return float(self.model.companies.dividends[self.row])


class LandOperator(mesa.Agent):
    """A kind of land operator: private growers and cooperatives, or Huaiji's state enterprise."""

    def __init__(self, model, kind: str, county: str | None = None) -> None:
        super().__init__(model)
        self.kind = kind
        self.county = county

    def bids(self) -> np.ndarray:
        """Rent per mu this operator kind would bid for each village's land (yuan/mu/yr)."""
        return operator_bid(self.model.villages, self.model.mp.land)

    @property
    def land(self) -> float:
        """Land held (mu): the SOE's blocks, or the private operators' transfers."""
        v = self.model.villages
        return float(v.soe_land.sum() if self.kind == "soe" else v.transferred.sum())

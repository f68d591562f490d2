"""Shared fixtures: a small, fast configuration, and hand-built village and contract states."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from zq_sim.config import ModelParams, RunConfig
from zq_sim.state import REGULAR, ContractTable, VillageState

matplotlib.use("Agg")

# Hypothesis keeps a cache (.hypothesis/) in the working directory unless told otherwise: keep it
# out of the working tree. Set before Hypothesis first looks up its storage folder.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      str(Path(tempfile.gettempdir()) / "zq_sim-hypothesis"))

#: The project's conf/ folder, found from this file (tests/ sits beside conf/).
CONF_DIR = (Path(__file__).resolve().parent.parent / "conf").resolve()

#: Defaults of a hand-built village: (value, dtype). Money in yuan, land in mu.
_VILLAGE_DEFAULTS = {
    "county": (0, int), "town": (0, int), "west": (False, bool), "hilly": (False, bool),
    "capacity_base": (0.5, float), "capacity": (0.5, float), "fixed_assets": (1.0e6, float),
    "hidden_assets": (0.0, float), "funds": (0.0, float), "own_base": (0.0, float),
    "farmland": (1000.0, float), "fragmented": (0.0, float), "consolidated": (0.0, float),
    "transferred": (0.0, float), "soe_land": (0.0, float), "offfarm": (0.5, float),
    "aged": (0.3, float), "distance": (10.0, float), "margin_factor": (1.0, float),
    "pv_kw": (0.0, float), "pv_age": (0.0, float), "pv_owned": (False, bool),
    "assist_assets": (0.0, float), "talent": (0.0, float),
    "prev_operating": (0.0, float),
}

_CONTRACT_DEFAULTS = {
    "village": (0, int), "fair": (1000.0, float), "reserve": (800.0, float),
    "rent": (800.0, float), "end": (2030, int), "let": (True, bool),
    "registered": (True, bool), "platform": (False, bool), "status": (REGULAR, int),
    "arrears": (0.0, float), "hidden": (False, bool),
}


def _build(defaults: dict, n: int, overrides: dict) -> dict:
    unknown = set(overrides) - set(defaults)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    cols = {}
    for name, (value, dtype) in defaults.items():
        given = overrides.get(name, value)
        cols[name] = np.broadcast_to(np.asarray(given, dtype=dtype), (n,)).copy()
    return cols


def build_villages(n: int, **overrides) -> VillageState:
    """A VillageState of n villages; any field may be given as a scalar or a list."""
    return VillageState(**_build(_VILLAGE_DEFAULTS, n, overrides))


def build_contracts(m: int, **overrides) -> ContractTable:
    """A ContractTable of m contracts; any field may be given as a scalar or a list."""
    return ContractTable(**_build(_CONTRACT_DEFAULTS, m, overrides))


def params(**changes) -> ModelParams:
    """The prior ModelParams with some values changed."""
    return dataclasses.replace(ModelParams(), **changes)


@pytest.fixture
def make_villages():
    """Factory: make_villages(n, field=value, ...) -> VillageState."""
    return build_villages


@pytest.fixture
def make_contracts():
    """Factory: make_contracts(m, field=value, ...) -> ContractTable."""
    return build_contracts


@pytest.fixture
def make_params():
    """Factory: make_params(field=value, ...) -> ModelParams (priors otherwise)."""
    return params


@pytest.fixture
def conf_dir() -> Path:
    """Absolute path of the project's conf/ folder."""
    return CONF_DIR


@pytest.fixture
def small_cfg() -> RunConfig:
    """Baseline with 2 replicates to 2026, no progress bar."""
    cfg = RunConfig()
    cfg.replicates = 2
    cfg.years.end = 2026
    cfg.output.progress = False
    return cfg

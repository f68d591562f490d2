"""Shared fixtures: a small, fast configuration."""

from __future__ import annotations

import matplotlib
import pytest

from zq_sim.config import RunConfig

matplotlib.use("Agg")


@pytest.fixture
def small_cfg() -> RunConfig:
    """Baseline with 2 replicates to 2026, no progress bar."""
    cfg = RunConfig()
    cfg.replicates = 2
    cfg.years.end = 2026
    cfg.output.progress = False
    return cfg

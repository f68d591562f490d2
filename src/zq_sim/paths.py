"""Where zq_sim's configuration and data live (one place for every path the package uses)."""

from __future__ import annotations

from pathlib import Path

#: The project folder (the checkout): conf/, data/, experiments/ beside src/.
ROOT = Path(__file__).resolve().parents[2]
#: Hydra's configuration tree.
CONF_DIR = ROOT / "conf"

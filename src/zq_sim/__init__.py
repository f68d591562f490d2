"""zq_sim: an agent-based model of village collective income in Zhaoqing, Guangdong.

The public API (see README, "From Python"): :func:`load_config` composes a validated,
calibrated configuration; :func:`simulate` runs it and returns its tables;
:class:`ZhaoqingModel` (``zq_sim.model``) is the Mesa model itself.
"""

from zq_sim import config  # noqa: F401  (registers the config schema with Hydra)
from zq_sim.api import Simulation, load_config, scenarios, simulate

__all__ = ["Simulation", "load_config", "scenarios", "simulate"]
__version__ = "0.1.0"

"""zq_sim: an agent-based model of village collective income in Zhaoqing, Guangdong."""

from zq_sim import config  # noqa: F401  (registers the config schema with Hydra)

__version__ = "0.1.0"

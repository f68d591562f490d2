"""The declared input space: uncertain parameters and policy levers, kept apart (as EMA workbench).

- **Uncertainties** are the rows of ``data/priors.csv``: every behavioural parameter
  (``model.<name>``) and the 2024 policy settings nobody reported (``policy.support.*``), each
  with a range and a distribution (uniform or loguniform).
- **Levers** are the rows of ``data/levers.csv``: the policy settings a government chooses, each
  with the range a search or a screening may take it over.

A point of either space is a mapping from dotted setting names to values. :func:`from_unit` maps
points of the unit cube (what SALib, Optuna or a Latin hypercube give) to values, uniform or log-
uniform as declared, integers rounded; :func:`apply` puts a point into a :class:`RunConfig`
without going through Hydra (fast enough to do per model evaluation) and checks its ranges.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zq_sim.config import ConfigError, RunConfig, validate

DISTRIBUTIONS = ("uniform", "loguniform")


@dataclass(frozen=True)
class Dimension:
    """One declared input: a setting, its range and how it is spread over it."""

    name: str            # dotted setting name, e.g. "model.rent_growth"
    low: float
    high: float
    distribution: str    # "uniform" or "loguniform"
    default: float       # the prior's value (uncertainties) or the 2024 value (levers)
    unit: str
    source: str
    integer: bool        # the setting is an int: values are rounded
    kind: str            # "uncertainty" or "lever"

    @property
    def label(self) -> str:
        """The setting's name without its group (for tables and figures)."""
        return self.name.split(".", 1)[1] if self.name.startswith("model.") else self.name


def _field_type(dotted: str) -> type:
    """The Python type of a setting of RunConfig, by dotted name (KeyError when unknown)."""
    node: Any = _defaults()
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(node) or not hasattr(node, part):
            raise KeyError(dotted)
        node = getattr(node, part)
    if dataclasses.is_dataclass(node):
        raise KeyError(dotted)
    return type(node)


@functools.lru_cache(maxsize=1)
def _defaults() -> RunConfig:
    return RunConfig()


def _read(path: Path, kind: str, name_prefix: str) -> tuple[Dimension, ...]:
    table = pd.read_csv(path, encoding="utf-8")
    dims = []
    for row_no, row in enumerate(table.to_dict("records"), start=2):
        name = str(row["name"]).strip()
        dotted = name if "." in name else f"{name_prefix}{name}"
        where = f"{path.name} row {row_no} ({name})"
        try:
            typ = _field_type(dotted)
        except KeyError:
            raise ConfigError(f"{where}: no setting {dotted} in RunConfig") from None
        dist = str(row["distribution"]).strip()
        if dist not in DISTRIBUTIONS:
            allowed = ", ".join(DISTRIBUTIONS)
            raise ConfigError(f"{where}: distribution {dist!r}; allowed: {allowed}")
        low, high = float(row["low"]), float(row["high"])
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(f"{where}: low {low} must be below high {high}, both finite")
        if dist == "loguniform" and low <= 0:
            raise ConfigError(f"{where}: a loguniform range needs low > 0, got {low}")
        default = float(row["value"] if "value" in row else row["baseline"])
        dims.append(Dimension(dotted, low, high, dist, default, str(row["unit"]),
                              str(row["source"]), typ is int, kind))
    return tuple(dims)


def _data_dir(data_dir: Path | str | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    from zq_sim import data
    return Path(data.DATA_DIR)


@functools.lru_cache(maxsize=8)
def _cached(path: str, kind: str, prefix: str, mtime: int) -> tuple[Dimension, ...]:
    return _read(Path(path), kind, prefix)


def uncertainties(data_dir: Path | str | None = None) -> tuple[Dimension, ...]:
    """Every row of data/priors.csv as a dimension (``model.<name>`` or its ``policy.*`` name)."""
    path = _data_dir(data_dir) / "priors.csv"
    return _cached(str(path), "uncertainty", "model.", path.stat().st_mtime_ns)


def levers(data_dir: Path | str | None = None) -> tuple[Dimension, ...]:
    """Every row of data/levers.csv as a dimension."""
    path = _data_dir(data_dir) / "levers.csv"
    return _cached(str(path), "lever", "policy.", path.stat().st_mtime_ns)


def select(dims: Iterable[Dimension], names: Sequence[str] | None) -> tuple[Dimension, ...]:
    """The dimensions named (dotted, or a model parameter's bare name), in the order given.

    ``None`` selects all. An unknown name raises a one-line ConfigError listing close names.
    """
    dims = tuple(dims)
    if names is None:
        return dims
    by_name = {d.name: d for d in dims} | {d.label: d for d in dims}
    out = []
    for name in names:
        if name not in by_name:
            import difflib
            close = difflib.get_close_matches(name, list(by_name), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown parameter {name!r}: not declared in priors.csv or "
                              f"levers.csv{hint}")
        out.append(by_name[name])
    return tuple(out)


def from_unit(dims: Sequence[Dimension], unit: np.ndarray) -> np.ndarray:
    """Map points of the unit cube (rows) to values, as each dimension is spread; ints rounded."""
    u = np.atleast_2d(np.asarray(unit, dtype=float))
    if u.shape[1] != len(dims):
        raise ValueError(f"{u.shape[1]} columns for {len(dims)} dimensions")
    out = np.empty_like(u)
    for j, d in enumerate(dims):
        x = np.clip(u[:, j], 0.0, 1.0)
        if d.distribution == "loguniform":
            out[:, j] = np.exp(np.log(d.low) + x * (np.log(d.high) - np.log(d.low)))
        else:
            out[:, j] = d.low + x * (d.high - d.low)
        if d.integer:
            out[:, j] = np.rint(out[:, j])
    return out


def to_unit(dims: Sequence[Dimension], values: np.ndarray) -> np.ndarray:
    """The inverse of :func:`from_unit` (up to the rounding of integers)."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    out = np.empty_like(v)
    for j, d in enumerate(dims):
        if d.distribution == "loguniform":
            out[:, j] = (np.log(v[:, j]) - np.log(d.low)) / (np.log(d.high) - np.log(d.low))
        else:
            out[:, j] = (v[:, j] - d.low) / (d.high - d.low)
    return out


def sample(dims: Sequence[Dimension], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent draws from the declared distributions (rows), from ``rng`` only."""
    return from_unit(dims, rng.random((n, len(dims))))


def salib_problem(dims: Sequence[Dimension]) -> dict:
    """SALib's problem dict over the unit cube (map samples with :func:`from_unit`)."""
    return {"num_vars": len(dims), "names": [d.name for d in dims],
            "bounds": [[0.0, 1.0]] * len(dims)}


def apply(cfg: RunConfig, point: Mapping[str, Any], *, check: bool = True) -> RunConfig:
    """A copy of ``cfg`` with each dotted setting of ``point`` set (ints rounded), range-checked.

    Raises:
        ConfigError: an unknown setting, or a value outside the setting's allowed range.

    """
    out = copy.deepcopy(cfg)
    for dotted, value in point.items():
        *parents, leaf = dotted.split(".")
        node: Any = out
        for part in parents:
            if not dataclasses.is_dataclass(node) or not hasattr(node, part):
                raise ConfigError(f"unknown setting {dotted}")
            node = getattr(node, part)
        if not dataclasses.is_dataclass(node) or not hasattr(node, leaf):
            raise ConfigError(f"unknown setting {dotted}")
        current = getattr(node, leaf)
        if isinstance(current, bool):
            value = bool(value)
        elif isinstance(current, int):
            value = int(round(float(value)))
        elif isinstance(current, float):
            value = float(value)
        setattr(node, leaf, value)
    return validate(out) if check else out


def point(dims: Sequence[Dimension], row: Sequence[float]) -> dict[str, float]:
    """A row of values as a {dotted name: value} mapping (ints as int)."""
    return {d.name: (int(v) if d.integer else float(v)) for d, v in zip(dims, row, strict=True)}


def value(cfg: RunConfig, dotted: str) -> Any:
    """The value a config holds for a dotted setting (AttributeError when there is none)."""
    node: Any = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def current(cfg: RunConfig, dims: Sequence[Dimension]) -> dict[str, float]:
    """The values a config holds for the given dimensions."""
    return {d.name: value(cfg, d.name) for d in dims}

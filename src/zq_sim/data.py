"""Load and check the files in data/: the village list, the counties, the targets, lever costs.

Every loader checks what it reads and raises :class:`DataError` with the file, row and column of
the first problem, so that a broken or edited file is found before a run starts.

Sources: data/README.md (village list: NBS 2023 division codes; counties: NBS codes and the
Zhaoqing statistics bureau; targets: the seed article of 2025-01-02).
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from zq_sim.paths import PACKAGE_DATA_DIR

#: The data folder: $ZQ_DATA_DIR if set, else data/ of the checkout (or of the installed package).
DATA_DIR = Path(os.environ.get("ZQ_DATA_DIR", PACKAGE_DATA_DIR))

VILLAGE_KINDS = ("village_committee", "residents_committee")
REGIONS = ("east", "west")
#: Counties the model names (model.py): what it needs each for.
REQUIRED_COUNTIES = {"怀集县": "the Huaiji SOE model (policy.land.soe_push)",
                     "高要区": "the PV small cut's pilot (policy.pv.adopt_rate_gaoyao)"}


#: The files a run reads (their hash is recorded in summary.json and compared on resume).
RUN_FILES = ("counties.csv", "lever_costs.csv", "targets.yaml", "zhaoqing_towns_2023.csv",
             "zhaoqing_village_units_2023.csv")

#: Items of public spending priced in lever_costs.csv by what the levers did (zq_sim.costs bills
#: them: villages covered, intensity, mu, people) ...
PRICED_ITEMS = ("platform", "publicity", "cleanup", "inventory", "consolidation", "soe",
                "officials", "instructors", "managers")
#: ... and the items the mechanisms pay in money, counted at face value (a unit cost of 1).
FACE_VALUE_ITEMS = ("companies", "town_works", "pv", "assistance", "support")
CONFIDENCE = ("H", "M", "D", "A")


class DataError(ValueError):
    """A data file that is missing, malformed or inconsistent."""


def fingerprint(data_dir: Path | None = None) -> dict:
    """The data a run uses: its folder and a SHA-256 over the files a run reads.

    Recorded in summary.json (``data``) and compared when a run is resumed, so that outputs made
    with another data set are never taken for this one's.
    """
    data_dir = Path(data_dir if data_dir is not None else DATA_DIR)
    stamps = []
    for name in RUN_FILES:
        try:
            st = (data_dir / name).stat()
            stamps.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append((name, -1, -1))
    return {"dir": str(data_dir.resolve()), **_hash_files(str(data_dir), tuple(stamps))}


@lru_cache(maxsize=8)
def _hash_files(data_dir: str, stamps: tuple) -> dict:
    total = hashlib.sha256()
    for name, _, size in stamps:
        total.update(name.encode() + b"\0")
        if size >= 0:
            total.update(hashlib.sha256((Path(data_dir) / name).read_bytes()).digest())
    return {"sha256": total.hexdigest(), "files": [s[0] for s in stamps if s[2] >= 0]}


@lru_cache(maxsize=16)
def _read_csv_cached(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """A CSV file as strings, cached while the file is unchanged (sweeps read it per job)."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises several kinds for a broken file
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from exc


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    stat = path.stat()
    df = _read_csv_cached(str(path), stat.st_mtime_ns, stat.st_size).copy()
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    return df


def _numeric(df: pd.DataFrame, path: Path, column: str, lo: float = 0.0,
             hi: float | None = None, integer: bool = False) -> pd.Series:
    """Column as floats; every value must parse, be finite and lie in [lo, hi]."""
    values = pd.to_numeric(df[column], errors="coerce")
    for i, (raw, v) in enumerate(zip(df[column], values, strict=True)):
        if pd.isna(v) or str(raw).strip().lower() in ("nan", "+nan", "-nan"):
            raise DataError(f"{path}: row {i + 2}, column {column}: {raw!r} is not a number")
        if not math.isfinite(v):
            raise DataError(f"{path}: row {i + 2}, column {column}: {raw!r} is not a finite "
                            f"number")
        if integer and v != int(v):
            raise DataError(f"{path}: row {i + 2}, column {column}: {raw} is not a whole number")
        if v < lo or (hi is not None and v > hi):
            allowed = f">= {lo:g}" if hi is None else f"in [{lo:g}, {hi:g}]"
            raise DataError(f"{path}: row {i + 2}, column {column}: {raw} must be {allowed}")
    return values.astype(float)


def load_counties(data_dir: Path = DATA_DIR) -> pd.DataFrame:
    """The 8 county-level units: region (east/west) and rural residents (10k people)."""
    path = Path(data_dir) / "counties.csv"
    df = _read_csv(path, ["county", "code", "region", "rural_residents_10k", "source"])
    for i, region in enumerate(df["region"]):
        if region not in REGIONS:
            raise DataError(f"{path}: row {i + 2}, column region: {region!r} is not one of "
                            f"{', '.join(REGIONS)}")
    # a county of more than 10 million rural residents is a typo (Zhaoqing: 4.1 million people)
    df["rural_residents_10k"] = _numeric(df, path, "rural_residents_10k", 0.0, 1000.0)
    if {"total_residents_10k", "urbanisation"} <= set(df.columns):
        total = _numeric(df, path, "total_residents_10k", 0.0, 1000.0)
        urban = _numeric(df, path, "urbanisation", 0.0, 1.0)
        implied = total * (1.0 - urban)
        for i, (rural, want) in enumerate(zip(df["rural_residents_10k"], implied, strict=True)):
            if abs(rural - want) > max(0.02 * want, 0.05):
                raise DataError(
                    f"{path}: row {i + 2}, column rural_residents_10k: {rural:g} does not add up "
                    f"with total_residents_10k x (1 - urbanisation) = {want:.4g}")
    if df["county"].duplicated().any():
        dup = df.loc[df["county"].duplicated(), "county"].iloc[0]
        raise DataError(f"{path}: column county: {dup} appears twice")
    for county, why in REQUIRED_COUNTIES.items():
        if county not in set(df["county"]):
            raise DataError(f"{path}: column county: {county} is missing; the model needs it "
                            f"for {why}")
    return df


def load_villages(data_dir: Path = DATA_DIR, include_residents: bool = False) -> pd.DataFrame:
    """Every village-level unit (NBS 2023), optionally with residents' committees.

    The checked list is kept while its three files are unchanged: every job of a sweep checks
    the data before it runs, and a worker runs many jobs. Each call gets its own copy.
    """
    names = ("zhaoqing_village_units_2023.csv", "counties.csv", "zhaoqing_towns_2023.csv")
    try:
        stamp = tuple((name, st.st_mtime_ns, st.st_size)
                      for name in names for st in [(Path(data_dir) / name).stat()])
    except OSError:  # a missing file: the checks say which
        return _load_villages(Path(data_dir), include_residents)
    return _load_villages_cached(str(data_dir), include_residents, stamp).copy()


@lru_cache(maxsize=8)
def _load_villages_cached(data_dir: str, include_residents: bool, stamp: tuple) -> pd.DataFrame:
    return _load_villages(Path(data_dir), include_residents)


def _load_villages(data_dir: Path, include_residents: bool) -> pd.DataFrame:
    path = Path(data_dir) / "zhaoqing_village_units_2023.csv"
    df = _read_csv(path, ["code", "name", "kind", "town_code", "town_name", "county"])
    bad = ~df["kind"].isin(VILLAGE_KINDS)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(f"{path}: row {i + 2}, column kind: {df['kind'].iloc[i]!r} is not one of "
                        f"{', '.join(VILLAGE_KINDS)}")
    counties = set(load_counties(data_dir)["county"])
    unknown = ~df["county"].isin(counties)
    if unknown.any():
        i = int(unknown.to_numpy().nonzero()[0][0])
        raise DataError(f"{path}: row {i + 2}, column county: {df['county'].iloc[i]!r} is not in "
                        f"counties.csv")
    if df["code"].duplicated().any():
        raise DataError(f"{path}: column code: {df.loc[df['code'].duplicated(), 'code'].iloc[0]}"
                        f" appears twice")
    check_town_counts(df, Path(data_dir) / "zhaoqing_towns_2023.csv", path)
    if not include_residents:
        df = df[df["kind"] == "village_committee"]
    if df.empty:
        raise DataError(f"{path}: no villages to simulate")
    for county, why in REQUIRED_COUNTIES.items():
        if county not in set(df["county"]):
            raise DataError(f"{path}: column county: no village of {county}; the model needs "
                            f"them for {why}")
    return df.reset_index(drop=True)


def check_town_counts(villages: pd.DataFrame, towns_path: Path, villages_path: Path) -> None:
    """The per-town counts of zhaoqing_towns_2023.csv must add up with the village list."""
    towns = _read_csv(towns_path, ["town_code", "village_committees", "residents_committees"])
    counted = villages.groupby(["town_code", "kind"]).size().unstack(fill_value=0)
    for col, kind in (("village_committees", "village_committee"),
                      ("residents_committees", "residents_committee")):
        listed = _numeric(towns, towns_path, col, 0.0, 10_000.0, integer=True)
        for i, (code, n) in enumerate(zip(towns["town_code"], listed, strict=True)):
            have = int(counted[kind].get(code, 0)) if kind in counted else 0
            if have != int(n):
                raise DataError(
                    f"{towns_path}: row {i + 2}, column {col}: {int(n)} does not add up with the "
                    f"{have} units of town {code} in {villages_path.name}")
    missing = set(villages["town_code"]) - set(towns["town_code"])
    if missing:
        raise DataError(f"{villages_path}: column town_code: {sorted(missing)[0]} is not in "
                        f"{towns_path.name}")


@lru_cache(maxsize=4)
def _read_yaml_cached(path: str, mtime_ns: int, size: int):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file (byte {exc.start})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise DataError(f"{path}: not valid YAML ({first})") from exc


def load_targets(data_dir: Path = DATA_DIR) -> dict:
    """The calibration targets: {name: {value, unit, kind, text, ...}} plus the years."""
    path = Path(data_dir) / "targets.yaml"
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    stat = path.stat()
    doc = copy.deepcopy(_read_yaml_cached(str(path), stat.st_mtime_ns, stat.st_size))
    if not isinstance(doc, dict) or not isinstance(doc.get("targets"), dict):
        raise DataError(f"{path}: needs a 'targets' mapping")
    for name, t in doc["targets"].items():
        if not isinstance(t, dict) or not isinstance(t.get("value"), int | float) or \
                isinstance(t.get("value"), bool):
            raise DataError(f"{path}: target {name}: 'value' must be a number")
        if not math.isfinite(t["value"]):
            raise DataError(f"{path}: target {name}: 'value' must be a finite number, not "
                            f"{t['value']}")
        if t.get("kind") not in ("level", "growth", "floor", "count"):
            raise DataError(f"{path}: target {name}: kind must be level, growth, floor or count")
    return doc


def load_lever_costs(data_dir: Path = DATA_DIR) -> dict[str, dict]:
    """Unit public costs of the levers (lever_costs.csv): {item: row}, value/low/high as floats.

    Every item the model bills must be there once; money items are at face value (1 yuan per
    yuan, low and high too); every value lies in [low, high], finite and non-negative.
    """
    path = Path(data_dir) / "lever_costs.csv"
    try:
        st = path.stat()
    except OSError:
        raise DataError(f"{path}: file not found") from None
    return copy.deepcopy(_load_lever_costs(str(path), st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=1)
def _settings() -> frozenset[str]:
    from zq_sim.config import describe_fields

    return frozenset(row["name"] for row in describe_fields())


@lru_cache(maxsize=4)
def _load_lever_costs(path_text: str, mtime_ns: int, size: int) -> dict[str, dict]:
    path = Path(path_text)
    df = _read_csv(path, ["item", "lever", "basis", "value", "low", "high", "unit", "source",
                          "confidence"])
    for column in ("value", "low", "high"):
        df[column] = _numeric(df, path, column)
    rows: dict[str, dict] = {}
    known = PRICED_ITEMS + FACE_VALUE_ITEMS
    for i, row in enumerate(df.to_dict("records"), start=2):
        item = row["item"].strip()
        where = f"{path}: row {i}"
        if item not in known:
            raise DataError(f"{where}, column item: {item!r} is not one of {', '.join(known)}")
        if item in rows:
            raise DataError(f"{where}, column item: {item} appears twice")
        if row["lever"].strip() not in _settings():
            raise DataError(f"{where}, column lever: {row['lever']!r} is not a setting of "
                            f"src/zq_sim/config.py")
        if not row["low"] <= row["value"] <= row["high"]:
            raise DataError(f"{where}, column value: {row['value']:g} is not in [low, high] = "
                            f"[{row['low']:g}, {row['high']:g}]")
        if item in FACE_VALUE_ITEMS and not row["low"] == row["value"] == row["high"] == 1.0:
            raise DataError(f"{where}, column value: {item} is money paid at face value: value, "
                            f"low and high must be 1")
        if row["confidence"].strip() not in CONFIDENCE:
            raise DataError(f"{where}, column confidence: {row['confidence']!r} is not one of "
                            f"{', '.join(CONFIDENCE)}")
        rows[item] = row
    missing = [item for item in known if item not in rows]
    if missing:
        raise DataError(f"{path}: column item: {missing[0]} is missing; the model bills it")
    return rows

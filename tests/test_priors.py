"""data/priors.csv stays in step with ModelParams: one row per field, the default as value.

The file records, for every behavioural parameter, its prior value (the dataclass default), a
prior range for calibration, its unit, a distribution, its source and a confidence mark (H, M, D,
A; see data/README.md). A field added to or removed from ``ModelParams`` without a row here, or a
default changed in the code but not in the file, fails these tests. Policy settings whose 2024
value is uncertain (no target pins it) have rows too, under their dotted names (``policy.*``).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import pytest
import yaml

from zq_sim.config import ModelParams, RunConfig, describe_fields

ROOT = Path(__file__).resolve().parents[1]
PRIORS = ROOT / "data" / "priors.csv"
COLUMNS = ["name", "value", "low", "high", "unit", "distribution", "source", "confidence"]
FIELDS = {f.name: f for f in dataclasses.fields(ModelParams)}
DEFAULTS = ModelParams()


def _rows() -> list[dict[str, str]]:
    with PRIORS.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        return list(reader)


ALL_ROWS = _rows()
ROWS = [r for r in ALL_ROWS if "." not in r["name"]]
POLICY_ROWS = [r for r in ALL_ROWS if "." in r["name"]]
BY_NAME = {r["name"]: r for r in ALL_ROWS}
SETTINGS = {d["name"]: d for d in describe_fields(RunConfig())}


def test_every_field_has_exactly_one_row():
    names = [r["name"] for r in ROWS]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"rows repeated in priors.csv: {duplicates}"
    missing = sorted(set(FIELDS) - set(names))
    assert not missing, f"ModelParams fields without a row in priors.csv: {missing}"
    extra = sorted(set(names) - set(FIELDS))
    assert not extra, f"rows in priors.csv that are not ModelParams fields: {extra}"


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_value_is_the_dataclass_default(name):
    default = getattr(DEFAULTS, name)
    value = float(BY_NAME[name]["value"])
    assert math.isclose(value, float(default), rel_tol=1e-9, abs_tol=1e-12), (
        f"{name}: priors.csv says {value}, ModelParams default is {default}")


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_range_holds_the_value_and_lies_in_the_allowed_range(name):
    row = BY_NAME[name]
    low, value, high = float(row["low"]), float(row["value"]), float(row["high"])
    assert low <= value <= high, f"{name}: not low <= value <= high ({low}, {value}, {high})"
    lo, hi = FIELDS[name].metadata.get("lo"), FIELDS[name].metadata.get("hi")
    assert lo is None or low >= lo, f"{name}: low {low} below the allowed minimum {lo}"
    assert hi is None or high <= hi, f"{name}: high {high} above the allowed maximum {hi}"


@pytest.mark.parametrize("row", POLICY_ROWS, ids=[r["name"] for r in POLICY_ROWS])
def test_policy_rows_are_policy_settings_at_their_default(row):
    name = row["name"]
    assert name.startswith("policy."), f"{name}: only policy settings may have dotted rows"
    assert name in SETTINGS, f"{name} is not a setting of RunConfig"
    setting = SETTINGS[name]
    assert math.isclose(float(row["value"]), float(setting["default"])), (
        f"{name}: priors.csv says {row['value']}, the default is {setting['default']}")
    low, high = float(row["low"]), float(row["high"])
    assert low <= float(row["value"]) <= high
    assert setting["lo"] is None or low >= setting["lo"]
    assert setting["hi"] is None or high <= setting["hi"]


@pytest.mark.parametrize("row", ALL_ROWS, ids=[r["name"] for r in ALL_ROWS])
def test_row_is_complete(row):
    assert row["confidence"] in {"H", "M", "D", "A"}, f"{row['name']}: bad confidence"
    assert row["source"].strip(), f"{row['name']}: empty source"
    assert row["unit"].strip(), f"{row['name']}: empty unit"
    assert row["distribution"] in {"uniform", "loguniform"}, f"{row['name']}: bad distribution"
    if row["distribution"] == "loguniform":
        assert float(row["low"]) > 0, f"{row['name']}: a loguniform prior needs low > 0"


def test_calibration_ranges_match_the_priors():
    """conf/calibrate.yaml says its ranges are those of priors.csv: keep them equal."""
    path = ROOT / "conf" / "calibrate.yaml"
    if not path.is_file():
        pytest.skip("no conf/calibrate.yaml")
    params = (yaml.safe_load(path.read_text(encoding="utf-8")).get("calibration") or {}).get(
        "parameters") or {}
    for dotted, spec in params.items():
        if dotted.startswith("model."):
            name = dotted.removeprefix("model.")
        elif dotted in BY_NAME:
            name = dotted  # an uncertain policy setting with its own row
        else:
            continue  # other policy levers are not in priors.csv
        assert name in BY_NAME, f"{dotted} is calibrated but has no row in priors.csv"
        row = BY_NAME[name]
        assert math.isclose(float(spec["low"]), float(row["low"])) and math.isclose(
            float(spec["high"]), float(row["high"])), (
            f"{dotted}: calibrate.yaml range [{spec['low']}, {spec['high']}] differs from "
            f"priors.csv [{row['low']}, {row['high']}]")

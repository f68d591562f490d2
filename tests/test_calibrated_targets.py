"""The committed calibration still holds for the code: its files agree, and it meets the targets.

A change to the model's behaviour without rerunning ``python -m zq_sim.calibrate`` fails here,
which is the point: conf/model/calibrated.yaml is only valid for the code it was fitted on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from zq_sim import data
from zq_sim.run import TARGET_METRICS, replicate_seeds, run_replicate, target_values

ROOT = Path(__file__).resolve().parents[1]
CALIBRATED = ROOT / "conf" / "model" / "calibrated.yaml"
REPORT = ROOT / "experiments" / "calibration" / "calibration.json"
TOLERANCE = 0.05
#: How many standard errors of the replicate mean a noisy target may be off by instead.
NOISE_SES = 2.5


def _flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_calibrated_config_is_the_reported_fit():
    config = _flatten(yaml.safe_load(CALIBRATED.read_text(encoding="utf-8")))
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    fitted = dict(report["fitted"])
    support = report.get("support") or {}
    if support:  # chosen after the fit: the weakest support that holds the floor
        fitted["policy.support.threshold"] = support["threshold"]
        fitted["policy.support.gap_share"] = support["gap_share"]
    assert config.pop("calibrated") is True
    assert set(config) == set(fitted)
    for name, value in fitted.items():
        assert config[name] == pytest.approx(value, rel=1e-5), name


@pytest.fixture(scope="module")
def held_out():
    """Target values of the default run (calibrated) on its 20 held-out replicates, 2024."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        composed = compose(config_name="config",
                           overrides=["years.end=2024", "output.villages=false"])
    cfg = OmegaConf.to_object(composed)
    assert cfg.calibrated
    rows = [target_values(run_replicate(cfg, s)[0], cfg.years.calibration)
            for s in replicate_seeds(cfg.seed, 20)]
    return {name: np.array([r[name] for r in rows]) for name in TARGET_METRICS}


@pytest.mark.parametrize("name", list(TARGET_METRICS))
def test_default_run_meets_the_target(held_out, name):
    target = data.load_targets()["targets"][name]
    values = held_out[name]
    if target["kind"] == "floor":
        return  # test_support_holds_the_floor_with_the_stated_probability
    error = (values.mean() - target["value"]) / abs(target["value"])
    se = values.std(ddof=1) / math.sqrt(len(values)) / abs(target["value"])
    # within 5%, or (for targets whose replicate mean is too noisy to check to 5%, see
    # experiments/calibration/report.md) within the noise of 20 replicates
    assert abs(error) <= max(TOLERANCE, NOISE_SES * se), (
        f"{name}: {error:+.1%} off (s.e. of the mean {se:.1%}); rerun the calibration?")


def test_support_holds_the_floor_with_the_stated_probability():
    """The support rule was fitted to hold the floor on 95% of seeds (conf/calibrate.yaml).

    20 replicates cannot tell 95% from 80%, so the floor is checked on 200 held-out seeds run to
    2024 only: at least 95% less two standard errors (91.9%).
    """
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        composed = compose(config_name="config", overrides=[
            "years.end=2024", "output.villages=false", "output.counterfactual=false"])
    cfg = OmegaConf.to_object(composed)
    floor = data.load_targets()["targets"]["min_total_income"]["value"]
    held = np.mean([run_replicate(cfg, s)[0].set_index("year").loc[2024, "min_total_income"]
                    >= floor for s in replicate_seeds(cfg.seed, 200)])
    assert held >= 0.95 - 2 * math.sqrt(0.95 * 0.05 / 200), f"floor held on {held:.1%}"

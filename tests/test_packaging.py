"""The package as installed: what pyproject.toml ships, where paths.py finds conf/ and data/."""

from __future__ import annotations

import importlib.resources
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from zq_sim import figures, outputs, overrides, paths

ROOT = Path(__file__).resolve().parents[1]


def test_conf_and_data_ship_in_the_package_through_links_to_the_top_folders():
    """src/zq_sim/conf and data_files link to conf/ and data/, where users edit them."""
    for link, folder in (("conf", "conf"), ("data_files", "data")):
        path = ROOT / "src" / "zq_sim" / link
        assert path.is_symlink() and path.resolve() == ROOT / folder
        assert (ROOT / folder / "__init__.py").is_file()  # a package: it ships and imports
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = pyproject["tool"]["setuptools"]["package-data"]
    assert "*.yaml" in data["*"] and "*.csv" in data["zq_sim.data_files"]
    shipped = {p.suffix for p in (ROOT / "data").iterdir() if p.is_file()}
    assert shipped <= {".py", ".yaml", ".csv", ".md"}, "a new kind of data file: ship it too"


def test_conf_and_data_are_found_as_packages():
    assert paths.CHECKOUT == ROOT
    conf = importlib.resources.files("zq_sim.conf")
    assert (conf / "config.yaml").is_file() and (conf / "scenario" / "baseline.yaml").is_file()
    assert paths.CONF_DIR == ROOT / "conf" and paths.PACKAGE_DATA_DIR == ROOT / "data"
    assert (importlib.resources.files("zq_sim.data_files") / "targets.yaml").is_file()


def test_hydra_composes_the_package_by_module_name():
    from hydra import compose, initialize_config_module

    with initialize_config_module("zq_sim.conf", version_base="1.3"):
        cfg = compose("config", overrides=["+scenario=land_transfer", "model=priors"])
    assert cfg.scenario == "land_transfer" and cfg.policy.land.consolidation_push == 2.0


@pytest.fixture
def installed(monkeypatch):
    """zq_sim as a wheel sees itself: no checkout."""
    monkeypatch.setattr(paths, "CHECKOUT", None)
    monkeypatch.setattr(overrides, "CHECKOUT", None)


def test_what_needs_a_checkout_says_so_in_one_line(installed, capsys):
    with pytest.raises(paths.CheckoutNeeded, match="the calibration needs a checkout"):
        paths.checkout("the calibration")
    assert figures.main([]) == 2
    assert outputs.main(["--write"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("needs a checkout of the project" in line for line in err)


def test_an_unknown_scenario_says_where_new_ones_go_when_installed(installed):
    problems = overrides.check(["+scenario=my_own"])
    assert len(problems) == 1 and "conf/scenario/ of a checkout" in problems[0]


def test_an_unknown_scenario_in_a_checkout_is_as_before():
    problems = overrides.check(["+scenario=my_own"])
    assert problems == [f"unknown scenario 'my_own'; choose one of: "
                        f"{', '.join(overrides.choices('scenario'))}"]


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_checkout():
    """scripts/check_wheel.sh: build, install into a fresh venv, run from another folder."""
    r = subprocess.run(["bash", str(ROOT / "scripts" / "check_wheel.sh")], capture_output=True,
                       text=True, env={**os.environ, "ZQ_CHECK_PYTHON": sys.executable})
    assert r.returncode == 0, r.stderr[-4000:]
    assert "ok: the wheel installs and runs outside the checkout" in r.stderr

"""The declared input space (space.py): priors.csv and levers.csv read, mapped and applied."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from zq_sim import space
from zq_sim.config import ConfigError, RunConfig


def test_every_prior_and_lever_is_a_setting_with_its_default():
    cfg = RunConfig()
    unc, lev = space.uncertainties(), space.levers()
    assert len(unc) > 100 and len(lev) >= 15
    assert not {d.name for d in unc if d.name.startswith("model.")} & {d.name for d in lev}
    for d in lev:
        assert space.current(cfg, [d])[d.name] == pytest.approx(d.default), d.name
        assert d.low <= d.default <= d.high, d.name
    for d in unc:
        assert d.low <= d.default <= d.high, d.name


def test_unit_cube_maps_to_declared_ranges_and_back():
    dims = space.select(space.uncertainties(), ["rent_growth", "lease_pool_median_east",
                                                "term_max"])
    assert [d.distribution for d in dims] == ["uniform", "loguniform", "uniform"]
    u = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0]])
    v = space.from_unit(dims, u)
    assert v[0].tolist() == [dims[0].low, pytest.approx(dims[1].low), dims[2].low]
    assert v[1, 1] == pytest.approx(np.sqrt(dims[1].low * dims[1].high))  # geometric middle
    assert v[1, 2] == round(v[1, 2])                                      # an integer setting
    assert space.to_unit(dims[:2], v[:, :2]) == pytest.approx(u[:, :2])


def test_sampling_uses_only_the_generator_given():
    dims = space.levers()
    a = space.sample(dims, 5, np.random.default_rng(3))
    b = space.sample(dims, 5, np.random.default_rng(3))
    assert np.array_equal(a, b) and a.shape == (5, len(dims))


def test_apply_sets_rounds_and_checks():
    cfg = RunConfig()
    out = space.apply(cfg, {"model.rent_growth": 0.01, "policy.talent.officials": 250.6})
    assert out.model.rent_growth == 0.01 and out.policy.talent.officials == 251
    assert cfg.model.rent_growth == dataclasses.replace(cfg.model).rent_growth  # copy, not edit
    with pytest.raises(ConfigError, match="policy.pv.subsidy"):
        space.apply(cfg, {"policy.pv.subsidy": 1.5})
    with pytest.raises(ConfigError, match="unknown setting model.nope"):
        space.apply(cfg, {"model.nope": 1.0})


def test_select_names_unknown_parameters_with_close_ones():
    with pytest.raises(ConfigError, match="did you mean.*rent_growth"):
        space.select(space.uncertainties(), ["rent_growht"])


def test_bad_declarations_are_refused_in_one_line(tmp_path):
    (tmp_path / "levers.csv").write_text(
        "name,baseline,low,high,unit,distribution,source\n"
        "policy.pv.subsidy,0.3,0,1,share,normal,x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"levers.csv row 2 .*distribution 'normal'; allowed"):
        space.levers(tmp_path)
    (tmp_path / "levers.csv").write_text(
        "name,baseline,low,high,unit,distribution,source\n"
        "policy.pv.nothing,0.3,0,1,share,uniform,x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no setting policy.pv.nothing"):
        space.levers(tmp_path)

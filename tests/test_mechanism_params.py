"""Each mechanism reads its own small parameter object (mechanisms/params.py)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from zq_sim.config import ModelParams
from zq_sim.mechanisms import params

SRC = Path(__file__).resolve().parents[1] / "src" / "zq_sim" / "mechanisms"
OWN = {"companies": params.CompanyParams, "land": params.LandParams, "pv": params.PVParams,
       "three_assets": params.PlatformParams, "assistance": params.AssistanceParams}


@pytest.mark.parametrize("module", sorted(OWN))
def test_a_mechanism_reads_only_the_parameters_its_object_declares(module):
    used = set(re.findall(r"\bp\.([a-z_0-9]+)", (SRC / f"{module}.py").read_text("utf-8")))
    declared = {f.name for f in dataclasses.fields(OWN[module])}
    assert used == declared, (sorted(used - declared), sorted(declared - used))


def test_objects_copy_the_model_parameters_and_cannot_change():
    p = dataclasses.replace(ModelParams(), payout=0.55, pv_yield=1050.0)
    mp = params.for_model(p)
    assert mp.companies.payout == 0.55 and mp.pv.pv_yield == 1050.0
    for obj in (mp.companies, mp.land, mp.pv, mp.platform, mp.assistance):
        for f in dataclasses.fields(obj):
            assert getattr(obj, f.name) == getattr(p, f.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mp.companies.payout = 0.9  # type: ignore[misc]


def test_the_model_hands_each_mechanism_its_own():
    from zq_sim.model import ZhaoqingModel
    model = ZhaoqingModel(rng=5, collect_agents=False, **{"years.end": 2024})
    assert isinstance(model.mp, params.MechanismParams)
    assert model.mp.platform.bid_sigma == model.p.bid_sigma

"""Public cost of the levers (costs.py, data/lever_costs.csv): priced, summed, accounting only."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from zq_sim import costs, data, space
from zq_sim.config import RunConfig
from zq_sim.model import ZhaoqingModel

PRICED = [f"public_{item}" for item in data.PRICED_ITEMS]
UNIT = costs.unit_costs(data.load_lever_costs())


def run(point: dict | None = None, end: int = 2025, data_dir=None) -> pd.DataFrame:
    cfg = space.apply(RunConfig(), {"years.end": end, **(point or {})})
    return ZhaoqingModel(cfg, rng=11, collect_agents=False, data_dir=data_dir).run() \
        .set_index("year")


def test_public_spending_is_the_sum_of_every_item_and_each_item_is_priced_by_hand():
    cfg = space.apply(RunConfig(), {"years.end": 2024})
    model = ZhaoqingModel(cfg, rng=5, collect_agents=False)
    moved = {}
    for _ in (2023, 2024):
        before = (model.villages.fragmented.sum(), model.villages.soe_land.sum())
        model.step()
        moved[model.year] = (before[0] - model.villages.fragmented.sum(),
                             model.villages.soe_land.sum() - before[1])
    ts = model.timeseries().set_index("year")
    items = [c for c in ts.columns if c.startswith("public_") and c != "public_spending"]
    assert set(PRICED) <= set(items)
    assert ts["public_spending"].to_numpy() == pytest.approx(ts[items].sum(axis=1).to_numpy(),
                                                             rel=1e-12)
    n, p, ta = model.villages.n, cfg.model, cfg.policy.three_assets
    y = ts.loc[2024]
    assert y["public_officials"] == 210 * UNIT["officials"]
    assert y["public_instructors"] == 38 * UNIT["instructors"]
    assert y["public_managers"] == 10 * UNIT["managers"]
    assert y["public_platform"] == pytest.approx(n * ta.platform_coverage * UNIT["platform"])
    assert y["public_publicity"] == pytest.approx(n * ta.platform_coverage * UNIT["publicity"])
    assert y["public_cleanup"] == pytest.approx(n * UNIT["cleanup"])
    assert y["public_inventory"] == pytest.approx(n * UNIT["inventory"])
    assert y["public_consolidation"] == pytest.approx(moved[2024][0] * UNIT["consolidation"])
    assert y["public_soe"] == pytest.approx(moved[2024][1] * UNIT["soe"])
    assert moved[2024][0] > 0 and moved[2024][1] > 0
    # 2023 practice is paid for too, priced in units of the 2024 drive
    first = ts.loc[2023]
    assert first["public_officials"] == p.officials_2023 * UNIT["officials"]
    assert first["public_platform"] == pytest.approx(n * p.coverage_2023 * UNIT["platform"])
    assert first["public_cleanup"] == pytest.approx(
        n * p.detect_base / p.detect_reform * UNIT["cleanup"])
    assert 0 < first["public_inventory"] < y["public_inventory"]


@pytest.mark.parametrize(("lever", "low", "high", "item"), [
    ("policy.talent.officials", 100, 200, "officials"),
    ("policy.talent.managers", 10, 20, "managers"),
    ("policy.three_assets.cleanup_intensity", 0.5, 1.0, "cleanup"),
    ("policy.three_assets.inventory_intensity", 1.0, 2.0, "inventory"),
    ("policy.three_assets.platform_coverage", 0.4, 0.8, "platform"),
    ("policy.three_assets.bidder_reach", 0.8, 1.6, "publicity"),
    ("policy.land.consolidation_push", 1.0, 2.0, "consolidation"),
])
def test_a_cost_doubles_with_its_lever(lever, low, high, item):
    a, b = run({lever: low}, end=2024), run({lever: high}, end=2024)
    col = f"public_{item}"
    assert b.loc[2024, col] == pytest.approx(2 * a.loc[2024, col], rel=1e-9)
    assert a.loc[2023, col] == b.loc[2023, col]  # 2023 practice: the lever does not act yet


def test_more_soe_push_costs_more():
    a, b = run({"policy.land.soe_push": 1.0}, end=2024), run({"policy.land.soe_push": 2.0},
                                                              end=2024)
    assert b.loc[2024, "public_soe"] == pytest.approx(2 * a.loc[2024, "public_soe"], rel=0.15)


def test_a_lever_at_zero_costs_nothing_from_the_policy_start():
    zero = {"policy.talent.officials": 0, "policy.talent.instructors": 0,
            "policy.talent.managers": 0, "policy.three_assets.platform_coverage": 0.0,
            "policy.three_assets.cleanup_intensity": 0.0,
            "policy.three_assets.inventory_intensity": 0.0,
            "policy.land.consolidation_push": 0.0, "policy.land.soe_push": 0.0}
    ts = run(zero)
    assert (ts.loc[2024:, PRICED] == 0.0).all().all()
    assert (ts.loc[2023, PRICED].drop(["public_managers"]) > 0).all()  # 2023 practice paid


def test_unit_costs_change_the_bill_and_nothing_else(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, folder)
    table = pd.read_csv(folder / "lever_costs.csv")
    priced = table["item"].isin(data.PRICED_ITEMS)
    for column in ("value", "low", "high"):
        table.loc[priced, column] *= 3
    table.to_csv(folder / "lever_costs.csv", index=False)
    a, b = run(end=2026), run(end=2026, data_dir=str(folder))
    others = [c for c in a.columns if not c.startswith("public_")]
    pd.testing.assert_frame_equal(a[others], b[others], check_exact=True)
    face = ["public_companies", "public_town_works", "public_pv", "public_assistance",
            "public_support"]
    pd.testing.assert_frame_equal(a[face], b[face], check_exact=True)
    assert b[PRICED].to_numpy() == pytest.approx(3 * a[PRICED].to_numpy(), rel=1e-12)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.assign(value=t["value"].where(t["item"] != "officials", 1e9)),
     r"row 8, column value: 1e\+09 is not in \[low, high\]"),
    (lambda t: t.assign(value=t["value"].where(t["item"] != "pv", 2.0),
                        high=t["high"].where(t["item"] != "pv", 2.0)),
     "pv is money paid at face value"),
    (lambda t: t[t["item"] != "soe"], "soe is missing"),
    (lambda t: t.assign(lever=t["lever"].where(t["item"] != "platform", "policy.nope")),
     "column lever: 'policy.nope' is not a setting"),
    (lambda t: t.assign(low=t["low"].astype(object).where(t["item"] != "cleanup", "abc")),
     "column low: 'abc' is not a number"),
])
def test_a_broken_cost_file_is_named_with_row_and_column(tmp_path, edit, message):
    table = pd.read_csv(data.DATA_DIR / "lever_costs.csv")
    edit(table).to_csv(tmp_path / "lever_costs.csv", index=False)
    with pytest.raises(data.DataError, match=message) as err:
        data.load_lever_costs(tmp_path)
    assert "\n" not in str(err.value) and "lever_costs.csv" in str(err.value)

"""The outcome registry (zq_sim.outputs) against a real run's tables, and docs/outputs.md."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from zq_sim import outputs
from zq_sim.data import load_targets
from zq_sim.model import PANEL, ZhaoqingModel
from zq_sim.run import run
from zq_sim.state import INCOME_PARTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A small run with the village panel and the reform's counterfactual: its three files."""
    from zq_sim.config import RunConfig

    cfg = RunConfig()
    cfg.replicates, cfg.years.end = 1, 2025
    cfg.output.villages, cfg.output.progress = True, False
    out = tmp_path_factory.mktemp("run")
    run(cfg, out, echo=None)
    return (pd.read_parquet(out / "timeseries.parquet"), pd.read_parquet(out / "villages.parquet"),
            json.loads((out / "summary.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("table", ["timeseries", "villages", "summary"])
def test_registry_declares_every_output_of_a_run_and_nothing_stale(written, table):
    ts, villages, summary = written
    columns = {"timeseries": list(ts.columns), "villages": list(villages.columns),
               "summary": outputs.summary_keys(summary)}[table]
    assert outputs.undeclared(columns, table) == []
    assert outputs.unused(columns, table) == []


def test_the_models_datacollector_reports_declared_metrics():
    model = ZhaoqingModel(rng=3, collect_agents=False, **{"years.end": 2024})
    model.step()
    reported = model.datacollector.get_model_vars_dataframe().columns
    assert outputs.undeclared(reported, "timeseries") == []


def test_families_match_the_model():
    assert tuple(outputs.INCOME_PARTS) == INCOME_PARTS
    assert set(PANEL) <= {o.name for o in outputs.VILLAGES}
    assert set(load_targets()["targets"]) == set(outputs.TARGETS)
    for column, _ in outputs.TARGETS.values():
        assert outputs.lookup(column) is not None, column
    for name in (*outputs.HORIZON, *outputs.PATHS):
        assert outputs.lookup(name) is not None, name


def test_an_unknown_public_item_is_labelled_from_its_name():
    o = outputs.lookup("public_lever_running_costs")
    assert o is not None and o.kind == "money"
    assert o.label == "Public money: lever running costs"
    assert o.label_zh == "财政投入：lever_running_costs"
    known = outputs.lookup("public_town_works")
    assert known.label == "Public money: towns' public works let to companies"
    # an income part the registry does not name yet, and a name nobody declared
    assert outputs.lookup("mean_rent_rebate_income").label == "Mean income from rent rebate"
    assert outputs.lookup("no_such_metric") is None
    assert outputs.describe("no_such_metric").label == "no such metric"


def test_exact_names_come_before_families():
    # public_support and public_spending have their own labels; mean_operating_income is not
    # a part of income called "operating"
    assert outputs.lookup("public_support").label == "Fiscal support paid to weak villages"
    assert outputs.lookup("public_spending").short == "public money"
    assert outputs.lookup("mean_operating_income").label == "Mean operating income per village"


def test_the_same_name_means_what_its_table_says():
    city, village = outputs.lookup("total_income"), outputs.lookup("total_income", "villages")
    assert (city.kind, village.kind) == ("money", "income")
    with pytest.raises(ValueError, match="table = 'panel'"):
        outputs.lookup("total_income", "panel")


def test_display_factors_and_units():
    income = outputs.lookup("p10_operating_income")
    assert income.factor == 1e4 and income.shown_unit("zh") == "万元/村"
    assert outputs.lookup("public_spending").factor is None  # 万元 or 亿元, as the values fit
    share = outputs.lookup("share_own_below_200k")
    assert share.factor == 0.01 and share.shown_unit() == "% of villages"
    companies = outputs.lookup("companies")
    assert (companies.shown_unit(), companies.shown_unit("zh")) == ("companies", "家")


def test_every_entry_is_complete():
    for table, entries in outputs.REGISTRY.items():
        names = [o.name for o in entries]
        assert len(names) == len(set(names)), table
        for o in entries:
            assert o.kind in outputs.KINDS, o.name
            assert o.label and o.label_zh and o.doc, o.name
            assert o.table == table, o.name
            if o.kind == "count":
                assert o.unit and o.unit_zh, o.name


def test_docs_outputs_md_is_generated_from_the_registry():
    path = ROOT / "docs" / "outputs.md"
    assert path.read_text(encoding="utf-8") == outputs.markdown(), (
        "docs/outputs.md is out of date: run python -m zq_sim.outputs --write")


def test_docs_name_every_declared_output():
    text = outputs.markdown()
    for entries in outputs.REGISTRY.values():
        for o in entries:
            assert f"| `{o.name}` |" in text

"""One colour per scenario everywhere, shocks told apart, money units, labels' language."""

from __future__ import annotations

import pytest

from zq_sim import style


@pytest.fixture(autouse=True)
def _pinyin():
    style.use_language("pinyin")
    yield
    style.use_language("pinyin")


def test_known_scenarios_have_fixed_distinct_colours():
    colors = style.SCENARIO_COLORS
    assert len(set(colors.values())) == len(colors)
    for name in ("baseline", "no_reform", "land_transfer", "strong_village_company",
                 "three_assets", "pv_small_cut", "talent_assistance", "integrated",
                 "rent_downturn", "company_failures", "no_support"):
        assert style.color_of(name) == colors[name]
    # the colour does not depend on which other scenarios are in the figure
    assert style.colors_for(["integrated", "baseline"])["integrated"] == colors["integrated"]
    assert style.colors_for(["rent_downturn"])["rent_downturn"] == colors["rent_downturn"]


def test_custom_names_get_a_stable_colour_from_their_hash():
    a = style.color_of("my_custom_mix")
    assert a == style.color_of("my_custom_mix")  # same name, same colour, every time
    assert a in style.POLICY_FALLBACK
    assert a not in style.SCENARIO_COLORS.values()
    # in one figure, no two groups share a colour even when their hashes collide
    names = [f"custom_{i}" for i in range(12)]
    got = style.colors_for(names)
    assert len(set(got.values())) == 12


def test_shocks_by_name_and_by_kind_key(tmp_path, monkeypatch):
    assert style.is_shock("rent_downturn") and style.is_shock("company_failures")
    assert not style.is_shock("integrated") and not style.is_shock("baseline")
    (tmp_path / "scenario").mkdir()
    (tmp_path / "scenario" / "drought.yaml").write_text(
        "# @package _global_\nscenario: drought\nkind: shock\n")
    (tmp_path / "scenario" / "subsidy.yaml").write_text(
        "# @package _global_\nscenario: subsidy\nkind: policy\n")
    monkeypatch.setattr(style, "CONF_DIR", tmp_path)
    style._scenario_file_kind.cache_clear()
    try:
        assert style.is_shock("drought") and not style.is_shock("subsidy")
        assert style.color_of("drought") in style.SHOCK_FALLBACK
        policy, shock = style.order_groups(["subsidy", "drought", "baseline", "rent_downturn"])
        assert policy == ["baseline", "subsidy"] and shock == ["drought", "rent_downturn"]
    finally:
        style._scenario_file_kind.cache_clear()


def test_money_in_wan_or_yi_as_fits():
    assert style.money_scale([3e6, 5e5]) == (1e-4, "10k yuan (wan yuan)")
    assert style.money_scale([-2.5e8]) == (1e-8, "100M yuan (yi yuan)")
    assert style.format_money(1_234_567.0) == "123 10k yuan (wan yuan)"
    assert style.format_money(2.5e8) == "2.50 100M yuan (yi yuan)"
    assert style.format_money(float("nan")) == "n/a"


def test_language_choice():
    with pytest.raises(ValueError, match="auto, zh, pinyin"):
        style.use_language("fr")
    assert style.use_language("pinyin") == "pinyin"
    assert style.county_name("怀集县") == "Huaiji" and style.unit("wan").startswith("10k")
    if style.find_cjk_font() is None:
        with pytest.raises(ValueError, match="fonts-noto-cjk"):
            style.use_language("zh")
    else:
        assert style.use_language("auto") == "zh"
        assert style.county_name("怀集县") == "怀集县" and style.unit("yi") == "亿元"

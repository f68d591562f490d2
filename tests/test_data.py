"""Broken data files give one clear error naming the file, row and column."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zq_sim import data

DATA = Path(data.__file__).resolve().parents[2] / "data"


@pytest.fixture
def data_copy(tmp_path) -> Path:
    out = tmp_path / "data"
    shutil.copytree(DATA, out)
    return out


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_the_shipped_data_load():
    assert len(data.load_villages()) == 1255
    assert len(data.load_villages(include_residents=True)) == 1558
    assert len(data.load_counties()) == 8
    assert len(data.load_targets()["targets"]) == 12


def test_missing_file(data_copy):
    (data_copy / "counties.csv").unlink()
    with pytest.raises(data.DataError, match="counties.csv: file not found"):
        data.load_counties(data_copy)


def test_missing_column(data_copy):
    edit(data_copy / "counties.csv", "rural_residents_10k", "rural")
    with pytest.raises(data.DataError, match="missing column.*rural_residents_10k"):
        data.load_counties(data_copy)


def test_non_numeric_value(data_copy):
    edit(data_copy / "counties.csv", ",43.49,", ",lots,")
    with pytest.raises(data.DataError, match=r"row 4, column rural_residents_10k: 'lots'"):
        data.load_counties(data_copy)


def test_negative_value(data_copy):
    edit(data_copy / "counties.csv", ",43.49,", ",-43.49,")
    with pytest.raises(data.DataError, match=r"row 4, column rural_residents_10k: -43.49"):
        data.load_counties(data_copy)


def test_residents_that_do_not_add_up(data_copy):
    edit(data_copy / "counties.csv", ",43.49,", ",53.49,")
    with pytest.raises(data.DataError, match="does not add up"):
        data.load_counties(data_copy)


def test_town_counts_that_do_not_add_up(data_copy):
    towns = data_copy / "zhaoqing_towns_2023.csv"
    lines = towns.read_text(encoding="utf-8").splitlines()
    town = [line for line in lines if ",高要区," in line][0].split(",")
    town[3] = str(int(town[3]) + 1)
    edit(towns, ",".join(lines[lines.index([x for x in lines if x.startswith(town[0])][0])]
                        .split(",")), ",".join(town))
    with pytest.raises(data.DataError, match="village_committees.*does not add up"):
        data.load_villages(data_copy)


def test_unknown_village_kind(data_copy):
    edit(data_copy / "zhaoqing_village_units_2023.csv", ",village_committee,", ",hamlet,")
    with pytest.raises(data.DataError, match="column kind: 'hamlet'"):
        data.load_villages(data_copy)


def test_broken_targets(data_copy):
    (data_copy / "targets.yaml").write_text("targets: [unclosed", encoding="utf-8")
    with pytest.raises(data.DataError, match="targets.yaml: not valid YAML"):
        data.load_targets(data_copy)


def test_cli_with_broken_data_fails_cleanly(data_copy, tmp_path):
    edit(data_copy / "counties.csv", ",43.49,", ",-43.49,")
    env = {**os.environ, "ZQ_DATA_DIR": str(data_copy)}
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "zq_sim", "replicates=1", "years.end=2024",
                        f"hydra.run.dir={out}"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "counties.csv: row 4, column rural_residents_10k" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1e999"])
def test_non_finite_value_is_refused(data_copy, value):
    edit(data_copy / "counties.csv", ",43.49,", f",{value},")
    with pytest.raises(data.DataError, match=r"counties.csv: row 4, column rural_residents_10k"):
        data.load_counties(data_copy)


def test_absurd_residents_are_refused(data_copy):
    edit(data_copy / "counties.csv", ",43.49,", ",4e30,")
    with pytest.raises(data.DataError, match=r"row 4, column rural_residents_10k.*\[0, 1000\]"):
        data.load_counties(data_copy)


def test_town_count_must_be_whole(data_copy):
    towns = data_copy / "zhaoqing_towns_2023.csv"
    lines = towns.read_text(encoding="utf-8").splitlines()
    row = lines[1].split(",")
    row[4] = row[4] + ".5"
    lines[1] = ",".join(row)
    towns.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(data.DataError, match=r"row 2, column residents_committees: .* whole"):
        data.load_villages(data_copy)


def test_a_county_renamed_everywhere_is_named(data_copy):
    for name in ("counties.csv", "zhaoqing_village_units_2023.csv", "zhaoqing_towns_2023.csv"):
        path = data_copy / name
        path.write_text(path.read_text(encoding="utf-8").replace("怀集县", "怀集市"),
                        encoding="utf-8")
    with pytest.raises(data.DataError, match="counties.csv: column county: 怀集县 is missing"):
        data.load_villages(data_copy)


def test_random_bytes_in_targets(data_copy):
    (data_copy / "targets.yaml").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(data.DataError, match="targets.yaml: not a UTF-8 text file"):
        data.load_targets(data_copy)


@pytest.mark.parametrize("value", [".nan", ".inf", "true"])
def test_target_value_must_be_a_finite_number(data_copy, value):
    edit(data_copy / "targets.yaml", "value: 500000", f"value: {value}")
    with pytest.raises(data.DataError, match="target mean_operating_income: 'value' must be"):
        data.load_targets(data_copy)


@pytest.mark.parametrize(("file", "old", "new", "words"), [
    ("counties.csv", ",43.49,", ",inf,", ["counties.csv", "row 4", "rural_residents_10k"]),
    ("targets.yaml", "value: 500000", "value: .nan", ["targets.yaml", "mean_operating_income"]),
])
def test_cli_with_non_finite_data_fails_in_one_line(data_copy, tmp_path, file, old, new, words):
    edit(data_copy / file, old, new)
    env = {**os.environ, "ZQ_DATA_DIR": str(data_copy)}
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "zq_sim", "replicates=1", "years.end=2024",
                        f"hydra.run.dir={out}"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    for word in words:
        assert word in lines[0]
    assert not out.exists()

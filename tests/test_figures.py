"""The README's figures are made by one command, and a test says when they are stale."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from zq_sim import figures

ROOT = Path(__file__).resolve().parents[1]


def test_committed_figures_are_as_new_as_the_model():
    """Fails after any change to the model's files until the figures are made again."""
    stamp = figures.read_stamp()
    assert stamp, ("docs/figures/STAMP is missing: make the README's figures with "
                   "`python -m zq_sim.figures` and commit docs/figures/")
    assert stamp["model_hash"] == figures.model_hash(), (
        f"docs/figures/ were made ({stamp.get('made')}, commit {stamp.get('commit')}) before the "
        "model's last change: rerun `python -m zq_sim.figures` and commit docs/figures/")
    for name in stamp["figures"]:
        assert (figures.FIGURES_DIR / name).is_file(), name


def test_readme_shows_only_figures_the_command_makes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r"\]\(docs/figures/([^)]+\.png)\)", readme)
    assert shown
    made = {f"{n}.png" for n in (*figures.SHOWN, *figures.SCREENSHOTS)}
    assert set(shown) <= made, set(shown) - made


def test_model_hash_follows_the_model_files_only(tmp_path):
    for pattern in ("src/zq_sim/model.py", "src/zq_sim/mechanisms/*.py",
                    "conf/model/calibrated.yaml", "src/zq_sim/report.py"):
        for src in ROOT.glob(pattern):
            dst = tmp_path / src.relative_to(ROOT)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    before = figures.model_hash(tmp_path)
    (tmp_path / "src/zq_sim/report.py").write_text("# the report is not the model\n")
    assert figures.model_hash(tmp_path) == before
    mech = sorted((tmp_path / "src/zq_sim/mechanisms").glob("*.py"))[0]
    text = mech.read_bytes()
    mech.write_bytes(text.replace(b"\n", b"\r\n"))  # a Windows checkout: same model
    assert figures.model_hash(tmp_path) == before
    mech.write_bytes(text + b"\nX = 1\n")
    assert figures.model_hash(tmp_path) != before
    mech.write_bytes(text)
    (tmp_path / "conf/model/calibrated.yaml").write_text("model: {}\n")
    assert figures.model_hash(tmp_path) != before


def test_figures_command_makes_figures_and_stamp(tmp_path, capsys):
    out = tmp_path / "figs"
    code = figures.main(["--out", str(out), "--replicates", "1", "--end", "2025",
                         "--scenarios", "baseline,integrated,rent_downturn", "--jobs", "2",
                         "--no-screenshots"])
    assert code == 0, capsys.readouterr().err
    stamp = figures.read_stamp(out)
    assert stamp["model_hash"] == figures.model_hash()
    assert "weak_income.png" in stamp["figures"] and "differences.png" in stamp["figures"]
    for name in stamp["figures"]:
        assert (out / name).stat().st_size > 10_000
    assert "--scenarios baseline,integrated,rent_downturn" in stamp["command"]


@pytest.mark.parametrize("args, message", [
    (["--scenarios", "baseline,nope"], "unknown scenario 'nope'"),
    (["--replicates", "0"], "--replicates = 0"),
    (["--end", "2024"], "--end = 2024"),
])
def test_figures_command_refuses_bad_options(tmp_path, capsys, args, message):
    assert figures.main(["--out", str(tmp_path / "f"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f").exists()

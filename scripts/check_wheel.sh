#!/usr/bin/env bash
# Build zq_sim's wheel, install it into a fresh virtual environment and run it from a folder
# outside the checkout: the command line (a run and a small parallel sweep, through the
# project's Hydra launcher plugin), the Python API, Hydra's compose API by module name
# (initialize_config_module("zq_sim.conf")), and the one-line refusals of what only a checkout
# can do (the calibration, the README's figures). CI runs it after the tests (.ci/run); the
# slow test tests/test_packaging.py runs it too. About a minute with a warm pip cache.
#
#   bash scripts/check_wheel.sh            # with .venv/bin/python (scripts/bootstrap.sh)
#   ZQ_CHECK_PYTHON=python3.12 bash scripts/check_wheel.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py="${ZQ_CHECK_PYTHON:-$here/.venv/bin/python}"
work=$(mktemp -d "${TMPDIR:-/tmp}/zq_sim-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { echo "check_wheel: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

# Build from a clean copy of what a checkout ships (a build in the checkout itself would reuse
# build/, which can hold files of an older tree).
mkdir -p "$work/tree"
cp -R "$here/pyproject.toml" "$here/README.md" "$here/src" "$here/conf" "$here/data" "$work/tree/"
find "$work/tree" \( -name "__pycache__" -o -name "*.egg-info" \) -prune -exec rm -rf {} +
say "building the wheel"
"$py" -m pip wheel --no-deps --quiet --disable-pip-version-check -w "$work/dist" "$work/tree" \
  >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "the wheel did not build"; }
wheel=$(ls "$work"/dist/zq_sim-*.whl)
"$py" - "$wheel" "$here" <<'EOF' || fail "the wheel lacks files of conf/ or data/"
import sys
import zipfile
from pathlib import Path

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
root = Path(sys.argv[2])
for folder, package in (("conf", "zq_sim/conf"), ("data", "zq_sim/data_files")):
    for path in (root / folder).rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            name = f"{package}/{path.relative_to(root / folder).as_posix()}"
            assert name in names, f"{name} is not in the wheel"
assert "hydra_plugins/zq_sim_launcher/zq_sim_launcher.py" in names, "no launcher plugin"
EOF

say "installing $(basename "$wheel") into a fresh virtual environment"
"$py" -m venv "$work/venv"
venv_py="$work/venv/bin/python"
"$venv_py" -m pip install --quiet --disable-pip-version-check "$wheel" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "the wheel did not install"; }

mkdir "$work/elsewhere"
cd "$work/elsewhere"  # no conf/, data/ or src/ here: everything must come from the package

say "python -m zq_sim years.end=2024 replicates=1"
"$venv_py" -m zq_sim years.end=2024 replicates=1 output.progress=false hydra.run.dir=run \
  >"$work/run.log" 2>&1 || { cat "$work/run.log" >&2; fail "a run from the wheel"; }
[ -f run/summary.json ] && [ -f run/timeseries.parquet ] || fail "the run wrote no summary.json"

say "python -m zq_sim -m seed=1,2 (the project's launcher plugin)"
"$venv_py" -m zq_sim -m years.end=2024 replicates=1 seed=1,2 hydra.sweep.dir=sweep \
  >"$work/sweep.log" 2>&1 || { cat "$work/sweep.log" >&2; fail "a sweep from the wheel"; }
[ "$(find sweep -name summary.json | wc -l)" -eq 2 ] || fail "the sweep did not finish 2 jobs"

say "the Python API and Hydra's initialize_config_module"
"$venv_py" - <<'EOF' || fail "the Python API from the wheel"
import sysconfig
from pathlib import Path

from hydra import compose, initialize_config_module
from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher

import zq_sim
from zq_sim import paths

site = Path(sysconfig.get_paths()["purelib"]).resolve()
assert paths.CHECKOUT is None, paths.CHECKOUT
for folder in (paths.CONF_DIR, paths.PACKAGE_DATA_DIR):
    assert site in folder.resolve().parents, folder
assert "land_transfer" in zq_sim.scenarios()
result = zq_sim.simulate(zq_sim.load_config("land_transfer", {"years.end": 2025}), replicates=1,
                         seed=5)
assert list(result.timeseries["year"]) == [2023, 2024, 2025], result.timeseries["year"]
with initialize_config_module("zq_sim.conf", version_base="1.3"):
    cfg = compose("config", overrides=["+scenario=land_transfer", "model=priors"])
assert cfg.scenario == "land_transfer", cfg.scenario
launchers = {p.__name__ for p in Plugins.instance().discover(Launcher)}
assert "ZqJoblibLauncher" in launchers, launchers
EOF

say "what needs a checkout is refused in one line"
for module in zq_sim.calibrate zq_sim.figures; do
  set +e
  "$venv_py" -m "$module" >"$work/out.log" 2>"$work/err.log"
  code=$?
  set -e
  [ "$code" -eq 2 ] || { cat "$work/err.log" >&2; fail "$module exited $code, not 2"; }
  [ "$(wc -l <"$work/err.log")" -eq 1 ] && grep -q "needs a checkout" "$work/err.log" \
    || { cat "$work/err.log" >&2; fail "$module: not one line saying a checkout is needed"; }
done
say "ok: the wheel installs and runs outside the checkout"

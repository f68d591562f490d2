"""Smoke test of benchmarks/run.py at a tiny scale: it runs and its JSON line has every figure.

No timing is asserted here (timings depend on the machine and its load); see benchmarks/README.md.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"

SCALE_KEYS = {
    "villages", "setup_s", "step_s", "village_years_per_s", "step_s_no_panel", "panel_frame_s",
    "peak_mem_mb", "peak_rss_mb_after_zq", "mesa_setup_s", "mesa_step_s",
    "mesa_agent_steps_per_s", "kernel_setup_s", "kernel_step_s", "kernel_village_years_per_s",
    "vs_mesa", "vs_kernel", "setup_vs_mesa",
}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("zq_benchmark_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_json_line_has_every_figure(bench, capsys):
    result = bench.main(["--scales", "1", "--years", "2", "--repeats", "1", "--skip-sweep",
                         "--skip-city"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    parsed = json.loads(last)
    assert parsed["scales"].keys() == {"1"} == result["scales"].keys()
    figures = parsed["scales"]["1"]
    assert SCALE_KEYS <= figures.keys()
    assert figures["villages"] == figures["mesa_agents"] > 1000
    for key in SCALE_KEYS:
        assert math.isfinite(figures[key]) and figures[key] >= 0, key
    assert figures["vs_mesa"] == pytest.approx(
        figures["village_years_per_s"] / figures["mesa_agent_steps_per_s"])
    assert figures["vs_kernel"] == pytest.approx(figures["step_s"] / figures["kernel_step_s"])
    assert parsed["kernel_matches_model"] is True
    assert {"nproc", "cpu", "python"} <= parsed["machine"].keys()
    assert set(parsed["targets"]) == set(bench.TARGETS)


def test_kernel_is_the_model_without_mesa(bench):
    kernel = bench.ArrayKernel(bench.bench_config(1, years=3), seed=4)
    assert not hasattr(kernel, "agents")
    assert bench.kernel_matches_model(scale=2, years=3, seed=4)


def test_city_run_splits_its_time(bench):
    figures = bench.city_run(repeats=1)  # the default run: 10 replicates, about 2 s
    assert figures["models"] == 2 * figures["replicates"]
    assert figures["total_s"] >= figures["setup_s"] + figures["step_s"] > 0


@pytest.mark.slow
def test_sweep_times_its_jobs(bench):
    out = bench.sweep(jobs=2, launcher=bench.SEQUENTIAL)
    assert out["jobs"] == 2 and out["wall_s"] > out["model_s_per_job"] > 0
    assert 0 <= out["share_outside_model"] <= 1


@pytest.mark.slow
def test_one_run_of_replicates_times_its_job(bench):
    out = bench.replicates_run(replicates=2)
    assert out["jobs"] == 1 and out["replicates_per_job"] == 2
    assert out["wall_s"] > out["model_s_per_job"] > 0
    assert 0 <= out["share_outside_model"] <= 1


def test_hydra_compose_is_timed(bench):
    out = bench.hydra_compose(repeats=1, configs=2)
    assert out["config_s"] > 0 and out["floor_s"] > 0

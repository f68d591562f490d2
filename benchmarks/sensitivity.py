"""Benchmark of the sensitivity analysis' evaluations: model runs per second, time outside it.

    python benchmarks/sensitivity.py                 # ~2 minutes on 2 cores
    python benchmarks/sensitivity.py --points 16 --repeats 1   # a quick look

What ``python -m zq_sim.sensitivity`` spends its time on is evaluating design points: each point
applied to the calibrated config (``space.apply``), run for the baseline and each policy of the
default settings (``conf/sensitivity.yaml``) on the replicate seeds, and its outcomes read off
the time series. Measured here, with the evaluator and the batching the analysis uses
(:func:`zq_sim.sensitivity.evaluate`), on two designs of ``--points`` points each: a Morris design
over every screened uncertainty (half its values at the ends of the ranges) and a Sobol design
over the leading 8 (the others nominal):

- **in-process** (one process, no joblib): points/s and model runs/s, and the share of the time
  outside ``run_replicate`` (applying the point, reading the outcomes);
- **batched** over ``--jobs`` workers (one per core by default): the same, with the share of the
  workers' time outside the model (dispatch, pickling, start of the workers, idle cores);
- a single model run to 2030 timed alone (the floor per run);
- the default analysis' planned runs (:func:`zq_sim.sensitivity.planned_runs`) over the measured
  batched rate: the projected minutes of ``python -m zq_sim.sensitivity`` on this machine.

Timing is ``time.perf_counter``, best of ``--repeats``. The last line printed is one JSON object.
Other load on the machine slows every figure alike; the 1-minute load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def _default_config():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from zq_sim.paths import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return OmegaConf.to_object(compose(config_name="sensitivity"))


def designs(unc, nominal, points: int, seed: int):
    """(name, dims, values) of a Morris design over every input and a Sobol design over 8."""
    from SALib.sample import morris, sobol

    from zq_sim import space

    r = max(1, round(points / (len(unc) + 1)))
    mu = morris.sample(space.salib_problem(unc), N=max(r, 2), num_levels=4, seed=seed)[:points]
    top = unc[:8]
    su = sobol.sample(space.salib_problem(top), 16, calc_second_order=False, seed=seed)[:points]
    sv = np.repeat(np.array([nominal[d.name] for d in unc])[None], len(su), axis=0)
    sv[:, :len(top)] = space.from_unit(top, su)
    return [("morris", unc, space.from_unit(unc, mu)), ("sobol", unc, sv)]


def measure(points: int = 48, repeats: int = 2, jobs: int = -1) -> dict:
    """Every figure, as a dict (see the module's doc)."""
    from zq_sim import sensitivity as sa
    from zq_sim import space
    from zq_sim.run import replicate_seeds, run_replicate

    cfg = _default_config()
    base = sa.RunConfig(**{f: getattr(cfg, f) for f in sa.RunConfig.__dataclass_fields__})
    s = cfg.sensitivity
    unc, _ = sa.choose_inputs(base, s)
    ev = sa.ModelEvaluator(base, {p: sa.scenario_changes(p) for p in s.policies},
                           tuple(s.outcomes))
    seeds = replicate_seeds(s.seed, s.replicates)
    nominal = space.current(ev.base, unc)
    run_replicate(ev.base, seeds[0])  # data loaded and cached before timing
    single = min(_timed(lambda: run_replicate(ev.base, seeds[0])) for _ in range(5))
    workers = sa.workers(jobs)
    out: dict = {"cases": list(ev.cases), "replicates": s.replicates, "workers": workers,
                 "single_run_s": single, "designs": {}}
    for name, dims, values in designs(unc, nominal, points, s.seed):
        runs = len(values) * len(ev.cases) * len(seeds)
        best_serial = best_parallel = None
        for _ in range(repeats):  # interleaved: load on the machine falls on both alike
            t0 = time.perf_counter()
            _, model_s = ev(dims, values, seeds)
            wall = time.perf_counter() - t0
            if best_serial is None or wall < best_serial[0]:
                best_serial = (wall, model_s)
            timing = sa.Timing()
            sa.evaluate(ev, dims, values, seeds, jobs=jobs, progress=False, timing=timing)
            if best_parallel is None or timing.wall_s < best_parallel.wall_s:
                best_parallel = timing
        wall, model_s = best_serial
        out["designs"][name] = {
            "points": len(values), "runs": runs,
            "serial_points_per_s": len(values) / wall, "serial_runs_per_s": runs / wall,
            "serial_outside_share": 1 - model_s / wall,
            "model_s_per_run": model_s / runs,
            "batched_points_per_s": len(values) / best_parallel.wall_s,
            "batched_runs_per_s": runs / best_parallel.wall_s,
            "batched_outside_share": best_parallel.outside_share,
            "batched_wall_s": best_parallel.wall_s}
    plan = sa.planned_runs(s, len(unc), len(space.levers()))
    rate = {k: v["batched_runs_per_s"] for k, v in out["designs"].items()}
    morris_like = plan["morris_uncertainties"] + plan["morris_levers"] + plan["oat"]
    other = sum(plan.values()) - morris_like
    seconds = morris_like / rate["morris"] + other / rate["sobol"]
    out["default_plan"] = {"runs": plan, "total_runs": sum(plan.values()),
                           "projected_minutes": seconds / 60}
    out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                      "load_1min": os.getloadavg()[0]}
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    """Measure, print a table and the JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=48, help="design points per design")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many")
    ap.add_argument("--jobs", type=int, default=-1, help="workers (-1: one per core)")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    result = measure(args.points, args.repeats, args.jobs)
    print(f"sensitivity evaluations: cases {', '.join(result['cases'])}; "
          f"{result['replicates']} replicate(s) per point; load {load:.1f} at the start, "
          f"{result['machine']['load_1min']:.1f} at the end")
    print(f"one model run to the last outcome year, alone: {result['single_run_s']:.3f} s")
    for name, d in result["designs"].items():
        print(f"{name:7} design, {d['points']} points = {d['runs']} runs: in-process "
              f"{d['serial_runs_per_s']:.1f} runs/s ({d['serial_outside_share']:.0%} outside "
              f"the model, {d['model_s_per_run']:.3f} s model per run); batched on "
              f"{result['workers']} worker(s) {d['batched_runs_per_s']:.1f} runs/s "
              f"({d['batched_points_per_s']:.1f} points/s, {d['batched_outside_share']:.0%} of "
              "the workers' time outside the model)")
    plan = result["default_plan"]
    print(f"default analysis: {plan['total_runs']:,} runs "
          f"({', '.join(f'{k} {v:,}' for k, v in plan['runs'].items())}): projected "
          f"{plan['projected_minutes']:.1f} min at these rates")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

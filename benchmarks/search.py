"""Benchmark: evaluations per second of the policy-mix search (zq_sim.search), serial and parallel.

    python benchmarks/search.py                       # 24 candidates x 16 seeds, 1 and all cores
    python benchmarks/search.py --candidates 8 --seeds 4 --jobs 1 2

One evaluation is one model run of a candidate mix to the goal year (2027) on one seed, as the
search does it (``search.Evaluator``: the levers applied to the calibrated base with
``space.apply``, ``run.run_replicate`` without the counterfactual or the village panel, the
cost summed and the goal read). Candidates are drawn from the default levers' bounds with a
fixed seed. For each worker count the Evaluator's joblib pool is started first (its start-up
is timed apart) and the batch is timed with ``time.perf_counter``, best of ``--repeats``.

The table goes to the terminal; the last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from zq_sim import search, space
from zq_sim.api import load_config


def batch(candidates: int, rng_seed: int = 1) -> list[dict]:
    """Candidate mixes drawn uniformly within the default levers' bounds."""
    dims = space.select(space.levers(), search.DEFAULT_LEVERS)
    rows = space.sample(dims, candidates, np.random.default_rng(rng_seed))
    return [space.point(dims, r) for r in rows]


def measure(jobs: int, candidates: int, seeds: int, repeats: int) -> dict:
    """Seconds and evaluations per second of one batch with ``jobs`` workers."""
    from joblib import Parallel

    base = load_config(overrides={"years.end": 2027, "output.counterfactual": False,
                                  "output.villages": False, "output.progress": False})
    goal = search.Goal(2027, 200_000.0, 1.0)
    pairs = [(None, s) for s in search.seeds(4242, "search", seeds)]
    points = batch(candidates)
    t0 = time.perf_counter()
    with Parallel(n_jobs=jobs, backend="loky") as parallel:
        evaluator = search.Evaluator(base, goal, None if jobs == 1 else parallel)
        evaluator.evaluate(points[:1], pairs[:1])  # start the workers, load the data
        start_s = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            results = evaluator.evaluate(points, pairs)
            times.append(time.perf_counter() - t)
    evaluations = candidates * seeds
    best = min(times)
    return {"jobs": jobs, "candidates": candidates, "seeds": seeds, "evaluations": evaluations,
            "seconds": best, "evaluations_per_s": evaluations / best,
            "candidates_per_s": candidates / best, "pool_start_s": start_s,
            "failed": sum(isinstance(r, str) for r in results)}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print a table and the JSON line; return the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", type=int, default=24)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    rows = [measure(j, args.candidates, args.seeds, args.repeats)
            for j in dict.fromkeys(args.jobs)]
    print(f"zq_sim.search benchmark: {args.candidates} candidates x {args.seeds} seeds, "
          f"runs to 2027, best of {args.repeats}")
    print(f"{'workers':>8} {'seconds':>9} {'evals/s':>9} {'mixes/s':>9} {'pool start s':>13}")
    for r in rows:
        print(f"{r['jobs']:>8} {r['seconds']:>9.2f} {r['evaluations_per_s']:>9.1f} "
              f"{r['candidates_per_s']:>9.2f} {r['pool_start_s']:>13.2f}")
    result = {"runs": rows, "cpu_count": os.cpu_count()}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

"""Scaling of a 10k reference cohort on a local Dask cluster: 1 -> 2 worker processes (docs/distributed.md).

Usage::

    python benchmarks/dask_scaling.py [--n 10000] [--repeats 3]

Compares, in one run, the local threaded engine (``simulate_cohort`` with 1
and 2 threads) and :class:`bonemet_ode.analysis.distributed.DaskRunner` with
1 and 2 single-threaded worker processes, and checks that every Dask result
equals the local one member for member.  Cluster start-up and loading the
compiled model in the workers are reported apart from the cohort time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import bonemet_ode as bm
from bonemet_ode.analysis.distributed import DaskRunner
from bonemet_ode.models.reference import perf_reference_combination_arm

TIMES = np.linspace(0.0, 60.0, 61)


def _median_s(fn, repeats: int) -> tuple[float, object]:
    runs, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="cohort size (default 10000)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per setting (median reported)")
    args = ap.parse_args()
    model, arm = bm.models.get("perf_reference"), perf_reference_combination_arm()
    cohort = bm.draw_cohort(model, args.n, {"r": bm.LogNormal(0.3), "kC": bm.LogNormal(0.3)}, seed=20240607)
    print(f"{args.n} members, 2 cores, load average at start {[round(x, 2) for x in os.getloadavg()]}")
    local = None
    for threads in (1, 2):
        s, local = _median_s(lambda threads=threads: bm.simulate_cohort(model, cohort, arm, 60.0, TIMES, n_jobs=threads,
                                                                        progress=False), args.repeats)
        print(f"local simulate_cohort, {threads} thread(s): {s:.2f} s")
    for workers in (1, 2):
        t0 = time.perf_counter()
        with DaskRunner(n_workers=workers, threads_per_worker=1, processes=True) as runner:
            runner.prepare(model, arm)
            start = time.perf_counter() - t0
            s, res = _median_s(lambda: runner.simulate_cohort(model, cohort, arm, 60.0, TIMES), args.repeats)
        same = np.array_equal(res.states, local.states) and res.messages == local.messages
        print(f"Dask, {workers} worker process(es): {s:.2f} s (cluster start + model load {start:.2f} s); "
              f"identical to local: {same}")
    print(f"load average at end {[round(x, 2) for x in os.getloadavg()]}")


if __name__ == "__main__":
    main()

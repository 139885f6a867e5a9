"""Generated right-hand-side forms: derived parameters in the right-hand side (``codegen.HOIST_RHS``) on and off.

Usage::

    python benchmarks/rhs_forms.py [--rounds 7]

Builds bone_metastasis (its last default arm, days 0-60, 61 outputs, rtol 1e-6, atol 1e-9, as in
``benchmarks/run.py``) and the reference problem (combination arm, same grid and tolerances) with
the switch off and on (two libraries: the switch is part of the cache key), then times
``Simulator.run`` of each form in interleaved rounds in this one process, so that load from other
processes falls on both alike.  Prints the median per-solve time (wall and thread CPU), the ratio
on/off, the solver's steps, and the largest relative difference between the two forms' outputs
(rounding only: the arithmetic is rearranged, the equations are the same).  The switch applies only
where the right-hand side is in the shared-reciprocal form (``rewrites.shared_reciprocals``), so the
reference problem's code is the same in both libraries: its line is a control for the noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import bonemet_ode as bm
from bonemet_ode.compile import codegen
from bonemet_ode.models.bone_metastasis import default_arms
from bonemet_ode.models.reference import perf_reference_combination_arm

DAYS, RTOL, ATOL = 60.0, 1e-6, 1e-9
TIMES = np.linspace(0.0, DAYS, 61)


def simulators(hoist: bool) -> dict[str, bm.Simulator]:
    """One simulator per problem, compiled with ``codegen.HOIST_RHS = hoist``."""
    saved = codegen.HOIST_RHS
    codegen.HOIST_RHS = hoist
    try:
        opts = bm.SolverOptions(rtol=RTOL, atol=ATOL)
        return {"bone_metastasis": bm.Simulator(bm.models.get("bone_metastasis"), default_arms()[-1], DAYS, TIMES,
                                                opts),
                "reference": bm.Simulator(bm.models.get("perf_reference"), perf_reference_combination_arm(), DAYS,
                                          TIMES, opts)}
    finally:
        codegen.HOIST_RHS = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    forms = {"off": simulators(False), "on": simulators(True)}
    calls = {"bone_metastasis": 60, "reference": 300}
    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for sims in forms.values():
        for sim in sims.values():
            sim.run()  # warm-up
    load0 = os.getloadavg()
    for _ in range(args.rounds):
        for form, sims in forms.items():
            for name, sim in sims.items():
                for _ in range(calls[name]):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    sim.run()
                    c1, t1 = time.thread_time(), time.perf_counter()
                    wall.setdefault((name, form), []).append(t1 - t0)
                    cpu.setdefault((name, form), []).append(c1 - c0)
    print(f"load average {load0} at start, {os.getloadavg()} at end; {args.rounds} interleaved rounds")
    print(f"{'problem':16s} {'form':5s} {'wall (us)':>10s} {'CPU (us)':>10s} {'steps':>6s} "
          f"{'on/off wall':>12s} {'on/off CPU':>11s} {'max rel diff':>13s}")
    for name in calls:
        off = forms["off"][name].run()
        for form in forms:
            res = forms[form][name].run()
            w = statistics.median(wall[(name, form)]) * 1e6
            c = statistics.median(cpu[(name, form)]) * 1e6
            line = f"{name:16s} {form:5s} {w:10.1f} {c:10.1f} {res.stats['steps']:6d}"
            if form == "on":
                rw = w / (statistics.median(wall[(name, "off")]) * 1e6)
                rc = c / (statistics.median(cpu[(name, "off")]) * 1e6)
                scale = np.abs(off.states).max(axis=0) + 1e-300
                diff = float(np.max(np.abs(res.states - off.states) / (np.abs(off.states) + 1e-6 * scale)))
                line += f" {rw:12.3f} {rc:11.3f} {diff:13.1e}"
            print(line)


if __name__ == "__main__":
    main()

"""Work against precision on one bone_metastasis solve: bonemet_ode and libRoadRunner over a range of tolerances.

Usage::

    python benchmarks/work_precision.py [--rounds 5] [--days 60]

``benchmarks/run.py`` compares the tools at the same nominal tolerance (rtol 1e-6, atol 1e-9), where
they do not deliver the same accuracy.  This script solves the same problem (bone_metastasis's last
default arm, days 0-60 (``--days``), daily outputs; libRoadRunner on the SBML that bonemet_ode exports, doses as SBML
events) at several tolerances (atol = rtol/1000), scores each solve against the tight scipy Radau
reference of ``run.py`` (worst state: max over outputs and states of ``|y - ref| / (|ref| + 1e-6
max|ref|)``), and times it in interleaved rounds (median per round, then the median of the rounds).
It then reads off, for each libRoadRunner tolerance, the fastest bonemet_ode tolerance that is at
least as accurate, and the ratio of their times: the speed-up at equal (or better) accuracy.  It
prints the machine's load; it is context for run.py's targets, not one of them.  Never run in the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _workers as wk  # noqa: E402
import run as base  # noqa: E402

import bonemet_ode as bm  # noqa: E402
from bonemet_ode.models.bone_metastasis import default_arms  # noqa: E402

OURS = (1e-6, 1e-5, 1e-4)
THEIRS = (1e-6, 1e-7, 1e-8)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--days", type=int, default=int(base.DAYS),
                    help="solve days 0..DAYS with daily outputs (default 60, run.py's; the issue's target names 28)")
    args = ap.parse_args(argv)
    if args.days < 1:
        ap.error(f"--days must be a positive number of days, got {args.days}")
    days = float(args.days)
    missing = wk.roadrunner_available()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    model, arm = bm.models.get("bone_metastasis"), default_arms()[-1]
    print("reference (scipy Radau, rtol 1e-10) ...", flush=True)
    case = base.Case("bone_metastasis", model, arm, False, days=days)
    times, n_out = case.times, len(case.times)
    # a dose at the last output time: the tools report the state after it, the reference's schedule stops
    # before the end; score the outputs before it
    at_end = any(float(t) == days for dose in arm.doses for t in dose.administration_times(days + 1.0))
    rows = slice(0, n_out - 1) if at_end else slice(None)
    if at_end:
        print(f"a dose falls on day {args.days}, the last output: errors are scored on the outputs before it")

    def worst(y: np.ndarray) -> float:
        return base.worst_state_error(y[rows], case.reference[rows])

    runs: dict[tuple[str, float], dict] = {}
    for rtol in OURS:
        sim = bm.Simulator(model, arm, days, times, bm.SolverOptions(rtol=rtol, atol=rtol * 1e-3))
        res = sim.run()
        runs[("bonemet_ode", rtol)] = {"solve": sim.run, "err": worst(res.states),
                                       "steps": res.stats["steps"], "ms": []}
    if missing:
        print(f"libroadrunner is not installed ({missing}): only bonemet_ode is measured")
    else:
        from bonemet_ode.io.sbml import to_sbml

        xml = to_sbml(model, arm, days=days)
        names = arm.apply(model).state_names
        for rtol in THEIRS:
            rr = wk.load_roadrunner(xml, rtol, rtol * 1e-3, names)
            y = wk.rr_solve(rr, days, n_out)[:, 1:]
            runs[("libRoadRunner", rtol)] = {"solve": (lambda rr=rr: wk.rr_solve(rr, days, n_out)),
                                             "err": worst(y), "steps": None,
                                             "ms": []}
    for _ in range(args.rounds):
        for key, r in runs.items():
            r["ms"].append(wk.median_ms(r["solve"], 40 if key[0] == "bonemet_ode" else 8))
    print(f"\nbone_metastasis '{arm.name}', days 0-{args.days}, {n_out} outputs, atol = rtol/1000; "
          f"median of {args.rounds} interleaved rounds\n")
    print(f"{'tool':<15}{'rtol':>8}{'ms':>10}{'worst state':>14}{'steps':>8}")
    for (tool, rtol), r in runs.items():
        r["median_ms"] = statistics.median(r["ms"])
        print(f"{tool:<15}{rtol:>8.0e}{r['median_ms']:>10.4f}{r['err']:>14.1e}{r['steps'] or '':>8}")
    out = {"runs": {f"{t} {rt:g}": {k: v for k, v in r.items() if k != "solve"} for (t, rt), r in runs.items()},
           "equal_accuracy": {}}
    if not missing:
        same = runs[("libRoadRunner", 1e-6)]["median_ms"] / runs[("bonemet_ode", 1e-6)]["median_ms"]
        out["same_tolerance"] = same
        print(f"\nat the same tolerance (rtol 1e-6, run.py's): {same:.1f}x")
        print("at equal or better accuracy (the fastest bonemet_ode tolerance at least as accurate):")
        for rtol in THEIRS:
            theirs = runs[("libRoadRunner", rtol)]
            ok = [r for (t, _), r in runs.items() if t == "bonemet_ode" and r["err"] <= theirs["err"]]
            if not ok:
                print(f"  libRoadRunner rtol {rtol:g} (worst {theirs['err']:.1e}): no bonemet_ode tolerance measured "
                      "is as accurate")
                continue
            best = min(ok, key=lambda r: r["median_ms"])
            ratio = theirs["median_ms"] / best["median_ms"]
            out["equal_accuracy"][f"{rtol:g}"] = ratio
            print(f"  libRoadRunner rtol {rtol:g} (worst {theirs['err']:.1e}, {theirs['median_ms']:.3f} ms): "
                  f"{ratio:.1f}x (bonemet_ode worst {best['err']:.1e}, {best['median_ms']:.4f} ms)")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return out


if __name__ == "__main__":
    main()

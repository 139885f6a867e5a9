"""Cost of the state-event machinery: event-free solves against a baseline checkout, and solves with events.

Usage::

    python benchmarks/events_overhead.py --baseline /path/to/other/checkout [--rounds 5]

Times one ``Simulator.run`` of the reference problem (combination arm, days 0-60, 61 outputs,
rtol 1e-6, atol 1e-9) and of bone_metastasis (last default arm, 28 days) in this checkout and in
the baseline checkout (for example the main branch before events), in separate processes that
alternate round by round, so that load from other processes falls on both alike; prints the
median per-solve time of each and their ratio.  Then, in this checkout only, the cost of events
on bone_metastasis: the plain anti-PD-1 arm against the same arm with the extinction event on
the tumour (never firing in 28 days) and an adaptive anti-PD-1 arm (gate events watched and fired).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np
import bonemet_ode as bm
from bonemet_ode.models.reference import perf_reference, perf_reference_combination_arm
from bonemet_ode.models.bone_metastasis import default_arms

def per_solve(sim, n):
    sim.run()
    best = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            sim.run()
        best.append((time.perf_counter() - t0) / n)
    return float(np.median(best))

out = {}
ref = bm.Simulator(perf_reference(), perf_reference_combination_arm(), 60.0, np.linspace(0, 60, 61),
                   bm.SolverOptions(rtol=1e-6, atol=1e-9))
out["reference"] = per_solve(ref, 400)
bone = bm.models.get("bone_metastasis")
out["bone_metastasis"] = per_solve(bm.Simulator(bone, default_arms()[-1], 28.0), 40)
if sys.argv[1] == "events":
    pd1 = [a for a in default_arms() if a.name == "anti-PD-1"][0]
    out["bone anti-PD-1"] = per_solve(bm.Simulator(bone, pd1, 28.0), 40)
    out["bone anti-PD-1 + extinction event"] = per_solve(
        bm.Simulator(bone.with_extinction("tumor", absorbing=False), pd1, 28.0), 40)
    adaptive = bm.Arm("adaptive", [bm.Dose("anti_pd1", 10.0, every=3, start=7, while_above=("tumor", 2e5))])
    out["bone adaptive anti-PD-1 (gate events)"] = per_solve(bm.Simulator(bone, adaptive, 28.0), 40)
print(json.dumps(out))
"""


def run(src: Path, mode: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src / "src"))
    env.setdefault("BONEMET_ODE_CACHE", tempfile.gettempdir() + f"/bm-overhead-{abs(hash(str(src)))}")
    proc = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, type=Path, help="checkout to compare with (e.g. main)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    here = Path(__file__).resolve().parents[1]
    rows: dict[str, dict[str, list[float]]] = {"this": {}, "baseline": {}}
    extra: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for label, src, mode in (("this", here, "events"), ("baseline", args.baseline, "plain")):
            res = run(src, mode)
            for k, v in res.items():
                if k in ("reference", "bone_metastasis"):
                    rows[label].setdefault(k, []).append(v)
                else:
                    extra.setdefault(k, []).append(v)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    import statistics as st

    print(f"load average: {os.getloadavg()}")
    print(f"{'problem':40s} {'this (us)':>10s} {'baseline (us)':>14s} {'ratio':>7s}")
    for k in ("reference", "bone_metastasis"):
        a, b = st.median(rows["this"][k]) * 1e6, st.median(rows["baseline"][k]) * 1e6
        print(f"{k:40s} {a:10.1f} {b:14.1f} {a / b:7.3f}")
    base = st.median(extra["bone anti-PD-1"])
    print(f"\n{'events (this checkout)':40s} {'us':>10s} {'vs plain arm':>14s}")
    for k, v in extra.items():
        print(f"{k:40s} {st.median(v) * 1e6:10.1f} {st.median(v) / base:14.3f}")


if __name__ == "__main__":
    main()

"""exp and log through glibc's libmvec (``toolchain.mvec_width``) against C's scalar functions, in one run.

Usage::

    python benchmarks/mvec.py [--rounds 5] [--members 64] [--width 4]

Builds bone_metastasis (its last default arm, days 0-60, 61 outputs, rtol 1e-6, atol 1e-9, as in
``benchmarks/run.py``) twice: with libmvec (the default where it is usable) and with
``BONEMET_ODE_MVEC=0`` (C's ``exp``/``log``, the code of every build before; a library of its own:
the width is part of the cache key).  Then times, in interleaved rounds in this one process (so that
load from other processes falls on both alike):

* ``single``: one solve by the one-member solver (``Simulator.run``), whose ``exp``/``log`` call the
  vector function with the argument broadcast;
* ``cohort``: ``--members`` members (free parameters jittered log-normally, sigma 0.15, seeded) in
  lock-step lanes (``Simulator.solve``), per member;
* ``one at a time``: the same members by the one-member solver (``Simulator.solve_one``), per member.

Prints the median thread CPU time of each, the ratios libmvec/scalar, the lane speed-up (one at a
time / cohort per member), ``os.getloadavg()`` before and after, and checks that each build's cohort is
bit-identical to its own one-at-a-time solves (the lanes' guarantee) and how far the two builds' states
are apart (rounding of exp/log only).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import bonemet_ode as bm
from bonemet_ode.compile import backend, toolchain
from bonemet_ode.models.bone_metastasis import default_arms

DAYS, RTOL, ATOL = 60.0, 1e-6, 1e-9
TIMES = np.linspace(0.0, DAYS, 61)


def simulator(mvec: str) -> tuple[bm.Simulator, int]:
    """bone_metastasis's simulator built with ``BONEMET_ODE_MVEC=mvec``, and the vector width in use."""
    saved = os.environ.get("BONEMET_ODE_MVEC")
    os.environ["BONEMET_ODE_MVEC"] = mvec
    try:
        sim = bm.Simulator(bm.models.get("bone_metastasis"), default_arms()[-1], DAYS, TIMES,
                           bm.SolverOptions(rtol=RTOL, atol=ATOL))
        sim.run()  # builds the library now, under this setting
        return sim, toolchain.mvec_width(backend.cache_dir())
    finally:
        if saved is None:
            os.environ.pop("BONEMET_ODE_MVEC", None)
        else:
            os.environ["BONEMET_ODE_MVEC"] = saved


def members(sim: bm.Simulator, n: int) -> tuple[np.ndarray, np.ndarray]:
    model = sim.model
    rng = np.random.default_rng(3)
    P = np.tile(sim.parameters()[0], (n, 1))
    for i, p in enumerate(model.parameters):
        if p.value > 0 and 0.5 * p.value >= p.lower and 2.0 * p.value <= p.upper:
            P[:, i] *= np.exp(0.15 * rng.standard_normal(n))
    return P, np.tile(sim.initial_state(), (n, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--members", type=int, default=64)
    ap.add_argument("--width", default="", help="BONEMET_ODE_MVEC of the libmvec build: empty (widest) or 4")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    builds = {}
    for name, mode in (("libmvec", args.width), ("scalar", "0")):
        sim, width = simulator(mode)
        builds[name] = sim
        print(f"{name}: vector width {width}")
    if toolchain.mvec_width(backend.cache_dir()) == 0:
        print("libmvec is not usable on this host: both builds are the scalar one")
    P, Y0 = members(builds["scalar"], args.members)
    times: dict[tuple[str, str], list[float]] = {}
    results = {}
    for _ in range(args.rounds):
        for name, sim in builds.items():
            t = time.thread_time()
            for _k in range(10):
                sim.run()
            times.setdefault((name, "single"), []).append((time.thread_time() - t) / 10)
            t = time.thread_time()
            Y = sim.solve(P, Y0)[0]
            times.setdefault((name, "cohort"), []).append((time.thread_time() - t) / len(P))
            t = time.thread_time()
            Y1 = np.stack([sim.solve_one(P[k], Y0[k])[0][0] for k in range(len(P))])
            times.setdefault((name, "one at a time"), []).append((time.thread_time() - t) / len(P))
            results[name] = (Y, Y1)
    print(f"load average after: {os.getloadavg()}")
    print(f"bone_metastasis, median thread CPU per solve over {args.rounds} rounds (ms):")
    print(f"{'':16s}{'libmvec':>10s}{'scalar':>10s}{'ratio':>8s}")
    for what in ("single", "one at a time", "cohort"):
        a = statistics.median(times[("libmvec", what)]) * 1e3
        b = statistics.median(times[("scalar", what)]) * 1e3
        print(f"{what:16s}{a:10.3f}{b:10.3f}{a / b:8.3f}")
    for name in builds:
        speed = statistics.median(times[(name, "one at a time")]) / statistics.median(times[(name, "cohort")])
        Y, Y1 = results[name]
        print(f"{name}: lane speed-up per member {speed:.2f}x; cohort bit-identical to one-at-a-time solves: "
              f"{bool(np.array_equal(Y, Y1, equal_nan=True))}")
    Ya, Yb = results["libmvec"][0], results["scalar"][0]
    rel = np.abs(Ya - Yb) / np.maximum(np.abs(Yb), 1e-12)
    print(f"largest relative difference libmvec vs scalar build: {np.nanmax(rel):.2e}")


if __name__ == "__main__":
    main()

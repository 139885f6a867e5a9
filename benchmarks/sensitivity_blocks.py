"""Forward-sensitivity gradients of PEtab benchmark problems: block-by-block stage solves vs one LU of the whole system.

A forward-sensitivity system ``[x, S_1, ..., S_m]`` has a block lower-triangular Jacobian whose diagonal
blocks are all ``df/dx``.  With ``codegen.SENSITIVITY_BLOCKS`` (the default) a large system (more than
``codegen.LANE_MAX_STATES`` equations) factors only the states' ``n x n`` block and solves block by block,
with a dense pivoting fallback of that block; the baseline (``SENSITIVITY_BLOCKS = False``, the generator
before) factors the whole ``n (m + 1)`` system, which has no dense fallback beyond solver_core.c's
``BM_DENSE_MAX`` equations: its steps shrink until the static pivots are safe.

Per problem and setting, in one run, each in an empty compile cache: the time to generate and compile the
sensitivity library, the wall time of one gradient evaluation (``PetabProblem.evaluate(gradient=True)``,
best of ``--repeat``) and, for the baseline, whether it finished.  The baseline of Isensee_JCB2018 is
measured on its first pre-equilibration alone (the whole evaluation would take tens of minutes): the solve
with sensitivities to the steady-state time, its steps and its status.

Run: ``python benchmarks/sensitivity_blocks.py [--problems Boehm_JProteomeRes2014 Fujita_SciSignal2010 Isensee_JCB2018]
[--repeat 2]`` (needs ../shared/data/petab/benchmark-models).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent.parent / "shared" / "data" / "petab" / "benchmark-models"
if not BENCH.is_dir():
    BENCH = Path("/work/shared/data/petab/benchmark-models")


def _preeq_solve(pp) -> tuple[float, int, int]:
    """Wall time, steps and status of the first pre-equilibration's solve with sensitivities to 1e9."""
    from bonemet_ode.petab import problem as P
    from bonemet_ode.petab.reading import unscale

    plin = pp._nominal_all.astype(float).copy()
    plin[pp._est_rows] = [unscale(v, s) for v, s in zip(pp.x_nominal, pp.scales)]
    c = next(c for c in pp.conditions if c.preeq)
    p = pp._values(c.p_pre, plin, True)
    Dp = pp._dvalues(c.p_pre, plin, True)
    x0, _V = pp._initial(p, Dp, c.x_pre, plin, None)
    n, m = len(x0), len(pp._targets)
    y0 = np.zeros(n * (1 + m))
    y0[:n] = x0
    for a, zi in enumerate(pp._Z):
        y0[n * (1 + len(pp._K) + a) + zi] = 1.0
    sim = pp._simulator(P.SS_TIMES, True)
    pq, ev = pp._switched(p, float(P.SS_TIMES[-1]), True)
    solver = pp._single(sim, ev)
    t = time.perf_counter()
    _Y, _O, stats, status, _ft, _fs = solver.solve(y0, pq)
    return time.perf_counter() - t, int(stats[0]), int(status)


def run(name: str, blocks: bool, repeat: int) -> dict:
    import bonemet_ode as bm
    from bonemet_ode.compile import codegen
    from bonemet_ode.compile.backend import clear_memory_cache

    codegen.SENSITIVITY_BLOCKS = blocks
    cache = tempfile.mkdtemp(prefix="bm-sensblocks-")
    os.environ["BONEMET_ODE_CACHE"] = cache
    clear_memory_cache()
    try:
        pp = bm.read_petab(BENCH / name / f"{name}.yaml")
        from bonemet_ode.petab import problem as P

        t = time.perf_counter()
        _ = pp._simulator(P.SS_TIMES, True).compiled  # the library every solve with sensitivities uses
        out = {"compile_s": time.perf_counter() - t, "equations": len(pp.model.state_names) * (1 + len(pp._targets))}
        if not blocks and out["equations"] > 1000 and any(c.preeq for c in pp.conditions):
            out["preeq_s"], out["preeq_steps"], out["preeq_status"] = _preeq_solve(pp)
            return out
        best = np.inf
        for _ in range(repeat):
            t = time.perf_counter()
            ev = pp.evaluate(gradient=True)
            best = min(best, time.perf_counter() - t)
        out["grad_s"] = best
        out["llh"] = ev.llh
        out["grad"] = ev.grad_llh
        if any(c.preeq for c in pp.conditions):
            out["preeq_s"], out["preeq_steps"], out["preeq_status"] = _preeq_solve(pp)
        return out
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="*",
                    default=["Boehm_JProteomeRes2014", "Fujita_SciSignal2010", "Isensee_JCB2018"])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    for name in args.problems:
        new = run(name, True, args.repeat)
        old = run(name, False, args.repeat)
        print(f"{name}: {new['equations']} equations")
        print(f"  compile (codegen + cc) s: baseline {old['compile_s']:.1f}, blocks {new['compile_s']:.1f}, "
              f"ratio {old['compile_s'] / new['compile_s']:.2f}")
        if "grad_s" in old:
            diff = np.max(np.abs(old["grad"] - new["grad"]) / np.maximum(np.abs(old["grad"]), 1e-8))
            print(f"  gradient evaluation s: baseline {old['grad_s']:.3f}, blocks {new['grad_s']:.3f}, "
                  f"ratio {old['grad_s'] / new['grad_s']:.2f}; max relative gradient difference {diff:.1e}")
        else:
            print(f"  gradient evaluation s: baseline not run (see preeq), blocks {new['grad_s']:.3f}")
        if "preeq_s" in new:
            print(f"  first pre-equilibration with sensitivities: baseline {old['preeq_s']:.2f} s, "
                  f"{old['preeq_steps']} steps, status {old['preeq_status']}; blocks {new['preeq_s']:.3f} s, "
                  f"{new['preeq_steps']} steps, status {new['preeq_status']}")


if __name__ == "__main__":
    main()

"""Cohort outcomes under common random numbers: deterministic, and how they move along a parameter line.

The ensemble sampler only asks "does every outcome hold here?", so a cohort
outcome (a fraction or rank correlation of a virtual cohort: O16, O18, O21,
P4) must give the same verdict at the same point, and should change in small
steps as parameters change.  The catalogue draws every cohort with a fixed
seed, so both should hold; this script checks them on the shipped model:

1. the same parameters evaluated twice in a fresh context (no cache) give
   identical margins for every outcome;
2. along a line through the shipped defaults (``--param`` scaled by
   ``exp(t)``, ``t`` in ``[-w, w]``), the margins of the cohort outcomes at
   consecutive points: the largest jump, in units of one mouse (1/n for a
   fraction).

Run::

    PYTHONPATH=src python benchmarks/cohort_smoothness.py --param r_C --param k_kill --points 9 --width 0.1
"""

from __future__ import annotations

import argparse

import numpy as np

from bonemet_ode.models import get
from bonemet_ode.models.bone_metastasis.catalogue import DEFAULT_THRESHOLDS, catalogue_context

COHORT = ("O16", "O18", "O21", "P4")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--points", type=int, default=9)
    p.add_argument("--width", type=float, default=0.1, help="half-width of the line in ln(value)")
    args = p.parse_args(argv)
    params = args.param or ["r_C", "k_kill"]
    model = get("bone_metastasis")
    a = catalogue_context(cache_size=0, n_jobs=1).evaluate()
    b = catalogue_context(cache_size=0, n_jobs=1).evaluate()
    same = np.array_equal(a.margins(), b.margins(), equal_nan=True)
    print(f"same point, two fresh contexts: margins identical for all {len(a.margins())} clauses: {same}")
    ctx = catalogue_context(cache_size=0, n_jobs=1)
    n = int(DEFAULT_THRESHOLDS["cohort_n"])
    for name in params:
        p0 = model.parameter(name)
        rows = []
        for t in np.linspace(-args.width, args.width, args.points):
            v = float(np.clip(p0.value * np.exp(t), p0.lower, p0.upper))
            ev = ctx.evaluate({name: v})
            rows.append([ev[o].margin for o in COHORT if o in [r.id for r in ev]])
        M = np.array(rows)
        jumps = np.nanmax(np.abs(np.diff(M, axis=0)), axis=0)
        ids = [o for o in COHORT if o in [r.id for r in a]]
        print(f"{name}: {args.points} points over ln-range ±{args.width:g}; largest margin step between neighbours: "
              + ", ".join(f"{o} {j:.4f} ({j * n:.1f} mice of {n})" if o == "O16" else f"{o} {j:.4f}"
                          for o, j in zip(ids, jumps)))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Robustness of the shipped bone_metastasis defaults: outcomes kept under joint log-normal jitter.

Each draw multiplies every free parameter of the calibration
(:func:`~bonemet_ode.models.bone_metastasis.catalogue.free_parameters`) by
its own factor ``exp(sigma * N(0, 1))`` (one seeded generator per sigma) and
evaluates the whole catalogue; the score is the fraction of draws under which
every outcome holds.  A jittered value outside a parameter's bounds is set to
the bound (the prior box is the calibration's search space); the number of
values so set is printed.  The per-outcome failure counts say which outcomes
break first.

Run (from the repository root; about 1-3 s per draw on one core)::

    PYTHONPATH=src python benchmarks/robustness_bone_metastasis.py --draws 100 --sigma 0.05 0.1
    PYTHONPATH=src python benchmarks/robustness_bone_metastasis.py --draws 100 --no-plausibility

The script also runs on a checkout whose catalogue has no plausibility
statements (O1-O21 only), so the same command measures the code before and
after a change.
"""

from __future__ import annotations

import argparse
import inspect
import time
from collections import Counter

import numpy as np

from bonemet_ode.models import get
from bonemet_ode.models.bone_metastasis.catalogue import catalogue_context, free_parameters


def jitter_draws(names: list[str], sigma: float, n: int, seed: int) -> tuple[list[dict[str, float]], int]:
    """``n`` jittered parameter sets around the shipped defaults and the count of values set to a bound."""
    model = get("bone_metastasis")
    base = np.array([model.parameter(k).value for k in names])
    lo = np.array([model.parameter(k).lower for k in names])
    hi = np.array([model.parameter(k).upper for k in names])
    rng = np.random.default_rng(seed)
    out, at_bound = [], 0
    for _ in range(n):
        x = base * np.exp(sigma * rng.standard_normal(len(names)))
        clipped = np.clip(x, lo, hi)
        at_bound += int(np.sum(clipped != x))
        out.append(dict(zip(names, clipped.tolist())))
    return out, at_bound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--sigma", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-plausibility", action="store_true", help="O1-O21 only")
    args = parser.parse_args(argv)
    kw = {}
    if "include_plausibility" in inspect.signature(catalogue_context).parameters:
        kw["include_plausibility"] = not args.no_plausibility
    context = catalogue_context(cache_size=0, **kw)
    names = free_parameters()
    base = context.evaluate()
    print(f"{len(base)} outcomes; shipped defaults satisfy {sum(r.satisfied for r in base)}; "
          f"{len(names)} parameters jittered; {args.draws} draws per sigma, seed {args.seed}")
    for sigma in args.sigma:
        draws, at_bound = jitter_draws(names, sigma, args.draws, args.seed)
        t0 = time.perf_counter()
        kept, broken = 0, Counter()
        for d in draws:
            ev = context.evaluate(d)
            kept += ev.all_satisfied
            broken.update(r.id for r in ev if not r.satisfied)
        worst = ", ".join(f"{k} {v}" for k, v in broken.most_common(8))
        print(f"sigma {sigma:g}: all outcomes hold in {kept}/{len(draws)} = {kept / len(draws):.0%} of draws "
              f"({at_bound} values set to a bound; {time.perf_counter() - t0:.0f} s); failures: {worst or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

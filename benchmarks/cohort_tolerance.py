"""Cohort clauses of the bone-metastasis catalogue at several cohort tolerances, on ensemble members.

Usage::

    python benchmarks/cohort_tolerance.py [--members N] [--rtols 1e-6,1e-5,1e-4,1e-3] [--out FILE.npz]

Evaluates the catalogue's cohort statements (O16, O18, P4) on the first ``N`` members of the
shipped ensemble (default: all 1000) with the cohorts solved at each ``rtol`` (the arms are not
involved), and prints, for each rtol against the first (the reference, 1e-6: the evaluation path
before the catalogue's ``COHORT_RTOL``), the verdicts that differ, the largest margin change of
each clause, the members whose margins change at all, and the CPU time of the cohort solves per
evaluation.  This is how ``COHORT_RTOL`` was chosen (docs/performance.md, "Outcome evaluation").
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=None, help="first N members of the shipped ensemble")
    ap.add_argument("--rtols", default="1e-6,1e-5,1e-4,1e-3", help="cohort rtols, the reference first")
    ap.add_argument("--out", help="save margins and verdicts (.npz)")
    args = ap.parse_args(argv)

    import bonemet_ode as bm
    from bonemet_ode.models.bone_metastasis.catalogue import catalogue_context, context_options
    from bonemet_ode.models.bone_metastasis.data import shipped_ensemble
    from bonemet_ode.outcomes import EvaluationContext

    rtols = [float(x) for x in args.rtols.split(",")]
    full = catalogue_context(cache_size=0, n_jobs=1)
    outcomes = [o for o in full.outcomes if o.key in ("O16", "O18", "P4")]
    opts = dict(context_options())
    opts.pop("cohort_options")
    ctxs = [EvaluationContext(full.model, full.arms, outcomes, cohort_options=bm.SolverOptions(rtol=r),
                              cache_size=0, n_jobs=1, **opts) for r in rtols]
    members = shipped_ensemble().members[: args.members]
    leaves = ctxs[0].leaf_ids()
    margins = np.full((len(members), len(rtols), len(leaves)), np.nan)
    verdicts = np.zeros((len(members), len(rtols), len(outcomes)), dtype=bool)
    cpu = np.zeros(len(rtols))
    for i, params in enumerate(members):
        for j, ctx in enumerate(ctxs):
            c0 = time.process_time()
            ev = ctx.evaluate(params)
            cpu[j] += time.process_time() - c0
            margins[i, j] = ev.margins()
            verdicts[i, j] = [r.satisfied for r in ev.results]
    if args.out:
        np.savez(args.out, margins=margins, verdicts=verdicts, leaves=np.array(leaves), rtols=np.array(rtols))
    print(f"{len(members)} ensemble members; clauses {', '.join(leaves)}; reference rtol {rtols[0]:g} "
          f"({1e3 * cpu[0] / len(members):.0f} ms CPU per evaluation of the cohorts); "
          f"verdicts that hold at the reference: {int(verdicts[:, 0].sum())} of {verdicts[:, 0].size}")
    print("\n| cohort rtol | CPU ms / evaluation | verdicts changed | members with a margin change | "
          "largest margin change per clause |")
    print("|---|---|---|---|---|")
    for j in range(1, len(rtols)):
        changed = int((verdicts[:, j] != verdicts[:, 0]).sum())
        diff = np.abs(margins[:, j] - margins[:, 0])
        moved = int((diff > 0).any(axis=1).sum())
        worst = ", ".join(f"{k} {v:.2g}" for k, v in zip(leaves, np.nanmax(diff, axis=0)))
        print(f"| {rtols[j]:g} | {1e3 * cpu[j] / len(members):.0f} | {changed} | {moved} | {worst} |")


if __name__ == "__main__":
    main()

"""Arm clauses of the bone-metastasis catalogue at several arm tolerances, on ensemble members.

Usage::

    python benchmarks/arm_tolerance.py [--members N] [--rtols 1e-6,1e-5,1e-4] [--out FILE.npz]

Evaluates every statement of the catalogue that reads no cohort (O1-O15, O17, O19-O21, P1-P3,
P5, P6: 22 arms to day 365) on the first ``N`` members of the shipped ensemble (default: all
1000), and the shipped default first, with the arms solved at each ``rtol``, and prints, for
each rtol against the first (the reference, 1e-6: the solver's default), the verdicts that
differ, the largest margin change of each clause, the members whose margins change by 1e-3 or
more, and the CPU time of the arm solves per evaluation.  Margins are in the units of what a
clause compares (cells, ratios, fractions), so changes are also given scaled by
``max(|reference margin|, 1)``: the acceptance measure (below 1e-3), together with the largest
absolute change of a margin within 0.05 of its threshold.  The companion of
``benchmarks/cohort_tolerance.py``; this is how ``ARM_RTOL`` was chosen (docs/performance.md,
"Outcome evaluation").
"""

from __future__ import annotations

import argparse
import time

import numpy as np

COHORT_IDS = ("O16", "O18", "P4")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=None, help="first N members of the shipped ensemble")
    ap.add_argument("--rtols", default="1e-6,1e-5,1e-4", help="arm rtols, the reference first")
    ap.add_argument("--out", help="save margins and verdicts (.npz)")
    args = ap.parse_args(argv)

    import bonemet_ode as bm
    from bonemet_ode.models.bone_metastasis.catalogue import catalogue_context, context_options
    from bonemet_ode.models.bone_metastasis.data import shipped_ensemble
    from bonemet_ode.outcomes import EvaluationContext

    rtols = [float(x) for x in args.rtols.split(",")]
    full = catalogue_context(cache_size=0, n_jobs=1)
    outcomes = [o for o in full.outcomes if o.key not in COHORT_IDS]
    opts = dict(context_options())
    opts.pop("options", None)
    ctxs = [EvaluationContext(full.model, full.arms, outcomes, options=bm.SolverOptions(rtol=r),
                              cache_size=0, n_jobs=1, **opts) for r in rtols]
    assert not ctxs[0].cohorts, "an arm statement reads a cohort"
    members = [{}] + list(shipped_ensemble().members[: args.members])
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
    print(f"shipped default + {len(members) - 1} ensemble members; {len(outcomes)} statements, {len(leaves)} "
          f"clauses; reference rtol {rtols[0]:g} ({1e3 * cpu[0] / len(members):.0f} ms CPU per evaluation of "
          f"the arms); verdicts that hold at the reference: {int(verdicts[:, 0].sum())} of {verdicts[:, 0].size}")
    print("\n| arm rtol | CPU ms / evaluation | verdicts changed | members with a margin change >= 1e-3 | "
          "largest change scaled by max(|margin|, 1) (clauses) | largest change of a margin within 0.05 of 0 |")
    print("|---|---|---|---|---|---|")
    for j in range(1, len(rtols)):
        changed = int((verdicts[:, j] != verdicts[:, 0]).sum())
        diff = np.abs(margins[:, j] - margins[:, 0])
        diff = np.where(np.isnan(margins[:, j]) & np.isnan(margins[:, 0]), 0.0, diff)
        scaled = diff / np.maximum(np.abs(margins[:, 0]), 1.0)
        per_clause = np.nanmax(scaled, axis=0)
        moved = int((diff >= 1e-3).any(axis=1).sum())
        top = np.argsort(per_clause)[::-1][:3]
        worst = ", ".join(f"{leaves[k]} {per_clause[k]:.2g}" for k in top)
        near = np.abs(margins[:, 0]) < 0.05
        print(f"| {rtols[j]:g} | {1e3 * cpu[j] / len(members):.0f} | {changed} | {moved} | "
              f"{np.nanmax(per_clause):.2g} ({worst}) | {np.nanmax(np.where(near, diff, 0.0)):.2g} |")
        flips = np.argwhere(verdicts[:, j] != verdicts[:, 0])
        for i, k in flips[:10]:
            print(f"    verdict change: member {i - 1 if i else 'default'} {outcomes[k].key}")
    print("\nlargest absolute margin change per clause:")
    for j in range(1, len(rtols)):
        diff = np.abs(margins[:, j] - margins[:, 0])
        per_clause = np.nanmax(np.where(np.isnan(diff), 0.0, diff), axis=0)
        print(f"  rtol {rtols[j]:g}: " + ", ".join(f"{k} {v:.2g}" for k, v in zip(leaves, per_clause)))


if __name__ == "__main__":
    main()

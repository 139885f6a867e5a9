"""``bonemet-ode petab``: log-likelihood of a PEtab problem at its nominal parameters, or a multistart fit."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "petab", help="evaluate (--llh) or fit (--fit) a PEtab v1 problem",
        description="Read a PEtab v1 problem (YAML) and either print the log-likelihood, chi2 and simulation table "
                    "at the nominal parameters (--llh), or fit it from seeded multistart (--fit) and write "
                    "estimates, a waterfall plot, one figure per observable and summary.json into --out.",
    )
    p.add_argument("problem", type=Path, help="the PEtab problem's YAML file")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--llh", action="store_true", help="log-likelihood and chi2 at the nominal parameters")
    mode.add_argument("--fit", action="store_true", help="multistart fit")
    p.add_argument("--json", action="store_true", help="with --llh: print one JSON object (llh, chi2, simulations)")
    p.add_argument("--starts", type=int, default=100, help="number of starts (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the start points (default 0)")
    p.add_argument("--method", choices=("auto", "lm", "fides", "trf", "dogbox", "lbfgsb"), default="auto",
                   help="optimiser (default auto: projected Levenberg-Marquardt on the residuals for normal noise, "
                        "else L-BFGS-B); fides needs `pip install fides`")
    p.add_argument("--no-profiles", action="store_true",
                   help="with --fit: skip the profile-likelihood intervals of the best fit")
    p.add_argument("--out", type=Path, help="output folder for --fit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ParameterError
    from ._common import check_output_dir, progress_of, refuse_unused

    prog = progress_of(args)
    if args.fit:
        refuse_unused(args, ("json",), "applies only with --llh (--fit writes its results to --out)")
    else:
        refuse_unused(args, ("starts", "seed", "method", "no_profiles", "out"),
                      "applies only with --fit (--llh prints to stdout)")
    if args.fit:
        if args.out is None:
            raise ParameterError("--fit needs --out DIR")
        if args.starts < 1:
            raise ParameterError(f"--starts must be a positive integer, got {args.starts}")
        if args.seed < 0:
            raise ParameterError(f"--seed must be a non-negative integer, got {args.seed}")
        out = check_output_dir(args.out)
    from ..petab import read_petab

    prog(f"reading {args.problem}")
    pp = read_petab(args.problem)
    if args.llh:
        sims = pp.simulations()
        ev = pp.evaluate()
        if args.json:
            print(json.dumps({"llh": ev.llh, "chi2": ev.chi2, "n_measurements": len(sims),
                              "gradient_method": pp.gradient_method,
                              "simulations": json.loads(sims.to_json(orient="records"))}))
        else:
            print(f"llh\t{ev.llh:.10g}\nchi2\t{ev.chi2:.10g}")
            print(sims.to_csv(sep="\t", index=False), end="")
        return 0
    return _fit(pp, args, out, prog)


def _fit(pp, args: argparse.Namespace, out: Path, prog) -> int:
    import time

    from ..petab.multistart import multistart
    from ..plotting.petab import plot_observable_fit, plot_waterfall
    from ._common import root_figure

    prog(f"{len(pp.free)} free parameters, {args.starts} starts (seed {args.seed}), gradient by "
         f"{pp.gradient_method}")
    t0 = time.perf_counter()

    def step(i, s):
        prog(f"start {i + 1}/{args.starts}: {s.status}, objective {s.fval:.6g} ({s.wall_s:.1f} s)")

    res = multistart(pp, args.starts, args.seed, progress=step, method=args.method)
    wall = time.perf_counter() - t0
    best = res.best
    table = res.to_frame()
    table.to_csv(out / "starts.csv", index=False)
    est = [{"parameterId": p, "scale": s, "estimate_scaled": float(v),
            "estimate": float(v if s == "lin" else (math.exp(v) if s == "log" else 10 ** v)),
            "on_bound": p in best.on_bound} for p, s, v in zip(pp.free, pp.scales, best.x)]
    import pandas as pd

    if not args.no_profiles:
        from ..estimate.profile import identifiability_table
        from ..petab.profiles import petab_profiles

        prog("profile likelihood of the best fit")
        prof = petab_profiles(pp, best.x)
        identifiability_table(prof).to_csv(out / "profiles.tsv", sep="\t")
        for d in est:
            pr = prof[d["parameterId"]]
            d.update(profile_lower_95=pr.lower, profile_upper_95=pr.upper, identifiability=pr.verdict)
    pd.DataFrame(est).to_csv(out / "estimates.tsv", sep="\t", index=False)
    ev = pp.evaluate(best.x)
    sims = pp.simulations(best.x)
    sims.to_csv(out / "simulations.tsv", sep="\t", index=False)
    ax = plot_waterfall(list(res.fvals()), converged=[s.converged for s in res.starts])
    root_figure(ax).savefig(out / "waterfall.png", dpi=120)
    table_fit = pp.measurements.copy()
    table_fit["simulation"] = ev.simulation
    for o in pp.observable_ids:
        if (table_fit["observableId"] == o).any():
            ax = plot_observable_fit(table_fit, o)
            root_figure(ax).savefig(out / f"fit_{o}.png", dpi=120)
    summary = {
        "problem": str(args.problem), "n_starts": args.starts, "seed": args.seed,
        "best_llh": ev.llh, "best_chi2": ev.chi2, "best_objective": best.fval,
        "n_converged": res.n_converged(), "status_counts": res.counts(),
        "n_within_0.1_of_best": res.n_within(0.1), "resampled_starts": res.resampled,
        "resample_reasons": res.resample_reasons, "wall_s": wall,
        "wall_s_per_converged_start": wall / res.n_converged() if res.n_converged() else None,
        "gradient_method": pp.gradient_method, "best_on_bound": list(best.on_bound),
        "method": res.method,
        "estimates": {d["parameterId"]: d["estimate"] for d in est},
        "intervals_95": None if args.no_profiles else {
            d["parameterId"]: {"estimate": d["estimate"], "lower": _num(d["profile_lower_95"]),
                               "upper": _num(d["profile_upper_95"]), "verdict": d["identifiability"]}
            for d in est},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"best llh {ev.llh:.6f} (chi2 {ev.chi2:.6g}); {res.n_converged()} of {args.starts} starts converged "
          f"({res.counts()}); {res.resampled} start points resampled; wrote {out}")
    if summary["intervals_95"]:
        print("parameter\testimate\t95% profile interval\tverdict")
        for p, d in summary["intervals_95"].items():
            print(f"{p}\t{d['estimate']:.6g}\t[{_fmt(d['lower'])}, {_fmt(d['upper'])}]\t{d['verdict']}")
    return 0


def _num(v: float) -> float | None:
    """JSON has no NaN: an interval end that the profile did not reach is null."""
    return float(v) if math.isfinite(v) else None


def _fmt(v: float | None) -> str:
    return "open" if v is None else f"{v:.6g}"

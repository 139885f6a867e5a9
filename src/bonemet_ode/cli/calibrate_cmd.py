"""``bonemet-ode calibrate``: qualitative calibration of the bone-metastasis model on the O1–O21 catalogue.

Free parameters are, in order of preference: ``--free NAME`` options;
``bonemet_ode.models.bone_metastasis.catalogue.free_parameters()`` when the catalogue
defines it (names or :class:`~bonemet_ode.calibration.calibrator.FreeParameter`);
else every model parameter with finite bounds (and a positive lower bound
when log-scaled).  The result is written as JSON (bit-exact floats) and its
report printed; the exit status is 0 when every outcome holds, else 1.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["register", "run", "default_free"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` sub-command and its options to the ``bonemet-ode`` parser (``sub``: its sub-parsers)."""
    p = sub.add_parser(
        "calibrate", help="find parameters under which every catalogue outcome holds (or report conflicts)",
        description="Method 'lsq' (default): Latin-hypercube screening (plus the current values), then lmfit "
                    "least-squares refinement of smooth outcome penalties; stops early when every outcome holds "
                    "with the safety margin. Method 'evolution': a seeded derivative-free (1+6) evolution "
                    "strategy from the hand-built start (or --params), then a confirming evaluation; it copes "
                    "with the step-like cohort outcomes. Exit status 1 when some outcome still fails.",
    )
    p.add_argument("--method", choices=["lsq", "evolution"], default="lsq", help="search method (default lsq)")
    p.add_argument("--generations", type=int, default=100, help="evolution: generations of 6 offspring (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the screening (default 0; same seed, same result)")
    p.add_argument("--starts", type=int, default=64, help="Latin-hypercube screening points (default 64)")
    p.add_argument("--refine", type=int, default=4, help="best screening points refined locally (default 4)")
    p.add_argument("--max-nfev", type=int, default=200, help="evaluations per local refinement (default 200)")
    p.add_argument("--safety", type=float, default=0.02,
                   help="margin wanted beyond each boundary (default 0.02; O6, O2 and O16's control clause cannot "
                        "have margins above ln 1.05 = 0.049, ln 1.1 = 0.095 and 0.02)")
    p.add_argument("--free", action="append", default=[], metavar="NAME", help="free parameter (repeatable)")
    p.add_argument("--params", type=Path, metavar="FILE", help="fixed parameter overrides (JSON, as for 'outcomes')")
    p.add_argument("--no-conflicts", action="store_true", help="skip the conflict analysis")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar on stderr (default: yes, unless --quiet)")
    p.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1,
                   help="threads for the simulations of each evaluation (default: every core)")
    p.add_argument("--out", type=Path, required=True, help="output JSON file")
    e = p.add_argument_group("ensemble", "with --ensemble N: sample N distinct parameter sets, each satisfying every "
                                         "outcome, uniformly over the region where they all hold (hit-and-run slice "
                                         "sampling; see docs/calibration.md); the file is written as it goes and a "
                                         "rerun with the same --out, seed and settings continues it")
    e.add_argument("--ensemble", type=int, metavar="N", help="members wanted (the default of the API is 1000)")
    e.add_argument("--chains", type=int, default=4, help="chains, run interleaved (default 4)")
    e.add_argument("--burn", type=int, default=60, help="burn-in steps per chain (default 60)")
    e.add_argument("--thin", type=int, default=2, help="steps per chain between members (default 2)")
    e.add_argument("--start", type=Path, action="append", default=[], metavar="FILE",
                   help="feasible starting values (JSON {name: value}, repeatable; default: the shipped defaults)")
    e.add_argument("--no-resume", action="store_true", help="overwrite --out instead of continuing it")
    p.set_defaults(func=run)


def _run_ensemble(args: argparse.Namespace, model: Any, arms: Any, outcomes: Any, options: dict[str, Any],
                  fixed: dict[str, float], show: bool, progress: Any) -> int:
    import sys

    from ..calibration.ensemble import EnsembleSettings, calibrate_ensemble
    from ..errors import FitError, UnknownNameError
    from ..outcomes.context import EvaluationContext
    from .outcomes_cmd import read_params

    for name, value, low in (("--ensemble", args.ensemble, 1), ("--chains", args.chains, 1), ("--burn", args.burn, 0),
                             ("--thin", args.thin, 1)):
        if value < low:
            raise FitError(f"{name} must be an integer >= {low}, got {value}")
    unknown = [n for n in args.free if n not in model.parameter_names]
    if unknown:
        raise UnknownNameError(f"--free {unknown[0]!r}: not a parameter of {model.name!r}")
    free: list[Any] = list(args.free)
    if not free:
        from ..models.bone_metastasis import catalogue

        chooser = getattr(catalogue, "ensemble_prior", None) or getattr(catalogue, "free_parameters", None)
        free = list(chooser()) if callable(chooser) else default_free(model)
    options.setdefault("n_jobs", args.n_jobs)
    context = EvaluationContext(model, arms, outcomes, params=fixed, **options)
    starts = [read_params(f, model, flag="--start") for f in args.start] or None
    if starts is not None:
        base = {**model.parameter_values(), **fixed}
        names = [f if isinstance(f, str) else f.name for f in free]
        starts = [{n: s.get(n, base[n]) for n in names} for s in starts]
    settings = EnsembleSettings(n_chains=args.chains, n_burn=args.burn, thin=args.thin)
    progress.note(f"ensemble of {args.ensemble} members: {len(free)} free parameters, {len(context.outcomes)} "
                  f"outcomes, {args.chains} chains, seed {args.seed}")
    ens = calibrate_ensemble(context, free, args.ensemble, seed=args.seed, out=args.out, starts=starts,
                             settings=settings, resume=not args.no_resume, progress=show,
                             log=None if progress.quiet or show else (lambda line: print(line, file=sys.stderr)))
    print(ens.summary())
    print(f"\nwrote {args.out} ({len(ens)} members)")
    return 0 if ens.complete else 1


def default_free(model: Any) -> list[str]:
    """Model parameters with finite bounds (lower > 0 when log-scaled) and a non-empty range."""
    out = []
    for p in model.parameters:
        bounded = math.isfinite(p.lower) and math.isfinite(p.upper) and p.lower < p.upper
        if bounded and not (p.log_scale and p.lower <= 0):
            out.append(p.name)
    return out


def _refuse_unused(args: argparse.Namespace) -> None:
    """Refuse options that the chosen calibration (ensemble, least squares, evolution) would not read."""
    from ._common import refuse_unused

    if args.ensemble is None:
        refuse_unused(args, ("chains", "burn", "thin", "start", "no_resume"), "applies only with --ensemble N")
        if args.method == "lsq":
            refuse_unused(args, ("generations",), "applies only with --method evolution")
        else:
            refuse_unused(args, ("starts", "refine", "max_nfev"),
                          "applies only with --method lsq (evolution searches from the hand-set start)")
    else:
        refuse_unused(args, ("method", "generations", "starts", "refine", "max_nfev", "safety", "no_conflicts"),
                      "applies only to the single-point calibration (without --ensemble; the ensemble's chains are "
                      "set by --chains, --burn, --thin)")


def run(args: argparse.Namespace) -> int:
    """Run ``bonemet-ode calibrate`` with the parsed ``args``; return the exit status (0: success)."""
    from ..calibration.calibrator import CalibrationSettings, Calibrator
    from ..errors import FitError
    from ..outcomes.context import EvaluationContext
    from ._common import check_output_file, progress_of
    from .outcomes_cmd import load_scenario, read_params

    progress = progress_of(args)
    _refuse_unused(args)
    check_output_file(args.out)  # before the work: a bad --out must not cost a calibration
    for name, value, low in (("--starts", args.starts, 0), ("--refine", args.refine, 0),
                             ("--max-nfev", args.max_nfev, 1), ("--generations", args.generations, 1),
                             ("--n-jobs", args.n_jobs, 1)):
        if value < low:
            raise FitError(f"{name} must be an integer >= {low}, got {value}")
    if not (math.isfinite(args.safety) and args.safety >= 0):
        raise FitError(f"--safety must be a finite number >= 0, got {args.safety}")
    show = (not progress.quiet) if args.progress is None else bool(args.progress and not progress.quiet)
    model, arms, outcomes, options = load_scenario()
    fixed = read_params(args.params, model) if args.params else {}
    if args.ensemble is not None:
        return _run_ensemble(args, model, arms, outcomes, options, fixed, show, progress)
    unknown = [n for n in args.free if n not in model.parameter_names]
    if unknown:
        from ..errors import UnknownNameError

        raise UnknownNameError(f"--free {unknown[0]!r}: not a parameter of {model.name!r}")
    options.setdefault("n_jobs", args.n_jobs)
    context = EvaluationContext(model, arms, outcomes, params=fixed, **options)
    free: list[Any] = list(args.free)
    if not free:
        from ..models.bone_metastasis import catalogue

        chooser = getattr(catalogue, "free_parameters", None)
        free = list(chooser()) if callable(chooser) else default_free(model)
    if not free:
        raise FitError("no free parameter: give --free NAME")
    if args.method == "evolution":
        import sys

        from ..calibration.evolve import evolve
        from ..models.bone_metastasis.catalogue import HAND_START

        names = [f if isinstance(f, str) else f.name for f in free]
        base = model.parameter_values()
        start = {n: float(fixed.get(n, HAND_START.get(n, base[n]))) for n in names}
        found = evolve(context, start, seed=args.seed, generations=args.generations,
                       log=(lambda line: print(line, file=sys.stderr)) if show else None)
        context = EvaluationContext(model, arms, outcomes, params={**fixed, **found}, **options)
        settings = CalibrationSettings(n_starts=0, n_refine=0, safety=args.safety, conflicts=not args.no_conflicts,
                                       progress=show)
    else:
        settings = CalibrationSettings(n_starts=args.starts, n_refine=args.refine, max_nfev=args.max_nfev,
                                       safety=args.safety, conflicts=not args.no_conflicts, progress=show)
    progress.note(f"calibrating {len(free)} free parameters against {len(outcomes)} outcomes ({args.method})")
    result = Calibrator(context, free, settings).run(args.seed)
    result.save(args.out)
    print(result.report())
    print(f"\nwrote {args.out}")
    return 0 if result.satisfied else 1

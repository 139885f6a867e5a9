"""``bonemet-ode outcomes``: evaluate the O1–O21 catalogue on the bone-metastasis model.

The catalogue and the arms come from two functions the model provides:
``bonemet_ode.models.bone_metastasis.catalogue.default_catalogue()`` (a sequence of
:class:`~bonemet_ode.outcomes.Outcome` or outcome text) and
``bonemet_ode.models.bone_metastasis.scenario_arms()`` (a mapping of arm
name to :class:`~bonemet_ode.simulate.Arm`, or a list of arms).  When the
catalogue module also defines ``context_options()``, its dict is passed to
:class:`~bonemet_ode.outcomes.EvaluationContext` (``days``, ``step``,
``variability``, ``options``, ...).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run", "load_scenario", "read_params"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``outcomes`` sub-command and its options to the ``bonemet-ode`` parser (``sub``: its sub-parsers)."""
    p = sub.add_parser(
        "outcomes", help="evaluate the qualitative outcome catalogue (O1–O21) on the bone-metastasis model",
        description="Simulate every scenario arm once and report each outcome as satisfied or not, with its "
                    "margin (>= 0: satisfied; log ratio for fold changes). Exit status 1 when any outcome fails.",
    )
    p.add_argument("--params", type=Path, metavar="FILE",
                   help="parameter overrides: a JSON object {name: value} or a calibration written by 'calibrate'")
    p.add_argument("--json", action="store_true", help="print a JSON list (id, satisfied, margin, value, ...)")
    p.add_argument("--ablation", action="store_true",
                   help="also print the ablation matrix (bonemet_ode.models.bone_metastasis.ablation.ablation_matrix)")
    p.add_argument("--member", type=int, metavar="K",
                   help="with --params ENSEMBLE.json: evaluate member K of the ensemble")
    p.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1,
                   help="threads for the simulations of each evaluation (default: every core)")
    x = p.add_argument_group("explain", "--explain: which outcomes the mechanism explains (structural / predicted / "
                                        "fitted / in tension; docs/calibration.md)")
    x.add_argument("--explain", nargs="?", const="", default=None, metavar="FILE",
                   help="print the table: from a saved explanation FILE, else the one shipped with bone_metastasis; "
                        "with --compute, compute it (--out saves it)")
    x.add_argument("--compute", action="store_true",
                   help="compute the table (sizes below) instead of reading it")
    x.add_argument("--ensemble", type=Path, metavar="FILE",
                   help="full ensemble to compute the table from (default: the shipped bone_metastasis ensemble)")
    x.add_argument("--prior-points", type=int, default=256, help="Latin-hypercube points of the prior box (256)")
    x.add_argument("--left-out", type=int, default=50,
                   help="members of each ensemble calibrated without one outcome (default 50; 0: prior only)")
    x.add_argument("--burn", type=int, default=20,
                   help="burn-in steps per chain of each left-out ensemble (default 20; 4 chains, thin 1)")
    x.add_argument("--only", action="append", default=[], metavar="ID",
                   help="outcomes to leave out (repeatable; default: every source outcome O1-O21)")
    x.add_argument("--seed", type=int, default=0, help="seed of the explanation (default 0)")
    x.add_argument("--out", type=Path, metavar="FILE", help="write the computed explanation (JSON)")
    r = p.add_argument_group("robustness", "--robustness: share of joint log-normal jitters of the calibrated "
                                           "parameters that keep every outcome (docs/calibration.md §4)")
    r.add_argument("--robustness", type=float, nargs="+", metavar="SIGMA",
                   help="log-normal sigma(s) of the joint jitters, e.g. 0.05 0.1 (of --params or the defaults)")
    r.add_argument("--draws", type=int, default=200, help="jitters per sigma (default 200)")
    r.add_argument("--jitter-seed", type=int, default=1, help="seed of the jitters (default 1, as in the docs)")
    r.add_argument("--jitter", action="append", default=[], metavar="NAME",
                   help="parameter to jitter (repeatable; default: the catalogue's calibrated parameters, "
                        "free_parameters())")
    r.add_argument("--clauses", action="store_true",
                   help="also list every clause that fails in some draw: its margin at the point, its spread over "
                        "the draws (z = margin/sd) and the three parameters that move it most (least squares on "
                        "the jitters)")
    p.set_defaults(func=run)


def load_scenario() -> tuple[Any, Any, tuple[Any, ...], dict[str, Any]]:
    """``(model, arms, outcomes, context_options)`` of the built-in catalogue.

    Raises
    ------
    OutcomeError
        If the catalogue or the scenario arms cannot be imported yet.
    """
    from .. import models
    from ..errors import OutcomeError

    try:
        from ..models.bone_metastasis import catalogue
        default_catalogue = catalogue.default_catalogue
    except (ImportError, AttributeError) as exc:
        raise OutcomeError(
            "the outcome catalogue is not available: bonemet_ode.models.bone_metastasis.catalogue.default_catalogue() "
            f"cannot be imported ({exc})"
        ) from None
    try:
        from ..models.bone_metastasis import scenario_arms
    except ImportError as exc:
        raise OutcomeError(
            "the scenario arms are not available: bonemet_ode.models.bone_metastasis.scenario_arms() "
            f"cannot be imported ({exc})"
        ) from None
    options = getattr(catalogue, "context_options", None)
    return (models.get("bone_metastasis"), scenario_arms(), tuple(default_catalogue()),
            dict(options()) if callable(options) else {})


def read_params(path: Path, model: Any = None, flag: str = "--params", member: int | None = None) -> dict[str, float]:
    """Parameter overrides from ``path``: ``{name: value}``, ``{"parameters": {...}}``, a calibration file,
    or member ``member`` of an ensemble file (``bonemet-ode calibrate --ensemble``).

    Every value must be a finite number and, with ``model``, every name one of
    its parameters; a calibration file is checked field by field
    (:meth:`~bonemet_ode.calibration.result.CalibrationResult.from_dict`).

    Raises
    ------
    ParameterError
        Unreadable file, not a JSON object, a value that is not a finite number.
    UnknownNameError
        A name the model lacks.
    SavedFileError
        A calibration file that fails its checks.
    """
    from ..errors import ParameterError, UnknownNameError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ParameterError(f"{flag} {str(path)!r}: cannot read a JSON object of parameter values "
                             f"({reason})") from None
    if isinstance(data, dict) and data.get("format") == "bonemet_ode.ensemble":
        from ..calibration.ensemble_result import Ensemble

        ens = Ensemble.from_dict(data, source=Path(path).name)
        if member is None:
            how = (f"choose one with --member K (0 to {len(ens) - 1})" if flag == "--params" else
                   "write one member to its own file first (Ensemble.save_member) and pass that")
            raise ParameterError(f"{flag} {str(path)!r} is an ensemble of {len(ens)} members: {how}")
        try:
            values = ens.member(member)
        except Exception as exc:  # noqa: BLE001 - reworded with the flag
            raise ParameterError(f"--member {member}: {exc}") from None
        data = values
    elif member is not None:
        raise ParameterError(f"--member {member}: {flag} {str(path)!r} is not an ensemble file")
    if isinstance(data, dict) and data.get("format") == "bonemet_ode.calibration":
        from ..calibration.result import CalibrationResult

        return CalibrationResult.from_dict(data, model=model, source=Path(path).name).all_parameters()
    if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
        data = data["parameters"]
    if not isinstance(data, dict):
        raise ParameterError(f"{flag} {str(path)!r}: expected a JSON object {{name: value}}, got {type(data).__name__}")
    out = {}
    for k, v in data.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ParameterError(f"{flag} {str(path)!r}: value of {k!r} is {v!r}, not a number")
        if not math.isfinite(v):
            raise ParameterError(f"{flag} {str(path)!r}: value of {k!r} is {v!r}, not a finite number")
        if model is not None and k not in model.parameter_names:
            raise UnknownNameError(f"{flag} {str(path)!r}: {k!r} is not a parameter of {model.name!r}")
        out[str(k)] = float(v)
    return out


def _ablation(model: Any, arms: Any, outcomes: tuple[Any, ...], params: dict[str, float], context: Any,
              progress: Any = None) -> Any:
    from ..errors import OutcomeError

    try:
        from ..models.bone_metastasis.ablation import ablation_matrix
    except ImportError as exc:
        raise OutcomeError("--ablation needs bonemet_ode.models.bone_metastasis.ablation.ablation_matrix(), "
                           f"which cannot be imported ({exc})") from None
    offered = dict(model=model, arms=arms, outcomes=outcomes, params=params, context=context, progress=progress)
    sig = inspect.signature(ablation_matrix)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return ablation_matrix(**offered)
    return ablation_matrix(**{k: v for k, v in offered.items() if k in sig.parameters})


def _explain(args: argparse.Namespace, progress: Any) -> int:
    """``--explain``: print a saved table, or compute one from an ensemble."""
    from ..calibration.ensemble_result import Ensemble
    from ..calibration.explain import Explanation, explain_outcomes
    from ..errors import FitError
    from ..outcomes.context import EvaluationContext

    if args.explain or not args.compute:
        if args.explain:
            path = Path(args.explain)
        else:
            from ..models.bone_metastasis.data import explanation_path

            path = explanation_path()
        ex = Explanation.load(path)
        print(ex.report())
        return 0
    if args.out is not None:
        from ._common import check_output_file

        check_output_file(args.out)
    for name, value, low in (("--prior-points", args.prior_points, 1), ("--left-out", args.left_out, 0),
                             ("--burn", args.burn, 0)):
        if value < low:
            raise FitError(f"{name} must be an integer >= {low}, got {value}")
    model, arms, outcomes, options = load_scenario()
    if args.ensemble is not None:
        ens = Ensemble.load(args.ensemble)
    else:
        from ..models.bone_metastasis.data import shipped_ensemble

        ens = shipped_ensemble()
    options.setdefault("n_jobs", args.n_jobs)
    context = EvaluationContext(model, arms, outcomes, params=ens.fixed, **options)
    chosen = args.only or [o.key for o in context.outcomes if not o.key.startswith("P")]
    show = not progress.quiet and sys.stderr.isatty()
    progress.note(f"explaining {len(chosen)} outcomes from an ensemble of {len(ens)} members "
                  f"({args.prior_points} prior points, {args.left_out} members per left-out ensemble)")
    from ..calibration.ensemble_result import EnsembleSettings

    settings = EnsembleSettings(n_chains=4, n_burn=args.burn, thin=1, save_every=10**6)
    ex = explain_outcomes(context, ens, chosen, n_prior=args.prior_points, n_left_out=args.left_out, seed=args.seed,
                          settings=settings, progress=show,
                          log=None if progress.quiet else (lambda s: print(s, file=sys.stderr)))
    if args.out is not None:
        ex.save(args.out)
    print(ex.report())
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0


def _robustness(args: argparse.Namespace, progress: Any, context: Any, params: dict[str, float]) -> int:
    """``--robustness SIGMA ...``: jitter the calibrated parameters jointly; count the draws keeping every outcome."""
    from ..calibration.jitter_margins import jitter_margins
    from ..calibration.robustness import jitter_factors
    from ..errors import ParameterError, UnknownNameError

    for sigma in args.robustness:
        if not (math.isfinite(sigma) and sigma >= 0):
            raise ParameterError(f"--robustness: each sigma must be a finite number >= 0, got {sigma!r}")
    if args.draws < 1:
        raise ParameterError(f"--draws must be an integer >= 1, got {args.draws}")
    if args.jitter_seed < 0:
        raise ParameterError(f"--jitter-seed must be an integer >= 0, got {args.jitter_seed}")
    if args.ablation:
        raise ParameterError("--robustness cannot be combined with --ablation (run them apart)")
    if args.jitter:
        names = list(dict.fromkeys(args.jitter))
    else:
        from ..models.bone_metastasis import catalogue

        free = getattr(catalogue, "free_parameters", None)
        if not callable(free):
            raise ParameterError("--robustness: the catalogue defines no free_parameters(); name the parameters "
                                 "to jitter with --jitter NAME")
        names = list(free())
    model = context.model
    for n in names:
        if n not in model.parameter_names:
            raise UnknownNameError(f"--jitter {n!r}: not a parameter of {model.name!r}")
    values = model.resolve_parameters(params)
    point = {**params, **{n: values[n] for n in names}}
    centre = context.evaluate(point)
    progress.note(f"{len(names)} parameters jittered jointly, {args.draws} draws per sigma, seed {args.jitter_seed}; "
                  f"the point itself keeps {'every outcome' if centre.all_satisfied else 'NOT every outcome'}")
    results: list[dict[str, Any]] = []
    reports: list[str] = []
    for sigma in args.robustness:
        def note(done: int, sigma: float = sigma) -> None:
            if done % 25 == 0 or done == args.draws:
                progress.note(f"sigma {sigma:g}: {done} of {args.draws} draws")

        jm = jitter_margins(context, point, names, jitter_factors(len(names), sigma, args.draws, args.jitter_seed),
                            sigma, note)
        share = jm.share_kept
        results.append({"sigma": sigma, "draws": args.draws, "kept": round(share * args.draws), "share": share,
                        "failing": dict(jm.failing().most_common())})
        if args.clauses:
            results[-1]["clauses"] = [{k: _finite_or_none(v) for k, v in row.items()} for row in jm.clause_table()]
            reports.append(jm.report())
    if args.json:
        json.dump({"names": names, "seed": args.jitter_seed, "point_keeps_every_outcome": centre.all_satisfied,
                   "results": results}, sys.stdout, indent=1)
        print()
        return 0
    print(f"Joint log-normal jitters of {len(names)} parameters (seed {args.jitter_seed}); the point itself "
          f"{'keeps every outcome' if centre.all_satisfied else 'does NOT keep every outcome'}:")
    for r in results:
        failing = ", ".join(f"{k} {v}" for k, v in r["failing"].items()) or "none"
        print(f"  sigma {r['sigma']:g}: {r['kept']} of {r['draws']} draws keep every outcome ({r['share']:.1%}); "
              f"outcomes failing, in how many draws: {failing}")
        if args.clauses:
            print(reports[results.index(r)])
    return 0


def _finite_or_none(v: Any) -> Any:
    """A float as JSON can hold it (NaN and infinities as None); other values unchanged."""
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        try:
            return obj.to_dict(orient="records")
        except TypeError:
            return obj.to_dict()
    return obj


#: Options of ``--explain --compute`` (the table computed from an ensemble).
_COMPUTE_OPTIONS = ("ensemble", "prior_points", "left_out", "burn", "only", "seed", "out")
#: Options of ``--robustness`` (``--clauses`` has its own message).
_ROBUSTNESS_OPTIONS = ("draws", "jitter_seed", "jitter")


def _refuse_unused(args: argparse.Namespace) -> None:
    """Refuse options that the chosen mode (evaluate, --explain, --robustness) would not read."""
    from ._common import refuse_unused

    if args.explain is None:
        refuse_unused(args, ("compute",) + _COMPUTE_OPTIONS, "applies only with --explain")
    else:
        refuse_unused(args, ("params", "member", "json", "ablation"),
                      "not used by --explain (it explains an ensemble's outcomes: "
                      "--explain --compute --ensemble FILE)")
        if args.explain and args.compute:
            from ..errors import ParameterError

            raise ParameterError(f"--explain {args.explain!r} reads a saved table and --compute computes one: "
                                 "give one of them")
        if not args.compute:
            refuse_unused(args, _COMPUTE_OPTIONS + ("n_jobs",),
                          "applies only with --explain --compute (without --compute the table is read, not computed)")
    if args.robustness is None:
        refuse_unused(args, _ROBUSTNESS_OPTIONS, "applies only with --robustness SIGMA")


def run(args: argparse.Namespace) -> int:
    """Run ``bonemet-ode outcomes`` with the parsed ``args``; return the exit status (0: success)."""
    from ..outcomes.context import EvaluationContext
    from ._common import progress_of

    progress = progress_of(args)
    _refuse_unused(args)
    if getattr(args, "clauses", False) and args.robustness is None:
        from ..errors import ParameterError

        raise ParameterError("--clauses lists the clauses of a robustness run: give --robustness SIGMA too")
    if args.explain is not None:
        if args.robustness is not None:
            from ..errors import ParameterError

            raise ParameterError("--robustness cannot be combined with --explain (run them apart)")
        return _explain(args, progress)
    model, arms, outcomes, options = load_scenario()
    if args.member is not None and not args.params:
        from ..errors import ParameterError

        raise ParameterError("--member K needs --params ENSEMBLE.json")
    params = read_params(args.params, model, member=args.member) if args.params else {}
    options.setdefault("n_jobs", args.n_jobs)
    context = EvaluationContext(model, arms, outcomes, **options)
    if args.robustness is not None:
        return _robustness(args, progress, context, params)
    progress.note(f"evaluating {len(context.outcomes)} outcomes on {model.name}")
    ev = context.evaluate(params)
    keyed = {o.key: o for o in context.outcomes}
    if args.json:
        records = []
        for r in ev.results:
            rec = r.to_dict()
            rec["source"] = keyed[r.id].source
            rec["description"] = keyed[r.id].description
            rec["text"] = keyed[r.id].to_text()
            records.append(rec)
        doc: Any = records
        if args.ablation:
            doc = {"outcomes": records, "ablation": _jsonable(_ablation(model, arms, outcomes, params, context,
                                                                            progress))}
        json.dump(doc, sys.stdout, indent=1, ensure_ascii=False, default=str)
        print()
    else:
        print(ev.report())
        if args.ablation:
            from ..models.bone_metastasis import ablation

            matrix = _ablation(model, arms, outcomes, params, context, progress)
            if hasattr(ablation, "format_ablation") and hasattr(matrix, "iterrows"):
                print("\nAblation (rows: mechanism removed; + holds, ! fails only without that mechanism, - fails):")
                print(ablation.format_ablation(matrix))
            else:
                print()
                print(matrix.to_string() if hasattr(matrix, "to_string") else matrix)
            if hasattr(ablation, "mechanism_table"):
                print("\nThe mechanism each outcome rests on:")
                print(ablation.mechanism_table())
    return 0 if ev.all_satisfied else 1

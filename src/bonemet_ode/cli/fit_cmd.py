"""``bonemet-ode fit``: fit a built-in model to every subject of a data file.

Writes ``estimates.csv`` (one row per subject: ``success``, ``status``
(see :attr:`~bonemet_ode.estimate.result.FitResult.status`), each parameter and
``<param>_se``), ``report.txt``, ``fits.json`` (all fits, reloadable with
:meth:`~bonemet_ode.estimate.result.SubjectFits.load`) and figures
(``fits.png``, ``subjects.png``, ``residuals.png``, ``parameters.png``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``fit`` sub-command and its options to the ``bonemet-ode`` parser (``sub``: its sub-parsers)."""
    p = sub.add_parser(
        "fit", help="fit a model to each subject of a data file",
        description="Fit MODEL to every subject of DATA by maximum likelihood and write estimates.csv, "
                    "report.txt, fits.json and figures into --out.",
    )
    p.add_argument("data", type=Path, help="data file: long CSV/TSV (one measurement per row), or wide with --wide")
    p.add_argument("--model", required=True, help="built-in model name (see 'bonemet-ode models'), e.g. gompertz")
    p.add_argument("--noise", default="proportional",
                   help="noise model: additive, proportional (default), combined or lognormal")
    p.add_argument("--subject-col", default=None, help="subject column (long: default 'subject'; wide: 'Mouse')")
    p.add_argument("--time-col", default="time", help="time column, days (long layout; default 'time')")
    p.add_argument("--value-col", default="value", help="value column (long layout; default 'value')")
    p.add_argument("--arm-col", default=None,
                   help="arm column (long: optional, every row in arm 'all' without it; wide: default 'Treatment')")
    p.add_argument("--wide", action="store_true", help="wide layout: arm, subject, one column per day")
    p.add_argument("--time-shift", type=float, default=0.0, metavar="DAYS",
                   help="days added to every time before fitting (e.g. 1 for invivoSyn's day -1 baseline)")
    p.add_argument("--unit", default=None,
                   help="unit of the measured values, for labels and the report (default: the model's, e.g. mm^3; "
                        "say 'RLU' or 'photons/s' for fluorescence or luminescence data)")
    p.add_argument("--lloq", type=float, default=None,
                   help="limit of quantification: values below it (zeros included) are left-censored")
    p.add_argument("--fix", action="append", default=[], metavar="NAME[=VALUE]",
                   help="hold a parameter fixed (at VALUE or its default); repeatable")
    p.add_argument("--estimate", action="append", default=[], metavar="NAME",
                   help="estimate a parameter a growth model holds fixed by default (V0); repeatable")
    p.add_argument("--pooled", action="store_true", help="one fit of all subjects together instead of one per subject")
    p.add_argument("--starts", type=int, default=3, help="optimiser starts per fit (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    p.add_argument("--out", required=True, type=Path, help="output directory")
    p.set_defaults(func=run)


def _fixed(model, items: list[str], estimate: list[str]) -> dict[str, float]:
    """The fixed values that ``--fix`` and ``--estimate`` ask for (a growth model's given V0 unless estimated).

    Raises
    ------
    UnknownNameError
        A ``--fix`` or ``--estimate`` name that is not a parameter of the model (close matches suggested).
    ParameterError
        A ``--fix`` value that is not a number or lies outside the parameter's bounds, a parameter named
        twice, or in both ``--fix`` and ``--estimate``.
    """
    from ..errors import ParameterError, UnknownNameError
    from ..model.model import unknown_name
    from ..models.growth import GIVEN_PARAMETERS

    def known(flag: str, item: str, name: str) -> None:
        if name not in model.parameter_names:
            exc = unknown_name(name, "parameter", model.parameter_names)
            raise UnknownNameError(f"{flag} {item!r} (model {model.name!r}): {exc}")

    for name in estimate:
        known("--estimate", name, name.strip())
    wanted = [n.strip() for n in estimate]
    twice = sorted({n for n in wanted if wanted.count(n) > 1})
    if twice:
        raise ParameterError(f"--estimate: {twice} named more than once")
    out = {n: model.parameter(n).value for n in GIVEN_PARAMETERS.get(model.name, ()) if n not in wanted}
    seen: set[str] = set()
    for it in items:
        name, sep, value = it.partition("=")
        name = name.strip()
        known("--fix", it, name)
        if name in seen:
            raise ParameterError(f"--fix {it!r}: {name!r} is fixed more than once")
        seen.add(name)
        if name in wanted:
            raise ParameterError(f"--fix {it!r}: {name!r} is also given to --estimate; give it to one of them")
        par = model.parameter(name)
        try:
            number = float(value) if sep else par.value
        except ValueError:
            raise ParameterError(f"--fix {it!r}: value {value!r} is not a number") from None
        if not par.lower <= number <= par.upper:
            raise ParameterError(f"--fix {it!r}: value {number:g} is outside the bounds of {name!r}, "
                                 f"[{par.lower:g}, {par.upper:g}]")
        out[name] = number
    return out


def _read(args: argparse.Namespace):
    from ..data.readers import read_long, read_wide

    shift = args.time_shift
    if args.wide:
        return read_wide(args.data, arm_col=args.arm_col or "Treatment", subject_col=args.subject_col or "Mouse",
                         lloq=args.lloq, time_shift=shift)
    return read_long(args.data, subject_col=args.subject_col or "subject", arm_col=args.arm_col,
                     time_col=args.time_col, value_col=args.value_col, lloq=args.lloq, time_shift=shift)


def _command_line(args: argparse.Namespace) -> str:
    """The command as run, re-runnable in a shell: every option whose value is not its default, quoted."""
    import shlex

    parts = ["bonemet-ode", "fit", str(args.data)]
    for dest, (flag, default) in getattr(args, "option_defaults", {}).items():
        value = getattr(args, dest, default)
        if value is None or value == default:
            continue
        if value is True:
            parts.append(flag)
        elif isinstance(value, list):
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def _data_lines(args: argparse.Namespace, data) -> list[str]:
    """The report's account of the data: where they came from and every row or cell left out, with why."""
    import os

    import pandas as pd

    dropped = data.dropped
    lines = [f"run in: {os.getcwd()}",
             f"data: {args.data}: {len(data.frame)} measurements of {len(data.subjects)} subject(s)"]
    if len(dropped):
        what = "blank day cell(s) (not measured)" if args.wide else "row(s) with a missing cell"
        lines.append(f"left out: {len(dropped)} {what}:")
        for r in dropped.itertuples(index=False):
            line = "" if r.line is None or pd.isna(r.line) else f", line {int(r.line)}"
            lines.append(f"  row {int(r.row)}{line}: subject {r.subject!r}, time {r.time!r}: {r.reason}")
    return lines


def _figures(fits, out: Path) -> list[str]:
    from ..plotting.fits import plot_fits, plot_parameter_scatter, plot_residuals, plot_subject_grid
    from ._common import root_figure

    written = []
    ax = plot_fits(fits)
    ax.set_title(f"{fits.model}: data and fits")
    root_figure(ax).savefig(out / "fits.png", dpi=120)
    written.append("fits.png")
    axes = plot_subject_grid(fits)
    axes[0].figure.savefig(out / "subjects.png", dpi=100)
    written.append("subjects.png")
    ax = plot_residuals(fits)
    root_figure(ax).savefig(out / "residuals.png", dpi=120)
    written.append("residuals.png")
    first = next(iter(fits.fits.values()), None) if hasattr(fits, "fits") else None
    model_params = [p for p in first.parameters if p.vary and p.role == "model"] if first else []
    if len(model_params) >= 2 and len(fits.fits) > 2:
        x, y = model_params[0], model_params[1]
        ax = plot_parameter_scatter(fits.table(), x.name, y.name, units={x.name: x.unit, y.name: y.unit})
        root_figure(ax).savefig(out / "parameters.png", dpi=120)
        written.append("parameters.png")
    return written


def run(args: argparse.Namespace) -> int:
    """Run ``bonemet-ode fit`` with the parsed ``args``; return the exit status (0: success)."""
    import pandas as pd

    from .. import models
    from ..errors import FitError
    from ..estimate.estimation_problem import EstimationProblem
    from ..estimate.fitter import Fitter, SubjectFitter
    from ..estimate.noise import NOISE_KINDS
    from ..estimate.observation import default_observations
    from ..estimate.report import fit_report
    from ..estimate.result import SubjectFits
    from ._common import check_output_dir, progress_of, refuse_unused

    if args.wide:
        refuse_unused(args, ("time_col", "value_col"),
                      "applies only to the long layout (without --wide: the wide layout has one column per day)")
    progress = progress_of(args)
    check_output_dir(args.out)
    if args.starts < 1:
        raise FitError(f"--starts must be >= 1, got {args.starts}")
    if not math.isfinite(args.time_shift):
        raise FitError(f"--time-shift must be a finite number of days, got {args.time_shift}")
    if args.unit is not None and not args.unit.strip():
        raise FitError("--unit must not be empty")
    if not isinstance(args.noise, str) or args.noise.strip().lower() not in NOISE_KINDS:
        raise FitError(f"--noise {args.noise!r}: unknown noise model; choose one of {', '.join(NOISE_KINDS)}")
    model = models.get(args.model)
    fixed = _fixed(model, args.fix, args.estimate)
    data = _read(args)
    observations = default_observations(model, data.observables, unit=(args.unit or "").strip())
    problem = EstimationProblem(model, data, noise=args.noise.strip(), fixed=fixed, observations=observations)
    if args.pooled:
        progress.note(f"fitting {model.name} to {len(data.subjects)} subjects pooled")
        result = Fitter(problem, n_starts=args.starts, seed=args.seed).fit()
        fits = SubjectFits(model=model.name, fits={"pooled": result}, wall_time=result.wall_time)
    else:
        progress.note(f"fitting {model.name} to {len(data.subjects)} subjects, {args.starts} start(s) each")
        fits = SubjectFitter(problem, n_starts=args.starts, seed=args.seed, progress=progress.enabled).fit()
    args.out.mkdir(parents=True, exist_ok=True)
    table = fits.table()
    est_cols = ["subject", "arm", "success", "status", "nll", "n_observations"]
    first = next(iter(fits.fits.values()), None)
    if first is not None:
        est_cols += [c for p in first.parameters for c in (p.name, f"{p.name}_se")]
    if fits.failed:
        est_cols.append("message")
    table.reindex(columns=est_cols).to_csv(args.out / "estimates.csv", index=False, float_format="%.10g")
    command = _command_line(args)
    report = "\n".join([command, *_data_lines(args, data), "=" * min(len(command), 100), ""])
    report += fit_report(fits)
    if first is not None and len(fits.fits) == 1:
        report += "\n" + fit_report(first)
    (args.out / "report.txt").write_text(report, encoding="utf-8")
    fits.save(args.out / "fits.json")
    figures = _figures(fits, args.out) if fits.fits else []
    pd.set_option("display.width", 160)
    others = sorted({r.status for r in fits.fits.values()} - {"converged"})
    not_conv = "; not converged: " + ", ".join(
        f"{sum(r.status == s for r in fits.fits.values())} {s}" for s in others) if others else ""
    print(f"{model.name}: {len(fits.converged)}/{len(fits.fits) + len(fits.failed)} subjects converged{not_conv} "
          f"({fits.wall_time:.1f} s); wrote estimates.csv, report.txt, fits.json, {', '.join(figures)} in {args.out}")
    return 0 if fits.fits else 1

"""``bonemet-ode compare``: the main job — default arms of bone_metastasis, figure, table."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` sub-command and its options to the ``bonemet-ode`` parser (``sub``: its sub-parsers)."""
    p = sub.add_parser(
        "compare", help="compare treatment arms of bone_metastasis: figure, CSV and endpoint table",
        description="Run the default treatment arms of the bone_metastasis model (control, fulvestrant, "
                    "anti-DKK1, anti-PD-1 and combinations), write DIR/treatment_comparison.png and .csv, "
                    "and print the endpoint table (tumour and CD8 per arm, % of control).",
    )
    p.add_argument("--arms", nargs="+", default=None, metavar="ARM",
                   help="arms to run: default treatment arms or scenario arms (ERa-KO, Notch-KO, ...; a "
                        "misspelt name lists them all); default: the six treatment arms; control is always included")
    p.add_argument("--days", type=float, default=None,
                   help="simulation length, days (default 28; with --figure, the figures' own 42)")
    p.add_argument("--params", type=Path, default=None, help="JSON file of parameter overrides {name: value}")
    p.add_argument("--figure", choices=["ER", "DKK1", "TAM", "SRS", "all"], default=None,
                   help="instead of the default comparison, write the figure(s) of one source (or all)")
    p.add_argument("--ensemble", type=Path, default=None, metavar="FILE",
                   help="an ensemble file (calibrate --ensemble): draw the median and 90%% band per arm over its "
                        "members and give the endpoint table intervals")
    p.add_argument("--members", type=int, default=None,
                   help="with --ensemble: members simulated, evenly spaced through the file (default 100, or every "
                        "member of a smaller file; a 90%% interval needs at least 20)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.set_defaults(func=run)


def _ensemble(args: argparse.Namespace, model, arms, progress) -> int:
    """``--ensemble FILE``: bands over members, endpoint table with 90 % intervals."""
    import sys

    from ..calibration.ensemble_result import Ensemble
    from ..calibration.predict import predict_arms
    from ..errors import FitError
    from ..plotting.comparison import first_dose_day
    from ..plotting.ensemble import ensemble_comparison_figure

    if args.members is not None and args.members < 1:
        raise FitError(f"--members must be an integer >= 1, got {args.members}")
    if args.params:
        raise FitError("--params and --ensemble exclude each other (the members are the parameters)")
    ens = Ensemble.load(args.ensemble)
    if args.members is not None and args.members > len(ens):
        raise FitError(f"--members {args.members} is more than the {len(ens)} members of {args.ensemble}")
    n_members = min(100, len(ens)) if args.members is None else args.members
    progress.note(f"simulating {len(arms)} arm{'s' if len(arms) != 1 else ''} for {args.days:g} days under "
                  f"{n_members} of {len(ens)} ensemble members")
    pred = predict_arms(model, arms, ens, days=args.days, n_members=n_members, variables=["tumor", "cd8"],
                        progress=not progress.quiet and sys.stderr.isatty())
    fig = ensemble_comparison_figure(pred, treatment_start=first_dose_day(arms))
    png = args.out / "treatment_comparison_ensemble.png"
    fig.savefig(png, dpi=150)
    table = pred.endpoint_table(["tumor", "cd8"])
    csv = args.out / "endpoint_table_ensemble.csv"
    table.to_csv(csv, index=False, float_format="%.6g")
    print(f"Endpoints at day {table.attrs['day']:g} ({model.name}; median [90% interval] over "
          f"{table.attrs['members']} ensemble members):")
    header = f"{'arm':28s}" + "".join(f"{n + ' % ctrl':>26s}" for n in ("tumor", "cd8"))
    print(header)
    print("-" * len(header))
    for _, row in table.iterrows():
        line = f"{row['arm']:28s}"
        for n in ("tumor", "cd8"):
            line += (f"{row[n + '_pct_control']:>10.1f}% [{row[n + '_pct_control_lo']:6.1f}, "
                     f"{row[n + '_pct_control_hi']:6.1f}]")
        print(line)
    if pred.failed:
        print(f"{len(pred.failed)} solves failed (left out of the bands): "
              + "; ".join(f"{a} member {m}" for a, m in list(pred.failed)[:5]))
    print(f"wrote {png}\nwrote {csv}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``bonemet-ode compare`` with the parsed ``args``; return the exit status (0: success)."""
    import matplotlib

    matplotlib.use("Agg")

    from .. import models
    from ..model.model import unknown_name
    from ..models.bone_metastasis import default_arms, scenario_arms
    from ..plotting.comparison import first_dose_day, treatment_comparison_figure
    from ..simulate.comparison import compare_arms
    from ._common import check_output_dir, progress_of, refuse_unused
    from .outcomes_cmd import read_params

    progress = progress_of(args)
    if args.figure:
        refuse_unused(args, ("arms", "ensemble", "members"),
                      "not used with --figure (each source figure has its own arms and cohorts)")
    elif args.ensemble is None:
        refuse_unused(args, ("members",), "applies only with --ensemble FILE")
    check_output_dir(args.out)
    span = {} if args.days is None else {"days": args.days}  # --figure: the figures' own span unless given
    if args.days is None:
        args.days = 28.0
    if not (math.isfinite(args.days) and args.days > 0):
        from ..errors import ScheduleError

        raise ScheduleError(f"--days must be a finite number > 0, got {args.days}")
    model = models.get("bone_metastasis")
    params = read_params(args.params, model) if args.params else {}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.figure:
        from ..models.bone_metastasis import figures as source_figures

        if args.figure == "all":
            written = []
            for k, key in enumerate(("ER", "DKK1", "TAM", "SRS"), 1):
                progress.note(f"figure {k}/4: {key}")
                written.append(getattr(source_figures, f"figure_{key.lower()}")(args.out, params=params or None,
                                                                                 **span))
        else:
            progress.note(f"figure {args.figure}")
            written = getattr(source_figures, f"figure_{args.figure.lower()}")(args.out, params=params or None,
                                                                             **span)
        for path in (written if isinstance(written, (list, tuple)) else [written]):
            print(f"wrote {path}")
        return 0
    arms = default_arms()
    if args.arms:  # the control, then the named arms in their order: default treatment arms or scenario arms
        by_name = {**{a.name: a for a in arms}, **dict(scenario_arms())}
        for name in args.arms:
            if name not in by_name:
                raise unknown_name(name, "arm", by_name)
        arms = [by_name["control"], *(by_name[n] for n in dict.fromkeys(args.arms) if n != "control")]
    if args.ensemble is not None:
        return _ensemble(args, model, arms, progress)
    progress.note(f"simulating {len(arms)} arm{'s' if len(arms) != 1 else ''} for {args.days:g} days")
    comparison = compare_arms(model, arms, days=args.days, params=params)
    fig = treatment_comparison_figure(comparison)
    png = args.out / "treatment_comparison.png"
    fig.savefig(png, dpi=150)
    csv = args.out / "treatment_comparison.csv"
    comparison.to_frame().to_csv(csv, index=False, float_format="%.8g")
    names = [n for n in ("tumor", "cd8") if n in comparison.results["control"]]
    table = comparison.endpoint_table(names)
    table.to_csv(args.out / "endpoint_table.csv", index=False, float_format="%.6g")
    start = first_dose_day(comparison)
    when = f", treatment from day {start:g}" if start is not None else ""
    if start is not None and start >= table.attrs["day"]:
        when = f", treatment from day {start:g}: after this run, so no arm was treated yet"
    print(f"Endpoints at day {table.attrs['day']:g} ({model.name}{when}):")
    header = f"{'arm':28s}" + "".join(f"{n + ' (cells)':>16s}{'% ctrl':>9s}" for n in names)
    print(header)
    print("-" * len(header))
    for _, row in table.iterrows():
        line = f"{row['arm']:28s}"
        for n in names:
            line += f"{row[n]:16.4g}{row.get(n + '_pct_control', float('nan')):8.1f}%"
        print(line)
    print(f"wrote {png}\nwrote {csv}\nwrote {args.out / 'endpoint_table.csv'}")
    return 0

"""``bonemet-ode synergy``: is a two-drug combination synergistic in vivo? (Bliss, HSA, RA with bootstrap CIs)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``synergy`` sub-command and its options to the ``bonemet-ode`` parser (``sub``: its sub-parsers)."""
    p = sub.add_parser(
        "synergy", help="combination synergy on tumour-volume data (Bliss / HSA / RA, bootstrap CIs)",
        description="Per-mouse exponential growth rates, combination scores per time point and overall with "
                    "bootstrap confidence intervals, and a verdict (synergy, additivity, antagonism). Writes "
                    "DIR/synergy.csv, DIR/report.txt and DIR/synergy.png.",
    )
    p.add_argument("data", type=Path, help="CSV/TSV of tumour volumes (long layout, or --wide for invivoSyn's)")
    p.add_argument("--control", required=True, help="arm name of the vehicle/control group")
    p.add_argument("--drug-a", default=None, help="arm name of the first single agent")
    p.add_argument("--drug-b", default=None, help="arm name of the second single agent")
    p.add_argument("--drugs", nargs="+", default=None, metavar="ARM",
                   help="instead of --drug-a/--drug-b: every single-agent arm (two or more, e.g. a triple combination)")
    p.add_argument("--lmm", action="store_true",
                   help="also run the SynergyLMM-style mixed-model test (Bliss or HSA) and add it to the report")
    p.add_argument("--combination", required=True, help="arm name of the combination")
    p.add_argument("--metric", choices=["bliss", "hsa", "ra"], default="bliss", help="reference model (default bliss)")
    p.add_argument("--wide", action="store_true", help="wide layout: Treatment,Mouse,<one column per day>")
    p.add_argument("--subject-col", default="subject", help="long layout: subject column (default subject)")
    p.add_argument("--arm-col", default="arm", help="arm column (default arm; wide: Treatment)")
    p.add_argument("--time-col", default="time", help="long layout: time column, days (default time)")
    p.add_argument("--value-col", default="value", help="long layout: volume column (default value)")
    p.add_argument("--lloq", type=float, default=None, help="detection limit: smaller values (and zeros) are censored")
    p.add_argument("--time-shift", type=float, default=0.0,
                   help="days added to every time (e.g. 1 for a day -1 baseline)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``bonemet-ode synergy`` with the parsed ``args``; return the exit status (0: success)."""
    import sys
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..analysis.synergy import synergy
    from ..data.readers import read_long, read_wide
    from ..errors import BonemetError, BonemetWarning
    from ..plotting.synergy import plot_synergy
    from ._common import check_output_dir, cli_words, refuse_unused, root_figure

    if args.wide:
        refuse_unused(args, ("subject_col", "time_col", "value_col"),
                      "applies only to the long layout (without --wide: the wide layout is Treatment,Mouse,<days>)")
    check_output_dir(args.out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BonemetWarning)
        try:
            if args.wide:
                arm_col = args.arm_col if args.arm_col != "arm" else "Treatment"
                data = read_wide(args.data, arm_col=arm_col, lloq=args.lloq, time_shift=args.time_shift)
            else:
                data = read_long(args.data, subject_col=args.subject_col, arm_col=args.arm_col,
                                 time_col=args.time_col, value_col=args.value_col, lloq=args.lloq,
                                 time_shift=args.time_shift)
            result = synergy(data, control=args.control, drug_a=args.drug_a, drug_b=args.drug_b, drugs=args.drugs,
                             combination=args.combination, metric=args.metric, n_boot=args.n_boot, seed=args.seed)
        except BonemetError as exc:
            exc.args = (str(exc) + _wide_hint(args, exc),)  # main() puts the message in the options' words
            raise
        finally:  # the data's warnings as one line each, in the command line's words (before an error)
            for w in caught:
                if issubclass(w.category, BonemetWarning):
                    print(f"bonemet-ode synergy: warning: {cli_words(str(w.message))}", file=sys.stderr)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    args.out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(args.out / "synergy.csv", index=False, float_format="%.6g")
    text = result.to_text()
    if args.lmm:
        from ..analysis.synergy_lmm import synergy_lmm

        mixed = synergy_lmm(data, control=args.control, drug_a=args.drug_a, drug_b=args.drug_b, drugs=args.drugs,
                            combination=args.combination, metric=args.metric if args.metric != "ra" else "bliss")
        text += "\n\n" + mixed.to_text()
        if args.metric == "ra":
            text += ("\n  (--metric ra has no mixed-model form (response additivity needs dose-response curves); "
                     "the mixed model above tests Bliss independence)")
    (args.out / "report.txt").write_text(text + "\n")
    axes = plot_synergy(result)
    fig = root_figure(axes[0])
    fig.savefig(args.out / "synergy.png", dpi=150)
    plt.close(fig)
    print(text)
    print(f"wrote {args.out / 'synergy.csv'}, {args.out / 'report.txt'}, {args.out / 'synergy.png'}")
    return 0


def _wide_hint(args: argparse.Namespace, exc: Exception) -> str:
    """A hint to add ``--wide`` when a long-layout read misses its columns and the header holds day numbers."""
    if args.wide or "column" not in str(exc):
        return ""
    try:
        with open(args.data, encoding="utf-8-sig") as f:
            header = f.readline()
    except (OSError, UnicodeDecodeError):
        return ""
    fields = [h.strip().strip('"') for h in header.replace(";", ",").replace("\t", ",").split(",")]
    days = 0
    for h in fields:
        try:
            float(h)
            days += 1
        except ValueError:
            pass
    return ("; its header holds day numbers, the wide layout (Treatment, Mouse, <days>): add --wide"
            if days >= 2 else "")


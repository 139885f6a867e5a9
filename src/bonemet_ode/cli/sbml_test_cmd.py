"""``bonemet-ode sbml-test``: run one SBML Test Suite case and write its trajectory."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sbml-test", help="run one SBML Test Suite case folder and write its results CSV",
        description="Read NNNNN-settings.txt and the highest level/version SBML file of CASE_DIR, simulate it and "
                    "write the requested variables (amounts or concentrations, as the settings say) on the "
                    "requested grid, with the header of NNNNN-results.csv.  Exit status 2 with a one-line reason "
                    "when the case uses a feature bonemet_ode refuses.",
    )
    p.add_argument("case_dir", type=Path, help="a case folder, e.g. sbml-test-suite/cases/00001")
    p.add_argument("--out", required=True, type=Path, help="output CSV file")
    p.add_argument("--judge", action="store_true", help="also compare with NNNNN-results.csv (exit 1 when off)")
    p.add_argument("--full-build", action="store_true",
                   help="compile with -O3 and the lane solver (default: a quick build, BONEMET_ODE_BUILD=quick)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``bonemet-ode sbml-test``; the quick build applies to this command only (the environment is restored)."""
    import os

    before = os.environ.get("BONEMET_ODE_BUILD")
    if not args.full_build:
        os.environ.setdefault("BONEMET_ODE_BUILD", "quick")
    try:
        return _run(args)
    finally:  # an in-process caller (main() from Python, the tests) must not keep the quick build
        if before is None:
            os.environ.pop("BONEMET_ODE_BUILD", None)
        else:
            os.environ["BONEMET_ODE_BUILD"] = before


def _run(args: argparse.Namespace) -> int:
    import sys

    from ..io.sbml_import.testsuite import judge, run_case, write_csv
    from ._common import check_output_file

    check_output_file(args.out)  # before the work: a folder or an unwritable file is refused by name
    res = run_case(args.case_dir)
    if res.status != "ok":
        print(f"{res.case}: {res.status}: {res.reason}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(res, args.out)
    if args.judge:
        ok, why = judge(res, args.case_dir)
        print(f"{res.case}: {'passed' if ok else 'WRONG: ' + why}")
        return 0 if ok else 1
    n_times = 0 if res.values is None else len(res.values)
    print(f"wrote {args.out} ({n_times} times x {len(res.header) - 1} variables)")
    return 0

"""``bonemet-ode models``: list the built-in models."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` sub-command and its options to the ``bonemet-ode`` parser (``sub``: its sub-parsers)."""
    p = sub.add_parser("models", help="list the built-in models",
                       description="List the built-in models with their sizes and a one-line summary.")
    p.add_argument("--parameters", metavar="MODEL", help="print the parameter table of MODEL instead")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``bonemet-ode models`` with the parsed ``args``; return the exit status (0: success)."""
    from .. import models

    if args.parameters:
        table = models.get(args.parameters).parameter_table()
        print(table.to_string(index=False))
        return 0
    for name, summary in models.describe().items():
        m = models.get(name)
        print(f"{name:22s} {len(m.state_names):3d} states {len(m.parameter_names):4d} parameters  {summary}")
    return 0

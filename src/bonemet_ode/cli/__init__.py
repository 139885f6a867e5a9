"""The ``bonemet-ode`` command line.

Each sub-command lives in its own module ``bonemet_ode.cli.<name>_cmd`` that
defines ``register(subparsers)``; the parser's ``func`` runs the command and
returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ..errors import BonemetError

__all__ = ["main", "build_parser"]

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("models", "simulate", "compare", "outcomes", "calibrate", "fit", "synergy", "sbml-test")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="bonemet-ode",
        description="Mechanistic ODE models of the bone-metastasis immune niche (time in days).",
    )
    parser.add_argument("--version", action="version", version=f"bonemet_ode {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"{__name__}.{name.replace('-', '_')}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name.replace('-', '_')}_cmd":
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bonemet-ode``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BonemetError as exc:
        print(f"bonemet-ode {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

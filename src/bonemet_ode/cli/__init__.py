"""The ``bonemet-ode`` command line.

Each sub-command lives in its own module ``bonemet_ode.cli.<name>_cmd`` that
defines ``register(subparsers)``; the parser's ``func`` runs the command and
returns the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import BonemetError

__all__ = ["main", "build_parser"]

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("models", "simulate", "compare", "outcomes", "calibrate", "fit", "synergy", "sbml-test", "petab")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_common(p: argparse.ArgumentParser, *, top: bool) -> None:
    default = False if top else argparse.SUPPRESS
    p.add_argument("--debug", action="store_true", default=default,
                   help="on an error, show the Python traceback instead of one line")
    p.add_argument("--quiet", action="store_true", default=default,
                   help="no progress lines on stderr (results still go to stdout)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command."""
    from .._version import __version__

    parser = _Parser(
        prog="bonemet-ode",
        description="Mechanistic ODE models of the bone-metastasis immune niche (time in days). "
                    "Errors are one line on stderr with exit status 2 (--debug shows the traceback).",
    )
    parser.add_argument("--version", action="version", version=f"bonemet_ode {__version__}")
    _add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"{__name__}.{name.replace('-', '_')}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name.replace('-', '_')}_cmd":
                continue
            raise
        mod.register(sub)
        _add_common(sub.choices[name], top=False)
        _record_options(sub.choices[name])
    return parser


def _record_options(p: argparse.ArgumentParser) -> None:
    """Store each option's flag and default in the parsed arguments (``option_defaults``), so that a command can
    refuse an option given where it has no effect (:func:`~bonemet_ode.cli._common.refuse_unused`)."""
    table = {}
    for action in p._actions:  # argparse keeps no public list of a parser's actions
        longs = [s for s in action.option_strings if s.startswith("--")]
        if longs and action.default is not argparse.SUPPRESS:
            table[action.dest] = (max(longs, key=len), action.default)
    p.set_defaults(option_defaults=table)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return "; ".join(lines) if lines else "(no message)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bonemet-ode``; returns the exit status.

    Every error, the library's own and any other, is printed as one line on
    stderr and gives exit status 2 (``--debug``: the traceback instead); an
    interrupt gives 130; a reader that closes stdout early (``| head``) ends
    the command quietly with 141, as SIGPIPE ends other Unix tools.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on a usage error or a library error (printed to stderr),
        or the sub-command's own status (``outcomes``: 1 when an outcome fails).

    Examples
    --------
    >>> from bonemet_ode.cli import main
    >>> main(["models"])                           # doctest: +ELLIPSIS
    bone_metastasis ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    prefix = f"bonemet-ode {args.command}"
    quiet_before = os.environ.get("BONEMET_ODE_QUIET")
    if args.quiet:
        os.environ["BONEMET_ODE_QUIET"] = "1"  # the compile notice of a first build, too
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe is met here, not at interpreter exit
        return status
    except BrokenPipeError:
        # the reader of stdout went away (``| head``): stop quietly, with the status of a Unix tool ended by
        # SIGPIPE (128 + 13); stdout goes to /dev/null so that the interpreter's last flush cannot fail again
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except BonemetError as exc:
        if args.debug:
            raise
        from ._common import cli_words

        print(f"{prefix}: error: {_one_line(cli_words(str(exc)))}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the command line never shows a traceback unless asked
        if args.debug:
            raise
        print(f"{prefix}: error: {type(exc).__name__}: {_one_line(str(exc))} "
              "(an unexpected error; run again with --debug for the traceback and report it)", file=sys.stderr)
        return 2
    finally:
        if args.quiet:
            if quiet_before is None:
                os.environ.pop("BONEMET_ODE_QUIET", None)
            else:
                os.environ["BONEMET_ODE_QUIET"] = quiet_before


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

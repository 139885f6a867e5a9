"""What every ``bonemet-ode`` command shares: output-path checks before the work, progress on stderr.

Output paths are checked before any simulation or fit starts, so a typo in
``--out`` costs nothing: a file's folder must exist or be creatable and be
writable, and the file itself, when it exists, must be a writable file (not
a folder); an output folder must be a folder (or creatable) and writable.

Progress goes to stderr, one line per step (or a tqdm bar for loops), and
nothing at all with ``--quiet``; stdout keeps only the command's result.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import BonemetError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["OutputPathError", "check_output_file", "check_output_dir", "cli_words", "Progress", "refuse_unused"]

T = TypeVar("T")


class OutputPathError(BonemetError, ValueError):
    """An output path that cannot be written (checked before the work starts)."""


def _probe_dir(folder: Path, path: Path, flag: str) -> None:
    """Create ``folder`` (and its parents) if needed and prove it writable with a probe file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputPathError(f"{flag} {str(path)!r}: cannot create folder {str(folder)!r}: "
                              "a file of that name is in the way") from None
    except OSError as exc:
        raise OutputPathError(f"{flag} {str(path)!r}: cannot create folder {str(folder)!r}: "
                              f"{exc.strerror or exc}") from None
    if not folder.is_dir():
        raise OutputPathError(f"{flag} {str(path)!r}: {str(folder)!r} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".bonemet-probe-"):
            pass
    except OSError as exc:
        raise OutputPathError(f"{flag} {str(path)!r}: folder {str(folder)!r} is not writable: "
                              f"{exc.strerror or exc}") from None


def check_output_file(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """Check that ``path`` can be written as a file; returns it as a Path.

    Its folder is created when missing (so the check is a real write, not a
    guess from permission bits, which root ignores).

    Raises
    ------
    OutputPathError
        ``path`` is an existing folder or an unwritable file, or its folder
        cannot be created or written.
    """
    path = Path(path)
    if str(path) == "" or path.name in ("", ".", ".."):
        raise OutputPathError(f"{flag} {str(path)!r}: expected a file name")
    if path.is_dir():
        raise OutputPathError(f"{flag} {str(path)!r}: is a folder; expected a file name")
    _probe_dir(path.parent, path, flag)
    if path.exists():
        try:
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise OutputPathError(f"{flag} {str(path)!r}: the file exists and cannot be written: "
                                  f"{exc.strerror or exc}") from None
    return path


def check_output_dir(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """Check that ``path`` is (or can be created as) a writable folder; returns it as a Path.

    The folder is created when missing.

    Raises
    ------
    OutputPathError
        ``path`` is a file, or cannot be created, or cannot be written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{flag} {str(path)!r}: is a file; expected an output folder")
    _probe_dir(path, path, flag)
    return path


class Progress:
    """Progress of a long command on stderr; silent when ``quiet``.

    Parameters
    ----------
    command
        Sub-command name, used as the prefix of each line.
    quiet
        Print nothing.
    """

    def __init__(self, command: str, quiet: bool = False) -> None:
        self.command = command
        self.quiet = bool(quiet)

    def note(self, message: str) -> None:
        """One line ``bonemet-ode COMMAND: message`` on stderr (flushed at once)."""
        if not self.quiet:
            print(f"bonemet-ode {self.command}: {message}", file=sys.stderr, flush=True)

    def __call__(self, message: str) -> None:
        self.note(message)

    def bar(self, items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
        """Iterate ``items`` with a tqdm bar on stderr (plain iteration when quiet)."""
        if self.quiet:
            yield from items
            return
        from tqdm.auto import tqdm

        yield from tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)

    @property
    def enabled(self) -> bool:
        """Whether anything is printed."""
        return not self.quiet


def cli_words(text: str) -> str:
    """A library message in the command line's words: the Python keywords it names (``lloq=<detection limit>``,
    ``(from subject_col)``) spelled as the options (``--lloq <detection limit>``, ``(--subject-col)``)."""
    import re

    text = text.replace("lloq=<detection", "--lloq <detection")
    return re.sub(r"\(from (\w+)_col\)", lambda m: f"(--{m.group(1).replace('_', '-')}-col)", text)


def refuse_unused(args: Any, dests: Iterable[str], reason: str) -> None:
    """Refuse the options among ``dests`` that were given but would have no effect in this run.

    An option counts as given when its value differs from its default (the table that
    ``bonemet_ode.cli.build_parser`` stores as ``args.option_defaults``).  Nothing a user asks for is
    dropped silently: a ``--chains`` without ``--ensemble``, say, is an error that names the option.

    Parameters
    ----------
    args
        Parsed arguments of a sub-command.
    dests
        Destination names (``max_nfev`` for ``--max-nfev``) of the options that have no effect here.
    reason
        Why, completing ``"--flag: <reason>"``, e.g. ``"applies only with --ensemble N"``.

    Raises
    ------
    bonemet_ode.errors.ParameterError
        One or more of the options were given; the message names them all.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> args = SimpleNamespace(chains=8, option_defaults={"chains": ("--chains", 4)})
    >>> refuse_unused(args, ["chains"], "applies only with --ensemble N")
    Traceback (most recent call last):
    ...
    bonemet_ode.errors.ParameterError: --chains: applies only with --ensemble N; it would have no effect here
    """
    from ..errors import ParameterError

    table = getattr(args, "option_defaults", None) or {}
    given = [table[d][0] for d in dests if d in table and getattr(args, d, table[d][1]) != table[d][1]]
    if given:
        it = "it" if len(given) == 1 else "they"
        raise ParameterError(f"{', '.join(given)}: {reason}; {it} would have no effect here")


def progress_of(args: Any) -> Progress:
    """The :class:`Progress` of parsed arguments (``--quiet`` honoured)."""
    return Progress(getattr(args, "command", None) or "", bool(getattr(args, "quiet", False)))


def root_figure(ax: Axes) -> Figure:
    """The top-level figure that holds ``ax`` (the parent figure when ``ax`` sits in a subfigure)."""
    from matplotlib.figure import Figure

    fig = ax.figure
    return fig if isinstance(fig, Figure) else fig.figure

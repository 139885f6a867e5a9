"""Every exception and warning raised by bonemet_ode.

All exceptions derive from :class:`BonemetError` so a caller can catch the
library's errors in one clause; each also derives from the closest builtin
(``ValueError``, ``KeyError``, ``RuntimeError``) so generic handlers work too.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "BonemetError",
    "BonemetWarning",
    "CompileError",
    "DataError",
    "FitError",
    "ModelError",
    "OutcomeError",
    "OutputTimeError",
    "ParameterError",
    "PetabError",
    "SavedFileError",
    "ScheduleError",
    "SolverError",
    "UnavailableError",
    "UnknownNameError",
    "UnsupportedFeatureError",
    "suggestion",
]


class BonemetError(Exception):
    """Base class of every error raised by bonemet_ode."""


class ModelError(BonemetError, ValueError):
    """A model is invalid: a name clash, an undefined symbol, a malformed term."""


class UnsupportedFeatureError(ModelError):
    """An imported model (SBML, Antimony) uses a feature bonemet_ode does not simulate.

    Raised instead of simulating something else: the message names the
    feature and the element that uses it.

    Attributes
    ----------
    feature : str
        The feature, e.g. ``"algebraic rule"`` or ``"event with delay"``.
    element : str
        Id (or description) of the element that uses it.
    """

    def __init__(self, feature: str, element: str = "", detail: str = "") -> None:
        self.feature = feature
        self.element = element
        where = f" (element {element!r})" if element else ""
        tail = f": {detail}" if detail else ""
        super().__init__(f"unsupported SBML feature: {feature}{where}{tail}")


class UnknownNameError(BonemetError, KeyError):
    """A state, parameter, observable, term, arm or model name that does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class OutputTimeError(BonemetError, KeyError):
    """A day asked of a result that is not one of its output times."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ParameterError(BonemetError, ValueError):
    """A parameter value is negative, NaN, infinite or outside its bounds."""


class ScheduleError(BonemetError, ValueError):
    """A dosing schedule or treatment arm is impossible (negative times, stop before start, ...)."""


class CompileError(BonemetError, RuntimeError):
    """Generated code failed to compile or load."""


class SolverError(BonemetError, RuntimeError):
    """The integrator failed; the message says when and in which state."""

    def __init__(self, message: str, t: float | None = None, state: str | None = None):
        super().__init__(message)
        self.t = t
        self.state = state


class DataError(BonemetError, ValueError):
    """A data table is malformed: missing or non-numeric columns, negative times, unknown arms."""


class FitError(BonemetError, RuntimeError):
    """A fit could not be set up or did not converge."""


class OutcomeError(BonemetError, ValueError):
    """An outcome statement is malformed or refers to something that does not exist."""


class UnavailableError(OutcomeError):
    """A trajectory an outcome needs could not be simulated (the solver failed for this parameter set).

    Raised by an outcome readout; an outcome that meets it is reported as
    failed (margin ``-inf``) instead of stopping the whole evaluation.
    """


class BonemetWarning(UserWarning):
    """Warnings issued by bonemet_ode."""


class SavedFileError(BonemetError, ValueError):
    """A saved file (model, fit, calibration) cannot be read back.

    Not JSON, the wrong kind or an unknown version, a missing field, a value
    of the wrong type or not finite where it must be, or a name the model
    lacks.  The message names the file (when there is one) and the field, as a
    path such as ``payload.results[3].margin``.
    """


class PetabError(BonemetError, ValueError):
    """A PEtab problem is invalid, or uses a PEtab feature bonemet_ode does not handle.

    Refusals name the feature (``feature``) and the table entry that uses it; nothing is
    simulated in place of what the problem states.
    """

    def __init__(self, message: str, feature: str = "") -> None:
        self.feature = feature
        super().__init__(message)


def suggestion(name: object, known: Iterable[str]) -> str:
    """``"did you mean 'alpha', 'alpha0'?"`` for the close matches of ``name`` among ``known`` (difflib), else ``""``.

    The one spelling of a did-you-mean in the package's messages; each caller adds its own punctuation.

    Examples
    --------
    >>> suggestion("contrl", ["control", "A", "A+B"])
    "did you mean 'control'?"
    >>> suggestion("zzz", ["control"])
    ''
    """
    close = difflib.get_close_matches(str(name), list(known), n=3)
    return f"did you mean {', '.join(map(repr, close))}?" if close else ""


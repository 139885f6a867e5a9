"""The interfaces of the outcome language: what a quantity and a statement must provide.

A **quantity** is a number read from simulations (a value at a day, an
integral, a ratio of two arms, a Bliss excess, a cohort fraction).  A
**statement** compares quantities and evaluates to a :class:`Verdict`
(value, threshold, margin, satisfied).  Both are frozen dataclasses with a
class attribute ``kind`` (their name in JSON) and both say what they need
simulated (:class:`Need`), so an evaluation context can simulate every arm
once and hand the trajectories over through a :class:`Readout`.

Writing your own
----------------
Subclass :class:`Quantity` (or :class:`Statement`) as a frozen dataclass
with a unique ``kind`` and implement the abstract methods; see
``docs/outcome_language.md`` ("Custom outcomes in Python").
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import OutcomeError, UnavailableError
from .serialise import encode, register_kind

if TYPE_CHECKING:
    from .cohort import CohortSpec
    from .statements import AllOf, Compare

__all__ = [
    "ARM_NAME_STOP",
    "LOG_FLOOR",
    "COMPARATORS",
    "Need",
    "Readout",
    "Quantity",
    "Statement",
    "Verdict",
    "UnavailableError",
    "fmt_number",
    "quote_name",
    "quote_string",
    "check_comparator",
    "holds",
]

#: Values below this are taken as this before a logarithm (log-scale margins); in the quantity's unit.
LOG_FLOOR = 1e-12

#: Comparison operators of the language and how sentences print them.
COMPARATORS: dict[str, str] = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}

#: Characters that end a bare (unquoted) arm name in the text syntax.
ARM_NAME_STOP = frozenset("[](),;:'\"=~#@\\")


def fmt_number(x: float) -> str:
    """Shortest readable text that reads back to exactly ``x`` (``%g`` when exact, else ``repr``)."""
    x = float(x)
    s = f"{x:g}"
    return s if float(s) == x else repr(x)


def quote_name(name: str) -> str:
    """An arm name as written in the text syntax: bare when safe, else single-quoted with escapes."""
    if name and name == name.strip() and not any(c.isspace() or c in ARM_NAME_STOP for c in name) \
            and name not in ("and", "between") and not name.startswith(("-", "+")):
        return name
    return quote_string(name)


def quote_string(text: str) -> str:
    """``text`` in single quotes, with ``\\``, ``\\'``, ``\\n``, ``\\r``, ``\\t`` escapes."""
    esc = (text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
           .replace("\r", "\\r").replace("\t", "\\t"))
    return f"'{esc}'"


def check_comparator(op: str, where: str) -> str:
    """Return ``op`` normalised to ASCII (``≥`` -> ``>=``) or raise naming ``where``."""
    op = {"≥": ">=", "≤": "<="}.get(op, op)
    if op not in COMPARATORS:
        raise OutcomeError(f"{where}: comparator {op!r} is not one of {', '.join(COMPARATORS)}")
    return op


def holds(margin: float, op: str) -> bool:
    """Whether a comparison with margin ``margin`` holds: ``>= 0`` (``<=, >=``) or ``> 0`` (``<, >``)."""
    if math.isnan(margin):
        return False
    return margin > 0 if op in (">", "<") else margin >= 0


@dataclass(frozen=True)
class Need:
    """One trajectory a quantity reads.

    Parameters
    ----------
    source : str, CohortSpec or None
        Arm name, or the cohort whose members are read; ``None`` for a
        per-member quantity not yet bound to a cohort.
    name : str
        State or observable name.
    days : tuple of float
        Days that must be output times exactly (read-outs, integral ends), days.
    to_horizon : bool
        Whether the whole simulated horizon is read (a threshold search without ``until``).
    points : bool
        Whether only the values at ``days`` are read (a read-out).  ``False`` (the default, which
        is always safe) means the quantity may read every output time from day 0 to the last of
        ``days`` (an integral, a threshold search): the evaluation context then keeps its whole
        output grid there, and may drop output times that no need reads.
    """

    source: str | CohortSpec | None
    name: str
    days: tuple[float, ...] = ()
    to_horizon: bool = False
    points: bool = False


class Readout(abc.ABC):
    """Trajectories of one evaluation, as handed to quantities by an evaluation context."""

    #: Last simulated day of every arm, days.
    horizon: float

    @abc.abstractmethod
    def series(self, arm: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(times, values)`` of ``name`` in ``arm``: output days and values (1-D arrays).

        Raises
        ------
        UnavailableError
            If the arm's simulation failed for this parameter set.
        """

    @abc.abstractmethod
    def cohort_series(self, cohort: CohortSpec, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(times, values)`` of ``name`` in a cohort: values are (successful members x times).

        Raises
        ------
        UnavailableError
            If the cohort could not be drawn or no member solved.
        """


class _Registered:
    kind: ClassVar[str]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "kind" in cls.__dict__:
            register_kind(cls)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``{"kind": ..., fields...}``); see :func:`~bonemet_ode.outcomes.serialise.decode`."""
        return encode(self)

    def __str__(self) -> str:
        return self.sentence()

    @abc.abstractmethod
    def to_text(self) -> str:
        """The text syntax (``parse`` reads it back to an equal object)."""

    @abc.abstractmethod
    def sentence(self) -> str:
        """The sentence this piece encodes, for reports."""


class Quantity(_Registered, abc.ABC):
    """A number read from simulations.

    Contract for subclasses (frozen dataclasses with a class attribute ``kind``):

    * :meth:`needs` lists every trajectory read (arm or cohort, name, days);
    * :meth:`evaluate` computes the number from a :class:`Readout`; with
      ``censored=True`` it returns a finite stand-in for an infinite value
      (a threshold never reached), used for margins;
    * :attr:`log_scale` says whether comparisons of this quantity are made
      on log scale (positive amounts, times, ratios) or linearly (excesses,
      fractions, correlations, differences);
    * :meth:`to_text` and :meth:`sentence` print it.

    Quantities combine with Python operators: ``2 * q`` (scaled),
    ``q1 / q2`` (ratio), ``q1 - q2`` (difference), and ``q1 >= 2 * q2``
    builds a :class:`~bonemet_ode.outcomes.statements.Compare`.
    """

    #: The closed interval every value lies in, when the quantity is bounded by definition (a fraction in
    #: [0, 1], a correlation in [-1, 1]); a comparison with a constant outside it can never hold.
    value_range: ClassVar[tuple[float, float] | None] = None

    @property
    def log_scale(self) -> bool:
        """Whether comparisons use log-ratio margins (default True: a positive amount)."""
        return True

    @property
    def censorable(self) -> bool:
        """Whether ``evaluate(data, censored=True)`` can differ from ``evaluate(data)`` (a threshold time, or a
        quantity built from one); statements evaluate the uncensored value to show only for these."""
        return False

    @abc.abstractmethod
    def needs(self) -> tuple[Need, ...]:
        """Every trajectory this quantity reads."""

    @abc.abstractmethod
    def evaluate(self, data: Readout, censored: bool = False) -> float:
        """The value in ``data`` (``censored``: finite stand-ins for never-reached thresholds)."""

    def log_value(self, data: Readout, censored: bool = True) -> float:
        """Natural log of the (censored) value, with values below :data:`LOG_FLOOR` taken as the floor."""
        v = self.evaluate(data, censored)
        if math.isnan(v):
            return v
        return math.log(max(v, LOG_FLOOR))

    @property
    def atomic(self) -> bool:
        """Whether :meth:`to_text` needs no parentheses inside a larger expression."""
        return True

    def arms(self) -> tuple[str, ...]:
        """Arm names read (cohort arms included)."""
        out: list[str] = []
        for n in self.needs():
            arm = n.source if isinstance(n.source, str) else getattr(n.source, "arm", None)
            if arm is not None and arm not in out:
                out.append(arm)
        return tuple(out)

    # --- operators building larger expressions and statements ---------------------------
    def __mul__(self, other: Any) -> Quantity:
        from .arithmetic import Constant, Scaled

        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return Scaled(float(other), self)
        if isinstance(other, Constant):
            return Scaled(other.value, self)
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Quantity:
        from .arithmetic import Ratio

        return Ratio(self, _as_quantity(other))

    def __rtruediv__(self, other: Any) -> Quantity:
        from .arithmetic import Ratio

        return Ratio(_as_quantity(other), self)

    def __sub__(self, other: Any) -> Quantity:
        from .arithmetic import Difference

        return Difference(self, _as_quantity(other))

    def __rsub__(self, other: Any) -> Quantity:
        from .arithmetic import Difference

        return Difference(_as_quantity(other), self)

    def _compare(self, op: str, other: Any) -> Compare:
        from .statements import Compare

        return Compare(self, op, _as_quantity(other))

    def __ge__(self, other: Any) -> Compare:
        return self._compare(">=", other)

    def __le__(self, other: Any) -> Compare:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Compare:
        return self._compare(">", other)

    def __lt__(self, other: Any) -> Compare:
        return self._compare("<", other)


def _as_quantity(x: Any) -> Quantity:
    from .arithmetic import Constant

    if isinstance(x, Quantity):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Constant(float(x))
    raise OutcomeError(f"cannot use {x!r} ({type(x).__name__}) in an outcome expression; "
                       "expected a quantity or a number")


@dataclass(frozen=True)
class Verdict:
    """What a statement says about one evaluation.

    Attributes
    ----------
    value, threshold : float
        The quantity compared and what it is compared with (for a log-scale
        comparison of two simulated quantities, the ratio and the factor).
    margin : float
        Distance to the boundary, ``>= 0`` when satisfied: a natural-log
        ratio for log-scale comparisons, a difference in the quantity's
        unit otherwise; ``-inf`` when a simulation failed.
    satisfied : bool
        Whether the statement holds.
    parts : tuple of Verdict
        Verdicts of the clauses of a conjunction.
    message : str
        Why a statement could not be evaluated (empty when it could).
    """

    value: float
    threshold: float
    margin: float
    satisfied: bool
    parts: tuple[Verdict, ...] = ()
    message: str = ""

    @classmethod
    def failed(cls, message: str, n_parts: int = 0) -> Verdict:
        """A verdict for a statement whose simulations failed."""
        parts = tuple(cls(math.nan, math.nan, -math.inf, False, (), message) for _ in range(n_parts))
        return cls(math.nan, math.nan, -math.inf, False, parts, message)

    def leaf_margins(self) -> tuple[float, ...]:
        """Margins of the clauses (the margin itself for a single clause)."""
        if not self.parts:
            return (self.margin,)
        return tuple(m for p in self.parts for m in p.leaf_margins())


class Statement(_Registered, abc.ABC):
    """A condition on quantities that evaluates to a :class:`Verdict`.

    Contract for subclasses (frozen dataclasses with a class attribute ``kind``):
    :meth:`needs`, :meth:`evaluate`, :meth:`to_text`, :meth:`sentence`;
    override :meth:`leaves` for a conjunction of clauses (each clause gets
    its own penalty in calibration).  ``s1 & s2`` builds an
    :class:`~bonemet_ode.outcomes.statements.AllOf`.
    """

    @abc.abstractmethod
    def needs(self) -> tuple[Need, ...]:
        """Every trajectory this statement reads."""

    @abc.abstractmethod
    def evaluate(self, data: Readout) -> Verdict:
        """The verdict on ``data`` (may raise :class:`UnavailableError`)."""

    def leaves(self) -> tuple[Statement, ...]:
        """The clauses whose margins are scored separately (default: the statement itself)."""
        return (self,)

    def __and__(self, other: Statement) -> AllOf:
        from .statements import AllOf

        if not isinstance(other, Statement):
            return NotImplemented
        return AllOf(self.leaves() + other.leaves())

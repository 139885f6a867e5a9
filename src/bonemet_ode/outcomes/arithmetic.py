"""Numbers and arithmetic on quantities: constants, scaled quantities, ratios and differences."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ..errors import OutcomeError
from .base import LOG_FLOOR, Need, Quantity, Readout, fmt_number

__all__ = ["Constant", "Scaled", "Ratio", "Difference", "Extreme"]


def _finite(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise OutcomeError(f"{what} must be a number, got {x!r}")
    v = float(x)
    if not math.isfinite(v):
        raise OutcomeError(f"{what} must be finite, got {v}")
    return v


def _quantity(x: object, what: str) -> Quantity:
    if not isinstance(x, Quantity):
        raise OutcomeError(f"{what} must be a quantity, got {x!r}")
    return x


def _wrap(q: Quantity) -> str:
    return q.to_text() if q.atomic else f"({q.to_text()})"


def _wrap_sentence(q: Quantity) -> str:
    return q.sentence() if q.atomic else f"({q.sentence()})"


@dataclass(frozen=True)
class Constant(Quantity):
    """A fixed number (a threshold); log-scale when positive."""

    kind: ClassVar[str] = "constant"
    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _finite(self.value, "constant"))

    @property
    def log_scale(self) -> bool:
        return self.value > 0

    def needs(self) -> tuple[Need, ...]:
        return ()

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        return self.value

    @property
    def atomic(self) -> bool:
        return self.value >= 0

    def to_text(self) -> str:
        return fmt_number(self.value)

    def sentence(self) -> str:
        return f"{self.value:g}"

    def __mul__(self, other: object) -> Quantity:
        if isinstance(other, Constant):
            other = other.value
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return Constant(self.value * float(other))
        return super().__mul__(other)

    __rmul__ = __mul__


@dataclass(frozen=True)
class Scaled(Quantity):
    """``factor × quantity`` (text ``2 * q``).

    On log scale (positive ``factor`` and a log-scale quantity) its log is
    ``log(factor) + log(q)``, so ``A >= 2 * B`` has the margin
    ``log(A/B) - log(2)``.
    """

    kind: ClassVar[str] = "scaled"
    factor: float
    quantity: Quantity

    def __post_init__(self) -> None:
        object.__setattr__(self, "factor", _finite(self.factor, "scale factor"))
        _quantity(self.quantity, "the scaled term")
        if isinstance(self.quantity, Constant):
            raise OutcomeError(f"scaling the constant {self.quantity.value:g} by {self.factor:g}: write the product "
                               "as one number")

    @property
    def log_scale(self) -> bool:
        return self.factor > 0 and self.quantity.log_scale

    @property
    def atomic(self) -> bool:
        return False

    def needs(self) -> tuple[Need, ...]:
        return self.quantity.needs()

    @property
    def censorable(self) -> bool:
        return self.quantity.censorable

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        return self.factor * self.quantity.evaluate(data, censored)

    def log_value(self, data: Readout, censored: bool = True) -> float:
        return math.log(self.factor) + self.quantity.log_value(data, censored)

    def to_text(self) -> str:
        return f"{fmt_number(self.factor)} * {_wrap(self.quantity)}"

    def sentence(self) -> str:
        return f"{self.factor:g} × {_wrap_sentence(self.quantity)}"


@dataclass(frozen=True)
class Ratio(Quantity):
    """``numerator / denominator`` (text ``a / b``); log scale when both are.

    On log scale the log is ``log(a) - log(b)`` with each side floored at
    :data:`~bonemet_ode.outcomes.base.LOG_FLOOR`, so 0/0 compares as 1.
    """

    kind: ClassVar[str] = "ratio"
    numerator: Quantity
    denominator: Quantity

    def __post_init__(self) -> None:
        _quantity(self.numerator, "the numerator")
        _quantity(self.denominator, "the denominator")

    @property
    def log_scale(self) -> bool:
        return self.numerator.log_scale and self.denominator.log_scale

    @property
    def atomic(self) -> bool:
        return False

    def needs(self) -> tuple[Need, ...]:
        return self.numerator.needs() + self.denominator.needs()

    @property
    def censorable(self) -> bool:
        return self.numerator.censorable or self.denominator.censorable

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        a = self.numerator.evaluate(data, censored)
        b = self.denominator.evaluate(data, censored)
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
        return a / b

    def log_value(self, data: Readout, censored: bool = True) -> float:
        return self.numerator.log_value(data, censored) - self.denominator.log_value(data, censored)

    def to_text(self) -> str:
        return f"{_wrap(self.numerator)} / {_wrap(self.denominator)}"

    def sentence(self) -> str:
        return f"{_wrap_sentence(self.numerator)} / {_wrap_sentence(self.denominator)}"


@dataclass(frozen=True)
class Difference(Quantity):
    """``minuend - subtrahend`` (text ``a - b``), compared linearly, in the quantities' unit."""

    kind: ClassVar[str] = "difference"
    minuend: Quantity
    subtrahend: Quantity

    def __post_init__(self) -> None:
        _quantity(self.minuend, "the first term of a difference")
        _quantity(self.subtrahend, "the second term of a difference")

    @property
    def log_scale(self) -> bool:
        return False

    @property
    def atomic(self) -> bool:
        return False

    def needs(self) -> tuple[Need, ...]:
        return self.minuend.needs() + self.subtrahend.needs()

    @property
    def censorable(self) -> bool:
        return self.minuend.censorable or self.subtrahend.censorable

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        return self.minuend.evaluate(data, censored) - self.subtrahend.evaluate(data, censored)

    def to_text(self) -> str:
        return f"{_wrap(self.minuend)} - {_wrap(self.subtrahend)}"

    def sentence(self) -> str:
        return f"{_wrap_sentence(self.minuend)} − {_wrap_sentence(self.subtrahend)}"


@dataclass(frozen=True)
class Extreme(Quantity):
    """The largest or smallest of several quantities (text ``largest(q1, q2, ...)``, ``smallest(...)``).

    Used to state a bound over every arm at once: ``largest(max(bone_mass, 0, 365)[A],
    max(bone_mass, 0, 365)[B]) <= 150`` holds when no arm exceeds 150, and its margin is that of
    the worst arm.  A NaN term (a failed or non-finite simulation) makes the result NaN, so the
    statement fails rather than ignoring that arm.

    Parameters
    ----------
    stat : {"largest", "smallest"}
        Which extreme.
    quantities : tuple of Quantity
        At least one term; log scale when every term is.

    Examples
    --------
    >>> from bonemet_ode.outcomes import parse_quantity
    >>> q = parse_quantity("largest(x@1[A], x@1[B])")
    >>> q.to_text(), q.log_scale
    ('largest(x@1[A], x@1[B])', True)
    >>> Extreme.over_arms("largest", parse_quantity("x@1[A]"), ["A", "B"]) == q
    True
    """

    kind: ClassVar[str] = "extreme"
    #: ``(arms, name, stat, start, end)`` when every term is the same max/min in another arm (set per instance)
    _over_arms: ClassVar[tuple[tuple[str, ...], str, str, float, float] | None] = None
    stat: str
    quantities: tuple[Quantity, ...]

    def __post_init__(self) -> None:
        if self.stat not in ("largest", "smallest"):
            raise OutcomeError(f"extreme: stat must be 'largest' or 'smallest', got {self.stat!r}")
        qs = tuple(self.quantities) if isinstance(self.quantities, (tuple, list)) else None
        if not qs:
            raise OutcomeError(f"{self.stat}(...) needs at least one quantity, got {self.quantities!r}")
        for i, q in enumerate(qs):
            _quantity(q, f"term {i + 1} of {self.stat}(...)")
        object.__setattr__(self, "quantities", qs)
        object.__setattr__(self, "_over_arms", _one_extremum_over_arms(qs))

    @classmethod
    def over_arms(cls, stat: str, quantity: Quantity, arms: list[str] | tuple[str, ...]) -> Extreme:
        """``stat`` of one per-arm quantity (a trajectory quantity such as ``max(x, 0, 365)``) over ``arms``."""
        from .trajectory import TrajectoryQuantity

        if not isinstance(quantity, TrajectoryQuantity):
            raise OutcomeError(f"{stat} over arms needs a trajectory quantity (x@day, max(x, a, b), ...), "
                               f"got {quantity!r}")
        return cls(stat, tuple(quantity.for_arm(a) for a in arms))

    @property
    def log_scale(self) -> bool:
        return all(q.log_scale for q in self.quantities)

    def needs(self) -> tuple[Need, ...]:
        return tuple(n for q in self.quantities for n in q.needs())

    def _pick(self, values: list[float]) -> float:
        if any(math.isnan(v) for v in values):
            return math.nan
        return max(values) if self.stat == "largest" else min(values)

    def _shared(self, data: Readout) -> list[float] | None:
        """The terms' values in one call, where every term is the same max/min in another arm and the
        readout reduces arms at once (the evaluation context's); else None."""
        over = self._over_arms
        many = getattr(data, "extremes", None) if over is not None else None
        return None if many is None or over is None else many(*over)

    @property
    def censorable(self) -> bool:
        return any(q.censorable for q in self.quantities)

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        values = self._shared(data)
        if values is None:
            values = [q.evaluate(data, censored) for q in self.quantities]
        return self._pick(values)

    def log_value(self, data: Readout, censored: bool = True) -> float:
        values = self._shared(data)
        if values is None:
            return self._pick([q.log_value(data, censored) for q in self.quantities])
        # as Quantity.log_value of each term (an Extremum's)
        return self._pick([v if math.isnan(v) else math.log(max(v, LOG_FLOOR)) for v in values])

    def to_text(self) -> str:
        return f"{self.stat}({', '.join(q.to_text() for q in self.quantities)})"

    def sentence(self) -> str:
        return f"the {self.stat} of {', '.join(_wrap_sentence(q) for q in self.quantities)}"


def _one_extremum_over_arms(qs: tuple[Quantity, ...]) -> tuple[tuple[str, ...], str, str, float, float] | None:
    """``(arms, name, stat, start, end)`` when every term is the same ``max``/``min`` of one name in an arm."""
    from .trajectory import Extremum

    ex = [q for q in qs if type(q) is Extremum and q.arm is not None]
    if len(ex) != len(qs):
        return None
    q0 = ex[0]
    if any((q.name, q.stat, q.start, q.end) != (q0.name, q0.stat, q0.start, q0.end) for q in ex):
        return None
    return tuple(str(q.arm) for q in ex), q0.name, q0.stat, q0.start, q0.end

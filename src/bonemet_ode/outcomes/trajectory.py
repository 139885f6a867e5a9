"""Quantities read from one trajectory: a value at a day, an integral, the time to reach a threshold.

Each is written for an arm (``tumor@28[KO]``) or, without an arm, for every
member of a virtual cohort (inside ``fraction(...)`` and ``spearman(...)``);
:meth:`TrajectoryQuantity.reduce` works on the last axis of an array, so the
same object reads one trajectory or a whole cohort.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import OutcomeError
from .base import Need, Quantity, Readout, fmt_number, quote_name

__all__ = ["TrajectoryQuantity", "Value", "Integral", "TimeTo", "Extremum", "NEVER_FACTOR", "check_variable"]

#: A threshold never reached by day ``until`` counts, for margins, as reached at ``NEVER_FACTOR * until``.
NEVER_FACTOR = 2.0


def check_variable(name: object, where: str) -> str:
    """Return ``name`` if it can name a state or observable, else raise naming ``where``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise OutcomeError(f"{where}: {name!r} is not a state or observable name (an identifier)")
    return name


def _day(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise OutcomeError(f"{what} must be a number of days, got {x!r}")
    v = float(x)
    if not math.isfinite(v) or v < 0:
        raise OutcomeError(f"{what} must be a finite number of days >= 0, got {v}")
    return v


def _check_arm(arm: object, where: str) -> str | None:
    if arm is None:
        return None
    if not isinstance(arm, str) or not arm.strip():
        raise OutcomeError(f"{where}: arm must be a non-empty name or None, got {arm!r}")
    return arm


def day_index(times: np.ndarray, day: float) -> int:
    """Index of output time ``day`` in ``times`` (within 1e-9 days)."""
    i = int(np.searchsorted(times, day - 1e-9))
    if i >= len(times) or abs(times[i] - day) > 1e-9:
        raise OutcomeError(f"day {day:g} is not an output time (outputs {times[0]:g} to {times[-1]:g} days)")
    return i


class TrajectoryQuantity(Quantity):
    """A functional of one trajectory of one variable (``name``) in ``arm``.

    Subclasses implement :meth:`reduce` over the last axis and
    :meth:`member_text` / :meth:`member_sentence` (the forms without arm).
    """

    name: str
    arm: str | None
    if TYPE_CHECKING:
        # every concrete TrajectoryQuantity is a frozen dataclass (for dataclasses.replace in for_arm)
        __dataclass_fields__: ClassVar[dict[str, Any]]

    @abc.abstractmethod
    def reduce(self, times: np.ndarray, values: np.ndarray, horizon: float, censored: bool = False) -> np.ndarray:
        """The quantity of every trajectory in ``values`` (last axis: ``times``, days)."""

    @abc.abstractmethod
    def member_needs(self) -> Need:
        """What one trajectory needs (source ``None``)."""

    @abc.abstractmethod
    def member_text(self) -> str:
        """Text form without the ``[arm]`` suffix."""

    @abc.abstractmethod
    def member_sentence(self) -> str:
        """Sentence without the arm."""

    def for_arm(self, arm: str | None) -> TrajectoryQuantity:
        """A copy reading ``arm`` (``None``: a per-member quantity of a cohort)."""
        return replace(self, arm=arm)

    def needs(self) -> tuple[Need, ...]:
        return (replace(self.member_needs(), source=self.arm),)

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        if self.arm is None:
            raise OutcomeError(f"{self.member_text()} has no arm; write {self.member_text()}[ARM]")
        t, y = data.series(self.arm, self.name)
        return float(self.reduce(t, y, data.horizon, censored))

    def to_text(self) -> str:
        return self.member_text() + ("" if self.arm is None else f"[{quote_name(self.arm)}]")

    def sentence(self) -> str:
        return self.member_sentence() + ("" if self.arm is None else f" in '{self.arm}'")


@dataclass(frozen=True)
class Value(TrajectoryQuantity):
    """Value of state or observable ``name`` at ``day`` (text ``name@day[arm]``).

    Parameters
    ----------
    name : str
        State or observable.
    day : float
        Read-out day (made an output time of the simulation), days.
    arm : str, optional
        Arm name; ``None`` inside a cohort statement.
    """

    kind: ClassVar[str] = "value"
    name: str
    day: float
    arm: str | None = None

    def __post_init__(self) -> None:
        check_variable(self.name, "value")
        object.__setattr__(self, "day", _day(self.day, f"read-out day of {self.name!r}"))
        object.__setattr__(self, "arm", _check_arm(self.arm, f"{self.name}@{self.day:g}"))

    def member_needs(self) -> Need:
        return Need(None, self.name, (self.day,), points=True)

    def reduce(self, times: np.ndarray, values: np.ndarray, horizon: float, censored: bool = False) -> np.ndarray:
        return np.asarray(values)[..., day_index(times, self.day)]

    def member_text(self) -> str:
        return f"{self.name}@{fmt_number(self.day)}"

    def member_sentence(self) -> str:
        return f"{self.name} at day {self.day:g}"


@dataclass(frozen=True)
class Integral(TrajectoryQuantity):
    """Integral of ``name`` over ``[start, end]`` days: a cumulative amount (text ``integral(name, a, b)[arm]``).

    Notes
    -----
    The trapezoid rule on the context's output grid (spacing ``h`` days,
    default ``0.1``; both ends are output times).  For a smooth integrand
    the error is at most ``h**2 (end - start) max|f''| / 12``: for
    exponential growth at rate ``r`` the relative error is about
    ``(r h)**2 / 12`` (``3e-5`` for ``r = 0.2/day``, ``h = 0.1``).  A bolus
    makes the dosed state jump; the context outputs a point just before
    every bolus as well as at it, so the jump costs nothing and the rule
    keeps its order between doses (states downstream of a dose only kink).
    The unit is the variable's unit times days.
    """

    kind: ClassVar[str] = "integral"
    name: str
    start: float
    end: float
    arm: str | None = None

    def __post_init__(self) -> None:
        check_variable(self.name, "integral")
        a = _day(self.start, f"integral of {self.name!r}: start")
        b = _day(self.end, f"integral of {self.name!r}: end")
        if not b > a:
            raise OutcomeError(f"integral of {self.name!r}: end (day {b:g}) must be after start (day {a:g})")
        object.__setattr__(self, "start", a)
        object.__setattr__(self, "end", b)
        object.__setattr__(self, "arm", _check_arm(self.arm, f"integral({self.name})"))

    def member_needs(self) -> Need:
        return Need(None, self.name, (self.start, self.end))

    def reduce(self, times: np.ndarray, values: np.ndarray, horizon: float, censored: bool = False) -> np.ndarray:
        i, j = day_index(times, self.start), day_index(times, self.end)
        return np.trapezoid(np.asarray(values)[..., i:j + 1], times[i:j + 1], axis=-1)

    def member_text(self) -> str:
        return f"integral({self.name}, {fmt_number(self.start)}, {fmt_number(self.end)})"

    def member_sentence(self) -> str:
        return f"cumulative {self.name} from day {self.start:g} to {self.end:g}"


@dataclass(frozen=True)
class TimeTo(TrajectoryQuantity):
    """First day on which ``name`` reaches ``level`` (text ``time_to(name >= level)[arm]``).

    Parameters
    ----------
    name : str
        State or observable.
    op : {">=", "<="}
        Reach from below (``>=``) or fall to (``<=``) the level.
    level : float
        Threshold, in the variable's unit.
    arm : str, optional
        Arm name; ``None`` inside a cohort statement.
    until : float, optional
        Last day searched (default: the context's horizon), days.

    Notes
    -----
    The crossing is interpolated between the two output times around it,
    linearly in ``log(value)`` when both values and the level are positive
    (exact for exponential growth), else linearly.  A level already met at
    day 0 gives 0.  A level never reached by ``until`` gives ``+inf``; for
    margins (``censored=True``) it counts as reached at
    ``NEVER_FACTOR * until`` (twice the search window), so "never" beats
    any day within the window by a finite margin and two "never"s tie.
    """

    kind: ClassVar[str] = "time_to"
    name: str
    op: str
    level: float
    arm: str | None = None
    until: float | None = None

    def __post_init__(self) -> None:
        check_variable(self.name, "time_to")
        op = {"≥": ">=", "≤": "<="}.get(self.op, self.op)
        if op not in (">=", "<="):
            raise OutcomeError(f"time_to({self.name} {self.op} ...): the comparator must be '>=' or '<='")
        object.__setattr__(self, "op", op)
        lvl = self.level
        if isinstance(lvl, bool) or not isinstance(lvl, (int, float)) or not math.isfinite(lvl):
            raise OutcomeError(f"time_to({self.name} {op} ...): level must be a finite number, got {lvl!r}")
        object.__setattr__(self, "level", float(lvl))
        if self.until is not None:
            u = _day(self.until, f"time_to({self.name}): until")
            if u <= 0:
                raise OutcomeError(f"time_to({self.name}): until must be > 0 days, got {u}")
            object.__setattr__(self, "until", u)
        object.__setattr__(self, "arm", _check_arm(self.arm, f"time_to({self.name})"))

    @property
    def censorable(self) -> bool:
        return True

    def member_needs(self) -> Need:
        if self.until is None:
            return Need(None, self.name, (), to_horizon=True)
        return Need(None, self.name, (self.until,))

    def reduce(self, times: np.ndarray, values: np.ndarray, horizon: float, censored: bool = False) -> np.ndarray:
        until = horizon if self.until is None else self.until
        n = day_index(times, until) + 1 if self.until is not None else int(np.searchsorted(times, until + 1e-9))
        t, y = times[:n], np.atleast_2d(np.asarray(values)[..., :n])
        hit = y >= self.level if self.op == ">=" else y <= self.level
        reached = hit.any(axis=-1)
        first = np.argmax(hit, axis=-1)
        prev = np.maximum(first - 1, 0)
        y0 = np.take_along_axis(y, prev[:, None], -1)[:, 0]
        y1 = np.take_along_axis(y, first[:, None], -1)[:, 0]
        t0, t1 = t[prev], t[first]
        with np.errstate(divide="ignore", invalid="ignore"):
            use_log = (y0 > 0) & (y1 > 0) & (self.level > 0)
            lin = (self.level - y0) / (y1 - y0)
            log_level = math.log(self.level) if self.level > 0 else 0.0
            lg = (log_level - np.log(np.where(use_log, y0, 1.0))) / (
                np.log(np.where(use_log, y1, 1.0)) - np.log(np.where(use_log, y0, 1.0)))
            frac = np.clip(np.where(use_log, lg, lin), 0.0, 1.0)
        frac = np.where(np.isfinite(frac), frac, 1.0)
        out = np.where(first == 0, t[0], t0 + frac * (t1 - t0))
        never = NEVER_FACTOR * until if censored else math.inf
        out = np.where(reached, out, never)
        return out.reshape(np.shape(values)[:-1])

    def member_text(self) -> str:
        extra = "" if self.until is None else f", until={fmt_number(self.until)}"
        return f"time_to({self.name} {self.op} {fmt_number(self.level)}{extra})"

    def member_sentence(self) -> str:
        word = "reach" if self.op == ">=" else "fall to"
        extra = "" if self.until is None else f" (searched to day {self.until:g})"
        return f"days for {self.name} to {word} {self.level:g}{extra}"



@dataclass(frozen=True)
class Extremum(TrajectoryQuantity):
    """Largest or smallest value of ``name`` over ``[start, end]`` days (text ``max(name, a, b)[arm]``).

    Parameters
    ----------
    name : str
        State or observable.
    stat : {"max", "min"}
        Which extreme.
    start, end : float
        Window, days (both made output times; ``end > start``).
    arm : str, optional
        Arm name; ``None`` inside a cohort statement.

    Notes
    -----
    The extreme is taken over the context's output grid in the window (every
    ``step`` days, read-out days and the points just before each bolus), not
    over the continuous solution: a peak between two output times is missed
    by at most the change of ``name`` over one step.  A non-finite value
    anywhere in the window makes the result NaN, so a statement on it fails
    (``np.max`` propagates NaN; an infinite value is turned into NaN too, so
    ``max(x, 0, 365)[A] <= 10`` cannot hold through an overflow).

    Examples
    --------
    >>> import numpy as np
    >>> q = Extremum("x", "max", 1, 3, "A")
    >>> float(q.reduce(np.arange(5.0), np.array([9.0, 1, 5, 2, 8]), 4.0))
    5.0
    >>> q.to_text()
    'max(x, 1, 3)[A]'
    """

    kind: ClassVar[str] = "extremum"
    name: str
    stat: str
    start: float
    end: float
    arm: str | None = None

    def __post_init__(self) -> None:
        check_variable(self.name, "max/min")
        if self.stat not in ("max", "min"):
            raise OutcomeError(f"extremum of {self.name!r}: stat must be 'max' or 'min', got {self.stat!r}")
        a = _day(self.start, f"{self.stat} of {self.name!r}: start")
        b = _day(self.end, f"{self.stat} of {self.name!r}: end")
        if not b > a:
            raise OutcomeError(f"{self.stat} of {self.name!r}: end (day {b:g}) must be after start (day {a:g})")
        object.__setattr__(self, "start", a)
        object.__setattr__(self, "end", b)
        object.__setattr__(self, "arm", _check_arm(self.arm, f"{self.stat}({self.name})"))

    def member_needs(self) -> Need:
        return Need(None, self.name, (self.start, self.end))

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        # a readout that reduces whole arms at once (the evaluation context's) gives the same number
        shared = getattr(data, "extreme", None)
        if shared is not None and self.arm is not None:
            v = shared(self.arm, self.name, self.stat, self.start, self.end)
            if v is not None:
                return float(v)
        return super().evaluate(data, censored)

    def reduce(self, times: np.ndarray, values: np.ndarray, horizon: float, censored: bool = False) -> np.ndarray:
        i, j = day_index(times, self.start), day_index(times, self.end)
        window = np.asarray(values, dtype=float)[..., i:j + 1]
        window = np.where(np.isinf(window), np.nan, window)
        return np.max(window, axis=-1) if self.stat == "max" else np.min(window, axis=-1)

    def member_text(self) -> str:
        return f"{self.stat}({self.name}, {fmt_number(self.start)}, {fmt_number(self.end)})"

    def member_sentence(self) -> str:
        word = "largest" if self.stat == "max" else "smallest"
        return f"{word} {self.name} from day {self.start:g} to {self.end:g}"

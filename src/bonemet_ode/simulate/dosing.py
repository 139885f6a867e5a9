"""Dosing specifications and their expansion into compiled events."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..errors import ScheduleError
from ..model import Model

__all__ = ["Dose", "EV_BOLUS", "EV_RATE", "EV_SETPAR", "EV_SETSTATE", "build_events"]

EV_BOLUS, EV_RATE, EV_SETPAR, EV_SETSTATE = 0, 1, 2, 3


def _num(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ScheduleError(f"{what} must be a number, got {x!r}")
    v = float(x)
    if not math.isfinite(v):
        raise ScheduleError(f"{what} must be finite, got {v}")
    return v


def _seq(x: object, what: str) -> tuple:
    """``x`` as a tuple of items: a sequence (not a string or a single number)."""
    if isinstance(x, (str, bytes)) or np.ndim(x) != 1 or not hasattr(x, "__iter__"):
        raise ScheduleError(f"{what} must be a sequence of days, got {x!r}")
    return tuple(x.tolist() if isinstance(x, np.ndarray) else x)


@dataclass(frozen=True)
class Dose:
    """A dosing regimen of one drug into one state.

    Parameters
    ----------
    target : str
        State that receives the drug (an amount or a concentration state).
    amount : float
        Amount per administration, in the target state's unit (> 0).
    every : float, optional
        Period between administrations, days.  ``None`` with ``times=None``
        gives a single administration at ``start``.
    start : float
        Day of the first administration (>= 0).
    stop : float, optional
        Last day on which an administration may start (inclusive).  Default:
        the end of the simulation.
    times : sequence of float, optional
        Explicit administration days (instead of ``every``).
    duration : float, optional
        Zero-order infusion over ``duration`` days (rate ``amount/duration``);
        ``None`` is an instantaneous bolus.
    offsets : sequence of float
        Administrations within each period, days after the period's start
        (``(0, 3)`` with ``every=7`` is twice weekly, Monday and Thursday).

    Examples
    --------
    >>> Dose("F", amount=5.0, every=7, start=7).administration_times(28)
    array([ 7., 14., 21., 28.])
    """

    target: str
    amount: float
    every: float | None = None
    start: float = 0.0
    stop: float | None = None
    times: tuple[float, ...] | None = None
    duration: float | None = None
    offsets: tuple[float, ...] = (0.0,)

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target:
            raise ScheduleError(f"dose target must be a state name, got {self.target!r}")
        amount = _num(self.amount, f"dose amount for {self.target!r}")
        if amount <= 0:
            raise ScheduleError(f"dose amount for {self.target!r} must be > 0, got {amount}")
        object.__setattr__(self, "amount", amount)
        start = _num(self.start, f"dose start for {self.target!r}")
        if start < 0:
            raise ScheduleError(f"dose start for {self.target!r} is day {start}; it must be >= 0")
        object.__setattr__(self, "start", start)
        if self.every is not None:
            every = _num(self.every, f"dosing period 'every' for {self.target!r}")
            if every <= 0:
                raise ScheduleError(f"dosing period 'every' for {self.target!r} must be > 0 days, got {every}")
            object.__setattr__(self, "every", every)
        if self.stop is not None:
            stop = _num(self.stop, f"dose stop for {self.target!r}")
            if stop < start:
                raise ScheduleError(f"dose stop (day {stop}) for {self.target!r} is before its start (day {start})")
            object.__setattr__(self, "stop", stop)
        if self.times is not None:
            if self.every is not None:
                raise ScheduleError(f"dose for {self.target!r}: give either 'times' or 'every', not both")
            ts = tuple(_num(t, f"dose time for {self.target!r}") for t in _seq(self.times, f"dose times for {self.target!r}"))
            if any(t < 0 for t in ts):
                raise ScheduleError(f"dose times for {self.target!r} must be >= 0 days, got {ts}")
            if list(ts) != sorted(ts) or len(set(ts)) != len(ts):
                raise ScheduleError(f"dose times for {self.target!r} must be strictly increasing, got {ts}")
            object.__setattr__(self, "times", ts)
        if self.duration is not None:
            dur = _num(self.duration, f"infusion duration for {self.target!r}")
            if dur <= 0:
                raise ScheduleError(f"infusion duration for {self.target!r} must be > 0 days, got {dur}")
            object.__setattr__(self, "duration", dur)
        offs = tuple(_num(o, f"dose offset for {self.target!r}") for o in _seq(self.offsets, f"dose offsets for {self.target!r}"))
        if not offs or any(o < 0 for o in offs) or list(offs) != sorted(set(offs)):
            raise ScheduleError(f"dose offsets for {self.target!r} must be increasing and >= 0, got {offs}")
        if self.every is not None and offs[-1] >= self.every:
            raise ScheduleError(f"dose offsets for {self.target!r} ({offs}) must be < the period every={self.every}")
        object.__setattr__(self, "offsets", offs)

    # convenient regimens
    @classmethod
    def daily(cls, target: str, amount: float, start: float = 0.0, stop: float | None = None, **kw) -> "Dose":
        """Once a day from ``start``."""
        return cls(target, amount, every=1.0, start=start, stop=stop, **kw)

    @classmethod
    def weekly(cls, target: str, amount: float, start: float = 0.0, stop: float | None = None, **kw) -> "Dose":
        """Once a week from ``start``."""
        return cls(target, amount, every=7.0, start=start, stop=stop, **kw)

    @classmethod
    def twice_weekly(cls, target: str, amount: float, start: float = 0.0, stop: float | None = None, **kw) -> "Dose":
        """Twice a week (days 0 and 3 of each week) from ``start``."""
        return cls(target, amount, every=7.0, start=start, stop=stop, offsets=(0.0, 3.0), **kw)

    def administration_times(self, t_end: float) -> np.ndarray:
        """Days of administration up to ``t_end`` (inclusive)."""
        last = t_end if self.stop is None else min(self.stop, t_end)
        if self.times is not None:
            ts = np.array([t for t in self.times if t <= last], dtype=float)
        elif self.every is None:
            ts = np.array([self.start] if self.start <= last else [], dtype=float)
        else:
            n = int(math.floor((last - self.start) / self.every + 1e-9)) + 1 if last >= self.start else 0
            base = self.start + self.every * np.arange(max(n, 0))
            ts = np.sort((base[:, None] + np.array(self.offsets)[None, :]).ravel())
            ts = ts[ts <= last + 1e-12]
        return ts

    def __str__(self) -> str:
        how = f"{self.amount:g} into {self.target}"
        if self.duration:
            how += f" infused over {self.duration:g} d"
        if self.times is not None:
            return f"{how} on days {', '.join(f'{t:g}' for t in self.times)}"
        if self.every is None:
            return f"{how} on day {self.start:g}"
        offs = ", ".join(f"{o:g}" for o in self.offsets)
        per = f"every {self.every:g} d" if self.offsets == (0.0,) else f"on days {offs} of every {self.every:g} d"
        end = f" until day {self.stop:g}" if self.stop is not None else ""
        return f"{how} {per} from day {self.start:g}{end}"


def build_events(model: Model, doses: Sequence[Dose], t_end: float) -> tuple[np.ndarray, ...]:
    """Expand doses and the model's parameter switches into sorted event arrays.

    Returns ``(times, kinds, indices, values)`` ready for the compiled
    solver.  At equal times, parameter switches come first, then infusion
    rate changes, then boluses.

    Raises
    ------
    UnknownNameError
        If a dose targets a state the model does not have.
    """
    rows: list[tuple[float, int, int, float]] = []
    for sw in model.switches:
        if sw.time <= t_end:
            rows.append((sw.time, EV_SETPAR, model.parameter_index(sw.parameter), sw.value))
    for d in doses:
        idx = model.state_index(d.target)
        for t in d.administration_times(t_end):
            if d.duration is None:
                rows.append((float(t), EV_BOLUS, idx, d.amount))
            else:
                rate = d.amount / d.duration
                rows.append((float(t), EV_RATE, idx, rate))
                rows.append((float(t) + d.duration, EV_RATE, idx, -rate))
    order = {EV_SETPAR: 0, EV_SETSTATE: 0, EV_RATE: 1, EV_BOLUS: 2}
    rows.sort(key=lambda r: (r[0], order[r[1]]))
    return (
        np.array([r[0] for r in rows], dtype=float),
        np.array([r[1] for r in rows], dtype=np.int32),
        np.array([r[2] for r in rows], dtype=np.int32),
        np.array([r[3] for r in rows], dtype=float),
    )


def merge_doses(groups: Iterable[Sequence[Dose]]) -> tuple[Dose, ...]:
    """Concatenate dose lists (several drugs in one arm)."""
    out: list[Dose] = []
    for g in groups:
        out.extend(g)
    return tuple(out)

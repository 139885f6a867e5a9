"""Dosing specifications and their expansion into compiled events."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ScheduleError
from ..model import Model

__all__ = ["Dose", "EV_BOLUS", "EV_RATE", "EV_SETPAR", "EV_SETSTATE", "EV_GATED", "build_events", "gate_parameter"]

EV_BOLUS, EV_RATE, EV_SETPAR, EV_SETSTATE = 0, 1, 2, 3
#: Kind of a bolus given only while a gate parameter is on: ``EV_GATED + j`` adds the amount when
#: parameter ``j`` (the on/off flag of an adaptive dose, set by state-triggered events) exceeds 0.5.
EV_GATED = 1024


def _num(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ScheduleError(f"{what} must be a number, got {x!r}")
    v = float(x)
    if not math.isfinite(v):
        raise ScheduleError(f"{what} must be finite, got {v}")
    return v


def _seq(x: Any, what: str) -> tuple:
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
        Day of the first administration (>= 0); not with ``times`` (absolute days).
    stop : float, optional
        Last day on which an administration may start (inclusive), for ``every``
        or ``times``.  Default: the end of the simulation.
    times : sequence of float, optional
        Explicit administration days (instead of ``every``).  Settings a
        schedule would not read (``start`` with ``times``, ``offsets`` without
        ``every``, ``stop`` on a single dose) are refused, not ignored.
    duration : float, optional
        Zero-order infusion over ``duration`` days (rate ``amount/duration``);
        ``None`` is an instantaneous bolus.
    offsets : sequence of float
        Administrations within each period, days after the period's start
        (``(0, 3)`` with ``every=7`` is twice weekly, Monday and Thursday).
    while_above : (str, float), optional
        Adaptive therapy: ``(name, threshold)`` with ``name`` a state or observable.  A
        scheduled administration is given only while treatment is *on*.  Treatment turns on
        when the value rises above ``threshold`` (or is above it on day 0) and off when it
        falls below ``pause_below``; the crossings are state-triggered events located by the
        compiled solver, and each scheduled administration checks the on/off flag at its time.
        Boluses only (an infusion cannot be gated).
    pause_below : float, optional
        Threshold at which treatment pauses (default: ``threshold``); at most ``threshold``,
        so that ``pause_below < threshold`` gives hysteresis (treat above X, pause below Y).

    Examples
    --------
    >>> Dose("F", amount=5.0, every=7, start=7).administration_times(28)
    array([ 7., 14., 21., 28.])

    Anti-PD-1 every 3 days from day 7, but only while the tumour burden is above 1e8 cells
    (pausing when it falls below 5e7):

    >>> Dose("anti_pd1", 10.0, every=3, start=7, while_above=("T_total", 1e8), pause_below=5e7)
    Dose(target='anti_pd1', amount=10.0, every=3.0, start=7.0, stop=None, times=None, duration=None,
         offsets=(0.0,), while_above=('T_total', 100000000.0), pause_below=50000000.0)
    """

    target: str
    amount: float
    every: float | None = None
    start: float = 0.0
    stop: float | None = None
    times: tuple[float, ...] | None = None
    duration: float | None = None
    offsets: tuple[float, ...] = (0.0,)
    while_above: tuple[str, float] | None = None
    pause_below: float | None = None

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
            ts = tuple(_num(t, f"dose time for {self.target!r}")
                       for t in _seq(self.times, f"dose times for {self.target!r}"))
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
        offs = tuple(_num(o, f"dose offset for {self.target!r}")
                     for o in _seq(self.offsets, f"dose offsets for {self.target!r}"))
        if not offs or any(o < 0 for o in offs) or list(offs) != sorted(set(offs)):
            raise ScheduleError(f"dose offsets for {self.target!r} must be increasing and >= 0, got {offs}")
        if self.every is not None and offs[-1] >= self.every:
            raise ScheduleError(f"dose offsets for {self.target!r} ({offs}) must be < the period every={self.every}")
        object.__setattr__(self, "offsets", offs)
        # settings the schedule would not read: refused, never silently ignored
        if self.times is not None and start != 0.0:
            raise ScheduleError(f"dose for {self.target!r}: 'start' ({start:g}) does not apply to explicit 'times' "
                                "(the days given are absolute); add the start to the times, or use every=")
        if self.every is None and offs != (0.0,):
            raise ScheduleError(f"dose for {self.target!r}: 'offsets' {offs} apply only to a repeated schedule "
                                "(every=); give the days with times=")
        if self.every is None and self.times is None and self.stop is not None:
            raise ScheduleError(f"dose for {self.target!r}: 'stop' applies only to a repeated schedule (every=); a "
                                f"single dose on day {start:g} has nothing to stop")
        if self.duration is not None and not self.duration > 1e-9 * max(1.0, start):
            raise ScheduleError(f"infusion duration for {self.target!r} ({self.duration:g} days) is too short to "
                                "resolve in floating point at its start day; give a bolus (no duration) instead")
        if self.while_above is None:
            if self.pause_below is not None:
                raise ScheduleError(f"dose for {self.target!r}: pause_below needs while_above=(name, threshold)")
        else:
            wa = tuple(self.while_above) if isinstance(self.while_above, (tuple, list)) else None
            if wa is None or len(wa) != 2 or not isinstance(wa[0], str) or not wa[0]:
                raise ScheduleError(f"dose for {self.target!r}: while_above must be (state or observable name, "
                                    f"threshold), got {self.while_above!r}")
            thr = _num(wa[1], f"while_above threshold for {self.target!r}")
            object.__setattr__(self, "while_above", (wa[0], thr))
            if self.duration is not None:
                raise ScheduleError(f"dose for {self.target!r}: an infusion (duration={self.duration}) cannot be "
                                    "gated by while_above; give boluses")
            if self.pause_below is not None:
                pb = _num(self.pause_below, f"pause_below for {self.target!r}")
                if pb > thr:
                    raise ScheduleError(f"dose for {self.target!r}: pause_below={pb} is above the while_above "
                                        f"threshold {thr}; it must be <= it")
                object.__setattr__(self, "pause_below", pb)

    # convenient regimens
    @classmethod
    def daily(cls, target: str, amount: float, start: float = 0.0, stop: float | None = None, **kw) -> Dose:
        """Once a day from ``start``."""
        return cls(target, amount, every=1.0, start=start, stop=stop, **kw)

    @classmethod
    def weekly(cls, target: str, amount: float, start: float = 0.0, stop: float | None = None, **kw) -> Dose:
        """Once a week from ``start``."""
        return cls(target, amount, every=7.0, start=start, stop=stop, **kw)

    @classmethod
    def twice_weekly(cls, target: str, amount: float, start: float = 0.0, stop: float | None = None, **kw) -> Dose:
        """Twice a week (days 0 and 3 of each week) from ``start``."""
        return cls(target, amount, every=7.0, start=start, stop=stop, offsets=(0.0, 3.0), **kw)

    def administration_times(self, t_end: float) -> np.ndarray:
        """Days of administration up to ``t_end`` (inclusive).

        A regular schedule's days ``start + k * every + offset`` are rounded to 12 decimals (multiples of
        1e-12 day, about 0.1 µs): ``0.1 * 3`` is the day 0.3 a user means, not 0.30000000000000004, which
        falls after an output or the end at 0.3 and would be reported before the dose, or dropped.
        """
        last = t_end if self.stop is None else min(self.stop, t_end)
        if self.times is not None:
            ts = np.array([t for t in self.times if t <= last], dtype=float)
        elif self.every is None:
            ts = np.array([self.start] if self.start <= last else [], dtype=float)
        else:
            n = int(math.floor((last - self.start) / self.every + 1e-9)) + 1 if last >= self.start else 0
            base = self.start + self.every * np.arange(max(n, 0))
            ts = np.sort(np.round((base[:, None] + np.array(self.offsets)[None, :]).ravel(), 12))
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
        return f"{how} {per} from day {self.start:g}{end}{self._gate_text()}"

    def _gate_text(self) -> str:
        if self.while_above is None:
            return ""
        name, thr = self.while_above
        pause = "" if self.pause_below is None else f" (pause below {self.pause_below:g})"
        return f" while {name} > {thr:g}{pause}"

    def gate_module(self, model: Model, index: int):
        """The module that carries this adaptive dose's on/off flag and the events that switch it
        (``None`` for an ordinary dose); ``index`` is the dose's position in its arm."""
        if self.while_above is None:
            return None
        from ..model import Event, Module, Parameter

        name, thr = self.while_above
        if name not in model.state_names and name not in model.observable_names:
            from ..model.model import unknown_name

            raise unknown_name(name, "state or observable", list(model.state_names) + list(model.observable_names))
        gate = gate_parameter(index, self)
        pause = thr if self.pause_below is None else self.pause_below
        # thresholds are parameters: arms that differ in thresholds share one compiled library
        above, below = f"{gate}_above", f"{gate}_below"
        lo, hi = min(thr, pause, 0.0), max(thr, 0.0, 1.0) * 1e6
        return Module(
            f"adaptive_{gate}",
            parameters=(
                Parameter(gate, 0.0, "1", 0.0, 1.0, f"1 while the adaptive dose into {self.target} is on", "arm"),
                Parameter(above, thr, "unit of " + name, lo, hi, f"treatment turns on above this {name}", "arm"),
                Parameter(below, pause, "unit of " + name, lo, hi, f"treatment pauses below this {name}", "arm"),
            ),
            events=(
                Event(f"{gate}_on", f"{name} > {above}", {gate: 1.0}, initial_value=False,
                      description=f"{name} rose above {thr:g}: treat"),
                Event(f"{gate}_off", f"{name} < {below}", {gate: 0.0},
                      description=f"{name} fell below {pause:g}: pause"),
            ),
            description=f"adaptive dosing of {self.target}{self._gate_text()}",
        )


def build_events(model: Model, doses: Sequence[Dose],
                 t_end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    for i, d in enumerate(doses):
        idx = model.state_index(d.target)
        kind = EV_BOLUS
        if d.while_above is not None:
            kind = EV_GATED + model.parameter_index(gate_parameter(i, d))
        for t in d.administration_times(t_end):
            if d.duration is None:
                rows.append((float(t), kind, idx, d.amount))
            else:
                rate = d.amount / d.duration
                rows.append((float(t), EV_RATE, idx, rate))
                rows.append((float(t) + d.duration, EV_RATE, idx, -rate))
    order = {EV_SETPAR: 0, EV_SETSTATE: 0, EV_RATE: 1, EV_BOLUS: 2}
    rows.sort(key=lambda r: (r[0], order.get(r[1], 2)))
    return (
        np.array([r[0] for r in rows], dtype=float),
        np.array([r[1] for r in rows], dtype=np.int32),
        np.array([r[2] for r in rows], dtype=np.int32),
        np.array([r[3] for r in rows], dtype=float),
    )


def gate_parameter(index: int, dose: Dose) -> str:
    """Name of the on/off flag parameter of the adaptive dose at position ``index`` of its arm."""
    return f"treating_{index}_{dose.target}"


def merge_doses(groups: Iterable[Sequence[Dose]]) -> tuple[Dose, ...]:
    """Concatenate dose lists (several drugs in one arm)."""
    out: list[Dose] = []
    for g in groups:
        out.extend(g)
    return tuple(out)

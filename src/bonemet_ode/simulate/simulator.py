"""Run a model under an arm: the compiled solve and the :func:`simulate` entry point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..compile.backend import compile_model
from ..compile.library import STATUS_MESSAGES, CompiledModel, stats_dict
from ..errors import ModelError, ParameterError, ScheduleError, SolverError
from ..model import Model
from ..model.model import unknown_name
from . import _validate
from ._validate import instance, number
from .arm import CONTROL, Arm
from .dosing import build_events
from .options import SolverOptions
from .result import SimulationResult

__all__ = ["Simulator", "simulate", "output_times", "failure_message", "STATUS_NEGATIVE"]

#: Status of a solve in which a state declared nonnegative went below its allowed error
#: ``-(atol + rtol*max|y|)`` at an output time (see :class:`Simulator`).  Set here, after the compiled solve
#: (the C solver's own codes are 0-4; 5-8 are left to it).
STATUS_NEGATIVE = 9
STATUS_MESSAGES.setdefault(STATUS_NEGATIVE, "a state declared nonnegative went below -(atol + rtol*max|state|), "
                           "beyond the solver's allowed error: the model's rates drive it negative, or the error "
                           "exceeded the tolerances")


def output_times(days: float | None, times: Sequence[float] | np.ndarray | None, per_day: int = 4) -> np.ndarray:
    """Validated output times (days): ``times`` if given, else a grid on ``[0, days]``.

    The grid has ``per_day`` outputs per day (at least two: day 0 and ``days``, so a simulation
    shorter than one output step still ends at ``days``).  With both ``days`` and ``times``, the
    times must end at ``days``: a simulation is never silently shorter (or longer) than asked.

    Raises
    ------
    ScheduleError
        On a ``days`` that is not a finite number > 0, ``times`` that are not a one-dimensional
        non-decreasing sequence of finite days >= 0, times that end before or after ``days``,
        or more than ``MAX_OUTPUT_TIMES`` (10 million) output times.

    Examples
    --------
    >>> output_times(0.1, None).tolist()
    [0.0, 0.1]
    """
    d = None if days is None else number(days, "days (simulation length)", low=0.0, low_open=True,
                                         error=ScheduleError)
    if times is None:
        if d is None:
            raise ScheduleError("give the simulation length 'days' or the output 'times'")
        n = max(1, int(round(d * per_day)))
        if n + 1 > _validate.MAX_OUTPUT_TIMES:
            raise ScheduleError(f"days={days!r} at {per_day} outputs per day gives {n + 1:.3g} output times, more than "
                                f"the limit of {_validate.MAX_OUTPUT_TIMES:.3g}; give fewer output 'times' or a "
                                "shorter simulation")
        return np.linspace(0.0, d, n + 1)
    if isinstance(times, (str, bytes, Mapping)) or np.ndim(times) == 0:
        raise ScheduleError(f"output 'times' must be a sequence of days, got {times!r}"
                            + ("; for a simulation length use days=" if np.ndim(times) == 0 else ""))
    try:
        raw = np.asarray(times)
        t = np.ascontiguousarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ScheduleError(f"output 'times' must be numbers (days), got {times!r}") from None
    if raw.dtype == bool or raw.dtype.kind in "OUSV" and not all(
            isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) for x in raw.ravel()):
        raise ScheduleError(f"output 'times' must be numbers (days), got {times!r}")
    if t.size > _validate.MAX_OUTPUT_TIMES:
        raise ScheduleError(f"{t.size} output times is more than the limit of {_validate.MAX_OUTPUT_TIMES:.3g}")
    if t.ndim != 1:
        raise ScheduleError(f"output 'times' must be one-dimensional, got shape {t.shape}")
    if t.size == 0:
        raise ScheduleError("output 'times' is empty")
    if not np.all(np.isfinite(t)):
        raise ScheduleError(f"output times must be finite, got {t[~np.isfinite(t)][:3]}")
    if t[0] < 0:
        raise ScheduleError(f"output times must be >= 0 days, got {t[0]}")
    if np.any(np.diff(t) < 0):
        i = int(np.flatnonzero(np.diff(t) < 0)[0])
        raise ScheduleError(f"output times must be non-decreasing: times[{i + 1}] = {t[i + 1]} < times[{i}] = {t[i]}")
    if d is not None and t[-1] > d + 1e-12:
        raise ScheduleError(f"output time {t[-1]} is after the end of the simulation (days={days})")
    if d is not None and d - t[-1] > 1e-9 * max(1.0, d):
        raise ScheduleError(f"days={days!r} but the output times end at day {t[-1]:g}: the simulation would stop "
                            f"there; give output times up to day {d:g}, or leave out days")
    return t


#: A dose or switch this close to an output time (relative to max(1, |t|)) is taken to fall on it.
SNAP_RTOL = 1e-9


def _snap_to_outputs(events: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                     times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Move each event time within :data:`SNAP_RTOL` of an output time onto it.

    Output grids and dose schedules are computed in floating point (``np.linspace(0, 0.3, 4)[1]`` is
    0.09999999999999999, a dose every 0.1 day falls on 0.1): without this a dose meant for an output day
    lands a few ulp after it, and the output reports the value before the dose instead of after it (the
    documented convention), or, at the last output, the dose is never given.
    """
    ev_t = np.array(events[0], dtype=float)
    if ev_t.size and times.size:
        k = np.clip(np.searchsorted(times, ev_t), 1, max(times.size - 1, 1))
        lo, hi = times[k - 1], times[np.minimum(k, times.size - 1)]
        near = np.where(np.abs(ev_t - lo) <= np.abs(hi - ev_t), lo, hi)
        close = np.abs(ev_t - near) <= SNAP_RTOL * np.maximum(1.0, np.abs(near))
        ev_t = np.where(close, near, ev_t)
    return ev_t, events[1], events[2], events[3]


def check_output_size(n_times: int, n_values: int, n_members: int) -> None:
    """Refuse, before allocating, an output of ``n_members x n_times x n_values`` doubles larger than
    :data:`bonemet_ode.simulate._validate.MAX_OUTPUT_BYTES`."""
    need = 8.0 * n_times * max(n_values, 1) * n_members
    if need > _validate.MAX_OUTPUT_BYTES:
        who = f"{n_members} members x " if n_members > 1 else ""
        raise ScheduleError(f"the output ({who}{n_times} times x {n_values} values) needs {need / 2**30:.3g} GiB, more "
                            f"than the limit of {_validate.MAX_OUTPUT_BYTES / 2**30:g} GiB; give fewer output times "
                            "(or members)")


def gate_switched_targets(model: Model, targets: Sequence[str]) -> Model:
    """``model`` with a sensitivity gate (:func:`~bonemet_ode.compile.sensitivity.gate_name`) for each target
    parameter that a switch overwrites: 1 until the parameter's first switch, 0 from then on, so that the
    parameter's forcing ``df/dtheta`` stops where its value no longer depends on it.
    """
    from ..compile.sensitivity import GATE_MODULE, gate_name
    from ..model import Module, Parameter

    for p in targets:
        if gate_name(p) in model.parameter_names:
            raise ModelError(f"model {model.name!r} has a parameter named {gate_name(p)!r}, the name of the "
                             f"sensitivity gate of target {p!r} (rename it)")
    first: dict[str, float] = {}
    for sw in model.switches:
        if sw.parameter in targets and sw.parameter in model.parameter_names:
            first[sw.parameter] = min(sw.time, first.get(sw.parameter, sw.time))
    if not first:
        return model
    gates = Module(GATE_MODULE, parameters=tuple(
        Parameter(gate_name(p), 1.0, "1", 0.0, 1.0, f"1 until parameter {p!r} is switched on day {t:g}, then 0")
        for p, t in first.items()), description="forcing gates of switched sensitivity targets")
    out = model.with_modules(gates)
    for p, t in first.items():
        out = out.with_switch(t, gate_name(p), 0.0)
    return out


def failure_message(model: Model, code: int, t: float, state: int, arm: str) -> str:
    """Readable message for a failed solve."""
    sname = model.state_names[state] if 0 <= state < len(model.state_names) else "?"
    return (f"solver failed in arm {arm!r} at day {t:.6g} in state {sname!r}: "
            f"{STATUS_MESSAGES.get(code, f'code {code}')}")


class Simulator:
    """A model, an arm and output times prepared for repeated fast solves.

    Building a :class:`Simulator` applies the arm's perturbations, compiles
    (or loads) the model and expands the dosing schedule once; :meth:`run`
    then costs one call into compiled code.

    Parameters
    ----------
    model : Model
        The model.
    arm : Arm, optional
        Treatment arm (default: untreated control).
    days : float, optional
        Simulation length, days (default: the last output time).
    times : array_like, optional
        Output times, days (default: 4 per day on ``[0, days]``).
    options : SolverOptions, optional
        Tolerances and limits.
    sensitivities : sequence of str, optional
        Parameter names (or state names, for initial values) whose forward
        sensitivities ``d(state)/d(theta)`` are integrated with the states;
        read them with :meth:`SimulationResult.sensitivity`.  They enter the
        error control with absolute tolerance ``atol/|theta|``.

    Notes
    -----
    Nonnegative states (``State(nonnegative=True)``, the default) are checked, not clipped: a
    solve in which such a state is below ``-(atol + rtol*max|y|)`` (its absolute tolerance plus
    the relative tolerance times its largest magnitude over the outputs: the error a step is
    allowed to leave) at an output time fails with status :data:`STATUS_NEGATIVE` (a
    :class:`~bonemet_ode.errors.SolverError` from :meth:`run`, a failed member in a cohort),
    naming the state and the day.  Smaller undershoots are the solver's allowed error and are
    returned as computed (never clipped).  See :meth:`negative_violation`.

    Raises
    ------
    ScheduleError
        On bad ``days``/``times`` or an output grid too large to allocate.
    """

    def __init__(
        self,
        model: Model,
        arm: Arm | None = None,
        days: float | None = None,
        times: Sequence[float] | np.ndarray | None = None,
        options: SolverOptions | None = None,
        sensitivities: Sequence[str] | None = None,
    ) -> None:
        instance(model, Model, "model", "a bonemet_ode Model (see bonemet_ode.models.get)", error=ModelError)
        self.arm = arm if arm is not None else CONTROL
        if not isinstance(self.arm, Arm):
            raise ScheduleError(f"arm must be an Arm, got {arm!r}")
        if options is not None:
            instance(options, SolverOptions, "options", "a SolverOptions")
        if isinstance(sensitivities, str) or not (
            sensitivities is None or isinstance(sensitivities, (Sequence, np.ndarray))
        ):
            raise ParameterError(f"sensitivities must be a sequence of names, got {sensitivities!r}"
                                 + (f"; write ({sensitivities!r},)" if isinstance(sensitivities, str) else ""))
        self.model = self.arm.apply(model)
        self.times = output_times(days, times)
        self.options = options or SolverOptions()
        self.sensitivities: tuple[str, ...] = tuple(sensitivities or ())
        if self.sensitivities:
            self.model = gate_switched_targets(self.model, self.sensitivities)
        self.compiled: CompiledModel = compile_model(self.model, sensitivities=self.sensitivities)
        check_output_size(len(self.times), self.compiled.n_states + self.compiled.n_observables, 1)
        self.events = _snap_to_outputs(build_events(self.model, self.arm.doses, float(self.times[-1])), self.times)
        self.atol = self.options.atol_vector(self.model)
        if self.sensitivities:
            self._atol_states = self.atol
            self.atol = np.concatenate([self.atol] + [self.atol / self._theta_scale(w) for w in self.sensitivities])
        self.opts = self.options.packed()
        self._single = self.compiled.single_solver(self.times, self.events, self.opts, self.atol)
        self._expr_initial = any(isinstance(s.initial, str) for s in self.model.states)
        self._y0 = None if self._expr_initial else self.model.initial_values()
        self._base_values = self.model.parameter_values()
        self._base_p = self.model.parameter_vector()
        self._pinfo = {p.name: (i, p.lower, p.upper) for i, p in enumerate(self.model.parameters)}
        self._no_obs = np.empty((len(self.times), 0))
        self._no_obs.flags.writeable = False  # shared by every result without observables
        # the default inputs never change (read-only from here on): a run without overrides copies nothing in
        self._single.constant_inputs(self._y0, self._base_p)
        # expression initials at the default parameters: evaluated on the first run without overrides, then kept
        # (read-only; evaluating them is ~15 us a run for bone_metastasis, 4 % of its solve)
        self._base_y0: np.ndarray | None = self._y0
        self._template = SimulationResult._template(self.model, self.arm, self.times)
        # nonnegativity check (see negative_violation): states not declared nonnegative get atol -inf
        nonneg = np.array([st.nonnegative for st in self.model.states], dtype=bool)
        self._neg_atol = np.where(nonneg, self.options.atol_vector(self.model), np.inf)
        self._neg_floor = -float(self._neg_atol.min())

    def negative_violation(self, Y: np.ndarray) -> tuple[int, int] | None:
        """``(output index, state index)`` of the first output at which a nonnegative state is negative beyond
        the solver's allowed error, or None.

        ``Y`` is (times x states), sensitivities after the states allowed.  The allowed error of state
        ``i`` is ``atol_i + rtol * max|y_i|`` (its largest magnitude over the outputs): what the error
        control lets a step leave, so an undershoot below it is not the solver's rounding but a
        failure (a model whose rates drive the state negative, or an error beyond the tolerances).
        """
        Ys = Y[:, : len(self._neg_atol)]
        if not Ys.min() < self._neg_floor:  # fast path (NaN-safe: a NaN solve has its own status)
            return None
        bound = -(self._neg_atol + self.options.rtol * np.abs(Ys).max(axis=0))
        bad = Ys < bound
        if not bad.any():
            return None
        i = int(np.flatnonzero(bad.any(axis=1))[0])
        return i, int(np.flatnonzero(bad[i])[0])

    def _theta_scale(self, name: str) -> float:
        """Typical magnitude of a sensitivity target (its value; 1 when zero)."""
        if name in self.model.parameter_names:
            v = abs(self.model.parameter(name).value)
        else:
            v = abs(float(self.model.initial_values()[self.model.state_index(name)]))
        return v if v > 0 else 1.0

    def _sensitivity_initial(self, y0: np.ndarray, values: Mapping[str, float]) -> np.ndarray:
        """``[x0, dx0/dtheta_1, ...]``: unit vectors for initial values, derivatives of expression initials."""
        n = len(y0)
        cols = []
        for w in self.sensitivities:
            col = np.zeros(n)
            if w in self.model.state_names:
                col[self.model.state_index(w)] = 1.0
            elif self._expr_initial:
                h = 1e-6 * max(abs(values[w]), 1e-8)
                up, dn = dict(values), dict(values)
                up[w] += h
                dn[w] -= h
                col = (self.model.initial_values(up) - self.model.initial_values(dn)) / (2 * h)
            cols.append(col)
        return np.concatenate([y0] + cols)

    def initial_state(self, params: Mapping[str, float] | None = None) -> np.ndarray:
        """Day-0 state for parameter values ``params`` (without expression initials: the simulator's own,
        read-only array)."""
        if self._y0 is not None:
            return self._y0
        return self.model.initial_values(self.parameters(params)[1])

    def parameters(self, params: Mapping[str, float] | None = None) -> tuple[np.ndarray, dict[str, float]]:
        """The compiled parameter vector and the name → value dict with ``params`` applied (checked).

        Without ``params`` these are the simulator's own: the vector is read-only, and the dict must not
        be changed."""
        if not params:
            return self._base_p, self._base_values
        p = self._base_p.copy()
        values = dict(self._base_values)
        for name, v in params.items():
            info = self._pinfo.get(name)
            if info is None:
                raise unknown_name(name, "parameter", self._pinfo)
            i, lo, hi = info
            if isinstance(v, (bool, np.bool_)):
                raise ParameterError(f"value of parameter {name!r} must be a number, got {v!r}")
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise ParameterError(f"value of parameter {name!r} must be a number, got {v!r}") from None
            if not np.isfinite(x):
                raise ParameterError(f"value of parameter {name!r} must be finite, got {x}")
            if not (lo <= x <= hi):
                raise ParameterError(f"value of parameter {name!r} is {x}, outside its bounds [{lo}, {hi}]")
            p[i] = x
            values[name] = x
        return p, values

    def solve(self, P: np.ndarray, Y0: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray,
                                                            np.ndarray, np.ndarray]:
        """Raw batched solve of parameter vectors ``P`` (members x params) from ``Y0`` (members x states).

        ``P`` rows are compiled parameter vectors of this simulator's model (``self.model.parameter_vector()``
        layout, which an arm's perturbations may widen), ``Y0`` rows its initial states.

        Raises
        ------
        ParameterError
            If ``P`` or ``Y0`` is not 2-D with the compiled model's widths and one row per member (the C
            solver reads exactly that many numbers per member).
        """
        P = np.ascontiguousarray(P, dtype=float)
        Y0 = np.ascontiguousarray(Y0, dtype=float)
        cm = self.compiled
        if P.ndim != 2 or P.shape[1] != cm.n_params:
            raise ParameterError(f"P must have shape (members, {cm.n_params}) (compiled parameter vectors of model "
                                 f"{self.model.name!r}), got {P.shape}")
        if Y0.ndim != 2 or Y0.shape != (P.shape[0], cm.n_states):
            raise ParameterError(f"Y0 must have shape ({P.shape[0]}, {cm.n_states}) (one initial state per member "
                                 f"of P), got {Y0.shape}")
        return cm.solve_batch(Y0, P, self.times, self.events, self.opts, self.atol)

    def solve_one(self, p: np.ndarray, y0: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray,
                                                                np.ndarray, np.ndarray]:
        """Raw solve of one parameter vector ``p`` from ``y0``: :meth:`solve` with one member, faster per call."""
        return self._single(y0, p)

    def run(self, params: Mapping[str, float] | None = None, *, check: bool = True) -> SimulationResult:
        """Simulate with parameter overrides ``params``.

        With ``check=False`` a failed solve returns a result whose ``status``
        and ``message`` say what failed and whose outputs after the failure are NaN.

        Raises
        ------
        SolverError
            If the integration fails; the message gives the day and the state.
        """
        if params is not None and not isinstance(params, Mapping):
            raise ParameterError(f"params must be a mapping of parameter name to value, got {params!r}")
        if not isinstance(check, (bool, np.bool_)):
            raise ParameterError(f"check must be True or False, got {check!r}")
        p, values = self.parameters(params)
        y0 = self._base_y0 if not params else self._y0
        if y0 is None:
            y0 = self.model.initial_values(values)
            if not params:  # the defaults' initial state never changes: keep it, and let the solver skip copying it
                y0.flags.writeable = False
                self._base_y0 = y0
                self._single.constant_inputs(y0, self._base_p)
        if self.sensitivities:
            y0 = self._sensitivity_initial(y0, values)
        Y, O, stats, status, fail_t, fail_state = self._single.solve(y0, p)
        if status == 0:
            neg = self.negative_violation(Y)
            if neg is not None:
                i, fail_state = neg
                status, fail_t = STATUS_NEGATIVE, float(self.times[i])
                Y[i:] = np.nan
                if O is not None:
                    O[i:] = np.nan
        msg = "ok"
        if status != 0:
            msg = failure_message(self.model, status, fail_t, fail_state, self.arm.name)
            if check:
                sname = self.model.state_names[fail_state] if 0 <= fail_state < len(self.model.state_names) else None
                raise SolverError(msg, t=fail_t, state=sname)
        obs = O if O is not None else self._no_obs
        stats_d = stats_dict(stats)
        if not self.sensitivities:
            return SimulationResult._of(self._template, values, Y, obs, stats_d, status, msg)
        n, no = len(self.model.state_names), len(self.model.observable_names)
        m, nt = len(self.sensitivities), len(self.times)
        sens_y = Y[:, n:].reshape(nt, m, n)
        sens_o = obs[:, no:].reshape(nt, m, no)
        return SimulationResult(self.model, self.arm, values, self.times, Y[:, :n], obs[:, :no], stats_d,
                                status, msg, self.sensitivities, sens_y, sens_o)


def simulate(
    model: Model,
    arm: Arm | None = None,
    days: float | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    params: Mapping[str, float] | None = None,
    *,
    rtol: float | None = None,
    atol: float | Mapping[str, float] | None = None,
    options: SolverOptions | None = None,
) -> SimulationResult:
    """Simulate ``model`` under ``arm`` from day 0.

    Parameters
    ----------
    model : Model
        The model (see :func:`bonemet_ode.models.get`).
    arm : Arm, optional
        Treatment arm; default untreated.
    days : float, optional
        Simulation length in days (default: last of ``times``).
    times : array_like, optional
        Output times in days (default: 4 per day on ``[0, days]``).
    params : mapping, optional
        Parameter overrides by name (checked against bounds).
    rtol, atol : float, optional
        Tolerances (defaults 1e-6 and 1e-9); ``options`` gives full control.

    Returns
    -------
    SimulationResult
        Indexable by state or observable name: ``res["T"]``.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> res = bm.simulate(bm.models.get("pk_one_compartment"),
    ...                   bm.Arm("q1d", [bm.Dose("central", 1.0, every=1.0)]), days=3)
    >>> round(float(res["central"][-1]), 4) > 1.0
    True
    """
    if options is not None and (rtol is not None or atol is not None):
        raise ParameterError("give the tolerances either as rtol=/atol= or in options=, not both "
                             f"(got rtol={rtol!r}, atol={atol!r} and options={options!r})")
    if params is not None and not isinstance(params, Mapping):
        raise ParameterError(f"params must be a mapping of parameter name to value, got {params!r}")
    if options is None:
        kw: dict[str, Any] = {}
        if rtol is not None:
            kw["rtol"] = rtol
        if atol is not None:
            kw["atol"] = atol
        options = SolverOptions(**kw)
    return Simulator(model, arm, days, times, options).run(params)

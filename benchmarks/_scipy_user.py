"""Plain scipy, the way a user writes it: a Python right-hand side, solve_ivp, restarted at each dose.

* :func:`reference_rhs` is the reference problem of ``shared/spec/performance.md``
  typed in by hand (a user's first try: tuple unpacking, plain arithmetic).
* :func:`straight_line_rhs` writes the same kind of function for any model
  from its terms (used for ``bone_metastasis``, which changes while it is being
  extended: hand-written code would go stale).  It is the code a user would
  type, generated, not bonemet_ode's compiled code.
* :func:`solve_with_doses` integrates between dose times with ``solve_ivp``
  and adds each bolus by hand; at an output time that is also a dose time it
  reports the post-dose state, like bonemet_ode and libRoadRunner.
* :class:`StateEvents` gives it the model's state-triggered events (the
  extinction events of ``bone_metastasis``) as ``solve_ivp`` event functions:
  located by ``solve_ivp``, assignments applied at that instant, integration
  restarted, as the compiled solver does.  Only triggers that are conjunctions
  of ``state < c`` / ``state > c`` comparisons are translated; any other event
  is refused by name, never ignored.

Only boluses are supported (the benchmark arms have no infusions or switches).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Sequence

import numpy as np
from scipy.integrate import solve_ivp

import bonemet_ode as bm

__all__ = ["REFERENCE_PARAMETERS", "reference_rhs", "straight_line_rhs", "bolus_schedule", "StateEvents",
           "solve_with_doses"]

#: Argument order of :func:`reference_rhs` after ``(t, y)``.
REFERENCE_PARAMETERS = ("r", "K", "kC", "sM", "sN", "eP", "EC50P", "aM", "hT", "IC50F", "dM", "aN", "hD", "dN",
                        "sC", "rC", "dC", "pD", "kD", "kA", "kF", "kAel", "kP")


#: The comparisons a trigger may use.
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
#: Functions and constants of the plain Python code (RHS and event assignments).
_MATH = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh, "pi": math.pi}


def reference_rhs(t, y, r, K, kC, sM, sN, eP, EC50P, aM, hT, IC50F, dM, aN, hD, dN, sC, rC, dC, pD, kD, kA, kF,
                  kAel, kP):
    """dy/dt of the reference problem (performance.md), states T, M, N, C, D, F, A, P; days."""
    T, M, N, C, D, F, A, P = y
    kill = kC * C * T / (1 + sM * M / 1e5) * 1 / (1 + sN * N / 1e5) * (1 + eP * P / (P + EC50P)) / (1 + eP)
    return [
        r * T * (1 - T / K) - kill,
        aM * T / (T + hT) / (1 + F / IC50F) - dM * M,
        aN * D / (D + hD) - dN * N,
        sC + rC * C * T / (T + hT) / (1 + sM * M / 1e5) - dC * C,
        pD * T / 1e6 - kD * D - kA * A * D,
        -kF * F,
        -kAel * A,
        -kP * P,
    ]


def straight_line_rhs(model: bm.Model) -> tuple[Callable, tuple[str, ...]]:
    """A plain Python ``rhs(t, y, *params)`` for ``model``, written out term by term.

    Returns the function and the parameter names in argument order.
    """
    if model.switches:
        raise ValueError(f"model {model.name!r} has parameter switches; the plain scipy driver handles boluses only")
    lines = [f"def rhs(t, y, {', '.join(model.parameter_names)}):"]
    lines.append(f"    {', '.join(model.state_names)}{',' if len(model.state_names) == 1 else ''} = y")
    for o in model.observables:
        lines.append(f"    {o.name} = {o.expr}")
    flux: dict[str, list[str]] = {s: [] for s in model.state_names}
    for k, term in enumerate(model.terms):
        if term.name in model.knockouts:
            continue
        lines.append(f"    v{k} = {term.rate}")
        for state, coef in term.effect_map.items():
            flux[state].append(f"{coef!r}*v{k}" if coef not in (1.0, -1.0) else ("v" if coef > 0 else "-v") + str(k))
    body = ", ".join(" + ".join(f) if f else "0.0" for f in flux.values())
    lines.append(f"    return [{body}]")
    namespace = dict(_MATH)
    exec(compile("\n".join(lines), f"<plain rhs of {model.name}>", "exec"), namespace)  # noqa: S102 - our own text
    return namespace["rhs"], model.parameter_names


def bolus_schedule(model: bm.Model, arm: bm.Arm, t_end: float) -> list[tuple[float, list[tuple[int, float]]]]:
    """``[(day, [(state index, amount), ...]), ...]`` sorted by day."""
    by_time: dict[float, list[tuple[int, float]]] = {}
    for dose in arm.doses:
        if dose.duration is not None:
            raise ValueError(f"arm {arm.name!r} has an infusion; the plain scipy driver handles boluses only")
        i = model.state_names.index(dose.target)
        for t in dose.administration_times(t_end):
            by_time.setdefault(float(t), []).append((i, dose.amount))
    return sorted(by_time.items())


class StateEvents:
    """A model's state-triggered events as ``solve_ivp`` event functions, for :func:`solve_with_doses`.

    A trigger must be a comparison of a state with a number or a parameter
    (``tumor < 1``, ``x > k``, ``1 > x``; ``<=`` and ``>=`` too) or such comparisons
    joined by ``and``.  Write atom ``i`` as ``s_i (x_i - c_i) < 0`` (``s_i = 1`` for
    ``<``, ``-1`` for ``>``): the conjunction holds exactly where
    ``g = max_i s_i (x_i - c_i)`` is below 0, so the event triggers where ``g``
    crosses 0 downward (a terminal ``solve_ivp`` event, direction -1).  An event
    fires on its trigger's false -> true transitions only; before ``t0`` its
    trigger has the value ``initial_value``, so with ``False`` a trigger that holds
    at ``t0`` fires there.  Assignments set states to expressions of states,
    parameters and ``t`` (``use_values_from_trigger_time``: evaluated when the event
    triggers, else when it executes); events of one instant execute in
    declaration order, a non-persistent one only if its trigger still holds, and
    every trigger is checked again after each execution (cascades), as
    :class:`bonemet_ode.model.Event` describes.

    Parameters
    ----------
    model : Model
        The model as solved (``arm.apply(model)``); its ``events`` are translated.
    parameter_names : sequence of str
        The order of the parameters ``args`` that the RHS (and the event functions) receive.

    Raises
    ------
    ValueError
        Naming the event, for a trigger, an assignment or a priority this driver does not translate
        (an event is never dropped).
    """

    def __init__(self, model: bm.Model, parameter_names: Sequence[str]) -> None:
        self.states = tuple(model.state_names)
        self.parameter_names = tuple(parameter_names)
        self.events = tuple(model.events)
        self.names = tuple(e.name for e in self.events)
        self.initial_values = tuple(e.initial_value for e in self.events)
        #: per event: atoms (state index, sign, operator, constant threshold or None, parameter index or -1)
        self._atoms = [self._trigger_atoms(e) for e in self.events]
        self._assign = [self._assignments(e) for e in self.events]
        self.functions = [self._event_function(atoms) for atoms in self._atoms]

    def __len__(self) -> int:
        return len(self.events)

    def _refuse(self, event: bm.Event, what: str) -> ValueError:
        return ValueError(f"event {event.name!r} ({event.trigger!r}): {what}; the plain scipy driver translates "
                          "only triggers 'state < c' / 'state > c' (c a number or parameter) joined by 'and', "
                          "assigning states")

    def _threshold(self, node: ast.AST, event: bm.Event) -> tuple[float | None, int]:
        if isinstance(node, ast.Name) and node.id in self.parameter_names:
            return None, self.parameter_names.index(node.id)
        try:
            value = ast.literal_eval(node)
        except ValueError:
            value = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), -1
        raise self._refuse(event, f"{ast.unparse(node)!r} is not a number or a parameter")

    def _trigger_atoms(self, event: bm.Event) -> list[tuple[int, float, str, float | None, int]]:
        if event.priority is not None:
            raise self._refuse(event, f"priority {event.priority!r} is not translated")
        tree = ast.parse(event.trigger.strip(), mode="eval").body
        conjuncts = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
        ops = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
        mirror = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
        atoms = []
        for node in conjuncts:
            if not isinstance(node, ast.Compare):
                raise self._refuse(event, f"{ast.unparse(node)!r} is not a comparison")
            left = node.left
            for cmp, right in zip(node.ops, node.comparators):
                op = ops.get(type(cmp))
                if op is None:
                    raise self._refuse(event, f"operator {type(cmp).__name__} is not translated")
                if isinstance(left, ast.Name) and left.id in self.states:
                    state, other = left.id, right
                elif isinstance(right, ast.Name) and right.id in self.states:
                    state, other, op = right.id, left, mirror[op]
                else:
                    raise self._refuse(event, f"{ast.unparse(left)} {op} {ast.unparse(right)} does not compare a "
                                              "state with a threshold")
                const, p_index = self._threshold(other, event)
                atoms.append((self.states.index(state), 1.0 if op[0] == "<" else -1.0, op, const, p_index))
                left = right
        return atoms

    def _assignments(self, event: bm.Event) -> list[tuple[int, Callable]]:
        known = set(self.states) | set(self.parameter_names) | {"t"}
        out = []
        for target, expr in event.assignment_map.items():
            if target not in self.states:
                raise self._refuse(event, f"it assigns {target!r}, which is not a state")
            tree = ast.parse(str(expr).strip(), mode="eval")
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _MATH):
                    raise self._refuse(event, f"assignment {target} = {expr} calls {ast.unparse(node.func)}")
                if isinstance(node, ast.Name) and node.id not in known and node.id not in _MATH:
                    raise self._refuse(event, f"assignment {target} = {expr} reads {node.id!r}, not a state, "
                                              "parameter or t")
            code = compile(tree, f"<assignment {target} of event {event.name}>", "eval")
            out.append((self.states.index(target), code))
        return out

    @staticmethod
    def _event_function(atoms: list) -> Callable:
        def g(t: float, y: np.ndarray, *args: float) -> float:
            return max(sign * (y[i] - (c if p < 0 else args[p])) for i, sign, _, c, p in atoms)

        g.terminal = True  # type: ignore[attr-defined]
        g.direction = -1.0  # type: ignore[attr-defined]
        return g

    def holds(self, k: int, y: np.ndarray, args: Sequence[float]) -> bool:
        """Whether event ``k``'s trigger holds at state ``y``."""
        return all(_COMPARE[op](y[i], c if p < 0 else args[p]) for i, _, op, c, p in self._atoms[k])

    def _values(self, k: int, t: float, y: np.ndarray, args: Sequence[float]) -> list[tuple[int, float]]:
        scope = dict(_MATH, t=t, **dict(zip(self.states, y)), **dict(zip(self.parameter_names, args)))
        return [(i, float(eval(code, scope))) for i, code in self._assign[k]]  # noqa: S307 - compiled above

    def at_instant(self, t: float, y: np.ndarray, args: Sequence[float], before: list[bool],
                   located: Sequence[int] = ()) -> tuple[np.ndarray, list[bool], list[str]]:
        """Execute the events that trigger at ``t``.

        Parameters
        ----------
        t : float
            The instant (days).
        y : numpy.ndarray
            The state at ``t`` (after any dose of ``t``); a copy is changed and returned.
        args : sequence of float
            The parameters.
        before : list of bool
            Each trigger's value just before ``t`` (``initial_values`` at ``t0``).
        located : sequence of int
            Events whose transition ``solve_ivp`` located at ``t``: they trigger even where the
            interpolated state at the root sits on the false side of the threshold by rounding.

        Returns
        -------
        tuple
            (the state after the events, each trigger's value after them, names of the executed events).
        """
        y = np.array(y, dtype=float)
        now = [self.holds(k, y, args) for k in range(len(self))]
        pending = {k: self._values(k, t, y, args) for k in range(len(self))
                   if k in located or (now[k] and not before[k])}
        for k in located:
            now[k] = True
        executed: list[str] = []
        while pending:
            k = min(pending)  # declaration order (no priorities: refused above)
            values = pending.pop(k)
            ev = self.events[k]
            if not ev.persistent and not now[k]:
                continue
            if not ev.use_values_from_trigger_time:
                values = self._values(k, t, y, args)
            for i, v in values:
                y[i] = v
            executed.append(ev.name)
            if len(executed) > 1000:
                raise RuntimeError(f"more than 1000 event executions at day {t:g} ({executed[-3:]} ...)")
            after = [self.holds(m, y, args) for m in range(len(self))]
            for m in range(len(self)):
                if after[m] and not now[m] and m not in pending:
                    pending[m] = self._values(m, t, y, args)
            now = after
        return y, now, executed


def solve_with_doses(rhs: Callable, y0: Sequence[float], args: Sequence[float], times: np.ndarray,
                     schedule: list[tuple[float, list[tuple[int, float]]]], *, method: str = "LSODA",
                     rtol: float = 1e-6, atol: float = 1e-9,
                     events: StateEvents | None = None,
                     fired: list[tuple[float, str]] | None = None) -> tuple[np.ndarray, int]:
    """Integrate from ``times[0]`` with boluses and state events; return (outputs x states, RHS evaluations).

    Doses of an instant are added before its state events execute.  ``solve_ivp``
    stops at each located event; the assignments are applied there and the
    integration restarts.  An output at an event instant reports the state
    before the event.  ``fired``, when given, receives ``(day, event name)`` of
    each event execution.
    """
    y = np.array(y0, dtype=float)
    out = np.empty((len(times), len(y)))
    t, nfev, i = float(times[0]), 0, 0
    doses = dict(schedule)
    stops = [d for d, _ in schedule if times[0] < d < times[-1]] + [float(times[-1])]
    fns = events.functions if events is not None and len(events) else None
    fired = [] if fired is None else fired

    def instant(y: np.ndarray, before: list[bool], located: Sequence[int] = ()) -> tuple[np.ndarray, list[bool]]:
        if fns is None:
            return y, before
        assert events is not None
        y, now, names = events.at_instant(t, y, args, before, located)
        fired.extend((t, name) for name in names)
        return y, now

    for i_dose, amount in doses.get(t, []):
        y[i_dose] += amount
    y, truth = instant(y, list(events.initial_values) if fns else [])
    for stop in stops:
        last = stop == float(times[-1])
        j = len(times) if last else int(np.searchsorted(times, stop, side="left"))
        while t < stop:
            # ask for the segment's end too: it is the pre-dose state the next segment starts from
            t_eval = times[i:j] if last else np.append(times[i:j], stop)
            sol = solve_ivp(rhs, (t, stop), y, method=method, t_eval=t_eval, args=tuple(args), rtol=rtol, atol=atol,
                            events=fns)
            if not sol.success:
                raise RuntimeError(f"scipy {method} failed between days {t:g} and {stop:g}: {sol.message}")
            nfev += sol.nfev
            n = min(len(sol.t), j - i)
            out[i:i + n] = sol.y.T[:n]
            i += n
            if sol.status != 1:  # reached stop
                y, t = sol.y[:, -1].copy(), stop
                if fns is not None:
                    assert events is not None
                    truth = [events.holds(k, y, args) for k in range(len(events))]
                break
            t = min(float(te[0]) for te in sol.t_events if len(te))
            located = [k for k, te in enumerate(sol.t_events) if len(te) and float(te[0]) == t]
            y, truth = instant(sol.y_events[located[0]][0].copy(), truth, located)
        for i_dose, amount in doses.get(t, []):
            y[i_dose] += amount
        y, truth = instant(y, truth)
    return out, nfev

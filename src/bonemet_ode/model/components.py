"""The building blocks of a model: states, parameters, rate terms and observables.

Every block is a frozen dataclass holding plain, serialisable data (names,
numbers and expression strings).  Expressions are parsed with sympy when a
:class:`~bonemet_ode.model.model.Model` is built, so a block can be written,
compared, hashed and saved without touching sympy.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ModelError, ParameterError

__all__ = ["State", "Parameter", "Term", "Observable", "Switch", "Event", "check_name", "RESERVED_NAMES"]

#: Names that cannot be used for states, parameters, terms or observables.
RESERVED_NAMES = frozenset({"t", "time", "exp", "log", "sqrt", "tanh", "abs", "min", "max", "pi"})


def check_name(name: str, kind: str) -> str:
    """Return ``name`` if it is a valid identifier for a model symbol of ``kind``.

    Raises
    ------
    ModelError
        If ``name`` is not a Python identifier, is a keyword, starts with two
        underscores (reserved for generated symbols) or is a reserved name.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ModelError(f"{kind} name {name!r} is not a valid identifier (letters, digits, '_', not a keyword)")
    normal = unicodedata.normalize("NFKC", name)
    if normal != name:
        odd = ", ".join(f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, '?')})" for c in name
                        if unicodedata.normalize("NFKC", c) != c)
        changed = "".join(c for c in name if unicodedata.normalize("NFKC", c) != c)
        raise ModelError(f"{kind} name {name!r} contains {odd}, which Python's parser reads as "
                         f"{unicodedata.normalize('NFKC', changed)!r}"
                         f" (NFKC normalisation), so expressions could never refer to it; write {normal!r} instead")
    if name.startswith("__"):
        raise ModelError(f"{kind} name {name!r} starts with '__', which is reserved for generated symbols")
    if name in RESERVED_NAMES:
        raise ModelError(f"{kind} name {name!r} is reserved (reserved: {sorted(RESERVED_NAMES)})")
    return name


def _finite_number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{what} must be a real number, got {value!r}")
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        raise ParameterError(f"{what} must be finite, got {x}")
    return x


@dataclass(frozen=True)
class State:
    """A state variable (a compartment, a signal, a drug amount).

    Parameters
    ----------
    name : str
        Identifier used in expressions and results.
    initial : float or str
        Initial value at day 0, in ``unit``; a string is an expression of
        parameters (for example a steady state).
    unit : str
        Unit of the state, e.g. ``"cells"`` or ``"mg/kg"``.
    description : str
        What the state means biologically.
    nonnegative : bool
        Whether the state is a physical amount that must stay >= 0.
    """

    name: str
    initial: float | str = 0.0
    unit: str = "1"
    description: str = ""
    nonnegative: bool = True

    def __post_init__(self) -> None:
        check_name(self.name, "state")
        if not isinstance(self.initial, str):
            x = _finite_number(self.initial, f"initial value of state {self.name!r}")
            if self.nonnegative and x < 0:
                raise ParameterError(f"initial value of nonnegative state {self.name!r} is {x} < 0")
            object.__setattr__(self, "initial", x)


@dataclass(frozen=True)
class Parameter:
    """A model parameter with its documentation.

    Parameters
    ----------
    name : str
        Identifier used in expressions.
    value : float
        Default value, in ``unit``.
    unit : str
        Unit, e.g. ``"1/day"``.
    lower, upper : float
        Plausible bounds used for calibration and cohort sampling
        (default: ``0`` and ``inf``).  The default value must lie within them.
    description : str
        Biological meaning.
    source : str
        Citation or reasoning behind the value.
    log_scale : bool
        Whether calibration should search this parameter on a log scale.
    """

    name: str
    value: float
    unit: str = "1"
    lower: float = 0.0
    upper: float = math.inf
    description: str = ""
    source: str = ""
    log_scale: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "parameter")
        v = _finite_number(self.value, f"value of parameter {self.name!r}")
        lo = float(self.lower)
        hi = float(self.upper)
        if math.isnan(lo) or math.isnan(hi) or lo > hi:
            raise ParameterError(f"bounds of parameter {self.name!r} are invalid: lower={lo}, upper={hi}")
        if not lo <= v <= hi:
            raise ParameterError(
                f"value of parameter {self.name!r} is {v}, outside its bounds [{lo}, {hi}]"
            )
        if self.log_scale and lo <= 0:
            raise ParameterError(f"parameter {self.name!r} is log-scaled but its lower bound {lo} is not > 0")
        object.__setattr__(self, "value", v)
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)


@dataclass(frozen=True)
class Term:
    """A rate term (a flux) and the states it changes.

    The model's right-hand side is ``dx/dt = S @ v`` with ``v`` the vector of
    term rates and ``S`` the stoichiometry built from every term's
    ``effects``.

    Parameters
    ----------
    name : str
        Identifier of the term; knockouts refer to it.
    rate : str
        Expression of states, parameters and observables, in state units per day.
    effects : mapping of str to float
        Stoichiometric coefficient of this term for each affected state
        (``{"T": -1}`` for a loss of tumour cells).
    description : str
        Biological meaning of the flux.
    """

    name: str
    rate: str
    effects: Mapping[str, float] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "term")
        if not isinstance(self.rate, str) or not self.rate.strip():
            raise ModelError(f"term {self.name!r}: rate must be a non-empty expression string, got {self.rate!r}")
        if not self.effects:
            raise ModelError(f"term {self.name!r} changes no state: give effects, e.g. {{'T': 1}}")
        eff = {}
        for state, coef in dict(self.effects).items():
            c = _finite_number(coef, f"term {self.name!r}: coefficient for state {state!r}")
            if c == 0:
                raise ModelError(f"term {self.name!r}: coefficient for state {state!r} is zero")
            eff[str(state)] = c
        object.__setattr__(self, "effects", tuple(sorted(eff.items())))

    @property
    def effect_map(self) -> dict[str, float]:
        """The effects as a plain ``{state: coefficient}`` dict."""
        return dict(self.effects)


@dataclass(frozen=True)
class Observable:
    """A derived quantity (a total, a fraction, a ratio, a signal level).

    Observables may use states, parameters and observables defined before
    them; rate terms may use observables as named intermediate expressions.
    """

    name: str
    expr: str
    unit: str = "1"
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "observable")
        if not isinstance(self.expr, str) or not self.expr.strip():
            raise ModelError(f"observable {self.name!r}: expr must be a non-empty expression string")


@dataclass(frozen=True)
class Switch:
    """A timed change of a parameter value (for example a depletion that starts on day ``time``).

    Parameters
    ----------
    time : float
        Day at which the new value takes effect (>= 0).
    parameter : str
        Name of the parameter to change.
    value : float
        The value from ``time`` on, in the parameter's unit.
    """

    time: float
    parameter: str
    value: float

    def __post_init__(self) -> None:
        t = _finite_number(self.time, f"switch time for parameter {self.parameter!r}")
        if t < 0:
            raise ParameterError(f"switch time for parameter {self.parameter!r} is {t} < 0 days")
        v = _finite_number(self.value, f"switch value for parameter {self.parameter!r}")
        object.__setattr__(self, "time", t)
        object.__setattr__(self, "value", v)


@dataclass(frozen=True)
class Event:
    """A state-triggered event: when ``trigger`` becomes true, assign new values to states and parameters.

    The compiled solvers watch every event's trigger during integration, locate the instant it
    turns from false to true on the step's dense output (a bracketing root finder, to about
    1e-13 relative in time), apply the assignments there and restart the integration, as after a
    dose.  Semantics follow SBML Level 3 events without delays:

    * **Firing.**  An event fires at each instant where its trigger goes from false to true (a
      transition, not a level: a trigger that stays true fires once).  At ``t0`` the trigger's
      previous value is ``initial_value``: with ``initial_value=False`` an event whose trigger
      already holds at ``t0`` fires at ``t0``; with ``True`` (the default) it does not.
    * **Assignments** ``{name: expression}`` set states and parameters.  All of one event's
      expressions are evaluated before any is assigned.  With ``use_values_from_trigger_time``
      (the default) they are evaluated when the event triggers; otherwise when it is executed.
      The two differ only when several events trigger at one instant and one executes before
      another: the later one then sees (``False``) or does not see (``True``) the earlier one's
      assignments.
    * **Order.**  Events that trigger at the same instant execute one at a time, highest
      ``priority`` first (priorities are evaluated at the moment of choosing; an event without a
      priority comes after every event with one); ties go in declaration order (module order,
      then the model's own events).  SBML leaves the order of ties open; this choice makes
      results reproducible.
    * **Cascades.**  After each execution every trigger is evaluated again: a trigger turned
      true by the assignments triggers its event at the same instant; a pending event whose
      trigger turned false is dropped unless it is ``persistent``.  Timed events (doses,
      parameter switches) at an instant are applied before the state events of that instant.
      More than 1000 executions at one instant stop the solve with a clear error.
    * **Delays** are not supported: ``delay`` other than ``None`` raises :class:`ModelError`.

    Parameters
    ----------
    name : str
        Identifier of the event (unique among the model's events).
    trigger : str
        Condition in the model's expression language with comparisons: ``"T < 1"``,
        ``"tumour > k_on"``, ``"x > 1 and y < 2"``, ``"not T >= 1"``, ``"t >= 10"`` (``t`` is time
        in days).  States, parameters and observables may appear.  ``==`` and ``!=`` are refused.
    assignments : mapping of str to str or float
        ``{target: expression}``: the new value of a state or parameter, an expression of states,
        parameters, observables and ``t`` (evaluated as described above).
    persistent : bool
        Whether a triggered event executes even if its trigger turns false (through another
        event's assignment at the same instant) before it executes.  Default ``True``.
    initial_value : bool
        The trigger's value just before ``t0``.  Default ``True``.
    use_values_from_trigger_time : bool
        Evaluate the assignments when the event triggers (``True``, default) or when it executes.
    priority : float or str, optional
        Number or expression; larger executes first among events of one instant.
    delay : None
        Reserved: delayed events are refused.
    description : str
        What the event means.

    Examples
    --------
    >>> Event("reset", "x < 0.5", {"x": "1"})  # doctest: +ELLIPSIS
    Event(name='reset', trigger='x < 0.5', assignments=(('x', '1'),), ...)
    """

    name: str
    trigger: str
    assignments: Mapping[str, str | float] = field(default_factory=dict)
    persistent: bool = True
    initial_value: bool = True
    use_values_from_trigger_time: bool = True
    priority: float | str | None = None
    delay: float | str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "event")
        where = f"event {self.name!r}"
        if self.delay is not None:
            raise ModelError(f"{where}: delayed events are not supported (delay={self.delay!r}); "
                             "give delay=None, or model the delay with a state")
        if not isinstance(self.trigger, str) or not self.trigger.strip():
            raise ModelError(f"{where}: trigger must be a non-empty condition string, got {self.trigger!r}")
        from .expressions import parse_trigger, symbols_in

        parse_trigger(self.trigger, where + " trigger")
        for flag in ("persistent", "initial_value", "use_values_from_trigger_time"):
            if not isinstance(getattr(self, flag), bool):
                raise ModelError(f"{where}: {flag} must be True or False, got {getattr(self, flag)!r}")
        items = self.assignments.items() if isinstance(self.assignments, Mapping) else self.assignments
        out = []
        seen = set()
        for target, expr in items:
            if not isinstance(target, str):
                raise ModelError(f"{where}: assignment target must be a state or parameter name, got {target!r}")
            if target in seen:
                raise ModelError(f"{where}: {target!r} is assigned twice")
            seen.add(target)
            if isinstance(expr, str):
                if not expr.strip():
                    raise ModelError(f"{where}: assignment to {target!r} is an empty expression")
                symbols_in(expr, f"{where} assignment to {target!r}")
                out.append((target, expr.strip()))
            else:
                out.append((target, repr(_event_number(expr, f"{where}: assignment to {target!r}"))))
        if not out:
            raise ModelError(f"{where} assigns nothing: give assignments, e.g. {{'T': 0}}")
        object.__setattr__(self, "assignments", tuple(out))
        if self.priority is not None and not isinstance(self.priority, str):
            object.__setattr__(self, "priority", _event_number(self.priority, f"{where}: priority"))
        if isinstance(self.priority, str):
            if not self.priority.strip():
                raise ModelError(f"{where}: priority is an empty expression")
            symbols_in(self.priority, where + " priority")

    @property
    def assignment_map(self) -> dict[str, str]:
        """The assignments as a plain ``{target: expression}`` dict."""
        # __post_init__ stores the assignments as a tuple of (target, expression) pairs
        return dict(self.assignments)  # type: ignore[arg-type]

    def to_dict(self) -> dict:
        """JSON-ready form (:meth:`from_dict` rebuilds an equal event)."""
        return dict(name=self.name, trigger=self.trigger, assignments=self.assignment_map,
                    persistent=self.persistent, initial_value=self.initial_value,
                    use_values_from_trigger_time=self.use_values_from_trigger_time, priority=self.priority,
                    description=self.description)

    @classmethod
    def from_dict(cls, data: Mapping) -> Event:
        """Rebuild an event written by :meth:`to_dict`.

        Raises
        ------
        ModelError
            ``data`` is not a mapping, lacks ``name``/``trigger``/``assignments``, or has a field an
            event does not have (named).
        """
        if not isinstance(data, Mapping):
            raise ModelError(f"event: expected a JSON object of event fields, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ModelError(f"event {data.get('name', '?')!r}: unknown field(s) {unknown} (fields: {sorted(known)})")
        missing = [k for k in ("name", "trigger", "assignments") if k not in data]
        if missing:
            raise ModelError(f"event {data.get('name', '?')!r}: missing field(s) {missing}")
        return cls(**dict(data))


def _event_number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            if isinstance(value, (np.integer, np.floating)):
                value = float(value)
        except ImportError:  # pragma: no cover
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelError(f"{what} must be a number or an expression string, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ModelError(f"{what} must be finite, got {x}")
    return x

"""The immutable :class:`Model`: composed modules, validated at build time."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ModelError, ParameterError, UnknownNameError, suggestion
from .components import Event, Observable, Parameter, State, Switch, Term
from .expressions import compile_expression, lookalike_note, parse_trigger, symbols_in, topological_order
from .module import Module

__all__ = ["Model", "unknown_name"]

#: Bumped whenever the meaning of a structure key changes (invalidates compiled caches).
STRUCTURE_VERSION = 1


def unknown_name(name: str, kind: str, known: Iterable[str]) -> UnknownNameError:
    """Build an :class:`UnknownNameError` that lists close matches."""
    known = list(known)
    hint = f"; {s}" if (s := suggestion(name, known)) else ""
    shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
    return UnknownNameError(f"unknown {kind} {name!r}{hint} (known {kind}s: {shown})")


class Model:
    """A compartment model: states, parameters, rate terms and observables from modules.

    A model is immutable.  Perturbations (``with_parameters``, ``with_knockout``,
    ``with_switch``, ...) return new models; the compiled code is shared by all
    models with the same :attr:`structure_key` (knockouts and parameter values
    do not change it).

    Parameters
    ----------
    name : str
        Model name.
    modules : sequence of Module
        The modules composed into the model, in order.
    description : str
        What the model is and where it comes from.
    events : sequence of Event, optional
        State-triggered events of the model itself, after those of the modules
        (see :class:`~bonemet_ode.model.Event` for their semantics).

    Raises
    ------
    ModelError
        On a name defined twice, an undefined symbol, a cyclic observable, an
        invalid term, or a rate that is not finite at the initial state.

    Examples
    --------
    >>> from bonemet_ode.model import Model, Module, State, Parameter, Term
    >>> growth = Module("growth", states=(State("T", 1.0, "cells"),),
    ...                 parameters=(Parameter("r", 0.2, "1/day"),),
    ...                 terms=(Term("prolif", "r*T", {"T": 1}),))
    >>> Model("exp_growth", [growth]).state_names
    ('T',)
    """

    def __init__(
        self,
        name: str,
        modules: Sequence[Module],
        *,
        description: str = "",
        knockouts: Iterable[str] = (),
        switches: Iterable[Switch] = (),
        parameter_values: Mapping[str, float] | None = None,
        initial_values: Mapping[str, float | str] | None = None,
        events: Iterable[Event] = (),
    ) -> None:
        if isinstance(modules, Module):
            modules = [modules]
        self._name = str(name)
        self._description = description
        self._modules = tuple(modules)
        if not self._modules:
            raise ModelError(f"model {name!r} has no modules")
        for m in self._modules:
            if not isinstance(m, Module):
                raise ModelError(f"model {name!r}: modules must be Module objects, got {m!r}")
        self._collect()
        self._param_overrides = self._check_parameter_values(dict(parameter_values or {}))
        self._initial_overrides = self._check_initial_values(dict(initial_values or {}))
        self._knockouts = frozenset(self._check_terms(knockouts))
        self._switches = tuple(sorted(self._check_switches(switches), key=lambda s: (s.time, s.parameter)))
        self._extra_events = tuple(events)
        self._check_expressions()
        self._events = self._check_events()
        self._check_finite()

    # ------------------------------------------------------------------ building
    def _collect(self) -> None:
        owner: dict[str, tuple[str, str]] = {}
        states: list[State] = []
        params: list[Parameter] = []
        terms: list[Term] = []
        obs: list[Observable] = []
        for m in self._modules:
            for kind, nm in m.names():
                if nm in owner:
                    k0, m0 = owner[nm]
                    raise ModelError(
                        f"name {nm!r} is defined twice: as {k0} in module {m0!r} and as {kind} in module {m.name!r}"
                    )
                owner[nm] = (kind, m.name)
            states += m.states
            params += m.parameters
            terms += m.terms
            obs += m.observables
        if not states:
            raise ModelError(f"model {self._name!r} has no states")
        self._owner = owner
        self._states = tuple(states)
        self._base_parameters = tuple(params)
        self._terms = tuple(terms)
        self._observables_unordered = tuple(obs)
        self._state_index = {s.name: i for i, s in enumerate(states)}
        self._param_index = {p.name: i for i, p in enumerate(params)}
        self._term_index = {t.name: i for i, t in enumerate(terms)}

    def _where(self, kind: str, name: str) -> str:
        return f"{kind} {name!r} (module {self._owner[name][1]!r})"

    def _check_expressions(self) -> None:
        snames, pnames = set(self._state_index), set(self._param_index)
        onames = {o.name for o in self._observables_unordered}
        deps: dict[str, set[str]] = {}
        for o in self._observables_unordered:
            used = symbols_in(o.expr, self._where("observable", o.name))
            self._require(used, snames | pnames | onames, self._where("observable", o.name), o.expr)
            deps[o.name] = used & onames
        order = topological_order(deps, "observable")
        by_name = {o.name: o for o in self._observables_unordered}
        self._observables = tuple(by_name[n] for n in order)
        self._obs_deps = deps
        for t in self._terms:
            where = self._where("term", t.name)
            self._require(symbols_in(t.rate, where), snames | pnames | onames, where, t.rate)
            for st in t.effect_map:
                if st not in snames:
                    raise ModelError(
                        f"{where} changes state {st!r}, which no module defines "
                        f"(states: {', '.join(self._state_index)})"
                    )
        for s in self._states:
            init = self._initial_overrides.get(s.name, s.initial)
            if isinstance(init, str):
                where = self._where("state", s.name) + " initial value"
                self._require(symbols_in(init, where), pnames, where + " (may use parameters only)", init)

    def _check_events(self) -> tuple[Event, ...]:
        """Every event (modules' first, then the model's own): unique names, known symbols, assignable targets."""
        events = [e for m in self._modules for e in m.events]
        for e in self._extra_events:
            if not isinstance(e, Event):
                raise ModelError(f"model {self._name!r}: events must be Event objects, got {e!r}")
            events.append(e)
        seen: set[str] = set()
        snames, pnames = set(self._state_index), set(self._param_index)
        known = snames | pnames | {o.name for o in self._observables} | {"t"}
        for e in events:
            where = f"event {e.name!r}"
            if e.name in seen:
                raise ModelError(f"event name {e.name!r} is used twice")
            seen.add(e.name)
            atoms, _ = parse_trigger(e.trigger, where + " trigger")
            for g, _op in atoms:
                self._require(symbols_in(g, where + " trigger"), known, where + " trigger")
            for target, expr in e.assignment_map.items():
                if target not in snames and target not in pnames:
                    kind = self._owner.get(target, ("",))[0]
                    what = f"a {kind}" if kind else "not defined"
                    raise ModelError(
                        f"{where} assigns {target!r}, which is {what}; events assign states and parameters only"
                    )
                w = f"{where} assignment to {target!r}"
                self._require(symbols_in(expr, w), known, w)
            if isinstance(e.priority, str):
                self._require(symbols_in(e.priority, where + " priority"), known, where + " priority")
        return tuple(events)

    @staticmethod
    def _require(used: set[str], known: set[str], where: str, expr: str = "") -> None:
        missing = sorted(used - known)
        if missing:
            if "t" in missing or "time" in missing:
                raise ModelError(
                    f"{where} uses time explicitly; time-dependent inputs are doses and parameter switches"
                )
            hint = f" ({s})" if (s := suggestion(missing[0], sorted(known))) else ""
            raise ModelError(f"{where} uses undefined symbol {missing[0]!r}{hint}{lookalike_note(expr)}")

    def _check_parameter_values(self, values: dict[str, float]) -> dict[str, float]:
        out = {}
        for k, v in values.items():
            if k not in self._param_index:
                raise unknown_name(k, "parameter", self._param_index)
            p = self._base_parameters[self._param_index[k]]
            out[k] = dataclasses.replace(p, value=v).value  # validates finiteness and bounds
        return out

    def _check_initial_values(self, values: dict[str, float | str]) -> dict[str, float | str]:
        out = {}
        for k, v in values.items():
            if k not in self._state_index:
                raise unknown_name(k, "state", self._state_index)
            s = self._states[self._state_index[k]]
            out[k] = dataclasses.replace(s, initial=v).initial
        return out

    def _check_terms(self, names: Iterable[str]) -> list[str]:
        names = [names] if isinstance(names, str) else list(names)
        for n in names:
            if n not in self._term_index:
                raise unknown_name(n, "term", self._term_index)
        return names

    def _check_switches(self, switches: Iterable[Switch]) -> list[Switch]:
        out = []
        for sw in switches:
            if not isinstance(sw, Switch):
                raise ModelError(f"switches must be Switch objects, got {sw!r}")
            if sw.parameter not in self._param_index:
                raise unknown_name(sw.parameter, "parameter", self._param_index)
            p = self._base_parameters[self._param_index[sw.parameter]]
            dataclasses.replace(p, value=sw.value)  # validates against bounds
            out.append(sw)
        return out

    def _check_finite(self) -> None:
        """Evaluate observables and rates at the initial state; a non-finite value names its owner."""
        env: dict[str, float] = self.parameter_values()
        env.update(zip(self.state_names, self.initial_values(env).tolist()))
        for o in self._observables:
            env[o.name] = self._eval(o.expr, self._where("observable", o.name), env)
        for t in self._terms:
            self._eval(t.rate, self._where("term", t.name), env)

    @staticmethod
    def _eval(expr: str, where: str, env: Mapping[str, float]) -> float:
        try:
            val = compile_expression(expr, where)(env)
        except (ZeroDivisionError, ValueError, OverflowError) as exc:
            raise ModelError(f"{where}: {expr!r} cannot be evaluated at the initial state ({exc})") from None
        if not math.isfinite(val):
            raise ModelError(f"{where}: {expr!r} is {val} at the initial state and default parameters")
        return val

    # ------------------------------------------------------------------ accessors
    @property
    def name(self) -> str:
        """Model name."""
        return self._name

    @property
    def description(self) -> str:
        """Free-text description."""
        return self._description

    @property
    def modules(self) -> tuple[Module, ...]:
        """The modules, in composition order."""
        return self._modules

    @property
    def states(self) -> tuple[State, ...]:
        """States with their (possibly overridden) initial values."""
        return tuple(
            dataclasses.replace(s, initial=self._initial_overrides[s.name]) if s.name in self._initial_overrides else s
            for s in self._states
        )

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Parameters with their current values."""
        return tuple(
            dataclasses.replace(p, value=self._param_overrides[p.name]) if p.name in self._param_overrides else p
            for p in self._base_parameters
        )

    @property
    def terms(self) -> tuple[Term, ...]:
        """Rate terms (knocked-out terms included; see :attr:`knockouts`)."""
        return self._terms

    @property
    def observables(self) -> tuple[Observable, ...]:
        """Observables in dependency order."""
        return self._observables

    @property
    def knockouts(self) -> frozenset[str]:
        """Names of terms whose rate is forced to zero."""
        return self._knockouts

    @property
    def switches(self) -> tuple[Switch, ...]:
        """Timed parameter changes, sorted by time."""
        return self._switches

    @property
    def events(self) -> tuple[Event, ...]:
        """State-triggered events in declaration order (modules' first, then the model's own)."""
        return self._events

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the states, in the order of the state vector."""
        return tuple(s.name for s in self._states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the model's parameters, in module order (hidden term on/off flags excluded)."""
        return tuple(p.name for p in self._base_parameters)

    @property
    def term_names(self) -> tuple[str, ...]:
        """Names of the rate terms (what :meth:`with_knockout` accepts)."""
        return tuple(t.name for t in self._terms)

    @property
    def observable_names(self) -> tuple[str, ...]:
        """Names of the observables (named expressions of states and parameters)."""
        return tuple(o.name for o in self._observables)

    def state_index(self, name: str) -> int:
        """Index of state ``name`` in the state vector."""
        try:
            return self._state_index[name]
        except KeyError:
            raise unknown_name(name, "state", self._state_index) from None

    def parameter_index(self, name: str) -> int:
        """Index of parameter ``name`` in the parameter vector."""
        try:
            return self._param_index[name]
        except KeyError:
            raise unknown_name(name, "parameter", self._param_index) from None

    def parameter(self, name: str) -> Parameter:
        """The :class:`Parameter` called ``name`` (current value)."""
        return self.parameters[self.parameter_index(name)]

    def state(self, name: str) -> State:
        """The :class:`State` called ``name``."""
        return self.states[self.state_index(name)]

    def owner(self, name: str) -> tuple[str, str]:
        """``(kind, module)`` of a defined name."""
        if name not in self._owner:
            raise unknown_name(name, "symbol", self._owner)
        return self._owner[name]

    def parameter_values(self) -> dict[str, float]:
        """Current parameter values by name."""
        return {p.name: p.value for p in self.parameters}

    # ------------------------------------------------------------------ numeric vectors
    def resolve_parameters(self, params: Mapping[str, float] | None = None) -> dict[str, float]:
        """Current values updated with ``params``, each checked (name, finiteness, bounds)."""
        values = self.parameter_values()
        if params:
            values.update(self._check_parameter_values(dict(params)))
        return values

    def parameter_vector(self, params: Mapping[str, float] | None = None) -> np.ndarray:
        """The compiled parameter vector: values in declaration order, then one on/off flag per term."""
        values = self.resolve_parameters(params)
        on = [0.0 if t.name in self._knockouts else 1.0 for t in self._terms]
        return np.array([values[n] for n in self.parameter_names] + on, dtype=float)

    def initial_values(self, params: Mapping[str, float] | None = None) -> np.ndarray:
        """Initial state vector (day 0), evaluating expression initials with ``params``."""
        if params is not None and len(params) == len(self._base_parameters):
            env = dict(params)
        else:
            env = self.resolve_parameters(params)
        out = np.empty(len(self._states))
        for i, s in enumerate(self.states):
            init = s.initial
            if isinstance(init, str):
                init = self._eval(init, self._where("state", s.name) + " initial value", env)
                if s.nonnegative and init < 0:
                    raise ParameterError(f"initial value of nonnegative state {s.name!r} evaluates to {init} < 0")
            out[i] = init
        return out

    def stoichiometry(self) -> np.ndarray:
        """The stoichiometric matrix ``S`` (states x terms): ``dx/dt = S @ v``."""
        S = np.zeros((len(self._states), len(self._terms)))
        for j, t in enumerate(self._terms):
            for st, c in t.effect_map.items():
                S[self._state_index[st], j] = c
        return S

    # ------------------------------------------------------------------ perturbations
    def _replace(self, **changes: Any) -> Model:
        kw: dict[str, Any] = dict(
            description=self._description,
            knockouts=self._knockouts,
            switches=self._switches,
            parameter_values=self._param_overrides,
            initial_values=self._initial_overrides,
            events=self._extra_events,
        )
        kw.update(changes)
        name = kw.pop("name", self._name)
        modules = kw.pop("modules", self._modules)
        return Model(name, modules, **kw)

    def with_parameters(self, values: Mapping[str, float] | None = None, **kw: float) -> Model:
        """A copy with parameter values overridden (checked against bounds)."""
        new = dict(self._param_overrides)
        new.update(values or {})
        new.update(kw)
        return self._replace(parameter_values=new)

    def with_initial(self, values: Mapping[str, float | str] | None = None, **kw: float | str) -> Model:
        """A copy with initial values overridden (numbers or parameter expressions)."""
        new = dict(self._initial_overrides)
        new.update(values or {})
        new.update(kw)
        return self._replace(initial_values=new)

    def with_knockout(self, *terms: str) -> Model:
        """A copy in which the named rate terms are zero (the compiled code is reused)."""
        return self._replace(knockouts=self._knockouts | set(self._check_terms(terms)))

    def with_switch(self, time: float, parameter: str, value: float) -> Model:
        """A copy in which ``parameter`` takes ``value`` from day ``time`` on."""
        return self._replace(switches=self._switches + (Switch(time, parameter, value),))

    def with_events(self, *events: Event) -> Model:
        """A copy with extra state-triggered events (a structural change: compiles anew).

        Examples
        --------
        >>> from bonemet_ode.model import Event, Model, Module, State, Parameter, Term
        >>> m = Model("decay", [Module("d", states=(State("x", 1.0),), parameters=(Parameter("k", 1.0),),
        ...                            terms=(Term("loss", "k*x", {"x": -1}),))])
        >>> m.with_events(Event("reset", "x < 0.5", {"x": 1.0})).events[0].name
        'reset'
        """
        return self._replace(events=self._extra_events + tuple(events))

    def with_extinction(self, state: str, below: float = 1.0, *, name: str | None = None,
                        absorbing: bool = True) -> Model:
        """A copy in which ``state`` goes extinct: once it falls below ``below``, it is set to 0 and stays 0.

        Extinction is a state-triggered event (trigger ``state < below``, assignment ``state = 0``,
        ``initial_value=False``, so a state that starts below the threshold is set to 0 at day 0),
        located by the compiled solver's root finder: not a threshold applied to the output
        afterwards.  Zero is absorbing only when nothing adds to an empty ``state``; so every
        term that increases ``state`` must vanish when ``state`` is 0.  This is checked at the
        initial state and at two seeded random perturbations of it (states scaled by log-normal
        factors), and a term that adds to an empty state is refused by name.  With
        ``absorbing=False`` the check is skipped and sources may refill the state (for example
        new colonisations seeding a tumour again); the event re-arms once the state is back at
        or above ``below``, and a state that falls below it again is set to 0 again.

        Parameters
        ----------
        state : str
            The state, e.g. tumour cells ``"T"``.
        below : float
            Threshold in the state's unit (default 1, one cell), > 0.
        name : str, optional
            Event name (default ``extinction_<state>``).
        absorbing : bool
            Require zero to be absorbing (default True); see above.

        Raises
        ------
        ModelError
            If a term increases ``state`` at ``state = 0`` (zero would not be absorbing).

        Examples
        --------
        >>> from bonemet_ode.model import Model, Module, State, Parameter, Term
        >>> m = Model("decay", [Module("d", states=(State("T", 10.0),), parameters=(Parameter("k", 1.0),),
        ...                            terms=(Term("kill", "k*T", {"T": -1}),))])
        >>> m.with_extinction("T").events[0].trigger
        'T < 1.0'
        """
        idx = self.state_index(state)
        thr = float(below)
        if not math.isfinite(thr) or thr <= 0:
            raise ModelError(f"extinction threshold of {state!r} must be a finite number > 0, got {below!r}")
        if absorbing:
            self._check_absorbing(state, idx)
        ev = Event(name or f"extinction_{state}", f"{state} < {thr!r}", {state: 0.0}, initial_value=False,
                   description=f"{state} below {thr:g} is extinct: set to 0 (absorbing)")
        return self.with_events(ev)

    def _check_absorbing(self, state: str, idx: int) -> None:
        """Refuse extinction of ``state`` when a term adds to it while it is 0."""
        rng = np.random.default_rng(0)  # fixed seed: the check is deterministic
        params = self.parameter_values()
        y0 = self.initial_values()
        for draw in range(3):
            y = y0 if draw == 0 else y0 * np.exp(rng.normal(0.0, 1.0, y0.shape))
            env: dict[str, float] = dict(params)
            env.update(zip(self.state_names, y.tolist()))
            env[state] = 0.0
            for o in self._observables:
                env[o.name] = self._eval(o.expr, self._where("observable", o.name), env)
            for t in self._terms:
                if t.effect_map.get(state, 0.0) <= 0 or t.name in self._knockouts:
                    continue
                rate = self._eval(t.rate, self._where("term", t.name), env)
                if rate != 0.0:
                    raise ModelError(
                        f"extinction of {state!r} would not be absorbing: term {t.name!r} adds to {state!r} at "
                        f"rate {rate:g} when {state} = 0; extinction needs every source of {state!r} to vanish "
                        f"with {state!r}"
                    )

    def with_modules(self, *modules: Module, name: str | None = None) -> Model:
        """A copy with extra modules composed in (a structural change: compiles anew)."""
        return self._replace(modules=self._modules + tuple(modules), name=name or self._name)

    def renamed(self, name: str) -> Model:
        """A copy with another name."""
        return self._replace(name=name)

    # ------------------------------------------------------------------ identity
    def structure(self) -> dict[str, Any]:
        """What the compiled code depends on: symbols, rates, effects and observables (no values)."""
        return {
            "version": STRUCTURE_VERSION,
            "states": [s.name for s in self._states],
            "parameters": [p.name for p in self._base_parameters],
            "terms": [[t.name, t.rate.strip(), [list(e) for e in t.effects]] for t in self._terms],
            "observables": [[o.name, o.expr.strip()] for o in self._observables],
            # present only with events, so that the keys of models without events stay as they were
            **({"events": [[e.name, e.trigger.strip(), [list(a) for a in e.assignments], e.persistent,
                            e.initial_value, e.use_values_from_trigger_time, e.priority]
                           for e in self._events]} if self._events else {}),
        }

    @property
    def structure_key(self) -> str:
        """SHA-256 of :meth:`structure`: the key of compiled artefacts."""
        blob = json.dumps(self.structure(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return self._definition() == other._definition()

    def _definition(self) -> tuple[Any, ...]:
        """Everything that defines the model (what a saved model holds), for equality."""
        return (self._name, self._description, self._modules, sorted(self._param_overrides.items()),
                sorted(self._initial_overrides.items()), sorted(self._knockouts), self._switches, self._extra_events)

    def __hash__(self) -> int:
        return hash(self.structure_key)

    def __repr__(self) -> str:
        extra = []
        if self._knockouts:
            extra.append(f"knockouts={sorted(self._knockouts)}")
        if self._switches:
            extra.append(f"switches={len(self._switches)}")
        if self._events:
            extra.append(f"events={len(self._events)}")
        if self._param_overrides:
            extra.append(f"{len(self._param_overrides)} overridden parameters")
        tail = (", " + ", ".join(extra)) if extra else ""
        return (
            f"<Model {self._name!r}: {len(self._states)} states, {len(self._base_parameters)} parameters, "
            f"{len(self._terms)} terms, {len(self._observables)} observables, "
            f"modules [{', '.join(m.name for m in self._modules)}]{tail}>"
        )

    def parameter_table(self):
        """A pandas DataFrame documenting every parameter (value, unit, bounds, meaning, source, module)."""
        import pandas as pd

        rows = [
            dict(name=p.name, value=p.value, unit=p.unit, lower=p.lower, upper=p.upper,
                 description=p.description, source=p.source, module=self._owner[p.name][1])
            for p in self.parameters
        ]
        return pd.DataFrame(rows)

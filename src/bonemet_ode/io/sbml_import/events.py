"""SBML events as :class:`~bonemet_ode.model.Event` objects (compiled state-triggered events).

Triggers become comparisons joined by ``and``/``or``/``not`` (the form the
compiled root finder locates); ``initialValue``, ``persistent``,
``useValuesFromTriggerTime`` and ``priority`` carry over.  Refused by name:
delays, triggers with ``eq``/``neq`` or other non-comparison conditions
(a condition true at isolated instants cannot be located), and assignments to
stoichiometries.  An assignment to a species measured as a concentration sets
its amount to ``concentration * size`` (the size before the event, even when the
same event also sets it: the assignments are evaluated together); an assignment to a compartment size keeps the
amounts of
its species, as SBML prescribes.
"""

from __future__ import annotations

from typing import Any

from ...errors import ModelError, UnsupportedFeatureError
from ...model import Event
from .mathml import _p

__all__ = ["EVENTS_SUPPORTED", "convert_events", "trigger_expression"]

#: Whether imported events are simulated (False: models with events are refused).
EVENTS_SUPPORTED = True


def trigger_expression(node: Any, convert: Any, where: str) -> str:
    """A trigger's math as comparisons joined by ``and``/``or``/``not`` (model expression syntax)."""
    import libsbml as lib

    rel = {lib.AST_RELATIONAL_LT: "<", lib.AST_RELATIONAL_LEQ: "<=", lib.AST_RELATIONAL_GT: ">",
           lib.AST_RELATIONAL_GEQ: ">="}

    def walk(n: Any, local: dict[str, str]) -> str:
        t = n.getType()
        kids = [n.getChild(i) for i in range(n.getNumChildren())]
        if t in rel:
            sides = [convert.convert_local(k, where, local) for k in kids]
            if len(sides) < 2:
                raise ModelError(f"{where}: comparison with fewer than two arguments")
            parts = [f"({a}) {rel[t]} ({b})" for a, b in zip(sides, sides[1:])]
            return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"
        if t in (lib.AST_LOGICAL_AND, lib.AST_LOGICAL_OR) and kids:
            sep = " and " if t == lib.AST_LOGICAL_AND else " or "
            return "(" + sep.join(walk(k, local) for k in kids) + ")"
        if t == lib.AST_LOGICAL_NOT and len(kids) == 1:
            return f"(not {walk(kids[0], local)})"
        if t == lib.AST_FUNCTION:  # a function definition returning a condition: inline it
            body, bind = convert.function_call(n, where, local)
            return walk(body, bind)
        if t in (lib.AST_RELATIONAL_EQ, lib.AST_RELATIONAL_NEQ):
            raise UnsupportedFeatureError("event trigger with an (in)equality (eq/neq)", where)
        what = lib.formulaToL3String(n)
        raise UnsupportedFeatureError("event trigger that is not a comparison or a logical combination of "
                                      f"comparisons ({what})", where)

    if node is None:
        raise UnsupportedFeatureError("event trigger without math", where)
    return walk(node, {})


def convert_events(b: Any) -> tuple[list[Event], list[Any]]:
    """The events of builder ``b`` (an ``_Builder`` after its names and initial values are set), and the
    bookkeeping states of delayed events."""
    from .mathml import MathConverter

    # in triggers, assignments and priorities time is the solver's own t (exact), not the clock state
    convert = MathConverter(b._resolve, b.functions, lambda: "t", b._rate_of)
    out: list[Event] = []
    states: list[Any] = []
    priorities: list[tuple[str, str | None]] = []
    for k, ev in enumerate(b.m.getListOfEvents()):
        eid = ev.getId() if ev.isSetId() and ev.getId() else f"event_{k + 1}"
        where = f"event {eid!r}"
        delay = None
        if ev.isSetDelay():
            d = ev.getDelay()
            if d.isSetMath():
                delay = convert(d.getMath(), where + " delay")
        trig = ev.getTrigger()
        if trig is None:
            raise UnsupportedFeatureError("event without a trigger", eid)
        if not trig.isSetMath():
            continue  # SBML L3v2: a trigger without math is never true
        trigger = trigger_expression(trig.getMath(), convert, where + " trigger")
        initial_value = bool(trig.getInitialValue()) if b.level >= 3 and trig.isSetInitialValue() else True
        persistent = bool(trig.getPersistent()) if b.level >= 3 and trig.isSetPersistent() else True
        use_trigger = bool(ev.getUseValuesFromTriggerTime()) if ev.isSetUseValuesFromTriggerTime() else True
        priority = None
        if ev.isSetPriority() and ev.getPriority().isSetMath():
            pr = ev.getPriority()
            priority = convert(pr.getMath() if pr.isSetMath() else None, where + " priority")
        values: dict[str, str] = {}
        for ea in ev.getListOfEventAssignments():
            if not ea.isSetMath():
                continue  # no math: no assignment
            var = ea.getVariable()
            values[var] = convert(ea.getMath() if ea.isSetMath() else None, f"{where} assignment to {var!r}")
        assignments: dict[str, str] = {}
        for var, expr in values.items():
            assignments.update(_assignment(b, var, expr, values, eid))
        # a species whose concentration is a state (set by a rate rule) keeps its amount when its
        # compartment's size is assigned: concentration * old size / new size
        for sid, sp in b.species.items():
            comp = sp.getCompartment()
            if sid in b.rate and not b.sem_amount[sid] and comp in values:
                conc = values.get(sid, b.name[sid])
                assignments[b.name[sid]] = f"{_p(conc)}*{_p(b.name[comp])}/{_p(values[comp])}"
        if not assignments:
            continue  # an event without assignments changes nothing
        priorities.append((eid, priority))
        if delay is not None:
            out += _delayed(b, eid, trigger, delay, assignments, persistent, initial_value, use_trigger, priority,
                            states)
            continue
        out.append(Event(b.alloc(eid), trigger, assignments, persistent=persistent, initial_value=initial_value,
                         use_values_from_trigger_time=use_trigger, priority=priority,
                         description=f"SBML event {eid!r}"))
    _refuse_possible_ties(priorities)
    return out, states


#: Executions of one delayed event that may be pending at once; one more stops the solve (NaN state).
DELAY_SLOTS = 4


def _delayed(b: Any, eid: str, trigger: str, delay: str, assignments: dict[str, str], persistent: bool,
             initial_value: bool, use_trigger: bool, priority: str | None, states: list) -> list[Event]:
    """A delayed event as compiled events over bookkeeping states (no delay queue in the solver).

    ``DELAY_SLOTS`` slots, each a pending flag, a due time and (with values from trigger time) the
    stored values.  When the trigger fires, the first free slot records ``t + delay`` (and the values);
    the slot's execution event fires at its due time (root ``t - due``), with the event's priority.
    A non-persistent event's pending executions are dropped when its trigger turns false.  A trigger
    that fires while every slot is pending sets the state ``<id>_overflow`` to NaN, so the solve stops
    with an error instead of losing an execution.
    """
    from ...model import State

    k_slots = DELAY_SLOTS
    pend = [b.alloc(f"{eid}_pending{j}") for j in range(k_slots)]
    due = [b.alloc(f"{eid}_due{j}") for j in range(k_slots)]
    targets = list(assignments)
    vals = ([[b.alloc(f"{eid}_value{j}_{n}") for n in range(len(targets))] for j in range(k_slots)]
            if use_trigger else [])
    overflow = b.alloc(f"{eid}_overflow")
    b.overflow_states.append(overflow)
    for name in pend + due + [v for row in vals for v in row] + [overflow]:
        states.append(State(name, 0.0, nonnegative=False, description=f"bookkeeping of delayed SBML event {eid!r}"))
    free = [f"lt({p}, 0.5)" for p in pend]
    first = [f"logical_and({', '.join([free[j]] + [f'logical_not({free[i]})' for i in range(j)])})"
             for j in range(k_slots)]
    record: dict[str, str] = {}
    for j in range(k_slots):
        record[pend[j]] = f"piecewise(1, {first[j]}, {pend[j]})"
        record[due[j]] = f"piecewise(t + {_p(delay)}, {first[j]}, {due[j]})"
        for n, target in enumerate(targets if use_trigger else []):
            record[vals[j][n]] = f"piecewise({assignments[target]}, {first[j]}, {vals[j][n]})"
    record[overflow] = f"piecewise({overflow}, logical_or({', '.join(free)}))"  # NaN when no slot is free
    out = [Event(b.alloc(f"{eid}_trigger"), trigger, record, persistent=True, initial_value=initial_value,
                 use_values_from_trigger_time=True, description=f"SBML event {eid!r}: trigger (delayed)")]
    for j in range(k_slots):
        run = {t: (vals[j][n] if use_trigger else assignments[t]) for n, t in enumerate(targets)}
        run[pend[j]] = "0"
        out.append(Event(b.alloc(f"{eid}_run{j}"), f"(t >= {due[j]}) and ({pend[j]} > 0.5)", run, persistent=True,
                         initial_value=True, use_values_from_trigger_time=use_trigger, priority=priority,
                         description=f"SBML event {eid!r}: execution {j} (delayed)"))
    if not persistent:
        out.append(Event(b.alloc(f"{eid}_cancel"), f"not ({trigger})", {p: "0" for p in pend}, persistent=True,
                         initial_value=True, description=f"SBML event {eid!r}: trigger turned false (not persistent)"))
    return out


def _refuse_possible_ties(priorities: list[tuple[str, str | None]]) -> None:
    """Refuse events whose priorities may be equal: SBML executes simultaneous events of equal priority in
    random order, where bonemet_ode's order is declaration order (reproducible, but not SBML's meaning)."""
    from ...model.expressions import compile_expression, symbols_in

    given = [(eid, pr) for eid, pr in priorities if pr is not None]
    if len(given) < 2:
        return
    values = []
    for eid, pr in given:
        if symbols_in(pr, f"priority of event {eid!r}"):
            raise UnsupportedFeatureError("event priorities that may tie (an expression priority among several: "
                                          "SBML runs ties in random order)", eid)
        values.append((compile_expression(pr, f"priority of event {eid!r}")({}), eid))
    values.sort()
    for (a, ea), (b2, eb) in zip(values, values[1:]):
        if a == b2:
            raise UnsupportedFeatureError("events of equal priority (SBML runs simultaneous ties in random order)",
                                          f"{ea}, {eb}")


def _assignment(b: Any, var: str, expr: str, values: dict[str, str], eid: str) -> dict[str, str]:
    if var in b.assign:
        raise ModelError(f"event {eid!r} assigns {var!r}, which an assignment rule defines")
    if var in b.reactions or var not in b.name:
        raise ModelError(f"event {eid!r} assigns {var!r}, which is not a compartment, species or parameter")
    if var in b.species and var not in b.rate:
        s = b.species[var]
        st = b.amount_state[var]
        if b.sem_amount[var]:
            return {st: expr}
        comp = s.getCompartment()
        # the size before the event, even when the same event sets it (SBML Test Suite cases 01506, 01779)
        return {st: f"{_p(expr)}*{_p(b.name[comp])}"}
    return {b.name[var]: expr}

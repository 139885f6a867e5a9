"""Switches of an imported SBML model at times its parameters set: ``piecewise(a, time < tau, b)``.

SBML models (Isensee_JCB2018 among the PEtab benchmarks) switch inputs on at a time that a
parameter holds: ``Fsk_level*piecewise(0, (time - Fsk_time) < 0, 1)``.  Integrated as written,
the right-hand side jumps at ``tau`` inside a step, and the step-size control either crawls
across the jump or fails there (step size below its minimum).  :func:`split_time_switches`
finds every comparison of the model time with an expression of parameters only, solves it for
its switch time ``tau`` and replaces the comparison by one of a 0/1 flag parameter
(``gt(flag, 0.5)``).  A simulation then
sets each flag to the comparison's value at time 0 and changes it with a timed parameter event
at ``tau`` (the compiled solver stops there and restarts), so every step integrates a smooth
right-hand side.

Comparisons of time with states, or in which time does not enter linearly, are left as they
are (the solver integrates across them as before).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ..errors import PetabError
from ..model.expressions import closing_paren, split_arguments

__all__ = ["TimeSwitch", "split_time_switches"]

_REL = re.compile(r"\b(lt|le|gt|ge)\(")


@dataclass(frozen=True)
class TimeSwitch:
    """One comparison of the model time with a parameter expression, replaced by a flag.

    Attributes
    ----------
    flag : str
        The model parameter that holds the comparison's value (1 true, 0 false).
    tau : sympy.Expr
        The switch time (model time units) in the model's parameter symbols.
    before, after : float
        The flag's value before and after ``tau``.
    text : str
        The comparison as the model wrote it.
    """

    flag: str
    tau: Any
    before: float
    after: float
    text: str


def split_time_switches(model: Any, time_state: str | None) -> tuple[Any, tuple[TimeSwitch, ...]]:
    """The model with each comparison ``rel(A, B)`` (``lt``, ``le``, ``gt``, ``ge``) of the time state with
    parameters replaced by a flag parameter, and the switches found.

    Parameters
    ----------
    model : Model
        An imported SBML model.
    time_state : str or None
        Its model-time state (:attr:`SbmlImport.time_state`); None: no switches.

    Returns
    -------
    (Model, tuple of TimeSwitch)
        The model unchanged and ``()`` when no comparison qualifies.

    Examples
    --------
    >>> from bonemet_ode.model import Model, Module, State, Parameter, Term
    >>> m = Model("m", [Module("a", states=(State("x", 0.0), State("t_", 0.0)),
    ...     parameters=(Parameter("tau", 2.0),),
    ...     terms=(Term("on", "piecewise(0, lt(t_ - tau, 0), 1)", {"x": 1}), Term("clock", "1", {"t_": 1})))])
    >>> m2, sw = split_time_switches(m, "t_")
    >>> m2.terms[0].rate, str(sw[0].tau), sw[0].before, sw[0].after
    ('piecewise(0, gt(time_switch_0, 0.5), 1)', 'tau', 1.0, 0.0)
    """
    import sympy as sp

    from ..compile.symbolic import SymbolicModel
    from ..model import Parameter

    if time_state is None:
        return model, ()
    sym = SymbolicModel(model)
    tsym = sym.y[model.state_names.index(time_state)]
    psyms = set(sym.p)
    names = set(model.state_names) | set(model.parameter_names) | set(model.term_names) | set(model.observable_names)
    found: dict[tuple, TimeSwitch] = {}
    time_word = re.compile(rf"\b{re.escape(time_state)}\b")

    def flag_name() -> str:
        k = len(found)
        while f"time_switch_{k}" in names:
            k += 1
        name = f"time_switch_{k}"
        names.add(name)
        return name

    def rewrite(text: str) -> str:
        out, pos = [], 0
        for m in _REL.finditer(text):
            if m.start() < pos:
                continue  # inside a comparison already replaced
            close = closing_paren(text, m.end() - 1)
            if close < 0:
                raise PetabError(f"unbalanced parentheses in model expression {text!r}")
            end = close + 1
            call = text[m.start():end]
            args = split_arguments(text[m.end():close])
            if len(args) != 2 or not time_word.search(call):
                continue
            try:
                g = sp.expand(sym.parse(f"({args[0]}) - ({args[1]})"))
            except Exception:  # noqa: BLE001 - not an expression this rewrite understands: left as it is
                continue
            c = sp.diff(g, tsym)
            rest = sp.expand(g - c * tsym)
            if not (c.is_Number and c != 0) or not rest.free_symbols <= psyms:
                continue  # time not linear, or compared with a state: left as it is
            tau = sp.simplify(-rest / c)
            op = m.group(1)
            # c*(time - tau) op 0; with c < 0 the comparison of time with tau flips
            below = (op in ("lt", "le")) == (float(c) > 0)
            key = (str(tau), below)
            if key not in found:
                found[key] = TimeSwitch(flag_name(), tau, 1.0 if below else 0.0, 0.0 if below else 1.0, call)
            out.append(text[pos:m.start()])
            out.append(f"gt({found[key].flag}, 0.5)")  # a comparison again: a bare symbol is no condition
            pos = end
        out.append(text[pos:])
        return "".join(out)

    modules = []
    for mod in model.modules:
        terms = tuple(replace(t, rate=rewrite(t.rate)) for t in mod.terms)
        obs = tuple(replace(o, expr=rewrite(o.expr)) for o in mod.observables)
        modules.append(replace(mod, terms=terms, observables=obs))
    if not found:
        return model, ()
    flags = tuple(Parameter(s.flag, s.before, "1", 0.0, 1.0, f"1 while {s.text} holds (switches at time {s.tau})")
                  for s in found.values())
    modules[0] = replace(modules[0], parameters=tuple(modules[0].parameters) + flags)
    return model._replace(modules=modules), tuple(found.values())

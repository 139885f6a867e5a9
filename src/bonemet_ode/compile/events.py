"""C code for a model's state-triggered events (:class:`~bonemet_ode.model.Event`).

The solver core (``solver_core.c``, the block under ``#if BM_NE > 0``) watches the events with
these generated pieces:

``BM_NE``, ``BM_NG``, ``BM_NA``
    numbers of events, of comparison atoms over all triggers, and of assignments;
``BM_EV_OP[k]``
    the comparison of atom ``k`` against zero (0 ``<``, 1 ``<=``, 2 ``>``, 3 ``>=``);
``bm_ev_g(t, y, p, g)``
    the atoms' root functions ``g_k = lhs - rhs`` (continuous in time between events);
``bm_ev_bool(a, b)``
    each trigger's truth from the atoms' truths (``and``/``or``/``not``);
``BM_EV_FLAGS[e]``
    bit 0 persistent, bit 1 initial value, bit 2 use values from trigger time, bit 3 has a priority;
``BM_EV_OFF[e] .. BM_EV_OFF[e+1]``, ``BM_EV_TGT[j]``
    event ``e``'s assignments: target ``j >= 0`` is state ``j``, ``-1 - j`` parameter ``j``;
``bm_ev_values(e, t, y, p, v)``
    the values of event ``e``'s assignments; ``bm_ev_prio(e, t, y, p)`` its priority.

With forward sensitivities (a :class:`~bonemet_ode.compile.sensitivity.SensitivitySymbolic`) it also
generates ``BM_EV_SENS``, ``BM_NB`` (model states), ``BM_NS`` (sensitivity targets) and

``bm_ev_dg(k, t, y, p, gx, gp, gt)``
    atom ``k``'s root function's derivatives: ``gx[i] = dg/dx_i``, ``gp[s] = dg/dtheta_s``, ``*gt = dg/dt``;
``bm_ev_dh(e, t, y, p, hx, hp)``
    event ``e``'s assignment values' derivatives: ``hx[a * BM_NB + i] = dh_a/dx_i``,
    ``hp[a * BM_NS + s] = dh_a/dtheta_s`` (``a`` counts the event's assignments);
``BM_EV_READS_X[e]``
    whether event ``e``'s assignments read states,

from which the solver core's ``bm_ev_sens_jump`` applies the sensitivities' jump conditions.  The
cases that need more are refused by name here (:func:`check_event_sensitivities`).

A model without events gets ``#define BM_NE 0`` only, and the solver core compiles exactly as
before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ModelError
from .symbolic import SymbolicModel

if TYPE_CHECKING:
    from .sensitivity import SensitivitySymbolic

__all__ = ["check_event_sensitivities", "event_source"]

_OPS = {"<": 0, "<=": 1, ">": 2, ">=": 3}


def _formula_c(f: tuple) -> str:
    if f[0] == "atom":
        return f"a[{f[1]}]"
    if f[0] == "not":
        return f"!{_formula_c(f[1])}"
    sep = " && " if f[0] == "and" else " || "
    return "(" + sep.join(_formula_c(g) for g in f[1:]) + ")"


def check_event_sensitivities(model, wrt) -> None:
    """Refuse, by name, the events whose sensitivity jumps the compiled solver does not apply.

    Supported: events without priorities whose assignments set states (triggers of states,
    parameters and time; a trigger time that depends on a parameter is accounted for).  Refused with
    :class:`~bonemet_ode.errors.ModelError`: events that assign a parameter (the parameter's forcing
    would have to end at the event) and events with a priority.  A delay is refused by
    :class:`~bonemet_ode.model.Event` itself; simultaneous events whose values read states and were computed before
    another event at the same instant changed the state stop the solve with status 8.

    Parameters
    ----------
    model : Model
        The model (its events).
    wrt : sequence of str
        The sensitivity targets; nothing is refused without any.

    Raises
    ------
    ModelError
        Naming the first event whose sensitivity jump is not supported.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> check_event_sensitivities(bm.models.get("bone_metastasis"), ["r_T"])  # state resets: supported
    """
    if not wrt:
        return
    for e in model.events:
        params = [tg for tg in e.assignment_map if tg not in model.state_names]
        if params:
            raise ModelError(f"model {model.name!r}: event {e.name!r} assigns parameter(s) {params}: forward "
                             "sensitivities across events that assign parameters are not supported")
        if e.priority is not None:
            raise ModelError(f"model {model.name!r}: event {e.name!r} has a priority: forward sensitivities "
                             "across events with priorities are not supported")


def _sens_source(sym: SensitivitySymbolic, atoms: list, block) -> list[str]:
    """``bm_ev_dg`` and ``bm_ev_dh`` (see the module docstring)."""
    import sympy as sp

    from .symbolic import derivative

    base = sym.base
    model = sym.model
    n, m = len(base.y), len(sym.wrt)
    pnames = list(model.parameter_names)
    thetas = [base.p[pnames.index(w)] if w in pnames else None for w in sym.wrt]
    tsym = sp.Symbol("t", real=True)

    def dtheta(expr) -> list:
        return [derivative(expr, th) if th is not None else sp.Integer(0) for th in thetas]

    out = ["#define BM_EV_SENS 1", f"#define BM_NB {n}", f"#define BM_NS {m}",
           "static void bm_ev_dg(int k, double t, const double *y, const double *p, double *gx, double *gp,"
           " double *gt) {", "    (void)t; (void)y; (void)p;", "    switch (k) {"]
    for k, (g, _op) in enumerate(atoms):
        expr = base.parse(g)
        exprs = [derivative(expr, x) for x in base.y] + dtheta(expr) + [derivative(expr, tsym)]
        targets = [f"gx[{i}]" for i in range(n)] + [f"gp[{s}]" for s in range(m)] + ["*gt"]
        out.append(f"    case {k}: {{")
        out += ["    " + ln for ln in block(exprs, targets)]
        out += ["        break;", "    }"]
    out += ["    default: break;", "    }", "}", "",
            "static void bm_ev_dh(int e, double t, const double *y, const double *p, double *hx, double *hp) {",
            "    (void)t; (void)y; (void)p;", "    switch (e) {"]
    for i, e in enumerate(model.events):
        exprs, targets = [], []
        for a, (_t, text) in enumerate(e.assignment_map.items()):
            expr = base.parse(text)
            exprs += [derivative(expr, x) for x in base.y] + dtheta(expr)
            targets += [f"hx[{a * n + j}]" for j in range(n)] + [f"hp[{a * m + s}]" for s in range(m)]
        out.append(f"    case {i}: {{ /* {e.name} */")
        out += ["    " + ln for ln in block(exprs, targets)]
        out += ["        break;", "    }"]
    out += ["    default: break;", "    }", "}", ""]
    states = set(base.y)
    reads = [int(any(base.parse(text).free_symbols & states for text in e.assignment_map.values()))
             for e in model.events]
    out += [f"static const int BM_EV_READS_X[BM_NE] = {{{', '.join(map(str, reads))}}};", ""]
    return out


def event_source(sym: SymbolicModel | SensitivitySymbolic, block, printer) -> list[str]:
    """Generated C lines for the model's events (``block``: codegen's expression-block writer)."""
    from ..model.expressions import parse_trigger

    model = sym.model
    events = model.events
    if not events:
        return ["#define BM_NE 0", ""]
    base = sym if isinstance(sym, SymbolicModel) else sym.base
    if not isinstance(sym, SymbolicModel):
        check_event_sensitivities(model, sym.wrt)
    atoms: list[tuple[str, str]] = []
    formulas = []
    for e in events:
        a, f = parse_trigger(e.trigger, f"event {e.name!r} trigger")

        def shift(node: tuple, base: int = len(atoms)) -> tuple:
            if node[0] == "atom":
                return ("atom", node[1] + base)
            return (node[0], *(shift(x, base) for x in node[1:]))

        formulas.append(shift(f))
        atoms += a
    offsets, targets = [0], []
    for e in events:
        for target, _expr in e.assignment_map.items():
            if target in model.state_names:
                targets.append(model.state_index(target))
            else:
                targets.append(-1 - model.parameter_index(target))
        offsets.append(len(targets))
    flags = [int(e.persistent) | int(e.initial_value) << 1 | int(e.use_values_from_trigger_time) << 2
             | int(e.priority is not None) << 3 for e in events]
    out = [
        f"/* state-triggered events: {', '.join(e.name for e in events)} */",
        f"#define BM_NE {len(events)}",
        f"#define BM_NG {len(atoms)}",
        f"#define BM_NA {len(targets)}",
        f"static const int BM_EV_OP[BM_NG] = {{{', '.join(str(_OPS[op]) for _g, op in atoms)}}};",
        f"static const int BM_EV_FLAGS[BM_NE] = {{{', '.join(map(str, flags))}}};",
        f"static const int BM_EV_OFF[BM_NE + 1] = {{{', '.join(map(str, offsets))}}};",
        f"static const int BM_EV_TGT[BM_NA] = {{{', '.join(map(str, targets))}}};",
        "static void bm_ev_g(double t, const double *y, const double *p, double *g) {",
        "    (void)t; (void)y; (void)p;",
    ]
    out += block([base.parse(g) for g, _op in atoms], [f"g[{k}]" for k in range(len(atoms))])
    out += ["}", "", "static void bm_ev_bool(const int *a, int *b) {"]
    out += [f"    b[{i}] = {_formula_c(f)};" for i, f in enumerate(formulas)]
    out += ["}", "", "static void bm_ev_values(int e, double t, const double *y, const double *p, double *v) {",
            "    (void)t; (void)y; (void)p;", "    switch (e) {"]
    for i, e in enumerate(events):
        out.append(f"    case {i}: {{ /* {e.name} */")
        lines = block([base.parse(expr) for _t, expr in e.assignment_map.items()],
                      [f"v[{k}]" for k in range(len(e.assignments))])
        out += ["    " + ln for ln in lines]
        out += ["        break;", "    }"]
    out += ["    default: break;", "    }", "}", "",
            "static double bm_ev_prio(int e, double t, const double *y, const double *p) {",
            "    (void)t; (void)y; (void)p;", "    switch (e) {"]
    for i, e in enumerate(events):
        if e.priority is None:
            continue
        expr = e.priority if isinstance(e.priority, str) else repr(float(e.priority))
        out.append(f"    case {i}: {{")
        out += ["    " + ln for ln in block([base.parse(expr)], ["double r"])]
        out += ["        return r;", "    }"]
    out += ["    default: return 0.0;", "    }", "}", ""]
    if not isinstance(sym, SymbolicModel):
        out += _sens_source(sym, atoms, block)
    return out

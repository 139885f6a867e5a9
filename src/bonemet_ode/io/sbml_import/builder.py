"""Assemble a :class:`~bonemet_ode.model.Model` from a checked libsbml model.

See :mod:`.quantities` for what each SBML symbol becomes.  Initial values
(``initialAssignment``, assignment rules at time 0, concentrations times
compartment sizes) are evaluated numerically at import, in dependency order.
Model time is a clock state (``d time/dt = 1`` from 0) added only when the math
uses the ``time`` csymbol (or when the model would otherwise have no state).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ModelError, UnsupportedFeatureError
from ...model import Model, Module, Observable, Parameter, State, Term
from ...model.expressions import compile_expression, symbols_in, topological_order
from .algebraic import algebraic_unknowns, solve_algebraic
from .events import convert_events
from .mathml import MathConverter, _p, number
from .quantities import NameAllocator, amount_semantics, spatial_dimensions

__all__ = ["SbmlImport", "build_model"]


@dataclass(frozen=True)
class SbmlImport:
    """An imported SBML model and how its SBML ids map onto it.

    Attributes
    ----------
    model : Model
        The model (states, parameters, terms, observables).
    values : dict
        SBML id -> expression (in model names) of its value as SBML math reads it
        (a species' concentration when it is not ``hasOnlySubstanceUnits``).
    amounts, concentrations : dict
        Species id -> expression of its amount / its concentration.
    time_state : str or None
        Name of the clock state holding model time, when the model has one.
    overflow_states : tuple of str
        States that turn NaN (stopping the solve) when a delayed event has more pending executions
        than :data:`~bonemet_ode.io.sbml_import.events.DELAY_SLOTS`.
    initial_expressions : dict
        Model name -> expression (in model names) of its value at time 0 as SBML math reads it
        (initial assignments, assignment rules, sizes, values, initial amounts or concentrations;
        the clock is ``"0"``).  The model holds these evaluated at the SBML values; a caller that
        changes parameters (PEtab conditions, estimates) evaluates them again.
    initial_states : dict
        SBML id whose initial value is a state's initial value -> ``(state name, compartment)``:
        species with an amount state (``compartment`` the model name of its compartment when the
        id reads a concentration, None when it reads the amount) and ids with a rate rule
        (``compartment`` None).
    quantity_names, species_names : dict
        SBML id of each parameter and compartment / each species -> its model name.
    initially_assigned : tuple of str
        Model names of the ids that initial assignments set.

    Examples
    --------
    >>> from bonemet_ode.io.sbml_import import import_sbml, antimony_to_sbml
    >>> imp = import_sbml(antimony_to_sbml("model m; J: S -> ; k*S; S = 2*k; k = 0.5; end"))
    >>> imp.initial_expressions["S"], imp.initial_states["S"]
    ('2*k', ('S_amount', 'default_compartment'))
    """

    model: Model
    values: Mapping[str, str]
    amounts: Mapping[str, str] = field(default_factory=dict)
    concentrations: Mapping[str, str] = field(default_factory=dict)
    time_state: str | None = None
    overflow_states: tuple[str, ...] = ()
    initial_expressions: Mapping[str, str] = field(default_factory=dict)
    initial_states: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)
    quantity_names: Mapping[str, str] = field(default_factory=dict)
    species_names: Mapping[str, str] = field(default_factory=dict)
    initially_assigned: tuple[str, ...] = ()

    def expression(self, sbml_id: str, kind: str | None = None) -> str:
        """Expression of ``sbml_id``: ``kind`` is ``"amount"``, ``"concentration"`` or None (as math reads it)."""
        if kind is not None and kind not in ("amount", "concentration"):
            raise ModelError(f"kind of {sbml_id!r} must be 'amount', 'concentration' or None (as the math reads "
                             f"it), got {kind!r}")
        table = {"amount": self.amounts, "concentration": self.concentrations}.get(kind or "", self.values)
        if sbml_id not in table:
            if kind and sbml_id in self.values:
                raise ModelError(f"{sbml_id!r} is not a species: it has no {kind}")
            raise ModelError(f"unknown SBML id {sbml_id!r} (known: {', '.join(list(self.values)[:20])})")
        return table[sbml_id]

    def evaluate(self, result: Any, sbml_id: str, kind: str | None = None) -> np.ndarray:
        """Values of ``sbml_id`` at the output times of a :class:`~bonemet_ode.simulate.SimulationResult`.

        In a model with a clock state, observables are evaluated again (in Python) with the clock
        replaced by the exact output times: the integrated clock can differ from ``t`` in the last
        digits, which matters for a condition such as ``time < 1`` evaluated at ``t = 1``.
        """
        expr = self.expression(sbml_id, kind)
        m = result.model
        where = f"output {sbml_id!r}"
        used = symbols_in(expr, where)
        if self.time_state is None and expr in m.state_names + m.observable_names:
            return np.asarray(result[expr], dtype=float).copy()
        cols: dict[str, np.ndarray] = {n: np.full(len(result.times), float(v)) for n, v in result.params.items()
                                       if n in m.parameter_names}
        for n in m.state_names:
            cols[n] = np.asarray(result[n], dtype=float)
        if self.time_state is not None:
            cols[self.time_state] = np.asarray(result.times, dtype=float)
            for o in m.observables:
                cols[o.name] = _pointwise(o.expr, f"observable {o.name!r}", cols, len(result.times))
        else:
            for n in m.observable_names:
                cols[n] = np.asarray(result[n], dtype=float)
        if expr in cols:
            return cols[expr].copy()
        return _pointwise(expr, where, {k: cols[k] for k in used}, len(result.times))


def _pointwise(expr: str, where: str, cols: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    f = compile_expression(expr, where)
    names = symbols_in(expr, where)
    out = np.empty(n)
    for i in range(n):
        try:
            out[i] = f({k: cols[k][i] for k in names})
        except (ZeroDivisionError, ValueError, OverflowError):
            out[i] = math.nan
    return out


class _Builder:
    def __init__(self, sbml: Any, name: str | None) -> None:
        self.m = sbml
        self.level = sbml.getLevel()
        self.alloc = NameAllocator()
        self.model_name = name or sbml.getId() or sbml.getName() or "sbml_model"
        self.comps = {c.getId(): c for c in sbml.getListOfCompartments()}
        self.species = {s.getId(): s for s in sbml.getListOfSpecies()}
        self.params = {p.getId(): p for p in sbml.getListOfParameters()}
        self.reactions = {r.getId(): r for r in sbml.getListOfReactions()}
        self.functions = {f.getId(): f.getMath() for f in sbml.getListOfFunctionDefinitions()}
        self.srefs: dict[str, tuple[Any, Any]] = {}
        for r in self.reactions.values():
            for lst in (r.getListOfReactants(), r.getListOfProducts()):
                for sr in lst:
                    if sr.isSetId() and sr.getId():
                        self.srefs[sr.getId()] = (sr, r)
        self.assign: dict[str, Any] = {}
        self.rate: dict[str, Any] = {}
        self.algebraic: list[Any] = []
        for rule in sbml.getListOfRules():
            if not rule.isSetMath():  # SBML L3v2: a rule without math has no effect
                continue
            if rule.isAssignment():
                self.assign[rule.getVariable()] = rule
            elif rule.isRate():
                self.rate[rule.getVariable()] = rule
            elif rule.isAlgebraic():
                self.algebraic.append(rule)
        self._assign_expr: dict[str, str] = {}
        self.init = {ia.getSymbol(): ia for ia in sbml.getListOfInitialAssignments() if ia.isSetMath()}
        self.event_targets = {ea.getVariable() for ev in sbml.getListOfEvents()
                              for ea in ev.getListOfEventAssignments()}
        self.time_used = False
        self.overflow_states: list[str] = []
        self.time_name = "time"  # replaced by an allocated name in _names
        self._kinetic: dict[str, str] = {}
        self._rate_expr: dict[str, str] = {}
        self._busy: set[str] = set()

    # ------------------------------------------------------------------ names
    def _names(self) -> None:
        self.name: dict[str, str] = {}
        for table in (self.comps, self.species, self.params, self.reactions, self.srefs):
            for i in table:
                self.name[i] = self.alloc(i)
        self.time_name = self.alloc("time")
        self.sem_amount = {}
        self.amount_state: dict[str, str] = {}
        for sid, s in self.species.items():
            comp = self.comps.get(s.getCompartment())
            if comp is None:
                raise ModelError(f"species {sid!r} is in undefined compartment {s.getCompartment()!r}")
            self.sem_amount[sid] = amount_semantics(s, comp)
            if sid not in self.assign and sid not in self.rate:
                self.amount_state[sid] = self.name[sid] if self.sem_amount[sid] else self.alloc(sid + "_amount")
        for target in list(self.assign) + list(self.rate):
            if target in self.reactions or target not in self.name:
                raise ModelError(f"a rule sets {target!r}, which is not a compartment, species or parameter")
        for target in self.assign:
            if target in self.rate:
                raise ModelError(f"{target!r} has both an assignment rule and a rate rule")
        self.convert = MathConverter(self._resolve, self.functions, self._time, self._rate_of)

    def assignment(self, var: str) -> str:
        """The expression of the assignment rule for ``var`` (or of an algebraic rule solved for it)."""
        if var not in self._assign_expr:
            rule = self.assign[var]
            self._assign_expr[var] = self.convert(rule.getMath(), f"assignment rule for {var!r}")
        return self._assign_expr[var]

    def _time(self) -> str:
        self.time_used = True
        return self.time_name

    def _resolve(self, sbml_id: str, where: str) -> str:
        if sbml_id in self.reactions:
            return f"({self._kinetic_law(sbml_id)})"
        if sbml_id in self.name:
            return self.name[sbml_id]
        if sbml_id in self.functions:
            raise ModelError(f"{where}: function {sbml_id!r} used as a value")
        raise ModelError(f"{where}: undefined symbol {sbml_id!r}")

    # ------------------------------------------------------------------ reactions and rates
    def _kinetic_law(self, rid: str) -> str:
        if rid in self._kinetic:
            return self._kinetic[rid]
        if rid in self._busy:
            raise ModelError(f"reaction {rid!r}: its kinetic law refers to itself")
        self._busy.add(rid)
        r = self.reactions[rid]
        kl = r.getKineticLaw()
        if kl is None or not kl.isSetMath():
            raise UnsupportedFeatureError("reaction without a kinetic law (math)", rid)
        local = {}
        lps = kl.getListOfLocalParameters() if self.level >= 3 else kl.getListOfParameters()
        for lp in lps:
            if not lp.isSetValue():
                raise UnsupportedFeatureError("local parameter without a value", f"{rid}/{lp.getId()}")
            pname = self.alloc(f"{rid}_{lp.getId()}")
            self.local_params.append(Parameter(pname, float(lp.getValue()), lower=-math.inf,
                                               description=f"local parameter {lp.getId()!r} of reaction {rid!r}"))
            local[lp.getId()] = pname
        outer = self.convert

        def resolve(sbml_id: str, where: str) -> str:
            return local[sbml_id] if sbml_id in local else self._resolve(sbml_id, where)

        conv = MathConverter(resolve, self.functions, self._time, self._rate_of)
        self.convert = conv
        try:
            expr = conv(kl.getMath(), f"kinetic law of reaction {rid!r}")
        finally:
            self.convert = outer
            self._busy.discard(rid)
        self._kinetic[rid] = expr
        return expr

    def _variable(self, sbml_id: str) -> bool:
        """Whether a parameter or stoichiometry can change during a simulation (rules, events)."""
        return sbml_id in self.rate or sbml_id in self.assign or sbml_id in self.event_targets

    def _coefficient(self, sr: Any, rid: str, sign: float) -> tuple[str, bool]:
        """``(expression, constant)`` of a species reference's signed coefficient: stoichiometry times the
        species' conversion factor."""
        where = f"{rid}/{sr.getSpecies()}"
        constant = True
        if self.level < 3 and sr.isSetStoichiometryMath():
            sm = sr.getStoichiometryMath()
            stoich = self.convert(sm.getMath() if sm.isSetMath() else None, f"stoichiometryMath of {where}")
            constant = not symbols_in(stoich, where)
        elif sr.isSetId() and sr.getId() in self.srefs:
            stoich = self.name[sr.getId()]
            constant = not self._variable(sr.getId())
        else:
            if self.level >= 3 and not sr.isSetStoichiometry():
                raise UnsupportedFeatureError("species reference without stoichiometry", where)
            stoich = number(sr.getStoichiometry())
        parts = [stoich]
        sid = sr.getSpecies()
        s = self.species[sid]
        cf = s.getConversionFactor() if self.level >= 3 and s.isSetConversionFactor() else ""
        if not cf and self.level >= 3 and self.m.isSetConversionFactor():
            cf = self.m.getConversionFactor()
        if cf:
            if cf not in self.params:
                raise ModelError(f"conversion factor {cf!r} of species {sid!r} is not a parameter")
            parts.append(self.name[cf])
            constant = constant and not self._variable(cf)
        coef = "*".join(_p(x) for x in parts)
        return (coef if sign > 0 else f"-{_p(coef)}"), constant

    def _references(self) -> dict[str, list[tuple[str, str, bool]]]:
        """Reaction id -> ``(amount state, coefficient expression, constant)`` per changed species reference."""
        cached: dict[str, list[tuple[str, str, bool]]] | None = getattr(self, "_refs", None)
        if cached is not None:
            return cached
        out: dict[str, list[tuple[str, str, bool]]] = {}
        for rid, r in self.reactions.items():
            refs = []
            for sign, lst in ((-1.0, r.getListOfReactants()), (1.0, r.getListOfProducts())):
                for sr in lst:
                    sid = sr.getSpecies()
                    s = self.species.get(sid)
                    if s is None:
                        raise ModelError(f"reaction {rid!r} refers to undefined species {sid!r}")
                    if s.getBoundaryCondition() or s.getConstant():
                        continue
                    if sid not in self.amount_state:
                        raise ModelError(f"species {sid!r} is set by a rule and changed by reaction {rid!r}")
                    refs.append((self.amount_state[sid], *self._coefficient(sr, rid, sign)))
            out[rid] = refs
        self._refs = out
        return out

    def _rate_rule(self, target: str) -> str:
        if target not in self._rate_expr:
            rule = self.rate[target]
            if target in self._busy:
                raise ModelError(f"rate rule for {target!r} refers to its own rate (rateOf)")
            self._busy.add(target)
            try:
                self._rate_expr[target] = self.convert(rule.getMath() if rule.isSetMath() else None,
                                                       f"rate rule for {target!r}")
            finally:
                self._busy.discard(target)
        return self._rate_expr[target]

    def _rate_of(self, sbml_id: str, where: str) -> str:
        if sbml_id in self.rate:
            return f"({self._rate_rule(sbml_id)})"
        if sbml_id in self.assign:
            raise UnsupportedFeatureError("rateOf of a symbol set by an assignment rule", sbml_id)
        if sbml_id in self.species:
            s = self.species[sbml_id]
            if s.getBoundaryCondition() or s.getConstant():
                return "0"
            parts = []
            st = self.amount_state[sbml_id]
            for rid, refs in self._references().items():
                for state, coef, _const in refs:
                    if state == st:
                        parts.append(f"{_p(coef)}*({self._kinetic_law(rid)})")
            total = " + ".join(parts) if parts else "0"
            if self.sem_amount[sbml_id]:
                return f"({total})"
            comp = s.getCompartment()
            if comp in self.rate or comp in self.assign:
                raise UnsupportedFeatureError("rateOf of a concentration in a variable compartment", sbml_id)
            return f"(({total})/{self.name[comp]})"
        if sbml_id in self.comps or sbml_id in self.params or sbml_id in self.srefs:
            return "0"
        if any(sbml_id in {lp.getId() for lp in (r.getKineticLaw().getListOfLocalParameters() if self.level >= 3
                                                 else r.getKineticLaw().getListOfParameters())}
               for r in self.reactions.values() if r.getKineticLaw() is not None):
            return "0"  # a local parameter: constant
        raise ModelError(f"{where}: rateOf of undefined symbol {sbml_id!r}")

    # ------------------------------------------------------------------ initial values
    def _initial_values(self) -> None:
        """Values at time 0 of every SBML symbol, by model name (math units: concentrations where math reads them)."""
        exprs: dict[str, str] = {self.time_name: "0"}
        for i in self.name:
            if i in self.reactions:
                continue
            where = f"initial value of {i!r}"
            if i in self.init:
                ia = self.init[i]
                exprs[self.name[i]] = self.convert(ia.getMath() if ia.isSetMath() else None,
                                                   f"initial assignment of {i!r}")
            elif i in self.assign:
                exprs[self.name[i]] = self.assignment(i)
            elif i in self.comps:
                c = self.comps[i]
                if c.isSetSize():
                    exprs[self.name[i]] = number(c.getSize())
                elif spatial_dimensions(c) == 0:
                    exprs[self.name[i]] = "1"
                else:
                    raise ModelError(f"compartment {i!r} has no size: give a size, an initial assignment or a rule")
            elif i in self.params:
                p = self.params[i]
                if not p.isSetValue():
                    raise ModelError(f"parameter {i!r} has no value: give a value, an initial assignment or a rule")
                exprs[self.name[i]] = number(p.getValue())
            elif i in self.srefs:
                sr, r = self.srefs[i]
                if self.level >= 3 and not sr.isSetStoichiometry():
                    raise UnsupportedFeatureError("species reference without stoichiometry", i)
                exprs[self.name[i]] = number(sr.getStoichiometry())
            elif i in self.species:
                s = self.species[i]
                vol = self.name[s.getCompartment()]
                amount_sem = self.sem_amount[i]
                if s.isSetInitialAmount():
                    a = number(s.getInitialAmount())
                    exprs[self.name[i]] = a if amount_sem else f"{a}/{_p(vol)}"
                elif s.isSetInitialConcentration():
                    c = number(s.getInitialConcentration())
                    exprs[self.name[i]] = f"{c}*{_p(vol)}" if amount_sem else c
                else:
                    raise ModelError(f"species {i!r} has no initial value: give an initial amount or concentration "
                                     "or an initial assignment")
            del where
        deps = {n: symbols_in(e, f"initial value of {n!r}") for n, e in exprs.items()}
        for n, used in deps.items():
            missing = used - set(exprs) - {p.name for p in self.local_params}
            if missing:
                raise ModelError(f"initial value of {n!r} uses {sorted(missing)[0]!r}, which has no value at time 0")
        self.t0_exprs = exprs
        order = topological_order(deps, "initial value")
        env: dict[str, float] = {p.name: p.value for p in self.local_params}
        for n in order:
            try:
                v = compile_expression(exprs[n], f"initial value of {n!r}")(env)
            except (ZeroDivisionError, ValueError, OverflowError, TypeError) as exc:
                raise ModelError(f"initial value of {n!r} = {exprs[n]!r} cannot be evaluated ({exc})") from None
            env[n] = v
        self.t0 = env

    # ------------------------------------------------------------------ assembly
    def build(self) -> SbmlImport:
        self.local_params: list[Parameter] = []
        unknowns = algebraic_unknowns(self)
        for u in unknowns:
            self.assign[u] = None  # solved below, once names and the math converter exist
        self._names()
        if unknowns:
            self._assign_expr.update(solve_algebraic(self, unknowns))
        self._initial_values()
        states: list[State] = []
        params: list[Parameter] = []
        terms: list[Term] = []
        obs: list[Observable] = []
        values: dict[str, str] = {}
        amounts: dict[str, str] = {}
        concs: dict[str, str] = {}

        def finite(n: str, what: str) -> float:
            v = self.t0[n]
            if not math.isfinite(v):
                raise UnsupportedFeatureError(f"{what} that is not finite at time 0 ({v})", n)
            return float(v)

        def desc(obj: Any) -> str:
            if isinstance(obj, tuple):  # a species reference and its reaction
                return f"stoichiometry of {obj[0].getSpecies()!r} in reaction {obj[1].getId()!r}"
            return obj.getName() if obj.isSetName() else ""

        for table, kind in ((self.comps, "compartment"), (self.params, "parameter"), (self.srefs, "stoichiometry")):
            for i, obj in table.items():
                n = self.name[i]
                values[i] = n
                if i in self.assign:
                    obs.append(Observable(n, self.assignment(i), description=desc(obj)))
                elif i in self.rate:
                    states.append(State(n, finite(n, f"initial {kind}"), nonnegative=False, description=desc(obj)))
                    terms.append(Term(self.alloc(f"{n}_rate"), self._rate_rule(i), {n: 1.0},
                                      description=f"rate rule for {kind} {i!r}"))
                elif i in self.event_targets:  # changed by events only: a state without terms (d/dt = 0)
                    states.append(State(n, finite(n, f"initial {kind}"), nonnegative=False, description=desc(obj)))
                else:
                    params.append(Parameter(n, finite(n, kind), lower=-math.inf, description=desc(obj)))
        for i, s in self.species.items():
            n = self.name[i]
            vol = self.name[s.getCompartment()]
            values[i] = n
            if i in self.assign:
                obs.append(Observable(n, self.assignment(i), description=desc(s)))
            elif i in self.rate:
                states.append(State(n, finite(n, "initial species value"), nonnegative=False, description=desc(s)))
                terms.append(Term(self.alloc(f"{n}_rate"), self._rate_rule(i), {n: 1.0},
                                  description=f"rate rule for species {i!r}"))
            else:
                st = self.amount_state[i]
                a0 = self.t0[n] if self.sem_amount[i] else self.t0[n] * self.t0[vol]
                if not math.isfinite(a0):
                    raise UnsupportedFeatureError(f"initial amount that is not finite ({a0})", i)
                states.append(State(st, a0, nonnegative=False, description=desc(s)))
                if not self.sem_amount[i]:
                    if s.getConstant() and (s.getCompartment() in self.rate or s.getCompartment() in self.assign):
                        raise UnsupportedFeatureError("constant concentration in a variable compartment", i)
                    obs.append(Observable(n, f"{st}/{_p(vol)}", description=f"concentration of {i!r}"))
            if self.sem_amount[i]:
                amounts[i] = n
                concs[i] = f"{_p(n)}/{_p(vol)}"
            else:
                concs[i] = n
                amounts[i] = self.amount_state.get(i) or f"{_p(n)}*{_p(vol)}"
        for rid, r in self.reactions.items():
            values[rid] = f"({self._kinetic_law(rid)})" if (r.getKineticLaw() is not None
                                                            and r.getKineticLaw().isSetMath()) else "0"
            merged: dict[str, float] = {}
            variable = []
            for state, coef, constant in self._references()[rid]:
                if constant:
                    c = compile_expression(coef, f"stoichiometry in reaction {rid!r}")(self.t0)
                    merged[state] = merged.get(state, 0.0) + c
                else:
                    variable.append((state, coef))
            merged = {k: v for k, v in merged.items() if v != 0.0}
            if not math.isfinite(sum(merged.values())):
                raise UnsupportedFeatureError("stoichiometry that is not finite", rid)
            if merged:
                terms.append(Term(self.name[rid], self._kinetic_law(rid), merged, description=desc(r)))
            for state, coef in variable:  # a stoichiometry that changes in time: a term per species reference
                terms.append(Term(self.alloc(f"{rid}_{state}"), f"{_p(coef)}*({self._kinetic_law(rid)})",
                                  {state: 1.0}, description=f"reaction {rid!r}, variable stoichiometry"))
        events, ev_states = convert_events(self) if self.m.getNumEvents() else ([], [])
        states += ev_states
        params += self.local_params
        time_state = None
        if self.time_used or not states:
            time_state = self.time_name
            states.append(State(self.time_name, 0.0, unit="time", description="model time (SBML csymbol time)"))
            terms.append(Term(self.alloc("time_clock"), "1", {self.time_name: 1.0}, description="d time/dt = 1"))
        module = Module("sbml", states=tuple(states), parameters=tuple(params), terms=tuple(terms),
                        observables=tuple(obs), events=tuple(events),
                        description=self.m.getName() if self.m.isSetName() else "")
        model_name = self.model_name
        model = Model(model_name, [module], description=f"imported from SBML Level {self.level} "
                      f"Version {self.m.getVersion()}")
        initial_states: dict[str, tuple[str, str | None]] = {}
        for i, s in self.species.items():
            held = self.amount_state.get(i)
            if held is not None:
                initial_states[i] = (held, None if self.sem_amount[i] else self.name[s.getCompartment()])
            elif i in self.rate:
                initial_states[i] = (self.name[i], None)
        for i in list(self.params) + list(self.comps):
            if i in self.rate:
                initial_states[i] = (self.name[i], None)
        return SbmlImport(model=model, values=values, amounts=amounts, concentrations=concs, time_state=time_state,
                          overflow_states=tuple(self.overflow_states), initial_expressions=dict(self.t0_exprs),
                          initial_states=initial_states,
                          quantity_names={i: self.name[i] for i in list(self.params) + list(self.comps)},
                          species_names={i: self.name[i] for i in self.species},
                          initially_assigned=tuple(self.name[i] for i in self.init))


def build_model(sbml_model: Any, name: str | None = None) -> SbmlImport:
    """Build the :class:`SbmlImport` of a libsbml ``Model`` (already checked by the reader)."""
    return _Builder(sbml_model, name).build()

"""The SBML model of a PEtab problem: the imported :class:`Model` and its initial values as expressions.

:func:`bonemet_ode.io.sbml_import.import_sbml` evaluates initial values to numbers at import; a PEtab
problem changes parameters (estimated, or set by a condition) that initial assignments read, so here
the initial amount of every state is kept as a sympy expression of the model's parameters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import UnsupportedFeatureError
from ..io.sbml_import import SbmlImport
from ..io.sbml_import.builder import _Builder
from ..io.sbml_import.events import EVENTS_SUPPORTED
from ..io.sbml_import.reader import load_document, refuse_unsupported
from .time_switches import split_time_switches

__all__ = ["SbmlModel", "load_sbml_model"]


@dataclass
class SbmlModel:
    """An imported SBML model with what PEtab needs to know about it.

    Attributes
    ----------
    imp : SbmlImport
        The import (model and the map from SBML ids to expressions).
    initial : dict
        State name -> sympy expression of its initial value (amount) in the model's parameter symbols.
    species_state : dict
        SBML id whose initial value a condition may set (species; parameters and compartments with
        rate rules) -> (state name, compartment model name, or None when the state holds what the
        id reads: amounts of ``hasOnlySubstanceUnits`` species, rate-rule quantities).
    param_of_id : dict
        SBML id of a parameter or compartment that is a model parameter -> its model parameter name.
    sym : SymbolicModel
        The model's sympy form (states ``sym.y``, parameters ``sym.p``).
    switches : tuple of TimeSwitch
        Comparisons of model time with parameters, replaced by flag parameters that a simulation
        switches with timed events (:mod:`bonemet_ode.petab.time_switches`).
    """

    imp: SbmlImport
    initial: dict
    species_state: dict
    param_of_id: dict
    sym: Any
    switches: tuple = ()

    @property
    def model(self):
        return self.imp.model


def _initial_expressions(b: _Builder) -> dict[str, str]:
    """Model name -> expression string of its value at time 0 (as the SBML math reads it)."""
    exprs: dict[str, str] = {b.time_name: "0"}
    for i in b.name:
        if i in b.reactions:
            continue
        if i in b.init:
            ia = b.init[i]
            exprs[b.name[i]] = b.convert(ia.getMath(), f"initial assignment of {i!r}")
        elif i in b.assign:
            exprs[b.name[i]] = b.convert(b.assign[i].getMath(), f"assignment rule for {i!r}")
        elif i in b.comps:
            c = b.comps[i]
            exprs[b.name[i]] = repr(float(c.getSize())) if c.isSetSize() else "1.0"
        elif i in b.params:
            exprs[b.name[i]] = repr(float(b.params[i].getValue()))
        elif i in b.srefs:
            exprs[b.name[i]] = repr(float(b.srefs[i][0].getStoichiometry()))
        elif i in b.species:
            s = b.species[i]
            vol = b.name[s.getCompartment()]
            if s.isSetInitialAmount():
                a = repr(float(s.getInitialAmount()))
                exprs[b.name[i]] = a if b.sem_amount[i] else f"{a}/({vol})"
            else:
                c = repr(float(s.getInitialConcentration()))
                exprs[b.name[i]] = f"{c}*({vol})" if b.sem_amount[i] else c
    return exprs


def load_sbml_model(path: str) -> SbmlModel:
    """Import the SBML file of a PEtab problem (refusals as :func:`bonemet_ode.read_sbml`)."""
    import sympy as sp

    from ..compile.symbolic import SymbolicModel, sympy_functions

    doc = load_document(str(path))
    sbml = doc.getModel()
    refuse_unsupported(sbml, events_supported=EVENTS_SUPPORTED)
    b = _Builder(sbml, None)
    imp = b.build()
    model, switches = split_time_switches(imp.model, imp.time_state)
    if switches:
        imp = dataclasses.replace(imp, model=model)
    sym = SymbolicModel(model)
    pnames = set(model.parameter_names)
    param_of_id = {i: b.name[i] for i in list(b.params) + list(b.comps) if b.name.get(i) in pnames}
    exprs = _initial_expressions(b)
    local: dict[str, Any] = dict(sympy_functions())
    psym = {s.name: s for s in sym.p}
    resolved: dict[str, Any] = {}

    def value(n: str, stack: tuple = ()) -> Any:
        if n in psym and n not in {b.name[i] for i in b.init}:
            return psym[n]  # a parameter is a leaf: PEtab may set it
        if n in resolved:
            return resolved[n]
        if n in stack:
            raise UnsupportedFeatureError("initial values that depend on each other in a cycle", n)
        e = sp.sympify(exprs[n], locals={**local, **{k: sp.Symbol(k) for k in exprs}})
        e = e.subs({s: value(s.name, stack + (n,)) for s in e.free_symbols if s.name in exprs})
        resolved[n] = e
        return e

    initial: dict[str, Any] = {}
    species_state: dict[str, tuple] = {}
    for sid, s in b.species.items():
        st = b.amount_state.get(sid)
        if st is None:
            if sid in b.rate:
                st = b.name[sid]
                species_state[sid] = (st, None)
            continue
        vol = b.name[s.getCompartment()]
        if b.sem_amount[sid]:
            species_state[sid] = (st, None)
            initial[st] = value(b.name[sid])
        else:
            species_state[sid] = (st, vol)
            initial[st] = value(b.name[sid]) * value(vol)
    for i in list(b.params) + list(b.comps):  # a rate rule makes a parameter or compartment a state
        if i in b.rate:
            species_state[i] = (b.name[i], None)
    for state in model.states:
        if state.name not in initial:
            initial[state.name] = value(state.name) if state.name in exprs else sp.Float(state.initial)
    for i in b.init:  # parameters set by initial assignments are numbers in the model
        n = b.name[i]
        if n in psym and any(x.name in psym for x in value(n).free_symbols):
            raise UnsupportedFeatureError(
                f"initial assignment to parameter {i!r} that reads other parameters (PEtab may change them; the "
                "imported model holds its value as a number)", i)
    subs = {sp.Symbol(n): psym[n] for n in psym}
    initial = {k: sp.sympify(v).xreplace(subs) for k, v in initial.items()}
    return SbmlModel(imp, initial, species_state, param_of_id, sym, switches)

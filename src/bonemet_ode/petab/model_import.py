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
from ..io.sbml_import import SbmlImport, import_sbml
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


def load_sbml_model(path: str) -> SbmlModel:
    """Import the SBML file of a PEtab problem (refusals as :func:`bonemet_ode.read_sbml`)."""
    import sympy as sp

    from ..compile.symbolic import SymbolicModel, sympy_functions

    imp = import_sbml(str(path))
    model, switches = split_time_switches(imp.model, imp.time_state)
    if switches:
        imp = dataclasses.replace(imp, model=model)
    sym = SymbolicModel(model)
    pnames = set(model.parameter_names)
    param_of_id = {i: n for i, n in imp.quantity_names.items() if n in pnames}
    exprs = imp.initial_expressions
    assigned = set(imp.initially_assigned)
    local: dict[str, Any] = dict(sympy_functions())
    psym = {s.name: s for s in sym.p}
    resolved: dict[str, Any] = {}

    def value(n: str, stack: tuple = ()) -> Any:
        if n in psym and n not in assigned:
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
    species_state = dict(imp.initial_states)
    for sid, (st, vol) in imp.initial_states.items():
        if sid in imp.species_names:  # a species: its amount (the value math reads, times the size)
            name = imp.species_names[sid]
            initial[st] = value(name) * value(vol) if vol is not None else value(name)
    for state in model.states:
        if state.name not in initial:
            initial[state.name] = value(state.name) if state.name in exprs else sp.Float(state.initial)
    for n in imp.initially_assigned:  # parameters set by initial assignments are numbers in the model
        if n in psym and any(x.name in psym for x in value(n).free_symbols):
            raise UnsupportedFeatureError(
                f"initial assignment to parameter {n!r} that reads other parameters (PEtab may change them; the "
                "imported model holds its value as a number)", n)
    subs = {sp.Symbol(n): psym[n] for n in psym}
    initial = {k: sp.sympify(v).xreplace(subs) for k, v in initial.items()}
    return SbmlModel(imp, initial, species_state, param_of_id, sym, switches)

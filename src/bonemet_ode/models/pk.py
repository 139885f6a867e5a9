"""One-compartment pharmacokinetics."""

from __future__ import annotations

from ..model import Model, Module, Parameter, State, Term
from .registry import register

__all__ = ["pk_one_compartment"]


@register("pk_one_compartment", "one-compartment PK: state 'central' (amount), first-order elimination k_el (1/day)")
def pk_one_compartment() -> Model:
    """``d(central)/dt = -k_el * central``: the amount of drug in one well-mixed compartment."""
    return Model("pk_one_compartment", [Module(
        "elimination",
        states=(State("central", 0.0, "mg", "drug amount in the central compartment"),),
        parameters=(Parameter("k_el", 0.5, "1/day", 0.0, 1e4, "first-order elimination rate constant",
                              "illustrative (half-life ln2/0.5 = 1.39 days)"),),
        terms=(Term("elimination", "k_el*central", {"central": -1}, "first-order elimination"),),
    )])

"""Algebraic rules solved in closed form: each becomes an assignment rule for the variable it determines.

The variables an algebraic rule may determine are the non-constant symbols that
nothing else determines: parameters and compartments without rules, species
without rules that no reaction changes.  When the rules hold exactly as many
of them as there are rules and sympy finds one solution, each variable gets an
assignment rule (an observable).  A system that needs a DAE solver (no closed
form, several solutions, or an algebraic rule on a variable that reactions
change) is refused by name.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import UnsupportedFeatureError
from ...model.expressions import symbols_in

__all__ = ["algebraic_unknowns", "solve_algebraic"]


def _names_in(node: Any, out: set[str]) -> set[str]:
    import libsbml as lib

    if node.getType() == lib.AST_NAME:
        out.add(node.getName())
    for i in range(node.getNumChildren()):
        _names_in(node.getChild(i), out)
    return out


def algebraic_unknowns(b: Any) -> list[str]:
    """The SBML ids the builder's algebraic rules determine (refused unless one per rule)."""
    if not b.algebraic:
        return []
    changed = set()
    for r in b.reactions.values():
        for lst in (r.getListOfReactants(), r.getListOfProducts()):
            for sr in lst:
                s = b.species.get(sr.getSpecies())
                if s is not None and not s.getBoundaryCondition() and not s.getConstant():
                    changed.add(sr.getSpecies())
    unknowns: list[str] = []
    for rule in b.algebraic:
        for n in sorted(_names_in(rule.getMath(), set())):
            if n in b.assign or n in b.rate or n in unknowns:
                continue
            obj = b.params.get(n) or b.comps.get(n) or b.species.get(n)
            if obj is None or obj.getConstant() or n in changed:
                continue
            unknowns.append(n)
    where = ", ".join(f"rule {i + 1}" for i in range(len(b.algebraic)))
    if len(unknowns) != len(b.algebraic):
        raise UnsupportedFeatureError(
            "algebraic rule that needs a DAE solver (it does not determine one free variable per rule; "
            f"free variables: {', '.join(unknowns) or 'none'})", where)
    for n in unknowns:
        if n in b.event_targets:
            raise UnsupportedFeatureError("algebraic rule on a variable that an event assigns", n)
    return unknowns


_SYMPY_TO_MODEL = ((re.compile(r"\bAbs\("), "abs("), (re.compile(r"\bbm_floor\("), "floor("),
                   (re.compile(r"\bbm_ceil\("), "ceil("))


def solve_algebraic(b: Any, unknowns: list[str]) -> dict[str, str]:
    """``{sbml_id: expression}`` solving the builder's algebraic rules for ``unknowns``."""
    import sympy as sp
    from sympy.parsing.sympy_parser import parse_expr

    from ...compile.symbolic import sympy_functions

    where = ", ".join(f"rule {i + 1}" for i in range(len(b.algebraic)))
    exprs = [b.convert(rule.getMath(), f"algebraic rule {i + 1}") for i, rule in enumerate(b.algebraic)]
    local: dict[str, Any] = dict(sympy_functions())
    for e in exprs:
        for n in symbols_in(e, "algebraic rule"):
            local[n] = sp.Symbol(n, real=True)
    targets = [local.get(b.name[u]) or sp.Symbol(b.name[u], real=True) for u in unknowns]
    eqs = [parse_expr(e, local_dict=dict(local), evaluate=True) for e in exprs]
    try:
        sols = sp.solve(eqs, targets, dict=True)
    except (NotImplementedError, ValueError, TypeError):
        sols = []
    if len(sols) != 1 or set(sols[0]) != set(targets):
        raise UnsupportedFeatureError(f"algebraic rule without a unique closed-form solution ({len(sols)} found)",
                                      where)
    out = {}
    for u, sym in zip(unknowns, targets):
        sol = sols[0][sym]
        if sol.free_symbols & set(targets) or sol.has(sp.Piecewise):
            raise UnsupportedFeatureError("algebraic rule without a closed-form solution", u)
        text = sp.sstr(sol)
        for pat, rep in _SYMPY_TO_MODEL:
            text = pat.sub(rep, text)
        try:
            symbols_in(text, f"algebraic rule for {u!r}")
        except Exception:  # noqa: BLE001 - a sympy form outside the model language
            raise UnsupportedFeatureError("algebraic rule whose solution the model language cannot write", u) from None
        out[u] = text
    return out

"""Parameter-only subexpressions, computed once per parameter vector instead of at every evaluation.

A rate such as ``r*on_growth*T*(1 - T/K)`` or ``kC*C*T/(1 + sM*M/1e5)`` holds products and quotients
of parameters (``r*on_growth/K``, ``1e-5*sM``) that the right-hand side would otherwise recompute at
every one of its thousands of evaluations per solve, some of them divisions on the path from one
stage of a step to the next.  :class:`Hoister` replaces each maximal parameter-only factor of a
product, parameter-only sum of terms, and parameter-only function argument by a *derived
parameter*.  The generated code keeps derived parameters after the model's parameters in the same
array (``p[BM_NP + k]``) and fills them with ``bm_derive(p)`` whenever the parameters are set: at
the start of a solve and after a parameter-switch event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["Hoister"]


class Hoister:
    """Collects derived parameters over several expressions (right-hand side, Jacobian, observables).

    Parameters
    ----------
    states : iterable of sympy.Symbol
        The state symbols: an expression without them depends on parameters only.
    prefix : str
        Name prefix of the derived-parameter symbols.
    """

    def __init__(self, states: Iterable[Any], prefix: str = "__q") -> None:
        self._states = frozenset(states)
        self._prefix = prefix
        self._index: dict[Any, Any] = {}
        self._definition: dict[Any, Any] = {}  # symbol -> definition
        self.symbols: list[Any] = []
        self.definitions: list[Any] = []  # in terms of the model's parameters only

    def __len__(self) -> int:
        return len(self.symbols)

    def _constant(self, e) -> bool:
        return not (e.free_symbols & self._states)

    def _expand(self, e):
        """``e`` with derived symbols replaced by their definitions (raw parameters only)."""
        if not self.symbols:
            return e
        return e.xreplace(self._definition)

    def _register(self, e):
        """A symbol for the constant ``e``; numbers and lone parameters stay as they are."""
        import sympy as sp

        if e.is_Number or e.is_Symbol or (e.is_Mul and len(e.args) == 2 and e.args[0] == -1 and e.args[1].is_Symbol):
            return e
        e = self._expand(e)
        sym = self._index.get(e)
        if sym is None:
            sym = sp.Symbol(f"{self._prefix}{len(self.symbols)}", real=True)
            self._index[e] = sym
            self._definition[sym] = e
            self.symbols.append(sym)
            self.definitions.append(e)
        return sym

    def __call__(self, expr):
        """``expr`` with its maximal parameter-only parts replaced by derived symbols."""
        import sympy as sp

        e = sp.sympify(expr)
        if e.is_Atom:
            return e
        if not isinstance(e, sp.Expr):  # conditions and (value, condition) pairs of a Piecewise: parts only
            return e.func(*[self(a) for a in e.args])
        if self._constant(e):
            return self._register(e)
        if e.is_Mul or e.is_Add:
            const = [a for a in e.args if self._constant(a)]
            var = [self(a) for a in e.args if not self._constant(a)]
            if len(const) > 1 or (const and not const[0].is_Atom):
                const = [self._register(e.func(*const))]
            return e.func(*const, *var)
        return e.func(*[self(a) for a in e.args])

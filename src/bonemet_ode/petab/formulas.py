"""Observable and noise formulas of a PEtab problem as vectorised numpy functions with their derivatives."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import PetabError

__all__ = ["PLACEHOLDER", "Formula"]

#: ``observableParameter<n>_<observableId>`` / ``noiseParameter<n>_<observableId>``
PLACEHOLDER = re.compile(r"^(observable|noise)Parameter(\d+)_(.+)$")


def _lambdify(args: list, expr: Any):
    import sympy as sp

    f = sp.lambdify(args, expr, modules=["numpy"])
    if expr.free_symbols:
        return f
    c = float(expr)
    return lambda *a: c


def integer_powers(expr: Any) -> Any:
    """``expr`` with every power whose exponent is a whole float (``x**2.0``, as PEtab's ``x^2`` reads)
    written with an integer exponent.

    The value is the same; the derivative is not: sympy differentiates ``(x/c)**2.0`` to
    ``2.0*(x/c)**2.0/x``, which is NaN at ``x = 0``, and ``(x/c)**2`` to ``2*x/c**2``.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> sp.diff(integer_powers(x**sp.Float(2.0)), x)
    2*x
    """
    import sympy as sp

    if not isinstance(expr, sp.Basic):
        return expr
    return expr.replace(lambda e: e.is_Pow and e.exp.is_Float and float(e.exp).is_integer(),
                        lambda e: sp.Pow(e.base, sp.Integer(int(float(e.exp)))))


class Formula:
    """One formula ``f(t, x, p, e, q)``: time, states, model parameters, extra symbols (PEtab parameters
    outside the model), placeholders; :meth:`value` and :meth:`derivatives` broadcast over rows.

    Parameters
    ----------
    expr : sympy expression
        In the symbols of ``sym`` (states ``sym.y``, parameters ``sym.p``), ``extras``, ``placeholders``
        and the time symbol ``__t``.
    sym : SymbolicModel
    extras, placeholders : sequence of sympy Symbol
    """

    def __init__(self, expr: Any, sym: Any, extras: Sequence[Any], placeholders: Sequence[Any]) -> None:
        import sympy as sp

        expr = integer_powers(expr)
        self.expr = expr
        self.n_x, self.n_p = len(sym.y), len(sym.p)
        self.extras = tuple(s.name for s in extras)
        self.placeholders = tuple(s.name for s in placeholders)
        self._args = [sp.Symbol("__t"), *sym.y, *sym.p, *extras, *placeholders]
        self._f = _lambdify(self._args, expr)
        self.used = [i for i, a in enumerate(self._args) if a in expr.free_symbols]
        # the symbols the formula reads (time excluded), in argument order after time, and its derivatives
        self._d_idx = [i - 1 for i in self.used if i > 0]
        self._derivs = [sp.diff(expr, self._args[i]) for i in self.used if i > 0]
        #: states, model parameters, extras and placeholders the formula reads (positions in ``X``'s, ``P``'s,
        #: ``E``'s and ``Q``'s columns), the column order of :meth:`value_and_derivatives`' derivatives
        n_xp, n_e = self.n_x + self.n_p, len(self.extras)
        self.x_used = np.array([i - 1 for i in self.used if 1 <= i <= self.n_x], dtype=int)
        self.p_used = np.array([i - 1 - self.n_x for i in self.used if self.n_x < i <= n_xp], dtype=int)
        self.e_used = np.array([i - 1 - n_xp for i in self.used if n_xp < i <= n_xp + n_e], dtype=int)
        self.q_used = np.array([i - 1 - n_xp - n_e for i in self.used if i > n_xp + n_e], dtype=int)
        #: position of the placeholder when the formula is that placeholder alone (a common noise formula),
        #: else None
        self.just_placeholder = (list(placeholders).index(expr) if isinstance(expr, sp.Symbol) and
                                 expr in list(placeholders) else None)
        # value and derivatives in one generated function (one Python call per evaluation; common
        # subexpressions computed once)
        self._vd = sp.lambdify(self._args, [expr, *self._derivs], modules=["numpy"], cse=True)

    @classmethod
    def build(cls, expr: Any, sym: Any, extras: Sequence[Any], placeholders: Sequence[Any]) -> Formula:
        """Same as the constructor."""
        return cls(expr, sym, extras, placeholders)

    #: Whether model parameters are passed as one value per row (a parameter that enters a condition of a
    #: ``Piecewise``, which numpy's ``select`` wants as an array: the time-switch flags).
    rowwise: bool = False

    def _call(self, f, t, X, P, E, Q, n):
        if self.rowwise and not (isinstance(P, np.ndarray) and P.ndim == 2):
            P = [np.full(n, v) for v in P]
        return _rows(f(t, *X.T, *_columns(P), *_columns(E), *Q.T), n)

    def value_and_derivatives(self, t: np.ndarray, X: np.ndarray, P: np.ndarray, E: np.ndarray,
                              Q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Values and derivatives at rows in one generated function (common subexpressions computed once):
        ``(value, d/dX[:, x_used], d/dP[:, p_used], d/dE[:, e_used], d/dQ[:, q_used])``; ``P`` and ``E`` rows x
        parameters / extras (one row per output row), the rest as for :meth:`value`.

        Examples
        --------
        >>> import sympy as sp
        >>> from types import SimpleNamespace
        >>> x, k, q = sp.symbols("x k q")
        >>> f = Formula(k * x + q, SimpleNamespace(y=[x], p=[k]), [], [q])
        >>> v, fx, fp, fe, fq = f.value_and_derivatives(np.array([0.0, 1.0]), np.array([[2.0], [3.0]]),
        ...                                             np.array([[10.0], [10.0]]), np.zeros((2, 0)),
        ...                                             np.array([[1.0], [1.0]]))
        >>> v.tolist(), fx[:, 0].tolist(), fp[:, 0].tolist(), fq[:, 0].tolist()
        ([21.0, 31.0], [10.0, 10.0], [2.0, 3.0], [1.0, 1.0])
        """
        n = len(t)
        with np.errstate(all="ignore"):
            vals = self._vd(t, *X.T, *P.T, *E.T, *Q.T)
        D = np.empty((n, len(vals) - 1))
        for k in range(1, len(vals)):
            D[:, k - 1] = vals[k]
        a, b, c = len(self.x_used), len(self.x_used) + len(self.p_used), len(self.x_used) + len(self.p_used) + \
            len(self.e_used)
        return _rows(vals[0], n), D[:, :a], D[:, a:b], D[:, b:c], D[:, c:]

    def value(self, t: np.ndarray, X: np.ndarray, P: np.ndarray, E: np.ndarray, Q: np.ndarray) -> np.ndarray:
        """Values at rows: ``t`` (rows), ``X`` (rows x states), ``P``, ``E`` (per condition, or rows x
        parameters / extras), ``Q`` (rows x placeholders)."""
        with np.errstate(all="ignore"):
            return self._call(self._f, t, X, P, E, Q, len(t))

    @functools.cached_property
    def _d_all(self) -> Any:
        """The derivatives alone in one generated function, built on first use of :meth:`derivatives`
        (the evaluation path uses :meth:`value_and_derivatives`)."""
        import sympy as sp

        return sp.lambdify(self._args, self._derivs, modules=["numpy"], cse=True)

    def derivatives(self, t, X, P, E, Q) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(d/dX (rows x n_x), d/dP (rows x n_p), d/dE (rows x n_e), d/dQ (rows x n_q))``; arguments as for
        :meth:`value`."""
        n = len(t)
        dX = np.zeros((n, self.n_x))
        dP = np.zeros((n, self.n_p))
        dE = np.zeros((n, len(self.extras)))
        dQ = np.zeros((n, len(self.placeholders)))
        if not self._derivs:
            return dX, dP, dE, dQ
        with np.errstate(all="ignore"):
            vals = self._d_all(t, *X.T, *_columns(P), *_columns(E), *Q.T)
            for k, v in zip(self._d_idx, vals):
                if k < self.n_x:
                    dX[:, k] = v
                elif k < self.n_x + self.n_p:
                    dP[:, k - self.n_x] = v
                elif k < self.n_x + self.n_p + len(self.extras):
                    dE[:, k - self.n_x - self.n_p] = v
                else:
                    dQ[:, k - self.n_x - self.n_p - len(self.extras)] = v
        return dX, dP, dE, dQ


def _rows(out: Any, n: int) -> np.ndarray:
    """A formula's result as a fresh float array of ``n`` rows (constants broadcast)."""
    out = np.asarray(out, dtype=float)
    return out.copy() if out.shape == (n,) else np.full(n, out)


def _columns(A: Any) -> Any:
    """The per-row columns of a rows x k array, or a per-condition vector as it is."""
    return A.T if isinstance(A, np.ndarray) and A.ndim == 2 else A


def parse_formula(text: Any, where: str) -> Any:
    """A PEtab math string (or number) as a sympy expression (``petab.math.sympify_petab``)."""
    from petab.v1.math import sympify_petab

    try:
        return sympify_petab(text)
    except Exception as exc:  # noqa: BLE001 - petab raises plain ValueErrors and sympy errors
        raise PetabError(f"{where}: cannot read formula {text!r} ({exc})") from None

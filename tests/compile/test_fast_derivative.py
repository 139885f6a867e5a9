"""``symbolic.derivative`` (the Jacobian's differentiation without sympy's ``Derivative`` machinery) gives
exactly the expression sympy's ``diff`` gives: same tree (``srepr``), for every built-in model's
right-hand side and observables with respect to every state and parameter, and for the function set
a model may use."""

import pytest
import sympy as sp

import bonemet_ode as bm
from bonemet_ode.compile.symbolic import SymbolicModel, derivative, sparse_jacobian


def _same(a, b) -> bool:
    return sp.srepr(a) == sp.srepr(b)


@pytest.mark.parametrize("name", bm.models.available())
def test_builtin_models_same_tree_as_sympy_diff(name):
    sym = SymbolicModel(bm.models.get(name))
    checked = 0
    for e in list(sym.rhs) + list(sym.observables):
        for s in sorted(e.free_symbols & (set(sym.y) | set(sym.p)), key=str):
            assert _same(derivative(e, s), e.diff(s)), (name, e, s)
            checked += 1
    assert checked > 0


x, y, k, n = sp.symbols("x y k n", real=True)
CASES = [
    k * x / (1 + x), x ** n / (k ** n + x ** n), x ** 2 * y ** 3 - 3 * x / y, sp.exp(-k * x) * sp.log(1 + x * y),
    sp.sqrt(x * y + 1), sp.tanh(k * (x - y)), sp.Min(x, k * y), sp.Max(x * y, 1 - x), sp.Abs(x - y) * x,
    sp.Heaviside(x - k) * y, sp.Piecewise((x ** 2, x > k), (y, True)), x ** x, k ** (x * y), 2.5 * x * (1 - x / k),
    sp.exp(x) ** n, (x + y) ** -2, sp.Float(1e-5) * k * x / (1 + sp.Float(0.3) * y),
]


@pytest.mark.parametrize("expr", CASES, ids=[str(c) for c in CASES])
def test_function_set_same_tree_as_sympy_diff(expr):
    for s in (x, y, k):
        assert _same(derivative(expr, s), expr.diff(s)), (expr, s)


def test_sparse_jacobian_matches_dense_sympy_jacobian():
    from bonemet_ode.models.chain import michaelis_menten_chain

    sym = SymbolicModel(michaelis_menten_chain(6))
    dense = sp.Matrix(list(sym.rhs)).jacobian(sym.y)
    entries = sparse_jacobian(list(sym.rhs), sym.y)
    assert set(entries) == {(i, j) for i in range(6) for j in range(6) if dense[i, j] != 0}
    for (i, j), d in entries.items():
        assert _same(d, dense[i, j])

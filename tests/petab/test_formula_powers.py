"""Whole float exponents in PEtab formulas (``x^2`` reads as ``x**2.0``) differentiate without NaN at 0."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("petab")

from bonemet_ode.petab.formulas import Formula, parse_formula  # noqa: E402


def test_square_of_a_state_has_a_finite_derivative_at_zero():
    expr = parse_formula("(x / c)^2 + x^3", "observableFormula of obs")
    x, c = sorted(expr.free_symbols, key=lambda s: s.name)[1], sorted(expr.free_symbols, key=lambda s: s.name)[0]
    f = Formula(expr, SimpleNamespace(y=[x], p=[c]), [], [])
    X = np.array([[0.0], [0.5], [2.0]])
    P = np.full((3, 1), 4.0)
    v, fx, fp, _fe, _fq = f.value_and_derivatives(np.zeros(3), X, P, np.zeros((3, 0)), np.zeros((3, 0)))
    xs = X[:, 0]
    np.testing.assert_allclose(v, (xs / 4.0) ** 2 + xs ** 3, rtol=1e-15)
    np.testing.assert_allclose(fx[:, 0], 2 * xs / 16.0 + 3 * xs ** 2, rtol=1e-15)  # 0 at x = 0, not NaN
    np.testing.assert_allclose(fp[:, 0], -2 * xs ** 2 / 4.0 ** 3, rtol=1e-15, atol=0.0)


def test_fractional_exponents_are_left_as_they_are():
    expr = parse_formula("x^2.5", "observableFormula of obs")
    (x,) = expr.free_symbols
    f = Formula(expr, SimpleNamespace(y=[x], p=[]), [], [])
    assert f.expr == expr

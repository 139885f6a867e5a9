"""The generated linear algebra of a solver step against numpy.

Every Rosenbrock stage solves ``(fac*I - J(y)) x = b`` with ``fac = 1/(h*gamma)``.  The generated
code does it with a sparse LU in a static minimum-degree order and, for small or loosely coupled
systems, with an explicit inverse formed from those factors (``sparse_lu.py``).  Reference:
``numpy.linalg.solve`` (LAPACK, partial pivoting) on the same matrix built from the compiled
Jacobian.  Tolerance: ``1e-11 * cond`` relative, the forward-error bound of a backward-stable solve
with a safety factor; the explicit inverse is not backward stable, so this is also what the
inverse has to reach.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile.backend import compile_model
from bonemet_ode.compile.sparse_lu import inverse_pattern, use_inverse
from bonemet_ode.compile.symbolic import SymbolicModel
from bonemet_ode.models.registry import get


def _pattern(model: bm.Model) -> tuple[int, set[tuple[int, int]]]:
    J = SymbolicModel(model).jacobian
    n = J.shape[0]
    return n, {(i, j) for i in range(n) for j in range(n) if J[i, j] != 0}


@pytest.mark.parametrize("name", ["perf_reference", "bone_metastasis", "kuznetsov1994"])
def test_iteration_solve_matches_lapack(name):
    model = get(name)
    cm = compile_model(model)
    sim = bm.Simulator(model, days=20.0)
    p = model.parameter_vector()
    rng = np.random.default_rng(7)
    states = sim.run().states
    for y in states[:: max(len(states) // 6, 1)]:
        J = cm.jacobian(y, p)
        for h in (1e-9, 1e-4, 1e-2, 1.0, 30.0, 1e3):
            fac = 1.0 / (h * 0.21193756319429014)
            b = rng.normal(size=len(y)) * (np.abs(y) + 1.0)
            x, path = cm.iteration_solve(y, p, fac, b)
            A = fac * np.eye(len(y)) - J
            ref = np.linalg.solve(A, b)
            cond = np.linalg.cond(A)
            assert path in (0, 1)
            err = np.max(np.abs(x - ref)) / np.max(np.abs(ref))
            assert err <= 1e-11 * cond, (name, h, path, err, cond)


def test_inverse_is_used_where_it_pays_and_its_pattern_is_exact():
    n, pat = _pattern(get("perf_reference"))
    assert use_inverse(n, pat)
    inv = inverse_pattern(n, pat)
    # F, A, P (5, 6, 7) only decay: their rows of the inverse hold just the diagonal
    for i in (5, 6, 7):
        assert {j for (r, j) in inv if r == i} == {i}
    # structural zeros of the inverse are zeros of the numerical inverse at a generic point
    model = get("perf_reference")
    cm = compile_model(model)
    y = np.array([1e6, 1e5, 5e4, 1e4, 0.1, 3.0, 7.0, 2.0])
    A = 50.0 * np.eye(n) - cm.jacobian(y, model.parameter_vector())
    Ainv = np.linalg.inv(A)
    for i in range(n):
        for j in range(n):
            if (i, j) not in inv:
                assert Ainv[i, j] == 0.0
            else:
                assert Ainv[i, j] != 0.0
    n2, pat2 = _pattern(get("bone_metastasis"))
    assert not use_inverse(n2, pat2)  # 26 coupled states: the inverse would be 4.5x a solve's work


def test_singular_iteration_matrix_is_reported():
    growth = bm.Model("singular_growth", [bm.Module("g", states=(bm.State("x", 1.0),),
                                                    parameters=(bm.Parameter("r", 0.5, lower=0.0, upper=10.0),),
                                                    terms=(bm.Term("growth", "r*x", {"x": 1}),))])
    cm = compile_model(growth)
    p = growth.parameter_vector()
    x, path = cm.iteration_solve(np.ones(1), p, 0.5, np.ones(1))  # fac*I - J = 0.5 - 0.5
    assert path == 2 and np.isnan(x).all()
    x, path = cm.iteration_solve(np.ones(1), p, 2.5, np.ones(1))  # 2.5 - 0.5 = 2
    assert path == 0 and x[0] == 0.5


def test_badly_pivoted_2x2_is_solved_to_full_accuracy():
    """``fac*I - J = [[1e-6, 1], [1, 1]]`` at fac = 1 (condition 2.6).  Static diagonal pivoting would
    give a relative error of ~1e-10 (the second pivot grows to 1 - 1e6); the solve must take the
    pivoting path and agree with LAPACK to a few ulps."""
    terms = (bm.Term("ta", "a*x0", {"x0": 1}), bm.Term("tb", "b*x1", {"x0": 1}),
             bm.Term("tc", "c*x0", {"x1": 1}), bm.Term("td", "d*x1", {"x1": 1}))
    pars = tuple(bm.Parameter(n, v, lower=-10.0, upper=10.0) for n, v in
                 (("a", 1.0 - 1e-6), ("b", -1.0), ("c", -1.0), ("d", 1e-300)))
    model = bm.Model("pivot_2x2", [bm.Module("m", states=(bm.State("x0", 1.0, nonnegative=False),
                                                          bm.State("x1", 1.0, nonnegative=False)),
                                             parameters=pars, terms=terms)])
    cm = compile_model(model)
    p = model.parameter_vector()
    y = np.ones(2)
    A = np.eye(2) - cm.jacobian(y, p)
    assert np.allclose(A, [[1e-6, 1.0], [1.0, 1.0]], rtol=1e-12)
    for b in (np.array([1.0, 2.0]), np.array([-3.0, 0.5]), np.array([1e-3, 1e3])):
        x, path = cm.iteration_solve(y, p, 1.0, b)
        ref = np.linalg.solve(A, b)
        assert path == 1
        assert np.max(np.abs(x - ref)) <= 4 * 2.2e-16 * np.max(np.abs(ref))

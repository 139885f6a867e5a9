"""The sparse LU of large models in both its forms against LAPACK and scipy.

Models of more than 64 states factor ``fac*I - J`` with straight-line code in a unit of its own or,
beyond ``codegen.LU_STRAIGHT_MAX_OPS`` operations, by loops over index tables
(``sparse_lu.lu_table_source``).  A reaction-diffusion grid (9 x 9 = 81 states, each coupled to its four
neighbours) has fill-in under minimum-degree elimination, so every part of the tables is used:
pivots updated by earlier ones (growth check), fill entries, rows and columns of several entries.
Reference: ``numpy.linalg.solve`` on the matrix built from the compiled Jacobian, and scipy's
Radau on the grid written in numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import bonemet_ode as bm
from bonemet_ode.compile.backend import compile_model
from bonemet_ode.compile.codegen import LANE_MAX_STATES, generate_units
from bonemet_ode.compile.sparse_lu import elimination_plan
from bonemet_ode.compile.symbolic import SymbolicModel
from bonemet_ode.model import Model, Module, Parameter, State, Term

SIDE = 9


def _grid() -> Model:
    """``u_ab' = D*(sum of neighbours - 4 u_ab)`` on a SIDE x SIDE grid with saturable uptake and a source."""
    name = lambda a, b: f"u{a}_{b}"  # noqa: E731
    states = tuple(State(name(a, b), 1.0 + 0.1 * ((3 * a + 5 * b) % 7), "amount", "cell")
                   for a in range(SIDE) for b in range(SIDE))
    params = [Parameter("D", 0.7, "1/day", 0.0, 1e3, "exchange"),
              Parameter("V", 2.0, "amount/day", 0.0, 1e3, "uptake"),
              Parameter("K", 0.5, "amount", 1e-6, 1e3, "half saturation"),
              Parameter("s", 3.0, "amount/day", 0.0, 1e3, "source")]
    terms = [Term("source", "s", {name(0, 0): 1})]
    for a in range(SIDE):
        for b in range(SIDE):
            terms.append(Term(f"up{a}_{b}", f"V*{name(a, b)}/(K + {name(a, b)})", {name(a, b): -1}))
            if a + 1 < SIDE:
                terms.append(Term(f"dx{a}_{b}", f"D*({name(a, b)} - {name(a + 1, b)})",
                                  {name(a, b): -1, name(a + 1, b): 1}))
            if b + 1 < SIDE:
                terms.append(Term(f"dy{a}_{b}", f"D*({name(a, b)} - {name(a, b + 1)})",
                                  {name(a, b): -1, name(a, b + 1): 1}))
    return Model("grid", [Module("grid", states=states, parameters=tuple(params), terms=tuple(terms))])


@pytest.fixture(scope="module")
def grid():
    return _grid()


@pytest.fixture(params=["tables", "straight-line"])
def lu_form(request, monkeypatch, tmp_path):
    """Build the grid's library with either form of the LU (own cache: the form is not part of the key)."""
    from bonemet_ode.compile import backend, codegen

    monkeypatch.setattr(codegen, "LU_STRAIGHT_MAX_OPS", 0 if request.param == "tables" else 10 ** 9)
    monkeypatch.setenv("BONEMET_ODE_CACHE", str(tmp_path))
    backend.clear_memory_cache()
    yield request.param
    backend.clear_memory_cache()


def test_grid_has_fill_and_updated_pivots(grid):
    n = len(grid.state_names)
    assert n > LANE_MAX_STATES
    pattern = set(SymbolicModel(grid).jacobian_entries)
    _, steps, filled = elimination_plan(n, pattern)
    assert len(filled) > len(pattern | {(i, i) for i in range(n)})  # fill-in
    assert any(k in cols for _, rows, cols in steps for k in rows)  # some pivot is updated by an earlier one


def test_lu_matches_lapack(grid, lu_form):
    units = generate_units(SymbolicModel(grid))
    assert ("static const int bm_lu_tab[" in units[0]) == (lu_form == "tables")
    assert any(u.startswith("/* bm_unit bm_lu */") for u in units) == (lu_form == "straight-line")
    cm = compile_model(grid)
    p = grid.parameter_vector()
    rng = np.random.default_rng(3)
    n = len(grid.state_names)
    for y in (grid.initial_values(), rng.uniform(0.01, 5.0, n)):
        J = cm.jacobian(y, p)
        for h in (1e-6, 1e-2, 1.0, 30.0):
            fac = 1.0 / (h * 0.21193756319429014)
            b = rng.normal(size=n)
            x, path = cm.iteration_solve(y, p, fac, b)
            A = fac * np.eye(n) - J
            ref = np.linalg.solve(A, b)
            assert path == 0  # diagonally dominant: the static order is safe
            err = np.max(np.abs(x - ref)) / np.max(np.abs(ref))
            assert err <= 1e-11 * np.linalg.cond(A), (h, err)


def test_grid_solve_matches_scipy_radau(grid, lu_form):
    times = np.linspace(0.0, 10.0, 11)
    res = bm.Simulator(grid, days=10.0, times=times).run()
    pv = grid.parameter_values()
    D, V, K, s = pv["D"], pv["V"], pv["K"], pv["s"]

    def f(_t, u):
        g = u.reshape(SIDE, SIDE)
        d = -V * g / (K + g)
        fx = D * (g[:-1, :] - g[1:, :])
        d[:-1, :] -= fx
        d[1:, :] += fx
        fy = D * (g[:, :-1] - g[:, 1:])
        d[:, :-1] -= fy
        d[:, 1:] += fy
        d[0, 0] += s
        return d.ravel()

    ref = solve_ivp(f, (0.0, 10.0), grid.initial_values(), method="Radau", t_eval=times, rtol=1e-10, atol=1e-12)
    assert ref.success
    err = np.abs(res.states - ref.y.T) / (1e-6 * np.abs(ref.y.T) + 1e-9)
    assert err.max() < 5.0, err.max()

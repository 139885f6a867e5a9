"""Large forward-sensitivity systems solved block by block (codegen.SENSITIVITY_BLOCKS, solver_core.c BM_SENS_N).

The system ``[x, S_1, ..., S_m]`` has a block lower-triangular Jacobian whose diagonal blocks are all
``df/dx``; beyond ``codegen.LANE_MAX_STATES`` equations the generated code factors only the states' block
and solves block by block (with a dense pivoting fallback of that block).  References: numpy's solve of
the whole matrix built from the compiled Jacobian; the same sensitivities from a library generated with
one LU of the whole system (the generator before); central finite differences of the states.

The model: a closed cycle of saturable conversions (the total is conserved, so ``df/dx`` is singular and
``fac*I - J`` approaches a singular matrix as the step grows, where the static pivot order can fail).
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile import codegen
from bonemet_ode.compile.backend import compile_model
from bonemet_ode.model import Model, Module, Parameter, State, Term

K = 6
TARGETS = tuple(f"V{i}" for i in range(K)) + tuple(f"K{i}" for i in range(K))  # 6 x 13 = 78 equations
TIMES = np.array([0.0, 0.5, 2.0, 10.0, 1e3, 1e6])
TIGHT = bm.SolverOptions(rtol=1e-10, atol=1e-12)


def _cycle() -> Model:
    states = tuple(State(f"x{i}", 1.0 + 0.5 * i) for i in range(K))
    params, terms = [], []
    for i in range(K):
        params += [Parameter(f"V{i}", 1.0 + 0.3 * i), Parameter(f"K{i}", 0.5 + 0.2 * ((3 * i) % K))]
        terms.append(Term(f"conv{i}", f"V{i}*x{i}/(K{i} + x{i})", {f"x{i}": -1, f"x{(i + 1) % K}": 1}))
    return Model("sens_block_cycle", [Module("cycle", states=states, parameters=tuple(params), terms=tuple(terms))])


def test_the_cycle_is_a_blocked_system():
    from bonemet_ode.compile.sensitivity import SensitivitySymbolic
    from bonemet_ode.compile.symbolic import SymbolicModel

    sym = SensitivitySymbolic(SymbolicModel(_cycle()), TARGETS)
    assert len(sym.y) > codegen.LANE_MAX_STATES
    src = codegen.generate_source(sym)
    assert f"#define BM_SENS_N {K}" in src
    assert "#define BM_SENS_N" not in codegen.generate_source(SymbolicModel(_cycle()))


def test_block_iteration_solve_matches_lapack_on_the_whole_system():
    model = _cycle()
    cm = compile_model(model, sensitivities=TARGETS)
    p = model.parameter_vector()
    rng = np.random.default_rng(3)
    n = cm.n_states
    y = np.concatenate([model.initial_values(), rng.normal(size=n - K)])
    J = cm.jacobian(y, p)
    paths = set()
    for h in (1e-6, 1e-2, 1.0, 1e2, 1e6, 1e12):
        fac = 1.0 / (h * 0.21193756319429014)
        b = rng.normal(size=n)
        x, path = cm.iteration_solve(y, p, fac, b)
        A = fac * np.eye(n) - J
        ref = np.linalg.solve(A, b)
        cond = np.linalg.cond(A)
        assert path in (0, 1), (h, path)
        paths.add(path)
        err = np.max(np.abs(x - ref)) / np.max(np.abs(ref))
        assert err <= 1e-11 * cond, (h, path, err, cond)
    assert paths == {0, 1}  # the states' block's sparse LU at small steps, its dense fallback at large ones


def test_block_sensitivities_match_the_whole_system_lu_and_finite_differences(monkeypatch):
    model = _cycle()
    new = bm.Simulator(model, times=TIMES, options=TIGHT, sensitivities=TARGETS).run()
    monkeypatch.setattr(codegen, "SENSITIVITY_BLOCKS", False)
    old = bm.Simulator(model, times=TIMES, options=TIGHT, sensitivities=TARGETS).run()
    monkeypatch.undo()
    for wrt in ("V0", "K3", "V5"):
        for s in ("x0", "x2", "x4"):
            a, b = new.sensitivity(s, wrt), old.sensitivity(s, wrt)
            assert np.allclose(a, b, rtol=1e-6, atol=1e-9), (s, wrt, a, b)
    # central differences of the states (relative step 1e-5; truncation ~1e-10, solver ~1e-10 / 1e-5)
    pv = model.parameter_values()
    for wrt in ("V0", "K3"):
        h = 1e-5 * pv[wrt]
        up = bm.Simulator(model.with_parameters(**{wrt: pv[wrt] + h}), times=TIMES, options=TIGHT).run()
        dn = bm.Simulator(model.with_parameters(**{wrt: pv[wrt] - h}), times=TIMES, options=TIGHT).run()
        for s in ("x0", "x3"):
            fd = (up[s] - dn[s]) / (2 * h)
            assert np.allclose(new.sensitivity(s, wrt), fd, rtol=1e-4, atol=1e-6), (s, wrt)


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])

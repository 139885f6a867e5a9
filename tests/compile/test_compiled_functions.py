"""Generated C right-hand sides, Jacobians and observables against independent evaluations.

References
    * sympy's own evaluation: ``sympy.lambdify`` of ``SymbolicModel(model).rhs`` / ``.jacobian``
      (numpy), i.e. without code generation or the C compiler;
    * central finite differences of the compiled RHS for the Jacobian;
    * plain Python ``eval`` of the observable expression strings (math functions), in
      dependency order, for observables.

Random points (hypothesis draws a seed; the seed reproduces the point)
    * built-in models: a state visited by the model under each of its test arms (days 0-60),
      every component scaled by ``10**U(-0.3, 0.3)``; components that are ~0 along the whole
      trajectory are replaced by ``1e-3`` times the state's typical size (or ``1e-3``).  Far
      outside the reachable region (a fraction at 1e6, a drug 1e6 times its EC50) the
      unsimplified expressions cancel catastrophically and neither code has digits left to compare;
    * the toy model: states log-uniform on [1e-2, 1e4];
    * parameters: defaults times ``10**U(-0.3, 0.3)``, clipped to their bounds; term flags
      from {0, 0.5, 1, 2} (0 is a knockout).

Tolerances (``F_i = sum_j |S_ij v_j|`` is the flux scale of state ``i``; ``v``: term rates)
    * RHS vs sympy: ``|f_C - f_sympy| <= 1e-13 F_i`` -- round-off only; the two codes order
      operations differently (CSE), so sums of cancelling fluxes differ by a few ulps of ``F``.
    * Jacobian vs sympy: ``<= 1e-10 |J| + 1e-13 F_i/|y_j|`` (unsimplified derivatives such as
      ``1/(D+h) - D/(D+h)**2`` lose digits to cancellation in both codes).
    * Jacobian vs central differences (steps ``1e-5 |y_j|`` and ``2e-5 |y_j|``):
      ``<= 1e-5 |J| + 1e-8 F_i/|y_j| + 10 |FD(h) - FD(2h)|``; the last term is the measured
      round-off/truncation noise of the difference quotient itself.
    * Observables vs Python: ``<= 1e-12 |o|``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bonemet_ode as bm
from bonemet_ode import Model, Module, Observable, Parameter, State, Term
from bonemet_ode.compile.backend import compile_model
from bonemet_ode.compile.symbolic import SymbolicModel

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**32 - 1)
MATH = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh, "abs": abs, "min": min, "max": max,
        "pi": math.pi}


def toy_with_observables() -> Model:
    """Chained observables using every allowed function; a rate uses an observable."""
    mod = Module(
        "toy", states=(State("a", 2.0), State("b", 3.0)),
        parameters=(Parameter("k", 0.4), Parameter("h", 5.0), Parameter("g", 0.1)),
        terms=(Term("conv", "k*a*frac/(h + signal)", {"a": -1, "b": 1}),
               Term("back", "g*min(a, b) + g*abs(a - b)/10", {"b": -1, "a": 1}),
               Term("decay", "g*max(a, b)*exp(-a/1000)", {"b": -1})),
        observables=(Observable("signal", "tanh(frac) + sqrt(b) + log(1 + b) + pi/10"),
                     Observable("total", "a + b"),
                     Observable("frac", "a/total")),
    )
    return Model("toy_observables", [mod])


class Evaluators:
    """Compiled and sympy evaluations of one model."""

    def __init__(self, model: Model):
        import sympy as sp

        self.model = model
        self.compiled = compile_model(model)
        sym = SymbolicModel(model)
        self.f = sp.lambdify([sym.y, sym.p], list(sym.rhs), "numpy")
        self.jac = sp.lambdify([sym.y, sym.p], sym.jacobian, "numpy")
        self.rates = sp.lambdify([sym.y, sym.p], sym.rates, "numpy")
        self.S = np.abs(model.stoichiometry())
        self.n, self.npar = len(model.state_names), len(model.parameter_names)
        self.lower = np.array([q.lower for q in model.parameters])
        self.upper = np.array([q.upper for q in model.parameters])
        self.base_points = None

    def flux_scale(self, y, p):
        return self.S @ np.abs(np.asarray(self.rates(y, p), dtype=float))

    def points(self, arms) -> np.ndarray:
        """States visited along the trajectories under ``arms`` (rows), ~0 entries lifted."""
        traj = np.concatenate([bm.simulate(self.model, arm, days=60.0).states for arm in arms])
        typical = np.abs(traj).max(axis=0)
        typical[typical == 0] = 1.0
        return np.where(traj > 1e-6 * typical, traj, 1e-3 * typical)

    def draw(self, seed: int):
        rng = np.random.default_rng(seed)
        n, npar, nterm = self.n, self.npar, len(self.model.term_names)
        if self.base_points is None:
            y = 10.0 ** rng.uniform(-2, 4, n)
        else:
            y = self.base_points[rng.integers(len(self.base_points))] * 10.0 ** rng.uniform(-0.3, 0.3, n)
        p = self.model.parameter_vector().copy()
        base = np.where(p[:npar] > 0, p[:npar], 1.0)
        p[:npar] = np.clip(base * 10.0 ** rng.uniform(-0.3, 0.3, npar), self.lower, self.upper)
        p[npar:] = rng.choice([0.0, 0.5, 1.0, 2.0], nterm)
        return y, p

    def sympy_values(self, y, p):
        """Flux scale, RHS and Jacobian from sympy; ``None`` where sympy itself overflows."""
        with np.errstate(all="ignore"):
            F = self.flux_scale(y, p)
            f = np.asarray(self.f(y, p), dtype=float).ravel()
            J = np.asarray(self.jac(y, p), dtype=float).reshape(self.n, self.n)
        if not (np.all(np.isfinite(F)) and np.all(np.isfinite(f)) and np.all(np.isfinite(J))):
            return None
        return F, f, J


_EVALUATORS: dict[str, Evaluators] = {}


def evaluators(name: str, arms_for=None) -> Evaluators:
    if name not in _EVALUATORS:
        if name == "toy":
            ev = Evaluators(toy_with_observables())
        else:
            ev = Evaluators(bm.models.get(name))
            ev.base_points = ev.points(arms_for(name))
        _EVALUATORS[name] = ev
    return _EVALUATORS[name]


CASES = ["kuznetsov1994", "pk_one_compartment", "perf_reference", "bone_metastasis", "toy"]


@pytest.mark.parametrize("name", CASES)
@PROPERTY
@given(seed=SEEDS)
def test_rhs_equals_sympy(name, seed, arms_for):
    ev = evaluators(name, arms_for)
    y, p = ev.draw(seed)
    ref = ev.sympy_values(y, p)
    assume(ref is not None)
    F, want, _ = ref
    got = ev.compiled.rhs(y, p)
    bound = 1e-13 * F
    assert np.all(np.abs(got - want) <= bound), np.max(np.abs(got - want) / (bound + 1e-300))


@pytest.mark.parametrize("name", CASES)
@PROPERTY
@given(seed=SEEDS)
def test_jacobian_equals_sympy(name, seed, arms_for):
    ev = evaluators(name, arms_for)
    y, p = ev.draw(seed)
    ref = ev.sympy_values(y, p)
    assume(ref is not None)
    F, _, want = ref
    got = ev.compiled.jacobian(y, p)
    tol = 1e-10 * np.abs(want) + 1e-13 * F[:, None] / y[None, :]
    assert np.all(np.abs(got - want) <= tol), np.max(np.abs(got - want) / (tol + 1e-300))


def central_differences(compiled, y, p, rel_step):
    n = len(y)
    out = np.empty((n, n))
    for j in range(n):
        up, down = y.copy(), y.copy()
        up[j] += rel_step * y[j]
        down[j] -= rel_step * y[j]
        out[:, j] = (compiled.rhs(up, p) - compiled.rhs(down, p)) / (up[j] - down[j])
    return out


@pytest.mark.parametrize("name", CASES)
@PROPERTY
@given(seed=SEEDS)
def test_jacobian_equals_central_differences(name, seed, arms_for):
    ev = evaluators(name, arms_for)
    y, p = ev.draw(seed)
    if name == "toy":  # keep the differences away from the kinks of min, max and abs
        assume(abs(y[0] - y[1]) > 1e-3 * max(y))
    ref = ev.sympy_values(y, p)
    assume(ref is not None)
    F = ref[0]
    J = ev.compiled.jacobian(y, p)
    fd1 = central_differences(ev.compiled, y, p, 1e-5)
    fd2 = central_differences(ev.compiled, y, p, 2e-5)
    tol = 1e-5 * np.abs(J) + 1e-8 * F[:, None] / y[None, :] + 10.0 * np.abs(fd1 - fd2)
    assert np.all(np.abs(fd1 - J) <= tol), np.max(np.abs(fd1 - J) / (tol + 1e-300))


def python_observables(model: Model, y, p) -> np.ndarray:
    env = dict(MATH)
    env.update(zip(model.state_names, map(float, y)))
    env.update(zip(model.parameter_names, map(float, p[: len(model.parameter_names)])))
    out = []
    for obs in model.observables:  # dependency order
        env[obs.name] = eval(obs.expr, {"__builtins__": {}}, env)  # noqa: S307 - test reference
        out.append(env[obs.name])
    return np.array(out, dtype=float)


@pytest.mark.parametrize("name", ["bone_metastasis", "toy"])
@PROPERTY
@given(seed=SEEDS)
def test_observables_equal_python_evaluation(name, seed, arms_for):
    ev = evaluators(name, arms_for)
    assert ev.model.observables, "test needs a model with observables"
    y, p = ev.draw(seed)
    got = ev.compiled.observables(y, p)
    want = python_observables(ev.model, y, p)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def test_observables_in_simulation_results():
    model = toy_with_observables()
    res = bm.simulate(model, days=5.0)
    p = model.parameter_vector()
    want = np.array([python_observables(model, row, p) for row in res.states])
    for k, name in enumerate(model.observable_names):
        np.testing.assert_allclose(res[name], want[:, k], rtol=1e-12)


@pytest.mark.parametrize("name", [n for n in bm.models.available() if bm.models.get(n).observables])
def test_observables_of_builtin_models_in_results(name):
    model = bm.models.get(name)
    res = bm.simulate(model, days=10.0)
    p = model.parameter_vector()
    want = np.array([python_observables(model, row, p) for row in res.states])
    np.testing.assert_allclose(res.observables, want, rtol=1e-12, atol=1e-300)


def test_knockout_flag_removes_exactly_its_term(arms_for):
    ev = evaluators("perf_reference", arms_for)
    y = ev.model.initial_values() + 1.0
    p = ev.model.parameter_vector()
    full = ev.compiled.rhs(y, p)
    v = np.asarray(ev.rates(y, p), dtype=float)
    S = ev.model.stoichiometry()
    for j, term in enumerate(ev.model.term_names):
        q = ev.model.with_knockout(term).parameter_vector()
        assert q[ev.npar + j] == 0.0 and np.sum(q[ev.npar:] == 0.0) == 1
        np.testing.assert_allclose(ev.compiled.rhs(y, q), full - S[:, j] * v[j], rtol=1e-13,
                                   atol=1e-13 * np.max(np.abs(S) @ np.abs(v)))


def test_shape_errors():
    cm = compile_model(bm.models.get("kuznetsov1994"))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        cm.rhs(np.ones(3), np.ones(cm.n_params))
    with pytest.raises(ValueError, match=r"p must have shape"):
        cm.jacobian(np.ones(2), np.ones(2))


def test_stats_dict_names_the_counters_in_order():
    from bonemet_ode.compile.library import STATS_NAMES, stats_dict

    assert stats_dict([10, 9, 1, 80, 10, 11, 2]) == dict(zip(STATS_NAMES, [10, 9, 1, 80, 10, 11, 2]))


def test_single_solver_constant_inputs_are_read_only_and_other_inputs_are_copied_in():
    """``constant_inputs``: the declared arrays become read-only and are copied in once per thread;
    any other array is copied in at every call (a changed input changes the result)."""
    import bonemet_ode as bm
    from bonemet_ode.models.reference import perf_reference, perf_reference_combination_arm

    sim = bm.Simulator(perf_reference(), perf_reference_combination_arm(), 60.0, np.linspace(0, 60, 7))
    y0, p = sim.initial_state(), sim.parameters()[0]
    assert not y0.flags.writeable and not p.flags.writeable
    base = sim.run().states
    other = p.copy()
    other[sim.model.parameter_index("r")] *= 1.1
    faster = sim._single.solve(y0, other)[0]
    assert faster[-1, 0] > base[-1, 0] * 1.01
    other[sim.model.parameter_index("r")] = p[sim.model.parameter_index("r")]  # same array, changed in place
    np.testing.assert_array_equal(sim._single.solve(y0, other)[0], base)
    np.testing.assert_array_equal(sim.run().states, base)  # the constants are copied in again after `other`

"""Code specialised to the exponent parameters' values (compile/exponents.py, codegen.SPECIALISE_EXPONENTS).

The reference is the same model compiled without the specialisation (every power through ``pow`` or
``exp``/``log``): at the specialised values the two agree to a few ulp (NaN and infinities where
``pow`` gives them); at any other value the specialised library runs its generic form, whose numbers
are those of the unspecialised library bit for bit; and a cohort mixing both kinds of member gives
each member its single solve's numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile import backend, codegen
from bonemet_ode.compile.exponents import exponent_parameters, specialised_exponents
from bonemet_ode.compile.lanes import DEFAULT_LANES
from bonemet_ode.compile.symbolic import SymbolicModel


def _model(n: float = 2.5, g: float = -0.5, h: float = 1.3):
    """Hill and power-law terms whose exponents are parameters: n (Hill), g and h (a product of powers)."""
    from bonemet_ode import Model, Module, Parameter, State, Term

    mod = Module(
        "powers", states=(State("x", 1.0), State("z", 2.0)),
        parameters=(Parameter("n", n, lower=-10.0, upper=10.0), Parameter("K", 3.0, upper=1e3),
                    Parameter("g", g, lower=-10.0, upper=10.0), Parameter("h", h, lower=-10.0, upper=10.0),
                    Parameter("k", 0.4, upper=10.0), Parameter("d", 0.3, upper=10.0)),
        terms=(Term("hill", "k*x**n/(K**n + x**n)", {"z": 1}),
               Term("prod", "k*x**(g + 1)*z**h/10", {"x": -1}),
               Term("source", "k", {"x": 1}),
               Term("decay", "d*z", {"z": -1})))
    return Model("powers_spec", [mod])


def test_exponent_parameters_are_read_from_the_expressions():
    m = _model()
    assert exponent_parameters(m) == ("n", "g", "h")
    assert specialised_exponents(m) == {"n": 2.5, "g": -0.5}  # h = 1.3 is no small (half-)integer
    assert specialised_exponents(m.with_parameters(n=6.0, h=-4.0)) == {"g": -0.5, "h": -4.0}  # |6| > 4
    assert specialised_exponents(m.with_parameters(n=0.3, g=0.25)) == {}
    assert specialised_exponents(bm.models.get("bone_metastasis")) == {
        "g11": 0.5, "g21": -0.5, "g12": 1.0, "g22": 0.0, "n_mech": 4.0}


def test_the_cache_key_follows_the_specialised_values_only():
    m = _model()
    key = backend._cache_key(m)
    assert backend._cache_key(m.with_parameters(k=0.9)) == key  # not an exponent
    assert backend._cache_key(m.with_parameters(h=1.7)) == key  # an exponent, specialised to neither value
    assert backend._cache_key(m.with_parameters(n=2.0)) != key


def test_the_specialised_form_has_no_transcendental_calls():
    src = codegen.generate_source(SymbolicModel(_model(h=1.0)), lanes=False)
    spec = src[src.index("static void bm_rhs_s("):]
    spec = spec[:spec.index("\n}\n")]
    assert "bm_log" not in spec and "bm_exp" not in spec and "pow" not in spec and "sqrt(y[0])" in spec
    generic = src[src.index("static void bm_rhs_g("):]
    assert "BM_POWLOG(" in generic[:generic.index("\n}\n")]
    assert "p[0] == 2.5 && p[2] == -0.5 && p[3] == 1.0) ? 1.0 : 0.0;" in src


def _unspecialised(model, monkeypatch):
    monkeypatch.setattr(codegen, "SPECIALISE_EXPONENTS", False)
    cm = backend.compile_model(model)
    monkeypatch.undo()
    return cm


#: Where no power of x (|exponent| <= 5) overflows or underflows: between there, the two forms may round to
#: 0 or inf at different points (a combined x**(2n-1) against separate factors).
X_POINTS = [0.0, 1e-12, 0.5, 3.0, 1e6, 1e30, -1e-12, -2.0, float("nan"), float("inf")]


@pytest.mark.parametrize("values", [dict(n=2.5, g=-0.5), dict(n=1.0, g=0.0), dict(n=4.0, g=-3.5),
                                    dict(n=0.0, g=1.5), dict(n=-1.0, g=-4.0)])
def test_specialised_values_agree_with_pow(values, monkeypatch):
    """RHS and Jacobian at zero, tiny, large, negative, NaN and infinite x: the specialised code against the
    unspecialised one, NaN and infinities where it has them, finite values to a few ulp (the Jacobian far
    beyond K is left out: round-off in both)."""
    model = _model(**values)
    cm = backend.compile_model(model)
    assert "bm_rhs_s" in cm.path.with_suffix(".c").read_text()
    ref_cm = _unspecialised(model, monkeypatch)
    p = model.parameter_vector()
    checked = 0
    for x in X_POINTS:
        for z in (2.0, 0.0, 1e-200):
            y = np.array([x, z])
            got = np.concatenate([cm.rhs(y, p), cm.jacobian(y, p).ravel()])
            ref = np.concatenate([ref_cm.rhs(y, p), ref_cm.jacobian(y, p).ravel()])
            for k, (r, g) in enumerate(zip(ref, got)):
                if k >= 2 and 1e2 < abs(x) < np.inf:
                    continue  # the Hill derivative beyond K: a cancellation, round-off ~1e-16 (x/K)**n in both
                if np.isnan(r) and not np.isnan(g) and values["n"] == 0 and k >= 2:
                    assert g == 0, (x, z, values, r, g)  # d(x**0)/dx: pow's form has 0*x**-1, NaN at 0 and NaN
                    continue
                if np.isnan(r) and not np.isnan(g):
                    # a removable singularity at x = 0 that pow's form keeps (inf/inf for x**-1/(K**-1 + x**-1)):
                    # the specialised value is the limit
                    assert x == 0, (x, z, values, r, g)
                    near = np.concatenate([ref_cm.rhs(np.array([1e-150, z]), p),
                                           ref_cm.jacobian(np.array([1e-150, z]), p).ravel()])[k]
                    assert g == pytest.approx(near, rel=1e-9, abs=1e-12), (x, z, values, near, g)
                elif np.isnan(r):
                    assert np.isnan(g), (x, z, values, r, g)
                elif np.isinf(r):
                    assert g == r, (x, z, values, r, g)
                else:
                    assert g == pytest.approx(r, rel=1e-13, abs=1e-300), (x, z, values, r, g)
                    checked += 1
    assert checked > 40


def test_other_values_run_the_generic_form_bit_for_bit(monkeypatch):
    model = _model()
    cm, ref_cm = backend.compile_model(model), _unspecialised(model, monkeypatch)
    rng = np.random.default_rng(3)
    p = model.parameter_vector()
    for _ in range(20):
        q = p.copy()
        q[0] = 2.5 * (1 + 1e-12 * rng.standard_normal())  # n off its specialised value by an ulp or so
        y = np.exp(rng.normal(size=2))
        np.testing.assert_array_equal(cm.rhs(y, q), ref_cm.rhs(y, q))
        np.testing.assert_array_equal(cm.jacobian(y, q), ref_cm.jacobian(y, q))


def test_solves_agree_with_the_unspecialised_library(monkeypatch):
    """bone_metastasis's last default arm over 60 days, at rtol 1e-10: the two libraries' trajectories agree
    to 1e-7 (the specialised one differs by rounding only)."""
    from bonemet_ode.models.bone_metastasis import default_arms

    model, arm = bm.models.get("bone_metastasis"), default_arms()[-1]
    times = np.linspace(0, 60, 61)
    opts = bm.SolverOptions(rtol=1e-10, atol=1e-12)
    spec = bm.Simulator(model, arm, 60.0, times, opts).run()
    monkeypatch.setattr(codegen, "SPECIALISE_EXPONENTS", False)
    generic = bm.Simulator(model, arm, 60.0, times, opts).run()
    monkeypatch.undo()
    scale = np.abs(generic.states).max(axis=0) + 1e-12
    assert np.max(np.abs(spec.states - generic.states) / scale) < 1e-7


def test_a_cohort_mixing_both_forms_gives_each_member_its_single_solve():
    """Members at the specialised exponents and members off them in the same lanes: bit-identical to solving
    each alone (each lane takes the form its own parameters name)."""
    model = _model()
    arm = bm.Arm("bolus", doses=(bm.Dose("x", 0.5, every=2.0, start=1.0),))
    sim = bm.Simulator(model, arm, 10.0, np.linspace(0, 10, 11), bm.SolverOptions(rtol=1e-8, atol=1e-10))
    n = 2 * DEFAULT_LANES + 3
    P = np.tile(model.parameter_vector(), (n, 1))
    rng = np.random.default_rng(11)
    P[:, model.parameter_names.index("k")] *= np.exp(0.2 * rng.standard_normal(n))
    off = rng.random(n) < 0.4
    P[off, model.parameter_names.index("g")] = -0.45
    assert 0 < off.sum() < n
    Y0 = np.tile(sim.initial_state(), (n, 1))
    Y, _, stats, status, _, _ = sim.solve(P, Y0)
    for k in range(n):
        params = {nm: P[k, i] for i, nm in enumerate(model.parameter_names)}
        one = sim.run(params, check=False)
        np.testing.assert_array_equal(Y[k], one.states, err_msg=f"member {k}")
        assert int(status[k]) == one.status == 0

"""Built-in models against published numbers and an independent solver.

Kuznetsov et al. (1994), BIOMD0000000762
    Steady states are found with ``scipy.optimize.fsolve`` on the compiled RHS of the
    dimensional model (cells, days) and compared, in the paper's units (x = E/1e6,
    y = T/1e6), with
      * the roots of the steady-state polynomial, derived by hand from the BioModels
        parameter values written out below (tolerance 1e-8 relative);
      * the published values -- dormant focus (1.609, 8.190), saddles (0.3155, 0) and
        (0.7598, 267.80), escape node (0.1730, 447.13).  With the model's BioModels
        parameters they agree to 2e-3 relative (the paper computed them from its rounded
        nondimensional parameters sigma=0.1181, rho=1.131, eta=20.19, mu=0.00311,
        delta=0.3743, alpha=1.636, beta=0.002; the largest difference, 1.7e-3, is x of the
        upper saddle); with those rounded parameters put into the model they agree to 1e-3.
    Stability from the eigenvalues of the compiled Jacobian.

Every built-in model under its test arms (``conftest.builtin_arms``: all of
``bone_metastasis.default_arms()``, perf_reference's combination arm) against scipy Radau at
rtol 1e-10 (``reference_solve`` in conftest: sympy-lambdified RHS, restarted at each dose):
    * engine at rtol 1e-8: ``|y - ref| <= 1e-5 |ref| + 1e-8 max_t |ref_i|``;
    * engine at the default rtol 1e-6 (the performance.md target): ``<= 1e-4 |ref| + 1e-8 max_t |ref_i|``.
    The absolute part (1e-8 of the state's own largest value) covers states that pass near 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import fsolve

import bonemet_ode as bm
from bonemet_ode.compile.backend import compile_model

BUILTINS = ("kuznetsov1994", "pk_one_compartment", "perf_reference", "bone_metastasis")

# BIOMD0000000762 parameter values (dimensional: cells, days)
KUZNETSOV = dict(s=1.3e4, p=0.1245, g=2.019e7, m=3.422e-10, d=0.0412, a=0.18, b=2.0e-9, n=1.101e-7)
PAPER_NONDIM = dict(sigma=0.1181, rho=1.131, eta=20.19, mu=0.00311, delta=0.3743, alpha=1.636, beta=0.002)
PUBLISHED = {  # (x, y) in units of 1e6 cells, and the expected kind
    "dormant focus": ((1.609, 8.190), "stable focus"),
    "tumour-free saddle": ((0.3155, 0.0), "saddle"),
    "upper saddle": ((0.7598, 267.80), "saddle"),
    "escape node": ((0.1730, 447.13), "stable node"),
}


def test_registry_lists_the_builtin_models():
    assert set(BUILTINS) <= set(bm.models.available())
    assert set(bm.models.describe()) == set(bm.models.available())
    with pytest.raises(bm.UnknownNameError, match="'kuznetsov'"):
        bm.models.get("kuznetsov")


def test_builtin_model_is_well_formed(builtin_name):
    model = bm.models.get(builtin_name)
    assert model.name == builtin_name
    cm = compile_model(model)
    assert cm.n_states == len(model.state_names)
    y0 = model.initial_values()
    assert np.all(np.isfinite(y0)) and np.all(y0[[s.nonnegative for s in model.states]] >= 0)
    assert np.all(np.isfinite(cm.rhs(y0, model.parameter_vector())))
    table = model.parameter_table()
    assert list(table["name"]) == list(model.parameter_names)
    assert all(p.lower <= p.value <= p.upper for p in model.parameters)


def test_bone_metastasis_default_arms_are_usable(arms_for):
    from bonemet_ode.models.bone_metastasis import default_arms

    model = bm.models.get("bone_metastasis")
    arms = default_arms()
    assert arms and len({a.name for a in arms}) == len(arms)
    for arm in arms:
        arm.apply(model)  # every dose targets a state of the model
    assert [a.name for a in arms_for("bone_metastasis")] == [a.name for a in arms]


# ------------------------------------------------------------------------------------------------ Kuznetsov
def nondimensional(values=KUZNETSOV):
    v, scale = values, 1e6
    return dict(sigma=v["s"] / (v["n"] * scale * scale), rho=v["p"] / (v["n"] * scale), eta=v["g"] / scale,
                mu=v["m"] / v["n"], delta=v["d"] / (v["n"] * scale), alpha=v["a"] / (v["n"] * scale),
                beta=v["b"] * scale)


def dimensional(nd, n=KUZNETSOV["n"]):
    scale = 1e6
    return dict(s=nd["sigma"] * n * scale * scale, p=nd["rho"] * n * scale, g=nd["eta"] * scale, m=nd["mu"] * n,
                d=nd["delta"] * n * scale, a=nd["alpha"] * n * scale, b=nd["beta"] / scale, n=n)


def steady_states_by_hand(nd) -> list[tuple[float, float]]:
    """x' = sigma + rho x y/(eta + y) - mu x y - delta x, y' = alpha y (1 - beta y) - x y.

    y = 0 gives x = sigma/delta; otherwise x = alpha (1 - beta y) and multiplying x' = 0 by
    (eta + y) leaves a cubic in y.
    """
    from numpy.polynomial import polynomial as P

    x = np.array([nd["alpha"], -nd["alpha"] * nd["beta"]])  # x(y), coefficients in y
    cubic = P.polyadd(
        P.polyadd(nd["sigma"] * np.array([nd["eta"], 1.0]), nd["rho"] * P.polymul(x, [0.0, 1.0])),
        P.polyadd(-nd["mu"] * P.polymul(P.polymul(x, [0.0, 1.0]), [nd["eta"], 1.0]),
                  -nd["delta"] * P.polymul(x, [nd["eta"], 1.0])))
    roots = np.sort(P.polyroots(cubic).real[np.abs(P.polyroots(cubic).imag) < 1e-12])
    return [(nd["sigma"] / nd["delta"], 0.0)] + [(nd["alpha"] * (1 - nd["beta"] * y), y) for y in roots if y > 0]


def find_steady_state(cm, p, guess):
    y0 = np.array(guess, dtype=float) * 1e6
    sol, info, ier, msg = fsolve(lambda y: cm.rhs(y, p), y0, fprime=lambda y: cm.jacobian(y, p), full_output=True,
                                 xtol=1e-13)
    # the residual decides: at 1e-13 fsolve may also stop for lack of progress (ier 5) once the RHS is at
    # its rounding floor, which depends on whether the host's build fuses multiply-adds
    assert ier in (1, 5), msg
    assert np.all(np.abs(cm.rhs(sol, p)) <= 1e-6 * (KUZNETSOV["s"] + np.abs(sol) * 1.0)), msg
    return sol


def kind_of(eigenvalues) -> str:
    re = eigenvalues.real
    if np.any(re > 0) and np.any(re < 0):
        return "saddle"
    if np.all(re < 0):
        return "stable focus" if np.any(np.abs(eigenvalues.imag) > 0) else "stable node"
    return "unstable"


@pytest.fixture(scope="module")
def kuznetsov():
    model = bm.models.get("kuznetsov1994")
    assert model.parameter_values() == KUZNETSOV
    assert dict(zip(model.state_names, model.initial_values())) == {"E": 3.2e5, "T": 5e6}
    return model


def test_kuznetsov_nondimensional_parameters_match_the_paper():
    nd = nondimensional()
    for k, v in PAPER_NONDIM.items():
        assert nd[k] == pytest.approx(v, rel=2e-3), k  # the paper rounds to 3-4 digits


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_kuznetsov_steady_states(kuznetsov, name):
    (x, y), kind = PUBLISHED[name]
    cm = compile_model(kuznetsov)
    p = kuznetsov.parameter_vector()
    sol = find_steady_state(cm, p, (x, y))
    found = sol / 1e6
    # the same steady state from the hand-derived cubic (independent of the engine)
    exact = min(steady_states_by_hand(nondimensional()), key=lambda s: abs(s[0] - x) + abs(s[1] - y) / 100)
    np.testing.assert_allclose(found, exact, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(found, (x, y), rtol=2e-3, atol=1e-9)  # published, BioModels parameters
    assert kind_of(np.linalg.eigvals(cm.jacobian(sol, p))) == kind


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_kuznetsov_steady_states_with_the_papers_rounded_parameters(kuznetsov, name):
    (x, y), kind = PUBLISHED[name]
    model = kuznetsov.with_parameters(dimensional(PAPER_NONDIM))
    cm = compile_model(model)
    p = model.parameter_vector()
    sol = find_steady_state(cm, p, (x, y))
    np.testing.assert_allclose(sol / 1e6, (x, y), rtol=1e-3, atol=1e-9)
    assert kind_of(np.linalg.eigvals(cm.jacobian(sol, p))) == kind


def test_kuznetsov_trajectory_spirals_into_the_dormant_state(kuznetsov):
    cm = compile_model(kuznetsov)
    p = kuznetsov.parameter_vector()
    focus = find_steady_state(cm, p, PUBLISHED["dormant focus"][0])
    lam = np.linalg.eigvals(cm.jacobian(focus, p))
    t = np.linspace(0.0, 3000.0, 12001)
    res = bm.simulate(kuznetsov, times=t, rtol=1e-8)
    dev = res["T"] - focus[1]
    crossings = t[1:][np.sign(dev[1:]) != np.sign(dev[:-1])]
    assert len(crossings) >= 20  # T oscillates around the dormant level
    # crossings are half a period of the linearisation apart once near the focus
    half_period = np.pi / abs(lam[0].imag)
    late = np.diff(crossings[crossings > 1000.0])
    np.testing.assert_allclose(late, half_period, rtol=0.05)
    # |T - T*| peaks of one sign shrink by exp(Re(lambda) * period) per period (the half-cycles above
    # and below T* differ by the nonlinearity, so peaks are compared two apart); measured on days
    # 1000-2500, where the linearisation holds (amplitude < 1e5 cells) and the amplitude is still far
    # above the solver error (> 30 cells against ~0.1)
    segments = list(zip(crossings[:-1], crossings[1:]))
    peaks = np.array([np.max(np.abs(dev[(t >= a) & (t < b)])) for a, b in segments])
    assert np.all(peaks[2:] < peaks[:-2])
    mid = np.array([0.5 * (a + b) for a, b in segments])
    window = np.flatnonzero((mid > 1000.0) & (mid < 2500.0))
    first, last = window[0], window[0] + 2 * ((len(window) - 1) // 2)
    periods = (last - first) // 2
    per_period = (peaks[last] / peaks[first]) ** (1.0 / periods)
    assert per_period == pytest.approx(np.exp(lam[0].real * 2 * half_period), rel=5e-3)
    np.testing.assert_allclose(res.states[-1], focus, rtol=1e-4)


# ------------------------------------------------------------------------------------------------ vs Radau
def assert_matches(actual, reference, rel, names, what):
    scale = np.abs(reference).max(axis=0)
    bound = rel * np.abs(reference) + 1e-8 * scale
    err = np.abs(actual - reference)
    ratio = err / np.where(bound > 0, bound, 1e-300)
    i, j = np.unravel_index(np.argmax(ratio), ratio.shape)
    assert np.all(err <= bound), (f"{what}: state {names[j]!r} output {i}: {actual[i, j]!r} vs reference "
                                  f"{reference[i, j]!r} (|err| {err[i, j]:.3e} > {bound[i, j]:.3e})")


def test_builtin_models_agree_with_scipy_radau(builtin_case, reference_solve):
    name, arm = builtin_case
    model = bm.models.get(name)
    if model.events:
        # the Radau reference does not execute state events (bone_metastasis: extinction of the seeded pool
        # at ~day 34): compare the same equations without them; events against scipy's terminal events are
        # tested in tests/simulate/test_events.py
        from bonemet_ode.model import Model

        model = Model(model.name, list(model.modules), description=model.description)
        assert not model.events
    times = np.linspace(0.0, 60.0, 61)
    ref = reference_solve(model, arm, times, rtol=1e-10, atol=1e-12)
    tight = bm.simulate(model, arm, times=times, rtol=1e-8)
    assert_matches(tight.states, ref, 1e-5, model.state_names, f"{name} / {arm.name}, rtol 1e-8")
    default = bm.simulate(model, arm, times=times)
    assert_matches(default.states, ref, 1e-4, model.state_names, f"{name} / {arm.name}, default rtol")


@pytest.fixture(scope="module")
def perf_reference_solution(reference_solve):
    from bonemet_ode.models.reference import perf_reference_combination_arm

    model = bm.models.get("perf_reference")
    arm = perf_reference_combination_arm()
    times = np.linspace(0.0, 60.0, 61)
    return model, arm, times, reference_solve(model, arm, times, rtol=1e-10, atol=1e-12)


def test_perf_reference_T60_matches_the_published_value(perf_reference_solution):
    model, arm, times, ref = perf_reference_solution
    published = 7.660515e8  # performance.md, scipy Radau rtol 1e-10, atol 1e-12
    assert ref[-1, model.state_index("T")] == pytest.approx(published, rel=1e-6)  # our reference
    res = bm.simulate(model, arm, times=times, rtol=1e-6, atol=1e-9)  # the benchmark's settings
    assert res["T"][-1] == pytest.approx(published, rel=1e-5)


def test_perf_reference_arm_is_the_specified_one():
    from bonemet_ode.models.reference import perf_reference_combination_arm

    arm = perf_reference_combination_arm()
    got = {(d.target, d.amount, d.every, d.start) for d in arm.doses}
    assert got == {("F", 5.0, 7.0, 7.0), ("A", 10.0, 7.0, 7.0), ("P", 10.0, 3.0, 7.0)}
    assert all(d.duration is None and d.stop is None for d in arm.doses)

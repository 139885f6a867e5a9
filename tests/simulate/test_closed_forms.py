"""The compiled solver against closed-form solutions.

References are analytic (no solver involved):

* exponential growth ``x' = r x``: ``x0 exp(r t)``;
* logistic growth ``T' = r T (1 - T/K)``: ``K T0 / (T0 + (K - T0) exp(-r t))``;
* one-compartment PK ``A' = -k A + u(t)`` (``pk_one_compartment``, ``k = k_el = 0.5/day``):
  a bolus ``D`` at ``ti`` adds ``D exp(-k (t - ti))`` for ``t >= ti``; a zero-order
  infusion of ``D`` over ``tau`` (rate ``R = D/tau``) adds ``R/k (1 - exp(-k (t - ti)))``
  during it and ``R/k (1 - exp(-k tau)) exp(-k (t - ti - tau))`` after it; overlapping
  administrations superpose (the system is linear).

Tolerances (written once here, used below)
    * ``rtol=1e-8`` (atol 1e-9 default): every output within ``1e-6 |exact| + 1e-12``;
    * default ``rtol=1e-6``: every output within ``1e-5 |exact| + 1e-12``.
    The absolute ``1e-12`` only matters before the first dose, where the exact value is 0.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode import Arm, Dose, Model, Module, Parameter, State, Term, simulate

K_EL = 0.5  # 1/day, default of pk_one_compartment
TOL = {1e-8: 1e-6, 1e-6: 1e-5}  # solver rtol -> accepted relative error
ABS = 1e-12


def assert_close(actual, exact, rel, what=""):
    actual, exact = np.asarray(actual), np.asarray(exact)
    err = np.abs(actual - exact)
    bound = rel * np.abs(exact) + ABS
    worst = int(np.argmax(err / bound))
    assert np.all(err <= bound), (
        f"{what}: |error| {err[worst]:.3e} > {bound[worst]:.3e} at output {worst} "
        f"(value {actual[worst]!r}, exact {exact[worst]!r})"
    )


def bolus_exact(t, times, amount, k=K_EL):
    t = np.asarray(t, dtype=float)[:, None]
    ti = np.asarray(times, dtype=float)[None, :]
    return np.where(t >= ti, amount * np.exp(-k * (t - ti)), 0.0).sum(axis=1)


def infusion_exact(t, starts, amount, tau, k=K_EL):
    t = np.asarray(t, dtype=float)[:, None]
    ti = np.asarray(starts, dtype=float)[None, :]
    rate = amount / tau
    during = (t >= ti) & (t <= ti + tau)
    after = t > ti + tau
    inside = np.where(during, rate / k * (1.0 - np.exp(-k * (t - ti))), 0.0)
    post = np.where(after, rate / k * (1.0 - np.exp(-k * tau)) * np.exp(-k * (t - ti - tau)), 0.0)
    return (inside + post).sum(axis=1)


@pytest.fixture(scope="module")
def pk():
    model = bm.models.get("pk_one_compartment")
    assert model.parameter("k_el").value == K_EL
    return model


@pytest.fixture(scope="module")
def exp_growth():
    return Model("exp_growth", [Module("growth", states=(State("x", 2.0),), parameters=(Parameter("r", 0.2),),
                                       terms=(Term("prolif", "r*x", {"x": 1}),))])


@pytest.fixture(scope="module")
def logistic():
    return Model("logistic", [Module("growth", states=(State("T", 1e3),),
                                     parameters=(Parameter("r", 0.3), Parameter("K", 1e6)),
                                     terms=(Term("growth", "r*T*(1 - T/K)", {"T": 1}),))])


# ------------------------------------------------------------------------------------------------ growth
@pytest.mark.parametrize("rtol", sorted(TOL))
def test_exponential_growth(exp_growth, rtol):
    t = np.linspace(0.0, 40.0, 161)
    res = simulate(exp_growth, times=t, rtol=rtol)
    assert_close(res["x"], 2.0 * np.exp(0.2 * t), TOL[rtol], f"exponential, rtol={rtol}")


@pytest.mark.parametrize("rtol", sorted(TOL))
def test_logistic_growth(logistic, rtol):
    t = np.linspace(0.0, 80.0, 321)
    res = simulate(logistic, times=t, rtol=rtol)
    exact = 1e6 * 1e3 / (1e3 + (1e6 - 1e3) * np.exp(-0.3 * t))
    assert_close(res["T"], exact, TOL[rtol], f"logistic, rtol={rtol}")


def test_parameter_overrides_enter_the_solution(logistic):
    t = np.linspace(0.0, 30.0, 31)
    res = simulate(logistic, times=t, params={"r": 0.5, "K": 2e5}, rtol=1e-8)
    assert_close(res["T"], 2e5 * 1e3 / (1e3 + (2e5 - 1e3) * np.exp(-0.5 * t)), 1e-6, "overridden r, K")
    assert res.params["r"] == 0.5 and res.params["K"] == 2e5


# ------------------------------------------------------------------------------------------------ dense output
def test_dense_output_between_steps(exp_growth):
    """5001 outputs on 50 days, far more than steps: every interpolated value meets the tolerance."""
    t = np.linspace(0.0, 50.0, 5001)
    res = simulate(exp_growth, times=t, rtol=1e-8)
    assert res.stats["steps"] < len(t) / 10  # most outputs lie strictly inside steps
    assert_close(res["x"], 2.0 * np.exp(0.2 * t), 1e-6, "dense output, rtol=1e-8")


def test_output_times_do_not_change_the_steps(logistic):
    """Dense output does not stop the integrator: the step sequence and the end value are the same."""
    dense = simulate(logistic, times=np.linspace(0.0, 60.0, 2401), rtol=1e-8)
    sparse = simulate(logistic, times=[0.0, 60.0], rtol=1e-8)
    assert dense.stats == sparse.stats
    assert dense["T"][-1] == sparse["T"][-1]


# ------------------------------------------------------------------------------------------------ boluses
BOLUS_CASES = {
    # name: (dose, administration days written out by hand, end day)
    "daily from 0": (Dose("central", 2.0, every=1.0), list(range(21)), 20.0),
    "twice weekly from 1": (Dose.twice_weekly("central", 2.0, start=1.0), [1, 4, 8, 11, 15, 18], 20.0),
    "offsets (0,2,4)/7 from 0.5, stop 14.6": (
        Dose("central", 1.5, every=7.0, start=0.5, stop=14.6, offsets=(0.0, 2.0, 4.0)),
        [0.5, 2.5, 4.5, 7.5, 9.5, 11.5, 14.5], 20.0),
    "listed times": (Dose("central", 3.0, times=(0.5, 2.25, 7.0, 30.0)), [0.5, 2.25, 7.0], 20.0),
    "every 2 from 1, stop 9": (Dose("central", 1.0, every=2.0, start=1.0, stop=9.0), [1, 3, 5, 7, 9], 20.0),
    "single at 3": (Dose("central", 4.0, start=3.0), [3.0], 20.0),
}


@pytest.mark.parametrize("rtol", sorted(TOL))
@pytest.mark.parametrize("case", sorted(BOLUS_CASES))
def test_repeated_boluses(pk, case, rtol):
    dose, days, end = BOLUS_CASES[case]
    t = np.linspace(0.0, end, int(end * 8) + 1)
    res = simulate(pk, Arm(case, (dose,)), times=t, rtol=rtol)
    assert_close(res["central"], bolus_exact(t, days, dose.amount), TOL[rtol], f"{case}, rtol={rtol}")


@pytest.mark.parametrize("case", sorted(BOLUS_CASES))
def test_administration_times_match_hand_written_days(case):
    dose, days, end = BOLUS_CASES[case]
    np.testing.assert_allclose(dose.administration_times(end), days, rtol=0, atol=1e-12)


def test_post_dose_value_is_reported_at_dose_times(pk):
    """At an output time that is a dose time the state includes that dose; just before it, it does not."""
    dose_days = [1.0, 4.0, 8.0, 11.0, 15.0, 18.0]
    eps = 1e-7
    t = np.sort(np.concatenate([dose_days, np.array(dose_days) - eps, [0.0, 20.0]]))
    res = simulate(pk, Arm("tw", (Dose.twice_weekly("central", 2.0, start=1.0),)), times=t, rtol=1e-8)
    for d in dose_days:
        after, before = res.at(d, "central"), res.at(d - eps, "central")
        assert after == pytest.approx(bolus_exact([d], dose_days, 2.0)[0], rel=1e-6)
        assert after - before == pytest.approx(2.0, rel=1e-6)


def test_dose_on_the_last_output_time_is_included(pk):
    t = np.linspace(0.0, 5.0, 11)
    res = simulate(pk, Arm("q1d", (Dose("central", 1.0, every=1.0),)), times=t, rtol=1e-8)
    assert res["central"][-1] == pytest.approx(bolus_exact([5.0], range(6), 1.0)[0], rel=1e-6)
    assert res["central"][0] == 1.0  # the day-0 dose is in the day-0 output


# ------------------------------------------------------------------------------------------------ infusions
@pytest.mark.parametrize("rtol", sorted(TOL))
def test_zero_order_infusions_during_and_after(pk, rtol):
    # outputs on a fine grid include every start and end of an infusion and points inside them
    t = np.linspace(0.0, 20.0, 401)
    dose = Dose("central", 4.0, every=3.0, duration=1.0)
    res = simulate(pk, Arm("inf", (dose,)), times=t, rtol=rtol)
    exact = infusion_exact(t, np.arange(0.0, 20.0 + 1e-9, 3.0), 4.0, 1.0)
    during = (t % 3.0) < 1.0
    assert during.any() and (~during).any()
    assert_close(res["central"][during], exact[during], TOL[rtol], "during infusions")
    assert_close(res["central"][~during], exact[~during], TOL[rtol], "after infusions")


@pytest.mark.parametrize("rtol", sorted(TOL))
def test_overlapping_infusions_superpose(pk, rtol):
    """Daily 2.5-day infusions: up to three run at once; their rates add."""
    t = np.linspace(0.0, 20.0, 401)
    res = simulate(pk, Arm("overlap", (Dose("central", 4.0, every=1.0, duration=2.5),)), times=t, rtol=rtol)
    assert_close(res["central"], infusion_exact(t, np.arange(0.0, 21.0), 4.0, 2.5), TOL[rtol], "overlapping")


def test_infusion_and_bolus_of_two_regimens_superpose(pk):
    t = np.linspace(0.0, 14.0, 281)
    arm = Arm("mix", (Dose("central", 3.0, every=4.0, start=0.5, duration=1.5), Dose.twice_weekly("central", 1.0)))
    res = simulate(pk, arm, times=t, rtol=1e-8)
    exact = infusion_exact(t, [0.5, 4.5, 8.5, 12.5], 3.0, 1.5) + bolus_exact(t, [0, 3, 7, 10, 14], 1.0)
    assert_close(res["central"], exact, 1e-6, "infusion + bolus")


def test_infusion_running_past_the_end(pk):
    t = np.linspace(0.0, 2.0, 41)
    res = simulate(pk, Arm("late", (Dose("central", 6.0, start=1.0, duration=3.0),)), times=t, rtol=1e-8)
    assert_close(res["central"], infusion_exact(t, [1.0], 6.0, 3.0), 1e-6, "infusion beyond the last output")


# ------------------------------------------------------------------------------------------------ perturbations
def test_depletion_switches_on_at_its_day(pk):
    """Deplete adds -k*x from day 3: the decay rate jumps from k_el to k_el + 2."""
    t = np.linspace(0.0, 8.0, 81)
    arm = Arm("deplete", (Dose("central", 1.0),), (bm.Deplete("central", 2.0, 3.0),))
    res = simulate(pk, arm, times=t, rtol=1e-10, atol=1e-14)
    exact = np.where(t <= 3.0, np.exp(-K_EL * t), np.exp(-3.0 * K_EL) * np.exp(-(K_EL + 2.0) * (t - 3.0)))
    assert_close(res["central"], exact, 1e-7, "depletion")


def test_parameter_switch(pk):
    t = np.linspace(0.0, 6.0, 61)
    res = simulate(pk.with_switch(2.0, "k_el", 0.1), Arm("b", (Dose("central", 5.0),)), times=t, rtol=1e-10,
                   atol=1e-14)
    exact = np.where(t <= 2.0, 5.0 * np.exp(-K_EL * t), 5.0 * np.exp(-2.0 * K_EL) * np.exp(-0.1 * (t - 2.0)))
    assert_close(res["central"], exact, 1e-7, "switch")


def test_knockout_of_the_only_loss_keeps_the_dose(pk):
    t = np.linspace(0.0, 5.0, 11)
    res = simulate(pk.with_knockout("elimination"), Arm("b", (Dose("central", 1.0, every=2.0),)), times=t)
    np.testing.assert_array_equal(res["central"], bolus_exact(t, [0, 2, 4], 1.0, k=0.0))


def test_singular_iteration_matrix_on_a_forced_first_step():
    """x' = x with a forced first step h = 4: I/(h*gamma) - J = 1 - 1 = 0 is singular (gamma = 1/4).

    The solver must fall back (dense LU, then a halved step) and still meet its tolerance.
    """
    model = Model("unit_growth", [Module("g", states=(State("x", 1.0),), parameters=(Parameter("r", 1.0),),
                                         terms=(Term("prolif", "r*x", {"x": 1}),))])
    t = np.linspace(0.0, 8.0, 33)
    res = simulate(model, times=t, options=bm.SolverOptions(rtol=1e-8, h0=4.0, hmax=4.0))
    assert_close(res["x"], np.exp(t), 1e-6, "growth after a singular first step")


def test_expression_initial_values_follow_overrides_between_default_runs():
    """Simulator.run keeps the default initial state of expression initials after the first run: runs with
    overrides in between must still start from their own values, and the default runs from the defaults."""
    mod = Module("m", states=(State("x", "s/d"),), parameters=(Parameter("s", 2.0), Parameter("d", 0.5)),
                 terms=(Term("supply", "s", {"x": 1}), Term("loss", "d*x", {"x": -1})))
    sim = bm.Simulator(Model("steady", [mod]), days=3.0)
    for params, x0 in ((None, 4.0), ({"s": 3.0}, 6.0), (None, 4.0), ({"d": 1.0}, 2.0), ({}, 4.0)):
        res = sim.run(params)
        # x0 = s/d is the steady state: the solution starts at, and stays at, its own parameters' value
        np.testing.assert_allclose(res["x"], x0, rtol=1e-9)
        assert res.params["s"] / res.params["d"] == x0

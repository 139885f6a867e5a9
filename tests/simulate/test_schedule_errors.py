"""Impossible schedules, output times and options, and solver failures, give clear errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode import Arm, Dose, Model, Module, Parameter, SolverOptions, State, Term, simulate
from bonemet_ode.errors import BonemetError, ParameterError, ScheduleError, SolverError, UnknownNameError


@pytest.fixture(scope="module")
def pk():
    return bm.models.get("pk_one_compartment")


@pytest.fixture(scope="module")
def blowup():
    """dx/dt = a x^2, x(0) = 1: x = 1/(1 - a t) blows up at t = 1/a (day 1 for a = 1)."""
    return Model("blowup", [Module("square", states=(State("x", 1.0),), parameters=(Parameter("a", 1.0),),
                                   terms=(Term("square", "a*x**2", {"x": 1}),))])


# ------------------------------------------------------------------------------------------------ doses
@pytest.mark.parametrize("kwargs, needle", [
    (dict(amount=-1.0), "amount"),
    (dict(amount=0.0), "amount"),
    (dict(amount=math.nan), "amount"),
    (dict(amount="5"), "amount"),
    (dict(amount=1.0, start=-1.0), "start"),
    (dict(amount=1.0, every=7.0, start=5.0, stop=2.0), "stop"),
    (dict(amount=1.0, every=0.0), "every"),
    (dict(amount=1.0, every=-7.0), "every"),
    (dict(amount=1.0, every=7.0, offsets=(0.0, 7.0)), "offsets"),
    (dict(amount=1.0, every=7.0, offsets=(0.0, 9.0)), "offsets"),
    (dict(amount=1.0, every=7.0, offsets=(3.0, 0.0)), "offsets"),
    (dict(amount=1.0, every=7.0, offsets=(-1.0,)), "offsets"),
    (dict(amount=1.0, every=7.0, offsets=()), "offsets"),
    (dict(amount=1.0, times=(1.0, 3.0, 2.0)), "increasing"),
    (dict(amount=1.0, times=(1.0, 1.0)), "increasing"),
    (dict(amount=1.0, times=(-1.0, 1.0)), "times"),
    (dict(amount=1.0, times=(1.0,), every=2.0), "times"),
    (dict(amount=1.0, duration=0.0), "duration"),
    (dict(amount=1.0, duration=-1.0), "duration"),
])
def test_impossible_doses(kwargs, needle):
    with pytest.raises(ScheduleError) as info:
        Dose("drug_x", **kwargs)
    msg = str(info.value)
    assert "'drug_x'" in msg and needle in msg, msg


def test_dose_into_an_unknown_species_is_named(pk):
    arm = Arm("typo", (Dose("centrl", 1.0),))
    for attempt in (lambda: simulate(pk, arm, days=2), lambda: arm.apply(pk), lambda: bm.Simulator(pk, arm, days=2)):
        with pytest.raises(UnknownNameError, match=r"'centrl'.*did you mean 'central'"):
            attempt()


def test_arm_rejects_non_doses():
    with pytest.raises(ScheduleError, match=r"'bad'"):
        Arm("bad", ("central",))
    with pytest.raises(ScheduleError, match=r"arm name"):
        Arm("  ")


# ------------------------------------------------------------------------------------------------ output times
@pytest.mark.parametrize("kwargs, needle", [
    (dict(times=[0.0, 2.0, 1.0]), "non-decreasing"),
    (dict(times=[-1.0, 0.0, 1.0]), "-1"),
    (dict(days=2.0, times=[0.0, 1.0, 3.0]), "3.0"),
    (dict(times=[]), "empty"),
    (dict(times=[0.0, np.nan]), "finite"),
    (dict(days=-1.0), "days"),
    (dict(days=0.0), "days"),
    (dict(days=np.inf), "days"),
    (dict(), "days"),
])
def test_bad_output_times(pk, kwargs, needle):
    with pytest.raises(ScheduleError) as info:
        simulate(pk, **kwargs)
    assert needle in str(info.value), str(info.value)


# ------------------------------------------------------------------------------------------------ options
@pytest.mark.parametrize("kwargs, needle", [
    (dict(rtol=0.0), "rtol"), (dict(rtol=1.0), "rtol"), (dict(rtol=math.nan), "rtol"),
    (dict(max_steps=0), "max_steps"), (dict(max_steps=1.5), "max_steps"),
    (dict(hmax=0.0), "hmax"), (dict(hmax=math.nan), "hmax"), (dict(h0=-1.0), "h0"),
])
def test_bad_solver_options(kwargs, needle):
    with pytest.raises(ParameterError, match=needle):
        SolverOptions(**kwargs)


@pytest.mark.parametrize("atol", [0.0, -1e-9, math.nan, {"central": 0.0}])
def test_bad_atol(pk, atol):
    with pytest.raises(ParameterError, match="atol"):
        simulate(pk, days=1, atol=atol)


def test_atol_for_an_unknown_state(pk):
    with pytest.raises(UnknownNameError, match="'centre'"):
        simulate(pk, days=1, atol={"centre": 1e-9})


# ------------------------------------------------------------------------------------------------ solver failure
def test_finite_time_blow_up_raises_solver_error_naming_state_and_day(blowup):
    with pytest.raises(SolverError) as info:
        simulate(blowup, days=2)
    err = info.value
    assert isinstance(err, BonemetError)
    msg = str(err)
    assert "'x'" in msg and "'control'" in msg
    day = float(re.search(r"day ([0-9.eE+-]+)", msg).group(1))
    assert day == pytest.approx(1.0, abs=1e-3), msg  # exact blow-up time: 1/a = 1 day
    assert err.state == "x" and err.t == pytest.approx(1.0, abs=1e-3)


def test_solution_before_the_blow_up_is_accurate(blowup):
    t = np.linspace(0.0, 0.9, 10)
    res = simulate(blowup, times=t, rtol=1e-8)
    np.testing.assert_allclose(res["x"], 1.0 / (1.0 - t), rtol=1e-6)


def test_blow_up_without_check_marks_the_missing_outputs(blowup):
    sim = bm.Simulator(blowup, times=np.linspace(0.0, 2.0, 9))
    res = sim.run(check=False)  # no exception; the caller inspects the values
    before, after = sim.times < 1.0, sim.times > 1.0  # the blow-up is on day 1
    np.testing.assert_allclose(res["x"][before], 1.0 / (1.0 - sim.times[before]), rtol=1e-5)
    assert np.isnan(res["x"][after]).all(), res["x"][after]


def test_step_limit_is_a_solver_error():
    model = bm.models.get("kuznetsov1994")
    with pytest.raises(SolverError, match=r"maximum number of steps"):
        simulate(model, days=100, options=SolverOptions(max_steps=5))

"""Bad arguments to simulate/Simulator/SolverOptions, and solver honesty (issue 15).

Refusals name the argument and the bad value.  Honesty: no output grid silently shorter than
asked, a nonnegative state driven negative is a failure (not a result), an output too large is
refused before anything is allocated.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode import Model, Module, Parameter, State, Term
from bonemet_ode.errors import BonemetError, ModelError, ParameterError, ScheduleError, SolverError, UnknownNameError
from bonemet_ode.simulate import Simulator, SolverOptions
from bonemet_ode.simulate.simulator import STATUS_NEGATIVE, output_times


def pk():
    return bm.models.get("pk_one_compartment")


def run(**kw):
    return bm.simulate(pk(), **kw)


CASES = [
    # days and times
    ("neither days nor times", lambda: run(), ScheduleError, "'days'"),
    ("days zero", lambda: run(days=0), ScheduleError, "days"),
    ("days negative", lambda: run(days=-3), ScheduleError, "-3"),
    ("days NaN", lambda: run(days=math.nan), ScheduleError, "nan"),
    ("days inf", lambda: run(days=math.inf), ScheduleError, "inf"),
    ("days a string", lambda: run(days="10"), ScheduleError, "'10'"),
    ("days a boolean", lambda: run(days=True), ScheduleError, "True"),
    ("days a list", lambda: run(days=[10]), ScheduleError, "[10]"),
    ("days 1e9 (output too large)", lambda: run(days=1e9), ScheduleError, "days=1000000000.0"),
    ("times empty", lambda: run(times=[]), ScheduleError, "empty"),
    ("times a scalar", lambda: run(times=5.0), ScheduleError, "days="),
    ("times a string", lambda: run(times="0,1,2"), ScheduleError, "'0,1,2'"),
    ("times with a string item", lambda: run(times=[0, "1"]), ScheduleError, "'1'"),
    ("times booleans", lambda: run(times=[False, True]), ScheduleError, "numbers"),
    ("times a dict", lambda: run(times={0: 1}), ScheduleError, "{0: 1}"),
    ("times 2-D", lambda: run(times=[[0, 1], [2, 3]]), ScheduleError, "one-dimensional"),
    ("times with NaN", lambda: run(times=[0, math.nan]), ScheduleError, "finite"),
    ("times negative", lambda: run(times=[-1, 0, 1]), ScheduleError, ">= 0"),
    ("times decreasing", lambda: run(times=[0, 2, 1]), ScheduleError, "times[2]"),
    ("times past days", lambda: run(days=5, times=[0, 10]), ScheduleError, "days=5"),
    ("times ending before days", lambda: run(days=30, times=[0, 5, 10]), ScheduleError, "days=30"),
    ("too many output times", lambda: output_times(None, np.zeros(10_000_001)), ScheduleError, "10000001"),
    # model, arm, params
    ("model a string", lambda: bm.simulate("pk_one_compartment", days=1), ModelError, "'pk_one_compartment'"),
    ("model None", lambda: bm.simulate(None, days=1), ModelError, "None"),
    ("params a list", lambda: run(days=1, params=[("k_el", 1.0)]), ParameterError, "k_el"),
    ("params unknown name", lambda: run(days=1, params={"kel": 1.0}), UnknownNameError, "'kel'"),
    ("params value NaN", lambda: run(days=1, params={"k_el": math.nan}), ParameterError, "'k_el'"),
    ("params value a string", lambda: run(days=1, params={"k_el": "fast"}), ParameterError, "'fast'"),
    ("params value a boolean", lambda: run(days=1, params={"k_el": True}), ParameterError, "'k_el'"),
    ("params value outside bounds", lambda: run(days=1, params={"k_el": -1.0}), ParameterError, "'k_el'"),
    # tolerances and options
    ("rtol zero", lambda: run(days=1, rtol=0.0), ParameterError, "rtol"),
    ("rtol one", lambda: run(days=1, rtol=1.0), ParameterError, "rtol"),
    ("rtol NaN", lambda: run(days=1, rtol=math.nan), ParameterError, "rtol"),
    ("rtol a string", lambda: run(days=1, rtol="1e-6"), ParameterError, "'1e-6'"),
    ("atol negative", lambda: run(days=1, atol=-1e-9), ParameterError, "atol"),
    ("atol zero", lambda: run(days=1, atol=0.0), ParameterError, "atol"),
    ("atol a string", lambda: run(days=1, atol="tight"), ParameterError, "'tight'"),
    ("atol mapping unknown state", lambda: run(days=1, atol={"centrl": 1e-9}), UnknownNameError, "'centrl'"),
    ("atol mapping bad value", lambda: run(days=1, atol={"central": math.inf}), ParameterError, "central"),
    ("options and rtol both", lambda: run(days=1, rtol=1e-8, options=SolverOptions()), ParameterError, "options"),
    ("options not SolverOptions", lambda: run(days=1, options={"rtol": 1e-8}), ParameterError, "SolverOptions"),
    ("max_steps zero", lambda: SolverOptions(max_steps=0), ParameterError, "max_steps"),
    ("max_steps a float", lambda: SolverOptions(max_steps=1000.0), ParameterError, "max_steps"),
    ("max_steps a boolean", lambda: SolverOptions(max_steps=True), ParameterError, "max_steps"),
    ("hmax zero", lambda: SolverOptions(hmax=0.0), ParameterError, "hmax"),
    ("hmax NaN", lambda: SolverOptions(hmax=math.nan), ParameterError, "hmax"),
    ("hmax a string", lambda: SolverOptions(hmax="1"), ParameterError, "hmax"),
    ("h0 negative", lambda: SolverOptions(h0=-0.1), ParameterError, "h0"),
    ("sensitivities a plain string", lambda: Simulator(pk(), days=1, sensitivities="k_el"), ParameterError,
     "('k_el',)"),
    ("run check not a bool", lambda: Simulator(pk(), days=1).run(check="no"), ParameterError, "check"),
    ("run params not a mapping", lambda: Simulator(pk(), days=1).run(3), ParameterError, "params"),
]


@pytest.mark.parametrize("call, error, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_simulate_argument_is_refused_by_name(call, error, fragment):
    assert issubclass(error, BonemetError)
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value), str(info.value)


def test_days_1e9_is_refused_before_allocating():
    tracemalloc.start()
    try:
        with pytest.raises(ScheduleError, match="output times"):
            run(days=1e9)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, peak  # (the grid alone would be 32 GB)


# ----------------------------------------------------------------------------- no silently short grid
def test_days_below_the_output_step_simulates_to_days():
    res = run(days=0.1, rtol=1e-10, atol=1e-12, arm=bm.Arm("iv", [bm.Dose("central", 1.0)]))
    np.testing.assert_array_equal(res.times, [0.0, 0.1])  # was [0.0]: day 0 only
    k = pk().parameter("k_el").value
    assert res["central"][-1] == pytest.approx(math.exp(-k * 0.1), rel=1e-8)


@pytest.mark.parametrize("days", [0.1, 0.2, 1.0, 2.5, 7.3, 10.0])
def test_grid_always_ends_at_days(days):
    t = output_times(days, None)
    assert t[0] == 0.0 and t[-1] == days and len(t) >= 2 and np.all(np.diff(t) > 0)


def test_days_equal_to_the_last_output_time_is_accepted():
    """Accepted: days and times that agree (the CLI passes both)."""
    res = run(days=2.0, times=[0.0, 1.0, 2.0])
    assert res.times[-1] == 2.0


# ----------------------------------------------------------------------------- nonnegative states
def draining_model(nonnegative: bool = True):
    # x' = -c: x = 1 - c t crosses zero at day 1/c; the model (not the solver) drives it negative
    return Model("drain", [Module("m", states=(State("x", 1.0, nonnegative=nonnegative),),
                                  parameters=(Parameter("c", 0.5),),
                                  terms=(Term("outflow", "c", {"x": -1}),))])


def test_nonnegative_state_driven_negative_is_a_failure_naming_state_and_day():
    with pytest.raises(SolverError) as info:
        bm.simulate(draining_model(), days=4.0)
    assert info.value.state == "x" and "'x'" in str(info.value)
    assert info.value.t == pytest.approx(2.25)  # first output (4 per day) with x = 1 - 0.5 t below -atol
    res = Simulator(draining_model(), days=4.0).run(check=False)
    assert res.status == STATUS_NEGATIVE and "nonnegative" in res.message
    ok = res.times < 2.25
    np.testing.assert_allclose(res["x"][ok], 1 - 0.5 * res.times[ok], atol=1e-9)  # exact before the failure
    assert np.isnan(res["x"][~ok]).all()


def test_state_not_declared_nonnegative_may_go_negative():
    """Accepted: a state declared nonnegative=False (a signed quantity) is not checked."""
    res = bm.simulate(draining_model(nonnegative=False), days=4.0)
    np.testing.assert_allclose(res["x"], 1 - 0.5 * res.times, atol=1e-9)


def test_cohort_member_driven_negative_fails_alone():
    table = {"c": np.array([0.1, 0.5, 0.2])}  # only c = 0.5 reaches zero within 4 days
    res = bm.simulate_cohort(draining_model(), table, days=4.0, n_jobs=1)
    assert res.status.tolist() == [0, STATUS_NEGATIVE, 0]
    assert "'x'" in res.messages[1] and "nonnegative" in res.messages[1]
    assert np.isnan(res.states[1]).all()
    for i in (0, 2):  # the others are exactly their single solves
        one = bm.simulate(draining_model(), days=4.0, params={"c": float(table["c"][i])})
        np.testing.assert_array_equal(res.states[i], one.states)

"""Virtual cohorts: reproducible draws, the same numbers as one-by-one simulation, isolated failures.

References: ``simulate`` called once per member (the cohort must reproduce it bitwise: the
same compiled solver runs on the same inputs, whatever the threading and chunking), and the
documented distribution ``typical * exp(sigma * z)`` with ``z`` from
``numpy.random.default_rng(seed)``; the blow-up member against ``x = 1/(1 - a t)``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import bonemet_ode as bm
from bonemet_ode import LogNormal, Normal, Uniform, draw_cohort, simulate, simulate_cohort
from bonemet_ode.errors import ParameterError, UnknownNameError


@pytest.fixture(scope="module")
def kuznetsov():
    return bm.models.get("kuznetsov1994")


@pytest.fixture(scope="module")
def blowup():
    """dx/dt = a x^2 from x = 1: blows up on day 1/a."""
    return bm.Model("cohort_blowup", [bm.Module("sq", states=(bm.State("x", 1.0),),
                                                parameters=(bm.Parameter("a", 0.1, lower=0.0, upper=10.0),),
                                                terms=(bm.Term("square", "a*x**2", {"x": 1}),))])


# ------------------------------------------------------------------------------------------------ draws
def test_draw_is_reproducible_from_the_seed(kuznetsov):
    var = {"a": LogNormal(0.2), "n": LogNormal(0.3), "s": Uniform(1e4, 2e4)}
    first = draw_cohort(kuznetsov, 50, var, seed=42)
    again = draw_cohort(kuznetsov, 50, var, seed=42)
    other = draw_cohort(kuznetsov, 50, var, seed=43)
    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == ["a", "n", "s"] and len(first) == 50
    assert not np.allclose(first.to_numpy(), other.to_numpy())


def test_lognormal_draw_follows_its_definition(kuznetsov):
    cohort = draw_cohort(kuznetsov, 20, {"a": LogNormal(0.3)}, seed=5)
    z = np.random.default_rng(5).standard_normal(20)
    np.testing.assert_allclose(cohort["a"], 0.18 * np.exp(0.3 * z), rtol=1e-15)


def test_draw_statistics(kuznetsov):
    cohort = draw_cohort(kuznetsov, 4000, {"a": LogNormal(0.2), "s": Uniform(1e4, 2e4)}, seed=1)
    # median of a lognormal = the typical value; 4000 draws: standard error of log-median ~ 0.2*1.25/63
    assert np.median(np.log(cohort["a"])) == pytest.approx(np.log(0.18), abs=0.02)
    assert cohort["s"].between(1e4, 2e4).all() and cohort["s"].mean() == pytest.approx(1.5e4, rel=0.02)


def test_out_of_bounds_draws_are_errors_not_clipped(kuznetsov):
    with pytest.raises(ParameterError, match=r"parameter 'a'.*bounds"):
        draw_cohort(kuznetsov, 100, {"a": Normal(1.0)}, seed=0)  # a >= 0: some draws are negative
    pk = bm.models.get("pk_one_compartment")
    with pytest.raises(ParameterError, match=r"'k_el'.*\[0.0, 10000.0\]"):
        draw_cohort(pk, 100, {"k_el": LogNormal(5.0)}, seed=0)


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_bad_cohort_size(kuznetsov, n):
    with pytest.raises(ParameterError, match="cohort size"):
        draw_cohort(kuznetsov, n, {"a": LogNormal(0.1)}, seed=0)


def test_unknown_parameter_in_variability(kuznetsov):
    with pytest.raises(UnknownNameError, match="'alpha'"):
        draw_cohort(kuznetsov, 5, {"alpha": LogNormal(0.1)}, seed=0)


# ------------------------------------------------------------------------------------------------ simulation
def loop_reference(model, table: pd.DataFrame, arm, times):
    """Each member simulated on its own with ``simulate``."""
    return [simulate(model, arm, times=times, params=dict(row)) for _, row in table.iterrows()]


@pytest.mark.parametrize("n_jobs, chunk_size", [(1, None), (2, 3), (2, None)])
def test_cohort_equals_member_by_member_simulation(kuznetsov, n_jobs, chunk_size):
    table = draw_cohort(kuznetsov, 10, {"a": LogNormal(0.2), "n": LogNormal(0.2)}, seed=3)
    times = np.linspace(0.0, 150.0, 76)
    res = simulate_cohort(kuznetsov, table, times=times, n_jobs=n_jobs, chunk_size=chunk_size)
    assert res.n == 10 and res.ok.all() and res.messages == ("ok",) * 10
    for i, single in enumerate(loop_reference(kuznetsov, table, bm.CONTROL, times)):
        np.testing.assert_array_equal(res.states[i], single.states)
        np.testing.assert_array_equal(res["T"][i], single["T"])


def test_cohort_with_arm_and_observables_equals_loop(arms_for):
    model = bm.models.get("bone_metastasis")
    arm = arms_for("bone_metastasis")[-1]
    p = next(q for q in model.parameters if 0.8 * q.value >= q.lower and 1.2 * q.value <= q.upper and q.value > 0)
    table = draw_cohort(model, 4, {p.name: Uniform(0.8 * p.value, 1.2 * p.value)}, seed=11)
    times = np.linspace(0.0, 30.0, 31)
    res = simulate_cohort(model, table, arm, times=times, n_jobs=2, chunk_size=1)
    assert res.ok.all()
    for i, single in enumerate(loop_reference(model, table, arm, times)):
        np.testing.assert_array_equal(res.states[i], single.states)
        np.testing.assert_array_equal(res.observables[i], single.observables)


def test_state_columns_set_initial_values(kuznetsov):
    table = pd.DataFrame({"T": [1e6, 5e6], "a": [0.15, 0.2]})
    res = simulate_cohort(kuznetsov, table, days=20.0, n_jobs=1)
    for i in range(2):
        single = simulate(kuznetsov.with_initial(T=table["T"][i]), days=20.0, params={"a": table["a"][i]})
        np.testing.assert_array_equal(res.states[i], single.states)


def test_one_failing_member_does_not_sink_the_cohort(blowup):
    table = pd.DataFrame({"a": [0.1, 1.0, 0.2, 0.3]})  # member 1 blows up on day 1
    times = np.linspace(0.0, 2.0, 21)
    for n_jobs in (1, 2):
        res = simulate_cohort(blowup, table, times=times, n_jobs=n_jobs, chunk_size=1)
        assert list(res.status != 0) == [False, True, False, False]
        day = float(re.search(r"day ([0-9.eE+-]+)", res.messages[1]).group(1))
        assert "'x'" in res.messages[1] and day == pytest.approx(1.0, abs=1e-3), res.messages[1]
        assert res.messages[0] == res.messages[2] == res.messages[3] == "ok"
        assert np.isnan(res["x"][1]).all()
        for i in (0, 2, 3):
            a = table["a"][i]
            np.testing.assert_allclose(res["x"][i], 1.0 / (1.0 - a * times), rtol=1e-5)


def test_cohort_rejects_out_of_bounds_and_unknown_columns(kuznetsov):
    with pytest.raises(ParameterError, match=r"member 1.*'a'"):
        simulate_cohort(kuznetsov, {"a": [0.1, -0.1]}, days=5.0)
    with pytest.raises(ParameterError, match=r"'T'"):
        simulate_cohort(kuznetsov, {"T": [1.0, np.nan]}, days=5.0)
    with pytest.raises(UnknownNameError, match=r"'alpha'"):
        simulate_cohort(kuznetsov, {"alpha": [0.1]}, days=5.0)
    with pytest.raises(ParameterError, match="no members"):
        simulate_cohort(kuznetsov, pd.DataFrame({"a": []}), days=5.0)


def test_an_arm_that_adds_a_state_runs_as_a_cohort():
    """An arm's perturbation may add a module (here a state X, X' = -kx X): the cohort's arrays follow the model
    the arm makes (they were sized from the model before it: a raw numpy broadcast error)."""
    base = bm.Model("pk_add", [bm.Module("pk", states=(bm.State("A", 5.0),),
                                         parameters=(bm.Parameter("k", 0.3, "1/day", 0.0, 5.0),),
                                         terms=(bm.Term("el", "k*A", {"A": -1}),))])

    def add_x(model):
        return model.with_modules(bm.Module("x", states=(bm.State("X", 1.0),),
                                            parameters=(bm.Parameter("kx", 1.0, "1/day", 0.0, 5.0),),
                                            terms=(bm.Term("xel", "kx*X", {"X": -1}),)))

    arm = bm.Arm("with X", perturbations=[add_x])
    res = bm.simulate_cohort(base, {"k": [0.3, 0.4]}, arm, days=1.0, times=[0.0, 1.0],
                             options=bm.SolverOptions(rtol=1e-10, atol=1e-12))
    np.testing.assert_allclose(res.final("A"), 5.0 * np.exp(-np.array([0.3, 0.4])), rtol=1e-8)
    np.testing.assert_allclose(res.final("X"), np.exp(-1.0), rtol=1e-8)

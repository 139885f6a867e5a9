"""Steps after a dose that starts a fast transient.

A bolus of a drug cleared at 40 /day into a model that has been quiet for a week: the step
size kept from before the dose (about a day) is far too large for the transient, and an
integrator that tries it is rejected at every dose.  The solver sees the jump in the
solution's curvature (``J f``) and restarts from its initial-step estimate instead, so no
dose costs a rejected step.  The model is linear with a constant input, so the exact solution
between doses is a matrix exponential (the reference here).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

import bonemet_ode as bm
from bonemet_ode.model import Model, Module, Parameter, State, Term

KZ, KA, C, S = 0.05, 40.0, 0.5, 2.0  # 1/day, 1/day, 1/day, amount/day
DOSE, EVERY, FIRST, DAYS = 10.0, 7.0, 7.0, 49.0


def transient_model() -> Model:
    par = (Parameter("kz", KZ, "1/day", 0.0, 10.0, "turnover of the target"),
           Parameter("ka", KA, "1/day", 0.0, 1e3, "clearance of the drug"),
           Parameter("c", C, "1/day", 0.0, 10.0, "target removed per unit drug"),
           Parameter("s", S, "amount/day", 0.0, 100.0, "target production"))
    terms = (Term("production", "s", {"z": 1}), Term("turnover", "kz*z", {"z": -1}),
             Term("removal", "c*a", {"z": -1}),
             Term("clearance", "ka*a", {"a": -1}))
    return Model("transient", [Module("m", states=(State("z", S / KZ, "amount"),
                                                   State("a", 0.0, "amount")),
                                      parameters=par, terms=terms)])


def exact(times: np.ndarray, dose_days: np.ndarray) -> np.ndarray:
    """(times x [z, a]) from the matrix exponential of the augmented linear system, post-dose at dose days."""
    m = np.array([[-KZ, -C, S], [0.0, -KA, 0.0], [0.0, 0.0, 0.0]])
    x, t, out = np.array([S / KZ, 0.0, 1.0]), 0.0, []
    events = sorted(set(times) | set(dose_days))
    for te in events:
        x = expm(m * (te - t)) @ x
        t = te
        if te in dose_days:
            x = x + np.array([0.0, DOSE, 0.0])
        if te in times:
            out.append(x[:2].copy())
    return np.array(out)


@pytest.fixture(scope="module")
def run():
    model = transient_model()
    arm = bm.Arm("bolus q7d", (bm.Dose("a", DOSE, every=EVERY, start=FIRST),))
    times = np.linspace(0.0, DAYS, 4 * int(DAYS) + 1)
    return bm.simulate(model, arm, times=times), times


def test_doses_cost_no_rejected_steps(run):
    res, _ = run
    n_doses = len(np.arange(FIRST, DAYS, EVERY))  # doses followed by steps (days 7-42)
    assert n_doses == 6
    # trying the step kept from before each dose was rejected at five of the six (stats: 5 rejected)
    assert res.stats["rejected"] == 0, res.stats


def test_solution_after_doses_matches_the_exact_one(run):
    res, times = run
    ref = exact(times, np.arange(FIRST, DAYS + 1.0, EVERY))  # the dose on the last day is in the last output
    got = np.column_stack([res["z"], res["a"]])
    scale = 1e-9 + 1e-6 * np.abs(ref)
    err = np.abs(got - ref) / scale
    assert err.max() < 2.0, (times[np.unravel_index(err.argmax(), err.shape)[0]], err.max())


def test_doses_meant_for_an_output_day_are_reported_after_the_dose():
    """A dose every 0.1 day into a state that does not change otherwise: at every output day the count of doses
    given so far, the one on that day included (the documented post-dose convention).  0.1 * 3 is
    0.30000000000000004 and np.linspace(0, 0.3, 4)[1] is 0.09999999999999999: the last dose was dropped and
    mid-schedule outputs showed the value before the dose."""
    model = bm.Model("counter", [bm.Module("m", states=(bm.State("A", 0.0),),
                                           parameters=(bm.Parameter("k", 0.0, "1/day", 0.0, 1.0),),
                                           terms=(bm.Term("el", "k*A", {"A": -1}),))])
    arm = bm.Arm("tenth", doses=[bm.Dose("A", 1.0, every=0.1)])
    res = bm.simulate(model, arm, days=0.3, times=np.linspace(0.0, 0.3, 4))
    np.testing.assert_array_equal(res["A"], [1.0, 2.0, 3.0, 4.0])
    res = bm.simulate(model, arm, days=1.0, times=np.linspace(0.0, 1.0, 11))
    np.testing.assert_array_equal(res["A"], np.arange(1.0, 12.0))
    cohort = bm.simulate_cohort(model, {"k": [0.0, 0.0]}, arm, days=0.3, times=np.linspace(0.0, 0.3, 4))
    np.testing.assert_array_equal(cohort["A"], [[1.0, 2.0, 3.0, 4.0]] * 2)
    np.testing.assert_array_equal(bm.Dose("A", 1.0, every=0.1).administration_times(0.3), [0.0, 0.1, 0.2, 0.3])

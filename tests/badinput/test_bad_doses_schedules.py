"""Bad doses, schedules and arms (issue 15): each is refused with the library's error naming the bad item.

A last group checks inputs that are accepted on purpose, against an analytic solution.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode import Arm, Dose
from bonemet_ode.errors import BonemetError, ScheduleError, UnknownNameError

PK = "pk_one_compartment"


def pk():
    return bm.models.get(PK)


def sim(arm, days=5.0):
    return bm.simulate(pk(), arm, days=days)


CASES = [
    ("target not a string", lambda: Dose(3, 1.0), ScheduleError, "3"),
    ("target empty", lambda: Dose("", 1.0), ScheduleError, "''"),
    ("amount zero", lambda: Dose("central", 0.0), ScheduleError, "amount"),
    ("amount negative", lambda: Dose("central", -1.0), ScheduleError, "amount"),
    ("amount NaN", lambda: Dose("central", math.nan), ScheduleError, "amount"),
    ("amount inf", lambda: Dose("central", math.inf), ScheduleError, "amount"),
    ("amount a string", lambda: Dose("central", "5"), ScheduleError, "amount"),
    ("amount a boolean", lambda: Dose("central", True), ScheduleError, "amount"),
    ("amount None", lambda: Dose("central", None), ScheduleError, "amount"),
    ("every zero", lambda: Dose("central", 1.0, every=0.0), ScheduleError, "every"),
    ("every negative", lambda: Dose("central", 1.0, every=-7.0), ScheduleError, "every"),
    ("every NaN", lambda: Dose("central", 1.0, every=math.nan), ScheduleError, "every"),
    ("every a string", lambda: Dose("central", 1.0, every="weekly"), ScheduleError, "every"),
    ("start negative", lambda: Dose("central", 1.0, start=-1.0), ScheduleError, "start"),
    ("start inf", lambda: Dose("central", 1.0, start=math.inf), ScheduleError, "start"),
    ("stop before start", lambda: Dose("central", 1.0, every=1.0, start=5.0, stop=2.0), ScheduleError, "stop"),
    ("stop NaN", lambda: Dose("central", 1.0, every=1.0, stop=math.nan), ScheduleError, "stop"),
    ("times and every", lambda: Dose("central", 1.0, every=1.0, times=(1.0, 2.0)), ScheduleError, "'times' or 'every'"),
    ("times decreasing", lambda: Dose("central", 1.0, times=(3.0, 1.0)), ScheduleError, "increasing"),
    ("times repeated", lambda: Dose("central", 1.0, times=(1.0, 1.0)), ScheduleError, "increasing"),
    ("times negative", lambda: Dose("central", 1.0, times=(-1.0, 2.0)), ScheduleError, ">= 0"),
    ("times NaN", lambda: Dose("central", 1.0, times=(1.0, math.nan)), ScheduleError, "dose time"),
    ("times a scalar", lambda: Dose("central", 1.0, times=5.0), ScheduleError, "dose times"),
    ("times a string", lambda: Dose("central", 1.0, times="1,2"), ScheduleError, "dose times"),
    ("times with a string item", lambda: Dose("central", 1.0, times=(1.0, "2")), ScheduleError, "'2'"),
    ("times a 2-D array", lambda: Dose("central", 1.0, times=np.ones((2, 2))), ScheduleError, "dose times"),
    ("duration zero", lambda: Dose("central", 1.0, duration=0.0), ScheduleError, "duration"),
    ("duration negative", lambda: Dose("central", 1.0, duration=-0.5), ScheduleError, "duration"),
    ("duration inf", lambda: Dose("central", 1.0, duration=math.inf), ScheduleError, "duration"),
    ("offsets not increasing", lambda: Dose("central", 1.0, every=7.0, offsets=(3.0, 0.0)), ScheduleError, "offsets"),
    ("offsets negative", lambda: Dose("central", 1.0, every=7.0, offsets=(-1.0,)), ScheduleError, "offsets"),
    ("offsets empty", lambda: Dose("central", 1.0, every=7.0, offsets=()), ScheduleError, "offsets"),
    ("offset beyond the period", lambda: Dose("central", 1.0, every=7.0, offsets=(0.0, 7.0)), ScheduleError, "offsets"),
    ("offsets a scalar", lambda: Dose("central", 1.0, every=7.0, offsets=3.0), ScheduleError, "offsets"),
    # settings the schedule would not read are refused, not ignored
    ("start with explicit times", lambda: Dose("central", 1.0, times=[1.0, 2.0], start=5.0), ScheduleError,
     "'start' (5) does not apply to explicit 'times'"),
    ("offsets without every", lambda: Dose("central", 1.0, offsets=(0.0, 3.0)), ScheduleError,
     "apply only to a repeated schedule"),
    ("offsets with times", lambda: Dose("central", 1.0, times=[1.0], offsets=(0.0, 3.0)), ScheduleError,
     "apply only to a repeated schedule"),
    ("stop on a single dose", lambda: Dose("central", 1.0, start=2.0, stop=5.0), ScheduleError,
     "'stop' applies only to a repeated schedule"),
    ("infusion too short to resolve", lambda: Dose("central", 5.0, times=[1.0], duration=1e-300), ScheduleError,
     "too short to resolve"),
    ("arm name empty", lambda: Arm("  "), ScheduleError, "arm name"),
    ("arm name not a string", lambda: Arm(5), ScheduleError, "5"),
    ("arm doses a single Dose", lambda: Arm("a", Dose("central", 1.0)), ScheduleError, "wrap a single dose"),
    ("arm doses None", lambda: Arm("a", None), ScheduleError, "doses"),
    ("arm doses a string", lambda: Arm("a", "central"), ScheduleError, "doses"),
    ("arm dose not a Dose", lambda: Arm("a", [("central", 1.0)]), ScheduleError, "Dose objects"),
    ("arm perturbation not callable", lambda: Arm("a", (), ["knockout"]), ScheduleError, "'knockout'"),
    ("arm perturbations a single callable", lambda: Arm("a", (), bm.Knockout("elimination")), ScheduleError,
     "perturbations"),
    ("dose into unknown state", lambda: sim(Arm("a", [Dose("centrl", 1.0)])), UnknownNameError, "'centrl'"),
    ("dose into a parameter", lambda: sim(Arm("a", [Dose("k_el", 1.0)])), UnknownNameError, "'k_el'"),
    ("knockout of unknown term", lambda: sim(Arm("a", (), [bm.Knockout("elim")])), UnknownNameError, "'elim'"),
    ("arm not an Arm", lambda: bm.simulate(pk(), "control", days=1.0), ScheduleError, "'control'"),
    ("arms with one name twice", lambda: bm.compare_arms(pk(), [Arm("a"), Arm("a")], days=1.0), ScheduleError, "'a'"),
]


@pytest.mark.parametrize("build, error, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_dose_or_arm_is_refused_by_name(build, error, fragment):
    assert issubclass(error, BonemetError)
    with pytest.raises(error) as info:
        build()
    assert fragment in str(info.value), str(info.value)


# ----------------------------------------------------------------------------- documented acceptance
def k_el() -> float:
    return pk().parameter("k_el").value


def test_dose_after_the_end_of_the_simulation_is_accepted_and_not_given():
    """Accepted: a schedule may run past the simulated days (a short look at a long regimen)."""
    res = sim(Arm("late", [Dose("central", 1.0, start=10.0)]), days=5.0)
    np.testing.assert_allclose(res["central"], 0.0, atol=1e-12)


def test_infusions_that_overlap_add_up():
    """Accepted: an infusion longer than its period overlaps the next one; the rates add
    (central = integral of input)."""
    arm = Arm("overlap", [Dose("central", 2.0, every=1.0, duration=1.5, stop=1.0)])
    times = np.array([0.0, 1.0, 2.0, 3.0])
    res = bm.simulate(pk(), arm, times=times, rtol=1e-10, atol=1e-12)
    k = k_el()
    # rate 4/3 on [0, 1.5] and again on [1, 2.5]: an exact piecewise solution
    def pulse(t, a, b, r):
        if t <= a:
            return 0.0
        u = min(t, b)
        return r / k * (1 - math.exp(-k * (u - a))) * math.exp(-k * (t - u))
    exact = [pulse(t, 0.0, 1.5, 4 / 3) + pulse(t, 1.0, 2.5, 4 / 3) for t in times]
    np.testing.assert_allclose(res["central"], exact, rtol=1e-7, atol=1e-10)


def test_numpy_numbers_are_accepted_in_doses():
    """Accepted: numpy scalars and arrays are numbers and sequences like any other."""
    d = Dose("central", np.float32(2.0), times=np.array([0.0, 1.0]))
    assert d.times == (0.0, 1.0) and d.amount == 2.0

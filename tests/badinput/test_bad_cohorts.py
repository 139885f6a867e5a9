"""Bad cohort inputs (issue 15): distributions, draw_cohort and simulate_cohort arguments.

``simulate_cohort(..., chunk_size=-1)`` used to return uninitialised memory (6.9e-310) reported as
"0 failed"; negative spreads were accepted; ``Uniform(low > high)`` failed inside numpy; a plain
number as a distribution raised AttributeError.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import bonemet_ode as bm
from bonemet_ode.errors import BonemetError, ModelError, ParameterError, ScheduleError, UnknownNameError
from bonemet_ode.simulate.cohort import LogNormal, Normal, Uniform, draw_cohort, simulate_cohort


def pk():
    return bm.models.get("pk_one_compartment")


ARM = bm.Arm("iv", [bm.Dose("central", 1.0)])
TABLE = pd.DataFrame({"k_el": [0.5, 1.0, 2.0]})


def cohort(**kw):
    args = dict(model=pk(), params=TABLE, arm=ARM, days=2.0)
    args.update(kw)
    return simulate_cohort(**args)


def draw(**kw):
    args = dict(model=pk(), n=5, variability={"k_el": LogNormal(0.2)}, seed=1)
    args.update(kw)
    return draw_cohort(**args)


CASES = [
    # distributions
    ("LogNormal negative sigma", lambda: LogNormal(-0.3), ParameterError, "sigma"),
    ("LogNormal NaN sigma", lambda: LogNormal(math.nan), ParameterError, "sigma"),
    ("LogNormal sigma a string", lambda: LogNormal("0.3"), ParameterError, "'0.3'"),
    ("LogNormal zero median", lambda: LogNormal(0.3, median=0.0), ParameterError, "median"),
    ("LogNormal negative median", lambda: LogNormal(0.3, median=-1.0), ParameterError, "median"),
    ("Normal negative sd", lambda: Normal(-1.0), ParameterError, "sd"),
    ("Normal inf sd", lambda: Normal(math.inf), ParameterError, "sd"),
    ("Normal NaN mean", lambda: Normal(1.0, mean=math.nan), ParameterError, "mean"),
    ("Uniform low > high", lambda: Uniform(2.0, 1.0), ParameterError, "low=2 > high=1"),
    ("Uniform infinite high", lambda: Uniform(0.0, math.inf), ParameterError, "high"),
    ("Uniform low a string", lambda: Uniform("a", 1.0), ParameterError, "'a'"),
    # draw_cohort
    ("variability a plain number", lambda: draw(variability={"k_el": 0.3}), ParameterError, "variability['k_el']"),
    ("variability a scipy-like tuple", lambda: draw(variability={"k_el": ("lognormal", 0.3)}), ParameterError,
     "variability['k_el']"),
    ("variability unknown parameter", lambda: draw(variability={"kel": LogNormal(0.2)}), UnknownNameError, "'kel'"),
    ("variability a list", lambda: draw(variability=[LogNormal(0.2)]), ParameterError, "variability"),
    ("n zero", lambda: draw(n=0), ParameterError, "n"),
    ("n negative", lambda: draw(n=-5), ParameterError, "-5"),
    ("n a float", lambda: draw(n=5.0), ParameterError, "5.0"),
    ("n a boolean", lambda: draw(n=True), ParameterError, "True"),
    ("seed None", lambda: draw(seed=None), ParameterError, "seed"),
    ("seed negative", lambda: draw(seed=-1), ParameterError, "seed"),
    ("seed a float", lambda: draw(seed=1.5), ParameterError, "1.5"),
    ("seed a string", lambda: draw(seed="abc"), ParameterError, "'abc'"),
    ("model a string", lambda: draw(model="pk_one_compartment"), ModelError, "'pk_one_compartment'"),
    ("draws outside bounds", lambda: draw(variability={"k_el": Normal(5.0, mean=0.1)}), ParameterError, "'k_el'"),
    # simulate_cohort
    ("chunk_size negative", lambda: cohort(chunk_size=-1), ParameterError, "chunk_size"),
    ("chunk_size zero", lambda: cohort(chunk_size=0), ParameterError, "chunk_size"),
    ("chunk_size a float", lambda: cohort(chunk_size=2.5), ParameterError, "2.5"),
    ("n_jobs zero", lambda: cohort(n_jobs=0), ParameterError, "n_jobs"),
    ("n_jobs negative", lambda: cohort(n_jobs=-2), ParameterError, "-2"),
    ("n_jobs a string", lambda: cohort(n_jobs="4"), ParameterError, "'4'"),
    ("progress a string", lambda: cohort(progress="yes"), ParameterError, "progress"),
    ("params None", lambda: cohort(params=None), ParameterError, "params"),
    ("params a list", lambda: cohort(params=[0.5, 1.0]), ParameterError, "list"),
    ("params empty table", lambda: cohort(params=pd.DataFrame({"k_el": []})), ParameterError, "no members"),
    ("params ragged mapping", lambda: cohort(params={"k_el": [0.5, 1.0], "central": [1.0]}), ParameterError,
     "lengths"),
    ("params a scalar column", lambda: cohort(params={"k_el": 0.5}), ParameterError, "k_el"),
    ("params unknown column", lambda: cohort(params={"kel": [0.5]}), UnknownNameError, "'kel'"),
    ("params text column", lambda: cohort(params=pd.DataFrame({"k_el": ["fast", "slow"]})), ParameterError,
     "'k_el'"),
    ("params boolean column", lambda: cohort(params=pd.DataFrame({"k_el": [True, False]})), ParameterError,
     "'k_el'"),
    ("params duplicate column", lambda: cohort(params=pd.DataFrame([[0.5, 0.6]], columns=["k_el", "k_el"])),
     ParameterError, "'k_el'"),
    ("params value NaN", lambda: cohort(params={"k_el": [0.5, math.nan]}), ParameterError, "member 1"),
    ("params value outside bounds", lambda: cohort(params={"k_el": [0.5, -1.0]}), ParameterError, "member 1"),
    ("params negative initial value", lambda: cohort(params={"central": [1.0, -1.0]}), ParameterError, "'central'"),
    ("cohort output too large", lambda: cohort(params={"k_el": np.full(200_000, 0.5)}, days=None,
                                                             times=np.arange(0.0, 3000.0)),
     ScheduleError, "200000 members"),
    ("cohort days bad", lambda: cohort(days=-1.0), ScheduleError, "days"),
]


@pytest.mark.parametrize("call, error, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_cohort_input_is_refused_by_name(call, error, fragment):
    assert issubclass(error, BonemetError)
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value), str(info.value)


# ----------------------------------------------------------------------------- documented acceptance
@pytest.mark.parametrize("chunk_size", [1, 2, 3, 50])
def test_any_positive_chunk_size_gives_the_single_solves(chunk_size):
    res = cohort(chunk_size=chunk_size, n_jobs=2)
    assert res.ok.all()
    for i, k in enumerate(TABLE["k_el"]):
        one = bm.simulate(pk(), ARM, days=2.0, params={"k_el": float(k)})
        np.testing.assert_array_equal(res.states[i], one.states)
        assert res["central"][i, -1] == pytest.approx(math.exp(-2.0 * k), rel=1e-4)


def test_zero_spread_is_accepted_and_gives_the_typical_value():
    """Accepted: sigma = 0 (no variability) is a valid, if degenerate, distribution."""
    table = draw(variability={"k_el": LogNormal(0.0)})
    np.testing.assert_array_equal(table["k_el"], pk().parameter("k_el").value)


def test_seed_sequence_is_accepted_and_reproducible():
    """Accepted: a numpy SeedSequence is a seed (same draws as the same integer seed)."""
    a = draw(seed=np.random.SeedSequence(7))
    b = draw(seed=7)
    np.testing.assert_array_equal(a["k_el"], b["k_el"])

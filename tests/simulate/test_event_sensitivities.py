"""Forward sensitivities across events (jump conditions in solver_core.c, bm_ev_sens_*), against closed forms.

x' = r x with a state event at x = K that multiplies x by a and restarts a clock z (z' = 1): the event time is
t_e = ln(K / x0) / r, so after it x(t) = a x0 exp(r t) and z(t) = t - t_e; their derivatives in r, K, a and x0
are written out below (independent of the solver).  A timed reset (trigger ``t >= T``) adds b to x:
x(t) = x0 exp(r t) + b exp(r (t - T)) after T, with T a number or a parameter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.errors import ModelError
from bonemet_ode.model import Event, Model, Module, Parameter, State, Term

TIGHT = bm.SolverOptions(rtol=1e-10, atol=1e-12)
R, K, A, X0 = 0.8, 2.0, 0.3, 1.0


def _growth(*events: Event, extra: tuple[Parameter, ...] = ()) -> Model:
    mod = Module("g", states=(State("x", X0), State("z", 0.0)),
                 parameters=(Parameter("r", R), Parameter("K", K), Parameter("a", A), *extra),
                 terms=(Term("growth", "r*x", {"x": 1}), Term("clock", "1", {"z": 1})))
    return Model("growth", [mod], events=list(events))


def test_state_event_sensitivities_match_closed_form():
    m = _growth(Event("cut", "x > K", {"x": "a*x", "z": 0.0}))
    te = math.log(K / X0) / R
    t = np.array([0.5, te + 0.1, 1.2, 1.6, 2.0])  # all before the second crossing (a x0 e^{rt} < K)
    assert a_check(t)
    res = bm.Simulator(m, times=t, options=TIGHT, sensitivities=("r", "K", "a", "x")).run()
    after = t > te
    ex = np.where(after, A * X0 * np.exp(R * t), X0 * np.exp(R * t))
    np.testing.assert_allclose(res["x"], ex, rtol=1e-8)
    exact = {
        ("x", "r"): t * ex,
        ("x", "K"): 0 * t,
        ("x", "a"): np.where(after, X0 * np.exp(R * t), 0.0),
        ("x", "x"): np.where(after, A * np.exp(R * t), np.exp(R * t)),
        ("z", "r"): np.where(after, math.log(K / X0) / R**2, 0.0),
        ("z", "K"): np.where(after, -1.0 / (R * K), 0.0),
        ("z", "a"): 0 * t,
        ("z", "x"): np.where(after, 1.0 / (R * X0), 0.0),
    }
    for (out, w), want in exact.items():
        np.testing.assert_allclose(res.sensitivity(out, w), want, rtol=1e-7, atol=1e-9, err_msg=f"d {out}/d {w}")


def a_check(t: np.ndarray) -> bool:
    return bool(np.all(A * X0 * np.exp(R * t) < K))


@pytest.mark.parametrize("param_time", [False, True])
def test_timed_reset_sensitivities_match_closed_form(param_time):
    T = 0.7
    trigger = "t >= T" if param_time else f"t >= {T}"
    m = _growth(Event("kick", trigger, {"x": "x + b"}),
                extra=(Parameter("b", 0.5), Parameter("T", T)))
    t = np.array([0.3, 0.9, 1.5])
    wrt = ("r", "b", "x", "T") if param_time else ("r", "b", "x")
    res = bm.Simulator(m, times=t, options=TIGHT, sensitivities=wrt).run()
    after = t > T
    e_after = np.where(after, np.exp(R * (t - T)), 0.0)
    np.testing.assert_allclose(res["x"], X0 * np.exp(R * t) + 0.5 * e_after, rtol=1e-8)
    exact = {"r": X0 * t * np.exp(R * t) + 0.5 * (t - T) * e_after, "b": e_after, "x": np.exp(R * t),
             "T": -R * 0.5 * e_after}
    for w in wrt:
        np.testing.assert_allclose(res.sensitivity("x", w), exact[w], rtol=1e-7, atol=1e-9, err_msg=f"d x/d {w}")


def test_unsupported_event_sensitivities_are_refused_by_name():
    m = _growth(Event("switch", "x > K", {"r": 0.1}))
    with pytest.raises(ModelError, match="event 'switch' assigns parameter"):
        bm.Simulator(m, days=1.0, sensitivities=["r"])
    m = _growth(Event("cut", "x > K", {"x": "a*x"}, priority=1.0))
    with pytest.raises(ModelError, match="event 'cut' has a priority"):
        bm.Simulator(m, days=1.0, sensitivities=["r"])
    # without sensitivities both simulate
    bm.simulate(m, days=1.0)

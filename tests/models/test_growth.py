"""Growth models (bonemet_ode.models.growth) against their closed-form solutions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bonemet_ode.models.growth as growth
from bonemet_ode.models import available, describe, get
from bonemet_ode.simulate import Simulator, SolverOptions

TIMES = np.linspace(0.0, 40.0, 41)
TIGHT = SolverOptions(rtol=1e-11, atol=1e-12)
RTOL = 1e-6  # the required agreement with the closed forms


def closed_form(name: str, p: dict[str, float], t: np.ndarray) -> np.ndarray:
    """Analytic V(t) (mm^3), derived by hand, independent of the model code."""
    V0 = p["V0"]
    if name == "exponential":
        return V0 * np.exp(p["alpha"] * t)
    if name == "logistic":
        K, a = p["K"], p["alpha"]
        return K * V0 / (V0 + (K - V0) * np.exp(-a * t))
    if name in ("gompertz", "reduced_gompertz"):
        b = p["beta"]
        a = p["alpha"] if name == "gompertz" else p["k"] * b
        return np.exp(a / b * (1 - np.exp(-b * t)) + math.log(V0) * np.exp(-b * t))
    if name == "von_bertalanffy":
        a, b = p["a"], p["b"]
        return (a / b + (V0 ** (1 / 3) - a / b) * np.exp(-b * t / 3)) ** 3
    if name == "power_law":
        g = p["gamma"]
        return (V0 ** (1 - g) + (1 - g) * p["a"] * t) ** (1 / (1 - g))
    raise KeyError(name)


CASES = {
    "exponential": {"alpha": 0.15, "V0": 2.0},
    "logistic": {"alpha": 0.4, "K": 1500.0, "V0": 5.0},
    "gompertz": {"alpha": 0.8, "beta": 0.09, "V0": 1.0},
    "reduced_gompertz": {"beta": 0.08, "k": 8.5, "V0": 1.0},
    "von_bertalanffy": {"a": 2.0, "b": 0.1, "V0": 3.0},
    "power_law": {"a": 0.9, "gamma": 0.66, "V0": 1.5},
}


def test_all_registered_with_summaries():
    names = set(available())
    assert set(growth.GROWTH_MODELS) <= names
    for n in growth.GROWTH_MODELS:
        assert describe()[n]
        assert get(n).name == n


@pytest.mark.parametrize("name", growth.GROWTH_MODELS)
def test_matches_closed_form(name):
    model = get(name)
    res = Simulator(model, times=TIMES, options=TIGHT).run(CASES[name])
    expected = closed_form(name, {**model.parameter_values(), **CASES[name]}, TIMES)
    np.testing.assert_allclose(res["V"], expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("name", growth.GROWTH_MODELS)
def test_parameters_are_documented(name):
    model = get(name)
    assert model.state_names == ("V",)
    assert model.states[0].unit == "mm^3"
    for p in model.parameters:
        assert p.unit and p.description, p.name
        assert p.lower <= p.value <= p.upper
        if p.log_scale:
            assert p.lower > 0
    assert "V0" in growth.GIVEN_PARAMETERS[name]


def test_reduced_gompertz_is_gompertz_with_alpha_k_beta():
    """alpha = k*beta turns the Gompertz model into the reduced one (Vaghi 2020)."""
    sim_g = Simulator(get("gompertz"), times=TIMES, options=TIGHT)
    sim_r = Simulator(get("reduced_gompertz"), times=TIMES, options=TIGHT)
    vg = sim_g.run({"alpha": 7.9 * 0.07, "beta": 0.07, "V0": 1.0})["V"]
    vr = sim_r.run({"k": 7.9, "beta": 0.07, "V0": 1.0})["V"]
    np.testing.assert_allclose(vr, vg, rtol=1e-8)


@settings(max_examples=25, deadline=None)
@given(alpha=st.floats(0.05, 2.0), beta=st.floats(0.01, 0.5), v0=st.floats(0.1, 50.0))
def test_gompertz_closed_form_property(alpha, beta, v0):
    model = get("gompertz")
    res = Simulator(model, times=np.linspace(0, 30, 7), options=TIGHT).run({"alpha": alpha, "beta": beta, "V0": v0})
    expected = closed_form("gompertz", {"alpha": alpha, "beta": beta, "V0": v0}, res.times)
    np.testing.assert_allclose(res["V"], expected, rtol=RTOL)
    # the volume tends monotonically to the carrying capacity exp(alpha/beta)
    K = math.exp(alpha / beta)
    assert np.all(np.diff(res["V"] - K) * np.sign(v0 - K) <= 1e-9 * K)

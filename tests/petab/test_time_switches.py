"""Inputs switched on at a time a parameter holds (``piecewise(0, time < tau, 1)``): integrated in segments
split at the switch time, against the closed-form solution."""

from __future__ import annotations

import math

import numpy as np
import pytest
from petab_data import write_problem

import bonemet_ode as bm

MODEL = """
model switched
  J1: -> x; k*piecewise(0, time < tau, 1)
  J2: -> y; k*piecewise(1, time <= tau, 0)
  x = 0; y = 0; k = 2; tau = 1.5
end
"""
TIMES = (0.5, 1.0, 1.5, 2.0, 3.25, 5.0)


def _problem(tmp_path, tau_estimated: bool) -> bm.PetabProblem:
    conditions = "conditionId\ttau\nearly\t0.75\nlate\t2.5\nbefore\t-1\n" if not tau_estimated else "conditionId\nc0\n"
    conds = ("early", "late", "before") if not tau_estimated else ("c0",)
    rows = ["observableId\tsimulationConditionId\tmeasurement\ttime"]
    for c in conds:
        for t in TIMES:
            rows += [f"obs_x\t{c}\t{0.3 * t}\t{t}", f"obs_y\t{c}\t{0.2 * t}\t{t}"]
    prow = "tau\tlin\t0\t10\t1.5\t1\n" if tau_estimated else ""
    return bm.read_petab(write_problem(
        tmp_path, MODEL, conditions, "\n".join(rows) + "\n",
        "observableId\tobservableFormula\tnoiseFormula\nobs_x\tx\t0.5\nobs_y\ty\t0.5\n",
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n"
        "k\tlog10\t0.01\t100\t2\t1\n" + prow))


def _closed_form(pp, k: float, taus: dict) -> tuple[np.ndarray, float]:
    m = pp.measurements
    t = m["time"].to_numpy(float)
    tau = np.maximum(m["simulationConditionId"].map(taus).to_numpy(float), 0.0)  # a switch before time 0: on at 0
    sim = np.where(m["observableId"] == "obs_x", k * np.maximum(0.0, t - tau), k * np.minimum(t, tau))
    r = (m["measurement"].to_numpy(float) - sim) / 0.5
    return sim, float(np.sum(-0.5 * math.log(2 * math.pi * 0.25) - 0.5 * r ** 2))


def test_switch_times_are_found_and_the_solution_is_exact(tmp_path):
    pp = _problem(tmp_path, tau_estimated=False)
    # time < tau and time <= tau switch at the same time: one flag
    assert [(str(s.tau), s.before, s.after) for s in pp.sbml.switches] == [("tau", 1.0, 0.0)]
    assert pp.gradient_method == "forward sensitivities"
    taus = {"early": 0.75, "late": 2.5, "before": -1.0}
    for k in (2.0, 0.7):
        x = np.array([math.log10(k)])
        sim, llh = _closed_form(pp, k, taus)
        np.testing.assert_allclose(pp.simulations(x)["simulation"], sim, rtol=1e-8, atol=1e-9)
        assert abs(pp.llh(x) - llh) < 1e-7
        # d llh / d log10(k) from the closed form (the simulation is linear in k)
        r = (pp.measurements["measurement"].to_numpy(float) - sim) / 0.5
        g = float(np.sum(r * sim / 0.5)) * math.log(10)
        ev = pp.evaluate(x, gradient=True)
        assert ev.grad_llh[0] == pytest.approx(g, rel=1e-6)


def test_estimated_switch_time_uses_finite_differences(tmp_path):
    """The sensitivities jump at a switch that moves with an estimated parameter: the gradient comes from
    finite differences (stated in ``gradient_method``) and matches the closed form."""
    pp = _problem(tmp_path, tau_estimated=True)
    assert pp.gradient_method == "finite differences"
    k, tau = 2.0, 1.8
    x = np.array([math.log10(k), tau])
    _sim, llh = _closed_form(pp, k, {"c0": tau})
    assert abs(pp.llh(x) - llh) < 1e-7
    h = 1e-6
    _s, up = _closed_form(pp, k, {"c0": tau + h})
    _s, dn = _closed_form(pp, k, {"c0": tau - h})
    ev = pp.evaluate(x, gradient=True)
    assert ev.grad_llh[1] == pytest.approx((up - dn) / (2 * h), rel=1e-4)


def test_observable_that_reads_a_switch(tmp_path):
    """An observable of a switched input takes the flag's value at each output time (from the switch time on:
    the value after it, as ``time < tau`` is false at ``tau``)."""
    model = MODEL.replace("  x = 0;", "  u := 3*piecewise(0, time < tau, 1)\n  x = 0;")
    rows = [f"obs_u\t{c}\t1\t{t}" for c in ("c0", "c1") for t in (0.0, 1.0, 2.0, 3.0)]
    pp = bm.read_petab(write_problem(
        tmp_path, model, "conditionId\ttau\nc0\t2\nc1\t0.5\n",
        "observableId\tsimulationConditionId\tmeasurement\ttime\n" + "\n".join(rows) + "\n",
        "observableId\tobservableFormula\tnoiseFormula\nobs_u\tu + x\t1\n",
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\nk\tlin\t0\t10\t2\t1\n"))
    m = pp.measurements
    t = m["time"].to_numpy(float)
    tau = m["simulationConditionId"].map({"c0": 2.0, "c1": 0.5}).to_numpy(float)
    k = 2.0
    expected = 3.0 * (t >= tau) + k * np.maximum(0.0, t - tau)
    np.testing.assert_allclose(pp.simulations()["simulation"], expected, rtol=1e-8, atol=1e-9)
    # d/dk of u + x = max(0, t - tau): the gradient of the llh (sigma 1) is sum(r * (t - tau)+)
    r = 1.0 - expected
    g = pp.evaluate(np.array([k]), gradient=True).grad_llh[0]
    assert g == pytest.approx(float(np.sum(r * np.maximum(0.0, t - tau))), rel=1e-6)

"""Forward-sensitivity gradients of the PEtab log-likelihood against central finite differences, and the
objective's parts against an independent closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from petab_data import BENCHMARK, SUITE_V1, needs_benchmarks, needs_petab_suite

import bonemet_ode as bm


def _fd(pp, x, h=1e-5):
    g = np.zeros(len(x))
    for j in range(len(x)):
        hj = h * max(1.0, abs(x[j]))
        u, d = x.copy(), x.copy()
        u[j] += hj
        d[j] -= hj
        g[j] = (pp.llh(u) - pp.llh(d)) / (2 * hj)
    return g


@needs_petab_suite
@pytest.mark.parametrize("case", ["0002", "0005", "0006", "0010", "0012", "0015", "0016", "0017", "0019"])
def test_gradient_matches_finite_differences(case):
    """Pre-equilibration (0010, 0017), initial values set by estimated parameters (0019), parametric noise
    (0015), log transformation (0016), compartment sizes (0012), per-row and per-condition overrides."""
    pp = bm.read_petab(SUITE_V1 / case / f"_{case}.yaml")
    assert pp.gradient_method == "forward sensitivities"
    rng = np.random.default_rng(3)
    x = np.clip(pp.x_nominal + 0.1 * rng.standard_normal(len(pp.free)) + 0.05, pp.lower + 0.01, pp.upper - 0.01)
    ev = pp.evaluate(x, gradient=True)
    g = _fd(pp, x)
    np.testing.assert_allclose(ev.grad_llh, g, rtol=1e-5, atol=1e-6)


@needs_petab_suite
def test_conversion_reaction_closed_form():
    """Case 0001 (A <-> B, mass action, c0: a0 = 1, b0 = 0; obs A with sigma 0.5): llh from the analytic
    solution A(t) = (k2 (a0 + b0) + (k1 a0 - k2 b0) e^{-(k1+k2) t}) / (k1 + k2)."""
    pp = bm.read_petab(SUITE_V1 / "0001" / "_0001.yaml")
    x = np.array([1.3, 0.4, 0.8, 0.6])  # a0, b0, k1, k2 (linear scale)
    assert pp.free == ("a0", "b0", "k1", "k2")
    a0, b0, k1, k2 = x
    m = pp.measurements
    t = m["time"].to_numpy(float)
    A = (k2 * (a0 + b0) + (k1 * a0 - k2 * b0) * np.exp(-(k1 + k2) * t)) / (k1 + k2)
    r = (m["measurement"].to_numpy(float) - A) / 0.5
    llh = float(np.sum(-0.5 * math.log(2 * math.pi * 0.25) - 0.5 * r ** 2))
    assert abs(pp.llh(x) - llh) < 1e-7
    assert abs(pp.chi2(x) - float(r @ r)) < 1e-7
    np.testing.assert_allclose(pp.simulations(x)["simulation"], A, rtol=1e-7)


@needs_benchmarks
@pytest.mark.slow
def test_gradient_across_a_state_event_matches_finite_differences():
    """Liu_IFACPapersOnLine2025: its event sets the target cells U to 0 once below 1e-8 (it fires in every
    condition); the forward-sensitivity gradient crosses it (jump conditions in the compiled solver)."""
    name = "Liu_IFACPapersOnLine2025"
    pp = bm.read_petab(BENCHMARK / name / f"{name}.yaml")
    assert [e.assignment_map for e in pp.model.events] == [{"U": "0"}]
    assert pp.gradient_method == "forward sensitivities"
    fired = bm.Simulator(pp.model, times=np.array([0.0, 50.0])).run()
    assert fired.stats["events"] == 1 and fired["U"][-1] == 0.0
    ev = pp.evaluate(pp.x_nominal, gradient=True)
    g = _fd(pp, pp.x_nominal)
    np.testing.assert_allclose(ev.grad_llh, g, rtol=1e-5, atol=1e-6 * np.abs(g).max())

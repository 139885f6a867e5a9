"""The vectorised evaluation (:meth:`PetabProblem.evaluate`, :meth:`PetabProblem.residuals`: index arrays built once
per problem, every observable's rows of all conditions in one formula call) against the plain row-by-row
reference of ``petab_reference.py`` at the same parameters: llh and chi2 to 1e-12 relative, simulations, noise
parameters and residual Jacobians to 1e-12 of their largest entry, gradients to 1e-12 of the sum of their rows'
absolute terms."""

from __future__ import annotations

import numpy as np
import pytest
from petab_data import BENCHMARK, SUITE_V1, needs_benchmarks, needs_petab_suite, write_problem
from petab_reference import evaluate_reference, residuals_reference

import bonemet_ode as bm

TOL = 1e-12


def _close(a, b, what, scale=None):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, what
    scale = max(float(np.max(np.abs(b), initial=0.0)) if scale is None else float(np.max(scale)), 1e-300)
    assert float(np.max(np.abs(a - b), initial=0.0)) <= TOL * scale, (what, a, b)


def _points(pp, n, seed):
    rng = np.random.default_rng(seed)
    lo, hi = np.maximum(pp.lower, pp.x_nominal - 0.5), np.minimum(pp.upper, pp.x_nominal + 0.5)
    return [pp.x_nominal] + [rng.uniform(lo, hi) for _ in range(n - 1)]


def _compare(pp, x, gradients=(False, True)):
    for gradient in gradients:
        ev, ref = pp.evaluate(x, gradient=gradient), evaluate_reference(pp, x, gradient=gradient)
        assert ev.failure == ""
        assert ev.llh == pytest.approx(ref.llh, rel=TOL, abs=0)
        assert ev.chi2 == pytest.approx(ref.chi2, rel=TOL, abs=0)
        _close(ev.simulation, ref.simulation, "simulation")
        _close(ev.sigma, ref.sigma, "sigma")
        if gradient:
            # the sum of many rows' terms cancels near an optimum: rounding is relative to the terms' size
            _close(ev.grad_llh, ref.grad_llh, "gradient", scale=ref.grad_scale)
            _close(ev.dsim, ref.dsim, "d simulation")
            _close(ev.dsigma, ref.dsigma, "d sigma")
    if pp.least_squares_form():
        r, J = pp.residuals(x)
        rr, JJ = residuals_reference(pp, x)
        _close(r, rr, "residuals")
        _close(J, JJ, "residual Jacobian")


@needs_petab_suite
@pytest.mark.parametrize("case", [f"{k:04d}" for k in range(1, 21)])
def test_suite_case_matches_the_row_by_row_reference(case):
    """Pre-equilibration, per-row and per-condition placeholders, parametric noise, log and log10
    transformations, laplace noise, compartments: every v1 case of PEtab's test suite."""
    pp = bm.read_petab(SUITE_V1 / case / f"_{case}.yaml")
    # cases with finite-difference gradients (events) compare the values; the others values and gradients
    gradients = (False, True) if pp.gradient_method == "forward sensitivities" else (False,)
    for x in _points(pp, 3, seed=int(case)):
        _compare(pp, x, gradients)


@needs_benchmarks
@pytest.mark.parametrize("name", ["Boehm_JProteomeRes2014", "Bruno_JExpBot2016"])
def test_benchmark_matches_the_row_by_row_reference(name):
    """Boehm (one condition, estimated noise parameters, a normal prior-free least-squares form) and Bruno (six
    conditions, log10 observables)."""
    pp = bm.read_petab(next((BENCHMARK / name).glob("*.yaml")))
    for x in _points(pp, 3, seed=1):
        _compare(pp, x)


def test_fast_evaluation_of_a_switched_observable_matches_the_reference(tmp_path):
    """An observable that reads a time-switch flag, two conditions with different switch times: the per-row
    flags of the vectorised path against the reference's groups of output times."""

    model = """
model switched
  J1: -> x; k*piecewise(0, time < tau, 1)
  u := 3*piecewise(0, time < tau, 1)
  x = 0; k = 2; tau = 1.5
end
"""
    rows = [f"obs_u\t{c}\t{1 + t}\t{t}\t{s}" for c, s in (("c0", "s1"), ("c1", "0.7")) for t in (0.0, 1.0, 2.0, 3.0)]
    yaml = write_problem(
        tmp_path, model, "conditionId\ttau\nc0\t2\nc1\t0.5\n",
        "observableId\tsimulationConditionId\tmeasurement\ttime\tnoiseParameters\n" + "\n".join(rows) + "\n",
        "observableId\tobservableFormula\tnoiseFormula\nobs_u\tu * x + x * x\tnoiseParameter1_obs_u\n",
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n"
        "k\tlog10\t0.01\t10\t2\t1\ns1\tlog\t0.01\t10\t0.5\t1\n")
    pp = bm.read_petab(yaml)
    assert len(pp._sw_index) and pp.obs_f["obs_u"].rowwise
    for x in _points(pp, 3, seed=2):
        _compare(pp, x)

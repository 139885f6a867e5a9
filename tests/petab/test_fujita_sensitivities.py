"""Fujita_SciSignal2010: forward sensitivities at start points where they used to fail.

The two start points are draws 8 and 12 of PEtab's ``sample_parameter_startpoints`` (seed 0, 110 points: what
``accepted_start_points(problem, 10, seed=0)`` draws), written out so that the test does not depend on the sampler.
Before commit 7ec945c, the states at point 12 failed with a step-size underflow at t = 3600, where the input ``EGF =
piecewise(EGF_0, time <= EGF_end, 0)`` switches off (EGF_end = 3600, the last measurement time); moving EGF_end to
3601 removed every such failure among the first 25 draws, and the time switches (integration split at the switch
time) removed them for the problem as given.  Before commit aeb8e16, point 8 integrated without sensitivities but
the sensitivity system stopped at t = 105.6 after the maximum number of steps (189480 steps to t = 100, 79517 of
them rejected, against 3009 and 164 now).  Its dense pivoting fallback of the stage solves factored the whole block
lower-triangular ``fac*I - J`` (200 x 200: 10 states, 19 targets; entries up to 1e17) with partial pivoting over all
rows, and the sensitivity components of its solutions had errors of 500-2200 times the error test's tolerance
(0.03-0.2 with the block-by-block solve).  The checks below: that solve against an extended-precision reference, in
units of the error test's tolerance, and the gradient at both points against central finite differences of the
objective.
"""

from __future__ import annotations

import numpy as np
import pytest
from petab_data import BENCHMARK, needs_benchmarks

import bonemet_ode as bm

NAME = "Fujita_SciSignal2010"
#: draws 8 and 12 (log10 scale, in ``problem.free`` order)
START_8 = np.array([
    7.4186041680164685, 6.107765789677645, 7.157929447822788, 1.4015941631422244, 7.503547274725628,
    1.9727147683220903, 3.4202698945602616, 4.450745527204067, -5.735896230049596, -4.341655184272872,
    -0.4413793732628317, 4.372146017072371, -7.286862224197375, 6.156237156790079, -2.421356836506117,
    4.210243684076687, 1.0667094298085527, 1.6029507837030401, 1.865895096833185])
START_12 = np.array([
    1.088712977502917, 7.297338155571582, 0.29121142289061197, -0.6423058599038818, -4.009279343096781,
    7.689282124596518, 1.8324431969651318, 5.485678205367314, -0.8260931376320428, -0.3867808662844361,
    -2.2758738547145807, 7.8826718954282615, 7.719118128011358, -1.6477813315578658, 5.556923013339757,
    1.5389511484678984, -0.4898503176775524, -6.322652683947986, -7.55754949591452])

pytestmark = needs_benchmarks


@pytest.fixture(scope="module")
def fujita():
    return bm.read_petab(BENCHMARK / NAME / f"{NAME}.yaml")


def _central(pp, x, h=1e-5):
    g = np.zeros(len(x))
    for j in range(len(x)):
        u, d = x.copy(), x.copy()
        u[j] += h
        d[j] -= h
        g[j] = (pp.llh(u) - pp.llh(d)) / (2 * h)
    return g


@pytest.mark.parametrize("x", [START_8, START_12], ids=["start8", "start12"])
def test_gradient_at_former_failures_matches_central_differences(fujita, x):
    pp = fujita
    assert pp.gradient_method == "forward sensitivities"
    ev = pp.evaluate(x, gradient=True)
    assert ev.failure == "" and np.isfinite(ev.llh)
    g = ev.grad_llh
    assert np.all(np.isfinite(g))
    fd = _central(pp, x)
    scale = np.abs(fd).max()
    assert np.max(np.abs(g - fd)) <= 1e-4 * scale
    big = np.abs(fd) >= 1e-2 * scale  # components far above the differences' own noise
    np.testing.assert_allclose(g[big], fd[big], rtol=1e-4)


def _block_reference(J, fac, b, n):
    """``(fac*I - J) x = b`` for the block lower-triangular sensitivity Jacobian, block by block in 40-digit
    arithmetic (mpmath): the states' block, then each sensitivity block with its coupling to the states."""
    import mpmath as mp

    N = len(b)
    with mp.workdps(40):
        A = mp.matrix(n, n)
        for i in range(n):
            for j in range(n):
                A[i, j] = (fac if i == j else 0) - mp.mpf(J[i, j])
        v0 = mp.lu_solve(A, mp.matrix([mp.mpf(v) for v in b[:n]]))
        out = np.zeros(N)
        out[:n] = [float(v) for v in v0]
        for s in range(n, N, n):
            rhs = mp.matrix([mp.mpf(b[s + i]) + mp.fsum(mp.mpf(J[s + i, j]) * v0[j] for j in range(n))
                             for i in range(n)])
            out[s:s + n] = [float(v) for v in mp.lu_solve(A, rhs)]
    return out


def test_dense_fallback_solve_of_the_sensitivity_system_is_within_the_error_tolerance(fujita):
    """Stage solves of the sensitivity system along the trajectory from start 8 (condition EGF 0.1 ng/mL), at a
    step size where the static pivot order is unsafe (the dense fallback), in units of the error test's
    tolerance ``atol_i + rtol*|y_i|``: the solve's error must stay below the tolerance it is tested against."""
    from bonemet_ode.petab.reading import unscale

    pp = fujita
    plin = pp._nominal_all.astype(float).copy()
    plin[pp._est_rows] = [unscale(v, s) for v, s in zip(START_8, pp.scales)]
    c = next(c for c in pp.conditions if c.sim == "condition_step_00_1")
    p, Dp = c.fast[0].get(plin), c.fast[0].d(plin)  # the condition's parameter vector and d/d free parameters
    x0, _V = pp._initial(p, Dp, c.x_sim, plin, None)
    times = np.array([0.0, 20.0, 40.0, 60.0])
    sim = pp._simulator(times, True)
    p, ev = pp._switched(p, float(sim.times[-1]), False)
    n, m = len(x0), len(pp._targets)
    y0 = np.zeros(n * (1 + m))
    y0[:n] = x0
    for a, zi in enumerate(pp._Z):
        y0[n * (1 + len(pp._K) + a) + zi] = 1.0
    Y, _O, _stats, status, _ft, _fs = pp._single(sim, ev).solve(y0, np.ascontiguousarray(p))
    assert status == 0
    cm = sim.compiled
    h = 0.1
    fac = 1.0 / (h * 0.21193756319429014)  # RODAS5P's gamma
    for y in Y[1:]:
        y = np.ascontiguousarray(y)
        J = cm.jacobian(y, p)
        b = h * cm.rhs(y, p)
        x, path = cm.iteration_solve(y, p, fac, b)
        assert path == 1  # the dense fallback is what this checks
        ref = _block_reference(J, fac, b, n)
        err = np.abs(x - ref) / (sim.atol + pp.rtol * np.abs(y))
        assert err.max() < 1.0, (float(err[:n].max()), float(err[n:].max()))

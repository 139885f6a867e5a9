"""Noise models: per-point likelihoods against scipy.stats, censoring (Beal M3), derivatives, residual vectors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bonemet_ode.errors import FitError
from bonemet_ode.estimate.noise import (
    AdditiveNoise,
    CombinedNoise,
    LogNormalNoise,
    ProportionalNoise,
    make_noise,
    nll_derivatives,
    point_nll,
    residual_vector,
)

Y = np.array([10.0, 55.0, 120.0, 480.0])
F = np.array([12.0, 50.0, 130.0, 450.0])


def nll_on_data_scale(nm, y, f, theta, censored):
    """The library's NLL of y (density on the data scale), as the fitter assembles it."""
    mu, s = nm.location(f), nm.sd(f, theta)
    ty = nm.transform(y)
    return point_nll(ty, mu, s, censored) - np.where(censored, 0.0, nm.log_jacobian(y))


@pytest.mark.parametrize("nm, theta, ref", [
    (AdditiveNoise(), {"a": 7.0}, lambda y, f: stats.norm.logpdf(y, f, 7.0)),
    (ProportionalNoise(), {"b": 0.2}, lambda y, f: stats.norm.logpdf(y, f, 0.2 * f)),
    (CombinedNoise(), {"a": 3.0, "b": 0.1}, lambda y, f: stats.norm.logpdf(y, f, 3.0 + 0.1 * f)),
    (LogNormalNoise(), {"sigma": 0.15}, lambda y, f: stats.lognorm.logpdf(y, s=0.15, scale=f)),
])
def test_point_nll_equals_scipy_density(nm, theta, ref):
    got = nll_on_data_scale(nm, Y, F, theta, np.zeros(4, bool))
    np.testing.assert_allclose(got, -ref(Y, F), rtol=1e-12)


@pytest.mark.parametrize("nm, theta, ref", [
    (AdditiveNoise(), {"a": 7.0}, lambda L, f: stats.norm.logcdf(L, f, 7.0)),
    (ProportionalNoise(), {"b": 0.2}, lambda L, f: stats.norm.logcdf(L, f, 0.2 * f)),
    (LogNormalNoise(), {"sigma": 0.15}, lambda L, f: stats.lognorm.logcdf(L, s=0.15, scale=f)),
])
def test_censored_point_contributes_the_cdf(nm, theta, ref):
    """A point censored at LLOQ L contributes -log P(y < L) (Beal M3)."""
    lloq = np.array([20.0, 20.0, 20.0, 20.0])
    f = np.array([5.0, 19.0, 25.0, 60.0])  # far below, near and above the limit
    got = nll_on_data_scale(nm, lloq, f, theta, np.ones(4, bool))
    np.testing.assert_allclose(got, -ref(lloq, f), rtol=1e-10)
    assert np.all(np.diff(got) > 0)  # the further the prediction above L, the less likely the censoring


def test_censored_far_tail_is_finite():
    got = point_nll(np.array([0.0]), np.array([100.0]), np.array([1.0]), np.array([True]))
    np.testing.assert_allclose(got, -stats.norm.logcdf(-100.0), rtol=1e-10)


def _moments(theta):
    """A toy model: mu = th0*t + th1, log s = log(0.1 + th2*|mu|)/... (depends on all parameters)."""
    t = np.linspace(0.0, 3.0, 9)
    mu = theta[0] * t + theta[1]
    s = 0.2 + theta[2] * np.abs(mu)
    return mu, s


def test_gradient_matches_finite_differences():
    theta = np.array([1.3, 0.4, 0.15])
    mu, s = _moments(theta)
    rng = np.random.default_rng(3)
    y = mu + s * rng.standard_normal(mu.size)
    cens = np.zeros(mu.size, bool)
    cens[[1, 5]] = True
    y[1], y[5] = mu[1] + 0.5, mu[5] - 1.0  # limits above and below the prediction
    h = 1e-6
    jm, jl = np.zeros((mu.size, 3)), np.zeros((mu.size, 3))
    fd = np.zeros(3)
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        mp, sp = _moments(theta + e)
        mm, sm = _moments(theta - e)
        jm[:, k], jl[:, k] = (mp - mm) / (2 * h), (np.log(sp) - np.log(sm)) / (2 * h)
        fd[k] = (point_nll(y, mp, sp, cens).sum() - point_nll(y, mm, sm, cens).sum()) / (2 * h)
    nll, grad, info = nll_derivatives(y, mu, s, cens, jm, jl)
    assert nll == pytest.approx(point_nll(y, mu, s, cens).sum(), rel=1e-12)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    assert np.all(np.linalg.eigvalsh(info) > 0)


def test_information_is_the_expected_fisher_information():
    """Monte Carlo: the mean outer product of the score equals the information (observed points)."""
    theta = np.array([1.3, 0.4, 0.15])
    mu, s = _moments(theta)
    h = 1e-6
    jm, jl = np.zeros((mu.size, 3)), np.zeros((mu.size, 3))
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        mp, sp = _moments(theta + e)
        mm, sm = _moments(theta - e)
        jm[:, k], jl[:, k] = (mp - mm) / (2 * h), (np.log(sp) - np.log(sm)) / (2 * h)
    cens = np.zeros(mu.size, bool)
    _, _, info = nll_derivatives(mu, mu, s, cens, jm, jl)
    rng = np.random.default_rng(11)
    n = 40000
    z = rng.standard_normal((n, mu.size))
    # score of one replicate: sum_i (-z_i/s_i) dmu_i - (z_i^2 - 1) dlogs_i  (negated gradient of the NLL)
    score = -(z / s) @ jm - (z ** 2 - 1) @ jl
    mc = score.T @ score / n
    np.testing.assert_allclose(mc, info, rtol=0.05, atol=0.02 * np.abs(info).max())


def test_residual_vector_norm_is_twice_the_nll_up_to_a_constant():
    rng = np.random.default_rng(5)
    y = rng.normal(100, 10, 12)
    cens = np.zeros(12, bool)
    cens[0] = True
    nm = CombinedNoise()
    norms, nlls = [], []
    for f_scale, a, b in ((1.0, 2.0, 0.1), (1.1, 5.0, 0.05), (0.9, 1.0, 0.3)):
        f = np.full(12, 100.0 * f_scale)
        s = nm.sd(f, {"a": a, "b": b})
        r = residual_vector(y, f, s, cens, offset=5.0)
        norms.append(r @ r)
        nlls.append(point_nll(y, f, s, cens).sum())
    np.testing.assert_allclose(np.diff(norms), 2 * np.diff(nlls), rtol=1e-10)


def test_make_noise_and_validation():
    assert isinstance(make_noise("LogNormal"), LogNormalNoise)
    assert make_noise(ProportionalNoise(0.3)).b == 0.3
    with pytest.raises(FitError, match="'poisson'"):
        make_noise("poisson")
    with pytest.raises(FitError, match="'b'"):
        ProportionalNoise(b=-1.0)
    (a,) = AdditiveNoise().parameters(data_scale=250.0)
    assert a.value == pytest.approx(25.0) and a.log_scale


def test_given_sd_on_log_scale():
    nm = LogNormalNoise()
    np.testing.assert_allclose(nm.given_sd(np.array([100.0]), np.array([10.0])), np.sqrt(np.log1p(0.01)))

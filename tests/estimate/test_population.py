"""Population fits: exact agreement where the Laplace likelihood is exact, recovery where it is not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fit_helpers import TIGHT, concat, exp_curve, table
from scipy import optimize, stats

import bonemet_ode.models.growth as growth
from bonemet_ode.errors import FitError
from bonemet_ode.estimate import PopulationFitter
from bonemet_ode.models import get

T = np.arange(2.0, 21.0, 3.0)


def test_linear_random_effect_matches_the_exact_marginal_likelihood():
    """log y_ij = log V0_i + alpha t_ij + eps_ij with log V0_i ~ N(mu, omega^2): Laplace is exact.

    Reference: the exact marginal MLE of (mu, omega, sigma) from the compound-symmetric
    multivariate normal of z_i = log y_i - alpha t, maximised with scipy.
    """
    rng = np.random.default_rng(31)
    alpha, mu, omega, sigma, n = 0.2, math.log(2.0), 0.4, 0.08, 12
    logv0 = mu + omega * rng.standard_normal(n)
    parts, Z = [], []
    for i in range(n):
        z = logv0[i] + sigma * rng.standard_normal(T.size)
        Z.append(z)
        parts.append(table(f"s{i}", "ctrl", T, np.exp(z + alpha * T)))
    data = concat(*parts)

    def neg_loglik(x):
        m, w, s = x[0], math.exp(x[1]), math.exp(x[2])
        cov = w ** 2 * np.ones((T.size, T.size)) + s ** 2 * np.eye(T.size)
        return -sum(stats.multivariate_normal.logpdf(z, np.full(T.size, m), cov) for z in Z)

    ref = optimize.minimize(neg_loglik, [0.5, math.log(0.3), math.log(0.1)], method="BFGS",
                            options={"gtol": 1e-9})
    log_y = sum(float(np.sum(z + alpha * T)) for z in Z)  # log-Jacobian of y = exp(z + alpha t)
    pop = PopulationFitter(growth.exponential(), data, random=["V0"], fixed={"alpha": alpha},
                           noise="lognormal", tol=1e-7, options=TIGHT).fit()
    assert pop.converged
    assert pop.mu[0] == pytest.approx(ref.x[0], abs=1e-6)
    assert pop.omega_sd["V0"] == pytest.approx(math.exp(ref.x[1]), rel=1e-5)
    assert pop.values["noise_sigma"] == pytest.approx(math.exp(ref.x[2]), rel=1e-5)
    assert pop.objective == pytest.approx(2 * (ref.fun + log_y), abs=1e-5)
    assert pop.n_parameters == 3


def test_recovers_population_mean_and_variance_of_a_log_growth_rate():
    """alpha_i log-normal (mu = log 0.25, omega = 0.3), 30 subjects, 7 points each, 10 % proportional noise.

    Stated tolerances: the estimates lie within 3 standard errors of the truth
    (SE(mu) from the fit, SE(omega) = omega/sqrt(2N)), and - since individual
    curves are rich - within 0.03 of the realised sample mean and sd of log alpha_i.
    """
    rng = np.random.default_rng(32)
    n, mu, omega = 30, math.log(0.25), 0.3
    log_alpha = mu + omega * rng.standard_normal(n)
    parts = []
    for i in range(n):
        f = exp_curve(T, math.exp(log_alpha[i]))
        parts.append(table(f"s{i}", "ctrl", T, f * (1 + 0.1 * rng.standard_normal(T.size))))
    pop = PopulationFitter(growth.exponential(), concat(*parts), random=["alpha"], fixed={"V0": 1.0},
                           options=TIGHT).fit()
    assert pop.converged
    se_mu = math.sqrt(pop.mu_covariance[0, 0])
    assert abs(pop.mu[0] - mu) < 3 * se_mu
    assert abs(pop.omega_sd["alpha"] - omega) < 3 * omega / math.sqrt(2 * n)
    assert pop.mu[0] == pytest.approx(log_alpha.mean(), abs=0.03)
    assert pop.omega_sd["alpha"] == pytest.approx(log_alpha.std(ddof=0), abs=0.03)
    assert pop.values["noise_b"] == pytest.approx(0.1, rel=0.2)
    # individual conditional modes track the true rates
    est = np.log(pop.individual["alpha"].to_numpy())
    assert np.corrcoef(est, log_alpha)[0, 1] > 0.98
    assert abs(pop.shrinkage["alpha"]) < 0.2
    assert pop.table().loc["omega_alpha", "estimate"] == pytest.approx(pop.omega_sd["alpha"])
    assert set(pop.curves["subject"]) == {f"s{i}" for i in range(n)}


def test_shared_structural_parameter():
    """Reduced Gompertz: beta_i random, k shared; recovered from 12 subjects."""
    rng = np.random.default_rng(33)
    t = np.arange(3.0, 25.0, 3.0)
    k, n = 8.0, 12
    parts = []
    for i in range(n):
        beta = 0.08 * math.exp(0.2 * rng.standard_normal())
        f = np.exp(k * (1 - np.exp(-beta * t)))
        parts.append(table(f"s{i}", "ctrl", t, f * (1 + 0.05 * rng.standard_normal(t.size))))
    pop = PopulationFitter(get("reduced_gompertz"), concat(*parts), random=["beta"], fixed={"V0": 1.0},
                           options=TIGHT).fit()
    assert pop.psi_names == ("k", "noise_b")
    assert abs(pop.values["k"] - k) < 3 * pop.stderr["k"] + 0.05
    assert pop.values["beta"] == pytest.approx(0.08, rel=0.15)


def test_full_covariance_recovers_correlated_random_effects():
    """log V0_i and log alpha_i correlated (rho = -0.7, a classic trade-off); full Omega recovers the sign and size."""
    rng = np.random.default_rng(34)
    n, rho = 25, -0.7
    sd = np.array([0.5, 0.25])
    cov = np.diag(sd) @ np.array([[1, rho], [rho, 1]]) @ np.diag(sd)
    phi = rng.multivariate_normal([math.log(2.0), math.log(0.2)], cov, size=n)
    noise = np.exp(0.05 * rng.standard_normal((n, T.size)))
    parts = [table(f"s{i}", "ctrl", T, exp_curve(T, math.exp(a), math.exp(v)) * noise[i])
             for i, (v, a) in enumerate(phi)]
    pop = PopulationFitter(growth.exponential(), concat(*parts), random=["V0", "alpha"], noise="lognormal",
                           covariance="full", options=TIGHT).fit()
    assert pop.converged and pop.n_parameters == 2 + 3 + 1
    r = pop.omega[0, 1] / math.sqrt(pop.omega[0, 0] * pop.omega[1, 1])
    sample_r = np.corrcoef(phi.T)[0, 1]
    assert r == pytest.approx(sample_r, abs=0.1)
    assert pop.table().loc["corr_V0_alpha", "estimate"] == pytest.approx(r)
    diag = PopulationFitter(growth.exponential(), concat(*parts), random=["V0", "alpha"], noise="lognormal",
                            options=TIGHT).fit()
    assert diag.omega[0, 1] == 0.0 and diag.objective > pop.objective  # ignoring the correlation costs fit


def test_population_validation():
    data = concat(*[table(f"s{i}", "c", T, exp_curve(T, 0.2)) for i in range(3)])
    with pytest.raises(FitError, match="'gamma'"):
        PopulationFitter(growth.exponential(), data, random=["gamma"])
    with pytest.raises(FitError, match="both random and fixed"):
        PopulationFitter(growth.exponential(), data, random=["alpha"], fixed={"alpha": 0.2})
    with pytest.raises(FitError, match="covariance"):
        PopulationFitter(growth.exponential(), data, random=["alpha"], covariance="banded")
    with pytest.raises(FitError, match="named more than once"):  # it fitted two random effects of alpha
        PopulationFitter(growth.exponential(), data, random=["alpha", "alpha"])
    with pytest.raises(FitError, match="'k_el'.*lower bound"):
        PopulationFitter(get("pk_one_compartment"), data, random=["k_el"])
    with pytest.raises(FitError, match="at least 3 subjects"):
        PopulationFitter(growth.exponential(), data.subset(subject=["s0", "s1"]), random=["alpha"])

"""Profile likelihood (identifiability verdicts) and MCMC (lmfit/emcee) with posterior predictive bands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fit_helpers import TIGHT, exp_curve, logistic_curve, product_model, table
from scipy import stats

import bonemet_ode.models.growth as growth
from bonemet_ode.errors import FitError
from bonemet_ode.estimate import Fitter, LogNormalNoise, posterior_predictive, profile_likelihood, sample_posterior
from bonemet_ode.estimate.profile import CHI2_95, VERDICTS, identifiability_table

T = np.arange(2.0, 26.0, 2.0)
SIGMA = 0.1


@pytest.fixture(scope="module")
def linear_case():
    """Exponential growth, log-normal noise with known sigma: the log-likelihood is exactly quadratic in alpha."""
    rng = np.random.default_rng(21)
    y = exp_curve(T, 0.25) * np.exp(SIGMA * rng.standard_normal(T.size))
    fitter = Fitter(growth.exponential(), table("m1", "ctrl", T, y), noise=LogNormalNoise(),
                    fixed={"V0": 1.0, "noise_sigma": SIGMA}, options=TIGHT)
    return fitter, fitter.fit(), y


def test_profile_of_a_quadratic_likelihood_gives_the_wald_interval(linear_case):
    fitter, res, y = linear_case
    prof = profile_likelihood(fitter, res)["alpha"]
    assert prof.verdict == "identifiable" and prof.identifiable
    se = SIGMA / math.sqrt(np.sum(T ** 2))  # exact SE of the slope through the origin
    half = math.sqrt(CHI2_95) * se
    assert res.stderr["alpha"] == pytest.approx(se, rel=1e-4)
    assert prof.lower == pytest.approx(res.values["alpha"] - half, rel=5e-4)
    assert prof.upper == pytest.approx(res.values["alpha"] + half, rel=5e-4)
    # the profile itself is the parabola (alpha - hat)^2 / se^2
    np.testing.assert_allclose(prof.delta, ((prof.values - res.values["alpha"]) / se) ** 2, atol=1e-5, rtol=1e-4)


def test_profile_flags_a_structurally_non_identifiable_product():
    rng = np.random.default_rng(22)
    y = exp_curve(T, 0.2) * (1 + 0.05 * rng.standard_normal(T.size))
    fitter = Fitter(product_model(), table("m1", "ctrl", T, y), fixed={"V0": 1.0}, options=TIGHT)
    res = fitter.fit()
    assert res.values["k1"] * res.values["k2"] == pytest.approx(0.2, rel=0.05)
    profiles = profile_likelihood(fitter, res, ["k1", "k2"], max_steps=12)
    for name in ("k1", "k2"):
        p = profiles[name]
        assert p.verdict == VERDICTS[2], (name, p.delta)
        assert p.values.max() / p.values.min() > 100  # explored two decades and found nothing
        inner = (p.values > p.estimate / 10) & (p.values < p.estimate * 10)
        assert np.all(p.delta[inner] < 0.05)
        # any crossing comes from the other parameter reaching its bound, far from the estimate
        assert not p.lower > p.estimate / 10 and not p.upper < p.estimate * 10
    assert not np.all(np.isfinite(res.covariance))  # the Fisher information is singular
    table_ = identifiability_table(profiles)
    assert list(table_["verdict"]) == [VERDICTS[2]] * 2


def test_profile_flags_practical_non_identifiability():
    """Noise-free data from the growing phase only: K is bounded below, but K -> infinity (exponential
    growth) raises Delta by only ~1.2 < 3.84, so the interval is open above."""
    t = np.arange(1.0, 11.0, 1.0)
    y = logistic_curve(t, 0.5, 1500.0, 1.0)
    fitter = Fitter(growth.logistic(), table("m1", "ctrl", t, y), fixed={"V0": 1.0, "noise_b": 0.05},
                    options=TIGHT)
    res = fitter.fit()
    prof = profile_likelihood(fitter, res, ["K", "alpha"])
    assert prof["K"].verdict == "practically non-identifiable"
    assert prof["K"].lower < res.values["K"] and math.isnan(prof["K"].upper)
    assert prof["K"].values.max() > 30 * res.values["K"]
    assert prof["alpha"].verdict == "identifiable"


def test_profile_rejects_unknown_parameter(linear_case):
    fitter, res, _ = linear_case
    with pytest.raises(FitError, match="'V0'"):
        profile_likelihood(fitter, res, ["V0"])
    # settings that made a degenerate profile without a word
    for kwargs, named in ((dict(max_steps=0), "max_steps"), (dict(flat_tol=-1.0), "flat_tol"),
                          (dict(span=0.0), "span"), (dict(span=float("nan")), "span")):
        with pytest.raises(FitError, match=named):
            profile_likelihood(fitter, res, **kwargs)


def test_mcmc_posterior_of_a_gaussian_likelihood(linear_case):
    """Flat prior x Gaussian likelihood: the posterior of alpha is N(hat, se^2)."""
    fitter, res, _ = linear_case
    post = sample_posterior(fitter, res, steps=700, walkers=16, burn=200, seed=5)
    again = sample_posterior(fitter, res, steps=700, walkers=16, burn=200, seed=5)
    assert post.samples.equals(again.samples)  # seeded
    assert len(post.samples) == 16 * 500
    se = res.stderr["alpha"]
    a = post.samples["alpha"]
    assert abs(a.mean() - res.values["alpha"]) < 0.15 * se
    assert a.std() == pytest.approx(se, rel=0.15)
    q = post.summary()
    z = stats.norm.ppf(0.975)
    assert q.loc["alpha", "upper"] - q.loc["alpha", "lower"] == pytest.approx(2 * z * se, rel=0.15)
    assert 0.2 < post.acceptance < 0.9
    tau = post.autocorr["alpha"]
    assert 1 < tau < 50
    assert post.long_enough == (len(post.samples) // 16 > 50 * tau)  # 500 steps per walker
    i = len(post.samples) // 2  # the log-posterior of a draw is minus the objective there
    v = {**res.values, **post.samples.iloc[i].to_dict()}
    assert post.log_posterior[i] == pytest.approx(-fitter.problem.objective(v), rel=1e-12)


def test_posterior_predictive_band(linear_case):
    fitter, res, y = linear_case
    post = sample_posterior(fitter, res, steps=300, walkers=16, burn=100, seed=1)
    band = posterior_predictive(fitter, post, n_draws=150, seed=2)
    noisy = posterior_predictive(fitter, post, n_draws=150, seed=2, with_noise=True)
    f = band.frame
    assert list(f.columns) == ["arm", "observable", "time", "lower", "median", "upper"]
    assert np.all(f["lower"] <= f["median"]) and np.all(f["median"] <= f["upper"])
    mle = exp_curve(f["time"].to_numpy(), res.values["alpha"])
    assert np.all((f["lower"] <= mle * (1 + 1e-9)) & (mle <= f["upper"] * (1 + 1e-9)))
    last = f["time"] == f["time"].max()
    assert (noisy.frame["upper"] - noisy.frame["lower"])[last].iat[0] > (f["upper"] - f["lower"])[last].iat[0]
    # about 95 % of the data lie inside the noisy band at their times
    inside = np.interp(T, noisy.frame["time"], noisy.frame["lower"]) <= y
    inside &= y <= np.interp(T, noisy.frame["time"], noisy.frame["upper"])
    assert inside.mean() >= 0.75

"""Profile likelihood (identifiability verdicts) and MCMC (lmfit/emcee) with posterior predictive bands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fit_helpers import TIGHT, exp_curve, gompertz_curve, logistic_curve, product_model, table
from scipy import stats

import bonemet_ode.models.growth as growth
from bonemet_ode.errors import BonemetWarning, FitError
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


def _gompertz_fitter(max_nfev):
    rng = np.random.default_rng(2)
    t = np.arange(3.0, 30.0, 3.0)
    y = gompertz_curve(t, 0.8, 0.09) * (1 + 0.1 * rng.standard_normal(t.size))
    return Fitter(growth.gompertz(), table("m", "ctrl", t, y), fixed={"V0": 1.0}, max_nfev=max_nfev)


def test_profile_refuses_a_fit_that_is_not_at_its_optimum():
    """A fit stopped after 3 evaluations (NLL ~97 vs ~47 at the optimum): the profile finds lower
    objectives; the old code clipped Delta to 0 and called alpha and beta 'structurally non-identifiable'."""
    stopped = _gompertz_fitter(3)
    res = stopped.fit()
    assert res.status == "max_evaluations"
    with pytest.raises(FitError, match=r"profiling 'alpha' found objective .* at alpha = .* below the fit's "
                                       r"objective .*refit starting from that point") as info:
        profile_likelihood(stopped, res, ["alpha"], max_steps=4)
    assert "'noise_b'" in str(info.value) and "'V0'" not in str(info.value)
    # the converged fit of the same data profiles cleanly, with alpha identifiable around the truth
    full = _gompertz_fitter(2000)
    best = full.fit()
    assert best.status == "converged" and best.nll < res.nll - 40
    prof = profile_likelihood(full, best, ["alpha"])["alpha"]
    assert prof.verdict == "identifiable" and prof.lower < 0.8 < prof.upper
    assert np.all(prof.delta >= 0)


def test_profile_rejects_unknown_parameter(linear_case):
    fitter, res, _ = linear_case
    with pytest.raises(FitError, match="'V0'"):
        profile_likelihood(fitter, res, ["V0"])
    # settings that made a degenerate profile without a word
    for kwargs, named in ((dict(max_steps=0), "max_steps"), (dict(flat_tol=-1.0), "flat_tol"),
                          (dict(span=0.0), "span"), (dict(span=float("nan")), "span")):
        with pytest.raises(FitError, match=named):
            profile_likelihood(fitter, res, **kwargs)


SHORT_CHAIN = "ignore:sample_posterior. the chain is too short:bonemet_ode.errors.BonemetWarning"


@pytest.mark.filterwarnings(SHORT_CHAIN)  # long_enough is checked below
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


def test_mcmc_refuses_thinning_that_leaves_no_draws(linear_case):
    """steps=50, burn=10, thin=100 used to end in a bare IndexError from inside emcee/lmfit."""
    fitter, res, _ = linear_case
    with pytest.raises(FitError, match=r"steps=50, burn=10, thin=100: the 40 steps left .* no draws"):
        sample_posterior(fitter, res, steps=50, burn=10, thin=100)
    with pytest.warns(BonemetWarning, match="too short"):
        post = sample_posterior(fitter, res, steps=50, burn=10, thin=40, walkers=16)  # exactly one kept step
    assert len(post.samples) == 16


def test_mcmc_warns_when_the_chain_is_too_short(linear_case):
    """30 kept steps cannot span 50 autocorrelation times: long_enough is False, and now it is said."""
    fitter, res, _ = linear_case
    with pytest.warns(BonemetWarning, match=r"too short .*: 30 steps after burn-in.* 50 x the largest") as rec:
        post = sample_posterior(fitter, res, steps=40, burn=10, walkers=16, seed=0)
    assert not post.long_enough
    assert "alpha=" in str(rec[0].message)


@pytest.mark.filterwarnings(SHORT_CHAIN)
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


def test_estimate_on_a_bound_is_flagged_and_its_interval_clipped():
    """True alpha 0.2 but alpha <= 0.15: the estimate sits on the bound. It used to be reported with no
    flag and a Wald CI of about [0.11, 0.20] running past the bound."""
    from bonemet_ode.estimate import fit_report
    rng = np.random.default_rng(8)
    t = np.arange(0.0, 15.0, 1.5)
    y = exp_curve(t, 0.2, 50.0) * (1 + 0.1 * rng.standard_normal(t.size))
    fitter = Fitter(growth.exponential(), table("m", "ctrl", t, y), fixed={"V0": 50.0},
                    bounds={"alpha": (0.01, 0.15)}, initial={"alpha": 0.1})
    with pytest.warns(BonemetWarning, match=r"alpha = 0\.15 at its upper bound"):
        res = fitter.fit()
    assert res.at_bound == {"alpha": "upper"}
    row = res.table().loc["alpha"]
    assert row["at_bound"] == "upper" and row["ci_clipped"]
    assert row["upper"] == 0.15 and row["lower"] < 0.15
    assert "AT UPPER BOUND" in fit_report(res) and "widen the bound" in fit_report(res)
    # with room to move, the same data give an interior estimate near the truth and no flag
    free = Fitter(growth.exponential(), table("m", "ctrl", t, y), fixed={"V0": 50.0}).fit()
    assert free.at_bound == {} and abs(free.values["alpha"] - 0.2) < 0.02
    assert free.table().loc["alpha", "at_bound"] == "" and not free.table().loc["alpha", "ci_clipped"]

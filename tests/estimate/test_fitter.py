"""Maximum-likelihood fits: recovery, coverage of confidence intervals, censoring, arms, hooks, validation."""

from __future__ import annotations

import math

import lmfit
import numpy as np
import pytest
from fit_helpers import TIGHT, concat, exp_curve, gompertz_curve, logistic_curve, table
from scipy import stats

import bonemet_ode.models.growth as growth
from bonemet_ode.errors import BonemetWarning, FitError
from bonemet_ode.estimate import AdditiveNoise, Fitter, LogNormalNoise, ObservationMap, SubjectFitter
from bonemet_ode.model import Parameter

T = np.arange(2.0, 26.0, 2.0)


def exp_data(rng, alpha=0.25, b=0.1, subject="m1", arm="ctrl", v0=1.0):
    f = exp_curve(T, alpha, v0)
    return table(subject, arm, T, f * (1 + b * rng.standard_normal(T.size)))


def test_recovers_gompertz_parameters():
    rng = np.random.default_rng(0)
    f = gompertz_curve(T, 0.8, 0.09)
    data = table("m1", "ctrl", T, f * np.exp(0.05 * rng.standard_normal(T.size)))
    res = Fitter(growth.gompertz(), data, noise="lognormal", fixed={"V0": 1.0}, options=TIGHT).fit()
    assert res.success
    t = res.table()
    for name, true in (("alpha", 0.8), ("beta", 0.09)):
        assert abs(res.values[name] - true) < 3 * t.loc[name, "se"], name
    assert res.values["noise_sigma"] == pytest.approx(0.05, rel=0.5)
    assert res.n_parameters == 3 and res.n_observations == T.size
    assert res.aic == pytest.approx(2 * 3 + 2 * res.nll)


def test_confidence_intervals_cover_at_the_nominal_rate():
    """40 seeded replicates: the 95 % Wald interval of alpha holds the truth >= 33 times.

    With 95 % coverage the count is Binomial(40, 0.95) (mean 38); P(count <= 32) = 0.003.
    The standard errors must also match the scatter of the estimates (within 35 %).
    """
    rng = np.random.default_rng(2024)
    model = growth.exponential()
    hits, estimates, ses = 0, [], []
    for _ in range(40):
        res = Fitter(model, exp_data(rng), fixed={"V0": 1.0}, options=TIGHT).fit()
        t = res.table()
        hits += t.loc["alpha", "lower"] <= 0.25 <= t.loc["alpha", "upper"]
        estimates.append(res.values["alpha"])
        ses.append(t.loc["alpha", "se"])
    assert hits >= 33, hits
    assert np.std(estimates, ddof=1) == pytest.approx(np.mean(ses), rel=0.35)


def test_fisher_covariance_equals_lmfit_covariance_for_fixed_noise():
    """With the noise fixed the Gauss-Newton information is J'J of the weighted residuals: lmfit's covariance."""
    rng = np.random.default_rng(1)
    f = logistic_curve(T, 0.5, 800.0, 2.0)
    data = table("m1", "ctrl", T, f + 20.0 * rng.standard_normal(T.size))
    fitter = Fitter(growth.logistic(), data, noise=AdditiveNoise(), fixed={"V0": 2.0, "noise_a": 20.0},
                    options=TIGHT)
    res = fitter.fit()

    def resid(p):
        v = p.valuesdict()
        return (data.frame["value"].to_numpy() - logistic_curve(T, v["alpha"], v["K"], 2.0)) / 20.0

    params = lmfit.Parameters()
    params.add("alpha", value=res.values["alpha"])
    params.add("K", value=res.values["K"])
    ref = lmfit.minimize(resid, params, method="leastsq", scale_covar=False)
    np.testing.assert_allclose([res.values["alpha"], res.values["K"]],
                               [ref.params["alpha"].value, ref.params["K"].value], rtol=1e-6)
    np.testing.assert_allclose(res.covariance, ref.covar, rtol=2e-3)


def test_censored_point_enters_through_the_cdf():
    rng = np.random.default_rng(4)
    f = exp_curve(T, 0.25)
    y = f * (1 + 0.1 * rng.standard_normal(T.size))
    cens = y < 2.0
    y[cens] = 2.0
    assert cens.sum() >= 1
    data = table("m1", "ctrl", T, y, censored=cens)
    fitter = Fitter(growth.exponential(), data, fixed={"V0": 1.0}, options=TIGHT)
    res = fitter.fit()
    v = res.values
    fpred = exp_curve(T, v["alpha"])
    sd = v["noise_b"] * fpred
    expected = -(stats.norm.logpdf(y[~cens], fpred[~cens], sd[~cens]).sum()
                 + stats.norm.logcdf(2.0, fpred[cens], sd[cens]).sum())
    assert res.nll == pytest.approx(expected, rel=1e-9)
    assert res.n_censored == cens.sum()
    assert abs(v["alpha"] - 0.25) < 3 * res.stderr["alpha"]


def test_sd_column_weights_residuals_and_fixes_the_noise():
    f = exp_curve(T, 0.2, 3.0)
    sd = 0.05 * f + 1.0
    y = f + sd * np.random.default_rng(8).standard_normal(T.size)
    fitter = Fitter(growth.exponential(), table("m1", "a", T, y, sd=sd), fixed={"V0": 3.0}, options=TIGHT)
    assert fitter.problem.varied == ("alpha",)
    res = fitter.fit()
    fpred = exp_curve(T, res.values["alpha"], 3.0)
    assert res.nll == pytest.approx(-stats.norm.logpdf(y, fpred, sd).sum(), rel=1e-9)
    np.testing.assert_allclose(res.points["residual"], (y - fpred) / sd, rtol=1e-7)


def test_pooled_fit_with_arm_specific_parameter():
    rng = np.random.default_rng(6)
    parts = []
    for arm, alpha in (("ctrl", 0.4), ("drug", 0.2)):
        for k in range(3):
            f = logistic_curve(T, alpha, 1000.0, 5.0)
            parts.append(table(f"{arm}{k}", arm, T, f * (1 + 0.05 * rng.standard_normal(T.size))))
    data = concat(*parts)
    fitter = Fitter(growth.logistic(), data, fixed={"V0": 5.0}, arm_specific=["alpha"], options=TIGHT)
    assert fitter.problem.varied == ("alpha__ctrl", "alpha__drug", "K", "noise_b")
    res = fitter.fit()
    assert res.values["alpha__ctrl"] == pytest.approx(0.4, rel=0.05)
    assert res.values["alpha__drug"] == pytest.approx(0.2, rel=0.05)
    assert res.values["K"] == pytest.approx(1000.0, rel=0.1)
    assert set(res.curves["arm"]) == {"ctrl", "drug"}


def test_multistart_is_seeded_and_reproducible():
    data = exp_data(np.random.default_rng(9))
    a = Fitter(growth.exponential(), data, n_starts=4, seed=7, options=TIGHT).fit()
    b = Fitter(growth.exponential(), data, n_starts=4, seed=7, options=TIGHT).fit()
    assert len(a.start_objectives) == 4
    assert a.values == b.values and a.start_objectives == b.start_objectives
    assert min(a.start_objectives) == pytest.approx(a.nll, abs=1e-9)


def test_extra_penalty_hook_matches_the_closed_form_compromise():
    """Lognormal noise, fixed sigma, known V0: log y is linear in alpha, so the penalised optimum is closed-form."""
    rng = np.random.default_rng(12)
    sigma, w, target = 0.1, 8.0, 0.35
    y = exp_curve(T, 0.25) * np.exp(sigma * rng.standard_normal(T.size))
    data = table("m1", "ctrl", T, y)

    def penalty(values):
        return np.array([w * (values["alpha"] - target)])

    fitter = Fitter(growth.exponential(), data, noise=LogNormalNoise(), fixed={"V0": 1.0, "noise_sigma": sigma},
                    extra_penalties=penalty, options=TIGHT)
    res = fitter.fit()
    # minimise sum((log y - alpha t)^2)/(2 sigma^2) + w^2 (alpha - target)^2 / 2
    expected = (np.sum(T * np.log(y)) / sigma ** 2 + w ** 2 * target) / (np.sum(T ** 2) / sigma ** 2 + w ** 2)
    assert res.values["alpha"] == pytest.approx(expected, rel=1e-6)
    assert res.penalty == pytest.approx(0.5 * (w * (expected - target)) ** 2, rel=1e-5)
    assert res.nll == pytest.approx(fitter.problem.nll(res.values))
    unpenalised = Fitter(growth.exponential(), data, noise=LogNormalNoise(),
                         fixed={"V0": 1.0, "noise_sigma": sigma}, options=TIGHT).fit()
    assert unpenalised.values["alpha"] < res.values["alpha"] < target


def test_observation_map_with_an_estimated_scale():
    """Data in 'cells' = scale * V (mm^3): the scale is estimated with V0 fixed."""
    rng = np.random.default_rng(13)
    y = 2e5 * exp_curve(T, 0.25) * (1 + 0.05 * rng.standard_normal(T.size))
    data = table("m1", "ctrl", T, y)
    scale = Parameter("cells_per_mm3", 1e5, "cells/mm^3", 1e3, 1e8, log_scale=True)
    obs = {"tumor_volume": ObservationMap("tumor_volume", "V", scale=scale, unit="cells")}
    res = Fitter(growth.exponential(), data, observations=obs, fixed={"V0": 1.0}, n_starts=2, options=TIGHT).fit()
    assert res.values["cells_per_mm3"] == pytest.approx(2e5, rel=0.1)
    assert res.values["alpha"] == pytest.approx(0.25, rel=0.03)
    assert res.units == {"tumor_volume": "cells"}


def test_errors_name_the_bad_item():
    data = exp_data(np.random.default_rng(1))
    model = growth.exponential()
    with pytest.raises(FitError, match="'gamma'"):
        Fitter(model, data, fixed={"gamma": 1.0})
    with pytest.raises(FitError, match="both free and fixed"):
        Fitter(model, data, free=["alpha"], fixed={"alpha": 0.2})
    with pytest.raises(FitError, match="'alpha'.*model's bounds"):
        Fitter(model, data, bounds={"alpha": (0.0, 100.0)})
    with pytest.raises(FitError, match="arm_specific"):
        Fitter(model, data, fixed={"alpha": 0.3}, arm_specific=["alpha"])
    with pytest.raises(FitError, match="data"):
        Fitter(model, data.frame)
    with pytest.raises(FitError, match="n_starts"):
        Fitter(model, data, n_starts=0)
    with pytest.raises(FitError, match="ObservationMap|observable"):
        Fitter(growth.exponential(), data, observations={"other": ObservationMap("other", "V")})
    with pytest.raises(FitError, match="'W'"):
        Fitter(model, data, observations={"tumor_volume": ObservationMap("tumor_volume", "W")})


def test_subject_fits_keep_failures_per_member():
    rng = np.random.default_rng(2)
    good = exp_data(rng, subject="good")
    with pytest.warns(BonemetWarning, match="exactly 0"):
        bad = table("zero", "ctrl", T, np.r_[0.0, exp_curve(T[1:], 0.25)])  # a zero cannot be log-normal
        data = concat(good, bad)
        fits = SubjectFitter(growth.exponential(), data, noise="lognormal", fixed={"V0": 1.0}, options=TIGHT).fit()
    assert list(fits.fits) == ["good"] and "zero" in fits.failed
    assert "lloq" in fits.failed["zero"]
    t = fits.table()
    assert {"alpha", "alpha_se", "noise_sigma", "noise_sigma_se"} <= set(t.columns)
    assert math.isnan(t.loc[t.subject == "good", "V0_se"].iat[0])


def test_two_observables_with_their_own_maps_and_noise():
    """Volume (mm^3, proportional noise) and a bioluminescence signal = 1e6*V (log-normal noise)."""
    import pandas as pd

    from bonemet_ode.data import DataTable
    from bonemet_ode.estimate import ProportionalNoise

    rng = np.random.default_rng(14)
    f = logistic_curve(T, 0.5, 900.0, 2.0)
    frame = pd.concat([
        pd.DataFrame({"subject": "m1", "arm": "ctrl", "time": T, "observable": "tumor volume",
                      "value": f * (1 + 0.08 * rng.standard_normal(T.size))}),
        pd.DataFrame({"subject": "m1", "arm": "ctrl", "time": T, "observable": "photons",
                      "value": 1e6 * f * np.exp(0.2 * rng.standard_normal(T.size))}),
    ])
    obs = {"tumor volume": ObservationMap("tumor volume", "V", noise=ProportionalNoise(), unit="mm^3"),
           "photons": ObservationMap("photons", "V", scale=1e6, noise=LogNormalNoise(), unit="photons/s")}
    fitter = Fitter(growth.logistic(), DataTable(frame), observations=obs, fixed={"V0": 2.0}, options=TIGHT)
    assert set(fitter.problem.varied) == {"alpha", "K", "noise_b_tumor_volume", "noise_sigma_photons"}
    res = fitter.fit()
    assert res.values["alpha"] == pytest.approx(0.5, rel=0.1)
    assert res.values["noise_sigma_photons"] == pytest.approx(0.2, rel=0.5)
    assert res.noise == {"tumor volume": "proportional", "photons": "lognormal"}
    assert set(res.curves["observable"]) == {"tumor volume", "photons"}

"""Figures and text reports of fits: they draw what they are given, with labelled axes."""

from __future__ import annotations

import numpy as np
import pytest
from fit_helpers import TIGHT, concat, gompertz_curve, table
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import bonemet_ode.models.growth as growth
from bonemet_ode.errors import BonemetWarning, FitError
from bonemet_ode.estimate import (
    Fitter,
    PopulationFitter,
    SubjectFitter,
    fit_report,
    information_criteria,
    posterior_predictive,
    profile_likelihood,
    sample_posterior,
)
from bonemet_ode.plotting.fit_uncertainty import plot_correlation, plot_posterior_band, plot_profiles
from bonemet_ode.plotting.fits import plot_fits, plot_parameter_scatter, plot_residuals, plot_subject_grid

T = np.arange(3.0, 25.0, 3.0)


@pytest.fixture(scope="module")
def fits():
    rng = np.random.default_rng(71)
    parts = []
    for i in range(4):
        a = 0.7 * np.exp(0.1 * rng.standard_normal())
        cens = np.zeros(T.size, bool)
        cens[0] = i == 0
        y = gompertz_curve(T, a, a / 8.5) * (1 + 0.05 * rng.standard_normal(T.size))
        y[cens] = 40.0
        parts.append(table(f"m{i}", "ctrl" if i < 2 else "drug", T, y, censored=cens))
    data = concat(*parts)
    single = Fitter(growth.gompertz(), data.subset(subject="m1"), fixed={"V0": 1.0}, options=TIGHT)
    return {
        "data": data,
        "fitter": single,
        "single": single.fit(),
        "subjects": SubjectFitter(growth.gompertz(), data, fixed={"V0": 1.0}, options=TIGHT).fit(),
        "population": PopulationFitter(growth.reduced_gompertz(), data, random=["beta"], fixed={"V0": 1.0},
                                       options=TIGHT).fit(),
    }


@pytest.mark.parametrize("kind", ["single", "subjects", "population"])
def test_fit_overlays_and_residuals(fits, kind):
    ax = plot_fits(fits[kind])
    assert isinstance(ax, Axes) and ax.get_xlabel() == "time (days)" and "mm^3" in ax.get_ylabel()
    assert ax.get_yscale() == "log" and len(ax.lines) >= 2
    ax2 = plot_residuals(fits[kind], against="predicted")
    assert "residual" in ax2.get_ylabel() and "mm^3" in ax2.get_xlabel()
    axes = plot_subject_grid(fits[kind])
    assert all(a.get_title() for a in axes)


def test_plots_draw_on_a_given_axes_and_mark_censored_points(fits):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_fits(fits["subjects"], ax, subjects=["m0"]) is ax
    markers = {line.get_marker() for line in ax.lines}
    assert "v" in markers  # the censored point of m0
    with pytest.raises(FitError, match="ax"):
        plot_fits(fits["subjects"], ax="nope")
    with pytest.raises(FitError, match="zz"):
        plot_fits(fits["subjects"], subjects=["zz"])
    with pytest.raises(FitError, match="result"):
        plot_residuals(object())


def test_parameter_scatter_reports_r2(fits):
    table_ = fits["subjects"].table()
    ax = plot_parameter_scatter(table_, "alpha", "beta", units={"alpha": "1/day", "beta": "1/day"})
    r2 = np.corrcoef(table_["alpha"], table_["beta"])[0, 1] ** 2
    assert f"R² = {r2:.3f}" in ax.get_legend().get_texts()[0].get_text()
    assert ax.get_xlabel() == "alpha (1/day)"
    with pytest.raises(FitError, match="'gamma'"):
        plot_parameter_scatter(table_, "alpha", "gamma")


def test_uncertainty_figures(fits):
    fitter, res = fits["fitter"], fits["single"]
    axes = plot_profiles(profile_likelihood(fitter, res, ["alpha", "beta"]))
    assert [a.get_xlabel() for a in axes] == ["alpha (1/day)", "beta (1/day)"]
    assert all("Δχ²" in a.get_ylabel() for a in axes)
    ax = plot_correlation(res)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["alpha", "beta", "noise_b"]
    with pytest.warns(BonemetWarning, match="too short"):  # a short chain is enough to draw the band
        post = sample_posterior(fitter, res, steps=120, burn=20, seed=0)
    band = posterior_predictive(fitter, post, n_draws=40, seed=0)
    ax = plot_posterior_band(band, points=res.points, unit="mm^3", log=True)
    assert ax.get_ylabel() == "tumor volume (mm^3)" and ax.collections


def test_text_reports(fits):
    single = fit_report(fits["single"], title="one mouse")
    assert single.startswith("one mouse\n=========") and "alpha" in single and "AIC" in single
    assert "95% CI" in single
    subjects = fit_report(fits["subjects"])
    assert "4/4 converged" in subjects and "m3" in subjects
    pop = fit_report(fits["population"], selection=information_criteria({"rg": fits["population"]}))
    assert "omega_beta" in pop and "model selection" in pop and "Laplace" in pop
    with pytest.raises(FitError, match="FitResult"):
        fit_report("nope")

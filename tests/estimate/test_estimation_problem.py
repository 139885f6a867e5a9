"""EstimationProblem: one statement of a fit behind every estimator; lmfit in and out; fit statuses.

References are independent of the fitting code: ordinary least squares in log space (the exact
maximum-likelihood estimate of an exponential curve under log-normal noise), the problem's own
keyword form for the new-vs-old comparison, and exact equality for held parameters.
"""

from __future__ import annotations

import doctest
import math
import re

import lmfit
import numpy as np
import pytest
from fit_helpers import TIGHT, concat, exp_curve, gompertz_curve, product_model, table

import bonemet_ode.estimate.estimation_problem as estimation_problem_module
from bonemet_ode.errors import FitError
from bonemet_ode.estimate import (
    STATUSES,
    EstimationProblem,
    Fitter,
    NormalPrior,
    ObservationMap,
    PopulationFitter,
    SubjectFitter,
    profile_likelihood,
)
from bonemet_ode.model import Model, Module, Parameter, State, Term
from bonemet_ode.models import growth

T = np.arange(2.0, 21.0, 3.0)


def pkpd_model() -> Model:
    """Drug amount C decays at k_el (a PK rate); tumour V grows at alpha and is killed at k_kill*C."""
    return Model("pkpd", [Module(
        "pkpd",
        states=(State("C", "C0", "mg"), State("V", "V0", "mm^3")),
        parameters=(Parameter("C0", 1.0, "mg", 1e-3, 1e3, log_scale=True),
                    Parameter("k_el", 0.3, "1/day", 1e-3, 10.0, log_scale=True),
                    Parameter("alpha", 0.25, "1/day", 1e-3, 5.0, log_scale=True),
                    Parameter("k_kill", 0.5, "1/(mg day)", 1e-3, 10.0, log_scale=True),
                    Parameter("V0", 1.0, "mm^3", 1e-3, 1e3, log_scale=True)),
        terms=(Term("elimination", "k_el*C", {"C": -1}), Term("growth", "alpha*V", {"V": 1}),
               Term("kill", "k_kill*C*V", {"V": -1})),
    )])


#: The data observe the tumour volume, state V.
PKPD_OBS = {"tumor_volume": ObservationMap("tumor_volume", target="V")}


def pkpd_data(n: int = 6, seed: int = 41):
    """Tumour volumes of ``n`` subjects with log-normal alpha_i, k_el = 0.4 (not the model default 0.3)."""
    from scipy.integrate import solve_ivp

    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n):
        alpha = 0.25 * math.exp(0.2 * rng.standard_normal())

        def rhs(t, y, a=alpha):
            return [-0.4 * y[0], a * y[1] - 0.5 * y[0] * y[1]]

        sol = solve_ivp(rhs, (0, T[-1]), [1.0, 1.0], t_eval=T, rtol=1e-11, atol=1e-12)
        parts.append(table(f"s{i}", "ctrl", T, sol.y[1] * (1 + 0.05 * rng.standard_normal(T.size))))
    return concat(*parts)


def exp_data(seed: int = 5, n: int = 3):
    rng = np.random.default_rng(seed)
    return concat(*[table(f"m{i}", "ctrl", T,
                          exp_curve(T, 0.2 + 0.02 * i, 1.5) * np.exp(0.05 * rng.standard_normal(T.size)))
                    for i in range(n)])


# ---------------------------------------------------------------------------------------------- new API == old API
def test_new_and_keyword_api_give_identical_fits():
    data = exp_data()
    kw = dict(noise="lognormal", fixed={"V0": 1.5}, bounds={"alpha": (0.01, 2.0)}, options=TIGHT)
    problem = EstimationProblem(growth.exponential(), data, **kw)
    new = Fitter(problem, n_starts=3, seed=4).fit()
    old = Fitter(growth.exponential(), data, n_starts=3, seed=4, **kw).fit()
    assert new.values == old.values and new.nll == old.nll and new.status == old.status == "converged"
    np.testing.assert_array_equal(new.covariance, old.covariance)
    s_new = SubjectFitter(problem, seed=2).fit()
    s_old = SubjectFitter(growth.exponential(), data, seed=2, **kw).fit()
    assert {s: r.values for s, r in s_new.fits.items()} == {s: r.values for s, r in s_old.fits.items()}
    p_new = PopulationFitter(problem, random=["alpha"]).fit()
    p_old = PopulationFitter(growth.exponential(), data, random=["alpha"], **kw).fit()
    assert p_new.values == p_old.values and p_new.objective == p_old.objective


def test_a_problem_and_problem_keywords_together_are_refused():
    problem = EstimationProblem(growth.exponential(), exp_data())
    with pytest.raises(FitError, match="state the problem in one place"):
        Fitter(problem, noise="additive")
    with pytest.raises(FitError, match="give the data too"):
        SubjectFitter(growth.exponential())
    with pytest.raises(FitError, match="unknown keyword"):
        Fitter(growth.exponential(), exp_data(), nosie="additive")


@pytest.mark.parametrize("kwargs, named", [
    (dict(free=["alpha", "alpha"]), "named more than once"),
    (dict(free=["alpha"], bounds={"V0": (0.1, 10.0)}), "bounds: parameter(s) ['V0'] are not estimated"),
    (dict(free=["alpha"], initial={"V0": 2.0}), "initial: parameter(s) ['V0'] are not estimated"),
    (dict(free=["alpha"], scales={"V0": "log"}), "scales: parameter(s) ['V0'] are not estimated"),
])
def test_settings_of_parameters_not_estimated_are_refused(kwargs, named):
    """Bounds, starts and scales only act on estimated parameters; for any other they used to be dropped.

    They are refused when the problem is built, not on first use."""
    with pytest.raises(FitError, match=re.escape(named)):
        EstimationProblem(growth.exponential(), exp_data(), **kwargs)
    ok = EstimationProblem(growth.exponential(), exp_data(), free=["alpha"], bounds={"alpha": (0.01, 1.0)},
                           initial={"alpha": 0.3}, scales={"alpha": "log"}).validate()
    assert ok.varied[0] == "alpha" and "V0" not in ok.varied


# ---------------------------------------------------------------------------------------------- refused when built
@pytest.mark.parametrize("kwargs, named", [
    (dict(noise="poisson"), "unknown noise model 'poisson'"),
    (dict(fixed={"alpha": -1.0}), "fixed['alpha'] = -1 is outside the bounds of parameter 'alpha'"),
    (dict(initial={"alpha": 1e9}), "initial['alpha'] = 1e+09 is outside the bounds"),
    (dict(fixed={"alpah": 0.2}), "unknown parameter(s) ['alpah'] (did you mean 'alpha'?)"),
    (dict(free=["alpah"]), "free: unknown model parameter(s) ['alpah'] (did you mean 'alpha'?)"),
    (dict(bounds={"noise_bb": (0.1, 1.0)}), "did you mean 'noise_b'?"),
    (dict(observations={"tumor_volume": ObservationMap("tumor_volume", "W")}), "'W'"),
    (dict(arms={"drug": None}), "arms: unknown arm(s) ['drug']"),
    (dict(fixed={"V0": 1.0}, priors={"V0": NormalPrior(0.0, 1.0)}), "priors: parameter 'V0' is not estimated"),
])
def test_configuration_errors_are_refused_when_the_problem_is_built(kwargs, named):
    """A problem that cannot be fitted as stated is refused at construction, naming the item.

    It used to construct (its repr() then raised) and SubjectFitter recorded every subject as failed with the
    same message, while Fitter raised.  Now every entry point refuses it before any fit starts."""
    data = exp_data()
    with pytest.raises(FitError, match=re.escape(named)):
        EstimationProblem(growth.exponential(), data, **kwargs)
    with pytest.raises(FitError, match=re.escape(named)):
        SubjectFitter(growth.exponential(), data, **kwargs)
    with pytest.raises(FitError, match=re.escape(named)):
        Fitter(growth.exponential(), data, **kwargs)
    ok = EstimationProblem(growth.exponential(), data)
    with pytest.raises(FitError, match=re.escape(named)):
        ok.with_options(**kwargs)


def test_a_subjects_own_data_problem_stays_a_per_subject_failure():
    """Values one subject's noise model cannot use (a zero under log-normal noise) are not a configuration error:
    the problem builds (its repr works), the pooled fit refuses the data, and SubjectFitter fails that subject
    alone."""
    from bonemet_ode.errors import BonemetWarning, DataError
    good = exp_data(n=1)
    with pytest.warns(BonemetWarning, match="exactly 0"):
        bad = table("zero", "ctrl", T, np.r_[0.0, exp_curve(T[1:], 0.25)])
        problem = EstimationProblem(growth.exponential(), concat(good, bad), noise="lognormal", options=TIGHT)
    assert "estimating ['alpha', 'V0', 'noise_sigma']" in repr(problem)
    with pytest.raises(DataError, match=r"subject 'zero', day 2\)"):
        problem.validate()
    with pytest.raises(DataError, match="'zero'"):
        Fitter(problem)
    with pytest.warns(BonemetWarning, match="exactly 0"):  # the subject's own table warns again
        fits = SubjectFitter(problem).fit()
    assert list(fits.fits) == ["m0"] and list(fits.failed) == ["zero"]
    assert "<= 0" in fits.failed["zero"]


# ---------------------------------------------------------------------------------------------- recovery
def test_recovers_the_exact_maximum_likelihood_estimate_of_seeded_synthetic_data():
    """log y = log V0 + alpha t + eps: under log-normal noise the MLE is ordinary least squares in log space."""
    rng = np.random.default_rng(2024)
    alpha, v0, sigma = 0.23, 1.7, 0.08
    t = np.linspace(1.0, 20.0, 15)
    y = exp_curve(t, alpha, v0) * np.exp(sigma * rng.standard_normal(t.size))
    X = np.column_stack([np.ones_like(t), t])
    coef, rss, *_ = np.linalg.lstsq(X, np.log(y), rcond=None)
    problem = EstimationProblem(growth.exponential(), table("m", "c", t, y), noise="lognormal", options=TIGHT,
                                initial={"alpha": 0.5, "V0": 1.0})
    fit = Fitter(problem).fit()
    assert fit.status == "converged"
    assert fit.values["alpha"] == pytest.approx(coef[1], rel=1e-6)
    assert fit.values["V0"] == pytest.approx(math.exp(coef[0]), rel=1e-6)
    # sigma enters the objective quadratically in its relative error: ftol = 1e-8 leaves ~sqrt(1e-8)
    assert fit.values["noise_sigma"] == pytest.approx(math.sqrt(rss[0] / t.size), rel=2e-4)
    # and the truth lies within 3 standard errors (OLS standard error of the slope, MLE variance)
    se_ols = math.sqrt(rss[0] / t.size / np.sum((t - t.mean()) ** 2))
    assert fit.stderr["alpha"] == pytest.approx(se_ols, rel=1e-3)
    assert abs(fit.values["alpha"] - alpha) < 3 * fit.stderr["alpha"]


# ---------------------------------------------------------------------------------------------- free / fixed / bounds
def _fit_with(kind: str, problem: EstimationProblem):
    if kind == "Fitter":
        r = Fitter(problem).fit()
        return r.values, r.parameters
    if kind == "SubjectFitter":
        fits = SubjectFitter(problem).fit()
        assert not fits.failed
        r = next(iter(fits.fits.values()))
        return r.values, r.parameters
    r = PopulationFitter(problem, random=["alpha"]).fit()
    return r.values, r.parameters


FITTERS = ["Fitter", "SubjectFitter", "PopulationFitter"]


@pytest.mark.parametrize("kind", FITTERS)
def test_a_pk_rate_left_out_of_free_stays_exactly_at_its_value(kind):
    problem = EstimationProblem(pkpd_model(), pkpd_data(), observations=PKPD_OBS, free=["alpha", "k_kill"],
                                fixed={"C0": 1.0}, options=TIGHT)
    values, params = _fit_with(kind, problem)
    assert values["k_el"] == 0.3  # exactly the model's value: not estimated
    assert {p.name for p in params if p.vary and p.role == "model"} == {"alpha", "k_kill"}


@pytest.mark.parametrize("kind", FITTERS)
def test_a_fixed_pk_rate_stays_exactly_at_its_fixed_value(kind):
    problem = EstimationProblem(pkpd_model(), pkpd_data(), observations=PKPD_OBS,
                                fixed={"k_el": 0.4, "C0": 1.0, "V0": 1.0}, options=TIGHT)
    values, params = _fit_with(kind, problem)
    assert values["k_el"] == 0.4
    assert not {p.name: p for p in params}["k_el"].vary
    if kind != "Fitter":  # a pooled fit of subjects with different alpha_i is biased; the others recover it
        assert values["k_kill"] == pytest.approx(0.5, rel=0.15)


def test_population_fitter_honours_free_in_the_keyword_form_too():
    pop = PopulationFitter(pkpd_model(), pkpd_data(), random=["alpha"], observations=PKPD_OBS, free=["alpha", "k_kill"],
                           fixed={"C0": 1.0}, options=TIGHT).fit()
    assert pop.values["k_el"] == 0.3 and "k_el" not in pop.psi_names
    assert pop.psi_names == ("k_kill", "noise_b")


@pytest.mark.parametrize("kind", FITTERS)
def test_bounds_are_honoured_alike(kind):
    """k_kill is 0.5 in the data; an upper bound of 0.3 must hold in every fitter (shared in the population fit)."""
    problem = EstimationProblem(pkpd_model(), pkpd_data(), observations=PKPD_OBS, fixed={"C0": 1.0, "V0": 1.0},
                                bounds={"k_kill": (0.05, 0.3)}, initial={"k_kill": 0.2}, options=TIGHT)
    values, params = _fit_with(kind, problem)
    assert {p.name: (p.lower, p.upper) for p in params}["k_kill"] == (0.05, 0.3)
    assert 0.05 <= values["k_kill"] <= 0.3
    assert values["k_kill"] == pytest.approx(0.3, rel=1e-3)  # pressed against the bound


@pytest.mark.parametrize("kind", FITTERS)
def test_bounds_on_a_random_effect_parameter_hold_for_its_typical_value(kind):
    """alpha is about 0.22 in the data; with an upper bound of 0.15 every fitter's alpha (typical value) sits on it."""
    problem = EstimationProblem(growth.exponential(), exp_data(), noise="lognormal", fixed={"V0": 1.5},
                                bounds={"alpha": (0.05, 0.15)}, initial={"alpha": 0.1}, options=TIGHT)
    values, params = _fit_with(kind, problem)
    assert 0.05 <= values["alpha"] <= 0.15 * (1 + 1e-12)
    assert values["alpha"] == pytest.approx(0.15, rel=1e-6)


def test_random_parameter_must_be_estimated():
    with pytest.raises(FitError, match=r"random: parameter\(s\) \['alpha'\] are not estimated"):
        PopulationFitter(pkpd_model(), pkpd_data(), random=["alpha"], observations=PKPD_OBS, free=["k_kill"])
    with pytest.raises(FitError, match="priors are not supported"):
        PopulationFitter(growth.exponential(), exp_data(), random=["alpha"], fixed={"V0": 1.5},
                         priors={"alpha": NormalPrior(0.2, 0.1)})


# ---------------------------------------------------------------------------------------------- lmfit in and out
def test_lmfit_parameters_in_state_free_fixed_bounds_and_starts():
    data = exp_data()
    params = lmfit.Parameters()
    params.add("alpha", value=0.4, min=0.01, max=1.0)
    params.add("V0", value=1.5, vary=False)
    params.add("noise_sigma", value=0.05, vary=False)
    via_lmfit = EstimationProblem(growth.exponential(), data, noise="lognormal", parameters=params)
    via_keywords = EstimationProblem(growth.exponential(), data, noise="lognormal", free=["alpha"],
                                     fixed={"V0": 1.5, "noise_sigma": 0.05}, bounds={"alpha": (0.01, 1.0)},
                                     initial={"alpha": 0.4})
    assert via_lmfit.fit_parameters == via_keywords.fit_parameters
    a, b = Fitter(via_lmfit).fit(), Fitter(via_keywords).fit()
    assert a.values == b.values
    # the fitters' keyword form takes them too
    assert Fitter(growth.exponential(), data, noise="lognormal", parameters=params).fit().values == a.values
    out = a.to_lmfit()
    assert isinstance(out, lmfit.Parameters)
    assert out["alpha"].value == a.values["alpha"] and out["alpha"].vary
    assert (out["alpha"].min, out["alpha"].max) == (0.01, 1.0)
    assert out["alpha"].stderr == a.stderr["alpha"]
    assert not out["V0"].vary and out["V0"].value == 1.5
    # round trip: the estimates as the next problem's start values
    again = EstimationProblem(growth.exponential(), data, noise="lognormal", parameters=out)
    assert again.initial_values()["alpha"] == a.values["alpha"]


def test_lmfit_input_is_refused_where_it_cannot_be_honoured():
    data = exp_data()
    params = lmfit.Parameters()
    params.add("alpha", value=0.2)
    params.add("V0", expr="2*alpha")
    with pytest.raises(FitError, match="constraint expressions"):
        EstimationProblem(growth.exponential(), data, parameters=params)
    params = lmfit.Parameters()
    params.add("alpha", value=0.2)
    with pytest.raises(FitError, match=r"stated both in lmfit.Parameters and in free/fixed"):
        EstimationProblem(growth.exponential(), data, parameters=params, fixed={"alpha": 0.2})


# ---------------------------------------------------------------------------------------------- scales and priors
def test_scales_and_priors():
    data = exp_data()
    problem = EstimationProblem(growth.exponential(), data, noise="lognormal", fixed={"V0": 1.5},
                                scales={"alpha": "lin"}, priors={"alpha": NormalPrior(math.log10(0.5), 0.01)})
    with pytest.raises(FitError, match="scales"):
        EstimationProblem(growth.exponential(), data, scales={"alpha": "ln"})
    with pytest.raises(FitError, match="not estimated"):
        EstimationProblem(growth.exponential(), data, fixed={"V0": 1.0},
                          priors={"V0": NormalPrior(0.0, 1.0)}).validate()
    assert not {p.name: p for p in problem.fit_parameters}["alpha"].log_scale
    # the prior term is ((u - mean)/sd)^2/2 on the parameter's scale
    log10_problem = EstimationProblem(growth.exponential(), data, noise="lognormal", fixed={"V0": 1.5},
                                      scales={"alpha": "log10"}, priors={"alpha": NormalPrior(math.log10(0.5), 0.01)})
    fp = log10_problem.compile()
    v = {**log10_problem.initial_values(), "alpha": 0.3}
    assert fp.objective(v) - fp.nll(v) == pytest.approx(0.5 * ((math.log10(0.3) - math.log10(0.5)) / 0.01) ** 2)
    # a tight prior pins the estimate near its mean (alpha about 0.2 in the data)
    fit = Fitter(log10_problem).fit()
    assert fit.values["alpha"] == pytest.approx(0.5, rel=0.1)
    assert fit.penalty > 0


# ---------------------------------------------------------------------------------------------- statuses
def test_status_converged_on_informative_data():
    fit = Fitter(growth.gompertz(), table("m", "c", T, gompertz_curve(T, 0.8, 0.09) * (1 + 0.05 * np.cos(3 * T))),
                 fixed={"V0": 1.0}).fit()
    assert fit.status == "converged" and fit.success
    assert all(np.isfinite(fit.stderr[n]) for n in fit.varied)


def test_status_not_moved_when_the_data_cannot_inform_the_parameter():
    """One point per subject, at day 0, where V = V0 whatever alpha: the optimiser never leaves the start."""
    data = concat(*[table(f"s{i}", "c", [0.0], [1.0]) for i in range(3)])
    fits = SubjectFitter(growth.exponential(), data, fixed={"V0": 1.0, "noise_b": 0.1}).fit()
    for r in fits.fits.values():
        assert r.status == "not_moved" and not r.success
        assert r.values["alpha"] == 0.3
        assert "did not" in r.message or "no estimated parameter left its start" in r.message
    assert fits.converged == ()


def test_status_singular_hessian_for_one_point_per_subject():
    data = concat(*[table(f"s{i}", "c", [5.0], [3.0 + i]) for i in range(3)])
    fits = SubjectFitter(growth.gompertz(), data, fixed={"V0": 1.0}).fit()
    for r in fits.fits.values():
        assert r.status == "singular_hessian" and not r.success
        assert np.isnan(r.stderr["alpha"])


def test_status_singular_hessian_for_a_structurally_non_identifiable_product():
    y = exp_curve(T, 0.2) * (1 + 0.05 * np.random.default_rng(2).standard_normal(T.size))
    fit = Fitter(product_model(), table("m", "c", T, y), fixed={"V0": 1.0}, options=TIGHT).fit()
    assert fit.status == "singular_hessian" and np.isnan(fit.covariance).all()
    assert fit.values["k1"] * fit.values["k2"] == pytest.approx(0.2, rel=0.05)


def test_status_flat_objective_when_all_values_are_censored():
    """All values below the limit: any small enough curve has likelihood 1, the objective is flat."""
    data = table("m", "c", T, np.full(T.size, 5.0), censored=np.ones(T.size, bool))
    fit = Fitter(growth.exponential(), data, fixed={"V0": 1.0}).fit()
    assert fit.nll == pytest.approx(0.0, abs=1e-6)
    assert fit.status == "singular_hessian" and not fit.success
    assert "exceed 100x their estimates" in fit.message


@pytest.mark.parametrize("sensitivities", [True, False])
def test_status_max_evaluations(sensitivities):
    data = table("m", "c", T, gompertz_curve(T, 0.8, 0.09) * (1 + 0.05 * np.cos(3 * T)))
    fit = Fitter(growth.gompertz(), data, fixed={"V0": 1.0}, max_nfev=2, sensitivities=sensitivities).fit()
    assert fit.status == "max_evaluations" and not fit.success


def test_status_failed_when_the_optimiser_aborts():
    def guard(values):
        if values["alpha"] > 0.35:
            raise FitError("left the region where the penalty is defined")
        return np.zeros(1)

    data = table("m", "c", T, exp_curve(T, 0.5))
    fit = Fitter(growth.exponential(), data, fixed={"V0": 1.0}, extra_penalties=guard).fit()
    assert fit.status == "failed" and not fit.success and "optimiser failed" in fit.message


def test_status_round_trips_and_population_status(tmp_path):
    y = exp_curve(T, 0.2) * (1 + 0.05 * np.random.default_rng(2).standard_normal(T.size))
    fit = Fitter(product_model(), table("m", "c", T, y), fixed={"V0": 1.0}, options=TIGHT).fit()
    fit.save(tmp_path / "f.json")
    from bonemet_ode.estimate import FitResult, PopulationResult

    assert FitResult.load(tmp_path / "f.json").status == "singular_hessian"
    pop = PopulationFitter(growth.exponential(), exp_data(n=4), random=["alpha"], fixed={"V0": 1.5},
                           noise="lognormal", max_iter=2).fit()
    assert pop.status == "max_evaluations" and not pop.converged
    pop.save(tmp_path / "p.json")
    assert PopulationResult.load(tmp_path / "p.json").status == "max_evaluations"
    assert set(STATUSES) == {"converged", "not_moved", "singular_hessian", "max_evaluations", "failed"}
    assert pop.to_lmfit()["alpha"].value == pop.values["alpha"]


# ------------------------------------------------------------------------------------- uncertainty entry points
def test_profile_takes_a_problem_or_a_fresh_result():
    problem = EstimationProblem(growth.exponential(), exp_data(n=1), noise="lognormal", fixed={"V0": 1.5},
                                options=TIGHT)
    fitter = Fitter(problem)
    res = fitter.fit()
    via_fitter = profile_likelihood(fitter, res, ["alpha"], max_steps=6)["alpha"]
    via_result = profile_likelihood(res, parameters=["alpha"], max_steps=6)["alpha"]
    via_problem = profile_likelihood(problem, res, ["alpha"], max_steps=6)["alpha"]
    np.testing.assert_array_equal(via_fitter.values, via_result.values)
    np.testing.assert_array_equal(via_fitter.delta, via_problem.delta)
    with pytest.raises(FitError, match="loaded from a file"):
        from dataclasses import replace

        profile_likelihood(replace(res, problem=None))


def test_estimation_problem_docstring_example_runs():
    """The runnable example of EstimationProblem (doctest)."""
    result = doctest.testmod(estimation_problem_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0

"""Exact Jacobians from forward sensitivities: agreement with finite differences, same optima, no extra solves.

The exact Jacobians are computed at the fits' tight tolerance (rtol 1e-10);
the finite-difference references use Richardson-extrapolated central
differences on a problem solved at rtol 1e-12, so that the reference is
more accurate than the quantity under test (at equal tolerances, solver
noise divided by the step dominates the reference for small derivatives).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fit_helpers import TIGHT, concat, gompertz_curve, logistic_curve, table

import bonemet_ode.models.growth as growth
from bonemet_ode import Arm, Dose
from bonemet_ode.compile.library import SingleSolver
from bonemet_ode.data import DataTable
from bonemet_ode.errors import FitError
from bonemet_ode.estimate import (
    Fitter,
    LogNormalNoise,
    ObservationMap,
    PopulationFitter,
    ProportionalNoise,
    SubjectFitter,
)
from bonemet_ode.estimate.problem import FitProblem
from bonemet_ode.model import Model, Module, Observable, Parameter, State, Term
from bonemet_ode.simulate import Simulator, SolverOptions

REFERENCE = SolverOptions(rtol=1e-12, atol=1e-14)
TRUE = {"alpha": 0.3, "K": 800.0, "kill": 0.05, "k_el": 0.7, "vd": 2.0, "V0": 2.0}
ARMS = {"control": Arm("control"), "drug": Arm("drug", (Dose("C", 10.0, every=3.0, start=2.0),))}
T = np.arange(1.0, 22.0, 2.0)


def tumour_drug() -> Model:
    """Logistic tumour V killed by a drug C (one-compartment PK, bolus doses); observable conc = C/vd."""
    return Model("tumour_drug", [Module(
        "tumour_drug",
        states=(State("V", "V0", "mm^3"), State("C", 0.0, "mg")),
        parameters=(Parameter("alpha", 0.3, "1/day", 1e-3, 5.0, log_scale=True),
                    Parameter("K", 800.0, "mm^3", 10.0, 1e5, log_scale=True),
                    Parameter("kill", 0.05, "1/(mg day)", 1e-5, 10.0, log_scale=True),
                    Parameter("k_el", 0.7, "1/day", 1e-3, 50.0, log_scale=True),
                    Parameter("vd", 2.0, "L", 0.01, 100.0, log_scale=True),
                    Parameter("V0", 2.0, "mm^3", 1e-3, 1e3, log_scale=True)),
        terms=(Term("growth", "alpha*V*(1 - V/K)", {"V": 1}), Term("drug_kill", "kill*C*V", {"V": -1}),
               Term("elimination", "k_el*C", {"C": -1})),
        observables=(Observable("conc", "C/vd", "mg/L"),),
    )])


def tumour_drug_data(seed: int = 0) -> DataTable:
    """Two arms (control, drug every 3 days), tumour volumes of two animals each, a drug signal, 2 censored rows."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm in ("control", "drug"):
        res = Simulator(tumour_drug(), ARMS[arm], times=T, options=TIGHT).run(TRUE)
        for animal in ("a", "b"):
            parts.append(pd.DataFrame({"subject": f"{arm}_{animal}", "arm": arm, "time": T,
                                       "observable": "tumor_volume",
                                       "value": res["V"] * np.exp(0.08 * rng.standard_normal(T.size))}))
        if arm == "drug":
            late = T > 2.0
            parts.append(pd.DataFrame({"subject": "drug_a", "arm": arm, "time": T[late], "observable": "signal",
                                       "value": 1.5 * res["C"][late] * np.exp(0.1 * rng.standard_normal(late.sum()))}))
    frame = pd.concat(parts, ignore_index=True)
    frame["censored"] = False
    tumour = frame.index[frame["observable"] == "tumor_volume"]
    signal = frame.index[frame["observable"] == "signal"]
    frame.loc[tumour[1], "censored"] = True  # the value is the limit of quantification
    frame.loc[signal[3], "censored"] = True
    return DataTable(frame)


def tumour_drug_maps(noise) -> dict[str, ObservationMap]:
    """Tumour volume read directly; the signal an expression of a state, a parameter and an observable-free
    term, with an estimated scale and offset."""
    return {"tumor_volume": ObservationMap("tumor_volume", "V", noise=noise),
            "signal": ObservationMap("signal", "C/vd + 0.01*V/K",
                                     scale=Parameter("gain", 2.0, "1", 1e-3, 1e3, log_scale=True),
                                     offset=Parameter("base", 0.05, "1", -10.0, 10.0), noise=ProportionalNoise())}


def penalty(v):
    return np.array([3.0 * (v["alpha"] - 0.25), v["gain"] * v["kill"]])


def problems(noise):
    kw = dict(observations=tumour_drug_maps(noise), arms=ARMS, extra_penalties=penalty)
    exact = FitProblem(tumour_drug(), tumour_drug_data(), options=TIGHT, sensitivities=True, **kw)
    reference = FitProblem(tumour_drug(), tumour_drug_data(), options=REFERENCE, sensitivities=False, **kw)
    values = {**exact.initial_values(), "alpha": 0.33, "K": 700.0, "kill": 0.06, "k_el": 0.6, "vd": 2.2, "V0": 1.8,
              "gain": 1.7, "base": 0.03}
    return exact, reference, values


def richardson(fun, values, names, h=1e-3):
    """Central differences with relative step h, Richardson-extrapolated (O(h^4))."""
    cols = []
    for name in names:
        def d(step, name=name):
            up, dn = dict(values), dict(values)
            x = values[name]
            up[name], dn[name] = x * (1 + step), x * (1 - step)
            return (np.asarray(fun(up)) - np.asarray(fun(dn))) / (up[name] - dn[name])
        cols.append((4 * d(h / 2) - d(h)) / 3)
    return np.column_stack(cols)


def assert_columns_close(got, ref, rtol):
    """Every column within rtol of the largest entry of the reference column."""
    scale = np.abs(ref).max(axis=0)
    err = np.abs(got - ref).max(axis=0)
    ok = err <= rtol * np.where(scale > 0, scale, 1.0)
    assert np.all(ok), (err / np.where(scale > 0, scale, 1.0))


@pytest.mark.parametrize("noise", [ProportionalNoise(), LogNormalNoise()], ids=["proportional", "lognormal"])
def test_moment_and_residual_jacobians_equal_finite_differences(noise):
    exact, reference, v = problems(noise)
    assert exact.uses_sensitivities and not reference.uses_sensitivities
    assert exact.censored.sum() == 2
    names = exact.varied
    assert {"gain", "base", "vd", "kill"} <= set(names)
    jm, jl, jp = exact.jacobians(v, names)
    assert_columns_close(jm, richardson(lambda u: reference.moments(u)[0], v, names), 1e-6)
    assert_columns_close(jl, richardson(lambda u: np.log(reference.moments(u)[1]), v, names), 1e-6)
    assert_columns_close(jp, richardson(reference.penalty, v, names), 1e-8)
    r, jac = exact.residual_jacobian(v, names)
    np.testing.assert_allclose(r, reference.residuals(v), rtol=1e-7, atol=1e-9)
    assert jac.shape == (len(r), len(names))
    assert_columns_close(jac, richardson(reference.residuals, v, names), 1e-6)
    np.testing.assert_allclose(exact.information(v, names), reference.information(v, names), rtol=1e-5, atol=1e-8)


def test_exact_jacobians_cost_one_solve_per_arm(monkeypatch):
    """Model, noise and observation columns all come from one sensitivity solve per arm."""
    exact, _, v = problems(ProportionalNoise())
    calls = []
    original, original_one = Simulator.solve, Simulator.solve_one

    def counting(self, P, Y0):
        calls.append((bool(self.sensitivities), P.shape[0]))
        return original(self, P, Y0)

    def counting_one(self, p, y0):
        calls.append((bool(self.sensitivities), 1))
        return original_one(self, p, y0)

    def counting_single(self, y0, p):  # Simulator.run's one-member solve
        calls.append((bool(self._cm.sensitivities), 1))
        return original_single(self, y0, p)

    original_single = SingleSolver.solve
    monkeypatch.setattr(Simulator, "solve", counting)
    monkeypatch.setattr(Simulator, "solve_one", counting_one)
    monkeypatch.setattr(SingleSolver, "solve", counting_single)
    exact.jacobians(v, exact.varied)
    assert calls == [(True, 1), (True, 1)]
    calls.clear()
    exact.residual_jacobian(v, exact.varied)
    assert calls == [(True, 1), (True, 1)]


def test_columns_of_fixed_parameters_fall_back_to_finite_differences():
    exact, reference, v = problems(LogNormalNoise())
    jm, _, _ = exact.jacobians(v, ["alpha", "noise_b_signal"])
    fixed = FitProblem(tumour_drug(), tumour_drug_data(), observations=tumour_drug_maps(LogNormalNoise()), arms=ARMS,
                       options=TIGHT, fixed={"k_el": 0.6}, sensitivities=True)
    assert "k_el" not in fixed.varied
    jm_fixed, _, _ = fixed.jacobians(v, ["k_el", "alpha"])
    np.testing.assert_allclose(jm_fixed[:, 1], jm[:, 0], rtol=1e-9, atol=1e-12)
    assert_columns_close(jm_fixed[:, :1], richardson(lambda u: reference.moments(u)[0], v, ["k_el"]), 1e-5)


GT = np.arange(2.0, 26.0, 2.0)


def fit_both(model, data, **kw):
    return [Fitter(model, data, options=TIGHT, sensitivities=s, **kw).fit() for s in (False, True)]


def assert_same_optimum(fd, ex):
    assert fd.success and ex.success
    for name in fd.varied:
        assert ex.values[name] == pytest.approx(fd.values[name], rel=1e-5), name
    assert ex.nll == pytest.approx(fd.nll, rel=1e-8)
    assert "sensitivities" in ex.method and "finite-difference" in fd.method


def test_gompertz_fit_with_sensitivities_reaches_the_finite_difference_optimum():
    rng = np.random.default_rng(3)
    data = table("m1", "ctrl", GT, gompertz_curve(GT, 0.8, 0.09, 1.3) * np.exp(0.05 * rng.standard_normal(GT.size)))
    fd, ex = fit_both(growth.gompertz(), data, noise="lognormal")
    assert_same_optimum(fd, ex)
    assert ex.nfev < fd.nfev  # residual evaluations: no extra solves for the Jacobian
    np.testing.assert_allclose(ex.covariance, fd.covariance, rtol=1e-4)


def test_logistic_fit_with_a_censored_point_reaches_the_same_optimum():
    rng = np.random.default_rng(4)
    y = logistic_curve(GT, 0.5, 800.0, 2.0) * (1 + 0.1 * rng.standard_normal(GT.size))
    cens = np.zeros(GT.size, bool)
    y[0], cens[0] = 5.0, True
    data = table("m1", "ctrl", GT, y, censored=cens)
    fd, ex = fit_both(growth.logistic(), data, noise="proportional", n_starts=2)
    assert_same_optimum(fd, ex)


def test_pooled_fit_of_two_arms_with_doses_reaches_the_same_optimum():
    data = tumour_drug_data(5)
    kw = dict(observations=tumour_drug_maps(LogNormalNoise()), arms=ARMS, fixed={"vd": 2.0, "V0": 2.0})
    fd, ex = fit_both(tumour_drug(), data, **kw)
    assert_same_optimum(fd, ex)


def test_population_fit_agrees_with_finite_differences():
    rng = np.random.default_rng(11)
    parts = [table(f"s{i}", "ctrl", GT, gompertz_curve(GT, 0.8 * np.exp(0.2 * rng.standard_normal()), 0.09)
                   * np.exp(0.05 * rng.standard_normal(GT.size))) for i in range(6)]
    data = concat(*parts)
    pops = [PopulationFitter(growth.gompertz(), data, random=["alpha"], fixed={"V0": 1.0}, noise="lognormal",
                             options=TIGHT, tol=1e-6, sensitivities=s).fit() for s in (False, True)]
    fd, ex = pops
    assert fd.converged and ex.converged
    assert ex.mu[0] == pytest.approx(fd.mu[0], rel=1e-5)
    for name in ("beta", "noise_sigma"):
        assert ex.values[name] == pytest.approx(fd.values[name], rel=1e-5), name
    assert ex.omega_sd["alpha"] == pytest.approx(fd.omega_sd["alpha"], rel=1e-4)
    assert ex.objective == pytest.approx(fd.objective, rel=1e-8)


def test_sensitivity_modes_and_their_errors():
    data = table("m1", "ctrl", GT, gompertz_curve(GT, 0.8, 0.09))
    with pytest.raises(FitError, match="sensitivities: expected True, False or 'auto'"):
        Fitter(growth.gompertz(), data, sensitivities="yes")
    with pytest.raises(FitError, match="sensitivities"):
        SubjectFitter(growth.gompertz(), data, sensitivities=1)
    assert Fitter(growth.gompertz(), data).problem.uses_sensitivities  # "auto" on for the growth models
    # a switch that overwrites an estimate: its sensitivity is gated at the switch (Simulator), so exact
    switched = growth.gompertz().with_switch(10.0, "alpha", 0.1)
    assert Fitter(switched, data, sensitivities=True).problem.uses_sensitivities
    noise_only = Fitter(growth.gompertz(), data, fixed={"alpha": 0.8, "beta": 0.09, "V0": 1.0}, options=TIGHT)
    assert noise_only.problem.uses_sensitivities  # noise columns need no solve at all
    assert noise_only.fit().success


def test_fit_of_a_switched_estimate_reaches_the_finite_difference_optimum():
    """alpha is overwritten on day 10 (to 0.1): the exact Jacobian (gated sensitivity) and finite differences
    reach the same optimum."""
    t = np.linspace(0.0, 20.0, 11)
    v = gompertz_curve(np.minimum(t, 10.0), 0.8, 0.09)
    data = table("m1", "ctrl", t, v * np.exp(0.03 * np.random.default_rng(2).standard_normal(t.size)))
    fd, ex = fit_both(growth.gompertz().with_switch(10.0, "alpha", 0.1), data, fixed={"V0": 1.0})
    assert_same_optimum(fd, ex)


def test_auto_falls_back_when_the_sensitivity_system_does_not_build(monkeypatch):
    """A failed build (e.g. code generation that meets a DiracDelta) leaves finite differences, remembered."""
    import bonemet_ode.estimate.problem as problem_module

    real = problem_module.Simulator
    attempts = []

    def no_sensitivities(model, arm=None, days=None, times=None, options=None, sensitivities=None):
        if sensitivities:
            attempts.append(tuple(sensitivities))
            raise NotImplementedError("Unsupported by the printer: DiracDelta")
        return real(model, arm, days, times, options)

    import bonemet_ode.estimate.problem_derivatives as derivatives_module

    monkeypatch.setattr(problem_module, "Simulator", no_sensitivities)
    monkeypatch.setattr(derivatives_module, "Simulator", no_sensitivities)
    monkeypatch.setattr(derivatives_module, "_FAILED_BUILDS", {})
    data = table("m1", "ctrl", GT, gompertz_curve(GT, 0.8, 0.09))
    for _ in range(2):
        fitter = Fitter(growth.gompertz(), data, fixed={"V0": 1.0})
        assert not fitter.problem.uses_sensitivities
        assert "did not compile (NotImplementedError: Unsupported by the printer: DiracDelta)" in \
            fitter.problem.sensitivity_note
    assert attempts == [("alpha", "beta")]  # not retried
    with pytest.raises(FitError, match="sensitivities=True: cannot compute forward sensitivities"):
        Fitter(growth.gompertz(), data, fixed={"V0": 1.0}, sensitivities=True)
    assert fitter.fit().success


def test_a_failed_sensitivity_solve_falls_back_to_finite_differences(monkeypatch):
    from bonemet_ode.errors import SolverError

    exact, _, v = problems(ProportionalNoise())
    names = exact.varied
    r_exact, jac_exact = exact.residual_jacobian(v, names)

    def fail(*args, **kwargs):
        raise SolverError("step size fell below its minimum")

    monkeypatch.setattr(exact.sensitivity_simulators[1], "run", fail)
    r, jac = exact.residual_jacobian(v, names, fallback=False)
    assert jac is None
    np.testing.assert_allclose(r, r_exact, rtol=1e-7, atol=1e-9)
    _, jac = exact.residual_jacobian(v, names)
    assert_columns_close(jac, jac_exact, 1e-4)
    jm, _, _ = exact.jacobians(v, names)
    assert np.all(np.isfinite(jm))

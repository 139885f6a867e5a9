"""The evaluation context: one solve per arm and cohort per evaluation, caching, cohort outcomes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TIGHT, auc
from scipy.stats import spearmanr

import bonemet_ode as bm
from bonemet_ode.outcomes import EvaluationContext, evaluate_outcomes
from bonemet_ode.outcomes.runner import ArmRunner, CohortRunner

OUTCOMES = [
    "R: T@28[A] <= 0.5 * T@28[control]",
    "B: bliss(T@28; control, A, B, A+B) <= 0.05",
    "I: integral(T, 0, 28)[control] > 100",
    "K: time_to(T >= 50)[control] < time_to(T >= 50)[slow]",
]


@pytest.fixture()
def counted(monkeypatch):
    """Count compiled solves of arms and cohort simulations."""
    calls = {"arm": [], "cohort": []}
    run = ArmRunner.run

    def counting_run(self, params):
        calls["arm"].append(self.sim.arm.name)
        return run(self, params)

    run_cohort = CohortRunner.run

    def counting_cohort(self, params):
        calls["cohort"].append(self.runner.sim.arm.name)
        return run_cohort(self, params)

    monkeypatch.setattr(ArmRunner, "run", counting_run)
    monkeypatch.setattr(CohortRunner, "run", counting_cohort)
    return calls


def test_each_arm_once_per_evaluation_and_cache_batched(drug_model, arms, monkeypatch):
    """The batched engine solves every arm once per evaluation (one row each), and not on a cache hit."""
    from bonemet_ode.compile.library import CompiledModel

    rows = []
    solve = CompiledModel.solve_batch

    def counting(self, Y0, *args, **kwargs):
        rows.append(len(Y0))
        return solve(self, Y0, *args, **kwargs)

    monkeypatch.setattr(CompiledModel, "solve_batch", counting)
    ctx = EvaluationContext(drug_model, arms, OUTCOMES, cache_size=2, n_jobs=1)
    ctx.evaluate()
    assert sum(rows) == 5 == ctx._plan.n_members
    ctx.evaluate()  # cached
    assert sum(rows) == 5 and ctx.n_cache_hits == 1
    ctx.evaluate({"r": 0.25})
    assert sum(rows) == 10


def test_each_arm_once_per_evaluation_and_cache(drug_model, arms, counted):
    ctx = EvaluationContext(drug_model, arms, OUTCOMES, cache_size=2, engine="legacy")
    assert set(ctx.arm_names) == {"control", "A", "B", "A+B", "slow"}
    ctx.evaluate()
    assert sorted(counted["arm"]) == sorted(ctx.arm_names)
    ctx.evaluate()  # cached
    assert len(counted["arm"]) == 5 and ctx.n_cache_hits == 1 and ctx.n_evaluations == 1
    ctx.evaluate({"r": 0.25})
    ctx.evaluate({"r": 0.3})
    ctx.evaluate()  # evicted (cache of 2)
    assert len(counted["arm"]) == 20 and ctx.n_evaluations == 4


def test_values_equal_plain_simulation(drug_model, arms):
    ctx = EvaluationContext(drug_model, arms, OUTCOMES, options=TIGHT)
    ev = ctx.evaluate({"kA": 0.2})
    ref_a = bm.simulate(drug_model, arms["A"], times=[0, 28], params={"kA": 0.2}, options=TIGHT).at(28, "T")
    ref_c = bm.simulate(drug_model, arms["control"], times=[0, 28], params={"kA": 0.2}, options=TIGHT).at(28, "T")
    assert ev["R"].value == pytest.approx(ref_a / ref_c, rel=1e-9)
    assert ev["R"].value == pytest.approx(math.exp(-0.2 * auc((7, 14, 21, 28), 28, 0.3)), rel=1e-7)
    assert ev.margins().shape == (4,) and ctx.leaf_ids() == ("R", "B", "I", "K")


def test_arms_from_iterable_and_one_off(drug_model, arms):
    ev = evaluate_outcomes(drug_model, list(arms.values()), ["x: T@5[KO] <= 1.000001"], options=TIGHT)
    assert ev.all_satisfied and ev["x"].value == pytest.approx(1.0, abs=1e-9)
    assert "1 of 1 outcomes satisfied" in ev.report()


def _analytic_cohort(drug_model, n, seed, sigma, r_typical):
    table = bm.draw_cohort(drug_model.with_parameters(r=r_typical), n, {"r": bm.LogNormal(sigma)}, seed)
    return np.asarray(table["r"])


@pytest.mark.parametrize("engine", ["batched", "legacy"])
def test_fraction_against_independent_draws(drug_model, arms, counted, engine):
    text = "F: fraction(cohort[control, n=60, seed=7, r~lognormal(0.3)]: T@20 > 55) between 0.2 and 0.8"
    ctx = EvaluationContext(drug_model, arms, [text, "G: fraction(cohort[control, n=60, seed=7, r~lognormal(0.3)]: "
                                                     "time_to(T >= 55) < 20) >= 0"], options=TIGHT, engine=engine)
    for r_typ in (0.2, 0.16):
        r = _analytic_cohort(drug_model, 60, 7, 0.3, r_typ)
        final = np.exp(20 * r)  # T(20) of each member
        assert np.min(np.abs(final / 55 - 1)) > 1e-6  # no member on the boundary
        ev = ctx.evaluate({"r": r_typ})
        assert ev["F"].value == pytest.approx(np.mean(final > 55), abs=1e-12)
        assert ev["G"].value == pytest.approx(np.mean(np.log(55) / r < 20), abs=1e-12)
    if engine == "legacy":
        assert counted["cohort"] == ["control", "control"]  # one cohort simulation per evaluation, shared
    else:
        assert len(ctx.cohorts) == 1 and ctx._plan.n_members == 60  # the cohort once, shared by F and G


def test_spearman_against_scipy(drug_model, arms):
    text = "S: spearman(cohort[A, n=40, seed=3, r~lognormal(0.2), kA~lognormal(0.5)]: T@28, integral(burden, 0, 7)) > 0"
    ctx = EvaluationContext(drug_model, arms, [text], options=TIGHT)
    table = bm.draw_cohort(drug_model, 40, {"r": bm.LogNormal(0.2), "kA": bm.LogNormal(0.5)}, 3)
    r, ka = np.asarray(table["r"]), np.asarray(table["kA"])
    t28 = np.exp(28 * r - ka * auc((7, 14, 21, 28), 28, 0.3))
    burden_0_7 = 2 * (np.exp(7 * r) - 1) / r  # ∫0^7 2 e^{rt} dt (no drug before day 7)
    assert ctx.evaluate()["S"].value == pytest.approx(spearmanr(t28, burden_0_7).statistic, abs=1e-12)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cohort_members_equal_engine_cohort(drug_model, arms, n_jobs):
    """Members drawn and solved by the context equal draw_cohort + simulate_cohort (the engine's own path)."""
    from bonemet_ode.outcomes.context import _ContextReadout

    spec = "cohort[A, n=25, seed=11, r~lognormal(0.3), kA~uniform(0.1, 0.9), ke~normal(0.02)]"
    ctx = EvaluationContext(drug_model, arms, [f"S: spearman({spec}: T@21, A@20) >= -1"], n_jobs=n_jobs)
    over = {"r": 0.25, "ke": 0.4}
    (cohort,) = ctx.cohorts
    got = ctx._cohorts[cohort].run(over)
    model = drug_model.with_parameters(over)
    table = bm.draw_cohort(model, 25, dict(cohort.variability), 11)
    ref = bm.simulate_cohort(model, table, arms["A"], times=got.times, n_jobs=1)
    assert np.array_equal(got["T"], ref["T"]) and np.array_equal(got["A"], ref["A"])
    value = ctx.evaluate(over)["S"].value
    readout = _ContextReadout(ctx.horizon, {}, {cohort: got}, {})
    assert value == cohort_spearman(readout, cohort) == pytest.approx(
        spearmanr(ref.at(21, "T"), ref.at(20, "A")).statistic, abs=1e-12)


def cohort_spearman(readout, cohort):
    from bonemet_ode.outcomes import Spearman, Value

    return Spearman(cohort, Value("T", 21), Value("A", 20)).evaluate(readout)


def test_context_default_variability(drug_model, arms):
    text = "F: fraction(cohort[control, n=30, seed=1]: T@10 > 7.5) >= 0"
    ctx = EvaluationContext(drug_model, arms, [text], variability={"r": bm.LogNormal(0.25)}, options=TIGHT)
    r = _analytic_cohort(drug_model, 30, 1, 0.25, 0.2)
    assert ctx.evaluate()["F"].value == pytest.approx(np.mean(np.exp(10 * r) > 7.5), abs=1e-12)

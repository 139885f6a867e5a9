"""The batched evaluation engine (outcomes/plan.py) against the legacy one-source-at-a-time path.

Both paths read the same compiled solver; the batched one solves several sources per call in
SIMD lanes, on threads, and outputs only the days the outcomes read.  The solver's steps do not
depend on which output times it interpolates, and a member in lanes is solved exactly as alone,
so the results must agree bit for bit, failures included.  The toy model's values are also
checked against its closed form (conftest.tumour).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.errors import OutcomeError
from bonemet_ode.outcomes import EvaluationContext
from bonemet_ode.outcomes.plan import output_days

from conftest import A_DAYS, B_DAYS, tumour

TOY_OUTCOMES = [
    "T1: T@28[A] < T@28[control]",
    "T2: integral(T, 5, 20)[A+B] < integral(T, 5, 20)[B]",
    "T3: time_to(T >= 50, until=28)[slow] > time_to(T >= 50, until=28)[control]",
    "T4: fraction(cohort[A+B, n=37, seed=3, r~lognormal(0.2)]: T@28 < 1) >= 0",
    "T5: spearman(cohort[control, n=20, seed=1, r~lognormal(0.2), ke~lognormal(0.1)]: T@14, burden@21) > 0.5",
    "T6: T@21[KO] <= T@21[A0]",
]


def _same(a, b) -> bool:
    return all((x.value == y.value or (math.isnan(x.value) and math.isnan(y.value)))
               and (x.margin == y.margin or (math.isnan(x.margin) and math.isnan(y.margin)))
               and x.satisfied == y.satisfied for x, y in zip(a.results, b.results))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_toy_batched_equals_legacy_bit_for_bit(drug_model, arms, n_jobs):
    new = EvaluationContext(drug_model, arms, TOY_OUTCOMES, n_jobs=n_jobs, cache_size=0)
    old = EvaluationContext(drug_model, arms, TOY_OUTCOMES, engine="legacy", cache_size=0)
    for params in ({}, {"r": 0.25, "ke": 0.4}, {"kA": 0.1, "kB": 0.9, "kAB": 0.2}):
        a, b = new.evaluate(params), old.evaluate(params)
        assert _same(a, b), (a.report(), b.report())
        assert dict(a.failures) == dict(b.failures)
        np.testing.assert_array_equal(a.margins(), b.margins())
    new.close()


def test_toy_values_match_closed_form(drug_model, arms):
    ctx = EvaluationContext(drug_model, arms, TOY_OUTCOMES, n_jobs=2)
    ev = ctx.evaluate()
    a28 = [d for d in A_DAYS if d <= 28]
    # log-scale comparisons report the ratio of the two sides
    assert ev["T1"].value == pytest.approx(tumour(28, a_days=a28) / tumour(28), rel=1e-5)
    a0 = math.exp(0.2 * 21 - 0.5 * (1 - math.exp(-0.3 * 21)) / 0.3)  # A = 1 at day 0, no doses
    assert ev["T6"].value == pytest.approx(1.0 / a0, rel=1e-5)         # KO: growth knocked out, T stays 1
    ctx.close()


def test_output_days_keeps_ranges_and_points(drug_model, arms):
    """Only read-out days, the last day, and whole ranges of integrals / threshold searches are kept."""
    ctx = EvaluationContext(drug_model, arms, TOY_OUTCOMES, engine="batched")
    plan = ctx._plan
    by = {str(s.key): s.times for b in plan.batches for s in b.sources}
    assert by["A"].tolist() == [28.0]                                  # one read-out, which is the end
    assert by["KO"].tolist() == [21.0] and by["A0"].tolist() == [21.0]
    grid = ctx.times
    # integral 5..20 reads the whole grid from 0 to day 20 (pre-dose points included), then its end
    b_times = by["B"]
    assert set(grid[grid <= 20 + 1e-9]) <= set(b_times.tolist())
    assert b_times[-1] == 20.0
    slow = by["slow"]                                                  # time_to until day 28
    assert set(grid[grid <= 28 + 1e-9]) <= set(slow.tolist())
    times = np.array([0.0, 1.0, 2.0, 3.0])
    need = bm.outcomes.base.Need("x", "T", (2.0,), points=True)
    assert output_days(times, [need], 3.0).tolist() == [2.0, 3.0]
    assert output_days(times, [bm.outcomes.base.Need("x", "T", (2.0,))], 3.0).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_failures_reported_alike(drug_model, arms):
    """A cohort whose draws leave the bounds fails the same way in both engines."""
    outcomes = ["F1: fraction(cohort[control, n=50, seed=2, ke~lognormal(3)]: T@10 < 5) >= 0", "F2: T@10[A] > 0"]
    new = EvaluationContext(drug_model, arms, outcomes)
    old = EvaluationContext(drug_model, arms, outcomes, engine="legacy")
    a, b = new.evaluate(), old.evaluate()
    assert a.failures and dict(a.failures) == dict(b.failures)
    assert _same(a, b)


def test_bad_engine_and_threads(drug_model, arms):
    with pytest.raises(OutcomeError, match="engine"):
        EvaluationContext(drug_model, arms, TOY_OUTCOMES[:1], engine="fast")
    with pytest.raises(OutcomeError, match="n_jobs"):
        EvaluationContext(drug_model, arms, TOY_OUTCOMES[:1], n_jobs=0)


@pytest.fixture(scope="module")
def catalogue_pair():
    from bonemet_ode.models.bone_metastasis.catalogue import catalogue_context

    new = catalogue_context(n_jobs=2, cache_size=0)
    old = catalogue_context(engine="legacy", cache_size=0)
    yield new, old
    new.close()


def test_catalogue_batched_equals_legacy(catalogue_pair):
    """O1-O21 with jittered free parameters: every value and margin identical in both engines."""
    from bonemet_ode.models.bone_metastasis.catalogue import free_parameters

    new, old = catalogue_pair
    model = new.model
    pars = {p.name: p for p in model.parameters}
    rng = np.random.default_rng(11)
    sets = [{}]
    while len(sets) < 3:
        d = {k: pars[k].value * float(np.exp(0.1 * rng.standard_normal())) for k in free_parameters()}
        if all(pars[k].lower <= v <= pars[k].upper for k, v in d.items()):
            sets.append(d)
    for params in sets:
        a, b = new.evaluate(params), old.evaluate(params)
        assert _same(a, b), (a.report(), b.report())
        assert dict(a.failures) == dict(b.failures)
    assert new._plan.n_members == len(new.arm_names) + sum(c.n for c in new.cohorts)

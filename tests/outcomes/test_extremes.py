"""max/min over a time window (Extremum) and largest/smallest of quantities (Extreme) against closed forms.

The toy model of conftest.py: untreated, ``T = exp(r t)``; drug ``A`` given as
1 mg boluses on days 7, 14, 21, 28 and cleared at ``ke``, so its largest value
on ``[7, 28]`` is the amount just after the day-28 dose,
``Σ exp(-ke (28 - t_i))``, and its smallest on ``[7.5, 28]`` is the trough
just before the day-14 dose, ``exp(-7 ke)`` (later troughs are higher).  Solves at rtol 1e-10; the extremes
are taken on the output grid, so the trough is read at the pre-dose output point (1e-6 days
before the bolus): agreement to 1e-6 relative.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import A_DAYS, TIGHT

from bonemet_ode.errors import OutcomeError
from bonemet_ode.outcomes import EvaluationContext, Extreme, Extremum, decode, parse, parse_quantity, parse_statement


def evaluate(model, arms, text, **kw):
    kw.setdefault("options", TIGHT)
    return EvaluationContext(model, arms, [text], **kw).evaluate().results[0]


def drug_after_dose(day: float, ke: float = 0.3) -> float:
    return sum(math.exp(-ke * (day - d)) for d in A_DAYS if d <= day)


def test_max_and_min_of_exponential_growth(drug_model, arms):
    r = 0.2
    hi = evaluate(drug_model, arms, "max(T, 2, 5)[control] >= 1")
    lo = evaluate(drug_model, arms, "min(T, 2, 5)[control] >= 1")
    assert hi.value == pytest.approx(math.exp(5 * r), rel=1e-7)
    assert lo.value == pytest.approx(math.exp(2 * r), rel=1e-7)


def test_max_and_min_of_dosed_drug(drug_model, arms):
    peak = evaluate(drug_model, arms, "max(A, 7, 28)[A] <= 10")
    assert peak.value == pytest.approx(drug_after_dose(28.0), rel=1e-6)
    trough = evaluate(drug_model, arms, "min(A, 7.5, 28)[A] >= 0")
    expected = drug_after_dose(14.0) - 1.0  # just before the day-14 bolus: the lowest trough
    assert trough.value == pytest.approx(expected, rel=1e-6)
    assert trough.satisfied and peak.satisfied


def test_largest_and_smallest_over_arms(drug_model, arms):
    text = "largest(max(T, 0, 10)[control], max(T, 0, 10)[KO], max(T, 0, 10)[slow]) <= 100"
    res = evaluate(drug_model, arms, text)
    assert res.value == pytest.approx(math.exp(0.2 * 10), rel=1e-7)
    res = evaluate(drug_model, arms, "smallest(T@10[control], T@10[KO], T@10[slow]) >= 0.5")
    assert res.value == pytest.approx(1.0, rel=1e-7)  # the knockout stays at T0 = 1
    # the margin is the worst arm's: log(exp(0.5) / e^2) for a ceiling of e^0.5 fails by 1.5
    res = evaluate(drug_model, arms, f"largest(T@10[control], T@10[slow]) <= {math.exp(0.5)!r}")
    assert not res.satisfied and res.margin == pytest.approx(0.5 - 2.0, abs=1e-7)


def test_extremum_inside_cohort_fraction(drug_model, arms):
    from bonemet_ode.simulate.cohort import LogNormal

    text = "fraction(cohort[control, n=20, seed=3]: max(T, 0, 10) >= 1) >= 1"
    res = evaluate(drug_model, arms, text, variability={"r": LogNormal(0.3)})
    assert res.satisfied and res.value == pytest.approx(1.0)


def test_round_trips():
    for text in ("max(x, 0, 365)[A] <= 150", "min(bone_mass, 1.5, 2)['a b'] >= 0.3 * x@0[A]",
                 "largest(max(x, 0, 1)[A], 2 * x@1[B]) <= 3", "smallest(x@1[A]) >= -1e-06"):
        s = parse_statement(text)
        assert parse_statement(s.to_text()) == s
        assert decode(json.loads(json.dumps(s.to_dict()))) == s
    o = parse("P2 (plausibility): largest(max(x, 0, 365)[A], max(x, 0, 365)[B]) <= 150 # ceiling")
    assert parse(o.to_text()) == o


def test_python_objects_equal_parsed_text():
    q = parse_quantity("largest(max(x, 0, 365)[A], max(x, 0, 365)[B])")
    assert q == Extreme("largest", (Extremum("x", "max", 0, 365, "A"), Extremum("x", "max", 0, 365, "B")))
    assert Extreme.over_arms("largest", Extremum("x", "max", 0, 365), ["A", "B"]) == q
    assert q.log_scale
    assert not parse_quantity("largest(x@1[A], x@1[B] - x@0[B])").log_scale


def test_non_finite_values_make_the_extreme_nan():
    q = Extremum("x", "max", 0, 2)
    times = np.array([0.0, 1.0, 2.0])
    assert math.isnan(float(q.reduce(times, np.array([1.0, np.inf, 2.0]), 2.0)))
    assert math.isnan(float(q.reduce(times, np.array([1.0, np.nan, 2.0]), 2.0)))
    both = q.reduce(times, np.array([[1.0, 3.0, 2.0], [0.0, -1.0, 0.5]]), 2.0)
    assert both.tolist() == [3.0, 0.5]
    assert Extremum("x", "min", 0, 2).reduce(times, np.array([[1.0, 3.0, 2.0]]), 2.0).tolist() == [1.0]


@pytest.mark.parametrize("text, message", [
    ("max(x, 5, 2)[A] <= 1", "must be after start"),
    ("max(x, 0)[A] <= 1", "expected ','"),
    ("largest() <= 1", "expected a quantity"),
    ("min(x, -1, 2)[A] <= 1", "day"),
])
def test_bad_input_is_refused(text, message):
    with pytest.raises(OutcomeError, match=message):
        parse_statement(text)


def test_bad_objects_are_refused():
    with pytest.raises(OutcomeError, match="'max' or 'min'"):
        Extremum("x", "mean", 0, 1)
    with pytest.raises(OutcomeError, match="at least one quantity"):
        Extreme("largest", ())
    with pytest.raises(OutcomeError, match="'largest' or 'smallest'"):
        Extreme("biggest", (Extremum("x", "max", 0, 1, "A"),))

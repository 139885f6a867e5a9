"""Quantities against closed-form solutions of the toy two-drug model (see conftest.py).

Tolerances: solves run at rtol 1e-10 / atol 1e-12, so values read at an
output time agree with the analytic solution to ~1e-8 relative; integrals
carry the trapezoid error bound (r h)^2/12 of an exponential; threshold
times interpolated in log(value) are exact for exponentials.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import A_DAYS, B_DAYS, TIGHT, auc, tumour
from hypothesis import given, settings
from hypothesis import strategies as st

from bonemet_ode.outcomes import HSA, NEVER_FACTOR, Bliss, EvaluationContext, Integral, TimeTo, Value, parse


def context(model, arms, outcomes, **kw):
    kw.setdefault("options", TIGHT)
    return EvaluationContext(model, arms, outcomes, **kw)


def test_value_and_ratio_match_closed_form(drug_model, arms):
    ctx = context(drug_model, arms, ["V: T@13.37[A] >= 0", "R: T@28[A] <= 0.5 * T@28[control]"])
    ev = ctx.evaluate()
    t_a = ctx.simulate("A")
    assert t_a.at(13.37, "T") == pytest.approx(tumour(13.37, a_days=A_DAYS), rel=1e-7)
    fold = math.exp(-0.5 * auc(A_DAYS, 28.0, 0.3))  # T_A(28) / T_control(28)
    r = ev["R"]
    assert r.value == pytest.approx(fold, rel=1e-7)
    assert r.threshold == 0.5
    assert r.margin == pytest.approx(math.log(0.5) - math.log(fold), rel=1e-7)
    assert r.satisfied == (fold <= 0.5)


def test_value_of_observable_and_parameter_override(drug_model, arms):
    ctx = context(drug_model, arms, ["O: burden@10[control] >= 0"])
    for r in (0.1, 0.35):
        value = Value("burden", 10, "control").evaluate(_readout(ctx, {"r": r}))
        assert value == pytest.approx(2 * math.exp(10 * r), rel=1e-8)


def _readout(ctx, params):
    """The readout of one evaluation (through the public Outcome protocol: a capturing statement)."""
    from bonemet_ode.outcomes.context import _ContextReadout

    runs = {name: runner.run({**ctx.params, **params}) for name, runner in ctx._runners.items()}
    return _ContextReadout(ctx.horizon, runs, {}, {})


@pytest.mark.parametrize("step", [0.1, 0.05])
def test_integral_trapezoid_error_within_bound(drug_model, arms, step):
    ctx = context(drug_model, arms, ["I: integral(T, 0, 28)[control] > 0"], step=step)
    got = ctx.evaluate()["I"].value
    r = 0.2
    exact = (math.exp(r * 28) - 1) / r
    rel = (got - exact) / exact
    bound = (r * step) ** 2 / 12  # trapezoid on an exponential, relative
    assert 0 < rel <= 1.05 * bound  # convex integrand: the rule overestimates
    assert rel == pytest.approx(bound, rel=0.05)


def test_integral_of_dosed_drug_with_kinks(drug_model, arms):
    ctx = context(drug_model, arms, ["I: integral(A, 0, 26)[A] > 0"], step=0.05)
    got = ctx.evaluate()["I"].value
    exact = auc(A_DAYS, 26.0, 0.3)
    assert got == pytest.approx(exact, rel=(0.3 * 0.05) ** 2 / 12 * 1.1)


def test_time_to_threshold_exact_for_exponential(drug_model, arms):
    ctx = context(drug_model, arms, ["T1: time_to(T >= 50)[control] < 100", "T2: time_to(A <= 0.25)[A0] > 0"],
                  days=28)
    ev = ctx.evaluate()
    assert ev["T1"].value == pytest.approx(math.log(50) / 0.2, rel=1e-7)
    # A(0) = 1 decays at ke = 0.3/day: it falls to 0.25 at ln(4)/ke
    assert ev["T2"].value == pytest.approx(math.log(4) / 0.3, rel=1e-7)


def test_time_to_never_and_already_met(drug_model, arms):
    ctx = context(drug_model, arms, ["N: time_to(T >= 1e30)[control] > time_to(T >= 50)[control]",
                                     "Z: time_to(T >= 0.5)[control] >= 0",
                                     "U: time_to(T >= 50, until=10)[control] > 0"], days=28)
    ev = ctx.evaluate()
    t50 = math.log(50) / 0.2
    # never reached -> censored at NEVER_FACTOR * horizon for the margin
    assert ev["N"].satisfied
    assert ev["N"].margin == pytest.approx(math.log(NEVER_FACTOR * 28 / t50), rel=1e-7)
    assert ev["N"].value == math.inf  # shown as never reached, not as the margin's stand-in
    assert ev["Z"].value == 0.0
    assert ev["U"].value == math.inf and ev["U"].margin == pytest.approx(NEVER_FACTOR * 10)
    assert {r["id"]: r for r in ev.to_records()}["U"]["value"] == "inf"  # JSON-safe records
    q = TimeTo("T", ">=", 1e30, "control")
    assert q.reduce(np.array([0.0, 1.0]), np.array([1.0, 2.0]), 1.0) == math.inf


def test_time_to_vectorised_over_members():
    t = np.linspace(0, 10, 11)
    Y = np.vstack([np.exp(0.5 * t), np.exp(0.3 * t), np.full_like(t, 5.0), np.linspace(10, -10, 11)])
    up = TimeTo("x", ">=", 8.0).reduce(t, Y, 10.0)
    assert up[0] == pytest.approx(math.log(8) / 0.5, rel=1e-12)
    assert up[1] == pytest.approx(math.log(8) / 0.3, rel=1e-12)
    assert math.isinf(up[2]) and up[3] == 0.0
    # a crossing of a non-positive level is interpolated linearly: 10 - 2t = -2.5 at t = 6.25
    assert TimeTo("x", "<=", -2.5).reduce(t, Y[3:4], 10.0)[0] == pytest.approx(6.25, rel=1e-12)
    # positive values: log-linear interpolation, exact for a decaying exponential
    decay = TimeTo("x", "<=", 0.3).reduce(t, np.exp(-0.7 * t), 10.0)
    assert decay == pytest.approx(math.log(1 / 0.3) / 0.7, rel=1e-12)


def test_bliss_zero_for_independent_drugs(drug_model, arms):
    ctx = context(drug_model, arms, ["B: bliss(T@28; control, A, B, A+B) >= 0",
                                     "H: hsa(T@28; control, A, B, A+B) >= 0"])
    ev = ctx.evaluate()
    assert abs(ev["B"].value) < 1e-9
    f_a = math.exp(-0.5 * auc(A_DAYS, 28, 0.3))
    f_b = math.exp(-0.3 * auc(B_DAYS, 28, 0.3))
    assert ev["H"].value == pytest.approx(min(f_a, f_b) - f_a * f_b, rel=1e-6)


_BLISS: dict[str, EvaluationContext] = {}


@settings(max_examples=25, deadline=None)
@given(r=st.floats(0.05, 0.5), ka=st.floats(0.0, 2.0), kb=st.floats(0.0, 2.0), ke=st.floats(0.05, 3.0),
       day=st.sampled_from([10.0, 17.5, 28.0]))
def test_bliss_zero_for_independent_drugs_property(drug_model, arms, r, ka, kb, ke, day):
    """Independent exponential kill: f_AB = f_A f_B for any rates, so the Bliss excess is 0 (to 1e-9)."""
    key = str(day)
    if key not in _BLISS:
        _BLISS[key] = context(drug_model, arms, [f"B: bliss(T@{day:g}; control, A, B, A+B) >= 0"], days=28)
    ev = _BLISS[key].evaluate({"r": r, "kA": ka, "kB": kb, "ke": ke})
    assert abs(ev["B"].value) < 1e-9


def test_bliss_positive_with_interaction(drug_model, arms):
    from scipy.integrate import quad

    weak = {"kA": 0.05, "kB": 0.03}
    ctx = context(drug_model, arms, ["B: bliss(T@28; control, A, B, A+B) > 0.01"], params=weak)
    assert not ctx.evaluate()["B"].satisfied
    ev = ctx.evaluate({"kAB": 0.5})

    def drug(days, t):
        return sum(math.exp(-0.3 * (t - d)) for d in days if d <= t)

    breaks = sorted(set(A_DAYS + B_DAYS))
    both = sum(quad(lambda t: drug(A_DAYS, t) * drug(B_DAYS, t), a, b, epsabs=1e-13, epsrel=1e-12)[0]
               for a, b in zip(breaks[:-1], breaks[1:]))
    f_a = math.exp(-0.05 * auc(A_DAYS, 28, 0.3))
    f_b = math.exp(-0.03 * auc(B_DAYS, 28, 0.3))
    expected = f_a * f_b * (1 - math.exp(-0.5 * both))  # f_AB = f_A f_B exp(-kAB ∫A·B)
    assert ev["B"].value == pytest.approx(expected, rel=1e-6)
    assert ev["B"].satisfied and expected > 0.01


def test_python_objects_equal_parsed_text():
    assert parse("I: integral(T, 0, 28)[KO] < 0.7 * integral(T, 0, 28)[control]").statement.lhs == \
        Integral("T", 0, 28, "KO")
    assert parse("bliss(T@28; control, A, B, A+B) >= 0.15").statement.lhs == \
        Bliss("T", 28, "control", "A", "B", "A+B")
    assert parse("hsa(T@28; c, 'a b', B, AB) >= 0").statement.lhs == HSA("T", 28.0, "c", "a b", "B", "AB")
    stmt = Value("cd8", 28, "KO") >= 2 * Value("cd8", 28, "control")
    assert parse("cd8@28[KO] >= 2 * cd8@28[control]").statement == stmt


def test_misspelt_arm_variable_or_a_parameter_read_is_refused_by_name(drug_model, arms):
    """An outcome's arm or variable that the context lacks is named, with a did-you-mean; a parameter read as a
    quantity is refused (docs/outcome_language.md: parameters appear only in a cohort's NAME ~ DIST)."""
    from bonemet_ode.errors import OutcomeError

    with pytest.raises(OutcomeError, match=r"arm 'contrl'.*does not define; did you mean 'control'\?"):
        context(drug_model, arms, ["X: T@28[contrl] > 1"])
    with pytest.raises(OutcomeError, match=r"reads 'Tt'.*not a state or observable; did you mean 'T'"):
        context(drug_model, arms, ["X: Tt@28[control] > 1"])
    param = drug_model.parameter_names[0]
    with pytest.raises(OutcomeError, match=f"reads {param!r}.*not a state or observable"):
        context(drug_model, arms, [f"X: {param}@28[control] > 0"])

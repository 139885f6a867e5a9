"""Statements: margins (log and linear), strictness, conjunctions, the penalty, failures, custom outcomes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from conftest import TIGHT

import bonemet_ode as bm
from bonemet_ode.errors import OutcomeError
from bonemet_ode.model import Model, Module, Parameter, State, Term
from bonemet_ode.outcomes import (
    AllOf,
    Between,
    Compare,
    Constant,
    EvaluationContext,
    Need,
    Outcome,
    Quantity,
    Readout,
    Value,
    decode,
    parse,
    penalty,
    residual,
)
from bonemet_ode.outcomes.results import MARGIN_CLIP


def ev_of(model, arms, outcomes, params=None, **kw):
    kw.setdefault("options", TIGHT)
    return EvaluationContext(model, arms, outcomes, **kw).evaluate(params)


def test_log_and_linear_margins(drug_model, arms):
    ev = ev_of(drug_model, arms, [
        "up: T@10[control] >= 2 * T@5[control]",        # exp(2)/exp(1)/2 -> log margin 1 - log 2
        "down: T@10[control] <= 10",                     # log(10) - 2
        "lin: T@10[control] - T@5[control] >= 4",        # linear: e^2 - e - 4
        "rng: T@10[control] between 1 and 5",            # log scale: min(2, log5 - 2) < 0
        "rlin: T@10[control] - T@5[control] between -1 and 5",
    ])
    e, e2 = math.e, math.e ** 2
    assert ev["up"].margin == pytest.approx(1 - math.log(2), rel=1e-8)
    assert (ev["up"].value, ev["up"].threshold) == (pytest.approx(e, rel=1e-8), 2.0)
    assert ev["down"].margin == pytest.approx(math.log(10) - 2, rel=1e-8)
    assert ev["lin"].margin == pytest.approx(e2 - e - 4, rel=1e-8) and ev["lin"].satisfied
    assert ev["rng"].margin == pytest.approx(math.log(5) - 2, rel=1e-8) and ev["rng"].threshold == 5
    assert ev["rlin"].margin == pytest.approx(5 - (e2 - e), rel=1e-8)


def test_strict_and_non_strict_at_zero_margin(drug_model, arms):
    ev = ev_of(drug_model, arms, ["ge: T@0[control] >= 1", "gt: T@0[control] > 1", "le: T@0[KO] <= T@0[control]",
                                  "lt: T@0[KO] < T@0[control]"], days=1)
    assert [ev[k].margin for k in ("ge", "gt", "le", "lt")] == [0.0, 0.0, 0.0, 0.0]
    assert [ev[k].satisfied for k in ("ge", "gt", "le", "lt")] == [True, False, True, False]


def test_conjunction_margin_is_smallest_clause(drug_model, arms):
    o = parse("C (toy): T@10[control] >= 2 and T@10[control] <= 10 and T@28[slow] < 5  # three clauses")
    assert isinstance(o.statement, AllOf) and o.n_leaves == 3
    r = ev_of(drug_model, arms, [o])["C"]
    assert [p.id for p in r.parts] == ["C.1", "C.2", "C.3"]
    margins = [math.log(math.e ** 2 / 2), math.log(10) - 2, math.log(5) - 0.05 * 28]
    assert [p.margin for p in r.parts] == pytest.approx(margins, rel=1e-8)
    assert r.margin == pytest.approx(min(margins), rel=1e-8)
    assert r.satisfied and r.leaf_margins() == tuple(p.margin for p in r.parts)


def test_arm_keeps_parameters_it_sets(drug_model, arms):
    # the 'slow' arm pins r = 0.05; an override of r must not undo it
    ev = ev_of(drug_model, arms, ["s: T@20[slow] >= 0", "c: T@20[control] >= 0"], {"r": 0.3})
    assert ev["s"].value == pytest.approx(math.exp(0.05 * 20), rel=1e-8)
    assert ev["c"].value == pytest.approx(math.exp(0.3 * 20), rel=1e-8)


def test_penalty_smooth_hinge():
    s = 0.05
    assert residual(-1.0, s) == pytest.approx(1.0, rel=1e-8)
    assert residual(1.0, s) < 1e-8 and residual(0.0, s) == pytest.approx(s * math.log(2))
    assert penalty(-0.5, s) == pytest.approx(residual(-0.5, s) ** 2)
    ms = np.linspace(-1, 1, 401)
    r = np.array([residual(m, s, 0.1) for m in ms])
    assert np.all(np.diff(r) < 0)  # strictly decreasing in the margin
    # derivative: d/dm [s softplus(-(m - safety)/s)] = -sigmoid(-(m - safety)/s), checked by central differences
    for m in (-0.3, 0.05, 0.1, 0.4):
        h = 1e-6
        fd = (residual(m + h, s, 0.1) - residual(m - h, s, 0.1)) / (2 * h)
        assert fd == pytest.approx(-1 / (1 + math.exp((m - 0.1) / s)), rel=1e-5, abs=1e-9)
    assert residual(float("nan")) == residual(-math.inf) == residual(-MARGIN_CLIP) == residual(-1e9)
    assert residual(math.inf) == 0.0


def test_failed_simulation_fails_only_its_outcomes():
    blowup = Model("blowup", [Module("m", states=(State("x", 1.0),), parameters=(Parameter("a", 1.0, upper=10),),
                                     terms=(Term("g", "a*x**2", {"x": 1}),))])  # x = 1/(1 - a t) blows up at t = 1/a
    arms = {"fast": bm.Arm("fast"), "calm": bm.Arm("calm", perturbations=(bm.SetParameters({"a": 0.01}),))}
    ctx = EvaluationContext(blowup, arms,
                            ["F: x@5[fast] <= 1e6", "K: x@5[calm] <= 2", "J: x@5[calm] <= 2 and x@5[fast] > 0"])
    ev = ctx.evaluate()
    assert "fast" in ev.failures and "fast" in ev["F"].message
    assert not ev["F"].satisfied and ev["F"].margin == -math.inf and math.isnan(ev["F"].value)
    assert ev["K"].satisfied and ev["K"].value == pytest.approx(1 / (1 - 0.05), rel=1e-5)
    assert [p.satisfied for p in ev["J"].parts] == [True, False] and len(ev.margins()) == 4
    assert np.isfinite([residual(m) for m in ev.margins()]).all()


def test_unknown_names_are_reported(drug_model, arms):
    with pytest.raises(OutcomeError, match="arm 'nope'.*arms: 'control'"):
        EvaluationContext(drug_model, arms, ["X: T@1[nope] > 0"])
    with pytest.raises(OutcomeError, match="'Tumor'.*known: T, A, B, rate, burden"):
        EvaluationContext(drug_model, arms, ["X: Tumor@1[control] > 0"])
    with pytest.raises(OutcomeError, match="reads day 30, after the horizon days=20"):
        EvaluationContext(drug_model, arms, ["X: T@30[control] > 0"], days=20)
    with pytest.raises(OutcomeError, match="appears twice"):
        EvaluationContext(drug_model, arms, ["X: T@1[control] > 0", "X: T@2[control] > 0"])
    # a horizon whose output grid would not fit in memory is refused before anything is allocated
    with pytest.raises(OutcomeError, match=r"needs 1e\+10 output times \(at most 10,000,000\)"):
        EvaluationContext(drug_model, arms, ["X: T@1e9[control] > 0"])
    with pytest.raises(OutcomeError, match="step must be a positive number"):
        EvaluationContext(drug_model, arms, ["X: T@1[control] > 0"], step=float("inf"))
    with pytest.raises(OutcomeError, match="no variability"):
        EvaluationContext(drug_model, arms, ["X: fraction(cohort[control, n=5]: T@1 > 0) > 0"])


@dataclass(frozen=True)
class Peak(Quantity):
    """A user-defined quantity: the largest value of a variable in an arm."""

    kind: ClassVar[str] = "test_peak"
    name: str
    arm: str

    def needs(self) -> tuple[Need, ...]:
        return (Need(self.arm, self.name, (), to_horizon=True),)

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        return float(np.max(data.series(self.arm, self.name)[1]))

    def to_text(self) -> str:
        return f"peak({self.name})[{self.arm}]"

    def sentence(self) -> str:
        return f"peak of {self.name} in '{self.arm}'"


def test_custom_quantity_evaluates_and_serialises(drug_model, arms):
    o = Outcome("P", Peak("A", "A0") <= 0.5 * Peak("A", "A"), source="test")
    assert str(o) == "P: peak of A in 'A0' ≤ 0.5 × peak of A in 'A'"
    ev = ev_of(drug_model, arms, [o], days=28)
    # A0 starts at 1 and decays; the dosed arm peaks right after its day-28 dose
    peak_a = sum(math.exp(-0.3 * (28 - d)) for d in (7, 14, 21, 28))
    assert ev["P"].value == pytest.approx(1 / peak_a, rel=1e-8) and ev["P"].threshold == 0.5
    assert decode(o.to_dict()) == o


def test_operators_build_statements():
    q = Value("T", 28, "A")
    assert (q <= 0.5 * Value("T", 28, "control")) == Compare(q, "<=", Constant(0.5) * Value("T", 28, "control"))
    both = (q >= 1) & (q <= 10)
    assert isinstance(both, AllOf) and both.parts[0] == Compare(q, ">=", Constant(1.0))
    assert (q / Value("T", 28, "control")).log_scale and not (q - 1).log_scale
    with pytest.raises(OutcomeError):
        Between(q, 2.0, 1.0)

"""Qualitative calibration on a toy model whose feasible region is known in closed form.

Model: ``dT/dt = (r - kA·A) T``, ``dA/dt = -ke A``, T(0) = 1, A dosed 1 mg weekly
from day 7, so ``T_control(28) = exp(28 r)`` and ``T_A(28)/T_control(28) =
exp(-kA·AUC)`` with ``AUC = Σ (1 - exp(-ke (28 - t_i)))/ke``.  The three
outcomes below hold, with every margin >= δ, exactly when
``ln(300) + δ <= 28 r <= ln(400) - δ`` and ``kA·AUC >= ln(5) + δ``.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.calibration.calibrator import (
    CalibrationResult,
    CalibrationSettings,
    Calibrator,
    FreeParameter,
    calibrate,
)
from bonemet_ode.errors import FitError, SavedFileError, UnknownNameError
from bonemet_ode.model import Model, Module, Parameter, State, Term
from bonemet_ode.outcomes import EvaluationContext, OutcomeResult

TIGHT = bm.SolverOptions(rtol=1e-10, atol=1e-12)
KE = 0.3
AUC = sum((1 - math.exp(-KE * (28 - t))) / KE for t in (7, 14, 21, 28))
FEASIBLE = ["O1: T@28[control] >= 300", "O2: T@28[control] <= 400", "O3: T@28[A] <= 0.2 * T@28[control]"]


def toy() -> Model:
    return Model("toy_calibration", [Module(
        "toy",
        states=(State("T", 1.0, "cells"), State("A", 0.0, "mg")),
        parameters=(Parameter("r", 0.1, "1/day", 0.01, 2.0, log_scale=True),
                    Parameter("kA", 0.1, "1/(mg day)", 0.0, 5.0),
                    Parameter("ke", KE, "1/day", 0.01, 10.0)),
        terms=(Term("grow", "r*T", {"T": 1}), Term("kill", "kA*A*T", {"T": -1}), Term("elim", "ke*A", {"A": -1})),
    )])


ARMS = {"control": bm.Arm("control"), "A": bm.Arm("A", (bm.Dose("A", 1.0, every=7, start=7),))}


def context(outcomes):
    return EvaluationContext(toy(), ARMS, outcomes, options=TIGHT)


def in_region(r: float, ka: float, delta: float) -> bool:
    return math.log(300) + delta <= 28 * r <= math.log(400) - delta and ka * AUC >= math.log(5) + delta


def test_recovers_the_feasible_region_from_a_seed():
    settings = CalibrationSettings(n_starts=8, safety=0.02, include_current=False, progress=False)
    res = Calibrator(context(FEASIBLE), ["r", "kA"], settings).run(seed=4)
    assert res.satisfied and res.stopped_early
    r, ka = res.parameters["r"], res.parameters["kA"]
    assert in_region(r, ka, 0.02 * (1 - 1e-6))  # closed-form check of the returned point, with the safety margin
    assert min(m for x in res.results for m in x.leaf_margins()) >= 0.02
    assert res.n_evaluations > 9  # the screening alone did not find it: the refinement did
    assert res.free[0] == FreeParameter("r", 0.01, 2.0, True) and res.conflicts == ()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_seed_succeeds(seed):
    res = calibrate(context(FEASIBLE), ["r", "kA"], seed=seed, n_starts=16, progress=False)
    assert res.satisfied and in_region(res.parameters["r"], res.parameters["kA"], 0.05 * (1 - 1e-6))


def test_same_seed_same_result_bit_for_bit():
    runs = [calibrate(context(FEASIBLE), ["r", "kA"], seed=7, n_starts=8, include_current=False) for _ in range(2)]
    a, b = (dataclasses.replace(x, wall_time=0.0).to_dict() for x in runs)
    assert a == b
    assert [v.hex() for v in runs[0].parameters.values()] == [v.hex() for v in runs[1].parameters.values()]


def test_conflicting_outcomes_are_reported():
    outcomes = ["O1: T@28[control] >= 1e4", "O2: T@28[control] <= 1e3",
                "O3: T@28[A] <= 0.2 * T@28[control]", "O4: T@28[control] >= 1e30"]  # e^(28·2) < 1e30: impossible
    res = calibrate(context(outcomes), ["r", "kA"], seed=0, n_starts=16, progress=False)
    assert not res.satisfied and not res.stopped_early
    assert {frozenset((c.first, c.second)) for c in res.conflicts} == {frozenset({"O1", "O2"})}
    assert res.infeasible == ("O4",) and res.unexplained == ()
    (c,) = res.conflicts
    assert c.cosine < -0.99 and [p[0] for p in c.opposing] == ["r"]  # only r moves T_control
    assert "raising r helps" in c.explain()
    report = res.report()
    for text in ("conflict analysis", "pairwise co-satisfiability", "O1 and O2" if c.first == "O1" else "O2 and O1",
                 "not found to hold even alone", "a wider search may): O4", "✗"):
        assert text in report


def test_save_load_is_bit_exact(tmp_path):
    res = calibrate(context(FEASIBLE), ["r", FreeParameter("kA", 0.01, 4.0, log_scale=True)], seed=3, n_starts=8)
    odd = OutcomeResult("X", math.nan, math.inf, -math.inf, False, "odd", (), "failed")
    res = dataclasses.replace(res, results=res.results + (odd,), wall_time=1 / 3, satisfied=False)
    path = res.save(tmp_path / "cal" / "c.json")
    text = path.read_text(encoding="utf-8")
    json.loads(text)  # standard JSON: no NaN/Infinity tokens
    assert "NaN" not in text and "Infinity" not in text
    back = CalibrationResult.load(path)
    assert back.to_dict() == res.to_dict()
    assert {k: v.hex() for k, v in back.parameters.items()} == {k: v.hex() for k, v in res.parameters.items()}
    assert [x.margin.hex() for x in back.results] == [x.margin.hex() for x in res.results]
    assert back.wall_time.hex() == (1 / 3).hex() and math.isnan(back.results[-1].value)
    assert back.free == res.free and back.settings == res.settings
    with pytest.raises(SavedFileError, match="bonemet_ode.calibration"):
        CalibrationResult.from_dict({"format": "other"})


def test_free_parameter_validation():
    model = toy()
    with pytest.raises(FitError, match="log-scale search needs lower > 0"):
        FreeParameter("kA", log_scale=True).resolve(model)
    with pytest.raises(FitError, match="leave the model's bounds"):
        FreeParameter("r", 0.001, 1.0).resolve(model)
    with pytest.raises(UnknownNameError):
        FreeParameter("nope").resolve(model)
    with pytest.raises(FitError, match="repeated"):
        Calibrator(context(FEASIBLE), ["r", "r"])
    with pytest.raises(FitError, match="weights name unknown outcomes: O9"):
        calibrate(context(FEASIBLE), ["r"], weights={"O9": 2.0})
    with pytest.raises(FitError, match="unknown calibration settings: n_start"):
        calibrate(context(FEASIBLE), ["r"], n_start=3)


def test_unit_cube_mapping_respects_bounds():
    from bonemet_ode.calibration.space import ParameterSpace

    space = ParameterSpace(toy(), ["r", "kA"])
    assert space.to_params(np.array([0.0, 0.0])) == {"r": 0.01, "kA": 0.0}
    assert space.to_params(np.array([1.0, 1.0])) == {"r": 2.0, "kA": 5.0}
    mid = space.to_params(np.array([0.5, 0.5]))
    assert mid["r"] == pytest.approx(math.sqrt(0.01 * 2.0), rel=1e-12) and mid["kA"] == 2.5
    assert space.to_unit(mid) == pytest.approx([0.5, 0.5], abs=1e-12)


def test_progress_bar(capsys):
    calibrate(context(FEASIBLE), ["r", "kA"], seed=1, n_starts=4, progress=True)
    assert "eval" in capsys.readouterr().err


def test_evolution_search_reaches_the_feasible_region_reproducibly():
    """The derivative-free search, from a start that violates O1 and O3, lands in the closed-form region."""
    from bonemet_ode.calibration.evolve import evolve

    ctx = context(FEASIBLE)
    start = {"r": 0.1, "kA": 0.1}  # 28 r = 2.8 < ln 300; kA·AUC ≈ 0.9 < ln 5
    assert not in_region(start["r"], start["kA"], 0.0)
    found = evolve(ctx, start, seed=3, generations=40, log=None)
    assert in_region(found["r"], found["kA"], 0.0), found
    assert evolve(ctx, start, seed=3, generations=40, log=None) == found

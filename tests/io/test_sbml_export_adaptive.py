"""SBML export of adaptive doses (``Dose(..., while_above=..., pause_below=...)``) and of events that assign
parameters.

A gated bolus is exported as ``x = x + amount * flag`` in its dose event (``useValuesFromTriggerTime``: the
flag as it is when the dose time comes, before a state event of the same instant changes it, as bonemet_ode
applies timed doses before the state events of an instant); the flag starts on when its state starts above
the threshold (an initial assignment), so a dose on day 0 is given then.  Every parameter that an event
assigns (the flag, a user event's target) is written ``constant="false"``.

Model: ``T' = -r T`` (``T = T0 exp(-r t)``), ``D' = -kd D``; a dose of 1 into D.  The closed form of D is
``sum over the doses given up to t of exp(-kd (t - t_i))``; libRoadRunner on the export, bonemet_ode's own
simulate and the re-import (``read_sbml``) must all give it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bonemet_ode as bm

libsbml = pytest.importorskip("libsbml")
from bonemet_ode.io.sbml import sbml_errors, to_sbml  # noqa: E402

KD = 0.5
DAYS = 5.0
TIMES = np.array([0.0, 0.5, 1.0, 1.5, 1.7, 2.0, 2.5, 3.0, 4.0, 5.0])
TIGHT = dict(rtol=1e-10, atol=1e-12)  # bonemet_ode
RTOL = 1e-7  # against the closed form


def _model(r: float, t0: float = 200.0) -> bm.Model:
    module = bm.Module("g", states=(bm.State("T", t0), bm.State("D", 0.0)),
                       parameters=(bm.Parameter("r", r, "1/day", -5, 5), bm.Parameter("kd", KD, "1/day", 0, 5)),
                       terms=(bm.Term("gg", "r*T", {"T": -1}), bm.Term("el", "kd*D", {"D": -1})))
    return bm.Model("g", [module])


def _exact_d(times: np.ndarray, doses: list[float]) -> np.ndarray:
    return np.array([sum(math.exp(-KD * (t - d)) for d in doses if d <= t) for t in times])


def _roadrunner(xml: str, names: list[str], times: np.ndarray) -> np.ndarray:
    roadrunner = pytest.importorskip("roadrunner")
    rr = roadrunner.RoadRunner(xml)
    rr.integrator.relative_tolerance = 1e-12
    rr.integrator.absolute_tolerance = 1e-16
    rr.timeCourseSelections = ["time", *names]
    out = np.array(rr.simulate(times=list(times)))
    np.testing.assert_allclose(out[:, 0], times, rtol=0, atol=1e-12)
    return out[:, 1:]


def _check_against_closed_form(model: bm.Model, dose: bm.Dose, doses_given: list[float]) -> str:
    arm = bm.Arm("adaptive", [dose])
    xml = to_sbml(model, arm, days=DAYS)
    assert sbml_errors(xml) == []
    doc = libsbml.readSBMLFromString(xml)  # kept: its elements die with it
    assert doc.getModel().getParameter("treating_0_D").getConstant() is False  # events assign it
    exact = _exact_d(TIMES, doses_given)
    theirs = _roadrunner(xml, ["D"], TIMES)[:, 0]
    np.testing.assert_allclose(theirs, exact, rtol=RTOL, atol=1e-12)
    ours = bm.simulate(model, arm, DAYS, TIMES, **TIGHT)["D"]
    np.testing.assert_allclose(ours, exact, rtol=RTOL, atol=1e-12)
    reimported = bm.simulate(bm.read_sbml(xml), None, DAYS, TIMES, **TIGHT)["D"]
    np.testing.assert_allclose(reimported, exact, rtol=RTOL, atol=1e-12)
    return xml


def test_adaptive_dose_with_hysteresis_is_gated_in_the_export():
    """T = 200 exp(-0.3 t) falls below the pause level 120 on day ln(200/120)/0.3 = 1.70: of the doses on days
    0.5, 1.5, ..., 4.5 only 0.5 and 1.5 are given (D(5) = 0.2792; the ungated export gave 1.817)."""
    assert math.log(200 / 120) / 0.3 == pytest.approx(1.7027, abs=1e-4)
    dose = bm.Dose("D", 1.0, every=1, start=0.5, while_above=("T", 150.0), pause_below=120.0)
    xml = _check_against_closed_form(_model(0.3), dose, [0.5, 1.5])
    # the flag itself: on until day 1.70, then off
    flag = _roadrunner(xml, ["treating_0_D"], TIMES)[:, 0]
    np.testing.assert_array_equal(flag, (TIMES < 1.7027).astype(float))


@pytest.mark.parametrize(("r", "t0", "doses_given"), [
    (0.1, 200.0, [0.0, 1.0, 2.0]),  # on at t0 (day-0 dose given); off on day ln(200/150)/0.1 = 2.88
    (-0.1, 200.0, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),  # growing: above throughout, every dose given
    (0.1, 150.0, []),  # exactly at the threshold on day 0 (not above): off, never dosed
    (-0.1, 140.0, [1.0, 2.0, 3.0, 4.0, 5.0]),  # turns on on day ln(150/140)/0.1 = 0.69
], ids=["on-then-off", "always-on", "at-threshold", "turns-on"])
def test_adaptive_dose_from_day_0_follows_the_state_at_t0(r, t0, doses_given):
    """``start=0``: the flag's initial value is the state at t0 (on when above the threshold), so the day-0 dose
    is given exactly when the state starts above it; libRoadRunner, bonemet_ode and the closed form agree."""
    dose = bm.Dose("D", 1.0, every=1, while_above=("T", 150.0))
    xml = _check_against_closed_form(_model(r, t0), dose, doses_given)
    doc = libsbml.readSBMLFromString(xml)
    ia = doc.getModel().getInitialAssignmentBySymbol("treating_0_D")
    assert libsbml.formulaToL3String(ia.getMath()) == "piecewise(1, T > treating_0_D_above, 0)"


def test_event_assigning_a_parameter_is_written_non_constant():
    """A user event sets r = 0 when T falls below 150 (day ln(4/3)/0.3 = 0.959): T stays at 150 from then on.
    The export is valid SBML (r constant="false") and libRoadRunner gives the closed form."""
    model = _model(0.3)
    module = bm.Module("stop", events=(bm.Event("et", "T < 150", {"r": 0.0}),))
    model = model.with_modules(module)
    xml = to_sbml(model, days=DAYS)
    assert sbml_errors(xml) == []
    doc = libsbml.readSBMLFromString(xml)
    sm = doc.getModel()
    assert sm.getParameter("r").getConstant() is False
    assert sm.getParameter("kd").getConstant() is True  # untouched parameters stay constant
    exact = np.maximum(200.0 * np.exp(-0.3 * TIMES), 150.0)
    theirs = _roadrunner(xml, ["T"], TIMES)[:, 0]
    np.testing.assert_allclose(theirs, exact, rtol=1e-8)
    ours = bm.simulate(model, None, DAYS, TIMES, **TIGHT)["T"]
    np.testing.assert_allclose(ours, exact, rtol=1e-8)

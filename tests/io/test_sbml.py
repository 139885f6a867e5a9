"""Tests of the SBML export: validity, and re-simulation by an independent simulator.

libRoadRunner (LLVM-compiled SBML, CVODE) re-simulates every exported document.
Both solvers run at tight tolerances, where each is within ~1e-8 of the exact
solution: bonemet_ode at rtol 1e-10, atol 1e-12; libRoadRunner at rtol 1e-12,
atol 1e-16 (at atol 1e-12 its CVODE let a state that decays over nine orders
of magnitude drift by 4e-5 relative: the tolerance it applies is scaled, not
the one set).  The required agreement
``|a - b| <= 1e-6 * (|b| + 1e-9 * max|b|)`` leaves a wide margin for solver
error while catching any difference in the exported model (a wrong sign,
rate or dose is an O(1) difference).  The ``1e-9 * max|b|`` floor covers states
that are exactly 0 before their first dose.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.errors import ModelError, ScheduleError
from bonemet_ode.models.bone_metastasis import default_arms
from bonemet_ode.models.reference import PERF_REFERENCE_T60, perf_reference_combination_arm

libsbml = pytest.importorskip("libsbml")
from bonemet_ode.io.sbml import infusion_parameter_id, sbml_errors, to_sbml  # noqa: E402

DAYS = 60.0
TIMES = np.linspace(0.0, DAYS, 61)
RTOL = 1e-6  # required agreement (see module docstring)
TIGHT = dict(rtol=1e-10, atol=1e-12)  # bonemet_ode
RR_TIGHT = dict(rtol=1e-12, atol=1e-16)  # libRoadRunner


def _roadrunner_values(xml: str, names: list[str], times: np.ndarray) -> np.ndarray:
    roadrunner = pytest.importorskip("roadrunner")
    rr = roadrunner.RoadRunner(xml)
    rr.integrator.relative_tolerance = RR_TIGHT["rtol"]
    rr.integrator.absolute_tolerance = RR_TIGHT["atol"]
    rr.timeCourseSelections = ["time", *names]
    out = np.array(rr.simulate(times=list(times)))
    np.testing.assert_allclose(out[:, 0], times, rtol=0, atol=1e-12)
    return out[:, 1:]


def _worst_disagreement(model: bm.Model, arm: bm.Arm, times: np.ndarray = TIMES) -> float:
    """Largest ``|rr - bm| / (|bm| + 1e-9 max|bm|)`` over times, states and observables."""
    res = bm.simulate(model, arm, float(times[-1]), times, **TIGHT)
    names = list(res.model.state_names) + list(res.model.observable_names)
    ours = np.hstack([res.states, res.observables])
    theirs = _roadrunner_values(to_sbml(model, arm, days=float(times[-1])), names, times)
    scale = np.abs(ours).max(axis=0)
    return float(np.max(np.abs(theirs - ours) / (np.abs(ours) + 1e-9 * scale + 1e-300)))


def test_reference_document_is_valid_sbml():
    xml = to_sbml(bm.models.get("perf_reference"), perf_reference_combination_arm(), days=DAYS)
    assert sbml_errors(xml) == []
    doc = libsbml.readSBMLFromString(xml)
    sm = doc.getModel()
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    assert sm.getNumSpecies() == 8 and sm.getNumReactions() == 15
    # doses on days 7, 10, 13, ..., 58 (P) and 7, 14, ..., 56 (F, A) share events by time
    expected = sorted(set(range(7, 61, 3)) | set(range(7, 61, 7)))
    assert sm.getNumEvents() == len(expected)
    for i in range(sm.getNumEvents()):
        ev = sm.getEvent(i)
        assert ev.getTrigger().getInitialValue() is False
        assert ev.getTrigger().getPersistent() is True
        assert ev.getUseValuesFromTriggerTime() is True


def test_reference_combination_arm_agrees_with_roadrunner():
    model = bm.models.get("perf_reference")
    assert _worst_disagreement(model, perf_reference_combination_arm()) <= RTOL


def test_reference_t60_from_roadrunner_matches_published_value():
    xml = to_sbml(bm.models.get("perf_reference"), perf_reference_combination_arm(), days=DAYS)
    t60 = _roadrunner_values(xml, ["T"], TIMES)[-1, 0]
    # the published value has 7 significant digits: 1e-6 is its resolution, not the solver's error
    assert abs(t60 / PERF_REFERENCE_T60 - 1) <= 1e-6


def test_output_at_a_dose_time_is_post_dose():
    """Day 7 is both an output and the first dose of F (+5), A (+10) and P (+10), all 0 before."""
    xml = to_sbml(bm.models.get("perf_reference"), perf_reference_combination_arm(), days=DAYS)
    day7 = _roadrunner_values(xml, ["F", "A", "P"], TIMES)[7]
    np.testing.assert_allclose(day7, [5.0, 10.0, 10.0], rtol=1e-12)


@pytest.mark.parametrize("arm", default_arms(), ids=lambda a: a.name)
def test_every_default_bone_metastasis_arm_agrees_with_roadrunner(arm):
    model = bm.models.get("bone_metastasis")
    xml = to_sbml(model, arm, days=DAYS)
    assert sbml_errors(xml) == []
    assert _worst_disagreement(model, arm) <= RTOL


def test_infusions_switches_knockouts_and_day0_doses_agree_with_roadrunner():
    arm = bm.Arm(
        "everything",
        doses=(bm.Dose("F", 5.0, start=0.0),  # a bolus on day 0: initialValue=false makes it fire at the start
               bm.Dose("A", 10.0, every=7, start=7, stop=30, duration=0.5),  # zero-order infusions
               bm.Dose("A", 2.0, times=(7.0, 9.0)),  # a second dose into A at the same time as an infusion
               bm.Dose("P", 10.0, times=(3.0, 10.5))),
        perturbations=(bm.Knockout(("D_neutralised",)), bm.Deplete("C", 2.0, from_day=20.0),
                       bm.SetInitial({"N": "aN/dN"})),
    )
    model = bm.models.get("perf_reference")
    xml = to_sbml(model, arm, days=DAYS)
    assert sbml_errors(xml) == []
    sm = libsbml.readSBMLFromString(xml).getModel()
    assert sm.getParameter(infusion_parameter_id("A")) is not None
    assert sm.getNumInitialAssignments() == 1
    assert "0 * kA * A * D" in libsbml.formulaToL3String(sm.getReaction("D_neutralised").getKineticLaw().getMath())
    assert sm.getParameter("k_deplete_C").getConstant() is False
    assert _worst_disagreement(model, arm) <= RTOL


def test_functions_keep_their_meaning():
    """log is the natural logarithm, sqrt a square root, min/max n-ary, pi the constant."""
    module = bm.Module(
        "f", states=(bm.State("x", 1.0),),
        parameters=(bm.Parameter("k", 2.0),),
        terms=(bm.Term("g", "0.1*log(k)*sqrt(x)*tanh(k) + min(k, 3, x)/pi - max(abs(-k), 1)*exp(-k)*x", {"x": 1}),),
    )
    model = bm.Model("functions", [module])
    xml = to_sbml(model)
    assert sbml_errors(xml) == []
    assert "<ln/>" in xml and "log" not in xml.replace("<ln/>", "")
    assert _worst_disagreement(model, bm.CONTROL, np.linspace(0.0, 5.0, 11)) <= RTOL


def test_observables_are_assignment_rules():
    xml = to_sbml(bm.models.get("bone_metastasis"))
    sm = libsbml.readSBMLFromString(xml).getModel()
    for name in bm.models.get("bone_metastasis").observable_names:
        rule = sm.getAssignmentRuleByVariable(name)
        assert rule is not None and sm.getParameter(name).getConstant() is False


def test_open_ended_schedule_needs_days():
    with pytest.raises(ScheduleError, match="days="):
        to_sbml(bm.models.get("perf_reference"), perf_reference_combination_arm())


def test_writes_the_file(tmp_path):
    path = tmp_path / "ref.xml"
    xml = to_sbml(bm.models.get("perf_reference"), perf_reference_combination_arm(), path, days=DAYS)
    assert path.read_text() == xml


def test_non_ascii_names_are_rejected():
    model = bm.Model("m", [bm.Module("m", states=(bm.State("tumeur_é", 1.0),),
                                     terms=(bm.Term("g", "0.1*tumeur_é", {"tumeur_é": 1}),))])
    with pytest.raises(ModelError, match="SBML identifier"):
        to_sbml(model)


def test_state_events_export_and_run_in_roadrunner():
    """Decay x' = -k x reset to 1 whenever x < 0.5 (and a counter n incremented): reset times are
    k⁻¹·ln 2 apart, in closed form; roadrunner simulating our export must see the same resets."""
    k = 0.3
    module = bm.Module("decay", states=(bm.State("x", 1.0, "mg"), bm.State("n", 0.0, "1")),
                       parameters=(bm.Parameter("k", k, "1/day", 0.0, 10.0),),
                       terms=(bm.Term("loss", "k*x", {"x": -1}),),
                       events=(bm.Event("reset", "x < 0.5 and t > 0", {"x": 1.0, "n": "n + 1"}),))
    model = bm.Model("decay_reset", [module])
    xml = to_sbml(model, days=10.0)
    assert sbml_errors(xml) == []
    times = np.array([0.0, 1.0, 3.0, 5.0, 7.0, 9.9])
    period = np.log(2.0) / k
    exact_x = np.exp(-k * (times % period))
    exact_n = np.floor(times / period)
    theirs = _roadrunner_values(xml, ["x", "n"], times)
    np.testing.assert_allclose(theirs[:, 0], exact_x, rtol=1e-5)
    np.testing.assert_array_equal(theirs[:, 1], exact_n)
    ours = bm.simulate(model, times=times)
    np.testing.assert_allclose(ours["x"], exact_x, rtol=1e-5)

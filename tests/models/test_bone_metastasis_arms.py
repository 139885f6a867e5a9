"""Every arm of the bone-metastasis model runs, and the arm catalogue is complete and stable."""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.models.bone_metastasis import default_arms
from bonemet_ode.models.bone_metastasis.arms import scenario_arms
from bonemet_ode.simulate import Knockout

DEFAULT_NAMES = ["control", "fulvestrant", "anti-DKK1", "anti-PD-1", "fulvestrant + anti-PD-1",
                 "anti-DKK1 + anti-PD-1"]


@pytest.fixture(scope="module")
def model():
    return bm.models.get("bone_metastasis")


def test_default_arms_names_are_stable():
    assert [a.name for a in default_arms()] == DEFAULT_NAMES


def test_scenario_arms_contain_the_catalogue_needs():
    names = set(scenario_arms())
    assert set(DEFAULT_NAMES) <= names
    assert {"ERa-KO", "EV-FA-KO", "CD8-depleted", "CD8-depleted + fulvestrant", "Notch-KO", "Notch inhibitor",
            "Src inhibitor d0", "Src inhibitor d14", "SRS-high", "SRS-low", "stroma-high", "stroma-low",
            "tumour-free", "tumour-free ERa-KO"} <= names


def test_genetic_variants_are_term_knockouts():
    arms = scenario_arms()
    for name in ("ERa-KO", "EV-FA-KO", "Notch-KO"):
        assert any(isinstance(p, Knockout) for p in arms[name].perturbations), name


@pytest.mark.parametrize("name", list(scenario_arms()))
def test_arm_runs_nonnegative(model, name):
    res = bm.simulate(model, scenario_arms()[name], times=np.arange(0.0, 43.0))
    assert np.all(np.isfinite(res.states))
    assert res.states.min() > -1e-6 * max(1.0, np.abs(res.states).max())
    assert 0.0 <= res.at(28, "er_fraction") <= 1.0


def test_treatments_start_on_day_7(model):
    for arm in default_arms()[1:]:
        res = bm.simulate(model, arm, times=[0, 6.9, 7.0])
        for dose in arm.doses:
            assert res.at(6.9, dose.target) == 0.0
            assert res.at(7.0, dose.target) > 0.0


def test_cd8_depletion_removes_cd8(model):
    res = bm.simulate(model, scenario_arms()["CD8-depleted"], times=[0, 28])
    ctrl = bm.simulate(model, times=[0, 28])
    # >= 90 % depleted (antibody depletion in tissue is reported at 90-99 %).  The bound was 95 % while
    # exhausted cells accumulated in control lesions (TAMs spared them); since they turn over like
    # functional cells (issue #12) control CD8 at day 28 is ~4x lower, and the depleted arm, limited by
    # entry against 5/day depletion, keeps ~9.5 % of it
    assert res.at(28, "cd8") < 0.10 * ctrl.at(28, "cd8")

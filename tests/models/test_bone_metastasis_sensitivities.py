"""Forward sensitivities of bone_metastasis through its kinks (``max(osteoclasts - oc_steady, 0)``, ``max(bone_mass,
0)``): their derivatives hold ``Heaviside`` and, in the sensitivity system's Jacobian, ``DiracDelta`` (printed as 0:
zero almost everywhere).  Checked against central finite differences of tight solves, on the model without its
two extinction events (forward sensitivities do not cross state-triggered events; with them the fitters and
PEtab problems use finite differences - see docs/fitting.md)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.model import Model

T = np.array([7.0, 14.0, 28.0, 42.0, 60.0])
TIGHT = bm.SolverOptions(rtol=1e-10, atol=1e-10)
#: (target, output) pairs whose derivative is well above the finite differences' noise; k1 acts only through the
#: kink max(osteoclasts - oc_steady, 0) of bone_resorption.
PAIRS = [("k1", "bone_mass"), ("r_T", "bone_mass"), ("r_T", "osteoclasts"), ("r_T", "tumor")]


@pytest.fixture(scope="module")
def no_events() -> Model:
    m = bm.models.get("bone_metastasis")
    assert {e.name for e in m.events} == {"extinction_dormant", "extinction_tumor"}
    return Model(m.name + "_without_extinction", [dataclasses.replace(md, events=()) for md in m.modules],
                 description=m.description)


def test_kink_sensitivities_match_central_differences(no_events):
    res = bm.Simulator(no_events, times=T, options=TIGHT, sensitivities=("k1", "r_T")).run()
    base = bm.Simulator(no_events, times=T, options=TIGHT)
    for w, name in PAIRS:
        v = no_events.parameter(w).value
        h = 1e-4 * abs(v)
        fd = (base.run({w: v + h})[name] - base.run({w: v - h})[name]) / (2 * h)
        np.testing.assert_allclose(res.sensitivity(name, w), fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max(),
                                   err_msg=f"d {name} / d {w}")
    assert np.abs(res.sensitivity("bone_mass", "k1")).max() > 10.0  # the kink term is active


def test_model_with_events_refuses_forward_sensitivities_by_name():
    with pytest.raises(bm.errors.ModelError, match="forward sensitivities across state-triggered events"):
        bm.Simulator(bm.models.get("bone_metastasis"), times=T, sensitivities=("k1",))

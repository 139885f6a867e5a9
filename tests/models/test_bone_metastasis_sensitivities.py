"""Forward sensitivities of bone_metastasis through its kinks (``max(osteoclasts - oc_steady, 0)``, ``max(bone_mass,
0)``): their derivatives hold ``Heaviside`` and, in the sensitivity system's Jacobian, ``DiracDelta`` (printed as 0:
zero almost everywhere).  Checked against central finite differences of tight solves, on the model without its
two extinction events, and with them (the sensitivities jump at each event: solver_core.c bm_ev_sens_*), in
settings where the extinctions fire at different times."""

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


#: (parameter values, outputs whose derivatives are compared); T = days 7, 14, 28, 42, 60.
#: default: extinction_dormant fires between days 28 and 42, the lesion grows (tumor at day 28 ~1e7 cells);
#: k_kill 5e-4: the lesion is below one cell at day 28 (0.12 cells, not extinct while dormant cells remain) and is
#: set to 0 when dormant crosses 1 (both events at one instant; tumor and its sensitivities exactly 0 after);
#: (there bone_mass is left out: the kink of bone_resorption crosses near day 34, and central differences of
#: d bone_mass / d k_kill change by 1.5e-5 between steps of 1e-3 and 1e-4 while the sensitivity stays put);
#: r_T 0.1, k_kill 2e-4: dormant cells die out near day 36, then the lesion itself crosses one cell near day 43
#: (the tumor atom fixes the event time).
#: Central-difference step (relative): 1e-4, but 1e-3 where the lesion's own crossing is located by the
#: root finder: there the event time's localisation noise makes central differences of bone_mass after the
#: event drift by ~1e-5 (h 1e-4) to ~3e-4 (h 1e-5) relative, while h 1e-3 agrees with the sensitivities
#: to ~5e-7 (d bone_mass / d r_T at day 42: -27.229391 sensitivity, -27.229377 / -27.229065 / -27.238550
#: central differences at h 1e-3 / 1e-4 / 1e-5).
SETTINGS = [({}, ("tumor", "dormant", "bone_mass"), 1e-4),
            ({"k_kill": 5e-4}, ("tumor", "osteoclasts", "tams", "cd8_eff"), 1e-4),
            ({"r_T": 0.1, "k_kill": 2e-4}, ("tumor", "bone_mass", "cd8_eff"), 1e-3)]


@pytest.mark.parametrize("values, outputs, rel_h", SETTINGS, ids=["dormant_extinct", "both_at_once", "tumor_crosses"])
def test_sensitivities_across_extinction_events_match_central_differences(values, outputs, rel_h):
    m = bm.models.get("bone_metastasis")
    wrt = ("r_T", "k_kill", "d_dorm")
    res = bm.Simulator(m, times=T, options=TIGHT, sensitivities=wrt).run(values)
    base = bm.Simulator(m, times=T, options=TIGHT)
    n_events = base.run(values).stats["events"]
    assert res.stats["events"] == n_events == (1 if not values else 2)
    for w in wrt:
        v = values.get(w, m.parameter(w).value)
        h = rel_h * abs(v)
        up, down = base.run({**values, w: v + h}), base.run({**values, w: v - h})
        assert up.stats["events"] == down.stats["events"] == n_events
        for name in outputs:
            fd = (up[name] - down[name]) / (2 * h)
            noise = 1e-12 * np.abs(res[name]).max() / h  # central differences of solves at rtol 1e-10
            np.testing.assert_allclose(res.sensitivity(name, w), fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max() + noise,
                                       err_msg=f"d {name} / d {w} at {values}")
    if values:  # once extinct the lesion stays 0 and so do its sensitivities
        gone = res["tumor"] == 0.0
        assert gone[-1] and not gone[2]
        for w in wrt:
            assert np.all(res.sensitivity("tumor", w)[gone] == 0.0)

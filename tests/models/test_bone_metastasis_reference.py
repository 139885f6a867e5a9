"""The compiled solver against an independent reference for every default arm of bone_metastasis.

Reference: scipy ``solve_ivp(method="Radau", rtol=1e-10, atol=1e-12)`` on a numpy
right-hand side and Jacobian lambdified from ``SymbolicModel(model).rhs``,
restarted at every dose with boluses applied by hand (fixture
``reference_solve`` of ``tests/conftest.py``).  The compiled solver runs at its
default tolerances (rtol 1e-6, atol 1e-9); accepted error at days 7, 14, 28:
``1e-5 |ref| + 1e-6`` in each state's unit.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.models.bone_metastasis import default_arms

REL, ABS = 1e-5, 1e-6
TIMES = np.array([0.0, 7.0, 14.0, 28.0])


@pytest.mark.parametrize("arm", default_arms(), ids=lambda a: a.name)
def test_default_arm_matches_radau(arm, reference_solve):
    model = bm.models.get("bone_metastasis")
    ref = reference_solve(model, arm, TIMES)
    res = bm.simulate(model, arm, times=TIMES)
    err = np.abs(res.states - ref)
    bound = REL * np.abs(ref) + ABS
    worst = np.unravel_index(np.argmax(err / bound), err.shape)
    assert np.all(err <= bound), (
        f"{arm.name}: state {model.state_names[worst[1]]!r} at day {TIMES[worst[0]]:g}: "
        f"{res.states[worst]!r} vs reference {ref[worst]!r}"
    )

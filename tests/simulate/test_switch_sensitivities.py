"""Forward sensitivities of a parameter that a timed switch overwrites: from the switch on the parameter is a
constant, so its forcing stops (the simulator's sensitivity gate) - against central finite differences of
tight solves."""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile.sensitivity import gate_name
from bonemet_ode.model import Model, Module, Parameter, State, Term

TIMES = np.array([10.0, 20.0, 30.0, 60.0])
TIGHT = bm.SolverOptions(rtol=1e-10, atol=1e-12)


def _logistic() -> Model:
    return Model("logistic_switched", [Module("g", states=(State("T", 1.0, "cells"),),
                 parameters=(Parameter("r", 0.2, "1/day", 0.0, 5.0), Parameter("K", 100.0, "cells", 1.0, 1e6)),
                 terms=(Term("prolif", "r*T*(1 - T/K)", {"T": 1}),))]).with_switch(20.0, "r", 0.05)


def _fd(model: Model, name: str, h: float) -> np.ndarray:
    sim = bm.Simulator(model, times=TIMES, options=TIGHT)
    v = model.parameter(name).value
    return (sim.run({name: v + h})["T"] - sim.run({name: v - h})["T"]) / (2 * h)


def test_switched_parameter_sensitivity_matches_finite_differences():
    m = _logistic()
    res = bm.Simulator(m, times=TIMES, options=TIGHT, sensitivities=("r", "K")).run()
    assert gate_name("r") in res.model.parameter_names and gate_name("K") not in res.model.parameter_names
    for name in ("r", "K"):
        fd = _fd(m, name, 1e-5 * m.parameter(name).value)
        np.testing.assert_allclose(res.sensitivity("T", name), fd, rtol=1e-6)
    # after the switch the forcing stops: without the gate day 60 was 3x the true value (949 vs 316)
    assert abs(res.sensitivity("T", "r")[-1] - 316.43) < 0.1


def test_a_switch_at_day_zero_leaves_no_sensitivity():
    m = _logistic().with_switch(0.0, "K", 50.0)
    res = bm.Simulator(m, times=TIMES, options=TIGHT, sensitivities=("K",)).run()
    np.testing.assert_allclose(res.sensitivity("T", "K"), 0.0, atol=1e-12)


def test_a_parameter_named_like_a_gate_is_refused():
    """A model parameter called sensitivity_gate_K would gate dT/dK: refused by name for target K."""
    m = _logistic().with_modules(Module("user", parameters=(Parameter(gate_name("K"), 0.0, "1", 0.0, 1.0),)))
    with pytest.raises(bm.errors.ModelError, match="sensitivity_gate_K"):
        bm.Simulator(m, times=TIMES, options=TIGHT, sensitivities=("K",))
    bm.Simulator(m, times=TIMES, options=TIGHT, sensitivities=("r",))  # other targets are fine

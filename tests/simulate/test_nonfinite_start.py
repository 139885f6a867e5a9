"""A right-hand side that is not finite at the start fails at once, in single solves and in lanes.

Before, a NaN initial step size made the factor-and-halve loop of the compiled solver run forever
(``hh *= 0.5`` never fell below the minimum step); an outcome evaluation on a parameter point whose
cohort could not be drawn then hung on the placeholder initial states.  Each case runs in a child
process with a time limit, so that a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

LIMIT_S = 120

PRELUDE = textwrap.dedent("""
    import numpy as np
    import bonemet_ode as bm
    from bonemet_ode.errors import SolverError
    from bonemet_ode.model import Model, Module, Parameter, State, Term
    # x' = -k x^(-1/2) + 1: infinite at x = 0, finite and smooth for x > 0 (the model itself starts at x = 1:
    # building it refuses an initial state where a rate is not finite; solves are given x = 0 directly)
    mod = Module("m", states=(State("x", 1.0), State("y", 1.0)), parameters=(Parameter("k", 0.5),),
                 terms=(Term("sink", "k*x**(-0.5)", {"x": -1}), Term("src", "1", {"x": 1}),
                        Term("decay", "k*y", {"y": -1})))
    model = Model("nonfinite_start", [mod])
""")


def _run(body: str) -> str:
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], capture_output=True, text=True,
                          timeout=LIMIT_S, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_single_member_fails_at_once_naming_the_state():
    out = _run("""
        sim = bm.Simulator(model, times=np.linspace(0, 1, 5))
        Y0 = sim.initial_state().copy()[None, :]
        Y0[0, 0] = 0.0
        Y, O, stats, status, fail_t, fail_state = sim.solve(sim.model.parameter_vector()[None, :], Y0)
        print(int(status[0]), float(fail_t[0]), int(fail_state[0]))
    """)
    assert out.strip().splitlines()[-1] == "3 0.0 0", out  # BM_ERR_NONFINITE at t = 0 in state x


def test_lanes_fail_only_the_members_that_start_on_the_pole():
    """Half the members start at x = 0 (RHS infinite), half at x = 1: the first fail with the non-finite
    status at t = 0, the others solve and match their one-member solves."""
    out = _run("""
        sim = bm.Simulator(model, times=np.linspace(0, 1, 5))
        n = 8
        P = np.tile(sim.model.parameter_vector(), (n, 1))
        Y0 = np.tile(sim.initial_state(), (n, 1))
        Y0[0::2, 0] = 0.0
        Y, O, stats, status, fail_t, fail_state = sim.solve(P, Y0)
        print(status.tolist(), fail_t[::2].tolist(), fail_state[::2].tolist())
        ref = sim.solve(P[1:2], Y0[1:2])[0]
        print("same", bool(np.array_equal(Y[1], ref[0])), bool(np.all(np.isfinite(Y[1]))))
    """)
    status_line, same_line = out.strip().splitlines()[-2:]
    assert status_line.startswith("[3, 0, 3, 0, 3, 0, 3, 0]"), out
    assert "[0.0, 0.0, 0.0, 0.0] [0, 0, 0, 0]" in status_line, out
    assert same_line == "same True True", out

"""The lane solver (several members in lock-step SIMD lanes) against one-at-a-time solves.

``Simulator.solve`` with more than one member runs the lane solver (``solver_lanes.c``);
``Simulator.run`` solves one member with the scalar solver.  Both perform the same floating-point
operations in the same order for each member (no fused multiply-adds unless written), so the
reference is exact: states, observables, step statistics and status must be bit-identical.  Batch
sizes are chosen to exercise lane refills (more members than lanes, not a multiple of the lane
count), boluses, infusions, parameter switches, and members that fail or need the scalar
solver's pivoting path inside a batch.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile.lanes import DEFAULT_LANES
from bonemet_ode.compile.library import STATS_NAMES


def _batch_vs_single(sim: bm.Simulator, P: np.ndarray, Y0: np.ndarray) -> None:
    Y, O, stats, status, fail_t, fail_state = sim.solve(P, Y0)
    names = sim.model.parameter_names
    for k in range(len(P)):
        params = {n: P[k, i] for i, n in enumerate(names) if P[k, i] != sim.model.parameter_vector()[i]}
        one = sim.run(params, check=False)
        np.testing.assert_array_equal(Y[k], one.states, err_msg=f"member {k}")
        if O is not None:
            np.testing.assert_array_equal(O[k], one.observables, err_msg=f"member {k}")
        assert dict(zip(STATS_NAMES, map(int, stats[k]))) == one.stats, k
        assert int(status[k]) == one.status, k


def _members(sim: bm.Simulator, n: int, names: list[str], sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    P = np.tile(sim.model.parameter_vector(), (n, 1))
    for name in names:
        i = sim.model.parameter_names.index(name)
        P[:, i] *= np.exp(sigma * rng.standard_normal(n))
    Y0 = np.tile(sim.initial_state(), (n, 1))
    return P, Y0


def test_reference_cohort_is_bit_identical_to_single_solves():
    from bonemet_ode.models.reference import perf_reference, perf_reference_combination_arm

    sim = bm.Simulator(perf_reference(), perf_reference_combination_arm(), 60.0, np.linspace(0, 60, 61),
                       bm.SolverOptions(rtol=1e-6, atol=1e-9))
    P, Y0 = _members(sim, 2 * DEFAULT_LANES + 3, ["r", "kC"], 0.3, seed=5)
    _batch_vs_single(sim, P, Y0)


def test_bone_metastasis_cohort_with_observables_is_bit_identical(arms_for):
    model = bm.models.get("bone_metastasis")
    sim = bm.Simulator(model, arms_for("bone_metastasis")[-1], 40.0)
    free = [p.name for p in model.parameters if p.value > 0 and 0.7 * p.value >= p.lower and 1.4 * p.value <= p.upper]
    P, Y0 = _members(sim, DEFAULT_LANES + 5, free[:6], 0.15, seed=9)
    _batch_vs_single(sim, P, Y0)


def test_infusions_and_parameter_switches_in_lanes():
    from bonemet_ode.models.reference import perf_reference

    model = perf_reference()
    arm = bm.Arm("infuse", doses=(bm.Dose("A", amount=10.0, every=7.0, start=3.0, duration=0.5),
                                  bm.Dose("P", amount=10.0, every=3.0, start=7.0)))
    sim = bm.Simulator(model, arm, 30.0)
    P, Y0 = _members(sim, DEFAULT_LANES + 1, ["r", "kA"], 0.3, seed=2)
    _batch_vs_single(sim, P, Y0)
    switched = bm.Simulator(model.with_switch(10.0, "kC", 4e-5).with_switch(15.0, "kA", 1.0), bm.CONTROL, 20.0)
    assert set(switched.events[1].tolist()) >= {2}  # parameter-switch events
    P, Y0 = _members(switched, 3, ["r"], 0.2, seed=4)
    _batch_vs_single(switched, P, Y0)


def test_failing_members_inside_a_batch_match_their_single_solves():
    blowup = bm.Model("lane_blowup", [bm.Module("sq", states=(bm.State("x", 1.0),),
                                                parameters=(bm.Parameter("a", 0.1, lower=0.0, upper=10.0),),
                                                terms=(bm.Term("square", "a*x**2", {"x": 1}),))])
    sim = bm.Simulator(blowup, bm.CONTROL, times=np.linspace(0.0, 2.0, 21))
    a = np.array([0.1, 1.0, 0.2, 0.7, 0.3, 2.0, 0.05, 0.4, 0.45, 0.6, 0.9])  # a > 0.5 blows up before day 2
    P = a[:, None] * np.ones((1, sim.model.parameter_vector().size))
    P[:, 1:] = sim.model.parameter_vector()[1:]
    Y0 = np.ones((len(a), 1))
    _batch_vs_single(sim, P, Y0)
    status = sim.solve(P, Y0)[3]
    assert list(np.flatnonzero(status)) == list(np.flatnonzero(a > 0.5))


@pytest.mark.parametrize("n", [2, DEFAULT_LANES, DEFAULT_LANES + 1])
def test_batch_sizes_around_the_lane_count(n):
    model = bm.models.get("kuznetsov1994")
    sim = bm.Simulator(model, bm.CONTROL, 100.0)
    P, Y0 = _members(sim, n, [model.parameter_names[0]], 0.2, seed=n)
    _batch_vs_single(sim, P, Y0)

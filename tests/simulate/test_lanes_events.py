"""The lane solver on models with state-triggered events, run in a subprocess so that a crash fails one test.

Regression for a segmentation fault in ``bm_solve_lanes`` (``solver_lanes.c``): when a state event
(extinction) cut a lane's step, the lane gathered ``BM_N * BM_N`` entries of its Jacobian from the
lanes' workspace, which holds only ``BM_NJ`` packed entries per lane, and so read far past the
workspace.  The results were right (the curvature uses the first ``BM_NJ`` entries only), but the
read left mapped memory wherever the workspace sat near the end of its heap: reliably in a fresh
thread's malloc arena (``catalogue_context(n_jobs=2).evaluate()``), so every solve here runs in a new
thread of a fresh interpreter.

Each case is solved as a batch (lanes) in the subprocess; this process solves every member alone with
the scalar solver and demands bit-identical states, observables, step statistics and status.  A toy
tumour with extinction checks event times against the closed form ``T(t) = T0 exp(-k t)``, with
members going extinct at different times inside one lane group and more members than lanes (refills).
Where ``gcc -fsanitize=address`` is available, the evented lane solver also runs under
AddressSanitizer, which reports any read outside the workspace, crash or not.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile.lanes import DEFAULT_LANES
from bonemet_ode.compile.library import STATS_NAMES

L = DEFAULT_LANES

#: Builds (simulator, P, Y0) for a case; executed both here and in the subprocess.
_BUILD = textwrap.dedent('''
    import numpy as np
    import bonemet_ode as bm
    from bonemet_ode.model import Model, Module, Parameter, State, Term

    T0 = 1.0e6  # initial tumour cells of the toy model

    def toy_tumour(m=30):
        """T' = -k T (1/day), killed cells pass down a chain of m debris compartments; T < 1 -> 0.

        The chain makes the Jacobian sparse (lower bidiagonal, 2 (m+1) - 1 of (m+1)^2 entries) without
        an explicit inverse, so a dense-sized gather of one lane's Jacobian lies far outside the workspace.
        """
        states = [State("T", T0, "cells")] + [State(f"D{i}", 0.0, "cells") for i in range(m)]
        params = [Parameter("k", 1.0, "1/day", 0.0, 100.0), Parameter("c", 0.3, "1/day", 0.0, 100.0)]
        terms = [Term("kill", "k*T", {"T": -1, "D0": 1})]
        for i in range(m - 1):  # the last compartment keeps what reaches it: the cells are conserved
            terms.append(Term(f"pass{i}", f"c*D{i}", {f"D{i}": -1, f"D{i + 1}": 1}))
        mod = Module("toy", states=tuple(states), parameters=tuple(params), terms=tuple(terms))
        return Model("toy_tumour_extinction", [mod]).with_extinction("T")

    def build(case):
        """case: ("toy", n, days, opts) or ("bone_metastasis", arm name, n, days)."""
        if case[0] == "toy":
            _, n, days, rtol = case
            model = toy_tumour()
            sim = bm.Simulator(model, days=days, times=np.linspace(0.0, days, 4 * int(days) + 1),
                               options=bm.SolverOptions(rtol=rtol, atol=1e-9))
            P = np.tile(model.parameter_vector(), (n, 1))
            # extinction at ln(T0)/k: 0.9 .. 23 days for k = 15 .. 0.6, spread over every lane group;
            # members with k = 0.3 (46 days) never go extinct
            ks = np.geomspace(15.0, 0.6, n)
            ks[3::7] = 0.3
            P[:, model.parameter_names.index("k")] = ks
            return sim, P, np.tile(sim.initial_state(), (n, 1))
        from bonemet_ode.models.bone_metastasis.arms import scenario_arms

        _, arm, n, days = case
        sim = bm.Simulator(bm.models.get("bone_metastasis"), scenario_arms()[arm], days)
        model = sim.model  # with the arm's perturbations (which may add parameters)
        free = [p.name for p in model.parameters
                if p.value > 0 and 0.5 * p.value >= p.lower and 2.0 * p.value <= p.upper]
        rng = np.random.default_rng(n)
        P = np.tile(model.parameter_vector(), (n, 1))
        for name in free:
            P[:, model.parameter_names.index(name)] *= np.exp(0.3 * rng.standard_normal(n))
        return sim, P, np.tile(sim.initial_state(), (n, 1))
''')

_WORKER = _BUILD + textwrap.dedent('''
    import ast, sys, threading
    cases, out = ast.literal_eval(sys.argv[1]), sys.argv[2]
    res = {}
    for i, case in enumerate(cases):
        sim, P, Y0 = build(case)
        box = {}
        th = threading.Thread(target=lambda: box.update(r=sim.solve(P, Y0)))  # a fresh malloc arena
        th.start(); th.join()
        Y, O, stats, status, fail_t, fail_state = box["r"]
        res.update({f"Y{i}": Y, f"stats{i}": stats, f"status{i}": status})
        if O is not None:
            res[f"O{i}"] = O
        print("solved", case, flush=True)
    np.savez(out, **res)
''')

_NS: dict = {}
exec(compile(_BUILD, "<test_lanes_events build>", "exec"), _NS)


def _env(**extra: str) -> dict[str, str]:
    src = str(Path(bm.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=src + (os.pathsep + path if path else ""), **extra)


def _run_worker(cases: list, tmp_path: Path, env: dict[str, str] | None = None,
                timeout: float = 900) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "lanes.npz"
    proc = subprocess.run([sys.executable, "-c", _WORKER, repr(cases), str(out)], capture_output=True, text=True,
                          env=env or _env(), timeout=timeout)
    return proc, out


def _check_against_single_solves(cases: list, npz: Path) -> None:
    data = np.load(npz)
    for i, case in enumerate(cases):
        sim, P, Y0 = _NS["build"](case)
        Y, stats, status = data[f"Y{i}"], data[f"stats{i}"], data[f"status{i}"]
        assert Y.shape[0] == len(P), case
        for k in range(len(P)):
            y1, o1, st1, code1, _ft, _fs = sim.solve_one(P[k], Y0[k])  # one member: the scalar solver
            np.testing.assert_array_equal(Y[k], y1[0], err_msg=f"{case} member {k}")
            if f"O{i}" in data:
                np.testing.assert_array_equal(data[f"O{i}"][k], o1[0], err_msg=f"{case} member {k}")
            np.testing.assert_array_equal(stats[k], st1[0], err_msg=f"{case} member {k}")
            assert int(status[k]) == int(code1[0]), (case, k)


#: bone_metastasis batches that crashed (SIGSEGV) before the fix: control with 2 and L + 1 members
#: (one lane group and a refill), and a batch of 2 L + 3 members where every member has two extinctions.
_BONE_CASES = [("bone_metastasis", "control", 2, 120.0), ("bone_metastasis", "control", L + 1, 120.0),
               ("bone_metastasis", "spontaneous", 2 * L + 3, 120.0)]


def test_bone_metastasis_cohorts_with_extinction_do_not_crash_and_match_single_solves(tmp_path):
    _NS["build"](_BONE_CASES[0])[0].run()  # compile here: the subprocess loads the library from the cache
    proc, out = _run_worker(_BONE_CASES, tmp_path)
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-1000:], proc.stderr[-3000:])
    data = np.load(out)
    # the batches do run into extinction events in the lanes (the path that crashed)
    events = STATS_NAMES.index("events")
    assert all((data[f"stats{i}"][:, events] > 0).all() for i in range(len(_BONE_CASES)))
    _check_against_single_solves(_BONE_CASES, out)


_TOY_CASES = [("toy", 2 * L + 3, 30.0, 1e-8), ("toy", L, 30.0, 1e-6)]


def test_toy_extinctions_at_different_times_in_one_lane_group_with_refills(tmp_path):
    proc, out = _run_worker(_TOY_CASES, tmp_path)
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-1000:], proc.stderr[-3000:])
    _check_against_single_solves(_TOY_CASES, out)
    data = np.load(out)
    sim, P, _ = _NS["build"](_TOY_CASES[0])
    ks = P[:, sim.model.parameter_names.index("k")]
    t = sim.times
    T = data["Y0"][:, :, 0]
    events = data["stats0"][:, STATS_NAMES.index("events")]
    t_ext = math.log(_NS["T0"]) / ks  # T0 exp(-k t) = 1 cell
    assert len(set(np.round(t_ext[t_ext < 30.0], 3))) >= 2 * L  # distinct extinction times, in every lane group
    for k in range(len(ks)):
        before, after = t < t_ext[k] - 1e-3, t > t_ext[k] + 1e-3
        np.testing.assert_allclose(T[k, before], _NS["T0"] * np.exp(-ks[k] * t[before]), rtol=1e-5,
                                   err_msg=f"member {k}")
        assert np.all(T[k, after] == 0.0), k  # absorbing extinction: exactly zero after the event
        assert events[k] == (1 if t_ext[k] < 30.0 else 0), k
        if t_ext[k] < 30.0:  # the chain keeps every killed cell: the states sum to T0 less the last cell (set to 0)
            total = data["Y0"][k, after].sum(axis=1)
            assert np.all(np.abs(total - (_NS["T0"] - 1.0)) < 1e-2), k


def _asan_env() -> dict[str, str] | None:
    cc = shutil.which(os.environ.get("CC", "gcc"))
    if cc is None or "gcc" not in Path(cc).name:
        return None
    lib = subprocess.run([cc, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not lib or not os.path.isabs(lib) or not os.path.exists(lib):
        return None
    return _env(LD_PRELOAD=lib, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0")


_ASAN_BUILD = textwrap.dedent('''
    import bonemet_ode.compile.toolchain as tc
    tc.CFLAGS = ("-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer") + tuple(
        f for f in tc.CFLAGS if f not in ("-O3",))
''')


@pytest.mark.parametrize("cases", [_TOY_CASES[:1], pytest.param(_BONE_CASES[:1], marks=pytest.mark.slow)],
                         ids=["toy", "bone_metastasis"])
def test_evented_lane_solver_reads_nothing_outside_its_workspace_under_asan(cases, tmp_path):
    env = _asan_env()
    if env is None:
        pytest.skip("gcc with libasan (AddressSanitizer) not available")
    env["BONEMET_ODE_CACHE"] = str(tmp_path / "asan-cache")  # an instrumented build, kept apart
    out = tmp_path / "lanes.npz"
    proc = subprocess.run([sys.executable, "-c", _ASAN_BUILD + _WORKER, repr(cases), str(out)], capture_output=True,
                          text=True, env=env, timeout=900)
    assert "AddressSanitizer" not in proc.stderr, proc.stderr[-4000:]
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
    _check_against_single_solves(cases, out)


def test_raw_batch_solve_refuses_parameter_vectors_of_another_width():
    """An arm that adds parameters (CD8 depletion) takes wider vectors than the bare model's; the C solver
    would read past each row of the narrower ones, so ``Simulator.solve`` refuses them by name."""
    from bonemet_ode.errors import ParameterError
    from bonemet_ode.models.bone_metastasis.arms import scenario_arms

    base = bm.models.get("bone_metastasis")
    sim = bm.Simulator(base, scenario_arms()["CD8-depleted"], 10.0)
    assert len(sim.model.parameter_vector()) > len(base.parameter_vector())
    Y0 = np.tile(sim.initial_state(), (2, 1))
    with pytest.raises(ParameterError, match=r"P must have shape \(members, \d+\)"):
        sim.solve(np.tile(base.parameter_vector(), (2, 1)), Y0)
    P = np.tile(sim.model.parameter_vector(), (2, 1))
    with pytest.raises(ParameterError, match="Y0 must have shape"):
        sim.solve(P, Y0[:1])
    with pytest.raises(ParameterError, match="Y0 must have shape"):
        sim.solve(P, Y0[:, :-1])
    Y, _O, _stats, status, _ft, _fs = sim.solve(P, Y0)
    assert Y.shape == (2, len(sim.times), len(sim.model.state_names)) and list(status) == [0, 0]

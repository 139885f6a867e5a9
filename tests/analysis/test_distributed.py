"""Tests of running cohorts, maps and GSA sweeps on Dask.

Every cohort member is an independent, deterministic compiled solve, so a
chunked run on Dask workers must equal the local run exactly (bit for bit),
and so must everything computed from it (GSA indices with the same seed).
The default tests use an in-process ``LocalCluster`` (thread workers, fast to
start); the process-based cluster, which also exercises pickling the model and
arm and loading the compiled library from the on-disk cache in fresh
processes, is marked slow.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.errors import BonemetError
from bonemet_ode.models.bone_metastasis import default_arms
from bonemet_ode.models.reference import perf_reference_combination_arm

pytest.importorskip("dask.distributed")
from bonemet_ode.analysis.distributed import DaskRunner  # noqa: E402

TIMES = np.linspace(0.0, 60.0, 61)


@pytest.fixture(scope="module")
def runner():
    with DaskRunner(n_workers=2, threads_per_worker=1, processes=False) as r:
        yield r


@pytest.fixture(scope="module")
def reference():
    model = bm.models.get("perf_reference")
    cohort = bm.draw_cohort(model, 600, {"r": bm.LogNormal(0.3), "kC": bm.LogNormal(0.3)}, seed=11)
    return model, perf_reference_combination_arm(), cohort


def _assert_same(a: bm.CohortResult, b: bm.CohortResult) -> None:
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.observables, b.observables)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.stats, b.stats)
    np.testing.assert_array_equal(a.times, b.times)
    assert a.messages == b.messages
    assert a.params.equals(b.params)
    assert a.model == b.model and a.arm == b.arm


def test_cohort_on_dask_equals_local_run(runner, reference):
    model, arm, cohort = reference
    local = bm.simulate_cohort(model, cohort, arm, 60.0, TIMES, n_jobs=1, progress=False)
    remote = runner.simulate_cohort(model, cohort, arm, 60.0, TIMES, chunk_size=97)  # uneven chunks
    _assert_same(remote, local)


def test_cohort_with_observables_and_perturbations(runner):
    model = bm.models.get("bone_metastasis")  # extended concurrently: use whatever states it has
    depleted = bm.Arm("depleted", perturbations=(bm.Deplete(model.state_names[0], 1.0, from_day=10),))
    arm = default_arms()[-1].combine(depleted)
    cohort = bm.draw_cohort(model, 50, {model.parameter_names[0]: bm.LogNormal(0.1)}, seed=2)
    local = bm.simulate_cohort(model, cohort, arm, 30.0, n_jobs=1, progress=False)
    _assert_same(runner.simulate_cohort(model, cohort, arm, 30.0, chunk_size=8), local)


def _square_or_fail(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x * x


def test_map_keeps_order_and_reports_failures(runner, caplog):
    import logging

    assert runner.map(_square_or_fail, [5, 1, 4]) == [25, 1, 16]
    with caplog.at_level(logging.ERROR):
        out = runner.map(_square_or_fail, range(5), errors="return")
    # an expected failure is a result: no worker logs it as a failed computation
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert out[:3] == [0, 1, 4] and out[4] == 16
    assert isinstance(out[3], ValueError) and "three" in str(out[3])
    with pytest.raises(ValueError, match="three"):
        runner.map(_square_or_fail, range(5))
    assert runner.map(_square_or_fail, []) == []


def test_gsa_on_dask_equals_local(runner):
    pytest.importorskip("SALib")
    from bonemet_ode.analysis.gsa import sobol

    model = bm.models.get("kuznetsov1994")
    kw = dict(days=10.0, bounds={"a": (0.1, 0.3), "n": (5e-8, 2e-7), "p": (0.05, 0.2)}, n=64, seed=5)
    local = sobol(model, ["a", "n", "p"], "T", n_jobs=1, **kw)
    remote = runner.sobol(model, ["a", "n", "p"], "T", **kw)
    np.testing.assert_array_equal(remote.outputs, local.outputs)
    assert remote.to_frame().equals(local.to_frame())


def test_models_and_arms_pickle():
    for name in ("perf_reference", "bone_metastasis"):
        model = bm.models.get(name)
        assert pickle.loads(pickle.dumps(model)) == model
    model = bm.models.get("bone_metastasis")
    first = model.parameters[0]
    perturbed = bm.Arm("p", perturbations=(bm.Deplete(model.state_names[0]), bm.Knockout((model.term_names[0],)),
                                           bm.SetParameters({first.name: first.value})))
    arms = default_arms() + [perf_reference_combination_arm(), perturbed]
    for arm in arms:
        assert pickle.loads(pickle.dumps(arm)) == arm
    assert pickle.loads(pickle.dumps(perturbed.apply(model))) == perturbed.apply(model)


def test_argument_errors():
    with pytest.raises(BonemetError, match="not both"):
        DaskRunner("tcp://127.0.0.1:8786", client=object())
    with pytest.raises(BonemetError, match="n_workers"):
        DaskRunner(n_workers=0)
    assert "not started" in repr(DaskRunner())


@pytest.mark.slow
def test_process_workers_load_from_cache_and_match(reference):
    model, arm, cohort = reference
    local = bm.simulate_cohort(model, cohort, arm, 60.0, TIMES, n_jobs=1, progress=False)
    with DaskRunner(n_workers=2, threads_per_worker=1, processes=True) as r:
        key = r.prepare(model, arm)
        remote = r.simulate_cohort(model, cohort, arm, 60.0, TIMES)
    _assert_same(remote, local)
    assert len(key) == 32

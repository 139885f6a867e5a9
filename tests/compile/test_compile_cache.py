"""The disk cache of compiled models: keys, reuse within a process, and loading in a new process.

A "new process" is a ``python -c`` child with the session's ``$BONEMET_ODE_CACHE``.
That the child does not run the C compiler is checked by putting a fake ``cc``
first on its ``PATH``: the fake records every call in a log file and fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile.backend import cache_dir, compile_model

# A model structure used only by this file, so its library is certainly built by this session.
TOY_SOURCE = textwrap.dedent("""
    from bonemet_ode import Model, Module, Parameter, State, Term
    toy = Model("cache_probe", [Module("m", states=(State("x", 1.0), State("y", 0.0)),
                                parameters=(Parameter("k", 0.7), Parameter("q", 0.3)),
                                terms=(Term("conv", "k*x/(1 + 0.125*y)", {"x": -1, "y": 1}),
                                       Term("loss", "q*y", {"y": -1})))])
""")

CHILD = TOY_SOURCE + textwrap.dedent("""
    import json, sys, time
    import bonemet_ode as bm
    from bonemet_ode.compile.backend import compile_model
    cm = compile_model(toy)
    res = bm.simulate(toy, days=3.0, rtol=1e-8)
    print(json.dumps({"was_built": cm.was_built, "path": str(cm.path), "key": cm.key,
                      "y_end": res.states[-1].tolist(), "sympy_imported": "sympy" in sys.modules}))
""")


def toy_model():
    namespace: dict = {}
    exec(TOY_SOURCE, namespace)  # noqa: S102 - the same definition the child process runs
    return namespace["toy"]


def run_child(env_changes: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def compiled_toy():
    toy = toy_model()
    cm = compile_model(toy)
    assert cm.path.exists() and cm.path.parent == cache_dir()
    return toy, cm


@pytest.fixture()
def fake_cc(tmp_path):
    """A directory holding a ``cc`` that logs its calls and fails."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "cc_calls.log"
    cc = bindir / "cc"
    cc.write_text(f"#!/bin/sh\necho \"$@\" >> '{log}'\nexit 1\n")
    cc.chmod(0o755)
    return bindir, log


def test_new_process_loads_the_library_without_the_compiler_or_sympy(compiled_toy, fake_cc):
    toy, cm = compiled_toy
    bindir, log = fake_cc
    proc = run_child({"CC": None, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not log.exists(), f"the child ran the compiler: {log.read_text()}"
    assert out["was_built"] is False
    assert out["key"] == cm.key and out["path"] == str(cm.path)
    assert out["sympy_imported"] is False  # a cached load needs neither sympy nor code generation
    here = bm.simulate(toy, days=3.0, rtol=1e-8)
    np.testing.assert_array_equal(out["y_end"], here.states[-1])  # same library, same numbers


def test_new_process_without_any_compiler_on_path_loads_the_cache(compiled_toy, tmp_path):
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    proc = run_child({"CC": None, "PATH": str(empty)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["was_built"] is False


def test_new_process_with_cc_pointing_nowhere_loads_the_cache(compiled_toy):
    proc = run_child({"CC": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["was_built"] is False


def test_missing_compiler_gives_a_clear_error_when_a_build_is_needed(tmp_path, monkeypatch):
    from bonemet_ode.errors import CompileError

    monkeypatch.setenv("BONEMET_ODE_CACHE", str(tmp_path / "fresh_cache"))
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(CompileError, match=r"/nonexistent/cc"):
        compile_model(toy_model().with_parameters(k=0.5), force=True)


# ------------------------------------------------------------------------------------------------ keys
def test_values_knockouts_initials_and_name_share_the_compiled_code():
    model = bm.models.get("kuznetsov1994")
    variants = [
        model.with_parameters(a=0.2, n=2e-7),
        model.with_knockout("T_kill"),
        model.with_initial(E=1e5, T=1e7),
        model.with_switch(10.0, "a", 0.1),
        model.renamed("another_name"),
    ]
    base = compile_model(model)
    for v in variants:
        assert v.structure_key == model.structure_key, v
        cm = compile_model(v)
        assert cm is base and cm.key == base.key and cm.path == base.path


def test_different_structures_get_different_keys():
    pk = bm.models.get("pk_one_compartment")
    toy = toy_model()
    changed_rate = bm.Model("cache_probe", [bm.Module("m", states=(bm.State("x", 1.0), bm.State("y", 0.0)),
                                                      parameters=(bm.Parameter("k", 0.7), bm.Parameter("q", 0.3)),
                                                      terms=(bm.Term("conv", "k*x", {"x": -1, "y": 1}),
                                                             bm.Term("loss", "q*y", {"y": -1})))])
    with_module = bm.Deplete("x", 1.0, 2.0)(toy)
    models = [pk, bm.models.get("kuznetsov1994"), bm.models.get("perf_reference"), toy, changed_rate, with_module]
    keys = [m.structure_key for m in models]
    assert len(set(keys)) == len(keys)
    compiled = [compile_model(m) for m in models]
    assert len({c.key for c in compiled}) == len(compiled)
    assert len({c.path for c in compiled}) == len(compiled)


def test_structure_key_ignores_values_but_not_stoichiometry():
    def model(coef: float, value: float):
        return bm.Model("s", [bm.Module("m", states=(bm.State("x", 1.0), bm.State("y", 0.0)),
                                        parameters=(bm.Parameter("k", value),),
                                        terms=(bm.Term("conv", "k*x", {"x": -1, "y": coef}),))])

    assert model(1.0, 0.5).structure_key == model(1.0, 2.0).structure_key
    assert model(1.0, 0.5).structure_key != model(2.0, 0.5).structure_key


def test_compiled_model_is_reused_within_a_process():
    pk = bm.models.get("pk_one_compartment")
    first = compile_model(pk)
    again = compile_model(bm.models.get("pk_one_compartment"))
    assert again is first
    assert first.n_states == 1 and first.n_params == 2  # k_el and the on/off flag of 'elimination'

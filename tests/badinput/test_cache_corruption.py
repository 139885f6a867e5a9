"""A damaged compile cache heals itself and never crashes the process (issue 15).

Every load happens in a child process (``python -c``) with a private ``$BONEMET_ODE_CACHE``, so a
crash while loading a damaged library would show as a negative return code (a signal), not take
the test session down.  The reference result is a fresh solve of the same model in this process,
from the session's own cache.

Cases: a truncated library, garbled bytes, a 0-byte file, another model's library (alone, with its
own record, and with a record forged to carry this key), a missing content record, a half-written
source with no library, a half-written source beside a good library, leftovers of a killed build.
Then 8 processes build one new model at once: every one gets the correct result and exactly one
of them runs the compiler (2 rounds here, 20 with ``-m slow``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile import backend, cache_files
from bonemet_ode.errors import BonemetWarning

TOY_SOURCE = textwrap.dedent("""
    from bonemet_ode import Model, Module, Parameter, State, Term
    def toy(tag):
        # 'tag' changes the structure (and so the cache key) without changing the solution much
        return Model("heal_probe", [Module("m", states=(State("x", 1.0), State("y", 0.0)),
                     parameters=(Parameter("k", 0.7), Parameter("q", 0.3)),
                     terms=(Term("conv", f"k*x/(1 + {tag}*y)", {"x": -1, "y": 1}),
                            Term("loss", "q*y", {"y": -1})))])
""")

CHILD = TOY_SOURCE + textwrap.dedent("""
    import json, os, sys, time, warnings
    import bonemet_ode as bm
    from bonemet_ode.compile.backend import compile_model
    from bonemet_ode.errors import BonemetWarning
    tag, go = sys.argv[1], sys.argv[2]
    while go != "-" and not os.path.exists(go):  # start line: every child is imported before any builds
        time.sleep(0.005)
    model = toy(tag) if tag != "pk" else bm.models.get("pk_one_compartment")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cm = compile_model(model)
        res = bm.simulate(model, days=3.0, rtol=1e-8)
    print(json.dumps({"was_built": cm.was_built, "path": str(cm.path), "key": cm.key,
                      "y_end": res.states[-1].tolist(),
                      "warnings": [str(w.message) for w in caught if issubclass(w.category, BonemetWarning)]}))
""")

TAG = "0.125"


def toy(tag: str = TAG) -> bm.Model:
    namespace: dict = {}
    exec(TOY_SOURCE, namespace)  # noqa: S102 - the definition the children use
    return namespace["toy"](tag)


def start_child(cache: Path, tag: str = TAG, go: str = "-") -> subprocess.Popen:
    env = dict(os.environ, BONEMET_ODE_CACHE=str(cache))
    return subprocess.Popen([sys.executable, "-c", CHILD, tag, go], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    # a negative return code is a signal (SIGBUS, SIGSEGV): the crash this file guards against
    assert proc.returncode == 0, f"child exited with {proc.returncode}:\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1])


def run_child(cache: Path, tag: str = TAG) -> dict:
    return finish(start_child(cache, tag))


@pytest.fixture(scope="module")
def reference():
    """Day-3 state of the toy model, solved fresh in this process."""
    return bm.simulate(toy(), days=3.0, rtol=1e-8).states[-1]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A private cache holding the toy's library and pk_one_compartment's (built by child processes)."""
    cache = tmp_path_factory.mktemp("pristine_cache")
    first = run_child(cache)
    assert first["was_built"] and not first["warnings"]
    other = run_child(cache, "pk")
    return cache, Path(first["path"]), first["key"], Path(other["path"])


@pytest.fixture()
def cache(pristine, tmp_path):
    """A copy of the pristine cache for one case to damage: (dir, library path, key, other library)."""
    src, lib, key, other = pristine
    dst = tmp_path / "cache"
    shutil.copytree(src, dst)
    return dst, dst / lib.name, key, dst / other.name


def truncate(lib: Path, key: str, other: Path) -> None:
    data = lib.read_bytes()
    lib.write_bytes(data[: len(data) // 2])


def garble(lib: Path, key: str, other: Path) -> None:
    data = bytearray(lib.read_bytes())
    rng = np.random.default_rng(15)
    a = len(data) // 3
    data[a:a + 4096] = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    lib.write_bytes(bytes(data))


def garble_header(lib: Path, key: str, other: Path) -> None:
    data = bytearray(lib.read_bytes())
    data[16:80] = bytes(range(64))  # ELF header fields after the magic
    lib.write_bytes(bytes(data))


def zero_bytes(lib: Path, key: str, other: Path) -> None:
    lib.write_bytes(b"")


def other_library(lib: Path, key: str, other: Path) -> None:
    shutil.copyfile(other, lib)


def other_library_and_record(lib: Path, key: str, other: Path) -> None:
    shutil.copyfile(other, lib)
    shutil.copyfile(other.with_suffix(".sha256"), lib.with_suffix(".sha256"))


def other_library_forged_record(lib: Path, key: str, other: Path) -> None:
    """Another model's library with a record that carries this key: the hash passes, the embedded key does not."""
    shutil.copyfile(other, lib)
    _, size, digest = other.with_suffix(".sha256").read_text().split()
    lib.with_suffix(".sha256").write_text(f"{key} {size} {digest}\n")


def missing_record(lib: Path, key: str, other: Path) -> None:
    lib.with_suffix(".sha256").unlink()


def half_written_source_no_library(lib: Path, key: str, other: Path) -> None:
    c = lib.with_suffix(".c")
    text = c.read_text()
    c.write_text(text[: len(text) // 2])
    lib.unlink()
    lib.with_suffix(".sha256").unlink()


def killed_build_leftovers(lib: Path, key: str, other: Path) -> None:
    """An interrupted build: its private directory and temporary files remain, the library never got installed."""
    d = lib.parent / f".build-{key[:12]}-dead"
    d.mkdir()
    (d / "model.c").write_text("int broken(")
    (lib.parent / f".{lib.name}.x1y2.tmp").write_bytes(b"\x7fELF half")
    lib.unlink()


REBUILT = [truncate, garble, garble_header, zero_bytes, other_library, other_library_and_record,
           other_library_forged_record, missing_record]


@pytest.mark.parametrize("damage", REBUILT, ids=lambda f: f.__name__)
def test_damaged_library_is_rebuilt_with_a_notice(cache, reference, damage):
    cdir, lib, key, other = cache
    damage(lib, key, other)
    out = run_child(cdir)
    assert out["was_built"] is True
    assert len(out["warnings"]) == 1 and "damaged" in out["warnings"][0] and lib.name in out["warnings"][0]
    np.testing.assert_allclose(out["y_end"], reference, rtol=1e-12, atol=0)
    assert cache_files.check_cached(lib, key) is None  # healed on disk: the next process loads it as is
    if damage is truncate:  # (one case checks that next process, the others the record alone, for time)
        again = run_child(cdir)
        assert again["was_built"] is False and not again["warnings"]
        np.testing.assert_allclose(again["y_end"], reference, rtol=1e-12, atol=0)


@pytest.mark.parametrize("damage", [half_written_source_no_library, killed_build_leftovers],
                         ids=lambda f: f.__name__)
def test_interrupted_build_is_rebuilt_silently(cache, reference, damage):
    cdir, lib, key, other = cache
    damage(lib, key, other)
    out = run_child(cdir)
    assert out["was_built"] is True and not out["warnings"]  # nothing was installed: a first build
    np.testing.assert_allclose(out["y_end"], reference, rtol=1e-12, atol=0)
    assert cache_files.check_cached(lib, key) is None
    # the killed build's directory and temporary file are removed by the build that replaces it
    leftovers = sorted(p.name for p in cdir.iterdir() if p.name.startswith("."))
    assert not leftovers, leftovers


def test_half_written_source_beside_a_good_library_is_never_compiled(cache, reference):
    cdir, lib, key, other = cache
    c = lib.with_suffix(".c")
    c.write_text(c.read_text()[:1000])
    out = run_child(cdir)
    assert out["was_built"] is False and not out["warnings"]
    np.testing.assert_allclose(out["y_end"], reference, rtol=1e-12, atol=0)


def test_rebuild_in_the_same_process_loads_the_new_library(tmp_path, monkeypatch, reference):
    """A library replaced on disk after this process loaded it: the rebuild is really loaded (not the old handle)."""
    monkeypatch.setenv("BONEMET_ODE_CACHE", str(tmp_path))
    model = toy("0.375")
    first = backend.compile_model(model)
    y, p = np.array([1.0, 0.5]), model.parameter_vector()
    expected = first.rhs(y, p)
    # damage a copy and move it into place: this process has the original mapped, and changing that
    # file in place would change its code under it (another process's damage is modelled by the children)
    damaged = tmp_path / "damaged.so"
    shutil.copyfile(first.path, damaged)
    garble(damaged, first.key, damaged)
    os.replace(damaged, first.path)
    backend.clear_memory_cache()
    with pytest.warns(BonemetWarning, match="damaged"):
        healed = backend.compile_model(model)
    assert healed.was_built and healed is not first
    np.testing.assert_array_equal(healed.rhs(y, p), expected)
    np.testing.assert_array_equal(first.rhs(y, p), expected)  # the old mapping is untouched


# ------------------------------------------------------------------------------------ concurrent builds
def build_round(tmp_path: Path, round_no: int, reference_for) -> None:
    cache = tmp_path / f"round{round_no}"
    cache.mkdir()
    go = tmp_path / f"go{round_no}"
    tag = f"0.{round_no + 1:03d}"  # a structure never built before in this cache
    procs = [start_child(cache, tag, str(go)) for _ in range(8)]
    time.sleep(1.0)  # let the children import bonemet_ode; then all start building at once
    go.write_text("go")
    outs = [finish(p) for p in procs]
    expected = reference_for(tag)
    for out in outs:
        np.testing.assert_allclose(out["y_end"], expected, rtol=1e-12, atol=0)
        assert not out["warnings"]
    assert sum(o["was_built"] for o in outs) == 1, [o["was_built"] for o in outs]  # the lock: one build
    assert len({o["key"] for o in outs}) == 1
    leftovers = sorted(p.name for p in cache.iterdir() if p.name.startswith("."))
    assert not leftovers, leftovers  # no temporary file or build directory left behind


def _reference_for(tag: str) -> np.ndarray:
    return bm.simulate(toy(tag), days=3.0, rtol=1e-8).states[-1]


@pytest.mark.parametrize("round_no", range(2))
def test_eight_processes_build_one_new_model_at_once(tmp_path, round_no):
    build_round(tmp_path, round_no, _reference_for)


@pytest.mark.slow
def test_eight_processes_build_one_new_model_at_once_20_rounds(tmp_path):
    for r in range(20):
        build_round(tmp_path, 100 + r, _reference_for)


# ------------------------------------------------------------------------------------ progress notice
def test_slow_compile_prints_one_line_notice_unless_silenced(tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setattr(cache_files, "NOTICE_AFTER_S", 0.0)
    monkeypatch.setenv("BONEMET_ODE_CACHE", str(tmp_path))
    monkeypatch.delenv("BONEMET_ODE_QUIET", raising=False)
    # where logging is configured (here: pytest's capture handler) the notice is a log record
    with caplog.at_level("INFO", logger="bonemet_ode.compile"):
        backend.compile_model(toy("0.625"), force=True)
    notes = [r.getMessage() for r in caplog.records if "compiling model 'heal_probe'" in r.getMessage()]
    assert len(notes) == 1, caplog.records
    # without any handler it is one line on stderr
    monkeypatch.setattr(cache_files.logger, "propagate", False)
    backend.compile_model(toy("0.625"), force=True)
    err = capsys.readouterr().err
    assert len([ln for ln in err.splitlines() if "compiling model 'heal_probe'" in ln]) == 1, err
    # silenced by the environment, or by the logger's level
    monkeypatch.setenv("BONEMET_ODE_QUIET", "1")
    backend.compile_model(toy("0.625"), force=True)
    monkeypatch.delenv("BONEMET_ODE_QUIET")
    cache_files.logger.setLevel("WARNING")
    try:
        backend.compile_model(toy("0.625"), force=True)
    finally:
        cache_files.logger.setLevel("INFO")
    assert "compiling model" not in capsys.readouterr().err


def test_fast_build_prints_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cache_files, "NOTICE_AFTER_S", 60.0)
    monkeypatch.setenv("BONEMET_ODE_CACHE", str(tmp_path))
    monkeypatch.setattr(cache_files.logger, "propagate", False)
    backend.compile_model(toy("0.875"), force=True)
    assert "compiling model" not in capsys.readouterr().err

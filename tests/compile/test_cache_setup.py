"""Where the compile cache lives and how it is set up: file modes, unusable directories, a cache shared
read-only with other users, leftovers of killed builds, the libmvec probe record, and the settings
``BONEMET_ODE_ISA``/``BONEMET_ODE_BUILD``.

Builds use a private ``tmp_path`` cache and the tiny ``logistic`` model (about a second each).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import bonemet_ode as bm
from bonemet_ode.compile import backend, toolchain
from bonemet_ode.errors import BonemetWarning, CompileError


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("BONEMET_ODE_CACHE", str(d))
    return d


def build(name: str = "logistic"):
    """Build ``name`` into the current cache (also when this process loaded it from another cache before)."""
    return backend.compile_model(bm.models.get(name), force=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------------------------------ file modes
def test_cache_files_get_the_mode_open_would_give_them(cache):
    old = os.umask(0o027)
    try:
        cm = build()
    finally:
        os.umask(old)
    # mkstemp's private 0600 made a shared cache unusable for everyone but the builder
    assert mode(cm.path.with_suffix(".sha256")) == 0o640
    assert mode(cm.path.with_suffix(".c")) == 0o640
    assert mode(cm.path) == 0o750  # the compiler's output: an executable
    for probe in cache.glob("mvec-probe-*.txt"):
        assert mode(probe) == 0o640


# ------------------------------------------------------------------------------------------ a cache shared read-only
CHILD = textwrap.dedent("""
    import json, sys, warnings
    import bonemet_ode as bm
    from bonemet_ode.compile.backend import compile_model
    from bonemet_ode.errors import CompileError
    out = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cm = compile_model(bm.models.get("logistic"))
        out["was_built"] = cm.was_built
        out["v_end"] = float(bm.simulate(bm.models.get("logistic"), days=3.0).states[-1][0])
        try:
            compile_model(bm.models.get("gompertz"))  # not in the cache
            out["unbuilt"] = "built"
        except CompileError as exc:
            out["unbuilt"] = str(exc)
    out["warnings"] = [str(w.message) for w in caught]
    print(json.dumps(out))
""")


def _as_another_user(cache: Path) -> list[str]:
    """The command prefix of a process to which ``cache`` belongs to another user and is not writable.

    As root: the files are given to uid 65534 and the child runs without capabilities (so the permission
    bits apply to it).  As another user: the directory is made read-only (the files stay the user's own)."""
    if os.geteuid() != 0:
        cache.chmod(0o555)
        return []
    setpriv = shutil.which("setpriv")
    prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"] if setpriv else []
    if not prefix or subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root without a way to drop capabilities (setpriv)")
    for p in [cache, *cache.iterdir()]:
        os.chown(p, 65534, 65534)
    return prefix


def test_cache_shared_read_only_by_another_user_loads_without_writing(cache):
    build()
    before = sorted(p.name for p in cache.iterdir())
    prefix = _as_another_user(cache)
    try:
        proc = subprocess.run([*prefix, sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, BONEMET_ODE_CACHE=str(cache)))
    finally:
        cache.chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["was_built"] is False and not out["warnings"], out  # before: "damaged", then a PermissionError
    assert out["v_end"] == pytest.approx(float(bm.simulate(bm.models.get("logistic"), days=3.0).states[-1][0]),
                                         rel=1e-12)
    # a model the cache does not hold: one CompileError naming the directory, the variable and what to do
    assert str(cache) in out["unbuilt"] and "BONEMET_ODE_CACHE" in out["unbuilt"], out
    assert "'gompertz' is not built there" in out["unbuilt"] and "may not write" in out["unbuilt"], out
    assert sorted(p.name for p in cache.iterdir()) == before  # nothing written


# ------------------------------------------------------------------------------------------ unusable directories
@pytest.mark.parametrize("where, why", [("", "it is a file, not a directory"),
                                        ("sub", "a file stands where one of its parent directories should be")])
def test_unusable_cache_directory_is_refused_by_name(tmp_path, monkeypatch, where, why):
    blocker = tmp_path / "cfile"
    blocker.write_text("not a directory")
    target = blocker / where if where else blocker
    monkeypatch.setenv("BONEMET_ODE_CACHE", str(target))
    with pytest.raises(CompileError) as err:
        backend.compile_model(bm.models.get("logistic"))
    msg = str(err.value)
    assert str(target) in msg and "BONEMET_ODE_CACHE" in msg and why in msg and "writ" in msg, msg


def test_tilde_in_the_cache_variable_is_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BONEMET_ODE_CACHE", "~/bmcache")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert backend.cache_dir() == tmp_path / "home" / "bmcache"
    assert (tmp_path / "home" / "bmcache").is_dir() and not (work / "~").exists()


@pytest.mark.parametrize("suffix", [".sha256", ".so"])
def test_directory_in_place_of_a_cache_file_is_refused_by_name(cache, suffix):
    cm = build()
    target = cm.path.with_suffix(suffix)
    target.unlink()
    target.mkdir()
    backend.clear_memory_cache()
    with pytest.raises(CompileError, match=rf"{target.name} is a directory, not a file; remove it"):
        backend.compile_model(bm.models.get("logistic"))


# ------------------------------------------------------------------------------------------ killed builds
def test_a_build_removes_what_killed_builds_left(cache):
    cm = build()
    key = cm.key
    mine = cache / f".build-{key[:12]}-dead"  # this key's: removed whatever its age (the build holds its lock)
    old = cache / ".build-0123456789ab-old"  # another key's, two hours old: removed
    new = cache / ".build-0123456789ab-new"  # another key's, recent: it may be running
    for d in (mine, old, new):
        d.mkdir()
        (d / "model.c").write_text("int x;")
    tmp = cache / f".bm_{key}.sha256.x1y2.tmp"
    tmp.write_text("half")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    build()
    assert not mine.exists() and not old.exists() and not tmp.exists()
    assert new.exists()


# ------------------------------------------------------------------------------------------ the libmvec probe
@pytest.fixture()
def probe(cache, monkeypatch):
    """A fresh probe (no answer kept in memory) in the private cache; skipped where libmvec is not used."""
    monkeypatch.delenv("BONEMET_ODE_MVEC", raising=False)
    monkeypatch.delenv("BONEMET_ODE_ISA", raising=False)
    monkeypatch.delenv("BONEMET_ODE_BUILD", raising=False)
    cache.mkdir()
    toolchain._probe_mvec.cache_clear()
    yield cache
    toolchain._probe_mvec.cache_clear()


def test_a_broken_compiler_is_not_recorded_as_no_libmvec(probe, monkeypatch):
    monkeypatch.setenv("CC", "false")  # exists, and fails every compile
    assert toolchain.mvec_width(probe) == 0
    assert not list(probe.glob("mvec-probe-*.txt"))  # before: "0" kept, every later build without libmvec
    monkeypatch.delenv("CC")
    toolchain._probe_mvec.cache_clear()
    width = toolchain.mvec_width(probe)
    if not width:
        pytest.skip("libmvec is not used on this host")
    (record,) = probe.glob("mvec-probe-*.txt")
    assert record.read_text().strip() == str(width)


@pytest.mark.parametrize("isa, value", [("", "7"), ("", "-1"), ("", "four"), ("v3", "8")])
def test_an_impossible_probe_record_is_ignored_with_a_warning(probe, monkeypatch, isa, value):
    if isa:
        monkeypatch.setenv("BONEMET_ODE_ISA", isa)
    if not toolchain.mvec_width(probe):
        pytest.skip("libmvec is not used on this host")
    (record,) = probe.glob("mvec-probe-*.txt")
    good = record.read_text()
    record.write_text(value + "\n")
    toolchain._probe_mvec.cache_clear()
    with pytest.warns(BonemetWarning, match=rf"{record.name} holds '{value}'.*probing again"):
        width = toolchain.mvec_width(probe)
    assert record.read_text() == good and width == int(good)  # probed again, and the answer kept
    assert backend.compile_model(bm.models.get("logistic"), force=True).was_built  # the key uses it: no KeyError


def test_probe_record_name_depends_on_the_cpu(monkeypatch, tmp_path):
    flags = ("-O3", "-march=native")
    names = set()
    for features in ("fpu avx avx2 fma", "fpu avx avx2 fma avx512f"):
        monkeypatch.setattr(toolchain, "_cpu", lambda f=features: ("Some CPU", f))
        names.add(toolchain._probe_record(flags, str(tmp_path), False).name)
    assert len(names) == 2


# ------------------------------------------------------------------------------------------ settings
@pytest.mark.parametrize("var, value", [("BONEMET_ODE_ISA", "v4"), ("BONEMET_ODE_ISA", "bogus"),
                                        ("BONEMET_ODE_BUILD", "fast")])
def test_bad_isa_and_build_settings_are_refused_by_name(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    accepted = ("native", "v3", "baseline") if var == "BONEMET_ODE_ISA" else ("full", "quick")
    with pytest.raises(CompileError) as err:
        toolchain.compile_flags()
    msg = str(err.value)
    assert var in msg and repr(value) in msg and all(a in msg for a in accepted), msg


@pytest.mark.parametrize("var, value", [("BONEMET_ODE_ISA", "Native"), ("BONEMET_ODE_ISA", " baseline "),
                                        ("BONEMET_ODE_ISA", ""), ("BONEMET_ODE_BUILD", "full"),
                                        ("BONEMET_ODE_BUILD", "QUICK")])
def test_good_isa_and_build_settings_are_accepted(monkeypatch, var, value):
    for other in ("BONEMET_ODE_ISA", "BONEMET_ODE_BUILD"):  # the test session may set either (conftest: quick)
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(var, value)
    flags = toolchain.compile_flags()
    assert ("-O1" in flags) == (value.strip().lower() == "quick")
    if value.strip() == "baseline":
        assert not any(f.startswith("-march") for f in flags)

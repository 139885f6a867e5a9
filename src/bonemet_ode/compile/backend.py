"""Compile generated C to a shared library and cache it on disk (:mod:`.library` loads and calls it).

Compiled artefacts live in ``$BONEMET_ODE_CACHE`` (default
``~/.cache/bonemet_ode``), named by a key that hashes the model structure,
the code generator and solver versions, the compiler and its flags; a new
process that builds the same model structure loads the library without
running sympy or the compiler.  See ``docs/backend.md`` for why generated C.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


from ..errors import BonemetWarning, CompileError
from ..model import Model
from . import toolchain
from .cache_files import (
    SlowNotice,
    atomic_write,
    check_cached,
    file_lock,
    not_a_file,
    record_path,
    remove_stale_builds,
    sha256_of,
)
from .codegen import CODEGEN_VERSION, generator_fingerprint, generator_settings, solver_core_source, specialisation
from .library import CompiledModel
from .toolchain import PART_OPT, _compiler, compile_flags, isa_flags, isa_key, mvec_width, quick_build

__all__ = ["compile_model", "cache_dir", "clear_memory_cache"]

#: Whether the generated solvers execute state-triggered events (model.Event).
EVENTS_COMPILED = True
_lock = threading.Lock()
_loaded: dict[str, CompiledModel] = {}


def _cache_origin() -> str:
    """Where the cache directory's name comes from, for messages."""
    return ("the environment variable BONEMET_ODE_CACHE" if os.environ.get("BONEMET_ODE_CACHE")
            else "the default location (BONEMET_ODE_CACHE is not set)")


def unusable_cache(directory: Path, why: str) -> CompileError:
    """The error for a cache directory that cannot be used: which, where its name comes from, why, what to do."""
    return CompileError(f"the compile cache directory {directory} ({_cache_origin()}) cannot be used: {why}; "
                        "set BONEMET_ODE_CACHE to a directory this user can write (it is created if missing)")


def cache_dir() -> Path:
    """Directory of compiled artefacts (``$BONEMET_ODE_CACHE``, ``~`` expanded, or ``~/.cache/bonemet_ode``),
    created if missing.

    Raises :class:`~bonemet_ode.errors.CompileError` naming the directory and the variable where it cannot be
    (a file stands at its place or above it, no permission).
    """
    env = os.environ.get("BONEMET_ODE_CACHE")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "bonemet_ode"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise unusable_cache(path, "it is a file, not a directory") from None
    except NotADirectoryError:
        raise unusable_cache(path, "a file stands where one of its parent directories should be") from None
    except PermissionError:
        raise unusable_cache(path, "it does not exist and this user may not create it") from None
    except OSError as exc:
        raise unusable_cache(path, f"it cannot be created ({exc.strerror or exc})") from None
    return path


def _cache_key(model: Model, sensitivities: tuple[str, ...] = ()) -> str:
    """Key of a compiled library: the structure, generator and solver versions, flags and sensitivities.

    The compiler is not part of it: any C99 compiler gives a library with the same meaning, and a
    cached library must load on a machine whose ``$CC`` names another (or no) compiler.
    """
    core = hashlib.sha256(solver_core_source().encode()).hexdigest()
    blob = "|".join([model.structure_key, str(CODEGEN_VERSION), generator_fingerprint(), generator_settings(), core,
                     " ".join(compile_flags()), PART_OPT, isa_key(), ",".join(sensitivities),
                     f"mvec={mvec_width(cache_dir())}",
                     *([f"exponents={sorted(spec.items())}"] if (spec := specialisation(model)) else [])])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def clear_memory_cache() -> None:
    """Forget the libraries loaded in this process (files on disk stay)."""
    with _lock:
        _loaded.clear()


def compile_model(
    model: Model, *, force: bool = False, verbose: bool = False, sensitivities: tuple[str, ...] = ()
) -> CompiledModel:
    """Return the compiled form of ``model``'s structure, building it if needed.

    The disk cache heals itself: a cached library is loaded only after its size and sha256 match the
    record written when it was built, and a library that fails the check (truncated, garbled,
    replaced, built by an interrupted process) is rebuilt with a one-line notice.  Builds of one
    key are serialised across processes by a file lock, and every file is installed by an atomic
    rename, so processes that build the same new model at once all load a complete library.  A
    build that takes more than :data:`~bonemet_ode.compile.cache_files.NOTICE_AFTER_S` seconds prints
    a one-line notice (see :func:`~bonemet_ode.compile.cache_files.notice` to silence it).

    Parameters
    ----------
    model : Model
        Any model; knockouts and parameter values do not affect the code.
    force : bool
        Regenerate and recompile even when a cached library exists.
    verbose : bool
        Print timings of code generation and compilation.
    sensitivities : tuple of str
        Parameter names (or state names, for initial values) whose forward
        sensitivities are integrated with the states (see ``sensitivity.py``).

    Raises
    ------
    CompileError
        When no compiler is available or compilation fails (the message
        quotes the compiler's output and names the generated file).

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> cm = compile_model(bm.models.get("pk_one_compartment"))
    >>> cm.n_states
    1
    """
    if not isinstance(model, Model):
        raise CompileError(f"compile_model: model must be a bonemet_ode Model, got {type(model).__name__}")
    sensitivities = tuple(sensitivities)
    if model.events and not EVENTS_COMPILED:
        from ..errors import ModelError

        raise ModelError(f"model {model.name!r} has events {[e.name for e in model.events]}: the compiled solvers "
                         "do not execute state-triggered events yet")
    if sensitivities:
        from .sensitivity import check_wrt

        check_wrt(model, sensitivities)
        if model.events:
            from .events import check_event_sensitivities

            check_event_sensitivities(model, sensitivities)
    key = _cache_key(model, sensitivities)
    with _lock:
        if not force and key in _loaded:
            return _loaded[key]
        path = cache_dir() / f"bm_{key}.so"
        lock_path = path.with_suffix(".lock")
        t0 = time.perf_counter()
        built = False
        cm = None
        problem = "forced rebuild" if force else None
        if not force:
            with file_lock(lock_path, exclusive=False):
                problem = check_cached(path, key)
                if problem is None:
                    cm, problem = _load_checked(model, path, key, sensitivities)
        if cm is None:
            with file_lock(lock_path, exclusive=True) as locked:
                # another process may have built it while this one waited for the lock
                if not force:
                    again = check_cached(path, key)
                    if again is None:
                        cm, again = _load_checked(model, path, key, sensitivities)
                    if again != "missing":
                        problem = again
                if cm is None:
                    work = _start_build(model, path, key, problem, locked)
                    try:
                        if problem not in (None, "missing", "forced rebuild"):
                            state = "unusable" if "permission denied" in problem else "damaged"
                            msg = (f"cached library {path.name} of model {model.name!r} is {state} ({problem}); "
                                   "rebuilding it")
                            warnings.warn(msg, BonemetWarning, stacklevel=2)
                        _build(model, path, key, _compiler(), verbose, sensitivities, work)
                    finally:
                        shutil.rmtree(work, ignore_errors=True)
                    built = True
                    cm, problem = _load_checked(model, path, key, sensitivities)
                    if cm is None:
                        raise CompileError(f"the library just built for model {model.name!r} ({path}) "
                                           f"does not load correctly: {problem}")
        cm.compile_seconds = time.perf_counter() - t0
        cm.was_built = built
        _loaded[key] = cm
        return cm


def _start_build(model: Model, path: Path, key: str, problem: str | None, locked: bool) -> Path:
    """Before a build of ``key`` (holding its lock): the private build directory, created in the cache.

    Removes what killed builds left behind (:func:`~bonemet_ode.compile.cache_files.remove_stale_builds`).
    Raises :class:`CompileError` where the cache cannot take the library: a directory (or other non-file)
    where one of the key's files belongs, or a directory this user may not write.
    """
    for f in (path, record_path(path), path.with_suffix(".c")):
        if (what := not_a_file(f)) is not None:
            raise CompileError(f"cannot install the library of model {model.name!r}: {f} is {what}, not a file; "
                               "remove it (bonemet_ode never creates it) and run again")
    remove_stale_builds(path.parent, key, locked)
    try:
        work = Path(tempfile.mkdtemp(prefix=f".build-{key[:12]}-", dir=path.parent))
    except OSError as exc:
        why = (f"model {model.name!r} is not built there yet" if problem in (None, "missing", "forced rebuild")
               else f"the library of model {model.name!r} there cannot be used ({problem})")
        raise unusable_cache(path.parent, f"{why}, and this user may not write there to build it "
                                          f"({exc.strerror or exc})") from None
    return work


def _load_checked(model: Model, path: Path, key: str, sensitivities: tuple[str, ...]):
    """``(CompiledModel, None)``, or ``(None, reason)`` when the library loads but is not this key's."""
    try:
        return CompiledModel(model, path, key, sensitivities), None
    except CompileError as exc:
        return None, str(exc)


def _build(model: Model, path: Path, key: str, cc: str, verbose: bool, sensitivities: tuple[str, ...],
           work: Path) -> None:
    """Generate, compile in the private directory ``work``, and install the library, its record and its source.

    The compiler reads a private copy of the source and writes a private library; only complete
    files are renamed into the cache (the record first, then the library: a reader holding the
    shared lock never sees one without the other, and a crash in between leaves a mismatch that
    the next process rebuilds).  The caller holds the key's exclusive lock and removes ``work``.
    """
    from .codegen import check_size, generate_units
    from .symbolic import SymbolicModel

    check_size(model.name, len(model.state_names) * (1 + len(sensitivities)))  # before any symbolic work
    with SlowNotice(f"compiling model {model.name!r} (first use of this structure; later runs load it from "
                     f"{path.parent})..."):
        t0 = time.perf_counter()
        base = SymbolicModel(model)
        sym: SymbolicModel | SensitivitySymbolic = base
        if sensitivities:
            from .sensitivity import SensitivitySymbolic

            sym = SensitivitySymbolic(base, sensitivities)
        units = generate_units(sym, lanes=not quick_build(), mvec=mvec_width(cache_dir()))
        units[0] += f'\n/* cache key of this library */\nconst char bm_cache_key[] = "{key}";\n'
        src = "\n".join(units[1:] + units[:1])  # the whole library in one file, for inspection
        t1 = time.perf_counter()
        c_path = path.with_suffix(".c")
        tmp = work / "model.so"
        rc, stderr, cmd = _compile_units(cc, units, work, tmp)
        atomic_write(c_path, src.encode())  # for inspection only: never compiled from this path
        if rc != 0 or not tmp.exists():
            raise CompileError(
                f"compiling model {model.name!r} failed ({' '.join(cmd)}):\n{stderr[-4000:]}\n"
                f"generated source: {c_path}"
            )
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        atomic_write(record_path(path), f"{key} {tmp.stat().st_size} {sha256_of(tmp)}\n".encode())
        os.replace(tmp, path)
    if verbose:
        print(f"[bonemet_ode] model {model.name!r}: codegen {t1 - t0:.2f} s, "
              f"C compile {time.perf_counter() - t1:.2f} s")


def compile_jobs() -> int:
    """How many C compiler processes build the units of a large model at once: ``$BONEMET_ODE_JOBS``, or the
    number of CPUs this process may run on (at most 8)."""
    env = os.environ.get("BONEMET_ODE_JOBS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise CompileError(f"BONEMET_ODE_JOBS must be a positive integer, got {env!r}") from None
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def _compile_units(cc: str, units: list[str], work: Path, out: Path) -> tuple[int, str, list[str]]:
    """Compile the C ``units`` (:func:`codegen.generate_units`) in ``work`` into the shared library ``out``.

    One unit is compiled and linked by one command.  Several (a large model) are compiled to objects
    side by side (:func:`compile_jobs` processes), the main unit with :data:`toolchain.CFLAGS`, the parts of the
    model functions with :data:`toolchain.PART_OPT`, and linked.  Where the compiler rejects the instruction-set
    flags, the portable build is used (it means the same).  Returns ``(status, stderr, command)`` of the
    first command that failed, or of the last one."""
    from concurrent.futures import ThreadPoolExecutor

    files = []
    for k, text in enumerate(units):
        f = work / ("model.c" if k == 0 else f"part{k}.c")
        f.write_text(text)
        files.append(f)

    def run(cmd: list[str]):
        return subprocess.run(cmd, capture_output=True, text=True)

    flags = toolchain.CFLAGS_QUICK if quick_build() else toolchain.CFLAGS
    libs = ["-lmvec", "-lm"] if mvec_width(cache_dir()) else ["-lm"]

    def attempt(isa: tuple[str, ...]) -> tuple[int, str, list[str]]:
        if len(files) == 1:
            cmd = [cc, *flags, *isa, "-o", str(out), str(files[0]), *libs]
            proc = run(cmd)
            return proc.returncode, proc.stderr, cmd
        obj_flags = [f for f in flags if f != "-shared"]
        part_flags = [PART_OPT if f == "-O3" else f for f in obj_flags]
        cmds = [[cc, *(obj_flags if k == 0 else part_flags), *isa, "-c", "-o", str(f.with_suffix(".o")), str(f)]
                for k, f in enumerate(files)]
        with ThreadPoolExecutor(max_workers=min(compile_jobs(), len(cmds))) as pool:
            procs = list(pool.map(run, cmds))
        for cmd, proc in zip(cmds, procs):
            if proc.returncode != 0:
                return proc.returncode, proc.stderr, cmd
        cmd = [cc, *flags, *isa, "-o", str(out), *(str(f.with_suffix(".o")) for f in files), *libs]
        proc = run(cmd)
        return proc.returncode, proc.stderr, cmd

    rc, stderr, cmd = attempt(isa_flags())
    if rc != 0 and isa_flags() and "march" in stderr:
        # a compiler without -march=native / x86-64-v3: the portable build means the same
        rc, stderr, cmd = attempt(())
    return rc, stderr, cmd

"""The C toolchain of compiled models: compiler, flags, and the instruction set of this host.

Every flag here is part of the cache key of a compiled model (``backend._cache_key``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

from ..errors import BonemetWarning, CompileError
from .cache_files import atomic_write

__all__ = ["CFLAGS", "CFLAGS_QUICK", "PART_OPT", "compile_flags", "isa_flags", "isa_key", "quick_build", "mvec_width",
           "MVEC_NAMES"]

#: -ffp-contract=off: no fused multiply-adds unless written, so the scalar solver and the lane solver
#: (SIMD over cohort members) perform identical roundings: a member gives bit-identical results in a
#: batch and alone.  -O3 vectorises the lanes (2.9x the throughput of -O2 on the reference cohort).
#: -fno-trapping-math: floating-point exceptions are never inspected, so the compiler may schedule
#: divisions speculatively (roundings are unchanged).
CFLAGS = ("-O3", "-fPIC", "-shared", "-std=gnu99", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off")
#: Optimisation level of the separately compiled parts of a large model's generated functions
#: (straight-line arithmetic, see ``codegen.generate_units``); the solver core keeps -O3.
PART_OPT = "-O1"
#: x86-64 feature flags (``/proc/cpuinfo``) that ``-march=x86-64-v3`` needs (AVX2 with FMA among them).
_V3_FEATURES = frozenset({"avx", "avx2", "fma", "bmi1", "bmi2", "movbe", "f16c", "abm"})


@functools.lru_cache(maxsize=1)
def _cpu() -> tuple[str, str] | None:
    """(model name, feature flags) of this x86-64 host from ``/proc/cpuinfo``, or None."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    name, flags = "", None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name") and not name:
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = line.split(":", 1)[1].strip()
                    break
    except OSError:
        return None
    return (name, flags) if flags is not None else None


#: Accepted values of ``BONEMET_ODE_ISA`` (empty: the default, ``native``).
ISA_MODES = ("native", "v3", "baseline")
#: Accepted values of ``BONEMET_ODE_BUILD`` (empty: the default, ``full``).
BUILD_MODES = ("full", "quick")


def _setting(name: str, accepted: tuple[str, ...], meaning: str) -> str:
    """The value of the environment variable ``name`` (stripped, lower case; empty for the default ``accepted[0]``),
    or a :class:`CompileError` naming the variable, the value and the accepted values."""
    mode = os.environ.get(name, "").strip().lower()
    if mode and mode not in accepted:
        raise CompileError(f"{name} must be {', '.join(accepted[:-1])} or {accepted[-1]} ({meaning}), or empty "
                           f"for {accepted[0]}; got {os.environ[name]!r}")
    return mode or accepted[0]


def isa_flags() -> tuple[str, ...]:
    """Instruction-set flags for this host.

    By default ``("-march=native",)`` where the CPU has at least AVX2 and FMA: the compiler uses every
    instruction of this CPU and tunes for it (reference solve 94 -> 85 us on an AVX-512 host, with
    ``-fno-trapping-math``).  ``BONEMET_ODE_ISA=v3`` gives ``-march=x86-64-v3`` (AVX2 and FMA only),
    ``BONEMET_ODE_ISA=baseline`` the portable build, whose results are bit-identical across hosts
    (``native`` or empty: the default; any other value is refused with a :class:`CompileError`).
    The CPU's model and feature flags are part of the cache key (:func:`isa_key`), so a library built
    here is never loaded on a host with other instructions.
    """
    mode = _setting("BONEMET_ODE_ISA", ISA_MODES, "native: this CPU's instructions, v3: AVX2 and FMA, baseline: "
                    "the portable build")
    cpu = _cpu()
    if mode == "baseline" or cpu is None or not set(cpu[1].split()) >= _V3_FEATURES:
        return ()
    return ("-march=x86-64-v3",) if mode == "v3" else ("-march=native",)


def isa_key() -> str:
    """What the instruction-set flags mean on this host: the CPU model and features for ``-march=native``."""
    flags = isa_flags()
    if "-march=native" not in flags:
        return " ".join(flags)
    name, features = _cpu()  # type: ignore[misc]
    return "native:" + hashlib.sha256(f"{name}|{features}".encode()).hexdigest()[:16]


#: Flags of a quick build (``BONEMET_ODE_BUILD=quick``): the same arithmetic without -O3's vectorisation.
CFLAGS_QUICK = ("-O1",) + CFLAGS[1:]


def quick_build() -> bool:
    """Whether ``BONEMET_ODE_BUILD=quick`` asks for quick builds: ``-O1`` and no lane (SIMD cohort) solver.

    For running many small models once each (the SBML Test Suite: ~10x less C compile time per model);
    cohorts then run one member at a time.  Part of the cache key, so quick and full libraries never mix.
    ``full`` (or empty) is the default; any other value is refused (:class:`CompileError`).
    """
    return _setting("BONEMET_ODE_BUILD", BUILD_MODES, "full: -O3 with the lane solver, quick: -O1 without it") \
        == "quick"


def compile_flags() -> tuple[str, ...]:
    """The C compiler flags of this host's libraries (part of the cache key)."""
    return (CFLAGS_QUICK if quick_build() else CFLAGS) + isa_flags()


def _compiler() -> str:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise CompileError(
            f"no C compiler found (looked for {cc!r}); install gcc or clang, or set the CC environment variable"
        )
    return cc


#: The vector functions of glibc's libmvec (x86-64 vector ABI names) by width in doubles: ``(exp, log)``.
#: 8: AVX-512 (``_ZGVe``), 4: AVX2 (``_ZGVd``).
MVEC_NAMES = {8: ("_ZGVeN8v_exp", "_ZGVeN8v_log"), 4: ("_ZGVdN4v_exp", "_ZGVdN4v_log")}

#: The probe of :func:`mvec_width`: prints the vector width the build's flags select (0 without AVX2), then
#: exp and log of a few arguments through the vector functions (each lane its own argument).
_MVEC_PROBE = r"""
#include <stdio.h>
#if defined(__AVX512F__) && !defined(BM_W4)
#define W 8
#define EXPV _ZGVeN8v_exp
#define LOGV _ZGVeN8v_log
#elif defined(__AVX2__)
#define W 4
#define EXPV _ZGVdN4v_exp
#define LOGV _ZGVdN4v_log
#endif
#ifdef W
typedef double v __attribute__((vector_size(8 * W)));
v EXPV(v);
v LOGV(v);
#endif
int main(void) {
#ifdef W
    static const double xs[8] = {-700.5, -1.25, -1e-9, 0.0, 0.5, 1.0, 3.75, 700.25};
    printf("%d\n", W);
    for (int k = 0; k < 8; k += W) {
        v a, e, l;
        for (int i = 0; i < W; ++i) a[i] = xs[k + i];
        e = EXPV(a);
        for (int i = 0; i < W; ++i) a[i] = a[i] < 0 ? -a[i] : a[i] + 1.0;
        l = LOGV(a);
        for (int i = 0; i < W; ++i) printf("%.17g %.17g %.17g\n", xs[k + i], e[i], l[i]);
    }
#else
    printf("0\n");
#endif
    return 0;
}
"""


def _within_ulps(got: float, want: float, ulps: int = 4) -> bool:
    return got == want or abs(got - want) <= ulps * math.ulp(want)


#: A program every working C compiler builds and runs: the control of the probe (a compiler that fails it,
#: ``CC=false`` say, says nothing about libmvec, and its failure is not recorded).
_PLAIN_PROBE = "int main(void) { return 0; }\n"


def _valid_widths(flags: tuple[str, ...], narrow: bool) -> frozenset[int]:
    """The answers the probe can give with ``flags`` on this CPU: 0 always, 4 with AVX2, 8 with AVX-512 where
    ``-march=native`` enables it (and the narrow functions were not asked for)."""
    cpu = _cpu()
    features = set(cpu[1].split()) if cpu else set()
    widths = {0}
    if any(f.startswith("-march=") for f in flags) and "avx2" in features:
        widths.add(4)
        if not narrow and "-march=native" in flags and "avx512f" in features:
            widths.add(8)
    return frozenset(widths)


def _probe_record(flags: tuple[str, ...], cache: str, narrow: bool) -> Path:
    """The file in ``cache`` that keeps the probe's answer: its name hashes everything the answer depends on
    here -- the architecture, the flags, the CPU's model and features (a home directory shared by hosts with
    and without AVX-512) and libmvec's files -- but not the compiler (see :func:`_probe_mvec`)."""
    cpu = _cpu()
    stamp = [platform.machine(), *flags, "narrow" if narrow else "widest",
             "cpu:" + (hashlib.sha256(f"{cpu[0]}|{cpu[1]}".encode()).hexdigest()[:16] if cpu else "-")]
    for f in ("/lib/x86_64-linux-gnu/libmvec.so.1", "/usr/lib/x86_64-linux-gnu/libmvec.so", "/lib64/libmvec.so.1",
              "/usr/lib64/libmvec.so"):
        try:
            st = os.stat(f)
            stamp.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            stamp.append(f"{f}:-")
    return Path(cache) / f"mvec-probe-{hashlib.sha256('|'.join(stamp).encode()).hexdigest()[:16]}.txt"


def _read_probe_record(record: Path, valid: frozenset[int]) -> int | None:
    """The width kept in ``record``, or None where there is none; a value the probe cannot have written
    (with these flags on this CPU) is ignored with a warning naming the file."""
    try:
        text = record.read_text().strip()
    except OSError:
        return None
    try:
        width = int(text)
    except ValueError:
        width = None
    if width in valid:
        return width
    warnings.warn(f"the libmvec probe record {record} holds {text[:40]!r}, not one of {sorted(valid)} (the widths "
                  "possible with this build's flags on this CPU); ignoring it and probing again",
                  BonemetWarning, stacklevel=4)
    return None


@functools.cache
def _probe_mvec(flags: tuple[str, ...], cache: str | None, narrow: bool = False) -> int:
    """The width that :data:`_MVEC_PROBE` reports where, compiled with ``flags`` and linked with ``-lmvec``, it
    runs and its values agree with Python's ``math.exp``/``math.log`` to 4 ulp, else 0.

    The answer is kept in ``cache`` (a directory, :func:`_probe_record`).  Only an answer about libmvec is kept:
    where no compiler is found, or the compiler does not build and run a plain program with the same flags
    (:data:`_PLAIN_PROBE`; ``CC=false``, a compiler that rejects the flags, a temporary directory that may not
    run programs), the width is 0 for this process and nothing is recorded.  The name of the record does not
    hash the compiler: like the rest of the cache key, it describes this host, and a process that finds it
    needs no compiler to load a library built here (tests/compile/test_compile_cache.py)."""
    valid = _valid_widths(flags, narrow)
    record = _probe_record(flags, cache, narrow) if cache else None
    if record is not None and (kept := _read_probe_record(record, valid)) is not None:
        return kept
    try:
        cc = _compiler()
    except CompileError:
        return 0  # nothing can be built here: the answer is not recorded
    width = 0
    opts = [f for f in flags if f not in ("-shared", "-fPIC")]
    with tempfile.TemporaryDirectory(prefix="bm-mvec-") as work:
        try:
            src, exe = Path(work) / "probe.c", Path(work) / "probe"
            src.write_text(_MVEC_PROBE)
            built = subprocess.run([cc, *opts, *(["-DBM_W4"] if narrow else []), "-o", str(exe), str(src),
                                    "-lmvec", "-lm"], capture_output=True, text=True, timeout=120)
            out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60) \
                if built.returncode == 0 else None
            if out is None or out.returncode != 0:
                # the control, only where the probe failed (a first build pays for it only then): a compiler
                # that cannot build and run a plain program says nothing about libmvec
                plain_src, plain_exe = Path(work) / "plain.c", Path(work) / "plain"
                plain_src.write_text(_PLAIN_PROBE)
                plain = subprocess.run([cc, *opts, "-o", str(plain_exe), str(plain_src)], capture_output=True,
                                       text=True, timeout=120)
                ran = subprocess.run([str(plain_exe)], capture_output=True, timeout=60) \
                    if plain.returncode == 0 else None
                if ran is None or ran.returncode != 0:
                    return 0  # the compiler (or running what it builds) fails: no answer about libmvec
        except (OSError, subprocess.SubprocessError):
            return 0  # a timeout or a program that cannot be started: not an answer either
        if out is not None and out.returncode == 0:
            lines = out.stdout.split("\n")
            try:
                w = int(lines[0])
                rows = [tuple(map(float, ln.split())) for ln in lines[1:] if ln.strip()]
                ok = w in MVEC_NAMES and w in valid and len(rows) == 8 and all(
                    _within_ulps(e, math.exp(x)) and _within_ulps(lg, math.log(-x if x < 0 else x + 1.0))
                    for x, e, lg in rows)
                width = w if ok else 0
            except ValueError:
                width = 0
    if record is not None:
        with contextlib.suppress(OSError):
            atomic_write(record, f"{width}\n".encode())
    return width


def mvec_width(cache: Path | None = None) -> int:
    """Doubles per call of the vector ``exp``/``log`` (glibc's libmvec) that this host's libraries use, or 0.

    Where it is not 0, every ``exp`` and ``log`` of the generated model functions is computed by libmvec's
    vector function of that width (:data:`MVEC_NAMES`): the lane solver gathers the arguments of all lanes
    into one call, and the one-member solver calls the same function with its argument in every element
    (the vector functions compute each element on its own, so a member's numbers do not depend on its
    neighbours: bit-identical in a cohort and alone).  8 where the build's flags enable AVX-512, 4 with
    AVX2, 0 (C's scalar ``exp``/``log``, as in every build before) for the portable build
    (``BONEMET_ODE_ISA=baseline``), a quick build, ``BONEMET_ODE_MVEC=0``, and wherever a test program
    with the build's flags does not compile, link with ``-lmvec``, run, and give exp and log to 4 ulp
    (another C library or architecture); ``BONEMET_ODE_MVEC=4`` asks for the AVX2 functions on an AVX-512
    host.  The answer of the test program is kept in ``cache`` (a file ``mvec-probe-*.txt`` named by the flags,
    the CPU and libmvec's files; delete it to probe again, e.g. after changing compilers); a failure of the
    compiler itself is not an answer and is not kept, and a file holding a width that is impossible here is
    ignored with a warning.
    Part of the cache key of a compiled model.
    """
    mode = os.environ.get("BONEMET_ODE_MVEC", "").strip().lower()
    if mode in ("0", "off", "no", "false"):
        return 0
    if mode not in ("", "4", "auto"):
        raise CompileError(f"BONEMET_ODE_MVEC must be 0 (C's exp and log), 4 (libmvec's AVX2 functions) or empty "
                           f"(the widest this build's flags allow), got {mode!r}")
    if quick_build() or not isa_flags() or _cpu() is None or platform.system() != "Linux":
        return 0
    return _probe_mvec(compile_flags(), str(cache) if cache is not None else None, mode == "4")

"""The C toolchain of compiled models: compiler, flags, and the instruction set of this host.

Every flag here is part of the cache key of a compiled model (``backend._cache_key``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil

from ..errors import CompileError

__all__ = ["CFLAGS", "CFLAGS_QUICK", "PART_OPT", "compile_flags", "isa_flags", "isa_key", "quick_build"]

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


def isa_flags() -> tuple[str, ...]:
    """Instruction-set flags for this host.

    By default ``("-march=native",)`` where the CPU has at least AVX2 and FMA: the compiler uses every
    instruction of this CPU and tunes for it (reference solve 94 -> 85 us on an AVX-512 host, with
    ``-fno-trapping-math``).  ``BONEMET_ODE_ISA=v3`` gives ``-march=x86-64-v3`` (AVX2 and FMA only),
    ``BONEMET_ODE_ISA=baseline`` the portable build, whose results are bit-identical across hosts.
    The CPU's model and feature flags are part of the cache key (:func:`isa_key`), so a library built
    here is never loaded on a host with other instructions.
    """
    mode = os.environ.get("BONEMET_ODE_ISA", "").strip().lower()
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
    """
    return os.environ.get("BONEMET_ODE_BUILD", "").strip().lower() == "quick"


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

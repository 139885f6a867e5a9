"""Measure the candidate compile backends for generated model code (docs/backend.md).

Compares, on the performance reference problem (shared/spec/performance.md)
and on bone_metastasis: (a) generated C compiled with cc (our backend), (b)
the same right-hand side and Jacobian compiled with numba (``@njit`` of
sympy-printed Python), both timed for cold compile and for one RHS call.
numba is optional: ``pip install numba``; without it only (a) is measured.

Run: ``python benchmarks/backend_choice.py``
"""

from __future__ import annotations

import ctypes
import os
import tempfile
import time

import numpy as np

import bonemet_ode as bm
from bonemet_ode.compile.backend import compile_model
from bonemet_ode.compile.symbolic import SymbolicModel


def c_backend(model):
    with tempfile.TemporaryDirectory() as d:
        os.environ["BONEMET_ODE_CACHE"] = d
        t0 = time.perf_counter()
        cm = compile_model(model, force=True)
        cold = time.perf_counter() - t0
        # per-call cost measured inside C: bm_rhs_many over many states
        y = model.initial_values()
        p = model.parameter_vector()
        m, reps = 1000, 200  # rows stay in cache; the ctypes call is amortised over m evaluations
        Y = np.repeat(y[None], m, 0).copy()
        P = np.repeat(p[None], m, 0).copy()
        DY = np.empty_like(Y)
        vp = ctypes.c_void_p
        args = (m, Y.ctypes.data_as(vp), P.ctypes.data_as(vp), DY.ctypes.data_as(vp))
        cm._lib.bm_rhs_many(*args)
        t0 = time.perf_counter()
        for _ in range(reps):
            cm._lib.bm_rhs_many(*args)
        per_call = (time.perf_counter() - t0) / (m * reps)
        del os.environ["BONEMET_ODE_CACHE"]
    return cold, per_call


def numba_backend(model):
    try:
        import numba
    except ImportError:
        return None
    import sympy as sp
    from sympy.printing.numpy import NumPyPrinter

    t0 = time.perf_counter()
    sym = SymbolicModel(model)
    repl = {s: sp.Symbol(f"y[{i}]") for i, s in enumerate(sym.y)}
    repl.update({s: sp.Symbol(f"p[{j}]") for j, s in enumerate(sym.p)})
    printer = NumPyPrinter()
    lines = ["def rhs(y, p, dy):"]
    for i, e in enumerate(sym.rhs):
        lines.append(f"    dy[{i}] = {printer.doprint(e.xreplace(repl))}")
    lines.append("def jac(y, p, J):")
    J = sym.jacobian
    for i in range(J.rows):
        for j in range(J.cols):
            if J[i, j] != 0:
                lines.append(f"    J[{i}, {j}] = {printer.doprint(J[i, j].xreplace(repl))}")
    ns = {"numpy": np}
    exec("\n".join(lines), ns)  # noqa: S102 - benchmark of generated code
    rhs = numba.njit(ns["rhs"])
    jac = numba.njit(ns["jac"])
    y = model.initial_values()
    p = model.parameter_vector()
    dy = np.empty_like(y)
    Jm = np.zeros((len(y), len(y)))
    rhs(y, p, dy)
    jac(y, p, Jm)
    cold = time.perf_counter() - t0

    @numba.njit
    def loop(y, p, dy, m):
        s = 0.0
        for _ in range(m):
            rhs(y, p, dy)
            s += dy[0]
        return s

    m = 200_000
    loop(y, p, dy, 10)
    t0 = time.perf_counter()
    loop(y, p, dy, m)
    per_call = (time.perf_counter() - t0) / m
    return cold, per_call


def main() -> None:
    print(f"{'model':18s} {'backend':8s} {'cold compile (s)':>17s} {'RHS call (ns)':>14s}")
    for name in ("perf_reference", "bone_metastasis"):
        model = bm.models.get(name)
        cold, call = c_backend(model)
        print(f"{name:18s} {'C (cc)':8s} {cold:17.2f} {call * 1e9:14.1f}")
        nb = numba_backend(model)
        if nb is None:
            print(f"{name:18s} {'numba':8s} {'(not installed)':>17s}")
        else:
            print(f"{name:18s} {'numba':8s} {nb[0]:17.2f} {nb[1] * 1e9:14.1f}")


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()

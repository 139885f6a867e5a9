"""The reference problem (shared/spec/performance.md) as a numba cfunc solved by numbalsoda.

The right-hand side is a ``numba.cfunc`` with numbalsoda's ``lsoda_sig``; the
23 parameters (``_scipy_user.REFERENCE_PARAMETERS`` order) arrive through the
data pointer, followed by one slot the function increments on every call (the
RHS evaluation count; each solve gets its own data array, so the count is
thread-safe).  A solve integrates segment by segment between dose times
(:func:`_workers.dose_segments`, the segments ``_scipy_user.solve_with_doses``
restarts on) with ``numbalsoda.dop853`` or ``numbalsoda.lsoda``, adding each
bolus between segments; at an output time that is also a dose time it reports
the post-dose state.  A cohort runs in a ``numba.njit(parallel=True)`` prange
loop (numbalsoda's drivers are njit functions, so they are callable there).

Requires ``pip install numbalsoda`` (built from source: needs gfortran and cmake).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numba as nb
import numbalsoda
import numpy as np
from _workers import DoseSegments, dose_segments
from numba import cfunc

__all__ = ["METHODS", "N_PARAMS", "NumbalsodaCase", "make_rhs", "version"]

#: Number of model parameters in the data array (the count slot follows them).
N_PARAMS = 23
#: Step limit per segment handed to numbalsoda (its default).
MXSTEP = 10_000
#: The numbalsoda integrators benchmarked, by method name.
METHODS: dict[str, Callable] = {"dop853": numbalsoda.dop853, "lsoda": numbalsoda.lsoda}


def version() -> str:
    """The installed numbalsoda version."""
    from importlib.metadata import version as _v

    return _v("numbalsoda")


def make_rhs() -> object:
    """Compile the reference right-hand side as a numba cfunc (``.address`` is what numbalsoda takes).

    Returns
    -------
    numba.core.ccallback.CFunc
        ``rhs(t, u, du, p)``: writes dy/dt of states T, M, N, C, D, F, A, P
        into ``du``; ``p`` holds the 23 parameters and, at ``p[23]``, the
        evaluation counter it increments.
    """

    @cfunc(numbalsoda.lsoda_sig)
    def rhs(t, u, du, p):  # noqa: ANN001, ANN202 - a C callback: types come from lsoda_sig
        T, M, N, C, D, F, A, P = u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7]
        r, K, kC, sM, sN, eP, EC50P, aM = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
        hT, IC50F, dM, aN, hD, dN, sC, rC = p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]
        dC, pD, kD, kA, kF, kAel, kP = p[16], p[17], p[18], p[19], p[20], p[21], p[22]
        p[23] += 1.0
        shield_m = 1.0 + sM * M / 1e5
        sat_t = T / (T + hT)
        kill = kC * C * T / shield_m / (1.0 + sN * N / 1e5) * (1.0 + eP * P / (P + EC50P)) / (1.0 + eP)
        du[0] = r * T * (1.0 - T / K) - kill
        du[1] = aM * sat_t / (1.0 + F / IC50F) - dM * M
        du[2] = aN * D / (D + hD) - dN * N
        du[3] = sC + rC * C * sat_t / shield_m - dC * C
        du[4] = pD * T / 1e6 - kD * D - kA * A * D
        du[5] = -kF * F
        du[6] = -kAel * A
        du[7] = -kP * P

    return rhs


def _make_kernels(integrate: Callable) -> tuple[Callable, Callable, Callable]:
    """njit kernels around one numbalsoda integrator: (into-buffer solve, single solve, prange cohort)."""

    @nb.njit
    def solve_into(funcptr: int, y0: np.ndarray, data: np.ndarray, grid: np.ndarray, start: np.ndarray,
                   row: np.ndarray, doses: np.ndarray, out: np.ndarray, rtol: float, atol: float) -> bool:
        """Integrate segment by segment into ``out`` (outputs x states); False if any segment failed."""
        y = y0.copy()
        ok = True
        for s in range(len(start) - 1):
            a, b = start[s], start[s + 1]
            y += doses[s]
            usol, success = integrate(funcptr, y, grid[a:b], data, rtol, atol, MXSTEP)
            ok = ok and success
            for k in range(b - a):
                if row[a + k] >= 0:
                    out[row[a + k], :] = usol[k, :]
            y = usol[b - a - 1, :].copy()
        return ok

    @nb.njit
    def solve_one(funcptr: int, y0: np.ndarray, params: np.ndarray, grid: np.ndarray, start: np.ndarray,
                  row: np.ndarray, doses: np.ndarray, n_out: int, rtol: float,
                  atol: float) -> tuple[np.ndarray, bool, int]:
        """One member: (outputs x states, success, RHS evaluations)."""
        data = np.zeros(len(params) + 1)
        data[: len(params)] = params
        out = np.empty((n_out, len(y0)))
        ok = solve_into(funcptr, y0, data, grid, start, row, doses, out, rtol, atol)
        return out, ok, int(data[len(params)])

    @nb.njit(parallel=True)
    def solve_cohort(funcptr: int, y0: np.ndarray, params: np.ndarray, grid: np.ndarray, start: np.ndarray,
                     row: np.ndarray, doses: np.ndarray, n_out: int, rtol: float,
                     atol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every row of ``params`` in a prange loop: (members x outputs x states, success, RHS evaluations)."""
        n, n_par = params.shape
        out = np.empty((n, n_out, len(y0)))
        ok = np.empty(n, dtype=np.bool_)
        nfev = np.empty(n, dtype=np.int64)
        for k in nb.prange(n):
            data = np.zeros(n_par + 1)
            data[:n_par] = params[k]
            ok[k] = solve_into(funcptr, y0, data, grid, start, row, doses, out[k], rtol, atol)
            nfev[k] = int(data[n_par])
        return out, ok, nfev

    return solve_into, solve_one, solve_cohort


_KERNELS = {name: _make_kernels(fn) for name, fn in METHODS.items()}


class NumbalsodaCase:
    """The reference problem with one numbalsoda method, compiled on construction.

    Parameters
    ----------
    y0 : numpy.ndarray
        Initial state (8 values).
    params : numpy.ndarray
        The 23 parameters in ``_scipy_user.REFERENCE_PARAMETERS`` order.
    times : numpy.ndarray
        Output times (the first is the start time).
    schedule : list of (float, list of (int, float))
        Bolus schedule, as ``_scipy_user.bolus_schedule`` returns it.
    method : {"dop853", "lsoda"}
        The numbalsoda integrator.
    rtol, atol : float
        Tolerances.
    threads : int
        Threads of the prange cohort loop.

    Attributes
    ----------
    setup_s : float
        Seconds to compile the cfunc and the single-solve kernel (first call).
    cohort_compile_s : float or None
        Seconds to compile the prange cohort kernel (set by :meth:`compile_cohort`).
    """

    def __init__(self, y0: np.ndarray, params: np.ndarray, times: np.ndarray,
                 schedule: list[tuple[float, list[tuple[int, float]]]], method: str = "dop853",
                 rtol: float = 1e-6, atol: float = 1e-9, threads: int = 2) -> None:
        if len(params) != N_PARAMS:
            raise ValueError(f"expected {N_PARAMS} parameters, got {len(params)}")
        self.method, self.rtol, self.atol, self.threads = method, float(rtol), float(atol), threads
        self.y0 = np.ascontiguousarray(y0, dtype=float)
        self.params = np.ascontiguousarray(params, dtype=float)
        self.n_out = len(times)
        self.segments: DoseSegments = dose_segments(times, schedule, len(self.y0))
        _, self._one, self._cohort = _KERNELS[method]
        t0 = time.perf_counter()
        self.rhs = make_rhs()
        self.solve()
        self.setup_s = time.perf_counter() - t0
        self.cohort_compile_s: float | None = None

    def _args(self, params: np.ndarray) -> tuple:
        sg = self.segments
        return (self.rhs.address, self.y0, params, sg.grid, sg.start, sg.row, sg.doses, self.n_out,
                self.rtol, self.atol)

    def solve(self) -> tuple[np.ndarray, int]:
        """One solve with the base parameters: (outputs x states, RHS evaluations).

        Raises
        ------
        RuntimeError
            If the integrator reports a failure in any segment.
        """
        out, ok, nfev = self._one(*self._args(self.params))
        if not ok:
            raise RuntimeError(f"numbalsoda {self.method} failed")
        return out, nfev

    def compile_cohort(self) -> float:
        """Compile the prange cohort kernel (on a two-member cohort); returns and stores the seconds taken."""
        t0 = time.perf_counter()
        self.cohort(np.tile(self.params, (2, 1)))
        self.cohort_compile_s = time.perf_counter() - t0
        return self.cohort_compile_s

    def cohort(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve every row of ``params`` (n x 23) in a prange loop on ``threads`` threads.

        Returns
        -------
        tuple of numpy.ndarray
            Outputs (n x outputs x states; a failed member's rows are NaN),
            success flags (n), RHS evaluations per member (n).
        """
        nb.set_num_threads(min(self.threads, nb.config.NUMBA_NUM_THREADS))
        out, ok, nfev = self._cohort(*self._args(np.ascontiguousarray(params, dtype=float)))
        out[~ok] = np.nan
        return out, ok, nfev

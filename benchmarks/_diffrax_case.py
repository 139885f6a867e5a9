"""The reference problem (shared/spec/performance.md) in JAX, solved by diffrax Tsit5 on the CPU.

One jitted function integrates the segments between dose times
(:func:`_workers.dose_segments`, the segments ``_scipy_user.solve_with_doses``
restarts on) in a ``lax.scan``: each step adds that segment's bolus and runs
``diffeqsolve`` (Tsit5, ``PIDController(rtol, atol)``) with ``SaveAt(ts=...)``
at the segment's output times, padded to one width with the segment's end
time (repeated save times are allowed).  At an output time that is also a dose
time the post-dose state is reported.  Float64 throughout.

The cohort is ``jax.vmap`` of the same function, split across the host
devices with ``jax.pmap``.  Importing this module asks XLA for two CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``) unless JAX was
imported already; that flag changes nothing for the rest of the process.

RHS evaluations are counted from the solver statistics: Tsit5 makes 6 per
attempted step (7 stages, first same as last) and each segment costs 3 more
(the initial step-size selection evaluates twice, the solver's first stage once).

Requires ``pip install jax diffrax`` (CPU wheels).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _workers import DoseSegments, dose_segments

__all__ = ["DiffraxCase", "HOST_DEVICES", "version"]

#: CPU devices asked of XLA for the pmapped cohort (one per core on the benchmark machine).
HOST_DEVICES = 2


def _ask_for_host_devices(n: int) -> None:
    """Add ``--xla_force_host_platform_device_count=n`` to XLA_FLAGS if JAX is not imported yet."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "jax" not in sys.modules and "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()


_ask_for_host_devices(HOST_DEVICES)

import diffrax  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

#: Step limit per segment.
MAX_STEPS = 16_384


def version() -> str:
    """``diffrax X, jax Y``: the installed versions."""
    return f"diffrax {diffrax.__version__}, jax {jax.__version__}"


def vector_field(t: Any, y: jax.Array, p: jax.Array) -> jax.Array:
    """dy/dt of the reference problem; ``p`` in ``_scipy_user.REFERENCE_PARAMETERS`` order."""
    T, M, N, C, D, F, A, P = (y[i] for i in range(8))
    r, K, kC, sM, sN, eP, EC50P, aM, hT, IC50F, dM, aN, hD, dN, sC, rC, dC, pD, kD, kA, kF, kAel, kP = (
        p[i] for i in range(23))
    shield_m = 1.0 + sM * M / 1e5
    sat_t = T / (T + hT)
    kill = kC * C * T / shield_m / (1.0 + sN * N / 1e5) * (1.0 + eP * P / (P + EC50P)) / (1.0 + eP)
    return jnp.stack([
        r * T * (1.0 - T / K) - kill,
        aM * sat_t / (1.0 + F / IC50F) - dM * M,
        aN * D / (D + hD) - dN * N,
        sC + rC * C * sat_t / shield_m - dC * C,
        pD * T / 1e6 - kD * D - kA * A * D,
        -kF * F,
        -kAel * A,
        -kP * P,
    ])


def _padded(sg: DoseSegments, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Segment grids padded to one width with each segment's end, and the flat index of every output row."""
    width = int(np.diff(sg.start).max())
    grid = np.empty((sg.n_segments, width))
    select = np.empty(n_out, dtype=np.int64)
    for s in range(sg.n_segments):
        a, b = sg.start[s], sg.start[s + 1]
        grid[s, : b - a] = sg.grid[a:b]
        grid[s, b - a:] = sg.grid[b - 1]
        for k in range(a, b):
            if sg.row[k] >= 0:
                select[sg.row[k]] = s * width + (k - a)
    return grid, select


def make_solve(y0: np.ndarray, sg: DoseSegments, n_out: int, rtol: float,
               atol: float) -> Callable[[jax.Array], tuple[jax.Array, jax.Array, jax.Array]]:
    """The (unjitted) solve ``params -> (outputs x states, attempted steps, success)`` for one member."""
    grid, select = _padded(sg, n_out)
    grid_j, select_j = jnp.asarray(grid), jnp.asarray(select)
    doses_j, y0_j = jnp.asarray(sg.doses), jnp.asarray(y0, dtype=jnp.float64)
    term, solver = diffrax.ODETerm(vector_field), diffrax.Tsit5()
    controller = diffrax.PIDController(rtol=rtol, atol=atol)

    def segment(p: jax.Array, y: jax.Array, xs: tuple) -> tuple[jax.Array, tuple]:
        ts, dose = xs
        sol = diffrax.diffeqsolve(term, solver, ts[0], ts[-1], None, y + dose, args=p,
                                  saveat=diffrax.SaveAt(ts=ts), stepsize_controller=controller,
                                  max_steps=MAX_STEPS, throw=False)
        ok = sol.result == diffrax.RESULTS.successful
        return sol.ys[-1], (sol.ys, sol.stats["num_steps"], ok)

    def solve(p: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        _, (ys, steps, ok) = jax.lax.scan(lambda y, xs: segment(p, y, xs), y0_j, (grid_j, doses_j))
        return ys.reshape(-1, ys.shape[-1])[select_j], steps.sum(), ok.all()

    return solve


class DiffraxCase:
    """The reference problem in diffrax, jit-compiled on construction.

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
    rtol, atol : float
        Tolerances of the PID step-size controller.

    Attributes
    ----------
    setup_s : float
        Seconds to trace and compile the single solve (ahead of time).
    devices : int
        CPU devices the cohort is split across.
    """

    def __init__(self, y0: np.ndarray, params: np.ndarray, times: np.ndarray,
                 schedule: list[tuple[float, list[tuple[int, float]]]], rtol: float = 1e-6,
                 atol: float = 1e-9) -> None:
        self.segments = dose_segments(times, schedule, len(y0))
        self.params = jnp.asarray(params, dtype=jnp.float64)
        self.devices = min(HOST_DEVICES, jax.local_device_count())
        t0 = time.perf_counter()
        self._fn = make_solve(np.asarray(y0, dtype=float), self.segments, len(times), rtol, atol)
        self._one = jax.jit(self._fn).lower(self.params).compile()
        self.setup_s = time.perf_counter() - t0
        self._cohorts: dict[int, Any] = {}

    def solve(self) -> tuple[np.ndarray, int]:
        """One solve with the base parameters: (outputs x states, RHS evaluations).

        Raises
        ------
        RuntimeError
            If diffrax reports a failure in any segment.
        """
        out, steps, ok = self._one(self.params)
        out = np.asarray(out)  # waits for the result
        if not bool(ok):
            raise RuntimeError("diffrax Tsit5 failed")
        return out, 6 * int(steps) + 3 * self.segments.n_segments

    def _split(self, params: np.ndarray) -> tuple[jax.Array, int]:
        """``params`` (n x 23) padded to a multiple of the devices and shaped (devices, n / devices, 23)."""
        n = len(params)
        per = -(-n // self.devices)
        padded = np.concatenate([params, np.repeat(params[-1:], per * self.devices - n, axis=0)])
        return jnp.asarray(padded.reshape(self.devices, per, -1)), n

    def compile_cohort(self, n: int) -> float:
        """Compile the pmapped vmap for cohorts of ``n`` members; returns the seconds taken."""
        t0 = time.perf_counter()
        split, _ = self._split(np.tile(np.asarray(self.params), (n, 1)))
        self._cohorts[n] = jax.pmap(jax.vmap(self._fn)).lower(split).compile()
        return time.perf_counter() - t0

    def cohort(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve every row of ``params`` (n x 23): vmap on each of the devices (pmap).

        Compiles first for a cohort size not seen before (call :meth:`compile_cohort`
        beforehand to keep that out of a timing).

        Returns
        -------
        tuple of numpy.ndarray
            Outputs (n x outputs x states; a failed member's rows are NaN),
            success flags (n), RHS evaluations per member (n).
        """
        params = np.asarray(params, dtype=float)
        if len(params) not in self._cohorts:
            self.compile_cohort(len(params))
        split, n = self._split(params)
        out, steps, ok = self._cohorts[n](split)
        out = np.array(out).reshape(-1, *out.shape[2:])[:n]  # a writable copy
        ok = np.asarray(ok).reshape(-1)[:n]
        nfev = 6 * np.asarray(steps).reshape(-1)[:n] + 3 * self.segments.n_segments
        out[~ok] = np.nan
        return out, ok, nfev

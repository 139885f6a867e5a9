"""Cohorts in 2 processes (multiprocessing) for libRoadRunner and plain scipy, and timing helpers.

Also :func:`dose_segments`, the grid of integration segments between dose
times that the numbalsoda and diffrax cases restart on (the same segments as
``_scipy_user.solve_with_doses``).

Each worker process loads its model once (libRoadRunner: the SBML that
bonemet_ode exports; scipy: the hand-written right-hand side), then solves
its share of the cohort and returns T(60) and the RHS evaluations per member.
The pool start and model load are timed apart from the solves (``setup_s``),
so a cohort measured on a sample extrapolates as
``setup_s + solve_s * N / n`` (and equals the measurement when n = N).
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["roadrunner_available", "load_roadrunner", "median_ms", "pool_cohort", "rr_solve", "scipy_member",
           "DoseSegments", "dose_segments"]

_STATE: dict[str, Any] = {}


def roadrunner_available() -> str | None:
    """None when libroadrunner imports, else the reason it does not."""
    try:
        import roadrunner  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


def load_roadrunner(sbml: str, rtol: float, atol: float, selections: Sequence[str]) -> Any:
    """A RoadRunner instance for ``sbml`` with CVODE tolerances and output selections set."""
    import roadrunner

    rr = roadrunner.RoadRunner(sbml)
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    rr.timeCourseSelections = ["time", *selections]
    return rr


def rr_solve(rr: Any, t_end: float, n_out: int, values: dict[str, float] | None = None) -> np.ndarray:
    """One libRoadRunner solve from the initial state; ``values`` overrides parameters first."""
    rr.reset()  # species and time back to their initial values; the arms here change no parameter
    for name, v in (values or {}).items():
        rr[name] = v
    return np.asarray(rr.simulate(0.0, t_end, n_out))


def median_ms(solve: Callable[[], Any], repeats: int, warmup: int = 2) -> float:
    """Median wall time of ``solve()`` over ``repeats`` calls, in ms."""
    for _ in range(warmup):
        solve()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        solve()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


# ----------------------------------------------------------------------------- dose segments
@dataclass(frozen=True)
class DoseSegments:
    """Integration segments between dose times, flattened for compiled drivers.

    Segment ``s`` integrates over ``grid[start[s]:start[s + 1]]`` (its first
    point is the segment start, its last the segment end) from the state the
    previous segment ended in plus ``doses[s]``.  ``row[k]`` is the output row
    that grid point ``k`` fills, or -1 (a segment's end before a dose: the
    post-dose state at that time is the next segment's first point).
    """

    grid: np.ndarray  #: float64, all segments' time points one after the other
    start: np.ndarray  #: int64, offsets into ``grid``, one per segment plus the end
    row: np.ndarray  #: int64, output row of each grid point or -1
    doses: np.ndarray  #: float64 (segments x states), bolus added at each segment's start

    @property
    def n_segments(self) -> int:
        """Number of segments (dose times inside the interval, plus one)."""
        return len(self.start) - 1


def dose_segments(times: np.ndarray, schedule: list[tuple[float, list[tuple[int, float]]]],
                  n_states: int) -> DoseSegments:
    """The segments ``_scipy_user.solve_with_doses`` restarts on, for ``times`` and a bolus ``schedule``.

    Doses at ``times[0]`` go into the first segment's start; doses at or after
    ``times[-1]`` or before ``times[0]`` are ignored, as there.  At an output
    time that is also a dose time the post-dose state fills the output row.

    Parameters
    ----------
    times : numpy.ndarray
        Increasing output times.
    schedule : list of (float, list of (int, float))
        ``[(day, [(state index, amount), ...]), ...]``, sorted by day.
    n_states : int
        Number of states.

    Returns
    -------
    DoseSegments
    """
    times = np.asarray(times, dtype=float)
    t_first, t_last = float(times[0]), float(times[-1])
    stops = [float(d) for d, _ in schedule if t_first < d < t_last] + [t_last]
    starts = [t_first, *stops[:-1]]
    by_time = {float(d): amounts for d, amounts in schedule}
    row_of = {float(t): k for k, t in enumerate(times)}
    grid: list[float] = []
    row: list[int] = []
    start = [0]
    doses = np.zeros((len(stops), n_states))
    for s, (t0, t1) in enumerate(zip(starts, stops)):
        for i, amount in by_time.get(t0, []):
            doses[s, i] += amount
        inner = [float(t) for t in times if t0 < t < t1]
        last = s == len(stops) - 1
        grid += [t0, *inner, t1]
        row += [row_of.get(t0, -1), *(row_of[t] for t in inner), row_of[t1] if last else -1]
        start.append(len(grid))
    return DoseSegments(np.array(grid), np.array(start, dtype=np.int64), np.array(row, dtype=np.int64), doses)


# ----------------------------------------------------------------------------- worker processes
def _init_roadrunner(sbml: str, rtol: float, atol: float, t_end: float, n_out: int) -> None:
    _STATE["rr"] = load_roadrunner(sbml, rtol, atol, ["T"])
    _STATE["grid"] = (t_end, n_out)


def _rr_chunk(chunk: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    rr = _STATE["rr"]
    t_end, n_out = _STATE["grid"]
    r, kc = chunk
    out = np.full(len(r), np.nan)
    for k in range(len(r)):
        try:
            out[k] = rr_solve(rr, t_end, n_out, {"r": float(r[k]), "kC": float(kc[k])})[-1, 1]
        except RuntimeError:
            pass  # a failed member stays NaN and is counted
    return out, np.zeros(len(r), dtype=np.int64)


def _init_scipy(rhs: Callable, y0: np.ndarray, args: list[float], index: dict[str, int], times: np.ndarray,
                schedule: list, rtol: float, atol: float) -> None:
    _STATE.update(rhs=rhs, y0=y0, args=args, index=index, times=times, schedule=schedule, rtol=rtol, atol=atol)


def scipy_member(r: float, kc: float) -> tuple[float, int]:
    """One scipy LSODA solve of the reference problem for a cohort member: (T(60), RHS evaluations)."""
    from _scipy_user import solve_with_doses

    s = _STATE
    args = list(s["args"])
    args[s["index"]["r"]], args[s["index"]["kC"]] = r, kc
    y, nfev = solve_with_doses(s["rhs"], s["y0"], args, s["times"], s["schedule"], rtol=s["rtol"], atol=s["atol"])
    return float(y[-1, 0]), nfev


def _scipy_chunk(chunk: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    r, kc = chunk
    out, nfev = np.full(len(r), np.nan), np.zeros(len(r), dtype=np.int64)
    for k in range(len(r)):
        try:
            out[k], nfev[k] = scipy_member(float(r[k]), float(kc[k]))
        except RuntimeError:
            pass
    return out, nfev


def _init(barrier: Any, init: Callable, *args: Any) -> None:
    _STATE["barrier"] = barrier
    init(*args)


def _ready(_: int) -> int:
    """Blocks until every worker runs it: one call per worker, each after that worker's initializer."""
    _STATE["barrier"].wait()
    return len(_STATE)


def pool_cohort(kind: str, init_args: tuple, r: np.ndarray, kc: np.ndarray, processes: int = 2,
                chunks_per_process: int = 8) -> dict[str, Any]:
    """Solve members ``(r[k], kC[k])`` in ``processes`` worker processes.

    Returns ``setup_s`` (pool start and model load in every worker),
    ``solve_s`` (the solves), ``t60`` and ``rhs_evals`` per member.
    """
    init, work = {"roadrunner": (_init_roadrunner, _rr_chunk), "scipy": (_init_scipy, _scipy_chunk)}[kind]
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    n_chunks = max(processes, min(len(r), processes * chunks_per_process))
    bounds = np.linspace(0, len(r), n_chunks + 1).astype(int)
    chunks = [(r[a:b], kc[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    t0 = time.perf_counter()
    barrier = ctx.Barrier(processes)
    with warnings.catch_warnings():
        # JAX (diffrax case) warns at every fork that its threads may deadlock a child that uses JAX; the
        # workers here never do, and they fork between JAX computations, when its threads are idle.
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        with ctx.Pool(processes, initializer=_init, initargs=(barrier, init, *init_args)) as pool:
            pool.map(_ready, range(processes), chunksize=1)  # every worker started and loaded
            t1 = time.perf_counter()
            parts = pool.map(work, chunks, chunksize=1)
            t2 = time.perf_counter()
    return {"setup_s": t1 - t0, "solve_s": t2 - t1, "t60": np.concatenate([p[0] for p in parts]),
            "rhs_evals": np.concatenate([p[1] for p in parts])}

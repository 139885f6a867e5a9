"""The batched evaluation path: every arm and cohort member of one parameter set in a few lane solves.

:class:`EvaluationPlan` is built once per :class:`~bonemet_ode.outcomes.EvaluationContext` from its
prepared arms (:class:`~bonemet_ode.outcomes.runner.ArmRunner`) and cohorts
(:class:`~bonemet_ode.outcomes.runner.CohortRunner`), and per parameter set

* writes every arm's parameter vector and every cohort member's draws into the rows of a few
  matrices, one per *batch*: the sources that share a compiled library, an end day, a dosing
  schedule and tolerances (the untreated arms and the variants solve together; each cohort fills
  its own batch);
* solves each batch through the lane solver (``bm_solve_batch`` with several members: ``BM_L``
  members side by side in SIMD lanes), in chunks of whole lane groups spread over ``n_jobs``
  threads of one pool kept for the context's life (the compiled solver releases the GIL);
* outputs only the days the outcomes read (their :class:`~bonemet_ode.outcomes.base.Need`\\ s):
  read-out days, and the whole grid only up to the last day of an integral or threshold search;
  observables only in batches where some outcome reads one;
* has the solver write straight into one array per batch, which the trajectories handed to the
  outcomes view without copies;
* evaluates a cohort's initial states once, and per member only the initial values that read a
  varied parameter (:meth:`~bonemet_ode.outcomes.runner.ArmRunner.initial_rows`).

Results are those of the one-source-at-a-time path (``engine="legacy"``) bit for bit: the step
sequence of a solve depends on its parameters, initial state, dosing schedule and last output
day only (other output times are interpolated from the steps), and a member solved in lanes
gives the same numbers as alone (``solver_lanes.c``).  ``tests/outcomes/test_plan.py`` compares
both paths.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..compile.lanes import DEFAULT_LANES
from ..simulate.simulator import failure_message
from .runner import ArmFailure, ArmRunner, ArmTrajectory, CohortRunner, CohortTrajectories

__all__ = ["EvaluationPlan", "output_days"]


def output_days(times: np.ndarray, needs: Sequence[Any], horizon: float) -> np.ndarray:
    """The output times of ``times`` (days) that ``needs`` read, and the last one.

    A point need (``Need.points``) reads its days only; any other need reads the whole grid from
    day 0 to its last day (to ``horizon`` with ``to_horizon``).
    """
    keep = np.zeros(len(times), dtype=bool)
    keep[-1] = True
    for n in needs:
        if n.points:
            for d in n.days:
                keep |= np.abs(times - d) <= 1e-9
        else:
            last = horizon if n.to_horizon else max(n.days, default=0.0)
            keep |= times <= last + 1e-9
    return times[keep]


#: Solver status given to rows whose inputs could not be built (the solver's BM_ERR_BADINPUT).
_INPUT_FAILED = 4


@dataclass
class _Source:
    """One arm or cohort in a batch: its rows and the batch output times it reads."""

    key: Any                 # arm name or CohortSpec
    runner: ArmRunner
    cohort: CohortRunner | None
    rows: slice
    cols: np.ndarray         # indices of its output times in the batch's times
    times: np.ndarray        # its output times (days)
    shared_initial: bool     # cohort members share the initial state (no varied parameter in it)
    full: bool               # reads every output time of the batch (its arrays are views, not copies)


@dataclass
class _Batch:
    """Sources solved together: same compiled library, end day, doses and tolerances."""

    sim: Any                 # a Simulator of the batch (compiled library, events, options)
    times: np.ndarray
    sources: list[_Source]
    n: int
    cost: float              # steps per member in the last evaluation (for cutting and ordering the chunks)
    observables: bool        # some need of a source reads an observable (else the solver computes none)


class EvaluationPlan:
    """Batched, threaded solves of every source of an evaluation context (see the module notes).

    Parameters
    ----------
    arms : mapping of str to (ArmRunner, needs)
        Prepared arms and the needs that read them.
    cohorts : mapping of CohortSpec to (CohortRunner, needs)
        Prepared cohorts and the needs that read their members.
    horizon : float
        The context's horizon, days.
    n_jobs : int
        Threads (``None`` or 0: the CPU count).
    chunk : int, optional
        Members per call into compiled code (default: one call per batch with one thread; with
        several, whole lane groups of ``BM_L`` members cut so that each thread gets about four
        calls' worth of the last evaluation's steps).
    """

    def __init__(self, arms: Mapping[str, tuple[ArmRunner, Sequence[Any]]],
                 cohorts: Mapping[Any, tuple[CohortRunner, Sequence[Any]]], horizon: float,
                 n_jobs: int | None = 1, chunk: int | None = None) -> None:
        self.n_jobs = max(1, int(n_jobs or os.cpu_count() or 1))
        self.chunk = chunk
        groups: dict[tuple, list[tuple[Any, ArmRunner, CohortRunner | None, np.ndarray]]] = {}
        order: list[tuple] = []
        for key, (runner, needs) in list(arms.items()) + [(k, (c.runner, n)) for k, (c, n) in cohorts.items()]:
            sim = runner.sim
            times = output_days(sim.times, needs, horizon)
            ev = tuple(np.ascontiguousarray(a).tobytes() for a in sim.events)
            # a cohort fills its own lane groups; arms batch together (their output grids may differ:
            # each extra output time costs a dense-output interpolation and the observables)
            gkey = (sim.compiled.key, tuple(runner.parameter_names), float(sim.times[-1]), ev,
                    sim.opts.tobytes(), np.asarray(sim.atol).tobytes(), key if key in cohorts else None)
            if gkey not in groups:
                groups[gkey] = []
                order.append(gkey)
            groups[gkey].append((key, runner, cohorts[key][0] if key in cohorts else None, times))
        self.batches: list[_Batch] = []
        for gkey in order:
            members = groups[gkey]
            union = np.unique(np.concatenate([t for *_, t in members]))
            sources, row, obs = [], 0, False
            for key, runner, cohort, times in members:
                n = cohort.n if cohort is not None else 1
                cols = np.searchsorted(union, times)
                shared = cohort is None or not runner.initial_depends_on(name for name, _ in cohort.variability)
                sources.append(_Source(key, runner, cohort, slice(row, row + n), cols, times, shared,
                                       len(cols) == len(union)))
                row += n
                needs = arms[key][1] if cohort is None else cohorts[key][1]
                obs = obs or any(runner.columns.get(nd.name, (0, 0))[0] == 1 for nd in needs)
            sim = members[0][1].sim
            self.batches.append(_Batch(sim, union, sources, row, 1.0 + len(sim.events[0]),
                                       obs and sim.compiled.n_observables > 0))
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.threaded = self.n_jobs > 1

    @property
    def n_members(self) -> int:
        """Solves per evaluation (arms and cohort members)."""
        return sum(b.n for b in self.batches)

    def _chunks(self) -> list[tuple[int, int, int]]:
        """``(batch, start, stop)`` of every call into compiled code, the costliest first.

        A batch's cost per member is its mean number of steps in the last evaluation (before the
        first: one plus its number of dose events); with ``chunk`` unset, batches are cut into
        whole lane groups so that no call costs more than about a quarter of a thread's share.
        With one thread every batch is one call.
        """
        lanes = DEFAULT_LANES
        if self.n_jobs == 1 and not self.chunk:
            return [(i, 0, b.n) for i, b in enumerate(self.batches)]
        total = sum(b.n * b.cost for b in self.batches)
        target = total / (4 * self.n_jobs)
        out = []
        for i, b in enumerate(self.batches):
            if self.chunk:
                k = max(1, math.ceil(b.n / self.chunk))
            else:
                k = max(1, min(math.ceil(b.n / lanes), math.ceil(b.n * b.cost / target)))
            step = lanes * math.ceil(b.n / (k * lanes)) if b.n > lanes else b.n
            out += [(i, a, min(b.n, a + step)) for a in range(0, b.n, step)]
        out.sort(key=lambda c: -(c[2] - c[1]) * self.batches[c[0]].cost)
        return out

    def pool(self) -> ThreadPoolExecutor | None:
        """The plan's thread pool (None with one thread), started on first use."""
        if not self.threaded:
            return None
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.n_jobs, thread_name_prefix="bonemet-eval")
            return self._pool

    def close(self) -> None:
        """Stop the thread pool (a later evaluation starts a new one)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)

    # ------------------------------------------------------------------ one evaluation
    def _inputs(self, params: Mapping[str, float], failures: dict[Any, str]) -> list[tuple[np.ndarray, np.ndarray,
                                                                                          np.ndarray]]:
        """Per batch: parameter rows, initial states, and a mask of rows to solve."""
        out = []
        for b in self.batches:
            npar = len(b.sources[0].runner.base)
            P = np.empty((b.n, npar))
            Y0 = np.empty((b.n, len(b.sim.model.state_names)))
            ok = np.ones(b.n, dtype=bool)
            for s in b.sources:
                r = s.runner
                p = r.vector(params)
                try:
                    if s.cohort is None:
                        P[s.rows] = p
                        Y0[s.rows] = r.initial(p)
                        continue
                    P[s.rows] = p
                    P[s.rows, s.cohort.index] = s.cohort.draw(params)
                    if s.shared_initial:
                        Y0[s.rows] = r.initial(P[s.rows.start])
                    else:
                        Y0[s.rows] = r.initial_rows(P[s.rows], (name for name, _ in s.cohort.variability))
                except ArmFailure as exc:
                    failures[s.key] = str(exc)
                    ok[s.rows] = False
                    P[s.rows] = p
                    Y0[s.rows] = 0.0
            out.append((P, Y0, ok))
        return out

    def run(self, params: Mapping[str, float]) -> tuple[dict[str, ArmTrajectory], dict[Any, CohortTrajectories],
                                                          dict[Any, str]]:
        """Solve every source with ``params`` (already checked).

        Returns
        -------
        runs, cohorts, failures
            Arm trajectories by name, cohort trajectories by spec, and ``{source: message}`` of the
            sources that failed (as the legacy path reports them).
        """
        failures: dict[Any, str] = {}
        inputs = self._inputs(params, failures)
        results: list[tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]] = []
        for i, b in enumerate(self.batches):
            nt, ns, no = len(b.times), inputs[i][1].shape[1], b.sim.compiled.n_observables
            results.append((np.empty((b.n, nt, ns)), np.empty((b.n, nt, max(no, 1))) if b.observables else None,
                            np.zeros(b.n, dtype=np.int32), np.zeros(b.n), np.zeros(b.n, dtype=np.int32)))

        steps: dict[tuple[int, int, int], float] = {}  # steps taken per chunk (for the next cut)

        def work(c: tuple[int, int, int]) -> None:
            i, a, z = c
            b, (P, Y0, ok) = self.batches[i], inputs[i]
            sim, res = b.sim, results[i]
            if ok[a:z].all():
                _Y, _O, st, ss, ft, fs = sim.compiled.solve_batch(
                    Y0[a:z], P[a:z], b.times, sim.events, sim.opts, sim.atol, observables=b.observables,
                    out=(res[0][a:z], None if res[1] is None else res[1][a:z]))
                res[2][a:z], res[3][a:z], res[4][a:z] = ss, ft, fs
                steps[c] = float(st[:, 0].sum())
                return
            # rows whose inputs failed (their source is already reported failed) are not solved: their
            # placeholder inputs (zeros) are no initial state of the model
            rows = a + np.flatnonzero(ok[a:z])
            res[0][a:z] = np.nan
            res[2][a:z], res[3][a:z], res[4][a:z] = _INPUT_FAILED, 0.0, -1
            steps[c] = 0.0
            if rows.size:
                Yk, Ok, st, ss, ft, fs = sim.compiled.solve_batch(
                    Y0[rows], P[rows], b.times, sim.events, sim.opts, sim.atol, observables=b.observables)
                res[0][rows] = Yk
                if res[1] is not None and Ok is not None:
                    res[1][rows] = Ok
                res[2][rows], res[3][rows], res[4][rows] = ss, ft, fs
                steps[c] = float(st[:, 0].sum())

        chunks = self._chunks()
        pool = self.pool()
        if pool is None or len(chunks) == 1:
            for c in chunks:
                work(c)
        else:
            list(pool.map(work, chunks))
        for i, b in enumerate(self.batches):
            b.cost = max(1.0, sum(v for c, v in steps.items() if c[0] == i) / b.n)
        runs: dict[str, ArmTrajectory] = {}
        cohorts: dict[Any, CohortTrajectories] = {}
        for i, b in enumerate(self.batches):
            Y, O, status, fail_t, fail_state = results[i]
            ok = inputs[i][2]
            for s in b.sources:
                if s.key in failures:
                    continue
                r, rows = s.runner, s.rows
                no = r.n_obs if O is not None else 0
                if s.cohort is None:
                    k = rows.start
                    if status[k] != 0:
                        failures[s.key] = failure_message(r.sim.model, int(status[k]), float(fail_t[k]),
                                                          int(fail_state[k]), r.sim.arm.name)
                        continue
                    Yk = Y[k] if s.full else Y[k][s.cols]
                    if O is not None and no:
                        obs = O[k, :, :no] if s.full else O[k][s.cols, :no]
                    else:
                        obs = np.empty((len(s.times), 0))
                    runs[s.key] = ArmTrajectory(s.times, Yk, obs, r.columns)
                    continue
                good = (status[rows] == 0) & ok[rows]
                if not good.any():
                    bad = np.flatnonzero(status[rows] != 0)
                    first = (failure_message(r.sim.model, int(status[rows][bad[0]]), float(fail_t[rows][bad[0]]),
                                             int(fail_state[rows][bad[0]]), r.sim.arm.name) if bad.size else "unknown")
                    failures[s.key] = f"no member of the cohort solved ({first})"
                    continue
                if good.all() and s.full:
                    Ys = Y[rows]
                    Os = O[rows, :, :no] if O is not None and no else np.empty((s.cohort.n, len(s.times), 0))
                else:
                    idx = np.flatnonzero(good) + rows.start
                    Ys = Y[idx][:, s.cols]
                    Os = O[idx][:, s.cols, :no] if O is not None and no else np.empty((len(idx), len(s.times), 0))
                cohorts[s.key] = CohortTrajectories(s.times, Ys, Os, r.columns, s.cohort.n)
        return runs, cohorts, failures

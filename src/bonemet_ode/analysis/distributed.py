"""Beyond one machine: cohorts, multi-start maps and GSA sweeps on a Dask cluster.

:class:`DaskRunner` connects to a Dask scheduler (``scheduler_address=
"tcp://host:8786"``), or starts a ``LocalCluster`` on this machine, and offers

* :meth:`DaskRunner.simulate_cohort` -- a virtual cohort split into chunks,
  each solved by :func:`~bonemet_ode.simulate.simulate_cohort` on a worker;
  the result equals the local one member for member (every member is an
  independent deterministic solve, so chunking changes nothing);
* :meth:`DaskRunner.map` -- ``[function(item) for item in items]`` on the
  workers, in order (calibration multi-starts, scenario sweeps);
* :meth:`DaskRunner.sobol` / :meth:`DaskRunner.morris` -- global sensitivity
  analysis (:mod:`bonemet_ode.analysis.gsa`) with the cohort solved on the cluster.

Workers receive the model and arm by pickling and load the compiled library
from their on-disk cache (``$BONEMET_ODE_CACHE``), compiling it once if it is
not there (workers then need a C compiler, or a shared cache directory).
See ``docs/distributed.md``.  Needs ``dask[distributed]`` (the ``dask`` extra).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np

from ..errors import BonemetError, ParameterError
from ..model import Model
from ..simulate import CONTROL, Arm, CohortResult, SolverOptions, simulate_cohort
from ..simulate.simulator import output_times
from . import gsa as _gsa

__all__ = ["DaskRunner"]


def _solve_chunk(model: Model, arm: Arm, days: float | None, times: np.ndarray, options: SolverOptions | None,
                 table: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], np.ndarray | None]:
    """Worker task: one chunk of a cohort, solved single-threaded (the worker's threads run other chunks)."""
    res = simulate_cohort(model, table, arm, days, times, n_jobs=1, progress=False, options=options)
    return res.states, res.observables, res.status, res.messages, res.stats


def _solve_spec(spec: tuple[Any, ...], table: Any) -> tuple[Any, ...]:
    """Worker task: :func:`_solve_chunk` with the shared ``(model, arm, days, times, options)``."""
    model, arm, days, times, options = spec
    return _solve_chunk(model, arm, days, times, options, table)


class _Raised:
    """A task's exception, returned as its value (``map(errors="return")``)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _returning(function: Callable[[Any], Any], item: Any) -> Any:
    """Worker task: ``function(item)``, or its exception wrapped in :class:`_Raised` -- an expected failure is a
    result, so the workers do not log it as a failed computation with its traceback."""
    try:
        return function(item)
    except Exception as exc:  # noqa: BLE001 - the caller asked for every exception back
        return _Raised(exc)


def _load(model: Model) -> str:
    """Worker task: compile or load ``model`` into the worker process."""
    from ..compile.backend import compile_model

    return compile_model(model).key


class DaskRunner:
    """Run bonemet_ode work on a Dask cluster (a local one by default).

    Parameters
    ----------
    scheduler_address : str, optional
        Address of a running Dask scheduler, e.g. ``"tcp://host:8786"``.
        Default: start a ``LocalCluster`` on this machine.
    client : dask.distributed.Client, optional
        Use an existing client instead (it is not closed by :meth:`close`).
    n_workers : int, optional
        Workers of the local cluster (default: one per core).
    threads_per_worker : int
        Threads per local worker (default 1: the compiled solver is
        single-threaded per chunk, so one thread per core is best).
    processes : bool
        Local workers as processes (default) or as threads of this process.
    **cluster_kwargs
        Passed to ``dask.distributed.LocalCluster``.

    Notes
    -----
    The cluster starts on first use (or on ``with DaskRunner() as runner:``)
    and stops on :meth:`close` or at the end of the ``with`` block.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> from bonemet_ode.analysis.distributed import DaskRunner
    >>> model = bm.models.get("perf_reference")
    >>> cohort = bm.draw_cohort(model, 1000, {"r": bm.LogNormal(0.3)}, seed=1)
    >>> with DaskRunner(n_workers=2) as runner:  # doctest: +SKIP
    ...     res = runner.simulate_cohort(model, cohort, days=60)
    """

    def __init__(self, scheduler_address: str | None = None, *, client: Any = None, n_workers: int | None = None,
                 threads_per_worker: int = 1, processes: bool = True, **cluster_kwargs: Any) -> None:
        if scheduler_address is not None and client is not None:
            raise BonemetError("give either scheduler_address or client, not both")
        if scheduler_address is not None and not isinstance(scheduler_address, str):
            raise BonemetError(f"scheduler_address must be a string like 'tcp://host:8786', got {scheduler_address!r}")
        if n_workers is not None and not (isinstance(n_workers, int) and n_workers > 0):
            raise BonemetError(f"n_workers must be a positive integer, got {n_workers!r}")
        if not (isinstance(threads_per_worker, int) and threads_per_worker > 0):
            raise BonemetError(f"threads_per_worker must be a positive integer, got {threads_per_worker!r}")
        self.scheduler_address = scheduler_address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.processes = processes
        self.cluster_kwargs = cluster_kwargs
        self._client = client
        self._owns_client = client is None
        self._cluster: Any = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def client(self) -> Any:
        """The ``dask.distributed.Client`` (connecting or starting the cluster on first use)."""
        if self._client is None:
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:  # pragma: no cover - depends on the environment
                raise BonemetError("DaskRunner needs dask[distributed]: pip install 'dask[distributed]'") from None
            if self.scheduler_address is not None:
                self._client = Client(self.scheduler_address)
            else:
                kw = dict(n_workers=self.n_workers, threads_per_worker=self.threads_per_worker,
                          processes=self.processes, dashboard_address=":0")
                kw.update(self.cluster_kwargs)
                self._cluster = LocalCluster(**kw)
                self._client = Client(self._cluster)
        return self._client

    def close(self) -> None:
        """Close the client and the local cluster started by this runner (not a client passed in)."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskRunner:
        self.client  # noqa: B018 - start now
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.scheduler_address or ("a given client" if not self._owns_client else "a local cluster")
        state = "connected" if self._client is not None else "not started"
        return f"<DaskRunner on {where}, {state}>"

    @property
    def total_threads(self) -> int:
        """Threads over all workers (the parallelism available)."""
        return max(1, sum(self.client.nthreads().values()))

    # ------------------------------------------------------------------ work
    def map(self, function: Callable[[Any], Any], items: Iterable[Any], *,
            errors: Literal["raise", "return"] = "raise") -> list[Any]:
        """``[function(item) for item in items]`` computed on the workers, in order.

        Parameters
        ----------
        function : callable
            A picklable function of one item (defined at module level, or a
            ``functools.partial`` of one), e.g. one calibration start.
        items : iterable
            The inputs, one task each.
        errors : {"raise", "return"}
            Raise the first exception of a task (default), or return the
            exception object in that task's place so one bad item does not sink the batch.

        Returns
        -------
        list
            The results, in the order of ``items``.
        """
        if errors not in ("raise", "return"):
            raise BonemetError(f"errors must be 'raise' or 'return', got {errors!r}")
        if not callable(function):
            raise BonemetError(f"function must be callable, got {function!r}")
        items = list(items)
        if not items:
            return []
        from dask.distributed import wait

        if errors == "return":  # exceptions come back as values: the workers log nothing for them
            futures = self.client.map(functools.partial(_returning, function), items, pure=False)
            wait(futures)
            out = []
            for fut in futures:
                if fut.status == "error":  # an exception _returning could not catch (a worker lost, ...)
                    out.append(fut.exception())
                else:
                    value = fut.result()
                    out.append(value.exc if isinstance(value, _Raised) else value)
            return out
        futures = self.client.map(function, items, pure=False)
        wait(futures)
        for fut in futures:
            if fut.status == "error":
                fut.result()  # re-raises the task's exception with its traceback
        return [fut.result() for fut in futures]

    def prepare(self, model: Model, arm: Arm | None = None) -> str:
        """Load (compiling if needed) the compiled ``model`` under ``arm`` on every worker; return its cache key."""
        applied = (arm or CONTROL).apply(model)
        keys = set(self.client.run(_load, applied).values())
        return keys.pop()

    def simulate_cohort(
        self,
        model: Model,
        params: Any,
        arm: Arm | None = None,
        days: float | None = None,
        times: Sequence[float] | np.ndarray | None = None,
        *,
        options: SolverOptions | None = None,
        chunk_size: int | None = None,
    ) -> CohortResult:
        """Simulate a virtual cohort on the cluster, in chunks; same result as :func:`simulate_cohort`.

        Parameters
        ----------
        model, params, arm, days, times, options
            As :func:`~bonemet_ode.simulate.simulate_cohort`.
        chunk_size : int, optional
            Members per task (default: about four tasks per worker thread,
            at most 2000 members per task).

        Returns
        -------
        CohortResult
            Member for member identical to the local run.
        """
        import pandas as pd

        table = params if isinstance(params, pd.DataFrame) else pd.DataFrame(dict(params))
        table = table.reset_index(drop=True)
        n = len(table)
        if n == 0:
            raise ParameterError("the cohort table has no members")
        arm = arm if arm is not None else CONTROL
        if not isinstance(arm, Arm):
            raise BonemetError(f"arm must be an Arm, got {arm!r}")
        t = output_times(days, times)
        if chunk_size is None:
            chunk_size = max(1, min(2000, math.ceil(n / (4 * self.total_threads))))
        elif not (isinstance(chunk_size, int) and chunk_size > 0):
            raise BonemetError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        chunks = [table.iloc[i:i + chunk_size] for i in range(0, n, chunk_size)]
        [shared] = self.client.scatter([(model, arm, days, t, options)], broadcast=True, hash=False)
        futures = self.client.map(_solve_spec, [shared] * len(chunks), chunks, pure=False)
        parts = self.client.gather(futures)
        states = np.concatenate([p[0] for p in parts])
        observables = np.concatenate([p[1] for p in parts])
        status = np.concatenate([p[2] for p in parts])
        messages = tuple(m for p in parts for m in p[3])
        stats = np.concatenate([p[4] for p in parts])
        return CohortResult(arm.apply(model), arm, table, t, states, observables, status, messages, stats)

    def sobol(self, model: Model, parameters: Sequence[str], output: Any, **kwargs: Any) -> _gsa.GSAResult:
        """:func:`bonemet_ode.analysis.gsa.sobol` with the cohort solved on the cluster."""
        return _gsa.sobol(model, parameters, output, simulate=self.simulate_cohort, **kwargs)

    def morris(self, model: Model, parameters: Sequence[str], output: Any, **kwargs: Any) -> _gsa.GSAResult:
        """:func:`bonemet_ode.analysis.gsa.morris` with the cohort solved on the cluster."""
        return _gsa.morris(model, parameters, output, simulate=self.simulate_cohort, **kwargs)

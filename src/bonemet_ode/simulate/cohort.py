"""Virtual cohorts: many parameter sets simulated in one call, in parallel, each with its own status."""

from __future__ import annotations

import abc
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..compile.library import STATS_NAMES
from ..errors import ModelError, ParameterError
from ..model import Model
from ..model.model import unknown_name
from ._validate import boolean, instance, integer, number
from .arm import Arm
from .options import SolverOptions
from .simulator import STATUS_NEGATIVE, Simulator, check_output_size, failure_message

__all__ = ["Distribution", "LogNormal", "Normal", "Uniform", "draw_cohort", "simulate_cohort", "CohortResult"]


class Distribution(abc.ABC):
    """Inter-individual variability of one parameter.

    The built-in distributions check their arguments when made (finite numbers, spreads >= 0,
    ``LogNormal`` medians > 0, ``Uniform`` with ``low <= high``) and raise
    :class:`~bonemet_ode.errors.ParameterError` naming the argument.
    """

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, typical: float, n: int) -> np.ndarray:
        """Draw ``n`` values around the model's ``typical`` value."""


@dataclass(frozen=True)
class LogNormal(Distribution):
    """``typical * exp(sigma * z)``, z ~ N(0, 1) (``median`` overrides the typical value)."""

    sigma: float
    median: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", number(self.sigma, "LogNormal sigma (sd of the log)", low=0.0))
        if self.median is not None:
            object.__setattr__(self, "median", number(self.median, "LogNormal median", low=0.0, low_open=True))

    def sample(self, rng: np.random.Generator, typical: float, n: int) -> np.ndarray:
        m = typical if self.median is None else self.median
        return m * np.exp(self.sigma * rng.standard_normal(n))


@dataclass(frozen=True)
class Normal(Distribution):
    """``mean + sd * z`` (``mean`` defaults to the model's value)."""

    sd: float
    mean: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sd", number(self.sd, "Normal sd", low=0.0))
        if self.mean is not None:
            object.__setattr__(self, "mean", number(self.mean, "Normal mean"))

    def sample(self, rng: np.random.Generator, typical: float, n: int) -> np.ndarray:
        mu = typical if self.mean is None else self.mean
        return mu + self.sd * rng.standard_normal(n)


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        lo, hi = number(self.low, "Uniform low"), number(self.high, "Uniform high")
        if lo > hi:
            raise ParameterError(f"Uniform low must be <= high, got low={lo:g} > high={hi:g}")
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)

    def sample(self, rng: np.random.Generator, typical: float, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


def draw_cohort(model: Model, n: int, variability: Mapping[str, Distribution], seed: int):
    """Draw a virtual cohort: one row per virtual animal, one column per varied parameter.

    Parameters
    ----------
    model : Model
        Supplies typical values and bounds.
    n : int
        Number of members.
    variability : mapping of parameter name to Distribution
        Which parameters vary and how.
    seed : int
        Seed of the random generator (required: cohorts are reproducible).

    Returns
    -------
    pandas.DataFrame
        ``n`` rows, one column per varied parameter, in that parameter's unit.

    Raises
    ------
    ParameterError
        If a draw falls outside a parameter's bounds (nothing is clipped:
        narrow the distribution or widen the bounds).

    Examples
    --------
    Five mice whose kill rate ``kC`` (1/day) varies by 30 % (log-normal) around
    the model's value; the same seed draws the same cohort:

    >>> import bonemet_ode as bm
    >>> model = bm.models.get("perf_reference")
    >>> cohort = bm.draw_cohort(model, 5, {"kC": bm.LogNormal(0.3)}, seed=1)
    >>> cohort.shape, list(cohort.columns)
    ((5, 1), ['kC'])
    >>> bool((cohort == bm.draw_cohort(model, 5, {"kC": bm.LogNormal(0.3)}, seed=1)).all().all())
    True
    """
    import pandas as pd

    instance(model, Model, "model", "a bonemet_ode Model", error=ModelError)
    n = integer(n, "cohort size n", low=1)
    instance(variability, Mapping, "variability", "a mapping of parameter name to Distribution")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        raise ParameterError(f"seed must be an integer >= 0 (cohorts are reproducible), got {seed!r}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ParameterError(f"seed must be an integer >= 0, got {seed!r}")
    for name, dist in variability.items():
        if name not in model.parameter_names:
            raise unknown_name(name, "parameter", model.parameter_names)
        if not isinstance(dist, Distribution):
            raise ParameterError(f"variability[{name!r}] must be a Distribution (LogNormal, Normal, Uniform), "
                                 f"got {dist!r} ({type(dist).__name__})")
    rng = np.random.default_rng(seed)
    cols = {}
    for name, dist in variability.items():
        p = model.parameter(name)
        v = dist.sample(rng, p.value, int(n))
        bad = ~np.isfinite(v) | (v < p.lower) | (v > p.upper)
        if bad.any():
            raise ParameterError(
                f"{int(bad.sum())} of {n} draws of parameter {name!r} fall outside its bounds [{p.lower}, {p.upper}] "
                f"(first: {v[bad][0]:.4g}); narrow the distribution or widen the bounds"
            )
        cols[name] = v
    return pd.DataFrame(cols)


@dataclass(frozen=True, eq=False)
class CohortResult:
    """Trajectories of a virtual cohort (returned by :func:`simulate_cohort`).

    ``res["tumor"]`` is an array (members x times).  Failed members hold NaN
    and carry their message in :attr:`messages`.

    Attributes
    ----------
    model : Model
        The model simulated.
    arm : Arm
        The treatment arm every member received.
    params : pandas.DataFrame
        The varied values, one row per member (units of the parameters).
    times : ndarray
        Output times, days.
    states, observables : ndarray
        (members x times x states) and (members x times x observables) values.
    status : ndarray of int
        0 for a successful member, else the solver's failure code.
    messages : tuple of str
        ``"ok"`` or why each member failed.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> model = bm.models.get("perf_reference")
    >>> cohort = bm.draw_cohort(model, 20, {"r": bm.LogNormal(0.2)}, seed=3)
    >>> res = bm.simulate_cohort(model, cohort, days=20, times=[0, 10, 20])
    >>> res.n, int(res.ok.sum())
    (20, 20)
    >>> list(res.summary("T").columns)                # quantiles over members, per day
    ['q0.05', 'q0.5', 'q0.95']
    """

    model: Model
    arm: Arm
    params: object  # pandas.DataFrame of varied values per member
    times: np.ndarray
    states: np.ndarray
    observables: np.ndarray
    status: np.ndarray
    messages: tuple[str, ...]
    stats: np.ndarray | None = field(repr=False, default=None)

    @property
    def n(self) -> int:
        """Number of members."""
        return int(self.status.shape[0])

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of members whose solve succeeded."""
        return self.status == 0

    def __getitem__(self, name: str) -> np.ndarray:
        sn, on = self.model.state_names, self.model.observable_names
        if name in sn:
            return self.states[:, :, sn.index(name)]
        if name in on:
            return self.observables[:, :, on.index(name)]
        raise unknown_name(name, "state or observable", sn + on)

    def final(self, name: str) -> np.ndarray:
        """Values of ``name`` at the last output time, one per member."""
        return self[name][:, -1]

    def at(self, day: float, name: str) -> np.ndarray:
        """Values of ``name`` at output time ``day``, one per member."""
        idx = np.flatnonzero(np.isclose(self.times, day, rtol=0, atol=1e-9))
        if idx.size == 0:
            raise KeyError(f"day {day} is not an output time")
        return self[name][:, int(idx[-1])]

    def summary(self, name: str, quantiles: Sequence[float] = (0.05, 0.5, 0.95)):
        """pandas DataFrame of quantiles of ``name`` over successful members, per time."""
        import pandas as pd

        vals = self[name][self.ok]
        data = {f"q{q:g}": np.quantile(vals, q, axis=0) for q in quantiles} if len(vals) else {}
        return pd.DataFrame(data, index=pd.Index(self.times, name="time"))

    def plot(self, name: str, ax: Any = None, *, band: tuple[float, float] = (5.0, 95.0), log: bool = False,
             members: int = 0) -> Any:
        """Quick look: median and percentile band of ``name`` over successful members; returns the Axes.

        See :func:`bonemet_ode.simulate.plot.plot_cohort`.
        """
        from .plot import plot_cohort

        return plot_cohort(self, name, ax, band=band, log=log, members=members)

    def __repr__(self) -> str:
        nfail = int((~self.ok).sum())
        return (f"<CohortResult model={self.model.name!r} arm={self.arm.name!r}: {self.n} members, "
                f"{nfail} failed, {len(self.times)} times to day {self.times[-1]:g}>")


def _table(params):
    """The cohort table as a DataFrame (a DataFrame, or a mapping of name to equal-length arrays)."""
    import pandas as pd

    if isinstance(params, pd.DataFrame):
        return params
    if not isinstance(params, Mapping):
        raise ParameterError(f"cohort params must be a pandas DataFrame or a mapping of name to array (one value "
                             f"per member), got {type(params).__name__}")
    lengths = {k: np.size(v) for k, v in params.items()}
    if any(np.ndim(v) != 1 for v in params.values()):
        bad = next(k for k, v in params.items() if np.ndim(v) != 1)
        raise ParameterError(f"cohort params[{bad!r}] must be a one-dimensional array (one value per member), "
                             f"got {params[bad]!r}")
    if len(set(lengths.values())) > 1:
        raise ParameterError(f"cohort params columns must have one value per member each, got lengths {lengths}")
    return pd.DataFrame(dict(params))


def _member_matrices(sim: Simulator, table) -> tuple[np.ndarray, np.ndarray]:
    """Parameter vectors and initial states of every member, checked against bounds."""
    import pandas as pd

    model = sim.model
    df = _table(table)
    n = len(df)
    if n == 0:
        raise ParameterError("the cohort table has no members")
    base = model.parameter_vector()
    P = np.repeat(base[None, :], n, axis=0)
    y0 = sim.initial_state()
    Y0 = np.repeat(y0[None, :], n, axis=0)
    pnames, snames = set(model.parameter_names), set(model.state_names)
    for col in df.columns:
        if isinstance(df[col], pd.DataFrame):
            raise ParameterError(f"cohort table: column {col!r} appears more than once")
        try:
            v = np.asarray(df[col], dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"cohort table: column {col!r} must hold numbers, "
                                 f"got {df[col].tolist()[:3]!r}") from None
        if df[col].dtype == bool:
            raise ParameterError(f"cohort table: column {col!r} must hold numbers, got booleans")
        if col in pnames:
            p = model.parameter(col)
            bad = ~np.isfinite(v) | (v < p.lower) | (v > p.upper)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ParameterError(f"cohort member {i}: parameter {col!r} = {v[i]!r} is not within "
                                     f"[{p.lower}, {p.upper}]")
            P[:, model.parameter_index(col)] = v
        elif col in snames:
            bad = ~np.isfinite(v) | (v < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ParameterError(f"cohort member {i}: initial value of state {col!r} = {v[i]!r} "
                                     "must be finite and >= 0")
            Y0[:, model.state_index(col)] = v
        else:
            raise unknown_name(col, "parameter or state", model.parameter_names + model.state_names)
    if sim._expr_initial:  # noqa: SLF001 - initial values that depend on parameters
        names = model.parameter_names
        for i in range(n):
            vals = dict(zip(names, P[i, : len(names)]))
            init = model.initial_values(vals)
            given = [model.state_index(c) for c in df.columns if c in snames]
            init[given] = Y0[i, given]
            Y0[i] = init
    return P, Y0


def simulate_cohort(
    model: Model,
    params,
    arm: Arm | None = None,
    days: float | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    *,
    n_jobs: int | None = None,
    progress: bool | None = None,
    options: SolverOptions | None = None,
    chunk_size: int | None = None,
) -> CohortResult:
    """Simulate every member of a virtual cohort under one arm.

    Parameters
    ----------
    model : Model
        The model.
    params : pandas.DataFrame or mapping of name to array
        One row per member; columns are parameter names (values) or state
        names (initial values).  See :func:`draw_cohort`.
    arm : Arm, optional
        Treatment arm (default untreated).
    days, times : optional
        Simulation length and output times, days.
    n_jobs : int, optional
        Threads (default: all cores).  The compiled solver releases the GIL.
    progress : bool, optional
        Show a progress bar (default: for cohorts of 2000 or more).
    options : SolverOptions, optional
        Tolerances.
    chunk_size : int, optional
        Members per call into compiled code (default: about a quarter of the members per
        thread, at most 2000).

    Returns
    -------
    CohortResult
        One failure never sinks the batch: each member has a status and message (a
        nonnegative state below its allowed error is a failure too; see :class:`Simulator`).

    Raises
    ------
    ParameterError
        On a bad argument (``n_jobs``, ``chunk_size`` not integers >= 1, ``progress`` not a
        bool, a table that is not numeric or not rectangular), or a member value outside its
        parameter's bounds.
    ScheduleError
        On bad ``days``/``times`` or an output too large to allocate.

    Examples
    --------
    Each member's trajectory is the solve of the model with that member's
    parameters:

    >>> import bonemet_ode as bm
    >>> model = bm.models.get("perf_reference")
    >>> cohort = bm.draw_cohort(model, 4, {"kC": bm.LogNormal(0.3)}, seed=1)
    >>> res = bm.simulate_cohort(model, cohort, days=30, times=[0, 10, 20, 30])
    >>> res["T"].shape                              # members x output times (days)
    (4, 4)
    >>> alone = bm.simulate(model, days=30, times=[0, 10, 20, 30], params={"kC": cohort["kC"][2]})
    >>> bool(abs(res.final("T")[2] / alone.final("T") - 1) < 1e-12)
    True
    """
    if n_jobs is not None:
        integer(n_jobs, "n_jobs (threads)", low=1)
    if progress is not None:
        boolean(progress, "progress")
    if chunk_size is not None:
        chunk_size = integer(chunk_size, "chunk_size (members per call)", low=1)
    if params is None:
        raise ParameterError("cohort params are required: a DataFrame with one row per member (see draw_cohort)")
    sim = Simulator(model, arm, days, times, options)
    P, Y0 = _member_matrices(sim, params)
    n = P.shape[0]
    model = sim.model  # the model the arm makes: its perturbations may add states (a module, an adaptive flag)
    check_output_size(len(sim.times), len(model.state_names) + sim.compiled.n_observables, n)
    n_jobs = max(1, int(n_jobs or os.cpu_count() or 1))
    if chunk_size is None:
        chunk_size = max(1, min(2000, math.ceil(n / (n_jobs * 4))))
    chunks = [(i, min(n, i + chunk_size)) for i in range(0, n, chunk_size)]
    nt, ns, no = len(sim.times), len(model.state_names), sim.compiled.n_observables
    Y = np.empty((n, nt, ns))
    O = np.empty((n, nt, no))
    status = np.empty(n, dtype=np.int32)
    fail_t = np.empty(n)
    fail_state = np.empty(n, dtype=np.int32)
    stats = np.empty((n, len(STATS_NAMES)), dtype=np.int64)

    def work(bounds: tuple[int, int]) -> int:
        a, b = bounds
        y, o, st, ss, ft, fs = sim.solve(P[a:b], Y0[a:b])
        Y[a:b] = y
        if o is not None:
            O[a:b] = o[:, :, :no]
        stats[a:b], status[a:b], fail_t[a:b], fail_state[a:b] = st, ss, ft, fs
        return b - a

    show = progress if progress is not None else n >= 2000
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"cohort {sim.arm.name}", unit="member")
    if n_jobs == 1 or len(chunks) == 1:
        for c in chunks:
            done = work(c)
            if bar:
                bar.update(done)
    else:
        with ThreadPoolExecutor(n_jobs) as pool:
            for done in pool.map(work, chunks):
                if bar:
                    bar.update(done)
    if bar:
        bar.close()
    # nonnegative states (Simulator.negative_violation), looked at closely only where some state is below -atol
    below = (Y.min(axis=1) < -sim._neg_atol).any(axis=1) if n else np.zeros(0, dtype=bool)  # noqa: SLF001
    for i in np.flatnonzero(below & (status == 0)):
        neg = sim.negative_violation(Y[i])
        if neg is not None:
            status[i], fail_t[i], fail_state[i] = STATUS_NEGATIVE, sim.times[neg[0]], neg[1]
    failed = status != 0
    Y[failed] = np.nan
    O[failed] = np.nan
    messages = tuple(
        (failure_message(model, int(status[i]), float(fail_t[i]), int(fail_state[i]), sim.arm.name)
         if failed[i] else "ok")
        for i in range(n)
    )

    table = _table(params)
    return CohortResult(sim.model, sim.arm, table.reset_index(drop=True), sim.times, Y, O, status, messages, stats)

"""Global sensitivity analysis (Sobol and Morris, with SALib) on the cohort engine.

Which parameters drive an outcome over their whole plausible range?  The
parameter space is sampled (Saltelli's scheme on a scrambled Sobol sequence
for Sobol indices, Morris trajectories for elementary effects), every sample
is simulated as one member of a virtual cohort
(:func:`~bonemet_ode.simulate.simulate_cohort`, compiled and threaded), and
SALib turns the outputs into indices with bootstrap confidence intervals.

The output is a state or observable at a day (``output="tumor", day=28``) or
any function of a :class:`~bonemet_ode.simulate.CohortResult` returning one
number per member (an outcome margin, an area under a curve, a ratio of two
arms' results computed inside the function, ...).

Needs ``SALib`` (the ``gsa`` extra).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BonemetError, BonemetWarning, ParameterError, ScheduleError, SolverError
from ..model import Model
from ..model.model import unknown_name
from ..simulate import Arm, CohortResult, SolverOptions, simulate_cohort
from ..simulate._validate import integer
from ..simulate.simulator import output_times

__all__ = ["GSAResult", "sobol", "morris", "gsa_problem", "CohortSimulator"]

#: A cohort engine: ``simulate(model, params, arm, days, times, options=...) -> CohortResult``
#: (:func:`~bonemet_ode.simulate.simulate_cohort`, or the Dask version in :mod:`.distributed`).
CohortSimulator = Callable[..., CohortResult]

_COLUMNS = ["parameter", "index", "estimate", "ci_low", "ci_high"]


@dataclass(frozen=True, eq=False)
class GSAResult:
    """Sensitivity indices of one output with respect to a set of parameters.

    Attributes
    ----------
    method : str
        ``"sobol"`` or ``"morris"``.
    parameters : tuple of str
        The varied parameters.
    bounds : dict
        ``{name: (low, high)}`` in the parameter's unit.
    log_scale : dict
        ``{name: bool}``: sampled uniformly in log10 (True) or linearly.
    output : str
        Description of the analysed output.
    samples : pandas.DataFrame
        Every evaluated parameter set (one row per simulation).
    outputs : numpy.ndarray
        The output of every row of :attr:`samples`.
    raw : dict
        SALib's result arrays (``S1``, ``S1_conf``, ``ST``, ... or ``mu_star``, ...).
    conf_level : float
        Confidence level of the intervals (bootstrap).
    seed : int
        Seed of the sample and of the bootstrap.

    Notes
    -----
    Sobol: ``S1`` is the first-order index (share of the output variance
    explained by the parameter alone), ``ST`` the total index (including its
    interactions); both are dimensionless.  Morris: ``mu_star`` (mean absolute
    elementary effect), ``mu`` and ``sigma`` are in output units per
    normalised parameter range (the whole range, or log10 range, counts 1).
    """

    method: str
    parameters: tuple[str, ...]
    bounds: dict[str, tuple[float, float]]
    log_scale: dict[str, bool]
    output: str
    samples: Any = field(repr=False)
    outputs: np.ndarray = field(repr=False)
    raw: dict[str, Any] = field(repr=False)
    conf_level: float = 0.95
    seed: int = 0

    @property
    def index_names(self) -> tuple[str, ...]:
        """The indices of this method: ``("S1", "ST")`` or ``("mu_star", "sigma", "mu")``."""
        return ("S1", "ST") if self.method == "sobol" else ("mu_star", "sigma", "mu")

    def to_frame(self):
        """Tidy table: one row per (parameter, index) with its estimate and confidence interval.

        Columns ``parameter, index, estimate, ci_low, ci_high``; the interval is
        NaN where SALib gives none (Morris ``sigma`` and ``mu``).  Second-order
        Sobol indices, when computed, have ``index="S2"`` and ``parameter="a:b"``.
        """
        import pandas as pd

        rows = []
        for name in self.index_names:
            est = np.asarray(self.raw[name], dtype=float)
            half = np.asarray(self.raw.get(f"{name}_conf", np.full_like(est, np.nan)), dtype=float)
            for p, e, h in zip(self.parameters, est, half):
                rows.append((p, name, e, e - h, e + h))
        if self.method == "sobol" and "S2" in self.raw:
            s2, h2 = np.asarray(self.raw["S2"]), np.asarray(self.raw["S2_conf"])
            d = len(self.parameters)
            for i in range(d):
                for j in range(i + 1, d):
                    e, h = float(s2[i, j]), float(h2[i, j])
                    rows.append((f"{self.parameters[i]}:{self.parameters[j]}", "S2", e, e - h, e + h))
        return pd.DataFrame(rows, columns=_COLUMNS)

    @property
    def table(self):
        """Wide table indexed by parameter: each index and its CI half-width (``<index>_conf``)."""
        import pandas as pd

        data: dict[str, np.ndarray] = {}
        for name in self.index_names:
            data[name] = np.asarray(self.raw[name], dtype=float)
            if f"{name}_conf" in self.raw:
                data[f"{name}_conf"] = np.asarray(self.raw[f"{name}_conf"], dtype=float)
        return pd.DataFrame(data, index=pd.Index(self.parameters, name="parameter"))

    def ranking(self, index: str | None = None) -> list[str]:
        """Parameters from most to least influential by ``index`` (default ``ST`` or ``mu_star``)."""
        index = index or self.index_names[-1 if self.method == "sobol" else 0]
        if index not in self.index_names:
            raise BonemetError(f"index must be one of {self.index_names}, got {index!r}")
        values = np.asarray(self.raw[index], dtype=float)
        return [self.parameters[i] for i in np.argsort(-values, kind="stable")]

    def __repr__(self) -> str:
        top = ", ".join(self.ranking()[:3])
        return (f"<GSAResult {self.method} of {self.output}: {len(self.parameters)} parameters, "
                f"{len(self.outputs)} simulations; most influential: {top}>")


def gsa_problem(
    model: Model,
    parameters: Sequence[str],
    bounds: Mapping[str, tuple[float, float]] | None = None,
    log_scale: bool | Mapping[str, bool] | None = None,
) -> tuple[dict[str, Any], dict[str, tuple[float, float]], dict[str, bool]]:
    """SALib problem for ``parameters``: bounds from the model unless given.

    Parameters
    ----------
    model : Model
        Supplies the bounds (``Parameter.lower``/``upper``) and log scales.
    parameters : sequence of str
        Parameters to vary (at least two).
    bounds : mapping of name to (low, high), optional
        Bounds overriding the model's, in the parameter's unit; they must lie
        within the model's bounds.
    log_scale : bool or mapping of name to bool, optional
        Sample uniformly in log10 (True) or linearly; default: each
        parameter's ``log_scale`` flag.

    Returns
    -------
    (problem, bounds, log_scale)
        The SALib problem (bounds in log10 for log-scaled parameters) and the
        resolved bounds and flags by name.
    """
    names = list(parameters) if not isinstance(parameters, str) else [parameters]
    if len(names) < 2:
        raise ParameterError(f"parameters: give at least two parameter names to compare, got {names}")
    if len(set(names)) != len(names):
        raise ParameterError(f"parameters: each name may appear once, got {names}")
    bounds = dict(bounds or {})
    unknown = set(bounds) - set(names)
    if unknown:
        raise ParameterError(f"bounds given for {sorted(unknown)}, which are not among parameters={names}")
    if isinstance(log_scale, Mapping):
        unknown = set(log_scale) - set(names)
        if unknown:
            raise ParameterError(f"log_scale given for {sorted(unknown)}, which are not among parameters={names}")
    out_bounds: dict[str, tuple[float, float]] = {}
    out_log: dict[str, bool] = {}
    for name in names:
        p = model.parameter(name)
        lo, hi = (float(v) for v in bounds.get(name, (p.lower, p.upper)))
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ParameterError(
                f"parameter {name!r} needs finite bounds low < high, got [{lo}, {hi}]; "
                f"give bounds={{{name!r}: (low, high)}}"
            )
        if lo < p.lower or hi > p.upper:
            raise ParameterError(f"bounds [{lo}, {hi}] of {name!r} leave the model's bounds [{p.lower}, {p.upper}]")
        if isinstance(log_scale, Mapping):
            is_log = bool(log_scale.get(name, p.log_scale))
        else:
            is_log = p.log_scale if log_scale is None else bool(log_scale)
        if is_log and lo <= 0:
            raise ParameterError(f"parameter {name!r} is sampled on a log scale but its lower bound {lo} is not > 0")
        out_bounds[name], out_log[name] = (lo, hi), is_log
    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": [[math.log10(lo), math.log10(hi)] if out_log[n] else [lo, hi] for n, (lo, hi) in out_bounds.items()],
    }
    return problem, out_bounds, out_log


def _describe(output: Any, day: float | None) -> str:
    if isinstance(output, str):
        return f"{output} at day {day:g}"
    return getattr(output, "__name__", type(output).__name__)


def _evaluate(
    model: Model, X: np.ndarray, names: list[str], log: dict[str, bool], output: Any, day: float | None,
    arm: Arm | None, days: float | None, times: Any, options: SolverOptions | None, simulate: CohortSimulator,
) -> tuple[Any, np.ndarray]:
    """Simulate every sampled row; return the parameter table and the outputs."""
    import pandas as pd

    values = np.where([log[n] for n in names], 10.0 ** X, X)
    table = pd.DataFrame(values, columns=names)
    res = simulate(model, table, arm, days, times, options=options)
    if not res.ok.all():
        bad = np.flatnonzero(~res.ok)
        raise SolverError(f"{bad.size} of {res.n} GSA simulations failed (first, row {bad[0]}: "
                          f"{res.messages[bad[0]]}); narrow the bounds or change the solver options")
    if isinstance(output, str):
        assert day is not None  # _prepare sets the day of a named output
        y = res.at(day, output)
    else:
        y = output(res)
    y = np.asarray(y, dtype=float)
    if y.shape != (res.n,):
        raise BonemetError(f"output must give one number per cohort member, shape ({res.n},); got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise BonemetError(f"output is not finite for {int((~np.isfinite(y)).sum())} of {res.n} samples")
    return table, y


def _check_analysis(seed: Any, conf_level: Any, num_resamples: Any) -> None:
    """The settings both analyses hand to SALib, checked here so that an error names them."""
    integer(seed, "seed", low=0)
    if isinstance(conf_level, bool) or not isinstance(conf_level, (int, float)) or not 0 < conf_level < 1:
        raise ParameterError(f"conf_level must be a number in (0, 1), got {conf_level!r}")
    integer(num_resamples, "num_resamples (bootstrap resamples of the confidence intervals)", low=2)


def _prepare(model: Model, output: Any, day: float | None, days: float | None, times: Any,
             simulate: CohortSimulator | None, n_jobs: int | None) -> tuple[float | None, CohortSimulator]:
    if isinstance(output, str):
        t = output_times(days, times)
        day = float(t[-1]) if day is None else float(day)
        if not np.any(np.isclose(t, day, rtol=0, atol=1e-9)):
            raise ScheduleError(f"day {day:g} is not an output time; add it to times= (outputs {t[0]:g}..{t[-1]:g})")
        known = model.state_names + model.observable_names
        if output not in known:
            raise unknown_name(output, "state or observable", known)
    elif not callable(output):
        raise BonemetError(f"output must be a state/observable name or a function of a CohortResult, got {output!r}")
    if simulate is None:
        def simulate(m, params, arm, days, times, *, options=None):  # noqa: ANN001 - CohortSimulator
            return simulate_cohort(m, params, arm, days, times, n_jobs=n_jobs, progress=False, options=options)
    return day, simulate


def sobol(
    model: Model,
    parameters: Sequence[str],
    output: str | Callable[[CohortResult], np.ndarray],
    *,
    arm: Arm | None = None,
    days: float | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    day: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    log_scale: bool | Mapping[str, bool] | None = None,
    n: int = 1024,
    second_order: bool = False,
    seed: int = 0,
    conf_level: float = 0.95,
    num_resamples: int = 200,
    options: SolverOptions | None = None,
    n_jobs: int | None = None,
    simulate: CohortSimulator | None = None,
) -> GSAResult:
    """Sobol indices (first order ``S1``, total ``ST``) of ``output`` over ``parameters``.

    Parameters
    ----------
    model : Model
        The model.
    parameters : sequence of str
        Parameters varied, uniformly within their bounds (see :func:`gsa_problem`).
    output : str or callable
        A state or observable name, read at ``day``; or a function of the
        :class:`CohortResult` returning one number per member.
    arm : Arm, optional
        Treatment arm (default untreated).
    days, times : optional
        Simulation length and output times, days (as :func:`simulate_cohort`).
    day : float, optional
        Day at which a named output is read (default: the last output time).
    bounds, log_scale : optional
        See :func:`gsa_problem`.
    n : int
        Base sample size, a power of two; the model is solved ``n * (d + 2)``
        times (``n * (2d + 2)`` with ``second_order``), d = number of parameters.
    second_order : bool
        Also estimate second-order indices ``S2``.
    seed : int
        Seed of the scrambled Sobol sequence and of the bootstrap.
    conf_level, num_resamples : optional
        Confidence level and bootstrap resamples of the intervals.
    options : SolverOptions, optional
        Solver tolerances.
    n_jobs : int, optional
        Threads of the default cohort engine.
    simulate : callable, optional
        Cohort engine ``simulate(model, params, arm, days, times, options=...)``,
        for example :meth:`bonemet_ode.analysis.distributed.DaskRunner.simulate_cohort`.

    Returns
    -------
    GSAResult

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> from bonemet_ode.analysis.gsa import sobol
    >>> res = sobol(bm.models.get("kuznetsov1994"), ["a", "n"], "T", days=10,
    ...             bounds={"a": (0.1, 0.3), "n": (5e-8, 2e-7)}, n=64)
    >>> res.ranking()[0] in {"a", "n"}
    True
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if not (isinstance(n, int) and n >= 2 and n & (n - 1) == 0):
        raise ParameterError(f"n must be a power of two >= 2 (Sobol sequence balance), got {n!r}")
    _check_analysis(seed, conf_level, num_resamples)
    day, simulate = _prepare(model, output, day, days, times, simulate, n_jobs)
    problem, bnds, log = gsa_problem(model, parameters, bounds, log_scale)
    X = sobol_sample.sample(problem, n, calc_second_order=second_order, seed=seed)
    table, y = _evaluate(model, X, problem["names"], log, output, day, arm, days, times, options, simulate)
    # a Generator, not the int: SALib's Sobol analysis tests ``if seed:`` and bootstraps from numpy's global
    # state for seed 0 (the default), so its intervals changed from run to run; default_rng(default_rng(s)) is
    # default_rng(s), so every other seed draws as before
    raw = sobol_analyze.analyze(problem, y, calc_second_order=second_order, num_resamples=num_resamples,
                                conf_level=conf_level, seed=np.random.default_rng(seed))
    _warn_if_implausible(raw, y)
    return GSAResult("sobol", tuple(problem["names"]), bnds, log, _describe(output, day), table, y,
                     {k: np.asarray(v) for k, v in raw.items()}, conf_level, seed)


def _warn_if_implausible(raw: Any, y: np.ndarray) -> None:
    """Warn when first-order or total indices lie far outside [0, 1] (beyond [-1, 2]), or their confidence
    half-widths exceed 1: shares of variance cannot, so the estimate is dominated by a few extreme outputs
    (typically an output spanning many decades, such as a tumour that some samples eliminate)."""
    idx = np.concatenate([np.asarray(raw["S1"], float), np.asarray(raw["ST"], float)])
    conf = np.concatenate([np.asarray(raw["S1_conf"], float), np.asarray(raw["ST_conf"], float)])
    if np.all((idx >= -1.0) & (idx <= 2.0) & (conf <= 1.0)):
        return
    pos = y[y > 0]
    span = f"; the output spans {np.log10(pos.max() / pos.min()):.0f} decades" if pos.size > 1 else ""
    warnings.warn(f"Sobol indices or their intervals far outside [0, 1] (largest |index| {np.max(np.abs(idx)):.3g}, "
                  f"largest interval half-width {np.max(conf):.3g}){span}: the variance is dominated by a few "
                  "extreme samples and the indices are not variance shares. Analyse the log of the output (a "
                  "callable output) or sample log_scale=True, or raise n", BonemetWarning, stacklevel=3)


def morris(
    model: Model,
    parameters: Sequence[str],
    output: str | Callable[[CohortResult], np.ndarray],
    *,
    arm: Arm | None = None,
    days: float | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    day: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    log_scale: bool | Mapping[str, bool] | None = None,
    trajectories: int = 64,
    num_levels: int = 4,
    seed: int = 0,
    conf_level: float = 0.95,
    num_resamples: int = 200,
    options: SolverOptions | None = None,
    n_jobs: int | None = None,
    simulate: CohortSimulator | None = None,
) -> GSAResult:
    """Morris elementary effects (``mu_star``, ``mu``, ``sigma``) of ``output`` over ``parameters``.

    A cheap screening: ``trajectories * (d + 1)`` solves.  ``mu_star`` ranks
    influence; a large ``sigma`` relative to ``mu_star`` flags nonlinearity
    or interactions.  Effects are in output units per normalised range of
    the parameter (the whole range, or log10 range, counts 1).  The
    parameters not listed here are as in :func:`sobol`.

    Parameters
    ----------
    trajectories : int
        Number of Morris trajectories (>= 2).
    num_levels : int
        Grid levels per parameter (even, >= 2).

    Returns
    -------
    GSAResult
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    if not (isinstance(trajectories, int) and trajectories >= 2):
        raise ParameterError(f"trajectories must be an integer >= 2, got {trajectories!r}")
    if not (isinstance(num_levels, int) and num_levels >= 2 and num_levels % 2 == 0):
        raise ParameterError(f"num_levels must be an even integer >= 2, got {num_levels!r}")
    _check_analysis(seed, conf_level, num_resamples)
    day, simulate = _prepare(model, output, day, days, times, simulate, n_jobs)
    problem, bnds, log = gsa_problem(model, parameters, bounds, log_scale)
    X = morris_sample.sample(problem, trajectories, num_levels=num_levels, seed=seed)
    table, y = _evaluate(model, X, problem["names"], log, output, day, arm, days, times, options, simulate)
    raw = morris_analyze.analyze(problem, X, y, num_resamples=num_resamples, conf_level=conf_level,
                                 num_levels=num_levels, seed=seed)
    keep = {k: np.asarray(v, dtype=float) for k, v in raw.items() if k != "names"}
    return GSAResult("morris", tuple(problem["names"]), bnds, log, _describe(output, day), table, y,
                     keep, conf_level, seed)

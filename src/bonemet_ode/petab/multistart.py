"""Multistart optimisation of a :class:`PetabProblem`: seeded starts, failures resampled and counted,
and a per-start verdict (converged, stopped on a bound, never moved, failed)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FitError, ParameterError
from .problem import PetabProblem

__all__ = ["MultistartResult", "StartResult", "multistart", "start_points"]

#: A start "never moved" when its end point is within this distance (max norm, parameter scale) of its start.
UNMOVED_TOL = 1e-6
#: A parameter "is on a bound" when within this fraction of its (scaled) bound interval of the bound.
BOUND_TOL = 1e-5
#: A start the optimiser calls converged counts as converged only if its projected gradient (parameters on a
#: bound left out) is at most this times max(1, |objective|) in every component.
CONVERGED_GRAD = 1e-3


@dataclass
class StartResult:
    """One start of a multistart run.

    Attributes
    ----------
    index : int
        Position among the accepted starts (0-based).
    x0, x : numpy.ndarray
        Start and end point (free parameters on their scales).
    fval0, fval : float
        Objective (−log posterior) at start and end.
    status : str
        ``"converged"`` (the optimiser's convergence test passed, away from bounds), ``"converged on bound"``
        (passed, with parameters on a bound), ``"stopped on bound"`` (ended on a bound without passing it),
        ``"never moved"`` (end within :data:`UNMOVED_TOL` of the start, or no decrease), ``"not converged"``
        (iteration limit or line-search failure), ``"failed"`` (a simulation failed at the end point).
    on_bound : tuple of str
        Free parameters on a bound at the end.
    n_iter, n_fev : int
        Optimiser iterations and objective evaluations.
    message : str
        The optimiser's message.
    wall_s : float
        Wall time of this start, seconds.
    """

    index: int
    x0: np.ndarray
    x: np.ndarray
    fval0: float
    fval: float
    status: str
    on_bound: tuple[str, ...]
    n_iter: int
    n_fev: int
    message: str
    wall_s: float

    @property
    def converged(self) -> bool:
        return self.status in ("converged", "converged on bound")


@dataclass
class MultistartResult:
    """All starts of a multistart run, sorted by final objective (best first).

    Attributes
    ----------
    starts : list of StartResult
    free : tuple of str
        Names of the free parameters (order of every ``x``).
    seed : int
        Seed of the start points.
    resampled : int
        Start points drawn but replaced because the objective could not be evaluated there (a failed
        integration or a non-finite likelihood); they are counted, never silently dropped.
    resample_reasons : list of str
        Why each was replaced.
    wall_s : float
        Wall time of the whole run, seconds.
    """

    starts: list[StartResult]
    free: tuple[str, ...]
    seed: int
    resampled: int = 0
    resample_reasons: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def best(self) -> StartResult:
        ok = [s for s in self.starts if math.isfinite(s.fval)]
        if not ok:
            raise FitError("no start ended with a finite objective")
        return ok[0]

    def fvals(self) -> np.ndarray:
        """Final objective values, best first (inf for failed starts)."""
        return np.array([s.fval for s in self.starts])

    def counts(self) -> dict[str, int]:
        """Number of starts per status."""
        out: dict[str, int] = {}
        for s in self.starts:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def n_converged(self) -> int:
        return sum(s.converged for s in self.starts)

    def n_within(self, delta: float = 0.1, reference: float | None = None) -> int:
        """Starts ending within ``delta`` of ``reference`` (default: the best objective found)."""
        ref = self.best.fval if reference is None else reference
        return int(sum(s.fval <= ref + delta for s in self.starts if math.isfinite(s.fval)))

    def to_frame(self):
        """One row per start: index, status, fval0, fval, iterations, evaluations, wall time, bounds hit, x."""
        import pandas as pd

        rows = []
        for s in self.starts:
            row = {"start": s.index, "status": s.status, "fval0": s.fval0, "fval": s.fval, "n_iter": s.n_iter,
                   "n_fev": s.n_fev, "wall_s": s.wall_s, "on_bound": ";".join(s.on_bound)}
            row.update({p: v for p, v in zip(self.free, s.x)})
            rows.append(row)
        return pd.DataFrame(rows)


def start_points(problem: PetabProblem, n: int, seed: int) -> np.ndarray:
    """``n`` start points (rows; free parameters on their scales) drawn, with ``seed``, from each free
    parameter's ``initializationPriorType`` (PEtab's ``sample_parameter_startpoints``; without one,
    uniform on the parameter scale within the bounds)."""
    import petab.v1 as petab

    df = problem.tables.parameter_df
    pts = np.asarray(petab.sample_parameter_startpoints(df, n_starts=n, seed=seed, parameter_ids=list(problem.free)),
                     dtype=float).reshape(n, len(problem.free))
    return np.clip(pts, problem.lower, problem.upper)  # priors such as normal may reach beyond the bounds


def _on_bound(problem: PetabProblem, x: np.ndarray) -> tuple[str, ...]:
    span = problem.upper - problem.lower
    hit = (x - problem.lower <= BOUND_TOL * span) | (problem.upper - x <= BOUND_TOL * span)
    return tuple(p for p, h in zip(problem.free, hit) if h)


def multistart(problem: PetabProblem, n_starts: int = 100, seed: int = 0, *, maxiter: int = 2000,
               gtol: float = 1e-6, ftol: float = 1e-12, max_resample: int | None = None,
               progress: Callable[[int, StartResult], None] | None = None,
               x0: Sequence[Sequence[float]] | None = None, method: str = "lbfgsb") -> MultistartResult:
    """Minimise the problem's −log posterior from ``n_starts`` seeded start points within the bounds, on the
    parameter scales, with forward-sensitivity derivatives (finite differences for the events and switches
    that the compiled sensitivities refuse).

    Parameters
    ----------
    problem : PetabProblem
    n_starts : int
        Starts to run.
    seed : int
        Seed of the start points (the run is reproducible).
    maxiter, gtol, ftol : optimiser settings (scipy L-BFGS-B ``maxiter``, ``pgtol``, ``ftol``).
    max_resample : int, optional
        Most start points that may be replaced because the objective fails there (default ``10 * n_starts``);
        beyond it a :class:`~bonemet_ode.errors.FitError` is raised.
    progress : callable, optional
        Called as ``progress(i, start_result)`` after each start.
    x0 : array_like, optional
        Explicit start points (rows) instead of drawn ones (e.g. the same points for another tool).
    method : str
        ``"trf"``: scipy's trust-region reflective least squares on :meth:`PetabProblem.residuals` (a
        Gauss-Newton method, as Data2Dynamics' lsqnonlin; sum-of-squares objectives only); ``"lbfgsb"``
        (default): L-BFGS-B on the objective and its gradient.  On Boehm_JProteomeRes2014 (10 starts, seed 0)
        trf reached 145.77 at best and hit its 2000-evaluation limit on 3 starts; L-BFGS-B (40 starts,
        seed 1) reached 138.222 on 4.

    Returns
    -------
    MultistartResult
    """
    from scipy.optimize import least_squares, minimize

    if method not in ("trf", "lbfgsb"):
        raise ParameterError(f"method must be 'lbfgsb' or 'trf', got {method!r}")
    use_trf = method == "trf"
    if use_trf and not problem.least_squares_form():
        raise ParameterError("method 'trf' needs a sum-of-squares objective (normal noise, forward sensitivities, "
                             "no priors other than parameterScaleNormal); use 'lbfgsb'")
    cache: dict = {}

    def _res(x):
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            r, J = problem.residuals(x)
            if not np.all(np.isfinite(r)) or not np.all(np.isfinite(J)):
                r, J = np.full(len(r), 1e150), np.zeros_like(J)  # a failed simulation: the trust region shrinks
            cache[key] = (r, J)
        return cache[key]

    def resid(x):
        return _res(x)[0]

    def jac(x):
        return _res(x)[1]

    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ParameterError(f"n_starts must be a positive integer, got {n_starts!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    limit = 10 * n_starts if max_resample is None else int(max_resample)
    if x0 is not None:
        pool = np.asarray(x0, dtype=float).reshape(-1, len(problem.free))
    else:
        pool = start_points(problem, n_starts + limit, seed)
    t_all = time.perf_counter()
    bounds = list(zip(problem.lower, problem.upper))
    out: list[StartResult] = []
    reasons: list[str] = []
    k = 0
    while len(out) < n_starts:
        if k >= len(pool):
            raise FitError(f"{len(reasons)} start points failed (limit {limit}); last: "
                           f"{reasons[-1] if reasons else 'none'}")
        xs = pool[k].copy()
        k += 1
        t0 = time.perf_counter()
        f0 = problem.objective(xs, gradient=False)
        if not np.isfinite(f0):
            ev = problem.evaluate(xs)
            reasons.append(f"start {k - 1}: {ev.failure or 'non-finite likelihood'}")
            continue

        def fun(x):
            f, g = problem.objective(x, gradient=True)
            if not np.isfinite(f) or not np.all(np.isfinite(g)):
                return 1e300, np.zeros_like(x)  # a failed simulation: L-BFGS-B's line search backs off
            return f, g

        res: Any
        try:
            if use_trf:
                res = least_squares(resid, xs, jac=jac, bounds=(problem.lower, problem.upper), method="trf",
                                    max_nfev=maxiter, ftol=ftol, xtol=1e-10, gtol=gtol)
                nit = int(res.nfev)
                success = res.status > 0
            else:
                res = minimize(fun, xs, jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"maxiter": maxiter, "gtol": gtol, "ftol": ftol, "maxfun": 5 * maxiter})
                nit = int(res.nit)
                success = bool(res.success)
            x, nfev, msg = np.clip(res.x, problem.lower, problem.upper), int(res.nfev), str(res.message)
        except Exception as exc:  # noqa: BLE001 - a start that crashes is reported, not fatal
            x, nit, nfev, msg, success = xs, 0, 0, f"{type(exc).__name__}: {exc}", False
        f, g = problem.objective(x, gradient=True)
        bound = _on_bound(problem, x)
        if success and np.isfinite(f):  # the optimiser's test must agree with a small projected gradient
            pg = np.where(((x <= problem.lower) & (g > 0)) | ((x >= problem.upper) & (g < 0)), 0.0, g)
            pg[[p in bound for p in problem.free]] = 0.0
            success = bool(np.max(np.abs(pg), initial=0.0) <= CONVERGED_GRAD * max(1.0, abs(f)))
        if not np.isfinite(f) or f >= 1e299:
            status = "failed"
            f = math.inf
        elif np.max(np.abs(x - xs)) <= UNMOVED_TOL * (1 + np.max(np.abs(xs))) or not f < f0:
            status = "never moved"
        elif success:
            status = "converged on bound" if bound else "converged"
        elif bound:
            status = "stopped on bound"
        else:
            status = "not converged"
        sr = StartResult(len(out), xs, np.asarray(x, float), float(f0), float(f), status, bound, nit, nfev, msg,
                         time.perf_counter() - t0)
        out.append(sr)
        if progress is not None:
            progress(len(out) - 1, sr)
    order = sorted(out, key=lambda s: (not math.isfinite(s.fval), s.fval))
    return MultistartResult(order, tuple(problem.free), int(seed), len(reasons), reasons,
                            time.perf_counter() - t_all)

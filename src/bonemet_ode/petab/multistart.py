"""Multistart optimisation of a :class:`PetabProblem`: seeded starts, failures resampled and counted,
and a per-start verdict (converged, stopped on a bound, never moved, failed)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import FitError, ParameterError
from .problem import PetabProblem

__all__ = ["METHODS", "MultistartResult", "StartResult", "accepted_start_points", "classify",
           "levenberg_marquardt", "multistart", "start_points"]

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
    method : str
        The optimiser used (see :func:`multistart`).
    """

    starts: list[StartResult]
    free: tuple[str, ...]
    seed: int
    resampled: int = 0
    resample_reasons: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    method: str = ""

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


def classify(problem: PetabProblem, x0: np.ndarray, f0: float, x: np.ndarray, optimizer_success: bool
             ) -> tuple[str, float, tuple[str, ...]]:
    """Verdict on one optimiser run from ``x0`` (objective ``f0``) to ``x``: ``(status, objective at x, on_bound)``.

    The same yardstick for any optimiser (``benchmarks/petab_fits.py`` applies it to AMICI + pyPESTO's end
    points too): ``"converged"`` needs the optimiser's own test *and* a projected gradient (parameters on a
    bound left out) of at most :data:`CONVERGED_GRAD` ``* max(1, |f|)`` in every component; an end point within
    :data:`UNMOVED_TOL` of the start, or without decrease, is ``"never moved"``; a simulation failing at the
    end point is ``"failed"``.

    Examples
    --------
    >>> # status, f, bound = classify(problem, x0, problem.objective(x0, gradient=False), x_end, True)
    """
    x = np.clip(np.asarray(x, dtype=float), problem.lower, problem.upper)
    f, g = problem.objective(x, gradient=True)
    bound = _on_bound(problem, x)
    success = bool(optimizer_success)
    if success and np.isfinite(f):  # the optimiser's test must agree with a small projected gradient
        pg = np.where(((x <= problem.lower) & (g > 0)) | ((x >= problem.upper) & (g < 0)), 0.0, g)
        pg[[p in bound for p in problem.free]] = 0.0
        success = bool(np.max(np.abs(pg), initial=0.0) <= CONVERGED_GRAD * max(1.0, abs(f)))
    if not np.isfinite(f) or f >= 1e299:
        return "failed", math.inf, bound
    if np.max(np.abs(x - x0)) <= UNMOVED_TOL * (1 + np.max(np.abs(x0))) or not f < f0:
        return "never moved", float(f), bound
    if success:
        return ("converged on bound" if bound else "converged"), float(f), bound
    return ("stopped on bound" if bound else "not converged"), float(f), bound


def accepted_start_points(problem: PetabProblem, n_starts: int, seed: int, max_resample: int | None = None
                          ) -> tuple[np.ndarray, list[str]]:
    """The first ``n_starts`` seeded start points (:func:`start_points`) at which the objective can be evaluated
    (with its gradient, for forward sensitivities: their integration can fail where the states' alone does not),
    and why each skipped one was skipped (a failed integration or a non-finite likelihood).

    At most ``max_resample`` (default ``10 * n_starts``) points are skipped; beyond that a
    :class:`~bonemet_ode.errors.FitError` is raised.  ``benchmarks/petab_fits.py`` hands the same points to
    AMICI + pyPESTO.

    Examples
    --------
    >>> # X, reasons = accepted_start_points(problem, 20, seed=0)
    """
    limit = 10 * n_starts if max_resample is None else int(max_resample)
    X, reasons, _f0 = _accept(problem, start_points(problem, n_starts + limit, seed), n_starts)
    if len(X) < n_starts:
        last = reasons[-1] if reasons else "none"
        raise FitError(f"{len(reasons)} start points failed (limit {limit}); last: {last}")
    return X, reasons


def _accept(problem: PetabProblem, pool: np.ndarray, n: int) -> tuple[np.ndarray, list[str], list[float]]:
    """The first ``n`` points of ``pool`` where the objective (and, with forward sensitivities, its gradient) is
    finite, the reasons for the others skipped on the way, and the objective at each accepted point."""
    keep: list[np.ndarray] = []
    f0s: list[float] = []
    reasons: list[str] = []
    sensi = problem.gradient_method == "forward sensitivities"
    for k, xs in enumerate(pool):
        if len(keep) == n:
            break
        if sensi:  # the sensitivity system can fail where the states alone integrate
            f0, g0 = problem.objective(xs, gradient=True)
            ok = bool(np.isfinite(f0) and np.all(np.isfinite(g0)))
        else:
            f0 = problem.objective(xs, gradient=False)
            ok = bool(np.isfinite(f0))
        if ok:
            keep.append(xs)
            f0s.append(float(f0))
        else:
            reasons.append(f"start {k}: {problem.evaluate(xs, gradient=sensi).failure or 'non-finite likelihood'}")
    return np.array(keep).reshape(len(keep), len(problem.free)), reasons, f0s


def _blas_single_thread():
    """One BLAS thread while optimising: the optimisers' small dense linear algebra runs many times per second,
    and OpenBLAS's thread pool spends more time waking and spinning than computing (on a loaded 2-core machine
    L-BFGS-B's own work took 2.2 ms per iteration instead of about 0.1 ms).  A no-op without threadpoolctl."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in the petab extra
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


METHODS = ("lm", "fides", "trf", "dogbox", "lbfgsb")


def multistart(problem: PetabProblem, n_starts: int = 100, seed: int = 0, *, maxiter: int = 2000,
               gtol: float = 1e-6, ftol: float = 1e-12, max_resample: int | None = None,
               progress: Callable[[int, StartResult], None] | None = None,
               x0: Sequence[Sequence[float]] | None = None, method: str = "auto") -> MultistartResult:
    """Minimise the problem's −log posterior from ``n_starts`` seeded start points within the bounds, on the
    parameter scales, with forward-sensitivity derivatives (finite differences for the events and switches
    that the compiled sensitivities refuse).

    Parameters
    ----------
    problem : PetabProblem
        The problem (:func:`bonemet_ode.read_petab`).
    n_starts : int
        Starts to run.
    seed : int
        Seed of the start points (the run is reproducible).
    maxiter, gtol, ftol : float
        Optimiser settings: iteration limit; gradient and relative objective-change tolerances (``ftol`` is for
        lbfgsb, trf and dogbox; lm and fides use an objective-change tolerance of 1e-8, fides' default, as
        pyPESTO runs it).
    max_resample : int, optional
        Most start points that may be replaced because the objective fails there (default ``10 * n_starts``);
        beyond it a :class:`~bonemet_ode.errors.FitError` is raised.
    progress : callable, optional
        Called as ``progress(i, start_result)`` after each start.
    x0 : array_like, optional
        Explicit start points (rows) instead of drawn ones (e.g. the same points for another tool).
    method : str
        ``"lm"``: projected Levenberg-Marquardt (:func:`levenberg_marquardt`) on :meth:`PetabProblem.residuals`
        and their forward-sensitivity Jacobian (sum-of-squares problems only); ``"fides"``: the fides
        trust-region optimiser (``pip install fides``) with the Gauss-Newton Hessian
        ``JᵀJ`` of :meth:`PetabProblem.residuals` (the Fisher information, as AMICI + pyPESTO use it) for
        sum-of-squares problems, and fides' BFGS update otherwise; ``"trf"``: scipy's trust-region reflective
        least squares on the residuals; ``"lbfgsb"``: scipy's L-BFGS-B on the objective and its gradient;
        ``"auto"`` (default): ``"lm"`` for sum-of-squares problems, else ``"lbfgsb"``.
        ``benchmarks/petab_fits.py`` compares them with AMICI + pyPESTO (see docs/petab.md).

    Returns
    -------
    MultistartResult
        The starts, best first, each with its status (see :func:`classify`).

    Examples
    --------
    >>> # res = multistart(bm.read_petab("Boehm_JProteomeRes2014.yaml"), 20, seed=0)
    >>> # res.best.fval, res.counts()
    """
    if method not in METHODS + ("auto",):
        raise ParameterError(f"method must be one of {METHODS + ('auto',)}, got {method!r}")
    ls = problem.least_squares_form()
    if method == "auto":
        method = "lm" if ls else "lbfgsb"
    if method in ("trf", "dogbox", "lm") and not ls:
        raise ParameterError("method 'trf' needs a sum-of-squares objective (normal noise, forward sensitivities, "
                             "no priors other than parameterScaleNormal); use 'lbfgsb' or 'fides'")
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ParameterError(f"n_starts must be a positive integer, got {n_starts!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    t_all = time.perf_counter()
    with _blas_single_thread():
        if x0 is not None:
            given = np.asarray(x0, dtype=float).reshape(-1, len(problem.free))
            pts, reasons, f0s = _accept(problem, given, n_starts)
            if not len(pts):
                raise FitError(f"none of the {len(given)} given start points can be evaluated; {reasons[0]}")
        else:
            limit = 10 * n_starts if max_resample is None else int(max_resample)
            pts, reasons, f0s = _accept(problem, start_points(problem, n_starts + limit, seed), n_starts)
            if len(pts) < n_starts:
                last = reasons[-1] if reasons else "none"
                raise FitError(f"{len(reasons)} start points failed (limit {limit}); last: {last}")
        run = {"lm": _run_lm, "fides": _run_fides, "trf": _run_trf, "dogbox": _run_dogbox,
               "lbfgsb": _run_lbfgsb}[method]
        out: list[StartResult] = []
        for xs, f0 in zip(pts, f0s):
            t0 = time.perf_counter()
            try:
                x, nit, nfev, msg, success = run(problem, xs, maxiter, gtol, ftol, ls)
            except Exception as exc:  # noqa: BLE001 - a start that crashes is reported, not fatal
                x, nit, nfev, msg, success = xs, 0, 0, f"{type(exc).__name__}: {exc}", False
            status, f, bound = classify(problem, xs, f0, x, success)
            sr = StartResult(len(out), xs, np.clip(np.asarray(x, float), problem.lower, problem.upper), f0, f,
                             status, bound, nit, nfev, msg, time.perf_counter() - t0)
            out.append(sr)
            if progress is not None:
                progress(len(out) - 1, sr)
    order = sorted(out, key=lambda s: (not math.isfinite(s.fval), s.fval))
    return MultistartResult(order, tuple(problem.free), int(seed), len(reasons), reasons,
                            time.perf_counter() - t_all, method)


def _residual_cache(problem: PetabProblem):
    cache: dict = {}

    def res(x):
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            r, J = problem.residuals(x)
            cache[key] = (r, J)
        return cache[key]

    return res


def _run_dogbox(problem, xs, maxiter, gtol, ftol, ls):
    return _run_trf(problem, xs, maxiter, gtol, ftol, ls, "dogbox")


def _run_trf(problem, xs, maxiter, gtol, ftol, ls, kind="trf"):
    from scipy.optimize import least_squares

    res = _residual_cache(problem)

    def resid(x):
        r = res(x)[0]
        return r if np.all(np.isfinite(r)) else np.full(len(r), 1e150)  # a failed simulation: the region shrinks

    def jac(x):
        r, J = res(x)
        return J if np.all(np.isfinite(r)) and np.all(np.isfinite(J)) else np.zeros_like(J)

    out = least_squares(resid, xs, jac=jac, bounds=(problem.lower, problem.upper), method=kind,
                        max_nfev=maxiter, ftol=ftol, xtol=1e-10, gtol=gtol)
    return out.x, int(out.nfev), int(out.nfev), str(out.message), out.status > 0


def _run_lbfgsb(problem, xs, maxiter, gtol, ftol, ls):
    from scipy.optimize import minimize

    def fun(x):
        f, g = problem.objective(x, gradient=True)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(x)  # a failed simulation: L-BFGS-B's line search backs off
        return f, g

    out = minimize(fun, xs, jac=True, method="L-BFGS-B", bounds=list(zip(problem.lower, problem.upper)),
                   options={"maxiter": maxiter, "gtol": gtol, "ftol": ftol, "maxfun": 5 * maxiter})
    return out.x, int(out.nit), int(out.nfev), str(out.message), bool(out.success)


def _run_lm(problem, xs, maxiter, gtol, ftol, ls):
    return levenberg_marquardt(problem.residuals, xs, problem.lower, problem.upper, maxiter=maxiter, gtol=gtol,
                               size=lambda x: abs(float(problem.objective(x, gradient=False))))


def levenberg_marquardt(residuals: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], x0: Sequence[float],
                        lower: Sequence[float], upper: Sequence[float], *, maxiter: int = 1000, gtol: float = 1e-6,
                        ftol: float = 1e-8, size: Callable[[np.ndarray], float] | None = None,
                        max_step: float = 2.0) -> tuple[np.ndarray, int, int, str, bool]:
    """Projected Levenberg-Marquardt minimisation of ``0.5|r(x)|²`` within the box ``[lower, upper]``.

    Gauss-Newton steps ``(JᵀJ + μ·diag(JᵀJ)) d = -Jᵀr`` on the parameters that no active bound holds (at a
    bound with the gradient pointing out), projected onto the box and shortened to ``max_step`` in its largest
    component; the damping ``μ`` follows the ratio of
    actual to predicted decrease (Nielsen's update).  A failed evaluation (non-finite residuals) is a rejected
    step.  The test passes when the projected gradient is at most ``gtol`` in every component, or an accepted
    step changes ``0.5|r|²`` by less than ``ftol·(1 + |f|)`` (fides' default tolerances) while the projected
    gradient is at most half :data:`CONVERGED_GRAD` ``·max(1, size(x))``; 50 such small steps with a larger
    gradient end the run unconverged.

    Parameters
    ----------
    residuals : callable
        ``x -> (r, J)``: residual vector and its Jacobian (rows: residuals).
    x0, lower, upper : array_like
        Start point and bounds.
    maxiter : int
        Accepted-step limit (evaluations are limited to ``5 * maxiter``).
    gtol, ftol : float
        Tolerances of the test above.
    max_step : float
        Longest step in any component (on the parameter scale: 2 is a factor 100 for a log10 parameter).  Full
        Gauss-Newton steps from a poor start jump between basins; with this cap, 10 starts of
        Bruno_JExpBot2016 reached the best value 6 times instead of once, and Boehm_JProteomeRes2014 reached
        it from 7 of 40 starts instead of 3 (docs/petab.md).
    size : callable, optional
        ``x -> |objective|`` that scales the gradient test (default ``0.5|r|²``; :func:`multistart` passes the
        −log posterior, which differs from ``0.5|r|²`` by the noise residuals' offset).

    Returns
    -------
    tuple
        ``(x, iterations, evaluations, message, test_passed)``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 5); y = 2 * np.exp(-t)
    >>> fun = lambda p: (p[0] * np.exp(-p[1] * t) - y,
    ...                  np.column_stack([np.exp(-p[1] * t), -p[0] * t * np.exp(-p[1] * t)]))
    >>> x, *_, ok = levenberg_marquardt(fun, [1.0, 3.0], [0, 0], [10, 10])
    >>> np.round(x, 6).tolist(), ok
    ([2.0, 1.0], True)
    """
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    x = np.clip(np.asarray(x0, float), lo, hi)
    r, J = residuals(x)
    nfev = 1
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(J))):
        return x, 0, nfev, "residuals not finite at the start", False
    f = 0.5 * float(r @ r)
    g, H = J.T @ r, J.T @ J
    mu, nu = 1e-3, 2.0
    span = hi - lo
    small = 0
    for it in range(1, maxiter + 1):
        held = ((x - lo <= 1e-10 * span) & (g > 0)) | ((hi - x <= 1e-10 * span) & (g < 0))
        free = ~held
        if np.max(np.abs(g[free]), initial=0.0) <= gtol:
            return x, it, nfev, "projected gradient below gtol", True
        Hf = H[np.ix_(free, free)]
        dg = np.maximum(np.diag(Hf), 1e-12 * max(1.0, float(np.max(np.diag(Hf), initial=0.0))))
        while True:
            d = np.zeros_like(x)
            A = Hf + mu * np.diag(dg)
            try:
                d[free] = np.linalg.solve(A, -g[free])
            except np.linalg.LinAlgError:
                d[free] = np.linalg.lstsq(A, -g[free], rcond=None)[0]
            xn = np.clip(x + d, lo, hi)
            big = np.max(np.abs(xn - x))
            if big > max_step:  # the projected step, shortened to max_step in its largest component
                xn = x + (xn - x) * (max_step / big)
            s = xn - x
            if np.max(np.abs(s)) <= 1e-14 * (1 + np.max(np.abs(x))):
                return x, it, nfev, "step below machine precision", False
            pred = -(g @ s + 0.5 * s @ H @ s)
            rn, Jn = residuals(xn)
            nfev += 1
            ok = bool(np.all(np.isfinite(rn)) and np.all(np.isfinite(Jn)))
            fn = 0.5 * float(rn @ rn) if ok else math.inf
            rho = (f - fn) / pred if pred > 0 else -1.0
            if ok and rho > 1e-4:
                mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                break
            mu *= nu
            nu *= 2.0
            if mu > 1e16 or nfev >= 5 * maxiter:
                return x, it, nfev, "damping grew without a decrease", False
        df = f - fn
        x, r, J, f = xn, rn, Jn, fn
        g, H = J.T @ r, J.T @ J
        if df <= ftol * (1.0 + abs(f)):
            held = ((x - lo <= 1e-10 * span) & (g > 0)) | ((hi - x <= 1e-10 * span) & (g < 0))
            if np.max(np.abs(g[~held]), initial=0.0) <= 0.5 * CONVERGED_GRAD * max(1.0, f if size is None else size(x)):
                return x, it, nfev, "objective change below ftol*(1 + |f|)", True
            small += 1  # slow progress with a gradient that is not small: keep going, but not for ever
            if small >= 50:
                return x, it, nfev, "objective change below ftol*(1 + |f|) for 50 steps; gradient not small", False
        else:
            small = 0
    return x, maxiter, nfev, "iteration limit", False


def _run_fides(problem, xs, maxiter, gtol, ftol, ls):
    import logging

    import fides

    nfev = [0]
    if ls:
        res = _residual_cache(problem)

        def fun(x):
            nfev[0] += 1
            r, J = res(x)
            if not (np.all(np.isfinite(r)) and np.all(np.isfinite(J))):
                n = len(x)
                return math.nan, np.full(n, math.nan), np.full((n, n), math.nan)  # fides rejects the step
            return 0.5 * float(r @ r), J.T @ r, J.T @ J
        update = None
    else:
        def fun(x):
            nfev[0] += 1
            f, g = problem.objective(x, gradient=True)
            return (f, g) if np.isfinite(f) else (math.nan, np.full(len(x), math.nan))
        update = fides.BFGS()
    opt = fides.Optimizer(fun, ub=np.asarray(problem.upper, float), lb=np.asarray(problem.lower, float),
                          verbose=logging.WARNING, hessian_update=update,
                          options={fides.Options.MAXITER: maxiter, fides.Options.GATOL: gtol})
    logging.getLogger("fides").setLevel(logging.WARNING)
    opt.minimize(np.asarray(xs, float))
    flag = opt.exitflag
    return opt.x_min, int(opt.iteration), nfev[0], f"fides {flag.name}", int(flag) > 0

"""Maximum-likelihood fits: :class:`Fitter` (one objective, pooled over subjects) and :class:`SubjectFitter`.

Both follow the scikit-learn convention: configuration in ``__init__``, the
work in ``fit()``, which returns a result object.

The optimiser is scipy's ``least_squares`` (trust-region reflective method,
bounds respected) on the residual vector of
:meth:`~bonemet_ode.estimate.problem.FitProblem.residuals`, whose squared norm is
twice the negative log-likelihood (variance and censoring terms included)
plus the extra penalties.  With forward sensitivities (the default where the
model allows, see :class:`~bonemet_ode.estimate.problem.FitProblem`) it receives
the exact Jacobian of that vector, computed from the same solve as the
residuals; without them it runs through lmfit's ``least_squares`` with
finite-difference Jacobians (one extra solve per parameter).  Multi-start:
the start values first, then seeded random draws within the
bounds; the start with the lowest objective is kept.  Standard errors come
from the inverse Gauss-Newton (expected Fisher) information computed from
the Jacobians of the predictions at the estimate.

What is estimated is stated once, in an
:class:`~bonemet_ode.estimate.estimation_problem.EstimationProblem`
(``Fitter(problem)``); ``Fitter(model, data, **problem_keywords)`` is a
shortcut that builds it.  Every result carries a :attr:`FitResult.status`:
a fit that never left its start, whose information matrix is singular, or
that ran out of evaluations is reported as such, never as converged.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..data.readers import DataTable
from ..errors import BonemetError, BonemetWarning, FitError
from ..model import Model
from .estimation_problem import EstimationProblem, as_problem, to_lmfit
from .parameters import FitParameter, start_values
from .problem import FitProblem
from .result import FitResult, SubjectFits

if TYPE_CHECKING:  # pragma: no cover
    import lmfit
    from typing_extensions import Unpack

    from .estimation_problem import ProblemOptions

__all__ = [
    "UNINFORMED_RSE",
    "Fitter",
    "LocalFit",
    "SubjectFitter",
    "covariance_from_information",
    "fit_status",
    "resolve_fit",
    "uninformed_parameters",
]

#: Relative change below which a parameter counts as not having left its start.
NOT_MOVED_RTOL = 1e-9

#: A standard error above this many times its estimate (``max(|x|, 1e-3)`` for linear parameters)
#: means the data do not inform the parameter: the information is numerically singular (a flat objective).
UNINFORMED_RSE = 100.0


def covariance_from_information(info: np.ndarray, max_condition: float = 1e13) -> np.ndarray:
    """Inverse of a Fisher information matrix, NaN-filled when it is singular or ill-conditioned."""
    if info.size == 0:
        return np.zeros((0, 0))
    if not np.all(np.isfinite(info)):
        return np.full(info.shape, np.nan)
    d = np.sqrt(np.abs(np.diag(info)))
    if np.any(d == 0):
        return np.full(info.shape, np.nan)
    scaled = info / np.outer(d, d)  # equilibrate before judging the conditioning
    if np.linalg.cond(scaled) > max_condition:
        return np.full(info.shape, np.nan)
    inv: np.ndarray = np.linalg.inv(scaled) / np.outer(d, d)
    return inv


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise FitError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


class LocalFit(NamedTuple):
    """One local optimisation: where it ended and how.

    ``outcome`` is ``"ok"`` (the optimiser met its tolerance), ``"max_evaluations"``
    (it stopped at ``max_nfev``), or ``"failed"`` (it raised or gave up).
    """

    start: dict[str, float]
    values: dict[str, float]
    success: bool
    message: str
    nfev: int
    outcome: str


def fit_status(outcome: str, objective: float, moved: bool, covariance: np.ndarray,
               uninformed: Sequence[str] = ()) -> str:
    """The status of a fit from its optimiser outcome, objective, movement and covariance.

    ``uninformed`` names estimated parameters whose standard error exceeds
    :data:`UNINFORMED_RSE` times their value (a numerically singular
    information matrix, e.g. a flat objective when all values are censored).

    Returns
    -------
    str
        ``"failed"`` (optimiser failed or non-finite objective),
        ``"max_evaluations"``, ``"not_moved"`` (no estimated parameter left
        its start and the information is singular: the data do not inform
        the parameters there), ``"singular_hessian"`` (the information is
        singular or ill-conditioned, so standard errors are undefined), or
        ``"converged"``.  A start that is already the optimum (not moved,
        regular information) is ``"converged"``.

    Examples
    --------
    >>> import numpy as np
    >>> fit_status("ok", 1.0, True, np.eye(2)), fit_status("ok", 1.0, False, np.full((1, 1), np.nan))
    ('converged', 'not_moved')
    """
    if outcome == "failed" or not math.isfinite(objective):
        return "failed"
    if outcome == "max_evaluations":
        return "max_evaluations"
    singular = (covariance.size > 0 and not bool(np.all(np.isfinite(covariance)))) or bool(uninformed)
    if singular:
        return "singular_hessian" if moved else "not_moved"
    return "converged"


def _moved(start: Mapping[str, float], end: Mapping[str, float], names: Iterable[str]) -> bool:
    return any(abs(float(end[n]) - float(start[n])) > NOT_MOVED_RTOL * max(abs(float(start[n])), 1e-300)
               for n in names)


def uninformed_parameters(parameters: Sequence[FitParameter], values: Mapping[str, float],
                          covariance: np.ndarray) -> list[str]:
    """Estimated parameters whose standard error exceeds :data:`UNINFORMED_RSE` times their value."""
    varied = [p for p in parameters if p.vary]
    if covariance.shape != (len(varied), len(varied)):
        return []
    out = []
    for p, v in zip(varied, np.diag(covariance)):
        if not math.isfinite(float(v)) or v < 0:
            continue
        x = abs(float(values[p.name]))
        ref = x if p.log_scale and x > 0 else max(x, 1e-3)
        if math.sqrt(float(v)) > UNINFORMED_RSE * ref:
            out.append(p.name)
    return out


def _outcome(success: bool, message: str) -> str:
    text = message.lower()
    if "maximum number of function evaluations" in text or "number of function evaluations >" in text:
        return "max_evaluations"
    return "ok" if success else "failed"


class Fitter:
    """Fit one model to a data table by maximum likelihood (all subjects pooled).

    Parameters
    ----------
    problem : EstimationProblem or Model
        What is estimated.  As a shortcut, a model followed by ``data`` and
        the problem keywords of
        :class:`~bonemet_ode.estimate.estimation_problem.EstimationProblem`
        (``observations``, ``noise``, ``free``, ``fixed``, ``bounds``,
        ``initial``, ``scales``, ``priors``, ``arm_specific``, ``arms``,
        ``extra_penalties``, ``options``, ``sensitivities``, ``parameters``),
        from which the problem is built.
    data : DataTable, optional
        Measurements (only with a model).
    n_starts : int
        Number of starts (the first is the start values).
    seed : int
        Seed of the random starts.
    max_nfev : int
        Maximum objective evaluations per start.
    label : str
        Name of the fit in results (``"pooled"``, or a subject id).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bonemet_ode.data import DataTable
    >>> from bonemet_ode.estimate import Fitter
    >>> from bonemet_ode.models.growth import exponential
    >>> t = np.arange(1.0, 8.0)
    >>> data = DataTable(pd.DataFrame({"subject": "m1", "arm": "control", "time": t,
    ...                                "observable": "tumor_volume", "value": 2.0 * np.exp(0.3 * t)}))
    >>> fit = Fitter(exponential(), data, noise="lognormal", fixed={"V0": 2.0, "noise_sigma": 0.1}).fit()
    >>> round(fit.values["alpha"], 6), fit.status
    (0.3, 'converged')
    """

    def __init__(self, problem: EstimationProblem | Model, data: DataTable | None = None, *, n_starts: int = 1,
                 seed: int = 0, max_nfev: int = 2000, label: str = "pooled",
                 **problem_options: Unpack[ProblemOptions]) -> None:
        self.n_starts = _check_int("n_starts", n_starts, 1)
        self.seed = _check_int("seed", seed, 0)
        self.max_nfev = _check_int("max_nfev", max_nfev, 1)
        self.label = str(label)
        self.estimation_problem = as_problem(problem, data, problem_options, "Fitter")
        self.problem: FitProblem = self.estimation_problem.compile()

    def lmfit_parameters(self, values: Mapping[str, float] | None = None) -> lmfit.Parameters:
        """The fit's parameters as :class:`lmfit.Parameters` (bounds and ``vary`` set)."""
        return to_lmfit(self.problem.parameters, values or self.problem.initial_values())

    def _residual(self, params: lmfit.Parameters) -> np.ndarray:
        return self.problem.residuals(params.valuesdict())

    def minimize(self, start: Mapping[str, float], hold: Sequence[str] = ()) -> tuple[dict[str, float], bool, str, int]:
        """One local optimisation from ``start``: ``(values, success, message, nfev)``.

        Parameters named in ``hold`` stay at their ``start`` values (used by
        profiles).  ``nfev`` counts evaluations of the residual vector (each
        one solve per arm; with sensitivities, residuals and their Jacobian
        come from the same solve).  :meth:`local_fit` also tells how it ended.
        """
        out = self.local_fit(start, hold)
        return out.values, out.success, out.message, out.nfev

    def local_fit(self, start: Mapping[str, float], hold: Sequence[str] = ()) -> LocalFit:
        """One local optimisation from ``start`` (see :meth:`minimize`), with its outcome."""
        import lmfit
        unknown = [n for n in hold if n not in self.problem.by_name]
        if unknown:
            raise FitError(f"hold: unknown parameter(s) {unknown}; the fit has {list(self.problem.by_name)}")
        missing = [p.name for p in self.problem.parameters if p.name not in start]
        if missing:
            raise FitError(f"start: no value for parameter(s) {missing}")
        base = {k: float(v) for k, v in start.items()}
        names = [p.name for p in self.problem.parameters if p.vary and p.name not in hold]
        if not names:
            return LocalFit(base, dict(base), True, "nothing to optimise", 0, "ok")
        if self.problem.uses_sensitivities:
            return self._minimize_exact(base, names)
        params = self.lmfit_parameters(base)
        for name in hold:
            params[name].set(vary=False)
        try:
            with np.errstate(invalid="ignore", divide="ignore"):  # lmfit's own covariance is not used
                out = lmfit.minimize(self._residual, params, method="least_squares", calc_covar=False,
                                     max_nfev=self.max_nfev, x_scale="jac", diff_step=1e-6)
        except (ValueError, BonemetError) as exc:
            return LocalFit(base, dict(base), False, f"optimiser failed ({type(exc).__name__}): {exc}", 0, "failed")
        msg = str(out.message)
        return LocalFit(base, {k: float(v) for k, v in out.params.valuesdict().items()}, bool(out.success), msg,
                        int(out.nfev), _outcome(bool(out.success), msg))

    def _minimize_exact(self, base: dict[str, float], names: Sequence[str]) -> LocalFit:
        """:meth:`local_fit` with scipy's trust-region reflective method and exact residual Jacobians.

        The variables are the parameter values themselves with their bounds
        (as lmfit passes them to scipy), the tolerances lmfit's defaults
        (``ftol = xtol = gtol = 1e-8``), ``x_scale="jac"``.  Each residual
        evaluation also computes the Jacobian at that point; scipy asks for
        the Jacobian at the point it last evaluated, so it is reused without
        another solve.
        """
        from scipy.optimize import least_squares
        pb = self.problem
        lower = np.array([pb.by_name[n].lower for n in names], dtype=float)
        upper = np.array([pb.by_name[n].upper for n in names], dtype=float)
        x0 = np.array([base[n] for n in names], dtype=float)
        cache: dict[str, np.ndarray | None] = {"x": None, "jac": None}
        count = [0]

        def at(x: np.ndarray) -> dict[str, float]:
            v = dict(base)
            v.update(zip(names, (float(xi) for xi in x)))
            return v

        def fun(x: np.ndarray) -> np.ndarray:
            count[0] += 1
            r, jac = pb.residual_jacobian(at(x), names, fallback=False)
            cache["x"], cache["jac"] = np.array(x, dtype=float), jac
            return r

        def jac(x: np.ndarray, *_: object) -> np.ndarray:
            cached_x, cached_jac = cache["x"], cache["jac"]
            if cached_x is not None and cached_jac is not None and np.array_equal(cached_x, x):
                return cached_jac
            count[0] += 1
            _resid, j = pb.residual_jacobian(at(x), names, fallback=True)
            if j is None:  # pragma: no cover - fallback=True always returns a Jacobian
                raise FitError("no Jacobian")
            return j

        try:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                out = least_squares(fun, x0, jac=jac, bounds=(lower, upper), method="trf", x_scale="jac",
                                    ftol=1e-8, xtol=1e-8, gtol=1e-8, max_nfev=self.max_nfev)
        except (ValueError, BonemetError) as exc:
            return LocalFit(base, dict(base), False, f"optimiser failed ({type(exc).__name__}): {exc}", count[0],
                            "failed")
        outcome = "max_evaluations" if out.status == 0 else ("ok" if out.success else "failed")
        return LocalFit(base, at(out.x), bool(out.success), str(out.message), count[0], outcome)

    def fit(self) -> FitResult:
        """Run every start and return the best fit (see :attr:`FitResult.status` for how it ended).

        Returns
        -------
        FitResult

        Raises
        ------
        FitError
            When no start reaches a finite objective.
        """
        t0 = time.perf_counter()
        rng = np.random.default_rng(self.seed)
        best: tuple[float, LocalFit] | None = None
        objectives, nfev = [], 0
        for start in start_values(self.problem.parameters, self.n_starts, rng):
            local = self.local_fit(start)
            nfev += local.nfev
            obj = self.problem.objective(local.values)
            objectives.append(obj)
            if math.isfinite(obj) and (best is None or obj < best[0]):
                best = (obj, local)
        if best is None:
            raise FitError(f"fit {self.label!r}: no start reached a finite objective "
                           f"(solver failures or non-positive predictions); try other bounds or starts")
        local = best[1]
        result = self._result(local.values, local.message, nfev, objectives, time.perf_counter() - t0,
                              outcome=local.outcome, start=local.start)
        if result.at_bound:
            where = ", ".join(f"{k} = {result.values[k]:.6g} at its {side} bound"
                              for k, side in result.at_bound.items())
            warnings.warn(f"fit [{self.label}] ({result.status}): {where}; the optimum is constrained there, so the "
                          f"Wald SE and interval are not valid (FitResult.at_bound; table() clips the interval); "
                          f"widen the bound or fix the parameter", BonemetWarning, stacklevel=2)
        return result

    def result_at(self, values: Mapping[str, float], message: str = "evaluated, not optimised") -> FitResult:
        """A :class:`FitResult` at given parameter values (no optimisation; status from the information only)."""
        full = {**self.problem.initial_values(), **dict(values)}
        return self._result(full, message, 0, [self.problem.objective(full)], 0.0, outcome="ok", start=None)

    def _result(self, values: dict[str, float], msg: str, nfev: int, objectives: list[float], wall: float, *,
                outcome: str, start: Mapping[str, float] | None) -> FitResult:
        pb = self.problem
        nll = pb.nll(values)
        pen = pb.penalty(values)
        cov = covariance_from_information(pb.information(values, pb.varied))
        moved = True if start is None else _moved(start, values, pb.varied)
        uninformed = uninformed_parameters(pb.parameters, values, cov)
        status = fit_status(outcome, nll, moved, cov, uninformed)
        if status != "converged":
            note = _STATUS_NOTES[status]
            if uninformed and status in ("singular_hessian", "not_moved"):
                note += f" (standard errors of {uninformed} exceed {UNINFORMED_RSE:g}x their estimates)"
            msg = f"{note} (optimiser: {msg})"
        curves = pb.curves(values)
        curves.insert(0, "subject", pb.data.subjects[0] if len(pb.data.subjects) == 1 else "")
        if pb.uses_sensitivities:
            method = (f"maximum likelihood, scipy least_squares (trust-region reflective) with exact Jacobians "
                      f"from forward sensitivities, {self.n_starts} start(s), seed {self.seed}")
        else:
            method = (f"maximum likelihood, lmfit least_squares (trust-region reflective) with finite-difference "
                      f"Jacobians, {self.n_starts} start(s), seed {self.seed}")
        return FitResult(
            model=pb.model.name, label=self.label, parameters=pb.parameters,
            values={k: float(v) for k, v in values.items()}, covariance=cov, nll=nll,
            penalty=0.5 * float(pen @ pen), n_observations=pb.n_observations,
            n_censored=int(pb.censored.sum()), success=status == "converged", message=msg, nfev=nfev,
            start_objectives=tuple(float(o) for o in objectives),
            noise={o: n.kind for o, n in pb.noise.items()}, points=pb.points(values), curves=curves,
            wall_time=wall, method=method, units={o: m.unit for o, m in pb.observations.items()},
            status=status, problem=self.estimation_problem,
        )


_STATUS_NOTES = {
    "failed": "the optimiser failed",
    "max_evaluations": "stopped at max_nfev before converging",
    "not_moved": "no estimated parameter left its start and the information matrix is singular: "
                 "the data do not inform the parameters (too few points, all censored, or a flat objective)",
    "singular_hessian": "the information matrix is singular or ill-conditioned: some parameters (or "
                        "combinations) are not identifiable from these data; standard errors are undefined",
}


class SubjectFitter:
    """Fit a model to every subject separately (each with its own parameters and noise).

    Parameters
    ----------
    problem : EstimationProblem or Model
        What is estimated (each subject's fit uses the problem restricted to
        its rows, :meth:`EstimationProblem.for_subject`); or, as a shortcut,
        a model, ``data`` and the problem keywords (as for :class:`Fitter`).
    data : DataTable, optional
        Measurements (only with a model).
    n_starts, max_nfev
        As for :class:`Fitter`.
    seed : int
        Seed; subject ``i`` uses the stream ``(seed, i)``.
    subjects : sequence of str, optional
        Subjects to fit (default: all).
    progress : bool
        Show a progress bar (tqdm).

    Notes
    -----
    A subject whose fit raises does not stop the others: it is listed in
    :attr:`SubjectFits.failed` with the message.
    """

    def __init__(self, problem: EstimationProblem | Model, data: DataTable | None = None, *, n_starts: int = 1,
                 seed: int = 0, max_nfev: int = 2000, subjects: Sequence[str] | None = None, progress: bool = False,
                 **problem_options: Unpack[ProblemOptions]) -> None:
        self.estimation_problem = as_problem(problem, data, problem_options, "SubjectFitter")
        ep = self.estimation_problem
        self.model = ep.model
        self.data = ep.data
        self.subjects = tuple(subjects) if subjects is not None else ep.data.subjects
        unknown = [s for s in self.subjects if s not in ep.data.subjects]
        if unknown:
            raise FitError(f"subjects: unknown subject(s) {unknown[:5]}; the data have {list(ep.data.subjects)[:10]}")
        self.n_starts = _check_int("n_starts", n_starts, 1)
        self.max_nfev = _check_int("max_nfev", max_nfev, 1)
        self.seed = _check_int("seed", seed, 0)
        self.progress = bool(progress)

    def fitter(self, subject: str) -> Fitter:
        """The :class:`Fitter` of one subject."""
        i = self.data.subjects.index(subject)
        seed = int(np.random.SeedSequence([self.seed, i]).generate_state(1)[0])
        return Fitter(self.estimation_problem.for_subject(subject), n_starts=self.n_starts, seed=seed,
                      max_nfev=self.max_nfev, label=subject)

    def fit(self) -> SubjectFits:
        """Fit every subject; failures are recorded, not raised."""
        t0 = time.perf_counter()
        fits, failed = {}, {}
        items: Iterable[str] = self.subjects
        if self.progress:
            from tqdm import tqdm

            items = tqdm(items, desc=f"fitting {self.model.name}", unit="subject")
        for s in items:
            try:
                fits[s] = self.fitter(s).fit()
            except BonemetError as exc:
                failed[s] = str(exc)
        return SubjectFits(model=self.model.name, fits=fits, failed=failed, wall_time=time.perf_counter() - t0)


def resolve_fit(source: Fitter | EstimationProblem | FitResult, result: FitResult | None, who: str
                ) -> tuple[Fitter, FitResult]:
    """The fitter and maximum-likelihood result that ``profile_likelihood`` / ``sample_posterior`` start from.

    ``source`` is a :class:`Fitter`, an :class:`EstimationProblem` or a
    :class:`FitResult` (which remembers its problem unless it was loaded
    from a file).  Without ``result``, the problem is fitted first.
    """
    if result is not None and not isinstance(result, FitResult):
        raise FitError(f"{who}: result: expected a FitResult, got {type(result).__name__}")
    if isinstance(source, FitResult):
        if result is not None:
            raise FitError(f"{who}: got a FitResult twice; pass {who}(result) or {who}(problem, result)")
        if source.problem is None:
            raise FitError(f"{who}: this FitResult does not carry its problem (it was loaded from a file); "
                           f"pass it with its EstimationProblem: {who}(problem, result)")
        return Fitter(source.problem), source
    if isinstance(source, EstimationProblem):
        fitter = Fitter(source)
    elif isinstance(source, Fitter):
        fitter = source
    else:
        raise FitError(f"{who}: expected an EstimationProblem, a FitResult or a Fitter, got {type(source).__name__}")
    if result is None:
        result = fitter.fit()
    missing = [n for n in fitter.problem.by_name if n not in result.values]
    if missing:
        raise FitError(f"{who}: the result has no value for parameter(s) {missing} of the problem; "
                       "is it a fit of another problem?")
    return fitter, result

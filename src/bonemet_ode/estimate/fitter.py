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
the model's default values first, then seeded random draws within the
bounds; the start with the lowest objective is kept.  Standard errors come
from the inverse Gauss-Newton (expected Fisher) information computed from
the Jacobians of the predictions at the estimate.
"""

from __future__ import annotations

import math
import time
from typing import Mapping, Sequence

import lmfit
import numpy as np
from scipy.optimize import least_squares

from ..errors import BonemetError, FitError
from ..model import Model
from ..simulate import Arm, SolverOptions
from ..data.readers import DataTable
from .noise import NoiseModel
from .observation import ObservationMap
from .parameters import start_values
from .problem import FitProblem, Penalty, check_sensitivity_mode
from .result import FitResult, SubjectFits

__all__ = ["Fitter", "SubjectFitter", "covariance_from_information"]


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
    return np.linalg.inv(scaled) / np.outer(d, d)


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise FitError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


class Fitter:
    """Fit one model to a data table by maximum likelihood (all subjects pooled).

    Parameters
    ----------
    model : Model
        The model.
    data : DataTable
        Measurements.
    observations : mapping of str to ObservationMap, optional
        Prediction of each data observable (default: same-named state or
        observable, or the only state).
    noise : str or NoiseModel
        ``"additive"``, ``"proportional"`` (default), ``"combined"``,
        ``"lognormal"`` or a :class:`~bonemet_ode.estimate.noise.NoiseModel`.
    free : sequence of str, optional
        Model parameters to estimate (default: all not in ``fixed``).
    fixed : mapping, optional
        Fixed values (model, noise or observation parameters).
    bounds : mapping, optional
        ``{name: (lower, upper)}`` search bounds inside the model's bounds.
    arm_specific : sequence of str
        Estimated model parameters with one value per arm (the others are shared).
    arms : mapping of str to Arm, optional
        Treatment of each data arm (default: untreated).
    n_starts : int
        Number of starts (the first is the default values).
    seed : int
        Seed of the random starts.
    extra_penalties : callable, optional
        ``f(values) -> array``; each entry ``p`` adds ``p**2/2`` to the
        objective (qualitative outcomes plug in here).
    options : SolverOptions, optional
        Solver tolerances (default ``rtol=1e-9, atol=1e-12``).
    max_nfev : int
        Maximum objective evaluations per start.
    label : str
        Name of the fit in results (``"pooled"``, or a subject id).
    sensitivities : bool or "auto"
        Exact Jacobians from forward sensitivities (``"auto"``: where the
        model allows; ``False``: finite differences).  See
        :class:`~bonemet_ode.estimate.problem.FitProblem`.

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
    >>> round(fit.values["alpha"], 6), fit.success
    (0.3, True)
    """

    def __init__(
        self,
        model: Model,
        data: DataTable,
        *,
        observations: Mapping[str, ObservationMap] | None = None,
        noise: str | NoiseModel = "proportional",
        free: Sequence[str] | None = None,
        fixed: Mapping[str, float] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        arm_specific: Sequence[str] = (),
        arms: Mapping[str, Arm] | None = None,
        n_starts: int = 1,
        seed: int = 0,
        extra_penalties: Penalty | None = None,
        options: SolverOptions | None = None,
        max_nfev: int = 2000,
        label: str = "pooled",
        sensitivities: bool | str = "auto",
    ) -> None:
        self.n_starts = _check_int("n_starts", n_starts, 1)
        self.seed = _check_int("seed", seed, 0)
        self.max_nfev = _check_int("max_nfev", max_nfev, 1)
        self.label = str(label)
        self.problem = FitProblem(model, data, observations=observations, noise=noise, free=free, fixed=fixed,
                                  bounds=bounds, arm_specific=arm_specific, arms=arms, options=options,
                                  extra_penalties=extra_penalties, sensitivities=sensitivities)

    def lmfit_parameters(self, values: Mapping[str, float] | None = None) -> lmfit.Parameters:
        """The fit's parameters as :class:`lmfit.Parameters` (bounds and ``vary`` set)."""
        values = values or self.problem.initial_values()
        params = lmfit.Parameters()
        for p in self.problem.parameters:
            params.add(p.name, value=float(values[p.name]), min=p.lower, max=p.upper, vary=p.vary)
        return params

    def _residual(self, params: lmfit.Parameters) -> np.ndarray:
        return self.problem.residuals(params.valuesdict())

    def minimize(self, start: Mapping[str, float], hold: Sequence[str] = ()) -> tuple[dict[str, float], bool, str, int]:
        """One local optimisation from ``start``: ``(values, success, message, nfev)``.

        Parameters named in ``hold`` stay at their ``start`` values (used by
        profiles).  ``nfev`` counts evaluations of the residual vector (each
        one solve per arm; with sensitivities, residuals and their Jacobian
        come from the same solve).
        """
        unknown = [n for n in hold if n not in self.problem.by_name]
        if unknown:
            raise FitError(f"hold: unknown parameter(s) {unknown}; the fit has {list(self.problem.by_name)}")
        names = [p.name for p in self.problem.parameters if p.vary and p.name not in hold]
        if not names:
            return dict(start), True, "nothing to optimise", 0
        if self.problem.uses_sensitivities:
            return self._minimize_exact(start, names)
        params = self.lmfit_parameters(start)
        for name in hold:
            params[name].set(vary=False)
        try:
            with np.errstate(invalid="ignore", divide="ignore"):  # lmfit's own covariance is not used
                out = lmfit.minimize(self._residual, params, method="least_squares", calc_covar=False,
                                     max_nfev=self.max_nfev, x_scale="jac", diff_step=1e-6)
        except (ValueError, BonemetError) as exc:
            return dict(start), False, f"optimiser failed ({type(exc).__name__}): {exc}", 0
        return dict(out.params.valuesdict()), bool(out.success), str(out.message), int(out.nfev)

    def _minimize_exact(self, start: Mapping[str, float], names: Sequence[str]
                        ) -> tuple[dict[str, float], bool, str, int]:
        """:meth:`minimize` with scipy's trust-region reflective method and exact residual Jacobians.

        The variables are the parameter values themselves with their bounds
        (as lmfit passes them to scipy), the tolerances lmfit's defaults
        (``ftol = xtol = gtol = 1e-8``), ``x_scale="jac"``.  Each residual
        evaluation also computes the Jacobian at that point; scipy asks for
        the Jacobian at the point it last evaluated, so it is reused without
        another solve.
        """
        pb = self.problem
        missing = [p.name for p in pb.parameters if p.name not in start]
        if missing:
            raise FitError(f"start: no value for parameter(s) {missing}")
        base = {k: float(v) for k, v in start.items()}
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
            if cache["x"] is not None and cache["jac"] is not None and np.array_equal(cache["x"], x):
                return cache["jac"]
            count[0] += 1
            _, j = pb.residual_jacobian(at(x), names, fallback=True)
            return j

        try:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                out = least_squares(fun, x0, jac=jac, bounds=(lower, upper), method="trf", x_scale="jac",
                                    ftol=1e-8, xtol=1e-8, gtol=1e-8, max_nfev=self.max_nfev)
        except (ValueError, BonemetError) as exc:
            return dict(start), False, f"optimiser failed ({type(exc).__name__}): {exc}", count[0]
        return at(out.x), bool(out.success), str(out.message), count[0]

    def fit(self) -> FitResult:
        """Run every start and return the best fit.

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
        best: tuple[float, dict[str, float], bool, str] | None = None
        objectives, nfev = [], 0
        for start in start_values(self.problem.parameters, self.n_starts, rng):
            values, ok, msg, n = self.minimize(start)
            nfev += n
            obj = self.problem.objective(values)
            objectives.append(obj)
            if math.isfinite(obj) and (best is None or obj < best[0]):
                best = (obj, values, ok, msg)
        if best is None:
            raise FitError(f"fit {self.label!r}: no start reached a finite objective "
                           f"(solver failures or non-positive predictions); try other bounds or starts")
        return self._result(best[1], best[2], best[3], nfev, objectives, time.perf_counter() - t0)

    def result_at(self, values: Mapping[str, float], message: str = "evaluated, not optimised") -> FitResult:
        """A :class:`FitResult` at given parameter values (no optimisation)."""
        full = {**self.problem.initial_values(), **dict(values)}
        return self._result(full, True, message, 0, [self.problem.objective(full)], 0.0)

    def _result(self, values: dict[str, float], ok: bool, msg: str, nfev: int, objectives: list[float],
                wall: float) -> FitResult:
        pb = self.problem
        nll = pb.nll(values)
        pen = pb.penalty(values)
        cov = covariance_from_information(pb.information(values, pb.varied))
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
            values={k: float(v) for k, v in values.items()}, covariance=cov, nll=nll, penalty=0.5 * float(pen @ pen), n_observations=pb.n_observations,
            n_censored=int(pb.censored.sum()), success=bool(ok and math.isfinite(nll)), message=msg, nfev=nfev,
            start_objectives=tuple(float(o) for o in objectives),
            noise={o: n.kind for o, n in pb.noise.items()}, points=pb.points(values), curves=curves,
            wall_time=wall, method=method, units={o: m.unit for o, m in pb.observations.items()},
        )


class SubjectFitter:
    """Fit a model to every subject separately (each with its own parameters and noise).

    Parameters
    ----------
    model, data, observations, noise, free, fixed, bounds, arms, n_starts, extra_penalties, options, max_nfev
        As for :class:`Fitter` (``arms`` maps each data arm to its treatment).
    seed : int
        Seed; subject ``i`` uses the stream ``(seed, i)``.
    subjects : sequence of str, optional
        Subjects to fit (default: all).
    progress : bool
        Show a progress bar (tqdm).
    sensitivities : bool or "auto"
        As for :class:`Fitter`.

    Notes
    -----
    A subject whose fit raises does not stop the others: it is listed in
    :attr:`SubjectFits.failed` with the message.
    """

    def __init__(
        self,
        model: Model,
        data: DataTable,
        *,
        observations: Mapping[str, ObservationMap] | None = None,
        noise: str | NoiseModel = "proportional",
        free: Sequence[str] | None = None,
        fixed: Mapping[str, float] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        arms: Mapping[str, Arm] | None = None,
        n_starts: int = 1,
        seed: int = 0,
        extra_penalties: Penalty | None = None,
        options: SolverOptions | None = None,
        max_nfev: int = 2000,
        subjects: Sequence[str] | None = None,
        progress: bool = False,
        sensitivities: bool | str = "auto",
    ) -> None:
        if not isinstance(data, DataTable):
            raise FitError(f"data: expected a DataTable, got {type(data).__name__}")
        self.model = model
        self.data = data
        self.subjects = tuple(subjects) if subjects is not None else data.subjects
        unknown = [s for s in self.subjects if s not in data.subjects]
        if unknown:
            raise FitError(f"subjects: unknown subject(s) {unknown[:5]}; the data have {list(data.subjects)[:10]}")
        self.kwargs = dict(observations=observations, noise=noise, free=free, fixed=fixed, bounds=bounds,
                           n_starts=_check_int("n_starts", n_starts, 1), extra_penalties=extra_penalties,
                           options=options, max_nfev=_check_int("max_nfev", max_nfev, 1),
                           sensitivities=check_sensitivity_mode(sensitivities))
        self.arms = dict(arms or {})
        self.seed = _check_int("seed", seed, 0)
        self.progress = bool(progress)

    def fitter(self, subject: str) -> Fitter:
        """The :class:`Fitter` of one subject."""
        sub = self.data.subset(subject=subject)
        i = self.data.subjects.index(subject)
        arms = {a: arm for a, arm in self.arms.items() if a in sub.arms}
        seed = int(np.random.SeedSequence([self.seed, i]).generate_state(1)[0])
        return Fitter(self.model, sub, arms=arms, seed=seed, label=subject, **self.kwargs)

    def fit(self) -> SubjectFits:
        """Fit every subject; failures are recorded, not raised."""
        t0 = time.perf_counter()
        fits, failed = {}, {}
        items = self.subjects
        if self.progress:
            from tqdm import tqdm

            items = tqdm(items, desc=f"fitting {self.model.name}", unit="subject")
        for s in items:
            try:
                fits[s] = self.fitter(s).fit()
            except BonemetError as exc:
                failed[s] = str(exc)
        return SubjectFits(model=self.model.name, fits=fits, failed=failed, wall_time=time.perf_counter() - t0)

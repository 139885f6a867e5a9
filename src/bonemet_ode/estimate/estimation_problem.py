"""One statement of a fitting problem: :class:`EstimationProblem`.

Everything a fit needs to know about *what* is estimated lives here, once:
the model, the data, how each data observable is predicted (observation
maps), the noise, the treatment of each data arm, which parameters are
free or fixed, their bounds, start values, scales and (optional) priors.
Every estimator takes it - :class:`~bonemet_ode.estimate.Fitter`,
:class:`~bonemet_ode.estimate.SubjectFitter`,
:class:`~bonemet_ode.estimate.PopulationFitter`,
:func:`~bonemet_ode.estimate.profile_likelihood`,
:func:`~bonemet_ode.estimate.sample_posterior` - and keeps only *how* it
estimates (starts, seeds, iteration limits).  The fitters' keyword form
(``Fitter(model, data, noise=..., fixed=...)``) is a shortcut that builds
the problem from the same keywords (:class:`ProblemOptions`).

Parameters can also be stated as :class:`lmfit.Parameters` (``value``,
``min``/``max``, ``vary``), and results return them
(``result.to_lmfit()``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from ..data.readers import DataTable
from ..errors import FitError
from ..model import Model
from ..simulate import Arm, SolverOptions
from ._rows import RowLayout, check_row_values, row_layout
from .noise import NoiseModel, make_noise
from .observation import ObservationMap, default_observations
from .parameters import (
    SCALES,
    FitParameter,
    Penalty,
    build_parameters,
    extra_parameters,
)
from .problem_derivatives import check_sensitivity_mode

if TYPE_CHECKING:  # pragma: no cover
    import lmfit

    from .problem import FitProblem

__all__ = [
    "PROBLEM_KEYWORDS",
    "EstimationProblem",
    "NormalPrior",
    "ProblemOptions",
    "as_problem",
    "parameters_from_lmfit",
    "to_lmfit",
]


@dataclass(frozen=True)
class NormalPrior:
    """A normal prior on a parameter's estimation scale (PEtab ``parameterScaleNormal``).

    With ``u`` the parameter on its scale (``x``, ``ln x`` or ``log10 x``,
    see :attr:`EstimationProblem.scales`), the objective gains
    ``((u - mean)/sd)**2/2`` - the negative log prior density up to a constant.

    Examples
    --------
    >>> NormalPrior(0.0, 0.5).residual(1.0, "log")
    0.0
    """

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.sd) and self.sd > 0):
            raise FitError(f"NormalPrior: expected a finite mean and a positive sd, got ({self.mean}, {self.sd})")

    def residual(self, value: float, scale: str) -> float:
        """``(u - mean)/sd`` at parameter value ``value`` on ``scale``."""
        if scale == "lin":
            u = value
        else:
            u = math.log(value) if scale == "log" else math.log10(value)
        return (u - self.mean) / self.sd


class ProblemOptions(TypedDict, total=False):
    """The keywords that state a problem: the fitters' keyword shortcut takes exactly these.

    See :class:`EstimationProblem` for their meaning.
    """

    observations: Mapping[str, ObservationMap] | None
    noise: str | NoiseModel
    arms: Mapping[str, Arm] | None
    free: Sequence[str] | None
    fixed: Mapping[str, float] | None
    bounds: Mapping[str, tuple[float, float]] | None
    initial: Mapping[str, float] | None
    scales: Mapping[str, str] | None
    priors: Mapping[str, NormalPrior] | None
    arm_specific: Sequence[str]
    extra_penalties: Penalty | None
    options: SolverOptions | None
    sensitivities: bool | str
    parameters: lmfit.Parameters | None


#: Names of the problem-stating keywords (:class:`ProblemOptions`).
PROBLEM_KEYWORDS = tuple(ProblemOptions.__annotations__)


def parameters_from_lmfit(params: lmfit.Parameters, model: Model) -> dict[str, Any]:
    """``free``, ``fixed``, ``bounds`` and ``initial`` stated by :class:`lmfit.Parameters`.

    ``vary=True`` entries are estimated from ``value`` (model parameters
    among them make up ``free``), ``vary=False`` entries are fixed at
    ``value``; finite ``min``/``max`` become bounds (an infinite side keeps
    the model's or the default bound).  Model parameters not named stay at
    their values and are not estimated.  Constraint expressions (``expr``)
    are refused.  When ``params`` names no model parameter, ``free`` is
    left to the problem's default.

    Raises
    ------
    FitError
        For an entry with ``expr``, or a non-finite value.
    """
    import lmfit
    if not isinstance(params, lmfit.Parameters):
        raise FitError(f"parameters: expected lmfit.Parameters, got {type(params).__name__}")
    free: list[str] = []
    fixed: dict[str, float] = {}
    bounds: dict[str, tuple[float, float]] = {}
    initial: dict[str, float] = {}
    for name, p in params.items():
        if p.expr:
            raise FitError(f"parameters[{name!r}]: lmfit constraint expressions (expr={p.expr!r}) are not "
                           "supported; state the relation in the model instead")
        value = float(p.value)
        if not math.isfinite(value):
            raise FitError(f"parameters[{name!r}]: value must be finite, got {value}")
        if not p.vary:
            fixed[name] = value
            continue
        initial[name] = value
        if name in model.parameter_names:
            free.append(name)
        lo, hi = float(p.min), float(p.max)
        if math.isfinite(lo) or math.isfinite(hi):
            default = model.parameter(name) if name in model.parameter_names else None
            dlo = default.lower if default is not None else -math.inf
            dhi = default.upper if default is not None else math.inf
            bounds[name] = (lo if math.isfinite(lo) else dlo, hi if math.isfinite(hi) else dhi)
    return {"free": free, "fixed": fixed, "bounds": bounds, "initial": initial}


def to_lmfit(parameters: Sequence[FitParameter], values: Mapping[str, float],
             stderr: Mapping[str, float] | None = None) -> lmfit.Parameters:
    """:class:`lmfit.Parameters` with each parameter's value, bounds, ``vary`` (and ``stderr`` when given)."""
    import lmfit
    out = lmfit.Parameters()
    for p in parameters:
        out.add(p.name, value=float(values[p.name]), min=p.lower, max=p.upper, vary=p.vary)
        if stderr is not None and p.vary and math.isfinite(stderr.get(p.name, math.nan)):
            out[p.name].stderr = float(stderr[p.name])
    return out


@dataclass(frozen=True, eq=False)
class EstimationProblem:
    """What is estimated from which data: the one place a fitting problem is stated.

    Parameters
    ----------
    model : Model
        The model.
    data : DataTable
        Measurements (long layout; times in days).
    observations : mapping of str to ObservationMap, optional
        How each data observable is predicted (default: the state or
        observable of the same name, or the model's only state).
    noise : str or NoiseModel
        Noise model of observables whose map has none: ``"additive"``,
        ``"proportional"`` (default), ``"combined"``, ``"lognormal"`` or a
        :class:`~bonemet_ode.estimate.noise.NoiseModel`.
    arms : mapping of str to Arm, optional
        Treatment (dosing, switches) of each data arm (default: untreated).
    free : sequence of str, optional
        Model parameters to estimate (default: every model parameter not in
        ``fixed``).  Noise and observation parameters are estimated unless
        fixed.
    fixed : mapping of str to float, optional
        Parameters held at a value (model, noise or observation names).
    bounds : mapping of str to (float, float), optional
        Search bounds, inside the model's bounds.
    initial : mapping of str to float, optional
        Start values of estimated parameters (default: model values).
    scales : mapping of str to str, optional
        ``"lin"``, ``"log"`` or ``"log10"`` per parameter: the scale of
        random starts, profile steps, population effects and priors
        (default: ``"log"`` for the model's ``log_scale`` parameters, else
        ``"lin"``).  The optimiser itself works on the values.
    priors : mapping of str to NormalPrior, optional
        Priors of estimated parameters on their scale; their terms join the
        objective (a maximum a-posteriori fit) and the MCMC posterior.
    arm_specific : sequence of str
        Estimated model parameters with one value per arm.
    extra_penalties : callable, optional
        ``f(values) -> array``; each entry ``p`` adds ``p**2/2`` to the
        objective (e.g. qualitative outcomes).
    options : SolverOptions, optional
        Solver tolerances (default ``rtol=1e-9, atol=1e-12``).
    sensitivities : bool or "auto"
        Exact derivatives from forward sensitivities (``"auto"``: where
        the model allows; ``False``: finite differences).
    parameters : lmfit.Parameters, optional
        Free/fixed/bounds/initial stated as lmfit parameters (see
        :func:`parameters_from_lmfit`); merged with the keywords above, a
        name stated in both is refused.

    Raises
    ------
    FitError
        At construction, before any fit, naming the offending item: an
        unknown noise model, unknown parameter names, a parameter both
        free and fixed, a fixed or initial value outside its bounds, an
        unknown scale, an observation map the model cannot evaluate, an
        unknown arm, a prior on a parameter that is not estimated.
    DataError
        On first use (:meth:`validate`, or when a fitter compiles the
        problem): a data value the noise model cannot use (a value <= 0
        under log-normal noise, a given sd <= 0).  These depend on each
        subject's own rows, so :class:`~bonemet_ode.estimate.SubjectFitter`
        records them per subject.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bonemet_ode.data import DataTable
    >>> from bonemet_ode.estimate import EstimationProblem, Fitter
    >>> from bonemet_ode.models.growth import exponential
    >>> t = np.arange(1.0, 8.0)
    >>> data = DataTable(pd.DataFrame({"subject": "m1", "arm": "control", "time": t,
    ...                                "observable": "tumor_volume", "value": 2.0 * np.exp(0.25 * t)}))
    >>> problem = EstimationProblem(exponential(), data, noise="lognormal",
    ...                             fixed={"noise_sigma": 0.1}, initial={"alpha": 0.5, "V0": 1.0})
    >>> problem.varied
    ('alpha', 'V0')
    >>> fit = Fitter(problem).fit()
    >>> round(fit.values["alpha"], 6), round(fit.values["V0"], 6), fit.status
    (0.25, 2.0, 'converged')
    >>> fit.to_lmfit()["alpha"].vary
    True
    """

    model: Model
    data: DataTable
    observations: Mapping[str, ObservationMap] | None = None
    noise: str | NoiseModel = "proportional"
    arms: Mapping[str, Arm] | None = None
    free: Sequence[str] | None = None
    fixed: Mapping[str, float] | None = None
    bounds: Mapping[str, tuple[float, float]] | None = None
    initial: Mapping[str, float] | None = None
    scales: Mapping[str, str] | None = None
    priors: Mapping[str, NormalPrior] | None = None
    arm_specific: Sequence[str] = ()
    extra_penalties: Penalty | None = None
    options: SolverOptions | None = None
    sensitivities: bool | str = "auto"
    parameters: InitVar[lmfit.Parameters | None] = None
    _cache: dict[str, Any] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self, parameters: lmfit.Parameters | None) -> None:
        import lmfit
        if not isinstance(self.model, Model):
            raise FitError(f"model: expected a Model, got {type(self.model).__name__}")
        if not isinstance(self.data, DataTable):
            raise FitError(f"data: expected a DataTable (see bonemet_ode.data.readers.read_long), "
                           f"got {type(self.data).__name__}")
        if self.extra_penalties is not None and not callable(self.extra_penalties):
            raise FitError(f"extra_penalties: expected a callable values -> array, got {self.extra_penalties!r}")
        check_sensitivity_mode(self.sensitivities)
        if isinstance(self.free, str):
            raise FitError(f"free: expected a sequence of parameter names, got the string {self.free!r}")
        if isinstance(self.free, lmfit.Parameters) or isinstance(self.fixed, lmfit.Parameters):
            raise FitError("free/fixed: pass lmfit.Parameters as parameters=..., not as free or fixed")
        free = None if self.free is None else tuple(self.free)
        fixed = dict(self.fixed or {})
        bounds = {k: (float(v[0]), float(v[1])) for k, v in (self.bounds or {}).items()}
        initial = dict(self.initial or {})
        if parameters is not None:
            spec = parameters_from_lmfit(parameters, self.model)
            stated = set(fixed) | set(bounds) | set(initial) | set(free or ())
            clash = sorted(stated & set(parameters))
            if clash:
                raise FitError(f"parameters: {clash} are stated both in lmfit.Parameters and in "
                               "free/fixed/bounds/initial; state each parameter once")
            names_model = any(n in self.model.parameter_names for n in parameters)
            if names_model:  # lmfit names the estimated model parameters (vary=True); others are not estimated
                free = tuple(spec["free"]) if free is None else free + tuple(spec["free"])
            fixed.update(spec["fixed"])
            bounds.update(spec["bounds"])
            initial.update(spec["initial"])
        set_ = object.__setattr__
        set_(self, "free", free)
        set_(self, "fixed", fixed)
        set_(self, "bounds", bounds)
        set_(self, "initial", initial)
        set_(self, "scales", dict(self.scales or {}))
        set_(self, "priors", dict(self.priors or {}))
        set_(self, "arm_specific", tuple(self.arm_specific))
        set_(self, "arms", dict(self.arms or {}))
        bad_scale = {n: s for n, s in (self.scales or {}).items() if s not in SCALES}
        if bad_scale:
            raise FitError(f"scales: expected one of {list(SCALES)} per parameter, got {bad_scale}")
        self._configure()

    # ------------------------------------------------------------------ derived (checked at construction)
    def _configure(self) -> dict[str, Any]:
        """Observation maps, noise models, data rows and fit parameters, built and checked once.

        Runs at construction, so that a problem that cannot be fitted as stated - an unknown noise model,
        an unknown parameter name, a fixed value outside its bounds, an observation map naming a symbol
        the model lacks, an unknown arm, a prior on a parameter that is not estimated - is refused before
        any fit starts, never recorded as the failure of every subject.  The *values* of the data rows are
        checked on first use (:meth:`_derived`): a subject whose own data cannot be fitted (a zero under
        log-normal noise) is a per-subject failure for
        :class:`~bonemet_ode.estimate.fitter.SubjectFitter`.
        """
        if "config" in self._cache:
            out: dict[str, Any] = self._cache["config"]
            return out
        arms_given: Mapping[str, Arm] = self.arms or {}
        priors_given: Mapping[str, NormalPrior] = self.priors or {}
        default_noise = make_noise(self.noise)
        if self.observations is not None and not isinstance(self.observations, Mapping):
            raise FitError(f"observations: expected a mapping of observable name to ObservationMap, "
                           f"got {type(self.observations).__name__}")
        for o, m in (self.observations or {}).items():
            if not isinstance(m, ObservationMap):
                raise FitError(f"observations[{o!r}]: expected an ObservationMap, got {m!r}")
        maps = dict(self.observations) if self.observations else default_observations(self.model,
                                                                                       self.data.observables)
        missing = [o for o in self.data.observables if o not in maps]
        if missing:
            raise FitError(f"observations: no ObservationMap for data observable(s) {missing}")
        observation_maps = {o: maps[o] for o in self.data.observables}
        for m in observation_maps.values():
            m.check(self.model)
        noise_models = {o: (m.noise or default_noise) for o, m in observation_maps.items()}
        rows = row_layout(self.data, noise_models, check_values=False)
        unknown = [a for a in arms_given if a not in rows.arm_names]
        if unknown:
            raise FitError(f"arms: unknown arm(s) {unknown}; the data have arms {list(rows.arm_names)}")
        for a, arm in arms_given.items():
            if not isinstance(arm, Arm):
                raise FitError(f"arms[{a!r}]: expected an Arm, got {arm!r}")
        extra = extra_parameters(self.model, rows, observation_maps, noise_models)
        fit_parameters = build_parameters(self.model, rows.arm_names, extra, free=self.free, fixed=self.fixed,
                                          bounds=self.bounds, arm_specific=self.arm_specific, initial=self.initial,
                                          scales=self.scales)
        by_name = {p.name: p for p in fit_parameters}
        for name, prior in priors_given.items():
            if not isinstance(prior, NormalPrior):
                raise FitError(f"priors[{name!r}]: expected a NormalPrior, got {prior!r}")
            if name not in by_name or not by_name[name].vary:
                raise FitError(f"priors: parameter {name!r} is not estimated "
                               f"(estimated: {[p.name for p in fit_parameters if p.vary]})")
            scale = (self.scales or {}).get(name, "log" if by_name[name].log_scale else "lin")
            if scale != "lin" and by_name[name].lower <= 0:
                raise FitError(f"priors[{name!r}]: a prior on the {scale} scale needs a positive lower bound")
        out = {"observation_maps": observation_maps, "noise_models": noise_models, "rows": rows,
               "fit_parameters": fit_parameters}
        self._cache["config"] = out
        return out

    def _derived(self) -> dict[str, Any]:
        """What :meth:`_configure` built, once the data values are checked against the noise models.

        Raises
        ------
        DataError
            When a data value cannot be used (e.g. a value <= 0 under log-normal noise, a given sd <= 0).
        """
        out = self._configure()
        if "rows_checked" not in self._cache:
            check_row_values(self.data, out["rows"], out["noise_models"])
            self._cache["rows_checked"] = True
        return out

    def validate(self) -> EstimationProblem:
        """Check the data values against the noise models too (the rest is checked at construction).

        Returns the problem.

        Raises
        ------
        DataError
            Naming the offending row.
        """
        self._derived()
        return self

    @property
    def fit_parameters(self) -> tuple[FitParameter, ...]:
        """Every fit parameter (model parameters or their arm-specific copies, noise, observation parameters)."""
        out: tuple[FitParameter, ...] = self._derived()["fit_parameters"]
        return out

    @property
    def rows(self) -> RowLayout:
        """The data rows on their likelihood scale."""
        out: RowLayout = self._derived()["rows"]
        return out

    @property
    def observation_maps(self) -> dict[str, ObservationMap]:
        """The map of each data observable (defaults filled in)."""
        out: dict[str, ObservationMap] = self._derived()["observation_maps"]
        return out

    @property
    def noise_models(self) -> dict[str, NoiseModel]:
        """The noise model of each data observable."""
        out: dict[str, NoiseModel] = self._derived()["noise_models"]
        return out

    # ------------------------------------------------------------------ what is estimated
    @property
    def varied(self) -> tuple[str, ...]:
        """Names of the estimated parameters (order of covariances)."""
        return tuple(p.name for p in self.fit_parameters if p.vary)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Every fit parameter: model parameters (arm-specific copies), noise and observation parameters."""
        return tuple(p.name for p in self.fit_parameters)

    def scale(self, name: str) -> str:
        """The scale of a fit parameter: ``"lin"``, ``"log"`` or ``"log10"``."""
        scales: Mapping[str, str] = self.scales or {}
        if name in scales:
            return scales[name]
        p = {q.name: q for q in self.fit_parameters}[name]
        return "log" if p.log_scale else "lin"

    def initial_values(self) -> dict[str, float]:
        """Start (or fixed) value of every fit parameter."""
        return {p.name: p.value for p in self.fit_parameters}

    def prior_residuals(self, values: Mapping[str, float]) -> np.ndarray:
        """``(u - mean)/sd`` of every prior (empty without priors); ``sum(r**2)/2`` joins the objective."""
        priors: Mapping[str, NormalPrior] = self.priors or {}
        return np.array([prior.residual(float(values[n]), self.scale(n)) for n, prior in priors.items()], dtype=float)

    def to_lmfit(self, values: Mapping[str, float] | None = None) -> lmfit.Parameters:
        """The problem's parameters as :class:`lmfit.Parameters` (start values unless ``values`` is given)."""
        return to_lmfit(self.fit_parameters, {**self.initial_values(), **dict(values or {})})

    # ------------------------------------------------------------------ derived problems
    def with_options(self, **changes: Any) -> EstimationProblem:
        """A copy with some problem keywords changed (e.g. ``fixed=...``, ``data=...``)."""
        bad = [k for k in changes if k not in PROBLEM_KEYWORDS and k not in ("model", "data")]
        if bad:
            raise FitError(f"with_options: unknown keyword(s) {bad}; expected {list(PROBLEM_KEYWORDS)}")
        return replace(self, **changes)

    def for_subject(self, subject: str) -> EstimationProblem:
        """The same problem restricted to one subject's rows (and the arms it was measured in)."""
        if subject not in self.data.subjects:
            raise FitError(f"subject {subject!r} is not in the data (subjects: {list(self.data.subjects)[:10]})")
        sub = self.data.subset(subject=subject)
        arms = {a: arm for a, arm in (self.arms or {}).items() if a in sub.arms}
        arm_specific = self.arm_specific
        return replace(self, data=sub, arms=arms, arm_specific=arm_specific)

    def compile(self) -> FitProblem:
        """The compiled objective (one simulator per arm; built once and kept)."""
        if "fit_problem" not in self._cache:
            from .problem import FitProblem

            self._cache["fit_problem"] = FitProblem(self)
        fp: FitProblem = self._cache["fit_problem"]
        return fp

    def __repr__(self) -> str:
        config = self._configure()  # checked at construction: never raises here
        varied = [p.name for p in config["fit_parameters"] if p.vary]
        return (f"<EstimationProblem {self.model.name}: {len(self.data.frame)} rows, "
                f"{len(config['rows'].arm_names)} arm(s), estimating {varied}>")


def as_problem(problem: EstimationProblem | Model, data: DataTable | None, options: Mapping[str, Any],
               who: str) -> EstimationProblem:
    """The :class:`EstimationProblem` of a fitter's arguments: given, or built from the keyword shortcut.

    Raises
    ------
    FitError
        When an EstimationProblem comes with data or problem keywords too
        (state the problem in one place), or the arguments are of the wrong type.
    """
    bad = [k for k in options if k not in PROBLEM_KEYWORDS]
    if bad:
        raise FitError(f"{who}: unknown keyword(s) {bad}; problem keywords are {list(PROBLEM_KEYWORDS)}")
    if isinstance(problem, EstimationProblem):
        if data is not None or options:
            given = (["data"] if data is not None else []) + sorted(options)
            raise FitError(f"{who}: got an EstimationProblem and {given} too; state the problem in one place "
                           "(problem.with_options(...) changes it)")
        return problem
    if isinstance(problem, Model):
        if data is None:
            raise FitError(f"{who}: with a model, give the data too: {who}(model, data, ...)")
        return EstimationProblem(problem, data, **options)
    raise FitError(f"{who}: expected an EstimationProblem (or a Model and a DataTable), got {type(problem).__name__}")

"""The objective of a fit: data rows, per-arm simulators, predictions, likelihood and residuals.

A :class:`FitProblem` ties a model to a :class:`~bonemet_ode.fit.data.DataTable`.
It builds one :class:`~bonemet_ode.simulate.Simulator` per arm on the union
of that arm's measurement times, so that evaluating the objective costs one
compiled solve per arm.  All subjects of an arm share its parameters (a
pooled fit); per-subject fits build one problem per subject.

Derivatives
-----------
With ``sensitivities`` on (the default where possible), each arm also gets a
simulator that integrates the forward sensitivities ``dx/dtheta`` of the
estimated model parameters with the states.  One such solve per arm gives
the predictions ``f`` and their exact Jacobian: for a state or observable
target directly, for an expression target by a complex-step derivative of
the algebraic map along the sensitivities (no ODE solve), times the map's
scale.  The Jacobians of ``mu`` and ``log s`` follow by the chain rule
through the noise model (row-wise slopes ``dmu/df``, ``dlog s/df``), those
of noise and observation parameters need no solve at all, and the Jacobian
of the least-squares residual vector follows from them
(:meth:`FitProblem.residual_jacobian`).  Without sensitivities every
derivative is a central difference with one solve per parameter and side.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import replace
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.special import log_ndtr

from ..errors import DataError, FitError, SolverError
from ..model import Model, Parameter
from ..model.expressions import symbols_in
from ..simulate import CONTROL, Arm, SimulationResult, Simulator, SolverOptions
from .data import DataTable
from .noise import NoiseModel, _mills, make_noise, nll_derivatives, point_nll, residual_vector
from .observation import _NUMPY_FUNCS, ObservationMap, default_observations
from .parameters import FitParameter, build_parameters

__all__ = ["FitProblem", "Penalty", "FIT_SOLVER_OPTIONS", "AUTO_SENSITIVITY_MAX_SIZE"]

#: Solver tolerances used by fits unless given: tight, so finite-difference Jacobians are accurate.
FIT_SOLVER_OPTIONS = SolverOptions(rtol=1e-9, atol=1e-12)

#: ``extra_penalties(values) -> array``; each entry ``p`` adds ``p**2/2`` to the objective.
Penalty = Callable[[Mapping[str, float]], np.ndarray]

#: ``sensitivities="auto"`` stays off when an arm would integrate more than this many
#: quantities (states x (1 + sensitivity targets)): the symbolic build of a large
#: augmented system takes long and its dense solve is no cheaper than finite differences.
AUTO_SENSITIVITY_MAX_SIZE = 200

_COMPLEX_STEP = 1e-20  # relative size of the complex step through an observation expression
_SLOPE_STEP = 1e-6  # relative step of the row-wise slopes dmu/df, dlog(s)/df (algebraic, no solve)
_NOISE_STEP = 1e-5  # step of log(noise parameter) for dlog(s)/d(noise parameter) (algebraic, no solve)


def _real_abs(z: np.ndarray) -> np.ndarray:
    return np.where(np.real(z) < 0, -z, z)


def _real_min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(np.real(a) <= np.real(b), a, b)


def _real_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(np.real(a) >= np.real(b), a, b)


#: The functions of observation expressions, complex-step safe (branches chosen by the real part).
_COMPLEX_FUNCS = {**_NUMPY_FUNCS, "abs": _real_abs, "min": _real_min, "max": _real_max}


#: Sensitivity systems that failed to build in this process, by (model structure, targets): not retried.
_FAILED_BUILDS: dict[tuple[str, tuple[str, ...]], str] = {}


def sensitivity_simulator(model: Model, template: Simulator, targets: Sequence[str],
                          options: SolverOptions) -> Simulator:
    """A simulator like ``template`` (same arm and times) that also integrates the sensitivities of ``targets``.

    Raises
    ------
    FitError
        When the sensitivity system cannot be generated or compiled (any
        cause); the failure is remembered for the process, so a model
        structure is not tried twice with the same targets.
    """
    key = (template.model.structure_key, tuple(targets))
    if key in _FAILED_BUILDS:
        raise FitError(_FAILED_BUILDS[key])
    try:
        return Simulator(model, template.arm, times=template.times, options=options, sensitivities=tuple(targets))
    except Exception as exc:  # code generation (sympy) or compilation: the caller falls back to finite differences
        lines = str(exc).strip().splitlines()
        msg = (f"the sensitivity system of {list(targets)} did not compile "
               f"({type(exc).__name__}: {lines[0][:300] if lines else 'no message'})")
        _FAILED_BUILDS[key] = msg
        raise FitError(msg) from exc


def check_sensitivity_mode(mode: object) -> bool | str:
    """Validate a ``sensitivities`` argument: True, False or ``"auto"`` (raises :class:`FitError`)."""
    if mode is True or mode is False or (isinstance(mode, str) and mode == "auto"):
        return mode  # type: ignore[return-value]
    raise FitError(f"sensitivities: expected True, False or 'auto', got {mode!r}")


class _SensitivityView(Mapping[str, np.ndarray]):
    """``d(name)/d(theta)`` of a simulation by state or observable name, read on demand."""

    def __init__(self, res: SimulationResult, theta: str) -> None:
        self.res, self.theta = res, theta

    def __getitem__(self, name: str) -> np.ndarray:
        return self.res.sensitivity(name, self.theta)

    def __iter__(self) -> Iterator[str]:
        return iter(self.res.names)

    def __len__(self) -> int:
        return len(self.res.names)


class FitProblem:
    """Predictions and negative log-likelihood of a model for one data table.

    Parameters
    ----------
    model : Model
        The model.
    data : DataTable
        Measurements (long layout).
    observations : mapping of str to ObservationMap, optional
        How each data observable is predicted (default: the state or
        observable of the same name, or the model's only state).
    noise : str or NoiseModel
        Default noise model of observables whose map has none.
    free, fixed, bounds, arm_specific
        See :func:`~bonemet_ode.fit.parameters.build_parameters`.
    arms : mapping of str to Arm, optional
        Treatment of each data arm (default: untreated control).
    options : SolverOptions, optional
        Solver tolerances (default :data:`FIT_SOLVER_OPTIONS`).
    extra_penalties : callable, optional
        ``f(values) -> array`` of penalty residuals (e.g. qualitative
        outcomes); ``values`` maps every fit parameter name to its value.
    sensitivities : bool or "auto"
        Compute derivatives from forward sensitivities integrated with the
        states (exact for the discretised ODE) instead of finite
        differences.  ``"auto"`` (default) uses them when the model has
        states, no estimated parameter is changed by a parameter switch in
        an arm, each arm's augmented system has at most
        :data:`AUTO_SENSITIVITY_MAX_SIZE` quantities, and the sensitivity
        system compiles; ``True`` requires them (:class:`FitError`
        otherwise); ``False`` keeps finite differences.

    Attributes
    ----------
    uses_sensitivities : bool
        Whether derivatives come from sensitivities.
    sensitivity_note : str
        Why sensitivities are on or off (for reports).
    sensitivity_simulators : list of Simulator or None
        Per arm, the simulator that integrates the sensitivities (None when off).
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
        options: SolverOptions | None = None,
        extra_penalties: Penalty | None = None,
        sensitivities: bool | str = "auto",
    ) -> None:
        if not isinstance(model, Model):
            raise FitError(f"model: expected a Model, got {type(model).__name__}")
        if not isinstance(data, DataTable):
            raise FitError(f"data: expected a DataTable (see bonemet_ode.fit.data.read_long), "
                           f"got {type(data).__name__}")
        if extra_penalties is not None and not callable(extra_penalties):
            raise FitError(f"extra_penalties: expected a callable values -> array, got {extra_penalties!r}")
        self.model = model
        self.data = data
        self.frame = data.frame
        self.options = options or FIT_SOLVER_OPTIONS
        self.extra_penalties = extra_penalties
        default_noise = make_noise(noise)
        maps = dict(observations) if observations else default_observations(model, data.observables)
        missing = [o for o in data.observables if o not in maps]
        if missing:
            raise FitError(f"observations: no ObservationMap for data observable(s) {missing}")
        self.observations = {o: maps[o] for o in data.observables}
        self.noise = {o: (m.noise or default_noise) for o, m in self.observations.items()}
        for m in self.observations.values():
            m.check(model)
        self._set_rows()
        extra = self._extra_parameters()
        self.parameters: tuple[FitParameter, ...] = build_parameters(
            model, self.arm_names, extra, free=free, fixed=fixed, bounds=bounds, arm_specific=arm_specific)
        self.by_name = {p.name: p for p in self.parameters}
        self.varied = tuple(p.name for p in self.parameters if p.vary)
        self._set_simulators(arms or {})
        self._set_sensitivities(sensitivities)

    # ------------------------------------------------------------------ set-up
    def _set_rows(self) -> None:
        fr = self.frame
        self.arm_names = tuple(pd.unique(fr["arm"]))
        self.obs_names = tuple(self.observations)
        self.y = fr["value"].to_numpy(float)
        self.censored = fr["censored"].to_numpy(bool)
        sd = fr["sd"].to_numpy(float)
        self.has_sd = np.isfinite(sd)
        self.row_obs = fr["observable"].map({o: i for i, o in enumerate(self.obs_names)}).to_numpy(int)
        self.row_arm = fr["arm"].map({a: i for i, a in enumerate(self.arm_names)}).to_numpy(int)
        self.ty = np.empty_like(self.y)
        self.given_s = np.full_like(self.y, np.nan)
        self.log_jac = np.zeros_like(self.y)
        self.offset = np.zeros_like(self.y)
        self.data_scale: dict[str, float] = {}
        for k, o in enumerate(self.obs_names):
            rows = self.row_obs == k
            nm = self.noise[o]
            yk = self.y[rows]
            pos = yk[yk > 0]
            scale = float(np.median(pos)) if pos.size else 1.0
            self.data_scale[o] = scale
            if nm.log_scale:
                bad = np.flatnonzero(rows & (self.y <= 0))
                if bad.size:
                    r = bad[0]
                    raise DataError(
                        f"{self.data.source}: observable {o!r} has value {self.y[r]:g} <= 0 (subject "
                        f"{fr['subject'].iat[r]!r}, day {fr['time'].iat[r]:g}); log-normal noise needs positive "
                        "values: read the data with lloq=<detection limit> to censor them, or use another noise model")
            self.ty[rows] = nm.transform(yk)
            self.log_jac[rows] = np.where(self.censored[rows], 0.0, nm.log_jacobian(yk))
            given = rows & self.has_sd
            self.given_s[given] = nm.given_sd(self.y[given], fr["sd"].to_numpy(float)[given])
            floor = 1e-8 if nm.log_scale else 1e-8 * scale
            self.offset[rows] = 1.0 - math.log(floor)
        if np.any(self.has_sd & (self.given_s <= 0)):
            r = int(np.flatnonzero(self.has_sd & (self.given_s <= 0))[0])
            raise DataError(f"{self.data.source}: sd of row {r + 1} (subject {fr['subject'].iat[r]!r}) must be > 0")

    def _extra_parameters(self) -> list[FitParameter]:
        extra: list[FitParameter] = []
        several = len(self.obs_names) > 1
        for o in self.obs_names:
            nm = self.noise[o]
            rows = (self.row_obs == self.obs_names.index(o))
            estimated = not np.all(self.has_sd[rows])
            for p in nm.parameters(self.data_scale[o]):
                name = f"noise_{p.name}_{re.sub(r'[^0-9a-zA-Z_]', '_', o)}" if several else f"noise_{p.name}"
                extra.append(FitParameter(name, p.value, p.lower, p.upper, estimated, p.log_scale, p.unit,
                                          "noise", p.name, observable=o))
            for p in self.observations[o].estimated():
                extra.append(FitParameter(p.name, p.value, p.lower, p.upper, True, p.log_scale, p.unit,
                                          "observation", p.name, observable=o))
        names = [e.name for e in extra]
        clash = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(self.model.parameter_names)))
        if clash:
            raise FitError(f"parameter name(s) {clash} are used twice (model, noise or observation parameters)")
        return extra

    def _set_simulators(self, arms: Mapping[str, Arm]) -> None:
        unknown = [a for a in arms if a not in self.arm_names]
        if unknown:
            raise FitError(f"arms: unknown arm(s) {unknown}; the data have arms {list(self.arm_names)}")
        times = self.frame["time"].to_numpy(float)
        self.simulators: list[Simulator] = []
        self.row_tidx = np.zeros(len(times), dtype=int)
        for k, a in enumerate(self.arm_names):
            rows = self.row_arm == k
            t_arm = np.unique(times[rows])
            arm = arms.get(a, CONTROL)
            if not isinstance(arm, Arm):
                raise FitError(f"arms[{a!r}]: expected an Arm, got {arm!r}")
            self.simulators.append(Simulator(self.model, arm, times=t_arm, options=self.options))
            self.row_tidx[rows] = np.searchsorted(t_arm, times[rows])

    def _sensitivity_targets(self, k: int) -> tuple[str, ...]:
        """Model parameters whose sensitivities arm ``k`` integrates: the estimated ones acting in that arm."""
        arm = self.arm_names[k]
        return tuple(p.source for p in self.parameters if p.role == "model" and p.vary and p.arm in (None, arm))

    def _set_sensitivities(self, mode: bool | str) -> None:
        """Build the per-arm sensitivity simulators, or record why derivatives stay finite differences."""
        check_sensitivity_mode(mode)
        n_arms = len(self.arm_names)
        self.uses_sensitivities = False
        self.sensitivity_simulators: list[Simulator | None] = [None] * n_arms
        if mode is False:
            self.sensitivity_note = "off (sensitivities=False): finite-difference derivatives"
            return
        targets = [self._sensitivity_targets(k) for k in range(n_arms)]
        obstacle = None
        n_states = len(self.model.state_names)
        if n_states == 0:
            obstacle = f"model {self.model.name!r} has no states"
        for k, sim in enumerate(self.simulators):
            if obstacle:
                break
            switched = sorted({sw.parameter for sw in sim.model.switches} & set(targets[k]))
            if switched:
                obstacle = (f"estimated parameter(s) {switched} are changed by a parameter switch in arm "
                            f"{self.arm_names[k]!r}, so their sensitivities after the switch would not be "
                            "derivatives with respect to the estimate")
            elif mode == "auto" and n_states * (1 + len(targets[k])) > AUTO_SENSITIVITY_MAX_SIZE:
                obstacle = (f"arm {self.arm_names[k]!r} would integrate {n_states} states x "
                            f"{1 + len(targets[k])} = {n_states * (1 + len(targets[k]))} quantities "
                            f"(> AUTO_SENSITIVITY_MAX_SIZE = {AUTO_SENSITIVITY_MAX_SIZE})")
        sims: list[Simulator | None] = []
        for k, sim in enumerate(self.simulators):
            if obstacle is not None:
                break
            if not targets[k]:  # nothing to integrate: noise and observation derivatives need no sensitivities
                sims.append(sim)
                continue
            try:
                sims.append(sensitivity_simulator(self.model, sim, targets[k], self.options))
            except FitError as exc:
                obstacle = str(exc)
        if obstacle is not None:
            if mode is True:
                raise FitError(f"sensitivities=True: cannot compute forward sensitivities: {obstacle}; "
                               "use sensitivities=False (finite differences)")
            self.sensitivity_note = f"off: {obstacle}; finite-difference derivatives"
            return
        self.uses_sensitivities = True
        self.sensitivity_simulators = sims
        self.sensitivity_note = "on: exact derivatives from forward sensitivities"
        self._unit_maps = {o: replace(m, scale=1.0, offset=0.0, noise=None) for o, m in self.observations.items()}
        self._target_symbols = {o: symbols_in(m.target, f"observation {o!r}") for o, m in self.observations.items()}
        self._target_code = {o: compile(ast.parse(m.target.strip(), mode="eval"), f"<observation {o}>", "eval")
                             for o, m in self.observations.items()}

    # ------------------------------------------------------------------ values
    @property
    def n_observations(self) -> int:
        """Number of data rows."""
        return len(self.y)

    def initial_values(self) -> dict[str, float]:
        """Initial (or fixed) value of every fit parameter."""
        return {p.name: p.value for p in self.parameters}

    def model_values(self, values: Mapping[str, float], arm: str) -> dict[str, float]:
        """Model parameter values for one arm (arm-specific copies resolved)."""
        out = {}
        for p in self.parameters:
            if p.role == "model" and (p.arm is None or p.arm == arm):
                out[p.source] = float(values[p.name])
        return out

    def noise_values(self, values: Mapping[str, float], observable: str) -> dict[str, float]:
        """Noise parameters of one observable by short name (``a``, ``b``, ``sigma``)."""
        return {p.source: float(values[p.name]) for p in self.parameters
                if p.role == "noise" and p.observable == observable}

    # ------------------------------------------------------------------ predictions
    def simulate_arm(self, values: Mapping[str, float], k: int, sim: Simulator | None = None) -> dict[str, np.ndarray]:
        """State and observable trajectories of arm ``k`` (raises SolverError)."""
        sim = sim or self.simulators[k]
        res = sim.run(self.model_values(values, self.arm_names[k]))
        return {n: res[n] for n in res.names}

    def _predict_series(self, series: Mapping[str, np.ndarray], values: Mapping[str, float], arm: str,
                        obs: str) -> np.ndarray:
        env = {**self.model_values(values, arm), **{p.name: values[p.name] for p in self.parameters
                                                     if p.role == "observation"}}
        return self.observations[obs].evaluate(series, env)

    def predict(self, values: Mapping[str, float]) -> np.ndarray:
        """Predictions ``f`` at every data row (NaN where the solver failed)."""
        f = np.full(len(self.y), np.nan)
        for k, arm in enumerate(self.arm_names):
            try:
                series = self.simulate_arm(values, k)
            except SolverError:
                continue
            rows_arm = self.row_arm == k
            for j, o in enumerate(self.obs_names):
                rows = rows_arm & (self.row_obs == j)
                if np.any(rows):
                    f[rows] = self._predict_series(series, values, arm, o)[self.row_tidx[rows]]
        return f

    def moments(self, values: Mapping[str, float], f: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, s)``: location and sd of every row on its likelihood scale."""
        f = self.predict(values) if f is None else f
        mu = np.empty_like(f)
        s = np.empty_like(f)
        for j, o in enumerate(self.obs_names):
            rows = self.row_obs == j
            nm = self.noise[o]
            mu[rows] = nm.location(f[rows])
            s[rows] = nm.sd(f[rows], self.noise_values(values, o)) if not np.all(self.has_sd[rows]) else 1.0
        s = np.where(self.has_sd, self.given_s, s)
        return mu, s

    def penalty(self, values: Mapping[str, float]) -> np.ndarray:
        """The extra penalty residuals (empty without a hook)."""
        if self.extra_penalties is None:
            return np.zeros(0)
        out = np.atleast_1d(np.asarray(self.extra_penalties(dict(values)), dtype=float)).ravel()
        if not np.all(np.isfinite(out)):
            raise FitError(f"extra_penalties returned non-finite values {out[~np.isfinite(out)][:3]}")
        return out

    def nll(self, values: Mapping[str, float], f: np.ndarray | None = None) -> float:
        """Negative log-likelihood of the data (all constants included; inf when the solver fails)."""
        mu, s = self.moments(values, f)
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(s)) and np.all(s > 0)):
            return math.inf
        terms = point_nll(self.ty, mu, s, self.censored) - self.log_jac
        return float(np.sum(terms))

    def objective(self, values: Mapping[str, float]) -> float:
        """``nll + sum(penalty**2)/2``: what the fit minimises."""
        pen = self.penalty(values)
        return self.nll(values) + 0.5 * float(pen @ pen)

    def residuals(self, values: Mapping[str, float]) -> np.ndarray:
        """Least-squares vector with ``|r|^2 = 2*objective + const`` (large constant values on solver failure)."""
        mu, s = self.moments(values)
        pen = self.penalty(values)
        n = len(self.y) + int(np.sum(~self.censored)) + len(pen)
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(s)) and np.all(s > 0)):
            return np.full(n, 1e4)
        r = np.concatenate([residual_vector(self.ty, mu, s, self.censored, self.offset), pen])
        return np.where(np.isfinite(r), r, 1e4)

    def weighted_residuals(self, values: Mapping[str, float]) -> np.ndarray:
        """``(T(y) - mu)/s`` per row (for censored rows: at the limit)."""
        mu, s = self.moments(values)
        return (self.ty - mu) / s

    # ------------------------------------------------------------------ derivatives
    def jacobians(self, values: Mapping[str, float], names: Sequence[str], rel_step: float = 1e-4
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Jacobians of ``mu``, ``log s`` and the penalties with respect to ``names``.

        With sensitivities on, the columns of estimated model parameters and
        of every noise and observation parameter are exact (one sensitivity
        solve per arm); other columns, and all columns when sensitivities are
        off or a sensitivity solve fails, are central differences with
        relative step ``rel_step`` (one solve per parameter and side).  The
        penalty Jacobian is always a central difference of ``extra_penalties``.

        Returns
        -------
        jac_mu, jac_logs : ndarray (n_observations, len(names))
        jac_penalty : ndarray (n_penalties, len(names))
        """
        names = self._check_names(names)
        if not self.uses_sensitivities:
            return self._fd_jacobians(values, names, rel_step)
        exact = [n for n in names if self._exact_capable(n)]
        out = self._exact_moments(values, exact)
        if out is None:
            return self._fd_jacobians(values, names, rel_step)
        _, _, jm_e, jl_e = out
        n = len(self.y)
        jm, jl = np.zeros((n, len(names))), np.zeros((n, len(names)))
        jp = np.zeros((len(self.penalty(values)), len(names)))
        idx = {name: c for c, name in enumerate(names)}
        cols = [idx[e] for e in exact]
        jm[:, cols], jl[:, cols] = jm_e, jl_e
        if jp.shape[0] and exact:
            jp[:, cols] = self._fd_columns(values, exact, self.penalty, rel_step)
        rest = [name for name in names if name not in set(exact)]
        if rest:
            cols = [idx[r] for r in rest]
            jm[:, cols], jl[:, cols], jp[:, cols] = self._fd_jacobians(values, rest, rel_step)
        return jm, jl, jp

    def residual_jacobian(self, values: Mapping[str, float], names: Sequence[str], *,
                          fallback: bool = True, rel_step: float = 1e-6) -> tuple[np.ndarray, np.ndarray | None]:
        """The residual vector of :meth:`residuals` and its Jacobian with respect to ``names``.

        With sensitivities on, both come from one sensitivity solve per arm
        and the Jacobian is exact (penalty rows: central differences of
        ``extra_penalties``).  Otherwise, or when a sensitivity solve fails,
        the residuals are those of :meth:`residuals` and the Jacobian is a
        central difference with relative step ``rel_step`` - or None when
        ``fallback`` is False (so that a caller can defer that cost).

        Derivatives of the residuals (``z = (T(y) - mu)/s`` and the sigma
        residuals ``sqrt(2(log s + c))`` of observed rows,
        ``sqrt(-2 log Phi(z))`` of censored rows, then the penalties):
        ``dz = -dmu/s - z dlog s``, ``d sqrt(2(log s + c)) = dlog s/sqrt(2(log s + c))``,
        ``d sqrt(-2 log Phi(z)) = -lambda(z) dz/sqrt(-2 log Phi(z))`` with
        ``lambda`` the inverse Mills ratio.  Rows that :meth:`residuals`
        replaces by a constant (non-finite values, failed solves) get zero
        derivatives.

        Returns
        -------
        r : ndarray (m,)
        jac : ndarray (m, len(names)) or None
        """
        names = self._check_names(names)
        exact = self.uses_sensitivities and all(self._exact_capable(n) for n in names)
        out = self._exact_moments(values, names) if exact else None
        if out is None:
            r = self.residuals(values)
            jac = self._fd_columns(values, names, self.residuals, rel_step) if fallback else None
            return r, jac
        mu, s, jm, jl = out
        pen = self.penalty(values)
        obs, cens = ~self.censored, self.censored
        n = len(self.y) + int(np.sum(obs)) + len(pen)
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(s)) and np.all(s > 0)):
            return np.full(n, 1e4), np.zeros((n, len(names)))
        r = np.concatenate([residual_vector(self.ty, mu, s, self.censored, self.offset), pen])
        z = (self.ty - mu) / s
        dz = -jm / s[:, None] - z[:, None] * jl
        arg = 2.0 * (np.log(s[obs]) + self.offset[obs])
        sig = np.sqrt(np.maximum(arg, 0.0))
        dsig = np.where((arg > 0)[:, None], jl[obs] / np.where(sig > 0, sig, 1.0)[:, None], 0.0)
        parts = [dz[obs], dsig]
        if np.any(cens):
            zc = z[cens]
            rc = np.sqrt(np.maximum(-2.0 * log_ndtr(zc), 0.0))
            slope = np.where(rc > 0, -_mills(zc) / np.where(rc > 0, rc, 1.0), 0.0)
            parts.append(slope[:, None] * dz[cens])
        if len(pen):
            parts.append(self._fd_columns(values, names, self.penalty, rel_step))
        jac = np.vstack(parts)
        bad = ~np.isfinite(r)
        if np.any(bad):
            r = np.where(bad, 1e4, r)
            jac[bad] = 0.0
        return r, np.nan_to_num(jac, nan=0.0, posinf=0.0, neginf=0.0)

    def _check_names(self, names: Sequence[str]) -> list[str]:
        names = list(names)
        unknown = [n for n in names if n not in self.by_name]
        if unknown:
            raise FitError(f"unknown fit parameter(s) {unknown}; the fit has {list(self.by_name)}")
        return names

    def _exact_capable(self, name: str) -> bool:
        """Whether the derivatives with respect to ``name`` come without finite differences of solves."""
        p = self.by_name[name]
        if p.role != "model":
            return True
        return all(p.source in self.sensitivity_simulators[k].sensitivities  # type: ignore[union-attr]
                   for k, a in enumerate(self.arm_names) if p.arm in (None, a))

    def _fd_jacobians(self, values: Mapping[str, float], names: Sequence[str], rel_step: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Central-difference Jacobians of ``mu``, ``log s`` and the penalties (one solve per parameter and side)."""
        n = len(self.y)
        jm, jl = np.zeros((n, len(names))), np.zeros((n, len(names)))
        jp = np.zeros((len(self.penalty(values)), len(names)))
        for k, name in enumerate(names):
            p = self.by_name[name]
            x = float(values[name])
            h = rel_step * max(abs(x), 1e-8)
            hi, lo = min(x + h, p.upper), max(x - h, p.lower)
            out = []
            for xv in (hi, lo):
                v = dict(values)
                v[name] = xv
                mu, s = self.moments(v)
                out.append((mu, np.log(s), self.penalty(v)))
            d = hi - lo
            jm[:, k] = (out[0][0] - out[1][0]) / d
            jl[:, k] = (out[0][1] - out[1][1]) / d
            if jp.shape[0]:
                jp[:, k] = (out[0][2] - out[1][2]) / d
        return jm, jl, jp

    def _fd_columns(self, values: Mapping[str, float], names: Sequence[str],
                    fun: Callable[[Mapping[str, float]], np.ndarray], rel_step: float) -> np.ndarray:
        """Central-difference Jacobian of a vector function of the parameter values (one-sided at a bound)."""
        cols = []
        for name in names:
            p = self.by_name[name]
            x = float(values[name])
            h = rel_step * max(abs(x), 1e-8)
            hi, lo = min(x + h, p.upper), max(x - h, p.lower)
            up, dn = dict(values), dict(values)
            up[name], dn[name] = hi, lo
            cols.append((np.asarray(fun(up), dtype=float) - np.asarray(fun(dn), dtype=float)) / (hi - lo))
        if not cols:
            return np.zeros((len(np.atleast_1d(fun(values))), 0))
        return np.column_stack(cols)

    def _exact_moments(self, values: Mapping[str, float], names: Sequence[str]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """``(mu, s, jac_mu, jac_logs)`` from one sensitivity solve per arm; None when a solve fails.

        ``names`` must all be exact-capable (:meth:`_exact_capable`).
        """
        pred = self._exact_predictions(values, names)
        if pred is None:
            return None
        f, jf = pred
        mu, s = self.moments(values, f)
        dmu, dls = self.slope_moments(f, values, lambda x: self.moments(values, x), self.row_obs)
        jm = dmu[:, None] * jf
        jl = dls[:, None] * jf
        for c, name in enumerate(names):
            if self.by_name[name].role == "noise":
                jl[:, c] = self._noise_log_sd_column(values, f, name)
        return mu, s, jm, jl

    def _exact_predictions(self, values: Mapping[str, float], names: Sequence[str]
                           ) -> tuple[np.ndarray, np.ndarray] | None:
        """Predictions ``f`` at every row and ``df/d(names)`` (exact); None when a sensitivity solve fails.

        ``f = scale*g + offset`` with ``g`` the map's target: ``df/dtheta =
        scale*dg/dtheta`` for model parameters (from the sensitivities),
        ``df/dscale = g``, ``df/doffset = 1``; noise parameters do not enter ``f``.
        """
        n = len(self.y)
        f = np.full(n, np.nan)
        jf = np.zeros((n, len(names)))
        obs_values = {p.name: float(values[p.name]) for p in self.parameters if p.role == "observation"}
        params = [self.by_name[name] for name in names]
        for k, arm in enumerate(self.arm_names):
            rows_arm = self.row_arm == k
            mv = self.model_values(values, arm)
            sim = self.sensitivity_simulators[k]
            try:
                res = sim.run(mv)  # type: ignore[union-attr]
            except SolverError:
                return None
            series = {nm: res[nm] for nm in res.names}
            env = {**mv, **obs_values}
            for j, o in enumerate(self.obs_names):
                rows = np.flatnonzero(rows_arm & (self.row_obs == j))
                if rows.size == 0:
                    continue
                omap = self.observations[o]
                tidx = self.row_tidx[rows]
                g, scale, offset = self.target_values(o, series, env)
                f[rows] = (scale * g + offset)[tidx]
                for c, p in enumerate(params):
                    if p.role == "model" and p.arm in (None, arm):
                        dseries = _SensitivityView(res, p.source)
                        d = scale * self.target_derivative(o, series, dseries, env, p.source)
                    elif p.role == "observation" and p.observable == o:
                        is_scale = isinstance(omap.scale, Parameter) and omap.scale.name == p.name
                        d = g if is_scale else np.ones_like(g)
                    else:
                        continue
                    jf[rows, c] = d[tidx]
        return f, jf

    def target_derivative(self, o: str, series: Mapping[str, np.ndarray], dseries: Mapping[str, np.ndarray],
                          env: Mapping[str, float], theta: str) -> np.ndarray:
        """``dg/dtheta`` of observable ``o``'s target ``g`` from trajectories and their sensitivities (no solve).

        Parameters
        ----------
        o : str
            Data observable.
        series, dseries : mapping
            State and observable arrays by name, and their derivatives with
            respect to the model parameter ``theta`` (same shapes; any shape,
            e.g. times or members x times).
        env : mapping
            Model and observation parameter values.
        theta : str
            Model parameter.

        Notes
        -----
        A state or observable target reads its sensitivity.  An expression
        target is differentiated along the sensitivities by a complex step:
        its inputs become ``x + i*t*dx/dtheta`` and ``theta`` itself (where
        the expression uses it) ``theta + i*t``, and ``dg/dtheta = Im(g)/t``
        - exact to rounding for the expression's functions (``abs``, ``min``
        and ``max`` act on the real part), with no cancellation, whatever
        the magnitudes of the terms.  The step ``t`` is chosen per element
        so that no input moves by more than a relative ``1e-20``.
        """
        target = self.observations[o].target.strip()
        if target in series:
            return np.asarray(dseries[target], dtype=float)
        used = self._target_symbols[o]
        inputs = sorted(nm for nm in used if nm in series)
        shape = np.shape(series[inputs[0]]) if inputs else np.shape(next(iter(series.values())))
        ratio = np.zeros(shape)
        for nm in inputs:
            x = np.asarray(series[nm], dtype=float)
            floor = 1e-3 * float(np.max(np.abs(x))) if np.any(x != 0) else 1.0
            ratio = np.maximum(ratio, np.abs(dseries[nm]) / np.maximum(np.abs(x), floor))
        explicit = theta in used and theta not in series
        if explicit:
            ratio = np.maximum(ratio, 1.0 / max(abs(float(env[theta])), 1e-8))
        moving = ratio > 0
        if not np.any(moving):
            return np.zeros(shape)
        t = np.where(moving, _COMPLEX_STEP / np.where(moving, ratio, 1.0), 0.0)
        scope: dict[str, object] = {**_COMPLEX_FUNCS, **{k: float(v) for k, v in env.items()}}
        scope.update({nm: np.asarray(series[nm], dtype=float) for nm in used if nm in series})
        for nm in inputs:
            scope[nm] = scope[nm] + 1j * t * np.asarray(dseries[nm], dtype=float)  # type: ignore[operator]
        if explicit:
            scope[theta] = float(env[theta]) + 1j * t
        g = np.broadcast_to(np.asarray(eval(self._target_code[o], {"__builtins__": {}}, scope)), shape)  # noqa: S307
        return np.where(moving, np.imag(g) / np.where(moving, t, 1.0), 0.0)

    def target_values(self, o: str, series: Mapping[str, np.ndarray], env: Mapping[str, float]
                      ) -> tuple[np.ndarray, float, float]:
        """``(g, scale, offset)`` of observable ``o``: the target values and the map's scale and offset values."""
        omap = self.observations[o]
        g = self._unit_maps[o].evaluate(series, env)
        scale = float(env[omap.scale.name]) if isinstance(omap.scale, Parameter) else float(omap.scale)
        offset = float(env[omap.offset.name]) if isinstance(omap.offset, Parameter) else float(omap.offset)
        return g, scale, offset

    def slope_moments(self, f: np.ndarray, values: Mapping[str, float],
                      moments: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                      obs_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row-wise ``dmu/df`` and ``dlog(s)/df`` by central differences of ``moments(f)`` (no solve).

        Each row's ``mu`` and ``s`` depend on that row's prediction only (the
        noise models are elementwise), so one pair of evaluations gives every
        row's slope.  ``obs_index`` gives each row's observable (for the
        step at ``f = 0``).
        """
        scale = np.array([self.data_scale[o] for o in self.obs_names])[obs_index]
        h = _SLOPE_STEP * np.where(f != 0, np.abs(f), scale)
        mu_p, s_p = moments(f + h)
        mu_m, s_m = moments(f - h)
        with np.errstate(divide="ignore", invalid="ignore"):
            dmu = (mu_p - mu_m) / (2.0 * h)
            dls = (np.log(s_p) - np.log(s_m)) / (2.0 * h)
        return dmu, dls

    def _noise_log_sd_column(self, values: Mapping[str, float], f: np.ndarray, name: str) -> np.ndarray:
        """``dlog(s)/d(name)`` at every row for noise parameter ``name`` (no solve; zero where an sd is given)."""
        p = self.by_name[name]
        j = self.obs_names.index(p.observable)  # type: ignore[arg-type]
        rows = (self.row_obs == j) & ~self.has_sd
        out = np.zeros(len(self.y))
        if not np.any(rows):
            return out
        nm = self.noise[p.observable]  # type: ignore[index]
        theta = self.noise_values(values, p.observable)  # type: ignore[arg-type]
        x = theta[p.source]
        if x > 0:  # a step in log(x): exact for sds proportional to the parameter
            xp, xm = x * math.exp(_NOISE_STEP), x * math.exp(-_NOISE_STEP)
        else:
            h = _NOISE_STEP * max(abs(x), 1e-8)
            xp, xm = x + h, x - h
        sp = nm.sd(f[rows], {**theta, p.source: xp})
        sm = nm.sd(f[rows], {**theta, p.source: xm})
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rows] = (np.log(sp) - np.log(sm)) / (xp - xm) if x <= 0 else \
                (np.log(sp) - np.log(sm)) / (2.0 * _NOISE_STEP * x)
        return out

    def information(self, values: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
        """Gauss-Newton (expected Fisher) information of the objective for ``names``."""
        jm, jl, jp = self.jacobians(values, names)
        mu, s = self.moments(values)
        _, _, info = nll_derivatives(self.ty, mu, s, self.censored, jm, jl)
        return info + jp.T @ jp

    # ------------------------------------------------------------------ tables
    def points(self, values: Mapping[str, float]) -> pd.DataFrame:
        """Data rows with predictions, weighted residuals and sds (likelihood scale)."""
        f = self.predict(values)
        mu, s = self.moments(values, f)
        fr = self.frame[["subject", "arm", "time", "observable", "value", "censored"]].copy()
        fr["predicted"] = f
        fr["residual"] = (self.ty - mu) / s
        fr["sd"] = s
        return fr.reset_index(drop=True)

    def curves(self, values: Mapping[str, float], n_times: int = 121) -> pd.DataFrame:
        """Dense predictions (columns ``unit, arm, observable, time, value``) from day 0 to the last datum."""
        rows = []
        t_end = float(self.frame["time"].max())
        times = np.linspace(0.0, t_end if t_end > 0 else 1.0, n_times)
        for k, arm in enumerate(self.arm_names):
            sim = Simulator(self.model, self.simulators[k].arm, times=times, options=self.options)
            try:
                series = self.simulate_arm(values, k, sim)
            except SolverError:
                continue
            for o in self.obs_names:
                rows.append(pd.DataFrame({"arm": arm, "observable": o, "time": times,
                                          "value": self._predict_series(series, values, arm, o)}))
        if not rows:
            return pd.DataFrame(columns=["arm", "observable", "time", "value"])
        return pd.concat(rows, ignore_index=True)

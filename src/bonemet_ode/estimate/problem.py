"""The objective of a fit: data rows, per-arm simulators, predictions, likelihood and residuals.

A :class:`FitProblem` ties a model to a :class:`~bonemet_ode.data.readers.DataTable`.
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

import math
import re
from dataclasses import replace
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, FitError, SolverError
from ..model import Model
from ..model.expressions import symbols_in
from ..simulate import CONTROL, Arm, Simulator, SolverOptions
from ..data.readers import DataTable
from .noise import NoiseModel, make_noise, point_nll, residual_vector
from .observation import ObservationMap, default_observations
from .parameters import FitParameter, build_parameters
from .problem_derivatives import FitDerivatives, check_sensitivity_mode, sensitivity_simulator

__all__ = ["FitProblem", "Penalty", "FIT_SOLVER_OPTIONS", "AUTO_SENSITIVITY_MAX_SIZE"]

#: Solver tolerances used by fits unless given: tight, so finite-difference Jacobians are accurate.
FIT_SOLVER_OPTIONS = SolverOptions(rtol=1e-9, atol=1e-12)

#: ``extra_penalties(values) -> array``; each entry ``p`` adds ``p**2/2`` to the objective.
Penalty = Callable[[Mapping[str, float]], np.ndarray]

#: ``sensitivities="auto"`` stays off when an arm would integrate more than this many
#: quantities (states x (1 + sensitivity targets)): the symbolic build of a large
#: augmented system takes long and its dense solve is no cheaper than finite differences.
AUTO_SENSITIVITY_MAX_SIZE = 200



class FitProblem(FitDerivatives):
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
        See :func:`~bonemet_ode.estimate.parameters.build_parameters`.
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
            raise FitError(f"data: expected a DataTable (see bonemet_ode.data.readers.read_long), "
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
        self._target_code = {o: m.target_code() for o, m in self.observations.items()}

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

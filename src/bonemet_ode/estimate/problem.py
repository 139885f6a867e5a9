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
The derivatives are computed by an
:class:`~bonemet_ode.estimate.problem_derivatives.ObjectiveDerivatives`
component that the problem owns (:attr:`FitProblem.derivatives`), built
from explicit inputs.

What is estimated is stated once, in an
:class:`~bonemet_ode.estimate.estimation_problem.EstimationProblem`; a
:class:`FitProblem` is its compiled objective
(:meth:`EstimationProblem.compile`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.readers import DataTable
from ..errors import FitError, SolverError
from ..model import Model
from ..simulate import CONTROL, Simulator, SolverOptions
from .estimation_problem import EstimationProblem, as_problem
from .noise import point_nll, residual_vector
from .parameters import FitParameter, Penalty
from .problem_derivatives import (
    ObjectiveDerivatives,
    check_sensitivity_mode,
    sensitivity_simulator,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from typing_extensions import Unpack

    from .estimation_problem import ProblemOptions

__all__ = [
    "AUTO_SENSITIVITY_MAX_SIZE",
    "FIT_SOLVER_OPTIONS",
    "FitProblem",
    "Penalty",
    "check_sensitivity_mode",
    "sensitivity_simulator",
]

#: Solver tolerances used by fits unless given: tight, so finite-difference Jacobians are accurate.
FIT_SOLVER_OPTIONS = SolverOptions(rtol=1e-9, atol=1e-12)

#: ``sensitivities="auto"`` stays off when an arm would integrate more than this many
#: quantities (states x (1 + sensitivity targets)): the symbolic build of a large
#: augmented system takes long and its dense solve is no cheaper than finite differences.
AUTO_SENSITIVITY_MAX_SIZE = 200


class FitProblem:
    """Predictions and negative log-likelihood of an :class:`EstimationProblem` (its compiled objective).

    Parameters
    ----------
    problem : EstimationProblem or Model
        The problem; or, as a shortcut, the model, followed by ``data`` and
        the problem keywords of :class:`EstimationProblem` (``observations``,
        ``noise``, ``free``, ``fixed``, ``bounds``, ``arms``, ...), from
        which the problem is built.
    data : DataTable, optional
        Measurements (only with a model).

    Attributes
    ----------
    estimation_problem : EstimationProblem
        What is estimated.
    parameters : tuple of FitParameter
        Every fit parameter.
    derivatives : ObjectiveDerivatives
        Jacobians of the objective.
    uses_sensitivities : bool
        Whether derivatives come from sensitivities.
    sensitivity_note : str
        Why sensitivities are on or off (for reports).
    sensitivity_simulators : list of Simulator or None
        Per arm, the simulator that integrates the sensitivities (None when off).

    Notes
    -----
    ``sensitivities="auto"`` uses forward sensitivities when the model has
    states, no estimated parameter is changed by a parameter switch in an
    arm, each arm's augmented system has at most
    :data:`AUTO_SENSITIVITY_MAX_SIZE` quantities, and the sensitivity system
    compiles; ``True`` requires them (:class:`FitError` otherwise); ``False``
    keeps finite differences.
    """

    def __init__(self, problem: EstimationProblem | Model, data: DataTable | None = None,
                 **problem_options: Unpack[ProblemOptions]) -> None:
        ep = as_problem(problem, data, problem_options, "FitProblem")
        self.estimation_problem = ep
        self.model = ep.model
        self.data = ep.data
        self.frame = ep.data.frame
        self.options = ep.options or FIT_SOLVER_OPTIONS
        self.extra_penalties = ep.extra_penalties
        self.observations = dict(ep.observation_maps)
        self.noise = dict(ep.noise_models)
        rows = ep.rows
        self.rows = rows
        self.arm_names, self.obs_names = rows.arm_names, rows.obs_names
        self.y, self.ty, self.censored, self.has_sd = rows.y, rows.ty, rows.censored, rows.has_sd
        self.given_s, self.log_jac, self.offset = rows.given_s, rows.log_jac, rows.offset
        self.row_obs, self.row_arm, self.row_tidx = rows.row_obs, rows.row_arm, rows.row_tidx
        self.data_scale = rows.data_scale
        self.parameters: tuple[FitParameter, ...] = ep.fit_parameters
        self.by_name = {p.name: p for p in self.parameters}
        self.varied = tuple(p.name for p in self.parameters if p.vary)
        arms = ep.arms or {}
        self.simulators: list[Simulator] = [
            Simulator(self.model, arms.get(a, CONTROL), times=rows.arm_times[k], options=self.options)
            for k, a in enumerate(self.arm_names)]
        self._set_sensitivities(ep.sensitivities)
        self.derivatives = ObjectiveDerivatives(rows, self.parameters, self.observations, self.noise,
                                                self.sensitivity_simulators if self.uses_sensitivities else [],
                                                self)

    # ------------------------------------------------------------------ set-up
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
        # a parameter switch that overwrites an estimate ends its forcing there (the simulator's sensitivity gates)
        for k in range(len(self.simulators)):
            if obstacle:
                break
            if mode == "auto" and n_states * (1 + len(targets[k])) > AUTO_SENSITIVITY_MAX_SIZE:
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

    # ------------------------------------------------------------------ derivatives (see ObjectiveDerivatives)
    def jacobians(self, values: Mapping[str, float], names: Sequence[str], rel_step: float = 1e-4
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Jacobians of ``mu``, ``log s`` and the penalties (:meth:`ObjectiveDerivatives.jacobians`)."""
        return self.derivatives.jacobians(values, names, rel_step)

    def residual_jacobian(self, values: Mapping[str, float], names: Sequence[str], *, fallback: bool = True,
                          rel_step: float = 1e-6) -> tuple[np.ndarray, np.ndarray | None]:
        """Residuals and their Jacobian (:meth:`ObjectiveDerivatives.residual_jacobian`)."""
        return self.derivatives.residual_jacobian(values, names, fallback=fallback, rel_step=rel_step)

    def information(self, values: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
        """Gauss-Newton information (:meth:`ObjectiveDerivatives.information`)."""
        return self.derivatives.information(values, names)

    def target_values(self, o: str, series: Mapping[str, np.ndarray], env: Mapping[str, float]
                      ) -> tuple[np.ndarray, float, float]:
        """``(g, scale, offset)`` of observable ``o`` (:meth:`ObjectiveDerivatives.target_values`)."""
        return self.derivatives.target_values(o, series, env)

    def target_derivative(self, o: str, series: Mapping[str, np.ndarray], dseries: Mapping[str, np.ndarray],
                          env: Mapping[str, float], theta: str) -> np.ndarray:
        """``dg/dtheta`` of observable ``o`` (:meth:`ObjectiveDerivatives.target_derivative`)."""
        return self.derivatives.target_derivative(o, series, dseries, env, theta)

    def slope_moments(self, f: np.ndarray, values: Mapping[str, float], moments: Any,
                      obs_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row-wise ``dmu/df`` and ``dlog(s)/df`` (:meth:`ObjectiveDerivatives.slope_moments`)."""
        return self.derivatives.slope_moments(f, values, moments, obs_index)

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

    def predict_series(self, series: Mapping[str, np.ndarray], values: Mapping[str, float], arm: str,
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
                    f[rows] = self.predict_series(series, values, arm, o)[self.row_tidx[rows]]
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
        """The penalty residuals: the extra penalties, then the priors' ``(u - mean)/sd`` (empty without either)."""
        priors = self.estimation_problem.prior_residuals(values)
        if self.extra_penalties is None:
            return priors
        out = np.atleast_1d(np.asarray(self.extra_penalties(dict(values)), dtype=float)).ravel()
        if not np.all(np.isfinite(out)):
            raise FitError(f"extra_penalties returned non-finite values {out[~np.isfinite(out)][:3]}")
        return np.concatenate([out, priors])

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
        import pandas as pd
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
                                          "value": self.predict_series(series, values, arm, o)}))
        if not rows:
            return pd.DataFrame(columns=["arm", "observable", "time", "value"])
        return pd.concat(rows, ignore_index=True)

"""Population (nonlinear mixed-effects) fits with log-normal random effects.

Model
-----
For subject ``i`` the random-effect parameters are ``theta_i = exp(phi_i)``
with ``phi_i ~ N(mu, Omega)`` (log-normal between-subject variability);
the other model parameters, the noise and observation parameters are
shared population parameters ``psi``.  Data given ``phi_i`` follow the fit's
noise model (censoring included, see :mod:`bonemet_ode.estimate.noise`).

Method: Laplace likelihood maximised by EM (iterative two-stage)
----------------------------------------------------------------
The marginal likelihood of subject ``i`` is approximated by Laplace's method
at the conditional mode ``phi_i_hat`` of
``g_i(phi) = NLL_i(phi, psi) + (phi - mu)' Omega^-1 (phi - mu)/2``:

.. math:: -\\log L_i \\approx g_i(\\hat\\phi_i) + \\tfrac12\\log|\\Omega| + \\tfrac12\\log|H_i|,
          \\qquad H_i = I_i(\\hat\\phi_i) + \\Omega^{-1},

with ``I_i`` the Gauss-Newton (expected Fisher) information of ``NLL_i`` -
the approximation behind NONMEM's FOCE-I/Laplace methods.  It is maximised
by the EM iteration known as the iterative two-stage method (Prevost 1977;
NONMEM ``METHOD=ITS``, Bauer 2007 AAPS J 9:E60; Steimer et al. 1984's global
two-stage method is its linear special case):

* **E-step** (:mod:`bonemet_ode.estimate._modes`): for all subjects at once, the
  conditional modes by damped Fisher scoring (Levenberg-Marquardt),
  derivatives from forward sensitivities of the random-effect parameters
  (or by central differences with ``sensitivities=False``), every subject's
  points solved in one batched compiled call; the conditional covariances
  ``H_i^-1``.
* **M-step**: ``mu = mean(phi_i_hat)``,
  ``Omega = mean((phi_i_hat - mu)(phi_i_hat - mu)' + H_i^-1)`` (diagonal
  part only when ``covariance="diagonal"``); noise parameters minimise
  ``sum_i NLL_i(phi_i_hat, psi) + log|I_i + Omega^-1|/2`` at the fixed modes;
  shared *structural* parameters (e.g. ``k`` of the reduced Gompertz model)
  take a safeguarded Newton step on the Laplace objective with the modes
  re-optimised (a generalised EM step that avoids the slow zig-zag between
  modes and shared values).
* The EM map is accelerated with SQUAREM (Varadhan & Roland 2008).

The closed-form updates are exactly the stationarity conditions of the
Laplace objective in ``mu`` and ``Omega`` (neglecting, as FOCE does, the
dependence of ``I_i`` on the mode), so the fixed point is the Laplace
maximum-likelihood estimate up to that approximation; where the Laplace
approximation is exact (random effects entering linearly, Gaussian errors on
the likelihood scale) it is the exact maximum-likelihood estimate, which the
tests check against a closed-form marginal likelihood.  Why this method: it
is the standard pharmacometric approximation (as accurate as FOCE-I for rich
individual data such as tumour-growth curves), needs no sampling
(deterministic and seedless), costs a few batched solves per iteration, and
reduces to the well-understood global two-stage estimator when individual
data dominate.  SAEM (Monolix, used by Vaghi et al.) targets the exact
likelihood but needs MCMC in every iteration; with 5-15 points per animal
and a small residual error the Laplace approximation is accurate.

Standard errors: ``Cov(mu) = (sum_i (Omega + I_i^-1)^-1)^-1`` (global
two-stage formula), the normal-theory ``SE(omega) = omega/sqrt(2N)``, and for
the shared parameters the inverse Hessian of the Laplace objective (modes
re-optimised, ``mu`` and ``Omega`` held).  They ignore the uncertainty of
``Omega`` in ``mu`` and are approximate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.readers import DataTable
from ..errors import FitError
from ..model import Model
from ._batch import SubjectBatch, dense_curves
from ._modes import ConditionalModes, newton_step, numeric_derivatives
from .estimation_problem import EstimationProblem, as_problem
from .fitter import Fitter, covariance_from_information
from .population_result import PopulationResult

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

    from .estimation_problem import ProblemOptions

__all__ = ["PopulationFitter", "PopulationResult"]


class PopulationFitter:
    """Fit a nonlinear mixed-effects model (Laplace likelihood, EM / iterative two-stage).

    Parameters
    ----------
    problem : EstimationProblem or Model
        What is estimated, with data of several subjects.  Its estimated
        model parameters (``free``, ``fixed``) are honoured: those in
        ``random`` get between-subject variability, the other estimated ones
        are shared population parameters, and fixed ones stay exactly at
        their values.  Bounds hold for the shared values and for the
        typical values ``exp(mu)`` of random-effect parameters (``mu`` is
        projected onto the log bounds in the M-step: exact for a diagonal
        ``Omega``, where the M-step objective is separable in ``mu``);
        individual values are log-normal around them.  As a shortcut, a model, ``data`` and the problem
        keywords (as for :class:`~bonemet_ode.estimate.fitter.Fitter`).
        Extra penalties and priors are refused (the Laplace likelihood has
        no place for them).
    data : DataTable, optional
        Measurements (only with a model).
    random : sequence of str
        Estimated model parameters with log-normal between-subject variability.
    covariance : {"diagonal", "full"}
        Structure of ``Omega``.
    omega0 : float
        Initial sd of every log-parameter.
    max_iter : int
        Maximum number of EM maps (E-step + M-step).
    tol : float
        Convergence: largest change of ``mu``, the log sds and correlations of
        ``Omega`` and the (log) shared parameters over one accelerated cycle,
        and a change of ``-2 log L`` below ``100*tol`` between maps.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bonemet_ode.data import DataTable
    >>> from bonemet_ode.estimate import PopulationFitter
    >>> from bonemet_ode.models.growth import exponential
    >>> t = np.arange(1.0, 8.0)
    >>> rates = {"m1": 0.25, "m2": 0.3, "m3": 0.35, "m4": 0.3}
    >>> data = DataTable(pd.concat([pd.DataFrame({"subject": s, "arm": "control", "time": t,
    ...     "observable": "tumor_volume", "value": np.exp(r * t) * (1 + 0.02 * np.cos(7 * t))})
    ...     for s, r in rates.items()]))
    >>> pop = PopulationFitter(exponential(), data, random=["alpha"], fixed={"V0": 1.0}).fit()
    >>> round(pop.values["alpha"], 2), pop.status
    (0.3, 'converged')
    """

    def __init__(self, problem: EstimationProblem | Model, data: DataTable | None = None, *,
                 random: Sequence[str], covariance: str = "diagonal", omega0: float = 0.5, max_iter: int = 300,
                 tol: float = 1e-4, **problem_options: Unpack[ProblemOptions]) -> None:
        ep = as_problem(problem, data, problem_options, "PopulationFitter")
        model = ep.model
        if isinstance(random, str):
            raise FitError(f"random: expected a sequence of parameter names, got the string {random!r}")
        random = list(random)
        if not random:
            raise FitError("random: name at least one model parameter with between-subject variability")
        twice = sorted({n for n in random if random.count(n) > 1})
        if twice:
            raise FitError(f"random: parameter(s) {twice} named more than once (one random effect each)")
        unknown = [n for n in random if n not in model.parameter_names]
        if unknown:
            raise FitError(f"random: unknown model parameter(s) {unknown}; model parameters "
                           f"{list(model.parameter_names)}")
        both = [n for n in random if n in (ep.fixed or {})]
        if both:
            raise FitError(f"parameter(s) {both} are both random and fixed")
        copies = [n for n in random if n in ep.arm_specific]
        if copies:
            raise FitError(f"random: parameter(s) {copies} are arm-specific; a random effect is one "
                           "distribution for all subjects")
        by_name = {p.name: p for p in ep.fit_parameters}
        held = [n for n in random if not by_name[n].vary]
        if held:
            raise FitError(f"random: parameter(s) {held} are not estimated (free: "
                           f"{[n for n in ep.varied if by_name[n].role == 'model']}); add them to free")
        for n in random:
            if by_name[n].lower <= 0:
                raise FitError(f"random: parameter {n!r} has lower bound <= 0; log-normal random effects need "
                               "positive values (give bounds={name: (positive, upper)})")
        if ep.extra_penalties is not None or ep.priors:
            raise FitError("PopulationFitter: extra_penalties and priors are not supported by the Laplace "
                           "population likelihood; fit without them (or use Fitter/SubjectFitter)")
        if covariance not in ("diagonal", "full"):
            raise FitError(f"covariance: expected 'diagonal' or 'full', got {covariance!r}")
        if not (isinstance(omega0, (int, float)) and omega0 > 0):
            raise FitError(f"omega0: expected a positive sd of log-parameters, got {omega0!r}")
        if len(ep.data.subjects) < 3:
            raise FitError(f"data: a population fit needs at least 3 subjects, got {len(ep.data.subjects)}")
        self.estimation_problem = ep
        self.pooled = Fitter(ep, label="pooled")
        self.problem = self.pooled.problem
        self.batch = SubjectBatch(self.problem, random)
        self.modes = ConditionalModes(self.batch)
        self.random = tuple(random)
        self._mu_lower = np.log([by_name[n].lower for n in self.random])
        self._mu_upper = np.log([by_name[n].upper for n in self.random])
        self.psi_names = tuple(n for n in self.problem.varied if n not in self.random)
        self.covariance = covariance
        self.omega0 = float(omega0)
        self.max_iter = int(max_iter)
        self.tol = float(tol)

    def _noise_objective(self, u: np.ndarray, names: Sequence[str], est: dict, omega_inv: np.ndarray,
                         values: dict) -> float:
        """M-step objective for noise parameters at the fixed modes (predictions reused, no solves)."""
        v = {**values, **self._from_u(names, u)}
        total = 0.0
        for i, Fi in enumerate(est["F"]):
            nll, _, info = self.modes.subject_terms(i, Fi, v)
            if not math.isfinite(nll):
                return 1e300
            total += nll + 0.5 * np.linalg.slogdet(info + omega_inv)[1]
        return float(total)

    def _profiled(self, u: np.ndarray, names: Sequence[str], state: dict, mu: np.ndarray, omega: np.ndarray,
                  values: dict) -> float:
        """Laplace NLL at fixed ``mu, Omega`` with the modes re-optimised for shared values ``u``."""
        v = {**values, **self._from_u(names, u)}
        est = self.modes.e_step(state["phi"], mu, np.linalg.inv(omega), v)
        if not np.all(np.isfinite(est["nll"])):
            return 1e300
        state["phi"] = est["phi"]
        return 0.5 * self.modes.laplace(est, mu, omega)

    def _to_u(self, names: Sequence[str], values: Mapping[str, float]) -> np.ndarray:
        pb = self.problem
        return np.array([math.log(values[n]) if pb.by_name[n].log_scale else values[n] for n in names])

    def _from_u(self, names: Sequence[str], u: np.ndarray) -> dict[str, float]:
        pb = self.problem
        return {n: float(math.exp(x) if pb.by_name[n].log_scale else x) for n, x in zip(names, u)}

    def _u_bounds(self, names: Sequence[str]) -> list[tuple[float, float]]:
        out = []
        for n in names:
            p = self.problem.by_name[n]
            out.append((math.log(p.lower), math.log(p.upper)) if p.log_scale else (p.lower, p.upper))
        return out

    def _m_step_psi(self, phi: np.ndarray, mu: np.ndarray, omega: np.ndarray, values: dict
                    ) -> tuple[dict, np.ndarray]:
        """Update the shared parameters.

        Structural ones (model and observation parameters) take one safeguarded
        Newton step on the Laplace likelihood with the modes re-optimised
        (profiled), which avoids the slow zig-zag of alternating modes and
        shared values (a generalised EM step); noise parameters maximise it at
        the fixed modes (no solves needed).
        """
        from scipy.optimize import minimize
        structural = [n for n in self.psi_names if self.problem.by_name[n].role != "noise"]
        noise = [n for n in self.psi_names if self.problem.by_name[n].role == "noise"]
        values = dict(values)
        state = {"phi": phi}
        if structural:
            u = self._to_u(structural, values)
            u = newton_step(lambda x: self._profiled(x, structural, state, mu, omega, values), u,
                             self._u_bounds(structural))
            values.update(self._from_u(structural, u))
        if noise:
            oi = np.linalg.inv(omega)
            est = self.modes.e_step(state["phi"], mu, oi, values)
            state["phi"] = est["phi"]
            res = minimize(self._noise_objective, self._to_u(noise, values), args=(noise, est, oi, values),
                           method="L-BFGS-B", bounds=self._u_bounds(noise), options={"eps": 1e-7, "maxiter": 50})
            values.update(self._from_u(noise, res.x))
        return values, state["phi"]

    # ------------------------------------------------------------------ fit
    # ------------------------------------------------------------------ EM map and its acceleration
    def _pack(self, mu: np.ndarray, omega: np.ndarray, values: Mapping[str, float]) -> np.ndarray:
        """Unconstrained coordinates: mu, Cholesky factor of Omega (log diagonal), shared parameters."""
        L = np.linalg.cholesky(omega)
        d = len(mu)
        chol = [math.log(L[i, i]) for i in range(d)]
        if self.covariance == "full":
            chol += [L[i, j] for i in range(d) for j in range(i)]
        return np.concatenate([mu, chol, self._to_u(self.psi_names, values)])

    def _unpack(self, theta: np.ndarray, values: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, dict]:
        d = len(self.random)
        mu = np.clip(theta[:d], self._mu_lower, self._mu_upper)
        L = np.diag(np.exp(theta[d:2 * d]))
        k = 2 * d
        if self.covariance == "full":
            for i in range(d):
                for j in range(i):
                    L[i, j] = theta[k]
                    k += 1
        new = dict(values)
        new.update(self._from_u(self.psi_names, theta[k:]))
        return mu, L @ L.T + 1e-12 * np.eye(d), new

    def _natural(self, theta: np.ndarray) -> np.ndarray:
        """Coordinates for the convergence test: mu, log sd, correlations, (log) shared parameters.

        Unlike the Cholesky coordinates they stay bounded when random effects
        become perfectly correlated (a degenerate Omega).
        """
        mu, omega, _ = self._unpack(theta, {})
        d = len(mu)
        sd = np.sqrt(np.diag(omega))
        corr = [omega[i, j] / (sd[i] * sd[j]) for i in range(d) for j in range(i)]
        return np.concatenate([mu, np.log(sd), corr, theta[2 * d + (len(corr) if self.covariance == "full" else 0):]])

    def _em_map(self, theta: np.ndarray, state: dict) -> np.ndarray:
        """One EM iteration from ``theta``; records ``-2 log L`` at ``theta`` in ``state``."""
        mu, omega, values = self._unpack(theta, state["values"])
        n = len(self.batch.subjects)
        oi = np.linalg.inv(omega)
        est = self.modes.e_step(state["phi"], mu, oi, values)
        state["objective"] = self.modes.laplace(est, mu, omega)
        state["calls"] += 1
        phi = est["phi"]
        cond_cov = np.array([np.linalg.inv(est["info"][i] + oi) for i in range(n)])
        mu_new = np.clip(phi.mean(axis=0), self._mu_lower, self._mu_upper)
        dev = phi - mu_new
        om_new = (dev.T @ dev + cond_cov.sum(axis=0)) / n
        if self.covariance == "diagonal":
            om_new = np.diag(np.diag(om_new))
        om_new = om_new + 1e-12 * np.eye(len(mu))
        values, state["phi"] = self._m_step_psi(phi, mu_new, om_new, values)
        state["values"] = values
        return self._pack(mu_new, om_new, values)

    def fit(self) -> PopulationResult:
        """Estimate the population parameters and the individual conditional modes.

        EM is accelerated by SQUAREM (Varadhan & Roland 2008, Scand J Stat
        35:335; step length S3): two EM maps give a direction and a
        curvature, the extrapolated point is stabilised by a third map and
        kept when its fixed-point residual is smaller than that of plain EM.

        Returns
        -------
        PopulationResult
        """
        t0 = time.perf_counter()
        pooled = self.pooled.fit()
        values = dict(pooled.values)
        d, n = len(self.random), len(self.batch.subjects)
        mu = np.log([values[p] for p in self.random])
        state: dict[str, Any] = {"phi": np.tile(mu, (n, 1)), "values": values, "objective": math.nan, "calls": 0}
        theta = self._pack(mu, np.eye(d) * self.omega0 ** 2, values)
        history: list[float] = []
        converged, step_max = False, 1.0
        while state["calls"] < self.max_iter:
            t1 = self._em_map(theta, state)
            obj0 = state["objective"]
            history.append(obj0)
            t2 = self._em_map(t1, state)
            obj1 = state["objective"]
            history.append(obj1)
            phi2, values2 = state["phi"], state["values"]
            r, v = t1 - theta, t2 - t1 - (t1 - theta)
            nr, nv = float(np.linalg.norm(r)), float(np.linalg.norm(v))
            new = t2
            if nv > 0 and nr / nv > 1.0:
                alpha = -min(nr / nv, step_max)
                t_acc = theta - 2 * alpha * r + alpha ** 2 * v
                try:
                    t_new = self._em_map(t_acc, state)
                    # progress measured by the fixed-point residual (the EM map of an approximate
                    # likelihood need not be monotone in it)
                    ok = (math.isfinite(state["objective"]) and np.all(np.isfinite(t_new))
                          and np.linalg.norm(t_new - t_acc) <= np.linalg.norm(t2 - t1))
                except (np.linalg.LinAlgError, FloatingPointError, OverflowError, ValueError):
                    ok = False
                if ok:
                    new = t_new
                    history.append(state["objective"])
                    step_max = step_max * 4.0 if -alpha >= step_max else step_max
                else:
                    state["phi"], state["values"] = phi2, values2
                    step_max = max(1.0, step_max / 4.0)
            change = float(np.max(np.abs(self._natural(new) - self._natural(theta))))
            theta = new
            if change < self.tol and abs(obj1 - obj0) < 100 * self.tol:
                converged = True
                break
        mu, omega, values = self._unpack(theta, state["values"])
        est = self.modes.e_step(state["phi"], mu, np.linalg.inv(omega), values)
        objective = self.modes.laplace(est, mu, omega)
        history.append(objective)
        return self._result(est, mu, omega, values, objective, history, converged, state["calls"],
                            time.perf_counter() - t0)

    def _result(self, est: dict, mu: np.ndarray, omega: np.ndarray, values: dict, objective: float,
                history: list[float], converged: bool, iterations: int, wall: float) -> PopulationResult:
        import pandas as pd
        n, d = est["phi"].shape
        oi = np.linalg.inv(omega)
        fisher_mu = np.zeros((d, d))
        cond_sd = np.zeros((n, d))
        for i in range(n):
            hinv = np.linalg.inv(est["info"][i] + oi)
            fisher_mu += oi - oi @ hinv @ oi
            cond_sd[i] = np.sqrt(np.clip(np.diag(hinv), 0, None))
        cov_mu = covariance_from_information(fisher_mu)
        cov_psi = np.zeros((0, 0))
        if self.psi_names:
            u = self._to_u(self.psi_names, values)
            state = {"phi": est["phi"]}
            _, _, hess = numeric_derivatives(lambda x: self._profiled(x, self.psi_names, state, mu, omega, values), u)
            cov_u = covariance_from_information(hess)
            jac = np.array([values[k] if self.problem.by_name[k].log_scale else 1.0 for k in self.psi_names])
            cov_psi = cov_u * np.outer(jac, jac)
        singular = not (np.all(np.isfinite(cov_mu)) and np.all(np.isfinite(cov_psi)))
        if not math.isfinite(objective):
            status, msg = "failed", f"the Laplace objective is not finite after {iterations} EM iterations"
        elif not converged:
            status, msg = "max_evaluations", f"not converged after {iterations} EM iterations (max_iter)"
        elif singular:
            status = "singular_hessian"
            msg = (f"EM met its tolerance after {iterations} iterations, but the information of the population "
                   "parameters is singular: standard errors are undefined (parameters not identifiable)")
        else:
            status, msg = "converged", f"converged after {iterations} EM iterations"
        phi = est["phi"]
        pb, batch = self.problem, self.batch
        vals = dict(values)
        vals.update({p: float(np.exp(m)) for p, m in zip(self.random, mu)})
        ind = pd.DataFrame({"subject": list(batch.subjects), "arm": [pb.arm_names[k] for k in batch.subject_arm]})
        for k, p in enumerate(self.random):
            ind[p] = np.exp(phi[:, k])
            ind[f"eta_{p}"] = phi[:, k] - mu[k]
            ind[f"{p}_sd_log"] = cond_sd[:, k]
        preds = batch.predict(np.arange(len(phi)), phi, vals)
        f = np.full(pb.n_observations, np.nan)
        for i, rows in enumerate(batch.rows):
            f[rows] = preds[i]
        mu_rows, s_rows = pb.moments(vals, f)
        pts = pb.frame[["subject", "arm", "time", "observable", "value", "censored"]].copy().reset_index(drop=True)
        pts["predicted"] = f
        pts["residual"] = (pb.ty - mu_rows) / s_rows
        pts["sd"] = s_rows
        method = (f"Laplace likelihood, EM (iterative two-stage), {self.covariance} Omega, log-normal random "
                  f"effects on {list(self.random)}")
        return PopulationResult(
            model=pb.model.name, random=self.random, parameters=pb.parameters, mu=np.asarray(mu, float),
            mu_covariance=cov_mu, omega=omega, psi_names=self.psi_names, psi_covariance=cov_psi,
            values=vals, individual=ind, objective=float(objective), n_observations=pb.n_observations,
            n_subjects=len(phi), covariance_structure=self.covariance, converged=status == "converged",
            message=msg, iterations=int(iterations), history=tuple(float(h) for h in history), points=pts,
            curves=dense_curves(batch, phi, vals), wall_time=float(wall), method=method,
            units={o: m.unit for o, m in pb.observations.items()}, status=status,
            problem=self.estimation_problem,
        )

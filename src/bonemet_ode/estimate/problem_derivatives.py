"""Derivatives of a fit's objective: exact (forward sensitivities) or central differences.

:class:`ObjectiveDerivatives` is a component that a
:class:`~bonemet_ode.estimate.problem.FitProblem` owns.  It is built from
explicit inputs - the data rows (:class:`~bonemet_ode.estimate._rows.RowLayout`),
the fit parameters, observation maps and noise models, one sensitivity
simulator per arm (or None), and the objective's functions
(:class:`ObjectiveFunctions`: ``moments``, ``penalty``, ``residuals``,
``model_values``, ``noise_values``) - and computes Jacobians of ``mu``,
``log s`` and the least-squares residual vector.  With sensitivities, one
solve per arm gives the predictions and their exact Jacobian (a complex-step
derivative of algebraic observation maps along the sensitivities; chain rule
through the noise model); without, every column is a central difference with
one solve per parameter and side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from ..errors import FitError, SolverError
from ..model import Model, Parameter
from ..model.expressions import symbols_in
from ..simulate import SimulationResult, Simulator, SolverOptions
from ._rows import RowLayout
from .noise import NoiseModel, _mills, nll_derivatives, residual_vector
from .observation import _NUMPY_FUNCS, ObservationMap
from .parameters import FitParameter

__all__ = ["ObjectiveDerivatives", "ObjectiveFunctions", "check_sensitivity_mode", "sensitivity_simulator"]

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
    if isinstance(mode, bool):
        return mode
    if isinstance(mode, str) and mode == "auto":
        return mode
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


class ObjectiveFunctions(Protocol):
    """What :class:`ObjectiveDerivatives` evaluates: the objective's functions of parameter values."""

    def moments(self, values: Mapping[str, float], f: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, s)`` of every row (from predictions ``f`` when given)."""
        ...

    def penalty(self, values: Mapping[str, float]) -> np.ndarray:
        """Penalty residuals."""
        ...

    def residuals(self, values: Mapping[str, float]) -> np.ndarray:
        """Least-squares residual vector."""
        ...

    def model_values(self, values: Mapping[str, float], arm: str) -> dict[str, float]:
        """Model parameter values of one arm."""
        ...

    def noise_values(self, values: Mapping[str, float], observable: str) -> dict[str, float]:
        """Noise parameters of one observable by short name."""
        ...


class ObjectiveDerivatives:
    """Jacobians of a fit's objective, from forward sensitivities where possible.

    Parameters
    ----------
    rows : RowLayout
        The data rows (values on the likelihood scale, censoring, indices).
    parameters : sequence of FitParameter
        Every fit parameter (roles, bounds for one-sided differences).
    observations : mapping of str to ObservationMap
        Map of each data observable (order of ``rows.obs_names``).
    noise : mapping of str to NoiseModel
        Noise model of each data observable.
    sensitivity_simulators : sequence of Simulator or None
        Per arm, the simulator integrating the sensitivities of the estimated
        model parameters; None entries (or an empty sequence) mean finite
        differences throughout.
    functions : ObjectiveFunctions
        The objective's ``moments``, ``penalty``, ``residuals``,
        ``model_values`` and ``noise_values``.
    """

    def __init__(self, rows: RowLayout, parameters: Sequence[FitParameter],
                 observations: Mapping[str, ObservationMap], noise: Mapping[str, NoiseModel],
                 sensitivity_simulators: Sequence[Simulator | None], functions: ObjectiveFunctions) -> None:
        self.rows = rows
        self.parameters = tuple(parameters)
        self.by_name = {p.name: p for p in self.parameters}
        self.observations = dict(observations)
        self.noise = dict(noise)
        self.sensitivity_simulators = list(sensitivity_simulators)
        self.uses_sensitivities = bool(self.sensitivity_simulators) and all(
            s is not None for s in self.sensitivity_simulators)
        self.fn = functions
        self._unit_maps = {o: replace(m, scale=1.0, offset=0.0, noise=None) for o, m in self.observations.items()}
        self._target_symbols = {o: symbols_in(m.target, f"observation {o!r}") for o, m in self.observations.items()}
        self._target_code = {o: m.target_code() for o, m in self.observations.items()}

    def _sensitivity_simulator(self, k: int) -> Simulator:
        sim = self.sensitivity_simulators[k] if self.sensitivity_simulators else None
        if sim is None:
            raise FitError(f"arm {self.rows.arm_names[k]!r} has no sensitivity simulator")
        return sim

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
        n = len(self.rows.y)
        jm, jl = np.zeros((n, len(names))), np.zeros((n, len(names)))
        jp = np.zeros((len(self.fn.penalty(values)), len(names)))
        idx = {name: c for c, name in enumerate(names)}
        cols = [idx[e] for e in exact]
        jm[:, cols], jl[:, cols] = jm_e, jl_e
        if jp.shape[0] and exact:
            jp[:, cols] = self._fd_columns(values, exact, self.fn.penalty, rel_step)
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
        from scipy.special import log_ndtr
        names = self._check_names(names)
        exact = self.uses_sensitivities and all(self._exact_capable(n) for n in names)
        out = self._exact_moments(values, names) if exact else None
        if out is None:
            r = self.fn.residuals(values)
            jac = self._fd_columns(values, names, self.fn.residuals, rel_step) if fallback else None
            return r, jac
        mu, s, jm, jl = out
        pen = self.fn.penalty(values)
        obs, cens = ~self.rows.censored, self.rows.censored
        n = len(self.rows.y) + int(np.sum(obs)) + len(pen)
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(s)) and np.all(s > 0)):
            return np.full(n, 1e4), np.zeros((n, len(names)))
        r = np.concatenate([residual_vector(self.rows.ty, mu, s, self.rows.censored, self.rows.offset), pen])
        z = (self.rows.ty - mu) / s
        dz = -jm / s[:, None] - z[:, None] * jl
        arg = 2.0 * (np.log(s[obs]) + self.rows.offset[obs])
        sig = np.sqrt(np.maximum(arg, 0.0))
        dsig = np.where((arg > 0)[:, None], jl[obs] / np.where(sig > 0, sig, 1.0)[:, None], 0.0)
        parts = [dz[obs], dsig]
        if np.any(cens):
            zc = z[cens]
            rc = np.sqrt(np.maximum(-2.0 * log_ndtr(zc), 0.0))
            slope = np.where(rc > 0, -_mills(zc) / np.where(rc > 0, rc, 1.0), 0.0)
            parts.append(slope[:, None] * dz[cens])
        if len(pen):
            parts.append(self._fd_columns(values, names, self.fn.penalty, rel_step))
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
        return all(p.source in self._sensitivity_simulator(k).sensitivities
                   for k, a in enumerate(self.rows.arm_names) if p.arm in (None, a))

    def _fd_jacobians(self, values: Mapping[str, float], names: Sequence[str], rel_step: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Central-difference Jacobians of ``mu``, ``log s`` and the penalties (one solve per parameter and side)."""
        n = len(self.rows.y)
        jm, jl = np.zeros((n, len(names))), np.zeros((n, len(names)))
        jp = np.zeros((len(self.fn.penalty(values)), len(names)))
        for k, name in enumerate(names):
            p = self.by_name[name]
            x = float(values[name])
            h = rel_step * max(abs(x), 1e-8)
            hi, lo = min(x + h, p.upper), max(x - h, p.lower)
            out = []
            for xv in (hi, lo):
                v = dict(values)
                v[name] = xv
                mu, s = self.fn.moments(v)
                out.append((mu, np.log(s), self.fn.penalty(v)))
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
        mu, s = self.fn.moments(values, f)
        dmu, dls = self.slope_moments(f, values, lambda x: self.fn.moments(values, x), self.rows.row_obs)
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
        n = len(self.rows.y)
        f = np.full(n, np.nan)
        jf = np.zeros((n, len(names)))
        obs_values = {p.name: float(values[p.name]) for p in self.parameters if p.role == "observation"}
        params = [self.by_name[name] for name in names]
        for k, arm in enumerate(self.rows.arm_names):
            rows_arm = self.rows.row_arm == k
            mv = self.fn.model_values(values, arm)
            sim = self._sensitivity_simulator(k)
            try:
                res = sim.run(mv)
            except SolverError:
                return None
            series = {nm: res[nm] for nm in res.names}
            env = {**mv, **obs_values}
            for j, o in enumerate(self.rows.obs_names):
                rows = np.flatnonzero(rows_arm & (self.rows.row_obs == j))
                if rows.size == 0:
                    continue
                omap = self.observations[o]
                tidx = self.rows.row_tidx[rows]
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
            scope[nm] = np.asarray(series[nm], dtype=float) + 1j * t * np.asarray(dseries[nm], dtype=float)
        if explicit:
            scope[theta] = float(env[theta]) + 1j * t
        g = np.broadcast_to(np.asarray(eval(self._target_code[o], {"__builtins__": {}}, scope)), shape)
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
        scale = np.array([self.rows.data_scale[o] for o in self.rows.obs_names])[obs_index]
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
        if p.observable is None:
            raise FitError(f"noise parameter {name!r} has no observable")
        obs = p.observable
        j = self.rows.obs_names.index(obs)
        rows = (self.rows.row_obs == j) & ~self.rows.has_sd
        out = np.zeros(len(self.rows.y))
        if not np.any(rows):
            return out
        nm = self.noise[obs]
        theta = self.fn.noise_values(values, obs)
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
        mu, s = self.fn.moments(values)
        _, _, info = nll_derivatives(self.rows.ty, mu, s, self.rows.censored, jm, jl)
        return info + jp.T @ jp

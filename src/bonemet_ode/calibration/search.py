"""Bookkeeping of a calibration search: every evaluation recorded, local refinement with lmfit.

:class:`Search` evaluates points of the unit cube through an
:class:`~bonemet_ode.outcomes.EvaluationContext`, remembers every point with
its clause margins and per-outcome verdicts, and refines a start with
``lmfit.minimize(method="least_squares")`` on the smooth penalties of a
chosen subset of outcomes, stopping as soon as that subset holds.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..outcomes.context import EvaluationContext
from .space import CalibrationSettings, ParameterSpace, residual_matrix

if TYPE_CHECKING:
    import lmfit

__all__ = ["Search"]


class Search:
    """Evaluations of one calibration run.

    Parameters
    ----------
    context : EvaluationContext
        The outcomes and arms.
    space : ParameterSpace
        Free parameters.
    settings : CalibrationSettings
        Penalty scale, weights, finite-difference step.
    bar : tqdm-like, optional
        Progress bar updated once per evaluation.
    """

    def __init__(self, context: EvaluationContext, space: ParameterSpace, settings: CalibrationSettings,
                 bar: Any = None) -> None:
        self.context, self.space, self.settings, self.bar = context, space, settings, bar
        self.leaf_owner = context.leaf_owners()
        self.n_outcomes = len(context.outcomes)
        w = dict(settings.weights)
        keys = [o.key for o in context.outcomes]
        unknown = sorted(set(w) - set(keys))
        if unknown:
            from ..errors import FitError

            raise FitError(f"weights name unknown outcomes: {', '.join(unknown)} (outcomes: {', '.join(keys)})")
        self.weights = np.array([w.get(keys[i], 1.0) for i in self.leaf_owner], dtype=float)
        self.U: list[np.ndarray] = []
        self.M: list[np.ndarray] = []
        self.S: list[np.ndarray] = []

    # ------------------------------------------------------------------ evaluations
    def evaluate(self, u: np.ndarray) -> int:
        """Evaluate unit-cube point ``u``; returns its index in the history."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        ev = self.context.evaluate(self.space.to_params(u))
        self.U.append(u.copy())
        self.M.append(ev.margins())
        self.S.append(np.array([r.satisfied for r in ev.results], dtype=bool))
        if self.bar is not None:
            self.bar.update(1)
        return len(self.U) - 1

    def satisfied(self) -> np.ndarray:
        """(evaluations x outcomes) verdicts."""
        return np.array(self.S, dtype=bool).reshape(len(self.S), self.n_outcomes)

    def leaf_mask(self, outcomes: np.ndarray) -> np.ndarray:
        """Clauses belonging to the outcomes selected by the boolean mask ``outcomes``."""
        return outcomes[self.leaf_owner]

    def objective(self, outcomes: np.ndarray | None = None) -> np.ndarray:
        """Sum of weighted squared penalties (with the safety margin) of every evaluation."""
        M = np.array(self.M, dtype=float).reshape(len(self.M), len(self.leaf_owner))
        R = residual_matrix(M, self.settings.penalty_scale, self.settings.safety) ** 2 * self.weights
        if outcomes is not None:
            R = R[:, self.leaf_mask(outcomes)]
        return R.sum(axis=1)

    def done(self, k: int, outcomes: np.ndarray, safety: float) -> bool:
        """Whether evaluation ``k`` satisfies the selected outcomes with every clause margin >= ``safety``."""
        return bool(self.S[k][outcomes].all() and np.all(self.M[k][self.leaf_mask(outcomes)] >= safety))

    # ------------------------------------------------------------------ local search
    def refine(self, u0: np.ndarray, outcomes: np.ndarray, stop_safety: float, max_nfev: int) -> int | None:
        """Least-squares refinement of the selected outcomes' penalties from ``u0``.

        Returns the index of the first evaluation that satisfies the selected
        outcomes with margins ``>= stop_safety`` (the search stops there), or
        ``None`` when ``max_nfev`` evaluations found none.
        """
        import lmfit
        from lmfit.minimizer import AbortFitException
        s = self.settings
        mask = self.leaf_mask(outcomes)
        sw = np.sqrt(self.weights[mask])
        d = len(self.space)
        names = [f"x{j}" for j in range(d)]
        hit: list[int] = []

        def fcn(p: lmfit.Parameters) -> np.ndarray:
            k = self.evaluate(np.array([p[n].value for n in names]))
            if not hit and self.done(k, outcomes, stop_safety):
                hit.append(k)
            return sw * residual_matrix(self.M[k][mask], s.penalty_scale, s.safety)

        def stop(*_: Any, **__: Any) -> bool:
            return bool(hit)

        params = lmfit.Parameters()
        for n, v in zip(names, np.clip(u0, 0.0, 1.0)):
            params.add(n, value=float(v), min=0.0, max=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                lmfit.minimize(fcn, params, method="least_squares", max_nfev=max_nfev, iter_cb=stop,
                               diff_step=s.diff_step, calc_covar=False)
            except AbortFitException:
                pass
        return hit[0] if hit else None

    def gradients(self, k: int) -> np.ndarray:
        """(outcomes x free parameters) forward-difference gradients of outcome margins at evaluation ``k``.

        An outcome's margin is its smallest clause margin; steps are
        ``10 * diff_step`` in the unit cube (backwards at the upper edge).
        """
        u0, m0 = self.U[k], self.M[k]
        d = len(self.space)
        G = np.empty((len(m0), d))
        h = 10.0 * self.settings.diff_step
        for j in range(d):
            u = u0.copy()
            step = h if u[j] + h <= 1.0 else -h
            u[j] += step
            G[:, j] = (self.M[self.evaluate(u)] - m0) / step
        out = np.full((self.n_outcomes, d), np.nan)
        for i in range(self.n_outcomes):
            leaves = np.flatnonzero(self.leaf_owner == i)
            binding = leaves[int(np.argmin(np.where(np.isnan(m0[leaves]), -np.inf, m0[leaves])))]
            out[i] = G[binding]
        return out

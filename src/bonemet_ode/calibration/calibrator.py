"""Qualitative calibration: find parameters under which every outcome holds, or say which conflict.

The search, reproducible from a seed:

1. **Screening.**  A Latin hypercube (``scipy.stats.qmc``, seeded) of
   ``n_starts`` points in the unit cube of the free parameters (log scale
   where a parameter is log-scaled), plus the current values.
2. **Refinement.**  From the ``n_refine`` best screening points,
   ``lmfit.minimize(method="least_squares")`` on the vector of smooth
   penalties ``scale · softplus(−(margin − safety)/scale)``, one per clause.
3. **Early stop** as soon as an evaluation satisfies every outcome with every
   clause margin ``>= safety``.
4. **Conflict analysis** when no evaluation satisfies every outcome (see
   :mod:`bonemet_ode.calibration.conflicts`).

A runnable example on a one-compartment drug is in :func:`calibrate`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import FitError
from ..outcomes.context import EvaluationContext
from .conflicts import analyse_conflicts
from .result import CONFLICT_METHOD, CalibrationResult, Conflict
from .search import Search
from .space import CalibrationSettings, FreeParameter, ParameterSpace

__all__ = ["Calibrator", "calibrate", "CalibrationResult", "CalibrationSettings", "FreeParameter", "Conflict"]


def _latin_hypercube(d: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc
    rng = np.random.default_rng(seed)
    try:
        sampler = qmc.LatinHypercube(d, rng=rng)
    except TypeError:  # scipy < 1.15 names the argument 'seed'
        sampler = qmc.LatinHypercube(d, seed=rng)
    return sampler.random(n)


class Calibrator:
    """A qualitative calibration problem: outcomes (through a context), free parameters, settings.

    Parameters
    ----------
    context : EvaluationContext
        Model, arms and outcomes; its ``params`` stay fixed.
    free : sequence of str or FreeParameter
        Parameters to search (bounds and scale from the model unless given).
    settings : CalibrationSettings, optional
        Search settings.

    Examples
    --------
    >>> cal = Calibrator(context, ["r", FreeParameter("k", 0.01, 2.0, log_scale=True)])  # doctest: +SKIP
    >>> result = cal.run(seed=3)                                                         # doctest: +SKIP
    """

    def __init__(self, context: EvaluationContext, free: Sequence[str | FreeParameter],
                 settings: CalibrationSettings | None = None) -> None:
        if not isinstance(context, EvaluationContext):
            raise FitError(f"context must be an EvaluationContext, got {context!r}")
        self.context = context
        self.space = ParameterSpace(context.model, free)
        self.settings = settings or CalibrationSettings()
        if not isinstance(self.settings, CalibrationSettings):
            raise FitError(f"settings must be CalibrationSettings, got {settings!r}")

    def _starts(self, seed: int) -> np.ndarray:
        s = self.settings
        U = _latin_hypercube(len(self.space), s.n_starts, seed) if s.n_starts else np.empty((0, len(self.space)))
        if s.include_current:
            current = {**self.context.model.parameter_values(), **self.context.params}
            U = np.vstack([self.space.to_unit(current)[None, :], U])
        return U

    def run(self, seed: int = 0) -> CalibrationResult:
        """Search; the same seed gives the same result bit for bit.

        Parameters
        ----------
        seed : int
            Seed of the Latin-hypercube screening.

        Returns
        -------
        CalibrationResult
            Best parameters, per-outcome report and, when not every outcome
            holds, the conflict analysis.
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise FitError(f"seed must be an integer >= 0, got {seed!r}")
        s = self.settings
        t0 = time.perf_counter()
        n0 = self.context.n_evaluations
        starts = self._starts(int(seed))
        bar = self._bar(len(starts) + s.n_refine * s.max_nfev)
        search = Search(self.context, self.space, s, bar)
        everything = np.ones(len(self.context.outcomes), dtype=bool)
        stopped = False
        try:
            if bar is not None:
                bar.set_description("screening")
            for u in starts:
                if search.done(search.evaluate(u), everything, s.safety):
                    stopped = True
                    break
            if not stopped and s.n_refine:
                if bar is not None:
                    bar.set_description("refining")
                order = np.argsort(search.objective(), kind="stable")[: s.n_refine]
                for k in order:
                    if search.refine(search.U[int(k)], everything, s.safety, s.max_nfev) is not None:
                        stopped = True
                        break
            best = self._best(search)
            conflicts: tuple[Conflict, ...] = ()
            infeasible: tuple[str, ...] = ()
            unexplained: tuple[str, ...] = ()
            if not search.S[best].all() and s.conflicts:
                if bar is not None:
                    bar.set_description("conflicts")
                conflicts, infeasible, unexplained = analyse_conflicts(search, best, s.conflict_nfev)
        finally:
            if bar is not None:
                bar.close()
        params = self.space.to_params(search.U[best])
        ev = self.context.evaluate(params)
        return CalibrationResult(
            parameters=params, fixed=dict(self.context.params), free=self.space.free, results=ev.results,
            objective=float(search.objective()[best]), satisfied=ev.all_satisfied, stopped_early=stopped,
            n_evaluations=self.context.n_evaluations - n0, wall_time=time.perf_counter() - t0, seed=int(seed),
            settings=s, conflicts=conflicts, infeasible=infeasible, unexplained=unexplained,
            outcomes=tuple(o.to_dict() for o in self.context.outcomes), conflict_method=CONFLICT_METHOD,
        )

    @staticmethod
    def _best(search: Search) -> int:
        """Smallest objective among evaluations satisfying every outcome, else overall."""
        obj = search.objective()
        ok = search.satisfied().all(axis=1)
        if ok.any():
            return int(np.flatnonzero(ok)[np.argmin(obj[ok])])
        return int(np.argmin(obj))

    def _bar(self, total: int) -> Any:
        show = self.settings.progress if self.settings.progress is not None else sys.stderr.isatty()
        if not show:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, unit="eval", leave=False)


def calibrate(context: EvaluationContext, free: Sequence[str | FreeParameter], *, seed: int = 0,
              settings: CalibrationSettings | None = None, **kwargs: Any) -> CalibrationResult:
    """Qualitative calibration of ``free`` parameters so that the context's outcomes hold.

    Parameters
    ----------
    context : EvaluationContext
        Model, arms and outcomes.
    free : sequence of str or FreeParameter
        Parameters to search.
    seed : int
        Seed of the screening (reproducible).
    settings : CalibrationSettings, optional
        Search settings; keyword arguments (``n_starts=``, ``safety=``, ...)
        override single fields.

    Returns
    -------
    CalibrationResult

    Examples
    --------
    Daily 1 mg doses of a one-compartment drug (elimination ``k_el``, 1/day): which
    elimination rate leaves at least 3 mg in the body on day 3?

    >>> import bonemet_ode as bm
    >>> model = bm.models.get("pk_one_compartment")
    >>> arms = [bm.Arm("q1d", [bm.Dose("central", 1.0, every=1.0)])]
    >>> context = bm.EvaluationContext(model, arms, ["central@3[q1d] >= 3"])
    >>> context.evaluate().all_satisfied                   # the model's k_el = 0.5/day
    False
    >>> result = bm.calibrate(context, [bm.FreeParameter("k_el", 0.01, 2.0)], seed=0)
    >>> result.satisfied, context.evaluate(result.parameters).all_satisfied
    (True, True)
    >>> 0.01 <= result.parameters["k_el"] < 0.5
    True
    """
    base = settings or CalibrationSettings()
    if kwargs:
        import dataclasses

        unknown = sorted(set(kwargs) - {f.name for f in dataclasses.fields(CalibrationSettings)})
        if unknown:
            raise FitError(f"unknown calibration settings: {', '.join(unknown)}")
        base = dataclasses.replace(base, **kwargs)
    return Calibrator(context, free, base).run(seed)

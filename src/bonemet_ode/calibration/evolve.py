"""A derivative-free search for qualitative calibration: a seeded (1+λ) evolution strategy.

Outcome margins of cohort statements (fractions of virtual mice) are step
functions of the parameters, and margins near a tipping response are nearly
so: finite-difference least squares stalls there.  This search needs no
derivatives.  Its objective counts failed outcomes first (each adds 1, more
than any set of satisfied clauses can add) and then the smooth clause
penalties of :func:`~bonemet_ode.calibration.space.residual_matrix`, so it
never trades a failed outcome for wider margins elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import FitError
from .space import residual_matrix

__all__ = ["evolution_objective", "evolve"]


def evolution_objective(context: Any, values: Mapping[str, float], scale: float = 0.05,
                        safety: float = 0.1) -> tuple[float, Any]:
    """``(failed outcomes + sum of squared smooth clause penalties, evaluation)`` at ``values``."""
    evaluation = context.evaluate(dict(values))
    failed = sum(not r.satisfied for r in evaluation)
    return failed + float(np.sum(residual_matrix(evaluation.margins(), scale, safety) ** 2)), evaluation


def evolve(context: Any, start: Mapping[str, float], *, seed: int = 0, generations: int = 100,
           offspring: int = 6, log: Callable[[str], None] | None = print) -> dict[str, float]:
    """(1+λ) evolution strategy on :func:`evolution_objective`, within the parameters' bounds.

    Each offspring multiplies a random ~30 % subset of the parameters by
    log-normal factors; the step size grows by 1.3 after a successful
    generation and shrinks by 0.85 otherwise (within [0.03, 1]) and is reset
    to 0.6 after eight generations without progress.

    Parameters
    ----------
    context : EvaluationContext
        Outcomes, arms and model.
    start : mapping of str to float
        Starting values of the free parameters (all > 0).
    seed : int
        Seed of the search (same seed, same result).
    generations, offspring : int
        Budget: ``generations * offspring`` evaluations.
    log : callable, optional
        Receives one progress line per generation (``None``: silent).

    Returns
    -------
    dict
        The best values found.
    """
    model = context.model
    names = list(start)
    for n in names:
        if not float(start[n]) > 0:
            raise FitError(f"evolution search: start value of {n!r} must be > 0 (log-normal steps), got {start[n]!r}")
    lower = np.array([max(model.parameter(n).lower, 1e-12) for n in names])
    upper = np.array([model.parameter(n).upper for n in names])
    x = np.array([float(start[n]) for n in names])
    rng = np.random.default_rng(seed)
    best, ev = evolution_objective(context, dict(zip(names, x)))
    sigma, stalled, t0 = 0.3, 0, time.perf_counter()
    for g in range(generations):
        improved = False
        for _ in range(offspring):
            mask = rng.random(len(x)) < 0.3
            y = np.clip(x * np.exp(np.where(mask, rng.normal(0.0, sigma, len(x)), 0.0)), lower, upper)
            value, ev_y = evolution_objective(context, dict(zip(names, y)))
            if value < best:
                best, x, ev, improved = value, y, ev_y, True
        sigma = float(np.clip(sigma * (1.3 if improved else 0.85), 0.03, 1.0))
        stalled = 0 if improved else stalled + 1
        if stalled >= 8:
            sigma, stalled = 0.6, 0
        if log is not None:
            log(f"generation {g + 1:3d}: objective {best:.4f}, {sum(r.satisfied for r in ev)} of {len(ev)} "
                f"outcomes, step {sigma:.3f}, {time.perf_counter() - t0:.0f} s")
    return {n: float(v) for n, v in zip(names, x)}

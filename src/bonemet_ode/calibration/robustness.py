"""Robustness of a parameter set: the share of joint log-normal jitters under which every outcome still holds.

A jitter multiplies every free parameter by its own ``exp(sigma * N(0, 1))``
(values outside a parameter's model bounds are set to the bound), as in
``benchmarks/robustness_bone_metastasis.py``.  :func:`most_robust_member`
ranks members of an ensemble with the *same* jitter factors for every
candidate (common random numbers), so differences between candidates are
not sampling noise of the jitters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FitError
from ..outcomes.context import EvaluationContext
from ..simulate._validate import integer
from .ensemble_result import Ensemble
from .jitter_margins import jitter_margins

__all__ = ["RobustnessRanking", "jitter_factors", "most_robust_member", "robustness"]


def jitter_factors(n_params: int, sigma: float, n: int, seed: int) -> np.ndarray:
    """(n x n_params) multiplicative factors ``exp(sigma * z)``, ``z`` standard normal from ``seed``."""
    if not (sigma >= 0 and np.isfinite(sigma)):
        raise FitError(f"sigma must be a finite number >= 0, got {sigma!r}")
    for label, value, low in (("n_params", n_params, 1), ("n", n, 1), ("seed", seed, 0)):
        integer(value, label, low=low, error=FitError)
    rng = np.random.default_rng(seed)
    return np.exp(sigma * rng.standard_normal((int(n), int(n_params))))


def robustness(context: EvaluationContext, params: Mapping[str, float], names: Sequence[str], factors: np.ndarray,
               progress: Callable[[int], None] | None = None) -> tuple[float, Counter]:
    """``(share of jitters keeping every outcome, Counter of failing outcome ids)`` around ``params``: the
    summary of :func:`~.jitter_margins.jitter_margins` (same arguments), without evaluating ``params`` itself."""
    jm = jitter_margins(context, params, names, factors, progress=progress, centre=False)
    return jm.share_kept, jm.failing()


@dataclass(frozen=True)
class RobustnessRanking:
    """Candidates of :func:`most_robust_member` and their scores.

    Attributes
    ----------
    best : int
        Ensemble index of the most robust candidate.
    candidates : tuple of int
        Ensemble indices tried.
    scores : tuple of float
        Share of jitters keeping every outcome, per candidate (ties broken by the larger ``sigma`` score
        and then by the smaller index).
    sigma : tuple of float
        Jitter sizes used (scores of the first; the others break ties).
    n_draws : int
    """

    best: int
    candidates: tuple[int, ...]
    scores: tuple[tuple[float, ...], ...]
    sigma: tuple[float, ...]
    n_draws: int

    def report(self) -> str:
        """Text table, best first."""
        order = sorted(range(len(self.candidates)), key=lambda i: tuple(-s for s in self.scores[i]))
        head = "member  " + "  ".join(f"kept@{s:g}" for s in self.sigma)
        lines = [head]
        for i in order:
            lines.append(f"{self.candidates[i]:>6}  " + "  ".join(f"{v:>8.0%}" for v in self.scores[i]))
        return "\n".join(lines)


def candidate_members(ensemble: Ensemble, k: int) -> list[int]:
    """Up to ``k`` members likely deep inside the feasible region (every member when ``k`` exceeds their number).

    Half by the largest smallest normalised outcome margin (each outcome's
    margins divided by their spread over the ensemble), half by the
    smallest Mahalanobis distance to the ensemble mean in the unit cube.
    """
    n = len(ensemble)
    if n == 0:
        raise FitError("the ensemble has no members")
    integer(k, "the number of candidates", low=1, error=FitError)
    M = np.asarray(ensemble.margins, dtype=float)
    req = [i for i, o in enumerate(ensemble.outcome_ids) if o in set(ensemble.required)]
    Mr = M[:, req]
    spread = np.nanstd(Mr, axis=0)
    spread[~(spread > 0)] = 1.0
    depth_margin = np.nanmin(Mr / spread, axis=1)
    U = ensemble.unit()
    C = np.cov(U, rowvar=False) + np.eye(U.shape[1]) * 1e-12 if n > 1 else np.eye(U.shape[1])
    diff = U - U.mean(axis=0)
    maha = np.einsum("ij,jk,ik->i", diff, np.linalg.pinv(C), diff)
    out: list[int] = []
    for i, j in zip(np.argsort(-depth_margin, kind="stable"), np.argsort(maha, kind="stable")):
        for x in (int(i), int(j)):  # alternately from the two rankings
            if x not in out and len(out) < k:
                out.append(x)
        if len(out) >= k:
            break
    return out


def most_robust_member(context: EvaluationContext, ensemble: Ensemble, n_candidates: int = 16, n_draws: int = 20,
                       sigma: Sequence[float] = (0.1, 0.05), seed: int = 0, log: Any = None) -> RobustnessRanking:
    """The member keeping every outcome under the most joint jitters (same jitters for every candidate).

    Parameters
    ----------
    context : EvaluationContext
    ensemble : Ensemble
    n_candidates : int
        Members tried (:func:`candidate_members`).
    n_draws : int
        Jitters per candidate and sigma.
    sigma : sequence of float
        Jitter sizes; the first ranks, the others break ties.
    seed : int
        Seed of the jitter factors.
    log : callable, optional
        One line per candidate.

    Returns
    -------
    RobustnessRanking
    """
    integer(n_candidates, "n_candidates", low=1, error=FitError)
    if not len(sigma):
        raise FitError("sigma: give at least one jitter size")
    cands = candidate_members(ensemble, n_candidates)
    names = list(ensemble.names)
    factors = [jitter_factors(len(names), s, n_draws, seed + i) for i, s in enumerate(sigma)]
    scores = []
    for c in cands:
        row = tuple(robustness(context, ensemble.member(c), names, f)[0] for f in factors)
        scores.append(row)
        if log is not None:
            log(f"member {c}: " + ", ".join(f"{v:.0%} kept at sigma {s:g}" for v, s in zip(row, sigma)))
    best_i = sorted(range(len(cands)), key=lambda i: (tuple(-v for v in scores[i]), cands[i]))[0]
    return RobustnessRanking(cands[best_i], tuple(cands), tuple(scores), tuple(float(s) for s in sigma), int(n_draws))

"""Conflict analysis of a calibration whose outcomes cannot all hold.

Method (also in :data:`~bonemet_ode.calibration.result.CONFLICT_METHOD`):

1. An outcome *can hold alone* when some evaluation so far satisfied it,
   or a local least-squares search on its penalty alone finds a point.
   Outcomes that cannot are reported as infeasible within the bounds.
2. For each outcome A failing at the best point and each other outcome B
   that can hold alone: if some evaluation satisfied both, they are
   compatible; otherwise a local search on the penalties of A and B alone
   starts from the evaluation with the smallest joint penalty.  If it fails
   too, (A, B) is a conflict.  Every evaluation made on the way joins the
   history, so later pairs benefit from earlier searches.
3. For each conflict, the forward-difference gradients of the two margins
   with respect to the unit-cube parameters at the best point give the
   cosine between them and the parameters that help one and hurt the other.

A failing outcome that can hold alone and is pairwise compatible with every
other outcome is reported as *unexplained*: the conflict involves three or
more outcomes (or the local searches fell short).
"""

from __future__ import annotations

import math

import numpy as np

from .result import Conflict
from .search import Search

__all__ = ["analyse_conflicts"]


def _opposing(names: tuple[str, ...], ga: np.ndarray, gb: np.ndarray) -> tuple[tuple[str, float, float], ...]:
    prod = ga * gb
    idx = [j for j in np.argsort(prod, kind="stable") if prod[j] < 0]
    return tuple((names[j], float(ga[j]), float(gb[j])) for j in idx)


def _cosine(ga: np.ndarray, gb: np.ndarray) -> float:
    if not (np.all(np.isfinite(ga)) and np.all(np.isfinite(gb))):
        return math.nan
    na, nb = float(np.linalg.norm(ga)), float(np.linalg.norm(gb))
    if na == 0 or nb == 0:
        return math.nan
    return float(np.dot(ga, gb) / (na * nb))


def analyse_conflicts(search: Search, best: int,
                      nfev: int) -> tuple[tuple[Conflict, ...], tuple[str, ...], tuple[str, ...]]:
    """Conflicts, infeasible outcomes and unexplained failures at evaluation ``best``.

    Parameters
    ----------
    search : Search
        The calibration's history (extended by the searches made here).
    best : int
        Index of the best evaluation.
    nfev : int
        Evaluations per local search.

    Returns
    -------
    conflicts, infeasible, unexplained
        See :class:`~bonemet_ode.calibration.result.CalibrationResult`.
    """
    keys = [o.key for o in search.context.outcomes]
    n = search.n_outcomes
    failing = np.flatnonzero(~search.S[best])
    alone: dict[int, bool] = {}

    def one_hot(*idx: int) -> np.ndarray:
        m = np.zeros(n, dtype=bool)
        m[list(idx)] = True
        return m

    def can_hold(i: int) -> bool:
        if i not in alone:
            if search.satisfied()[:, i].any():
                alone[i] = True
            else:
                mask = one_hot(i)
                start = search.U[int(np.argmin(search.objective(mask)))]
                alone[i] = search.refine(start, mask, 0.0, nfev) is not None
        return alone[i]

    pairs: dict[frozenset[int], int] = {}
    found: list[tuple[int, int, int]] = []
    infeasible, unexplained = [], []
    for a in map(int, failing):
        if not can_hold(a):
            infeasible.append(keys[a])
            continue
        in_conflict = False
        for b in range(n):
            if b == a:
                continue
            key = frozenset((a, b))
            if key in pairs:
                in_conflict |= pairs[key] > 0
                continue
            S = search.satisfied()
            if (S[:, a] & S[:, b]).any() or not can_hold(b):
                pairs[key] = 0
                continue
            mask = one_hot(a, b)
            start = search.U[int(np.argmin(search.objective(mask)))]
            before = len(search.U)
            ok = search.refine(start, mask, 0.0, nfev) is not None
            pairs[key] = 0 if ok else max(1, len(search.U) - before)
            if not ok:
                found.append((a, b, pairs[key]))
                in_conflict = True
        if not in_conflict:
            unexplained.append(keys[a])
    conflicts: list[Conflict] = []
    if found:
        G = search.gradients(best)
        names = search.space.names
        for a, b, cost in found:
            conflicts.append(Conflict(keys[a], keys[b], _cosine(G[a], G[b]), _opposing(names, G[a], G[b]), cost))
    return tuple(conflicts), tuple(infeasible), tuple(unexplained)

"""Clause margins of a parameter set under joint jitters, and the parameters that move each one.

:func:`jitter_margins` evaluates every outcome of a context at jittered copies
of one parameter set and keeps every clause's margin, so that a modeller sees
not only *how often* an outcome breaks (:func:`~.robustness.robustness`) but
*how close* each clause sits to its threshold in units of its own spread under
the jitter (``z = centre margin / sd``), and *which parameters* push it over:
:meth:`JitterMargins.drivers` regresses a clause's margins on the jitters'
log-factors (least squares with an intercept), so each coefficient is the
change of the margin for a one-sigma jitter of that parameter alone, to first
order, with the share of the margin's variance that the linear fit explains
(``r2``; a low value means the clause responds non-linearly, e.g. a cohort
fraction that moves in steps).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FitError
from ..outcomes.context import EvaluationContext
from ..simulate._validate import number

__all__ = ["ClauseDrivers", "JitterMargins", "jitter_margins"]


@dataclass(frozen=True)
class ClauseDrivers:
    """Linear attribution of one clause's margin to the jittered parameters.

    Attributes
    ----------
    clause : str
        Clause id (``O16.3``).
    coefficients : dict of str to float
        Change of the margin (in the clause's own units: a log ratio for ratios) for a one-sigma jitter of
        each parameter, largest magnitude first.
    r2 : float
        Share of the margin's variance over the draws explained by the linear fit (0-1).
    n_draws : int
        Draws with a finite margin that entered the fit.
    """

    clause: str
    coefficients: dict[str, float]
    r2: float
    n_draws: int

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` parameters with the largest coefficients in magnitude."""
        return list(self.coefficients.items())[:k]


@dataclass(frozen=True, eq=False)
class JitterMargins:
    """Every clause margin at a parameter set and at each of its joint jitters.

    Attributes
    ----------
    names : tuple of str
        Parameters jittered.
    sigma : float
        Log-normal sigma of the jitters (the unit of :meth:`drivers`).
    outcome_ids, clause_ids : tuple of str
        Outcomes and their separately scored clauses (``O4.1``, ``O4.2``), in the context's order.
    centre : ndarray
        (clauses,) margins at the parameter set itself.
    margins : ndarray
        (draws, clauses) margins at the jitters (NaN where a simulation failed).
    clause_ok, outcome_ok : ndarray of bool
        (draws, clauses) and (draws, outcomes): which hold at each jitter.
    log_factors : ndarray
        (draws, names) natural logarithms of the jitter factors drawn (before a value was set back to a
        parameter's bound).
    """

    names: tuple[str, ...]
    sigma: float
    outcome_ids: tuple[str, ...]
    clause_ids: tuple[str, ...]
    centre: np.ndarray
    margins: np.ndarray
    clause_ok: np.ndarray
    outcome_ok: np.ndarray
    log_factors: np.ndarray

    def __repr__(self) -> str:
        failing = int(np.sum(~np.all(self.clause_ok, axis=0))) if self.n_draws else 0
        return (f"JitterMargins({len(self.names)} parameters, sigma {self.sigma:g}, {self.n_draws} draws: "
                f"{self.share_kept:.1%} keep every outcome, {failing} of {len(self.clause_ids)} clauses fail "
                f"in some draw)")

    @property
    def n_draws(self) -> int:
        """Number of jitters."""
        return int(self.margins.shape[0])

    @property
    def share_kept(self) -> float:
        """Share of jitters under which every outcome holds."""
        return float(np.mean(np.all(self.outcome_ok, axis=1))) if self.n_draws else 0.0

    def failing(self) -> Counter:
        """``Counter`` of outcome ids: in how many jitters each fails."""
        counts = np.sum(~self.outcome_ok, axis=0)
        return Counter({o: int(c) for o, c in zip(self.outcome_ids, counts) if c})

    def drivers(self, clause: str) -> ClauseDrivers | None:
        """Least-squares attribution of ``clause``'s margin to the jittered parameters.

        Returns None where it cannot be fitted: ``sigma`` is 0, fewer finite draws than parameters + 2, or the
        margin does not vary.

        Raises
        ------
        FitError
            ``clause`` is not one of :attr:`clause_ids`.
        """
        if clause not in self.clause_ids:
            raise FitError(f"unknown clause {clause!r}; expected one of {', '.join(self.clause_ids)}")
        y = self.margins[:, self.clause_ids.index(clause)]
        ok = np.isfinite(y)
        n = int(ok.sum())
        if not self.sigma > 0 or n < len(self.names) + 2:
            return None
        y = y[ok]
        if not np.ptp(y) > 0:
            return None
        X = self.log_factors[ok] / self.sigma
        A = np.column_stack([np.ones(n), X])
        beta, *_ = np.linalg.lstsq(A, y, rcond=None)
        resid = y - A @ beta
        r2 = float(1.0 - resid @ resid / np.sum((y - y.mean()) ** 2))
        order = np.argsort(-np.abs(beta[1:]), kind="stable")
        return ClauseDrivers(clause, {self.names[i]: float(beta[1 + i]) for i in order}, max(r2, 0.0), n)

    def clause_table(self, only_failing: bool = True) -> list[dict[str, Any]]:
        """One row per clause, least kept first: id, centre margin, mean and sd over the jitters,
        ``z = centre / sd``, share of jitters failing it, and its three strongest drivers.

        Parameters
        ----------
        only_failing : bool
            Keep only clauses that fail in at least one jitter (default).
        """
        rows = []
        fail = 1.0 - np.mean(self.clause_ok, axis=0) if self.n_draws else np.zeros(len(self.clause_ids))
        for j in np.argsort(-fail, kind="stable"):
            if only_failing and not fail[j] > 0:
                continue
            col = self.margins[:, j]
            finite = col[np.isfinite(col)]
            sd = float(np.std(finite)) if finite.size > 1 else math.nan
            d = self.drivers(self.clause_ids[j])
            rows.append({"clause": self.clause_ids[j], "centre": float(self.centre[j]),
                         "mean": float(np.mean(finite)) if finite.size else math.nan, "sd": sd,
                         "z": float(self.centre[j] / sd) if sd > 0 else math.nan, "failing": float(fail[j]),
                         "drivers": None if d is None else dict(d.top(3)), "r2": None if d is None else d.r2})
        return rows

    def report(self, only_failing: bool = True) -> str:
        """Text table of :meth:`clause_table`."""
        rows = self.clause_table(only_failing)
        if not rows:
            return "  no clause fails in any draw"
        lines = [f"  {'clause':<16}{'margin':>10}{'sd':>10}{'z':>7}{'failing':>9}  "
                 f"drivers (margin change per one-sigma jitter; r2 of the linear fit)"]
        for r in rows:
            drv = "n/a (too few draws)" if r["drivers"] is None else (
                ", ".join(f"{k} {v:+.3g}" for k, v in r["drivers"].items()) + f"; r2 {r['r2']:.2f}")
            lines.append(f"  {r['clause']:<16}{r['centre']:>10.3g}{r['sd']:>10.3g}{r['z']:>7.2f}"
                         f"{r['failing']:>9.1%}  {drv}")
        return "\n".join(lines)


def _leaf_ok(result: Any) -> list[bool]:
    if not result.parts:
        return [bool(result.satisfied)]
    return [ok for p in result.parts for ok in _leaf_ok(p)]


def jitter_margins(context: EvaluationContext, params: Mapping[str, float], names: Sequence[str],
                   factors: np.ndarray, sigma: float | None = None,
                   progress: Callable[[int], None] | None = None, centre: bool = True) -> JitterMargins:
    """Evaluate every outcome at ``params`` and at each joint jitter ``params[n] * factors[i, k]``.

    Values outside a parameter's model bounds are set to the bound, as in
    :func:`~.robustness.robustness`.

    Parameters
    ----------
    context : EvaluationContext
    params : mapping
        The parameter set (free parameters and any other overrides).
    names : sequence of str
        Parameters jittered (the columns of ``factors``).
    factors : ndarray
        (draws x names) positive factors, e.g. :func:`~.robustness.jitter_factors`.
    sigma : float, optional
        Log-normal sigma of the factors; default: the root mean square of their logarithms.
    progress : callable, optional
        Called with the number of draws done after each draw.
    centre : bool
        Also evaluate ``params`` itself (default); without it :attr:`JitterMargins.centre` is NaN and one
        evaluation is saved (:func:`~.robustness.robustness`).

    Returns
    -------
    JitterMargins

    Examples
    --------
    Exponential growth ``V(t) = V0 exp(alpha t)`` (alpha = 0.3/day): the margin of ``V@10 >= 10`` is the log
    ratio ``10 alpha - ln 10``, so it moves with ``alpha`` alone and a linear fit explains nearly all of it:

    >>> import bonemet_ode as bm
    >>> from bonemet_ode.calibration import jitter_factors, jitter_margins
    >>> ctx = bm.EvaluationContext(bm.models.get("exponential"), [bm.Arm("A")], ["G1: V@10[A] >= 10"])
    >>> jm = jitter_margins(ctx, {}, ["alpha", "V0"], jitter_factors(2, 0.05, 40, 0), sigma=0.05)
    >>> jm
    JitterMargins(2 parameters, sigma 0.05, 40 draws: 100.0% keep every outcome, 0 of 1 clauses fail in some draw)
    >>> jm.clause_ids, jm.n_draws, jm.share_kept
    (('G1',), 40, 1.0)
    >>> d = jm.drivers("G1")
    >>> next(iter(d.coefficients)), round(d.coefficients["alpha"], 2), d.r2 > 0.99   # ~ 10 * 0.3 * 0.05
    ('alpha', 0.15, True)
    """
    names = list(names)
    F = _checked(np.atleast_2d(np.asarray(factors, dtype=float)), names)
    logs = np.log(F)
    if sigma is None:
        sigma = float(np.sqrt(np.mean(logs ** 2))) if logs.size else 0.0
    else:
        sigma = number(sigma, "sigma (the factors' log-normal sigma)", low=0.0, error=FitError)
    M, C, O, ids = _jitter_loop(context, params, names, F, progress)
    clause_ids = tuple(context.leaf_ids())
    at = context.evaluate(dict(params)).margins() if centre else np.full(len(clause_ids), np.nan)
    return JitterMargins(tuple(names), float(sigma), ids, clause_ids, at, M, C, O, logs)


def _checked(F: np.ndarray, names: Sequence[str]) -> np.ndarray:
    if F.ndim != 2 or F.shape[1] != len(names):
        raise FitError(f"factors must be a (draws x {len(names)}) array, one column per parameter named; "
                       f"got shape {F.shape}")
    if not np.all(np.isfinite(F) & (F > 0)):
        raise FitError("every jitter factor must be a finite number > 0")
    return F


def _jitter_loop(context: EvaluationContext, params: Mapping[str, float], names: Sequence[str], F: np.ndarray,
                 progress: Callable[[int], None] | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """(draws x clauses) margins, (draws x clauses) and (draws x outcomes) verdicts at the jitters ``F``, and
    the outcome ids (``F`` checked by :func:`_checked`)."""
    model = context.model
    lo = np.array([model.parameter(n).lower for n in names])
    hi = np.array([model.parameter(n).upper for n in names])
    base = np.array([float(params[n]) if n in params else model.parameter(n).value for n in names])
    n_clauses, n_outcomes = len(context.leaf_ids()), len(context.outcomes)
    M = np.empty((len(F), n_clauses))
    C = np.empty((len(F), n_clauses), dtype=bool)
    O = np.empty((len(F), n_outcomes), dtype=bool)
    ids: tuple[str, ...] = tuple(o.key for o in context.outcomes)
    for i, f in enumerate(F):
        x = np.clip(base * f, lo, hi)
        ev = context.evaluate({**params, **dict(zip(names, x.tolist()))})
        M[i] = ev.margins()
        C[i] = [ok for r in ev for ok in _leaf_ok(r)]
        O[i] = [r.satisfied for r in ev]
        ids = tuple(r.id for r in ev)
        if progress is not None:
            progress(i + 1)
    return M, C, O, ids

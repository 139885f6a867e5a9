"""Which outcomes the mechanism explains: structural, predicted, fitted, in tension.

For every outcome ``X``:

(a) **prior fraction** ``p``: the share of a seeded Latin hypercube over the
    prior box (the unit cube of the free parameters) where ``X`` holds; one
    pass evaluates every outcome at once;
(b) **left-out fraction** ``q``: an ensemble calibrated on every outcome but
    ``X`` (:func:`~bonemet_ode.calibration.ensemble.calibrate_ensemble` with
    ``exclude=[X]``, chains started at members of the full ensemble, which
    satisfy every outcome and so lie in the wider region too, with the full
    ensemble's covariance as the first direction covariance), and the share
    of its members where ``X`` holds anyway.

Classification (thresholds :data:`STRUCTURAL`, :data:`PREDICTED`):

* **structural**: ``p >= 0.9``: it holds almost wherever the parameters are;
* **predicted**: not structural, ``q >= 0.9``: the other outcomes imply it;
* **in tension**: ``q < p - 0.1`` (:data:`TENSION_GAP`): the other outcomes
  make it *rarer* than in the prior box; they push against it;
* **fitted**: otherwise: it holds only when asked for.

Chains of (b) start inside the full feasible region and run ``n_burn``
steps before recording, so ``q`` leans towards the full region when the
wider region is much larger than what the chains reach; a "predicted" on a
short run is an upper estimate, "fitted" and "in tension" are not
(:attr:`Explanation.settings` says how long the chains ran).

For every parameter piled at a bound of the prior box
(:meth:`~bonemet_ode.calibration.ensemble_result.Ensemble.parameter_summary`),
:func:`bound_dependence` moves it away from the bound in members of the
ensemble and records which outcomes then fail: those outcomes are *held by
a parameter piled at a bound*, and the report says so.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FitError
from ..io.envelope import dumps, envelope, open_document, read_document, write_document
from ..outcomes.context import EvaluationContext
from ..simulate._validate import integer
from .ensemble_result import Ensemble, EnsembleSettings
from .space import FreeParameter, ParameterSpace

__all__ = [
    "PREDICTED",
    "STRUCTURAL",
    "TENSION_GAP",
    "Explanation",
    "OutcomeExplanation",
    "bound_dependence",
    "classify",
    "explain_outcomes",
    "prior_fractions",
]

#: Every classification a row can carry (``prior only``: no left-out ensemble was computed).
CLASSIFICATIONS = ("structural", "predicted", "fitted", "in tension", "prior only")
#: Prior fraction at or above which an outcome is structural.
STRUCTURAL = 0.9
#: Left-out fraction at or above which an outcome is predicted by the others.
PREDICTED = 0.9
#: An outcome is in tension when its left-out fraction is below its prior fraction by more than this
#: (smaller gaps are within the sampling noise of a 100-member ensemble).
TENSION_GAP = 0.1
#: Unit-cube distance a piled parameter is moved away from its bound by :func:`bound_dependence`.
BOUND_STEP = 0.2


def classify(prior: float, left_out: float) -> str:
    """``structural`` / ``predicted`` / ``in tension`` / ``fitted`` from the two fractions (module docstring)."""
    if prior >= STRUCTURAL:
        return "structural"
    if left_out >= PREDICTED:
        return "predicted"
    if left_out < prior - TENSION_GAP:
        return "in tension"
    return "fitted"


@dataclass(frozen=True)
class OutcomeExplanation:
    """One row of the table.

    Attributes
    ----------
    id : str
        Outcome id.
    prior_fraction : float
        Share of the prior Latin hypercube where it holds.
    left_out_fraction : float
        Share of the ensemble calibrated without it where it holds (NaN: not computed).
    classification : str
        ``structural``, ``predicted``, ``fitted`` or ``in tension`` (``prior only`` without ``left_out_fraction``).
    held_by_bound : tuple of str
        Parameters piled at a bound whose move away from it breaks this outcome.
    n_left_out : int
        Members of the ensemble without it.
    """

    id: str
    prior_fraction: float
    left_out_fraction: float
    classification: str
    held_by_bound: tuple[str, ...] = ()
    n_left_out: int = 0


@dataclass(frozen=True)
class Explanation:
    """The structural / predicted / fitted / in-tension table of an outcome set."""

    rows: tuple[OutcomeExplanation, ...]
    piled: tuple[tuple[str, str], ...] = ()
    bound_breaks: tuple[tuple[str, str, float], ...] = ()
    n_prior: int = 0
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    n_evaluations: int = 0
    wall_time: float = 0.0

    def __getitem__(self, outcome_id: str) -> OutcomeExplanation:
        for r in self.rows:
            if r.id == outcome_id:
                return r
        raise FitError(f"no outcome {outcome_id!r} in this explanation")

    def table(self):
        """pandas DataFrame of the rows."""
        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(r) for r in self.rows])

    def report(self) -> str:
        """The table as text, with the piled parameters and what they hold."""
        lines = [f"{'outcome':<8} {'prior':>7} {'left out':>9} {'n':>5}  {'class':<11} "
                 "held by a parameter piled at a bound",
                 "-" * 86]
        for r in self.rows:
            q = "—" if np.isnan(r.left_out_fraction) else f"{r.left_out_fraction:.2f}"
            lines.append(f"{r.id:<8} {r.prior_fraction:>7.2f} {q:>9} {r.n_left_out:>5}  {r.classification:<11} "
                         f"{', '.join(r.held_by_bound)}")
        lines.append("")
        lines.append(f"prior: share of a Latin hypercube of {self.n_prior} points of the prior box where the outcome "
                     "holds; left out: share of an ensemble calibrated without the outcome where it holds anyway.")
        lines.append(f"structural: prior >= {STRUCTURAL:g}; predicted: left out >= {PREDICTED:g}; in tension: "
                     f"left out < prior - {TENSION_GAP:g}; fitted: otherwise.")
        if self.piled:
            lines.append("parameters piled at a bound of the prior box: "
                         + ", ".join(f"{n} ({w})" for n, w in self.piled))
            for n, o, share in self.bound_breaks:
                lines.append(f"  moving {n} {BOUND_STEP:g} of its range away from the bound breaks {o} in "
                             f"{share:.0%} of the members tried")
        else:
            lines.append("no parameter is piled at a bound of the prior box")
        lines.append(f"{self.n_evaluations} evaluations, {self.wall_time:.0f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope ``{"format": "bonemet_ode.explanation", ...}`` (NaN written as ``"nan"``)."""
        from ..outcomes.results import float_to_json

        return envelope("explanation", 1, {
            "rows": [{**dataclasses.asdict(r), "left_out_fraction": float_to_json(r.left_out_fraction),
                      "held_by_bound": list(r.held_by_bound)} for r in self.rows],
            "piled": [list(p) for p in self.piled], "bound_breaks": [list(b) for b in self.bound_breaks],
            "n_prior": self.n_prior, "settings": self.settings, "n_evaluations": self.n_evaluations,
            "wall_time": self.wall_time})

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "<document>") -> Explanation:
        """Rebuild from :meth:`to_dict`, checking the fields."""
        _, f = open_document(d, "explanation", versions=(1,), source=source)
        rows = []
        for r in f.objects("rows"):
            cls_ = r.str("classification")
            if cls_ not in CLASSIFICATIONS:
                raise r.error("classification", f"must be one of {list(CLASSIFICATIONS)}, got {cls_!r}")
            for key in ("prior_fraction", "left_out_fraction"):
                v = r.number(key, finite=key == "prior_fraction")
                if not (math.isnan(v) or 0.0 <= v <= 1.0):
                    raise r.error(key, f"must be a share in [0, 1], got {v!r}")
            rows.append(OutcomeExplanation(r.str("id"), r.number("prior_fraction"),
                                           r.number("left_out_fraction", finite=False), r.str("classification"),
                                           tuple(r.str_list("held_by_bound", [])), r.int("n_left_out", 0, minimum=0)))
        piled = tuple(f.tuples("piled", "ss", []))
        breaks = tuple(f.tuples("bound_breaks", "ssn", []))
        return cls(tuple(rows), piled, breaks, f.int("n_prior", 0), dict(f.raw("settings", {})),
                   f.int("n_evaluations", 0), f.number("wall_time", 0.0))

    def save(self, path: str | Path) -> Path:
        """Write the JSON document (atomically); returns the path."""
        return write_document(path, self.to_dict())

    def to_json(self) -> str:
        """The JSON document."""
        return dumps(self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> Explanation:
        """Read a file written by :meth:`save`."""
        return cls.from_dict(read_document(path), source=Path(path).name)


def prior_fractions(context: EvaluationContext, free: Sequence[str | FreeParameter], n: int = 256, seed: int = 0,
                    progress: bool | None = None, log: Any = None) -> tuple[tuple[str, ...], np.ndarray]:
    """``(outcome ids, (n x outcomes) verdicts)`` on a seeded Latin hypercube of the prior box; ``log``
    (a callable taking a line) hears every 32 points and the end."""
    from .calibrator import _latin_hypercube

    space = ParameterSpace(context.model, free)
    U = _latin_hypercube(len(space), int(n), int(seed))
    ids = tuple(o.key for o in context.outcomes)
    S = np.zeros((len(U), len(ids)), dtype=bool)
    bar = _bar(progress, len(U), "prior box")
    t0 = time.perf_counter()
    for k, u in enumerate(U):
        ev = context.evaluate(space.to_params(u))
        S[k] = [r.satisfied for r in ev.results]
        if bar is not None:
            bar.update(1)
        if log is not None and ((k + 1) % 32 == 0 or k + 1 == len(U)):
            log(f"prior box: {k + 1}/{len(U)} points; {time.perf_counter() - t0:.0f} s")
    if bar is not None:
        bar.close()
    return ids, S


def bound_dependence(context: EvaluationContext, ensemble: Ensemble, n_members: int = 8,
                     step: float = BOUND_STEP,
                     ) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, float], ...]]:
    """For every parameter piled at a bound, the outcomes that fail when it moves ``step`` away from it.

    Members evenly spaced through the ensemble are moved (in the unit cube of
    the prior box, the others kept) and evaluated.

    Returns
    -------
    piled : tuple of (parameter, which bound)
    breaks : tuple of (parameter, outcome id, share of moved members where it fails)
    """
    summary = ensemble.parameter_summary()
    piled = tuple((r["name"], r["flag"].replace("piled at ", "")) for _, r in summary.iterrows()
                  if r["flag"].startswith("piled"))
    if not piled or not len(ensemble):
        return piled, ()
    space = ParameterSpace(context.model, ensemble.free)
    U = ensemble.unit()
    pick = np.unique(np.linspace(0, len(ensemble) - 1, min(n_members, len(ensemble))).round().astype(int))
    breaks = []
    for name, where in piled:
        j = ensemble.names.index(name)
        fails: dict[str, int] = {}
        for k in pick:
            u = U[k].copy()
            u[j] = u[j] + step if where == "lower bound" else u[j] - step
            ev = context.evaluate({**ensemble.fixed, **space.to_params(np.clip(u, 0, 1))})
            for r in ev.results:
                if not r.satisfied:
                    fails[r.id] = fails.get(r.id, 0) + 1
        for oid, c in sorted(fails.items(), key=lambda kv: -kv[1]):
            breaks.append((name, oid, c / len(pick)))
    return piled, tuple(breaks)


def explain_outcomes(context: EvaluationContext, ensemble: Ensemble, outcomes: Sequence[str] | None = None, *,
                     n_prior: int = 256, n_left_out: int = 50, seed: int = 0,
                     settings: EnsembleSettings | None = None, progress: bool | None = None,
                     log: Any = None, prior: tuple[Sequence[str], np.ndarray] | None = None) -> Explanation:
    """The structural / predicted / fitted / in-tension table (module docstring).

    Parameters
    ----------
    context : EvaluationContext
        The outcomes (every one of them is scored in (a)).
    ensemble : Ensemble
        A full ensemble (every outcome required) on the same context: its
        prior box is used, and its members start the left-out chains.
    outcomes : sequence of str, optional
        Outcomes to leave out one at a time (default: every outcome).
    n_prior : int
        Latin-hypercube points of (a).
    n_left_out : int
        Members of each ensemble of (b) (0: skip (b)).
    seed : int
        Seed of the hypercube and of every left-out ensemble.
    settings : EnsembleSettings, optional
        Sampler settings of (b) (default: 4 chains, 20 burn-in steps, thin 1).
    progress : bool, optional
        Progress bars on stderr.
    log : callable, optional
        One line per outcome left out.
    prior : (ids, verdicts), optional
        A result of :func:`prior_fractions` on the same context and prior box to reuse instead of (a).

    Returns
    -------
    Explanation
    """
    from .ensemble import calibrate_ensemble

    if not isinstance(ensemble, Ensemble) or not len(ensemble):
        raise FitError("explain_outcomes needs a non-empty Ensemble calibrated on the same outcomes")
    ids = tuple(o.key for o in context.outcomes)
    missing = sorted(set(ensemble.required) - set(ids))
    if missing:
        raise FitError(f"the ensemble requires outcomes the context lacks: {', '.join(missing)}")
    chosen = list(ids if outcomes is None else outcomes)
    unknown = sorted(set(chosen) - set(ids))
    if unknown:
        raise FitError(f"unknown outcomes: {', '.join(unknown)} (outcomes: {', '.join(ids)})")
    twice = sorted({o for o in chosen if chosen.count(o) > 1})
    if twice:
        raise FitError(f"outcomes named more than once: {', '.join(twice)}")
    for label, value, low in (("n_prior", n_prior, 1 if prior is None else 0), ("n_left_out", n_left_out, 0),
                              ("seed", seed, 0)):
        integer(value, label, low=low, error=FitError)
    settings = settings or EnsembleSettings(n_chains=4, n_burn=20, thin=1, save_every=10**6)
    t0 = time.perf_counter()
    n0 = context.n_evaluations
    if prior is None:
        _, S = prior_fractions(context, ensemble.free, n_prior, seed, progress, log=log)
    else:
        if tuple(prior[0]) != ids:
            raise FitError("prior: its outcome ids differ from the context's")
        S = np.asarray(prior[1], dtype=bool)
        if S.ndim != 2 or S.shape[1] != len(ids) or not len(S):
            raise FitError(f"prior: expected a (points x {len(ids)}) array of verdicts, got shape {S.shape}")
        n_prior = len(S)
    prior_of: dict[str, float] = dict(zip(ids, map(float, S.mean(axis=0) if len(S) else np.full(len(ids), np.nan))))
    starts_idx = np.unique(np.linspace(0, len(ensemble) - 1, settings.n_chains).round().astype(int))
    starts = [ensemble.members[int(k)] for k in starts_idx]
    left: dict[str, tuple[float, int]] = {}
    U = ensemble.unit()
    cov = np.cov(U, rowvar=False) if len(U) > U.shape[1] + 1 else None
    if n_left_out > 0:
        for k, oid in enumerate(chosen):
            sub = calibrate_ensemble(context, ensemble.free, n_left_out, seed=seed, starts=starts, settings=settings,
                                     exclude=[oid], progress=progress, covariance=cov)
            held = float(np.mean([oid not in f for f in sub.failing]))
            left[oid] = (held, len(sub))
            if log is not None:
                log(f"{k + 1}/{len(chosen)} without {oid}: holds in {held:.0%} of {len(sub)} members "
                    f"(prior box {prior_of[oid]:.0%}); {time.perf_counter() - t0:.0f} s")
    piled, breaks = bound_dependence(context, ensemble)
    rows = []
    for oid in chosen:
        q, m = left.get(oid, (float("nan"), 0))
        kind = classify(prior_of[oid], q) if m else ("structural" if prior_of[oid] >= STRUCTURAL else "prior only")
        held_by = tuple(n for n, o, _share in breaks if o == oid)
        rows.append(OutcomeExplanation(oid, float(prior_of[oid]), q, kind, held_by, m))
    return Explanation(tuple(rows), piled, breaks, int(n_prior),
                       {"seed": int(seed), "n_left_out": int(n_left_out), "sampler": dataclasses.asdict(settings),
                        "starts": [int(k) for k in starts_idx]},
                       context.n_evaluations - n0, time.perf_counter() - t0)


def _bar(progress: bool | None, total: int, desc: str) -> Any:
    show = progress if progress is not None else sys.stderr.isatty()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="eval", leave=False)

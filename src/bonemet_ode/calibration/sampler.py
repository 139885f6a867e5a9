"""Uniform sampling of a feasible region of the unit cube: adaptive-direction hit-and-run with slice shrinkage.

The target is the uniform distribution on the feasible set ``F`` (every
constraint holds) inside the unit cube ``[0, 1]^d``.  Nothing but a yes/no
answer per point is needed, so step-like constraints (cohort fractions,
tipping responses) are as good as smooth ones.

One step of a chain at ``u`` (feasible):

1. draw a direction ``v = L z`` with ``z ~ N(0, I)`` and ``L L^T = Sigma``
   (the proposal covariance; adapted during burn-in, then frozen);
2. place an interval of length ``w`` (in units of ``t``) at random around
   ``t = 0`` on the line ``u + t v`` and cut it to the part of the line
   inside the cube (the feasible set lies inside, and the cut depends on
   the line only, so the choice stays symmetric);
3. draw ``t`` uniformly in the interval; if ``u + t v`` is feasible, move
   there, otherwise shrink the interval to the side of ``t`` that still
   holds ``0`` and draw again (Neal 2003, "Slice sampling", §4.2.2).

Each line update leaves the uniform distribution on ``F`` invariant
(whatever the shape of the chord: shrinkage does not need a convex slice),
and mixing over directions drawn independently of ``u`` keeps it so; with a
frozen ``Sigma`` and ``w`` the chain is an ordinary Markov chain.  Every
step moves (to a distinct point with probability 1) unless ``max_shrink``
proposals all fail, which is counted.  Points outside the cube cost no
evaluation.

Chains run interleaved, one step each in turn, so a partial run holds a
balanced sample; every chain has its own seeded generator
(``SeedSequence(seed).spawn``), and :meth:`SliceChains.state_dict` holds
everything needed to continue bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FitError

__all__ = ["SamplerSettings", "SliceChains", "chord"]

#: ``feasible(u) -> (holds, info)``: whether unit-cube point ``u`` satisfies every constraint, plus anything
#: to keep with an accepted point (for calibration: the outcome margins).
Feasible = Callable[[np.ndarray], tuple[bool, Any]]


@dataclass(frozen=True)
class SamplerSettings:
    """How :class:`SliceChains` samples.

    Parameters
    ----------
    n_chains : int
        Chains, run interleaved.
    n_burn : int
        Burn-in steps per chain (not recorded; ``Sigma`` and ``w`` adapt here).
    thin : int
        Steps per chain between recorded members.
    initial_scale : float
        Standard deviation (unit-cube units) of the isotropic directions before
        the covariance adapts.
    initial_width : float
        Starting interval length ``w`` (in units of the direction vector).
    adapt_every : int
        Burn-in steps (all chains together) between covariance updates.
    max_shrink : int
        Proposals per step before the chain stays put for that step.
    """

    n_chains: int = 4
    n_burn: int = 100
    thin: int = 2
    initial_scale: float = 0.02
    initial_width: float = 2.0
    adapt_every: int = 20
    max_shrink: int = 40

    def __post_init__(self) -> None:
        for name, low in (("n_chains", 1), ("n_burn", 0), ("thin", 1), ("adapt_every", 1), ("max_shrink", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise FitError(f"sampler setting {name} must be an integer >= {low}, got {v!r}")
            object.__setattr__(self, name, int(v))
        for name in ("initial_scale", "initial_width"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise FitError(f"sampler setting {name} must be a finite number > 0, got {v!r}")
            object.__setattr__(self, name, float(v))


def chord(u: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """``(t_min, t_max)`` such that ``u + t v`` lies in the unit cube exactly for ``t`` in between (``u`` inside)."""
    lo, hi = -math.inf, math.inf
    for ui, vi in zip(u, v):
        if vi > 0:
            lo, hi = max(lo, -ui / vi), min(hi, (1.0 - ui) / vi)
        elif vi < 0:
            lo, hi = max(lo, (1.0 - ui) / vi), min(hi, -ui / vi)
    return min(lo, 0.0), max(hi, 0.0)


class SliceChains:
    """Interleaved hit-and-run slice-sampling chains on the feasible part of the unit cube.

    Parameters
    ----------
    feasible : callable
        ``feasible(u) -> (bool, info)`` for ``u`` in the unit cube.
    starts : sequence of array
        Feasible starting points (checked); chain ``c`` starts at ``starts[c % len(starts)]``.
    seed : int
        Seed of every random draw.
    settings : SamplerSettings, optional
    state : dict, optional
        :meth:`state_dict` of an earlier run to continue (``starts`` then only give the dimension).
    covariance : ndarray, optional
        Initial direction covariance in the unit cube (default: ``initial_scale**2`` times the identity),
        e.g. the covariance of an ensemble of a related problem.

    Examples
    --------
    Uniform on the triangle ``u0 + u1 <= 1``:

    >>> import numpy as np
    >>> tri = lambda u: (bool(u[0] + u[1] <= 1.0), None)
    >>> s = SliceChains(tri, [np.array([0.2, 0.2])], seed=1, settings=SamplerSettings(n_chains=2, n_burn=50))
    >>> U = np.array([m[1] for m in s.run(2000)])
    >>> bool(np.all(U.sum(axis=1) <= 1.0)), round(float(U[:, 0].mean()), 1)
    (True, 0.3)
    """

    def __init__(self, feasible: Feasible, starts: Sequence[np.ndarray], seed: int,
                 settings: SamplerSettings | None = None, *, state: dict[str, Any] | None = None,
                 covariance: np.ndarray | None = None) -> None:
        self.feasible = feasible
        self.settings = settings or SamplerSettings()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise FitError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        S = self.settings
        starts = [np.asarray(s, dtype=float) for s in starts]
        if not starts:
            raise FitError("give at least one feasible starting point")
        self.d = len(starts[0])
        self.n_evaluations = 0
        self.n_stuck = 0
        if state is not None:
            self._load_state(state)
            return
        infos = []
        for k, s in enumerate(starts):
            if s.shape != (self.d,) or not np.all((s >= 0) & (s <= 1)):
                raise FitError(f"start {k} must be a point of the {self.d}-dimensional unit cube, got {s}")
            ok, info = self.feasible(s)
            self.n_evaluations += 1
            if not ok:
                raise FitError(f"start {k} is not feasible (not every constraint holds there)")
            infos.append(info)
        seqs = np.random.SeedSequence(self.seed).spawn(S.n_chains)
        self.rngs = [np.random.Generator(np.random.PCG64(q)) for q in seqs]
        self.u = [starts[c % len(starts)].copy() for c in range(S.n_chains)]
        self.info = [infos[c % len(starts)] for c in range(S.n_chains)]
        self.steps = [0] * S.n_chains
        if covariance is None:
            self.sigma = np.eye(self.d) * S.initial_scale ** 2
        else:
            cov = np.asarray(covariance, dtype=float)
            if cov.shape != (self.d, self.d) or not np.all(np.isfinite(cov)):
                raise FitError(f"covariance must be a finite {self.d} x {self.d} matrix")
            self.sigma = (cov + cov.T) / 2 + np.eye(self.d) * 1e-10
            try:
                np.linalg.cholesky(self.sigma)
            except np.linalg.LinAlgError:
                raise FitError("covariance must be symmetric positive definite (it shapes the chains' "
                               "directions)") from None
        self.width = S.initial_width
        self.burn: list[np.ndarray] = []  # burn-in points, all chains, in step order
        self.first_hits = 0
        self.n_members = 0

    # ------------------------------------------------------------------ one step
    def _step(self, c: int, chol: np.ndarray) -> int:
        """One hit-and-run slice step of chain ``c``; returns how many proposals it took."""
        rng, u = self.rngs[c], self.u[c]
        v = chol @ rng.standard_normal(self.d)
        tmin, tmax = chord(u, v)
        lo = -self.width * rng.random()
        hi = lo + self.width
        lo, hi = max(lo, tmin), min(hi, tmax)
        for k in range(1, self.settings.max_shrink + 1):
            t = rng.uniform(lo, hi)
            x = np.clip(u + t * v, 0.0, 1.0)
            ok, info = self.feasible(x)
            self.n_evaluations += 1
            if ok:
                self.u[c], self.info[c] = x, info
                return k
            if t < 0:
                lo = t
            else:
                hi = t
        self.n_stuck += 1
        return self.settings.max_shrink

    def _adapt(self) -> None:
        B = np.array(self.burn)
        if len(B) > self.d + 1:
            cov = np.cov(B, rowvar=False)
            self.sigma = cov + np.eye(self.d) * 1e-10

    @property
    def burning(self) -> bool:
        """Whether the chains are still in burn-in."""
        return min(self.steps) < self.settings.n_burn

    def run(self, n_members: int, on_member: Callable[[int, np.ndarray, Any], None] | None = None,
            on_step: Callable[[], None] | None = None) -> list[tuple[int, np.ndarray, Any]]:
        """Run until ``n_members`` members are recorded in total (counting members of earlier calls).

        Parameters
        ----------
        n_members : int
            Total members wanted.
        on_member : callable, optional
            Called as ``on_member(chain, u, info)`` for every new member.
        on_step : callable, optional
            Called after every step (progress, saving).

        Returns
        -------
        list of (chain, u, info)
            The members recorded by this call, in order.
        """
        S = self.settings
        out: list[tuple[int, np.ndarray, Any]] = []
        chol = np.linalg.cholesky(self.sigma)
        while self.n_members < n_members:
            for c in range(S.n_chains):
                if self.n_members >= n_members:
                    break
                was_burning = self.steps[c] < S.n_burn
                k = self._step(c, chol)
                self.steps[c] += 1
                if was_burning:
                    # Robbins-Monro on log w: aim at about half the steps accepting their first proposal
                    self.first_hits += k == 1
                    n = len(self.burn) + 1
                    self.width *= math.exp((float(k == 1) - 0.5) / math.sqrt(n))
                    self.burn.append(self.u[c].copy())
                    if len(self.burn) % S.adapt_every == 0 or not self.burning:
                        self._adapt()
                        chol = np.linalg.cholesky(self.sigma)
                elif (self.steps[c] - S.n_burn) % S.thin == 0:
                    self.n_members += 1
                    out.append((c, self.u[c].copy(), self.info[c]))
                    if on_member is not None:
                        on_member(c, self.u[c].copy(), self.info[c])
                if on_step is not None:
                    on_step()
        return out

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state from which :class:`SliceChains` continues bit for bit (``state=``)."""
        return {
            "d": self.d, "seed": self.seed, "u": [x.tolist() for x in self.u], "steps": list(self.steps),
            "rngs": [r.bit_generator.state for r in self.rngs], "sigma": self.sigma.tolist(), "width": self.width,
            "burn": [x.tolist() for x in self.burn], "first_hits": self.first_hits, "n_members": self.n_members,
            "n_evaluations": self.n_evaluations, "n_stuck": self.n_stuck,
        }

    def _load_state(self, st: dict[str, Any]) -> None:
        S = self.settings
        try:
            if int(st["d"]) != self.d or len(st["u"]) != S.n_chains or int(st["seed"]) != self.seed:
                raise FitError("the saved sampler state belongs to another problem (dimension, chains or seed differ)")
            self.u = [np.array(x, dtype=float) for x in st["u"]]
            self.steps = [int(x) for x in st["steps"]]
            self.rngs = []
            for s in st["rngs"]:
                g = np.random.Generator(np.random.PCG64())
                g.bit_generator.state = s
                self.rngs.append(g)
            self.sigma = np.array(st["sigma"], dtype=float)
            self.width = float(st["width"])
            self.burn = [np.array(x, dtype=float) for x in st["burn"]]
            self.first_hits = int(st["first_hits"])
            self.n_members = int(st["n_members"])
            self.n_evaluations = int(st["n_evaluations"])
            self.n_stuck = int(st["n_stuck"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FitError(f"cannot resume from the saved sampler state ({exc!r})") from None
        # the info of the current points is not saved: evaluate them again (not counted)
        self.info = []
        for k, x in enumerate(self.u):
            ok, info = self.feasible(x)
            if not ok:
                raise FitError(f"cannot resume: the saved point of chain {k} is not feasible under these constraints")
            self.info.append(info)

"""Cohort-level quantities: the fraction of virtual mice meeting a condition, and rank correlations.

A :class:`CohortSpec` names an arm, a size, a seed and the inter-animal
variability (parameter distributions, drawn with
:func:`~bonemet_ode.simulate.draw_cohort` around the current parameter
values).  Without its own distributions a cohort uses the evaluation
context's default variability.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from ..errors import OutcomeError
from ..simulate.cohort import Distribution, LogNormal, Normal, Uniform
from .base import COMPARATORS, Need, Quantity, Readout, check_comparator, fmt_number, quote_name
from .serialise import register_kind
from .trajectory import TrajectoryQuantity

__all__ = ["CohortSpec", "Fraction", "Spearman", "distribution_text"]


def distribution_text(dist: Distribution) -> str:
    """Text form of a distribution: ``lognormal(0.3)``, ``normal(0.1, mean=1)``, ``uniform(0.1, 2)``."""
    if type(dist) is LogNormal:
        extra = "" if dist.median is None else f", median={fmt_number(dist.median)}"
        return f"lognormal({fmt_number(dist.sigma)}{extra})"
    if type(dist) is Normal:
        extra = "" if dist.mean is None else f", mean={fmt_number(dist.mean)}"
        return f"normal({fmt_number(dist.sd)}{extra})"
    if type(dist) is Uniform:
        return f"uniform({fmt_number(dist.low)}, {fmt_number(dist.high)})"
    raise OutcomeError(f"distribution {dist!r} has no text form (use LogNormal, Normal or Uniform)")


def _int(x: object, what: str, minimum: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or int(x) < minimum:
        raise OutcomeError(f"{what} must be an integer >= {minimum}, got {x!r}")
    return int(x)


@dataclass(frozen=True)
class CohortSpec:
    """A virtual cohort: ``n`` mice in ``arm`` drawn with ``seed`` (text ``cohort[arm, n=200, seed=1, ...]``).

    Parameters
    ----------
    arm : str
        Arm name.
    n : int
        Number of virtual mice.
    seed : int
        Seed of :func:`~bonemet_ode.simulate.draw_cohort` (same seed, same mice).
    variability : tuple of (str, Distribution) or mapping
        Parameter distributions, drawn in this order; empty: the context's
        default.  Text ``r~lognormal(0.3)``.
    """

    kind: ClassVar[str] = "cohort"
    arm: str
    n: int = 200
    seed: int = 0
    variability: tuple[tuple[str, Distribution], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.arm, str) or not self.arm.strip():
            raise OutcomeError(f"cohort arm must be a non-empty name, got {self.arm!r}")
        object.__setattr__(self, "n", _int(self.n, f"cohort[{self.arm}]: n", 1))
        object.__setattr__(self, "seed", _int(self.seed, f"cohort[{self.arm}]: seed", 0))
        var = self.variability.items() if isinstance(self.variability, Mapping) else self.variability
        pairs: list[tuple[str, Distribution]] = []
        for item in var:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise OutcomeError(f"cohort[{self.arm}]: variability items must be (parameter, distribution), "
                                   f"got {item!r}")
            name, dist = item
            if not isinstance(name, str) or not name.isidentifier():
                raise OutcomeError(f"cohort[{self.arm}]: {name!r} is not a parameter name")
            if not isinstance(dist, Distribution):
                raise OutcomeError(f"cohort[{self.arm}]: the distribution of {name!r} must be a Distribution, "
                                   f"got {dist!r}")
            if name in (p for p, _ in pairs):
                raise OutcomeError(f"cohort[{self.arm}]: parameter {name!r} is given two distributions")
            pairs.append((name, dist))
        object.__setattr__(self, "variability", tuple(pairs))

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        from .serialise import encode

        return encode(self)

    def to_text(self) -> str:
        parts = [quote_name(self.arm), f"n={self.n}", f"seed={self.seed}"]
        parts += [f"{name}~{distribution_text(d)}" for name, d in self.variability]
        return f"cohort[{', '.join(parts)}]"

    def sentence(self) -> str:
        vary = "" if not self.variability else ", varying " + ", ".join(p for p, _ in self.variability)
        return f"{self.n} virtual mice in '{self.arm}' (seed {self.seed}{vary})"

    def __str__(self) -> str:
        return self.sentence()


register_kind(CohortSpec)


def _cohort(x: object) -> CohortSpec:
    if not isinstance(x, CohortSpec):
        raise OutcomeError(f"expected a CohortSpec, got {x!r}")
    return x


def _member(q: object, where: str) -> TrajectoryQuantity:
    if not isinstance(q, TrajectoryQuantity):
        raise OutcomeError(f"{where}: a per-mouse quantity must be a value, integral or time_to, got {q!r}")
    if q.arm is not None:
        raise OutcomeError(f"{where}: {q.to_text()} names an arm; inside a cohort write it without [arm]")
    return q


class _CohortQuantity(Quantity):
    cohort: CohortSpec

    @property
    def log_scale(self) -> bool:
        return False

    @abc.abstractmethod
    def _members(self) -> tuple[TrajectoryQuantity, ...]:
        """The per-mouse quantities read."""

    def needs(self) -> tuple[Need, ...]:
        out = []
        for m in self._members():
            need = m.member_needs()
            out.append(replace(need, source=self.cohort))
        return tuple(out)

    def member_values(self, data: Readout, q: TrajectoryQuantity) -> np.ndarray:
        """``q`` for every successfully simulated member."""
        t, Y = data.cohort_series(self.cohort, q.name)
        return np.asarray(q.reduce(t, Y, data.horizon), dtype=float)


@dataclass(frozen=True)
class Fraction(_CohortQuantity):
    """Fraction of the cohort's mice whose ``member`` quantity satisfies ``op level``.

    Text ``fraction(cohort[combo, n=200, seed=1]: tumor@42 < 1)``.  Members
    whose solve failed are left out; the value is in ``[0, 1]`` and is
    compared linearly (a margin of 0.05 is five percentage points).
    """

    kind: ClassVar[str] = "fraction"
    value_range: ClassVar[tuple[float, float] | None] = (0.0, 1.0)
    cohort: CohortSpec
    member: TrajectoryQuantity
    op: str
    level: float

    def __post_init__(self) -> None:
        _cohort(self.cohort)
        _member(self.member, "fraction")
        object.__setattr__(self, "op", check_comparator(self.op, "fraction"))
        lvl = self.level
        if isinstance(lvl, bool) or not isinstance(lvl, (int, float)) or not math.isfinite(lvl):
            raise OutcomeError(f"fraction: the level must be a finite number, got {lvl!r}")
        object.__setattr__(self, "level", float(lvl))

    def _members(self) -> tuple[TrajectoryQuantity, ...]:
        return (self.member,)

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        v = self.member_values(data, self.member)
        ok = {">=": v >= self.level, "<=": v <= self.level, ">": v > self.level, "<": v < self.level}[self.op]
        return float(np.mean(ok)) if v.size else math.nan

    def to_text(self) -> str:
        return f"fraction({self.cohort.to_text()}: {self.member.member_text()} {self.op} {fmt_number(self.level)})"

    def sentence(self) -> str:
        return (f"fraction of {self.cohort.sentence()} with {self.member.member_sentence()} "
                f"{COMPARATORS[self.op]} {self.level:g}")


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN for fewer than 3 pairs or a constant."""
    from scipy.stats import rankdata

    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3:
        return math.nan
    rx, ry = rankdata(x), rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


@dataclass(frozen=True)
class Spearman(_CohortQuantity):
    """Spearman rank correlation of two per-mouse quantities across a cohort.

    Text ``spearman(cohort[control, n=200]: mac@28, tumor@28)``.  Compared
    linearly (the value is in ``[-1, 1]``); NaN (a failed outcome) when
    fewer than 3 members solved or a quantity is constant.
    """

    kind: ClassVar[str] = "spearman"
    value_range: ClassVar[tuple[float, float] | None] = (-1.0, 1.0)
    cohort: CohortSpec
    first: TrajectoryQuantity
    second: TrajectoryQuantity

    def __post_init__(self) -> None:
        _cohort(self.cohort)
        _member(self.first, "spearman")
        _member(self.second, "spearman")

    def _members(self) -> tuple[TrajectoryQuantity, ...]:
        return (self.first, self.second)

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        return spearman_rho(self.member_values(data, self.first), self.member_values(data, self.second))

    def to_text(self) -> str:
        return f"spearman({self.cohort.to_text()}: {self.first.member_text()}, {self.second.member_text()})"

    def sentence(self) -> str:
        return (f"Spearman ρ of {self.first.member_sentence()} and {self.second.member_sentence()} "
                f"across {self.cohort.sentence()}")

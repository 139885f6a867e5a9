"""Outcome results, the smooth penalty used by calibration, and the report table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import OutcomeError

__all__ = [
    "OutcomeResult",
    "residual",
    "penalty",
    "MARGIN_CLIP",
    "DEFAULT_PENALTY_SCALE",
    "format_results",
    "float_to_json",
    "float_from_json",
]

#: Margins below ``-MARGIN_CLIP`` (and failed evaluations, margin ``-inf`` or NaN) score as ``-MARGIN_CLIP``.
MARGIN_CLIP = 30.0

#: Default smoothing scale of :func:`residual`: margins are log ratios (0.05 ≈ 5 %) or fractions.
DEFAULT_PENALTY_SCALE = 0.05


def residual(margin: float, scale: float = DEFAULT_PENALTY_SCALE, safety: float = 0.0) -> float:
    """Smooth hinge on a margin: ``scale · softplus(−(margin − safety)/scale)``.

    About ``safety − margin`` when the margin falls short of ``safety`` by
    more than ``scale``, and decays like ``scale · exp(−(margin − safety)/scale)``
    above it.  Calibration minimises the sum of squared residuals.

    Parameters
    ----------
    margin : float
        Outcome margin (``>= 0`` when satisfied); NaN and margins below ``-MARGIN_CLIP`` count as ``-MARGIN_CLIP``.
    scale : float
        Smoothing width, in margin units (> 0).
    safety : float
        Margin wanted beyond the boundary.

    Examples
    --------
    >>> round(residual(-1.0), 4), residual(1.0) < 1e-8
    (1.0, True)
    """
    if not scale > 0:
        raise OutcomeError(f"penalty scale must be > 0, got {scale!r}")
    m = -MARGIN_CLIP if math.isnan(margin) else max(margin, -MARGIN_CLIP)
    m -= safety
    return float(scale * np.logaddexp(0.0, -m / scale))


def penalty(margin: float, scale: float = DEFAULT_PENALTY_SCALE, safety: float = 0.0) -> float:
    """Smooth penalty ``residual(margin)**2`` (softplus of ``−margin/scale``, scaled and squared)."""
    return residual(margin, scale, safety) ** 2


def float_to_json(x: float) -> float | str:
    """A float for JSON: finite floats as numbers (``repr`` round-trips exactly), others as strings."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def float_from_json(x: Any) -> float:
    """Inverse of :func:`float_to_json`."""
    if isinstance(x, str):
        if x not in ("nan", "inf", "-inf"):
            raise OutcomeError(f"expected a number or 'nan', 'inf', '-inf', got {x!r}")
        return float(x)
    return float(x)


@dataclass(frozen=True)
class OutcomeResult:
    """The verdict on one outcome for one parameter set.

    Attributes
    ----------
    id : str
        Outcome id (its text when it has none).
    value, threshold : float
        What was compared (see :class:`~bonemet_ode.outcomes.base.Verdict`).
    margin : float
        ``>= 0`` when satisfied; log ratio for log-scale comparisons.
    satisfied : bool
        Whether the outcome holds.
    statement : str
        The sentence the outcome encodes.
    parts : tuple of OutcomeResult
        One per clause of a conjunction (ids ``O4.1``, ``O4.2``, ...).
    message : str
        Why it could not be evaluated (a failed simulation), else empty.
    """

    id: str
    value: float
    threshold: float
    margin: float
    satisfied: bool
    statement: str = ""
    parts: tuple[OutcomeResult, ...] = ()
    message: str = ""

    @property
    def mark(self) -> str:
        """``✓`` or ``✗``."""
        return "✓" if self.satisfied else "✗"

    def leaf_margins(self) -> tuple[float, ...]:
        """Margins of the clauses (the margin itself for a single clause)."""
        if not self.parts:
            return (self.margin,)
        return tuple(m for p in self.parts for m in p.leaf_margins())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite floats as strings)."""
        return {
            "id": self.id, "value": float_to_json(self.value), "threshold": float_to_json(self.threshold),
            "margin": float_to_json(self.margin), "satisfied": bool(self.satisfied), "statement": self.statement,
            "parts": [p.to_dict() for p in self.parts], "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutcomeResult:
        """Rebuild a result written by :meth:`to_dict`."""
        return cls(str(data["id"]), float_from_json(data["value"]), float_from_json(data["threshold"]),
                   float_from_json(data["margin"]), bool(data["satisfied"]), str(data.get("statement", "")),
                   tuple(cls.from_dict(p) for p in data.get("parts", ())), str(data.get("message", "")))

    def __str__(self) -> str:
        return (f"{self.mark} {self.id}: value {self.value:.4g}, threshold {self.threshold:.4g}, "
                f"margin {self.margin:+.3g}" + (f" ({self.message})" if self.message else ""))


def _num(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) or math.isinf(x) else "nan"


def _weakest(r: OutcomeResult) -> OutcomeResult | None:
    """The clause whose value, threshold and margin the parent row reports."""
    def same(a: float, b: float) -> bool:
        return a == b or (math.isnan(a) and math.isnan(b))

    for p in r.parts:
        if same(p.margin, r.margin) and same(p.value, r.value) and same(p.threshold, r.threshold):
            return p
    return None


def format_results(results: Sequence[OutcomeResult] | Iterable[OutcomeResult], *, width: int = 70,
                   parts: bool = True) -> str:
    """A text table: id, ✓/✗, value, threshold, margin and the sentence (cut to ``width``).

    Clauses of conjunctions are listed under their outcome when ``parts``.
    """
    rows: list[tuple[str, ...]] = []
    for r in results:
        text = r.statement or r.message
        if r.parts:
            # the parent's value, threshold and margin are its weakest clause's: name that clause, so a
            # value is never shown beside another clause's sentence
            weakest = _weakest(r)
            text = (f"weakest of {len(r.parts)} clauses, {weakest.id}: {weakest.statement or weakest.message}"
                    if weakest is not None else text)
        rows.append((r.id, r.mark, _num(r.value), _num(r.threshold), f"{r.margin:+.3g}", text))
        if parts:
            for p in r.parts:
                rows.append(("  " + p.id, p.mark, _num(p.value), _num(p.threshold), f"{p.margin:+.3g}",
                             p.statement or p.message))
    head = ("id", "ok", "value", "threshold", "margin", "statement")
    cut = [row[:5] + ((row[5][: width - 1] + "…") if len(row[5]) > width else row[5],) for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cut)) if cut else len(h) for i, h in enumerate(head)]
    align = ["<", "<", ">", ">", ">", "<"]
    lines = ["  ".join(f"{c:{a}{w}}" for c, a, w in zip(head, align, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(f"{c:{a}{w}}" for c, a, w in zip(row, align, widths)).rstrip() for row in cut]
    if isinstance(results, Sequence):
        n_ok = sum(1 for r in results if r.satisfied)
        lines.append(f"{n_ok} of {len(results)} outcomes satisfied")
    return "\n".join(lines)

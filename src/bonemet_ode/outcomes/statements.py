"""Statements (comparisons, ranges, conjunctions) and the :class:`Outcome` that names one.

Margins
-------
A comparison ``a OP b`` is made on **log scale** when both sides are
log-scale quantities (amounts, integrals, times, their ratios and positive
multiples): the margin is ``log(a) − log(b)`` for ``>=, >`` and
``log(b) − log(a)`` for ``<=, <`` (natural logs; 0.1 ≈ 10 %), with values
below :data:`~bonemet_ode.outcomes.base.LOG_FLOOR` floored.  Otherwise it is
**linear**, ``a − b`` (or ``b − a``), in the quantities' unit: Bliss/HSA
excess and cohort fractions (fractions of 1), Spearman ρ, differences.
``>=``/``<=`` hold when the margin is ``>= 0``, ``>``/``<`` when it is
``> 0``.  A conjunction's margin is the smallest margin of its clauses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import OutcomeError
from .arithmetic import Constant, Scaled
from .base import (
    COMPARATORS,
    Need,
    Quantity,
    Readout,
    Statement,
    UnavailableError,
    Verdict,
    check_comparator,
    fmt_number,
    holds,
    quote_string,
)
from .results import OutcomeResult

__all__ = ["Compare", "Between", "AllOf", "Outcome", "ID_PATTERN"]

#: What an outcome id may look like (``O3``, ``O15b``, ``er.knockout-2``).
ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _statement(x: object, what: str) -> Statement:
    if not isinstance(x, Statement):
        raise OutcomeError(f"{what} must be a statement (a comparison, range or conjunction), got {x!r}")
    return x


def _q(x: object, what: str) -> Quantity:
    if not isinstance(x, Quantity):
        raise OutcomeError(f"{what} must be a quantity, got {x!r}")
    return x


def _shown(q: Quantity, data: Readout, censored: float | None = None) -> float:
    """The value of ``q`` to show: uncensored (a never-reached threshold is +inf); evaluated a second time only
    for a quantity whose censored value can differ (``censorable``), else ``censored`` when given."""
    if censored is not None and not q.censorable:
        return censored
    return q.evaluate(data)


@dataclass(frozen=True)
class Compare(Statement):
    """``lhs OP rhs`` with ``OP`` one of ``>=, <=, >, <`` (text ``cd8@28[KO] >= 2 * cd8@28[control]``).

    The verdict's ``value``/``threshold`` are ``lhs/base`` and ``factor``
    when both sides are simulated log-scale quantities and the right side
    is ``factor × base`` (a fold change against its required fold), else
    the two sides' values.  Never-reached thresholds enter the margin
    censored (see :class:`~bonemet_ode.outcomes.trajectory.TimeTo`) and the
    value as they are: ``+inf`` (a ratio with a never-reached side: ``inf``,
    ``0`` or, both never reached, NaN).
    """

    kind: ClassVar[str] = "compare"
    lhs: Quantity
    op: str
    rhs: Quantity

    def __post_init__(self) -> None:
        _q(self.lhs, "left side of a comparison")
        _q(self.rhs, "right side of a comparison")
        object.__setattr__(self, "op", check_comparator(self.op, "comparison"))
        q, c, op = self.lhs, self.rhs, self.op
        if isinstance(q, Constant):  # the constant on the left: read it as q (op mirrored) c
            q, c, op = c, q, {">=": "<=", "<=": ">=", ">": "<", "<": ">"}[op]
        if isinstance(c, Constant) and q.value_range is not None:
            lo, hi = q.value_range
            never = (c.value > hi or (op == ">" and c.value >= hi)) if op in (">=", ">") else \
                (c.value < lo or (op == "<" and c.value <= lo))
            if never:
                raise OutcomeError(f"'{self.to_text()}' can never hold: a {q.kind} lies in [{lo:g}, {hi:g}]")

    @property
    def log_scale(self) -> bool:
        """Whether the margin is a log ratio."""
        return self.lhs.log_scale and self.rhs.log_scale

    def needs(self) -> tuple[Need, ...]:
        return self.lhs.needs() + self.rhs.needs()

    def evaluate(self, data: Readout) -> Verdict:
        upward = self.op in (">=", ">")
        # the margin reads never-reached thresholds censored (a finite stand-in); the value and threshold shown
        # read them as they are (+inf), so that a report never prints the stand-in as if it were a day
        if self.log_scale:
            la, lb = self.lhs.log_value(data), self.rhs.log_value(data)
            diff = la - lb
            factor, base = (self.rhs.factor, self.rhs.quantity) if isinstance(self.rhs, Scaled) else (1.0, self.rhs)
            if base.needs():
                shown = (self.lhs.evaluate(data), base.evaluate(data)) if self.lhs.censorable or base.censorable \
                    else (1.0, 1.0)
                if math.isinf(shown[0]) or math.isinf(shown[1]):  # never reached: inf, 0 or (both) undefined
                    with np.errstate(invalid="ignore"):
                        value = float(np.float64(shown[0]) / np.float64(shown[1]))
                else:
                    value = math.exp(la - base.log_value(data))
                threshold = factor
            else:
                value, threshold = (_shown(q, data, q.evaluate(data, True)) for q in (self.lhs, self.rhs))
        else:
            a, b = self.lhs.evaluate(data, True), self.rhs.evaluate(data, True)
            value, threshold = _shown(self.lhs, data, a), _shown(self.rhs, data, b)
            diff = a - b
        margin = diff if upward else -diff
        return Verdict(value, threshold, margin, holds(margin, self.op))

    def to_text(self) -> str:
        return f"{self.lhs.to_text()} {self.op} {self.rhs.to_text()}"

    def sentence(self) -> str:
        return f"{self.lhs.sentence()} {COMPARATORS[self.op]} {self.rhs.sentence()}"


@dataclass(frozen=True)
class Between(Statement):
    """``low <= quantity <= high`` (text ``q between 0.1 and 0.7``).

    On log scale (a log-scale quantity and ``low > 0``) the margin is the
    smaller of ``log(q/low)`` and ``log(high/q)``, else of ``q − low`` and
    ``high − q``; the verdict's threshold is the nearer bound.
    """

    kind: ClassVar[str] = "between"
    quantity: Quantity
    low: float
    high: float

    def __post_init__(self) -> None:
        _q(self.quantity, "the quantity of a range")
        for name in ("low", "high"):
            x = getattr(self, name)
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise OutcomeError(f"range: {name} bound must be a finite number, got {x!r}")
            object.__setattr__(self, name, float(x))
        if not self.low < self.high:
            raise OutcomeError(f"range: low bound {self.low:g} must be below high bound {self.high:g}")
        bounds = self.quantity.value_range
        if bounds is not None and (self.low > bounds[1] or self.high < bounds[0]):
            raise OutcomeError(f"'{self.to_text()}' can never hold: a {self.quantity.kind} lies in "
                               f"[{bounds[0]:g}, {bounds[1]:g}]")

    @property
    def log_scale(self) -> bool:
        """Whether the margin is a log ratio."""
        return self.quantity.log_scale and self.low > 0

    def needs(self) -> tuple[Need, ...]:
        return self.quantity.needs()

    def evaluate(self, data: Readout) -> Verdict:
        censored = self.quantity.evaluate(data, True)
        if self.log_scale:
            lq = self.quantity.log_value(data)
            m_low, m_high = lq - math.log(self.low), math.log(self.high) - lq
        else:
            m_low, m_high = censored - self.low, self.high - censored
        margin = min(m_low, m_high) if not (math.isnan(m_low) or math.isnan(m_high)) else math.nan
        threshold = self.low if not m_low > m_high else self.high
        # shown as it is: a never-reached threshold is +inf, not the margin's finite stand-in
        return Verdict(_shown(self.quantity, data, censored), threshold, margin, holds(margin, ">="))

    def to_text(self) -> str:
        return f"{self.quantity.to_text()} between {fmt_number(self.low)} and {fmt_number(self.high)}"

    def sentence(self) -> str:
        return f"{self.low:g} ≤ {self.quantity.sentence()} ≤ {self.high:g}"


@dataclass(frozen=True)
class AllOf(Statement):
    """Every clause holds (text: clauses joined by ``and``); nested conjunctions are flattened.

    Each clause is scored on its own in calibration; the verdict's margin is
    the smallest clause margin and its value/threshold those of that clause.
    """

    kind: ClassVar[str] = "all_of"
    parts: tuple[Statement, ...]

    def __post_init__(self) -> None:
        flat: list[Statement] = []
        for p in tuple(self.parts):
            flat.extend(_statement(p, "a clause of a conjunction").leaves())
        if not flat:
            raise OutcomeError("a conjunction needs at least one clause")
        object.__setattr__(self, "parts", tuple(flat))

    def leaves(self) -> tuple[Statement, ...]:
        return self.parts

    def needs(self) -> tuple[Need, ...]:
        return tuple(n for p in self.parts for n in p.needs())

    def evaluate(self, data: Readout) -> Verdict:
        verdicts = []
        for p in self.parts:
            try:
                verdicts.append(p.evaluate(data))
            except UnavailableError as exc:
                verdicts.append(Verdict.failed(str(exc)))
        key = [v.margin if not math.isnan(v.margin) else -math.inf for v in verdicts]
        worst = verdicts[key.index(min(key))]
        return Verdict(worst.value, worst.threshold, worst.margin, all(v.satisfied for v in verdicts),
                       tuple(verdicts), "; ".join(v.message for v in verdicts if v.message))

    def to_text(self) -> str:
        return " and ".join(p.to_text() for p in self.parts)

    def sentence(self) -> str:
        return "; and ".join(p.sentence() for p in self.parts)


def _one_line(x: object, what: str) -> str:
    if not isinstance(x, str):
        raise OutcomeError(f"outcome {what} must be a string, got {x!r}")
    return " ".join(x.split())


def _source_text(source: str) -> str:
    if source and not any(c in source for c in "()'\"\\#:") and source == source.strip():
        return source
    return quote_string(source)


@dataclass(frozen=True)
class Outcome:
    """A named qualitative outcome: an id, a statement, its source and what it means.

    Parameters
    ----------
    id : str or None
        Short id (``"O3"``), unique within a catalogue; ``None``: the
        statement's text is used as its key.
    statement : Statement
        What must hold.
    source : str
        Where the outcome comes from (``"ER"``, a citation).
    description : str
        The finding in words (one line; whitespace is normalised).

    Examples
    --------
    >>> from bonemet_ode.outcomes import parse
    >>> o = parse("O3 (ER): cd8@28[KO] >= 2 * cd8@28[control]  # ERα+ macrophages exclude CD8 T cells")
    >>> str(o)
    "O3: cd8 at day 28 in 'KO' ≥ 2 × cd8 at day 28 in 'control'"
    >>> parse(o.to_text()) == o
    True
    """

    kind: ClassVar[str] = "outcome"
    id: str | None
    statement: Statement
    source: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.id is not None and (not isinstance(self.id, str) or not ID_PATTERN.fullmatch(self.id)):
            raise OutcomeError(f"outcome id {self.id!r} must match {ID_PATTERN.pattern} (like 'O3')")
        _statement(self.statement, f"the statement of outcome {self.id!r}")
        object.__setattr__(self, "source", _one_line(self.source, "source"))
        object.__setattr__(self, "description", _one_line(self.description, "description"))

    @property
    def key(self) -> str:
        """The id, or the statement's text when there is no id."""
        return self.id if self.id is not None else self.statement.to_text()

    def needs(self) -> tuple[Need, ...]:
        """Every trajectory the statement reads."""
        return self.statement.needs()

    @property
    def n_leaves(self) -> int:
        """Number of separately scored clauses."""
        return len(self.statement.leaves())

    def evaluate(self, data: Readout) -> OutcomeResult:
        """The :class:`OutcomeResult` on ``data``; a failed simulation gives a failed result, not an error."""
        key, sentence, leaf_sentences = self._texts()
        try:
            v = self.statement.evaluate(data)
        except UnavailableError as exc:
            v = Verdict.failed(str(exc), len(leaf_sentences) if len(leaf_sentences) > 1 else 0)
        parts = tuple(
            OutcomeResult(f"{key}.{i + 1}", p.value, p.threshold, p.margin, p.satisfied, text, (), p.message)
            for i, (p, text) in enumerate(zip(v.parts, leaf_sentences))
        ) if len(leaf_sentences) > 1 else ()
        return OutcomeResult(key, v.value, v.threshold, v.margin, v.satisfied, sentence, parts, v.message)

    def _texts(self) -> tuple[str, str, tuple[str, ...]]:
        """``(key, sentence, leaf sentences)``, made once per outcome (an evaluation only reads them)."""
        texts = self.__dict__.get("_texts_cache")
        if texts is None:
            texts = (self.key, self.statement.sentence(), tuple(leaf.sentence() for leaf in self.statement.leaves()))
            object.__setattr__(self, "_texts_cache", texts)
        return texts

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        from .serialise import encode

        return encode(self)

    def to_text(self) -> str:
        """One line of the text syntax: ``ID (SOURCE): statement  # description``."""
        head = "" if self.id is None else self.id
        if self.source:
            head += f" ({_source_text(self.source)})" if head else f"({_source_text(self.source)})"
        text = f"{head}: {self.statement.to_text()}" if head else self.statement.to_text()
        return text + (f"  # {self.description}" if self.description else "")

    def sentence(self) -> str:
        """``ID: sentence``."""
        return f"{self.key}: {self.statement.sentence()}" if self.id is not None else self.statement.sentence()

    def __str__(self) -> str:
        return self.sentence()


def _register() -> None:
    from .serialise import register_kind

    register_kind(Outcome)


_register()

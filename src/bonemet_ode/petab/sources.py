"""Where each input of a PEtab simulation condition comes from, and the same evaluated at once.

A model parameter, initial value, extra formula symbol or noise/observable placeholder is set by a number,
by an entry of the parameter table, or (PEtab v2 condition tables) by an expression of such entries
(:class:`_Source`). :class:`_Vec` evaluates a list of them by fancy indexing with a derivative matrix built
once; :class:`_ObsRows` holds one observable's measurement rows over all conditions; :class:`_Condition`
one pre-equilibration and simulation condition pair.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["_Condition", "_ObsRows", "_Source", "_Vec"]


@dataclass
class _Source:
    """How one input is set: a number, (``index``) the parameter-table entry of that row, or (``expr``, PEtab v2
    condition tables) an expression of parameter-table entries."""

    value: float = math.nan
    index: int = -1  # row of the parameter table; -1: the number ``value`` (or ``expr``)
    expr: Any = None  # (rows of the parameter table, value function, partial derivative functions)

    def get(self, plin: np.ndarray) -> float:
        """The value at linear parameter-table values ``plin``."""
        if self.expr is not None:
            rows, f, _ = self.expr
            return float(f(*plin[rows]))
        return float(plin[self.index]) if self.index >= 0 else self.value

    def partials(self, plin: np.ndarray) -> list[tuple[int, float]]:
        """``(parameter-table row, d value / d entry)`` of every entry the value reads."""
        if self.expr is not None:
            rows, _, dfs = self.expr
            args = plin[rows]
            return [(int(r), float(df(*args))) for r, df in zip(rows, dfs)]
        return [(self.index, 1.0)] if self.index >= 0 else []

    def reads(self) -> set[int]:
        """Parameter-table rows the value reads."""
        if self.expr is not None:
            return {int(r) for r in self.expr[0]}
        return {self.index} if self.index >= 0 else set()


class _Vec:
    """A list of :class:`_Source` evaluated at once: numbers and parameter-table entries by fancy indexing,
    v2 expressions (rare) one by one; the derivative matrix of the entries is fixed and built once."""

    def __init__(self, srcs: Sequence[_Source], col: Mapping[int, int], nfree: int, extra_rows: int = 0,
                 tail: np.ndarray | None = None) -> None:
        n = len(srcs)
        self.const = np.array([s.value if s.index < 0 and s.expr is None else 0.0 for s in srcs] +
                              ([] if tail is None else list(tail)), dtype=float)
        self.at = np.array([k for k, s in enumerate(srcs) if s.expr is None and s.index >= 0], dtype=int)
        self.rows = np.array([srcs[k].index for k in self.at], dtype=int)
        self.exprs = [(k, s) for k, s in enumerate(srcs) if s.expr is not None]
        self.col = col
        self.D0 = np.zeros((n + extra_rows, nfree))
        for k in self.at:
            j = col.get(int(srcs[k].index))
            if j is not None:
                self.D0[k, j] += 1.0

    def get(self, plin: np.ndarray) -> np.ndarray:
        v = self.const.copy()
        v[self.at] = plin[self.rows]
        for k, s in self.exprs:
            v[k] = s.get(plin)
        return v

    def d(self, plin: np.ndarray) -> np.ndarray:
        if not self.exprs:
            return self.D0
        D = self.D0.copy()
        for k, s in self.exprs:
            for row, dv in s.partials(plin):
                j = self.col.get(row)
                if j is not None:
                    D[k, j] += dv
        return D


@dataclass
class _ObsRows:
    """The measurement rows of one observable over all conditions, in condition order: their condition
    (``ci``), stacked output-time index (``gi``: row of the conditions' stacked states), time, and the
    placeholders' sources as arrays (``Q = plin[qidx]`` where ``qidx >= 0``, else ``qconst``; ``(qr, qa, qj)``:
    row, placeholder and free column of every placeholder an estimated parameter sets; ``qexpr``: the rare
    v2 expressions, ``(row, placeholder, _Source)``)."""

    o: str
    rows: np.ndarray
    ci: np.ndarray
    gi: np.ndarray
    t: np.ndarray
    qconst: np.ndarray
    qidx: np.ndarray
    qmask: np.ndarray
    qexpr: list
    qr: np.ndarray
    qa: np.ndarray
    qj: np.ndarray

    def q(self, plin: np.ndarray) -> np.ndarray:
        """The placeholders' values (rows x placeholders) at linear parameter-table values ``plin``."""
        Q = self.qconst.copy()
        Q[self.qmask] = plin[self.qidx[self.qmask]]
        for r, a, s in self.qexpr:
            Q[r, a] = s.get(plin)
        return Q


@dataclass
class _Condition:
    preeq: str
    sim: str
    rows: np.ndarray  # measurement rows (positions)
    times: np.ndarray  # unique output times
    tindex: np.ndarray  # per row: index into times
    p_pre: list = field(default_factory=list)  # _Source per model parameter
    p_sim: list = field(default_factory=list)
    x_pre: dict = field(default_factory=dict)  # state -> (_Source, vol param index or -1)
    x_sim: dict = field(default_factory=dict)
    extras: list = field(default_factory=list)  # _Source per extra symbol
    fast: Any = None  # (_Vec p_sim, _Vec p_pre or None, _Vec extras)

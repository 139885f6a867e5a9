"""Figures of PEtab fits: the multistart waterfall and data against the fitted simulation per observable.

Each function takes plain arrays or tables and an optional Axes and returns the Axes (no pyplot state).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FitError
from .fits import PALETTE, new_axes

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_observable_fit", "plot_waterfall"]


def plot_waterfall(fvals: Sequence[float], ax: Axes | None = None, *, reference: float | None = None,
                   converged: Sequence[bool] | None = None, offset: bool = True) -> Axes:
    """Final objective of each start, sorted (the multistart "waterfall").

    Parameters
    ----------
    fvals : sequence of float
        Final −log-likelihood (or −log-posterior) per start; infinite values (failed starts) are left out
        and counted in the title.
    ax : Axes, optional
    reference : float, optional
        The best known value, drawn as a dashed line.
    converged : sequence of bool, optional
        Which starts converged (filled markers; others open).
    offset : bool
        Plot ``f - min(f) + 1`` on a log axis (default), so that near-best starts separate.

    Returns
    -------
    Axes

    Examples
    --------
    >>> ax = plot_waterfall([3.0, 1.0, 1.0, float("inf")], reference=1.0)
    >>> ax.get_title()
    'waterfall: 3 of 4 starts finite'
    """
    f = np.asarray(list(fvals), dtype=float)
    if f.ndim != 1 or not len(f):
        raise FitError("fvals: expected a non-empty sequence of objective values")
    conv = np.ones(len(f), bool) if converged is None else np.asarray(list(converged), bool)
    if len(conv) != len(f):
        raise FitError(f"converged has {len(conv)} entries for {len(f)} starts")
    finite = np.isfinite(f)
    order = np.argsort(np.where(finite, f, np.inf), kind="stable")[: int(finite.sum())]
    ax = new_axes(ax)
    fmin = float(np.min(f[finite])) if finite.any() else 0.0
    lo = min(fmin, reference) if reference is not None else fmin
    y = f[order] - lo + 1.0 if offset else f[order]
    x = np.arange(1, len(order) + 1)
    ax.plot(x, y, "-", color="0.6", lw=0.8)
    c = conv[order]
    ax.plot(x[c], y[c], "o", color=PALETTE[0], ms=4, label="converged")
    ax.plot(x[~c], y[~c], "o", mfc="none", color=PALETTE[1], ms=4, label="not converged")
    if reference is not None:
        ax.axhline(reference - lo + 1.0 if offset else reference, ls="--", color="0.2", lw=0.8, label="best known")
    if offset:
        ax.set_yscale("log")
        ax.set_ylabel("objective - best + 1")
    else:
        ax.set_ylabel("objective")
    ax.set_xlabel("start (sorted)")
    ax.set_title(f"waterfall: {int(finite.sum())} of {len(f)} starts finite")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_observable_fit(table: pd.DataFrame, observable: str, ax: Axes | None = None, *,
                        curves: pd.DataFrame | None = None) -> Axes:
    """Measurements and simulated values of one observable, one colour per simulation condition.

    Parameters
    ----------
    table : DataFrame
        Columns ``observableId``, ``simulationConditionId``, ``time``, ``measurement``, ``simulation``.
    observable : str
    ax : Axes, optional
    curves : DataFrame, optional
        Dense simulated curves (``observableId``, ``simulationConditionId``, ``time``, ``simulation``) drawn as
        lines; without them the simulated values at the measurement times are joined.

    Returns
    -------
    Axes
    """
    need = {"observableId", "simulationConditionId", "time", "measurement", "simulation"}
    if not need <= set(table.columns):
        raise FitError(f"table: missing columns {sorted(need - set(table.columns))}")
    rows = table[table["observableId"] == observable]
    if not len(rows):
        raise FitError(f"observable {observable!r} has no measurements")
    ax = new_axes(ax)
    for k, (cond, g) in enumerate(rows.groupby("simulationConditionId", sort=True)):
        col = PALETTE[k % len(PALETTE)]
        ax.plot(g["time"], g["measurement"], "o", color=col, ms=4, label=f"{cond} data")
        if curves is not None:
            cg = curves[(curves["observableId"] == observable) & (curves["simulationConditionId"] == cond)]
            ax.plot(cg["time"], cg["simulation"], "-", color=col, lw=1.2, label=f"{cond} fit")
        else:
            s = g.sort_values("time")
            ax.plot(s["time"], s["simulation"], "-", color=col, lw=1.2, label=f"{cond} fit")
    ax.set_xlabel("time (model time unit)")
    ax.set_ylabel(observable)
    ax.set_title(observable)
    ax.legend(frameon=False, fontsize=7)
    return ax

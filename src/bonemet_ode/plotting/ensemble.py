"""Figures of a calibrated ensemble: correlation heatmap, marginal histograms, prediction bands.

Every function takes an optional Axes (or array of Axes) and returns what it
drew on; nothing touches pyplot state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FitError
from ..simulate._validate import integer
from ..simulate.plot import axes_or_new
from .style import arm_colors, arm_linestyle

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["correlation_heatmap", "ensemble_comparison_figure", "marginal_histograms", "plot_band"]


def correlation_heatmap(corr: Any, ax: Axes | None = None, names: Sequence[str] | None = None,
                        annotate_above: float = 0.5) -> Axes:
    """Heatmap of a (parameters x parameters) correlation matrix, -1 blue to +1 red; returns the Axes.

    Parameters
    ----------
    corr : DataFrame or ndarray
        E.g. :meth:`~bonemet_ode.calibration.ensemble_result.Ensemble.correlations`.
    ax : Axes, optional
    names : sequence of str, optional
        Labels (default: the DataFrame's columns).
    annotate_above : float
        Write the value in cells with ``|r|`` at least this (off the diagonal).
    """
    try:
        C = np.asarray(corr, dtype=float)
    except (TypeError, ValueError):
        raise FitError(f"corr: expected a square matrix of correlations, got {type(corr).__name__}") from None
    if C.ndim != 2 or C.shape[0] != C.shape[1] or not C.size:
        raise FitError(f"corr: expected a square (parameters x parameters) matrix, got shape {C.shape}")
    labels = list(names) if names is not None else list(getattr(corr, "columns", range(len(C))))
    if len(labels) != len(C):
        raise FitError(f"names: expected {len(C)} labels, one per row of corr, got {len(labels)}")
    ax = axes_or_new(ax, (0.28 * len(C) + 2.5, 0.28 * len(C) + 2.0))
    im = ax.imshow(C, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(C)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(C)), labels, fontsize=7)
    for i in range(len(C)):
        for j in range(len(C)):
            if i != j and abs(C[i, j]) >= annotate_above:
                ax.text(j, i, f"{C[i, j]:.1f}", ha="center", va="center", fontsize=5)
    ax.figure.colorbar(im, ax=ax, shrink=0.7, label="rank correlation")
    return ax


def marginal_histograms(unit: np.ndarray, names: Sequence[str], axes: Any = None, bins: int = 20,
                        flags: Sequence[str] | None = None) -> np.ndarray:
    """One histogram per parameter of ensemble positions in the unit cube of the prior box; returns the Axes array.

    Parameters
    ----------
    unit : ndarray
        (members x parameters) unit-cube positions (0: lower bound, 1: upper bound).
    names : sequence of str
    axes : array of Axes, optional
        At least one per parameter (default: a new pyplot-free grid of 6 columns).
    bins : int
    flags : sequence of str, optional
        A flag per parameter written in the panel (``piled at upper bound``, ...).
    """
    U = np.asarray(unit, dtype=float)
    if U.ndim != 2:
        raise FitError(f"unit: expected a (members x parameters) array, got shape {U.shape}")
    d = U.shape[1]
    if len(names) != d:
        raise FitError(f"names: expected {d}, one per column of unit, got {len(names)}")
    if flags is not None and len(flags) != d:
        raise FitError(f"flags: expected {d}, one per column of unit, got {len(flags)}")
    integer(bins, "bins", low=1, error=FitError)
    if axes is None:
        from matplotlib.figure import Figure

        ncols = 6
        nrows = int(np.ceil(d / ncols))
        fig = Figure(figsize=(2.2 * ncols, 1.7 * nrows), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
        for ax in axes[d:]:
            ax.set_visible(False)
    axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    if len(axes) < d:
        raise ValueError(f"axes: expected at least {d} Axes, got {len(axes)}")
    for j in range(d):
        ax = axes[j]
        ax.hist(U[:, j], bins=bins, range=(0, 1), color="#0072B2" if not flags or flags[j] == "constrained" else
                ("#D55E00" if flags[j].startswith("piled") else "0.6"))
        ax.set_xlim(0, 1)
        ax.set_title(names[j], fontsize=8)
        ax.tick_params(labelsize=6)
        if flags:
            ax.text(0.98, 0.95, flags[j], transform=ax.transAxes, ha="right", va="top", fontsize=5)
    return axes[:d]


def plot_band(times: np.ndarray, median: np.ndarray, lower: np.ndarray, upper: np.ndarray, ax: Axes | None = None,
              color: str = "#0072B2", label: str | None = None, log: bool = False, alpha: float = 0.15,
              linestyle: Any = "-") -> Axes:
    """Median line and shaded band over time (days); returns the Axes.

    The band's edges are drawn as thin lines in its colour, so that overlapping bands of several arms
    stay apart where their shades blend.
    """
    n = len(times)
    for label_, arr in (("median", median), ("lower", lower), ("upper", upper)):
        if np.ndim(arr) != 1 or len(arr) != n:
            raise FitError(f"{label_}: expected {n} values, one per time, got shape {np.shape(arr)}")
    ax = axes_or_new(ax)
    ax.fill_between(times, lower, upper, color=color, alpha=alpha, lw=0)
    for edge in (lower, upper):
        ax.plot(times, edge, color=color, lw=0.5, alpha=0.7)
    ax.plot(times, median, color=color, lw=1.8, label=label, ls=linestyle)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("Time (days)")
    return ax


def ensemble_comparison_figure(prediction: Any, panels: Sequence[tuple[str, str, bool]] = (
        ("tumor", "Tumour burden in bone (cells)", True), ("cd8", "Infiltrating CD8$^+$ T cells (cells)", True)),
        level: float = 0.9, fig: Figure | None = None, treatment_start: float | None = None) -> Figure:
    """Median and central ``level`` band per arm for each panel ``(variable, label, log)``; returns the Figure.

    ``prediction`` is an :class:`~bonemet_ode.calibration.predict.EnsemblePrediction`.  Combination
    arms (``" + "`` in the name) are dashed, as in the treatment comparison; ``treatment_start`` (days)
    draws a dotted line where treatment starts.
    """
    from matplotlib.figure import Figure

    missing = [p[0] for p in panels if p[0] not in prediction.variables]
    if missing:
        raise FitError(f"panels: {', '.join(map(repr, missing))} not predicted (variables: "
                       f"{', '.join(prediction.variables)})")
    if not panels:
        raise FitError("panels: give at least one (variable, label, log) panel")
    if fig is None:
        fig = Figure(figsize=(5.2 * len(panels), 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    colors = arm_colors(prediction.arms)
    for ax, (var, label, log) in zip(axes, panels):
        for arm in prediction.arms:
            med, lo, hi = prediction.band(arm, var, level)
            plot_band(prediction.times, med, lo, hi, ax, colors[arm], arm, log, linestyle=arm_linestyle(arm))
        if treatment_start is not None:
            ax.axvline(treatment_start, color="0.6", lw=0.8, ls=":")
        ax.set_ylabel(label)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].legend(fontsize=7, frameon=False)
    when = "" if treatment_start is None else f" (dotted line: treatment from day {treatment_start:g})"
    fig.suptitle(f"Median and {level:.0%} band over {len(prediction.members)} ensemble members{when}", fontsize=10)
    return fig

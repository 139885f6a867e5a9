"""Quick-look plots of results: :meth:`SimulationResult.plot` and :meth:`CohortResult.plot`.

Both take an optional matplotlib Axes and return the Axes they drew on; without one they draw on a
new pyplot-free :class:`matplotlib.figure.Figure` (reach it as ``ax.figure``, save it with
``ax.figure.savefig(path)``), so no global pyplot state is touched.  Publication figures live in
:mod:`bonemet_ode.plotting`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UnknownNameError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["axes_or_new", "unit_of", "plot_result", "plot_cohort"]


def axes_or_new(ax: Axes | None, size: tuple[float, float] = (5.5, 4.0)) -> Axes:
    """``ax`` itself, or the Axes of a new pyplot-free Figure of ``size`` inches.

    Raises
    ------
    TypeError
        If ``ax`` is neither None nor a matplotlib Axes.
    """
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if ax is None:
        return Figure(figsize=size, layout="constrained").add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def unit_of(model: Any, name: str) -> str:
    """The unit declared for state or observable ``name`` of ``model`` (``""`` when none)."""
    for item in (*model.states, *model.observables):
        if item.name == name:
            unit = getattr(item, "unit", "") or ""
            return "" if unit == "1" else unit
    raise UnknownNameError(f"{name!r} is neither a state nor an observable of model {model.name!r}")


def _label(model: Any, name: str) -> str:
    unit = unit_of(model, name)
    return f"{name} ({unit})" if unit else name


def _names(result: Any, names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return list(result.model.state_names)
    if isinstance(names, str):
        return [names]
    return list(names)


def plot_result(result: Any, names: str | Sequence[str] | None = None, ax: Axes | None = None, *,
                log: bool = False) -> Axes:
    """Trajectories of ``names`` (default: every state) of one simulation against time (days).

    A quick look: states of different units share one axis (``log=True`` helps when they span decades;
    ``names=`` picks a few).  With more than 8 names the legend sits beside the axes.

    Parameters
    ----------
    result : SimulationResult
    names : str or sequence of str, optional
        States or observables to draw.
    ax : matplotlib Axes, optional
    log : bool
        Logarithmic y axis.

    Returns
    -------
    matplotlib Axes
    """
    own = ax is None
    ax = axes_or_new(ax)
    chosen = _names(result, names)
    for name in chosen:
        ax.plot(result.times, result[name], lw=1.6, label=_label(result.model, name))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("Time (days)")
    units = {unit_of(result.model, n) for n in chosen}
    if len(chosen) == 1:
        ax.set_ylabel(_label(result.model, chosen[0]))
    else:
        ax.set_ylabel(f"value ({units.pop()})" if len(units) == 1 and "" not in units else "value (units in legend)")
        if len(chosen) <= 8:
            ax.legend(frameon=False, fontsize=8)
        else:  # beside the axes, in columns of at most 15, so that no entry is cut off
            ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      ncol=-(-len(chosen) // 15))
            fig = ax.figure
            if own and hasattr(fig, "set_size_inches"):  # our own figure grows to hold the legend; a caller's doesn't
                cols = -(-len(chosen) // 15)
                fig.set_size_inches(5.5 + 2.2 * cols, max(4.0, 0.16 * min(len(chosen), 15) + 1.5))
    ax.set_title(f"{result.model.name}: {result.arm.name}", fontsize=10)
    return ax


def plot_cohort(result: Any, name: str, ax: Axes | None = None, *, band: tuple[float, float] = (5.0, 95.0),
                log: bool = False, members: int = 0, color: str = "#0072B2") -> Axes:
    """Median and percentile band of ``name`` over the successful members of a cohort.

    Parameters
    ----------
    result : CohortResult
    name : str
        A state or observable.
    ax : matplotlib Axes, optional
    band : (float, float)
        Lower and upper percentiles of the shaded band (default 5 and 95).
    log : bool
        Logarithmic y axis.
    members : int
        Also draw this many individual members (the first ones), thin.
    color : str

    Returns
    -------
    matplotlib Axes
    """
    lo, hi = band
    if not 0.0 <= lo < hi <= 100.0:
        raise ValueError(f"band: expected two percentiles 0 <= low < high <= 100, got {band!r}")
    ax = axes_or_new(ax)
    values = result[name][result.ok]
    if values.shape[0] == 0:
        raise ValueError(f"cohort of {result.n} members has no successful member to plot")
    for row in values[:members]:
        ax.plot(result.times, row, color=color, lw=0.5, alpha=0.4)
    q_lo, q_med, q_hi = np.percentile(values, [lo, 50.0, hi], axis=0)
    ax.fill_between(result.times, q_lo, q_hi, color=color, alpha=0.25, lw=0,
                    label=f"{lo:g}–{hi:g} percentile")
    ax.plot(result.times, q_med, color=color, lw=1.8, label=f"median of {values.shape[0]}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("Time (days)")
    ax.set_ylabel(_label(result.model, name))
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"{result.model.name}: {result.arm.name}", fontsize=10)
    return ax

"""The treatment-comparison figure: trajectories per arm and the endpoint bar chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..simulate.arm import Arm
from ..simulate.comparison import Comparison
from ..simulate.plot import axes_or_new
from .style import arm_colors, arm_linestyle

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Panel", "DEFAULT_PANELS", "first_dose_day", "plot_trajectories", "plot_endpoint_bars",
           "treatment_comparison_figure"]


@dataclass(frozen=True)
class Panel:
    """One panel: a variable, its axis label (with unit) and scale."""

    variable: str
    label: str
    log: bool = False
    scale: float = 1.0


#: Panels of the default comparison figure (those absent from a model are skipped).
DEFAULT_PANELS = (
    Panel("tumor", "Tumour burden in bone (cells)", log=True),
    Panel("cd8", "Infiltrating CD8$^+$ T cells (cells)", log=True),
    Panel("er_fraction", "ERα$^+$ fraction of macrophages (%)", scale=100.0),
    Panel("immature_fraction", "Immature fraction of neutrophils (%)", scale=100.0),
)


def first_dose_day(comparison: Comparison | Sequence[Arm]) -> float | None:
    """The earliest dose start (days) over the arms of ``comparison`` (or a sequence of arms); None if untreated."""
    arms = [res.arm for res in comparison.results.values()] if isinstance(comparison, Comparison) else comparison
    starts = [float(d.start) for a in arms for d in a.doses]
    return min(starts) if starts else None


def plot_trajectories(comparison: Comparison, panel: Panel, ax: Axes | None = None,
                      colors: dict[str, str] | None = None, treatment_start: float | None = None,
                      xlabel: str = "Time (days)") -> Axes:
    """Plot ``panel.variable`` over time (days) for every arm; returns the Axes.

    Parameters
    ----------
    comparison : Comparison
        From :func:`~bonemet_ode.simulate.comparison.compare_arms`.
    panel : Panel
        The variable, its label and scale.
    ax : matplotlib Axes, optional
        Drawn on a new pyplot-free figure when omitted.
    colors : dict, optional
        Colour per arm name.
    treatment_start : float, optional
        Day of a dotted vertical line marking the start of treatment (none by default; see
        :func:`first_dose_day`).
    xlabel : str
        Label of the time axis.
    """
    ax = axes_or_new(ax)
    colors = colors or arm_colors(comparison.arm_names)
    for arm, res in comparison.results.items():
        ax.plot(res.times, res[panel.variable] * panel.scale, color=colors[arm], lw=1.8, label=arm,
                ls=arm_linestyle(arm))
    if panel.log:
        ax.set_yscale("log")
    if treatment_start is not None:
        ax.axvline(treatment_start, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(panel.label)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_endpoint_bars(comparison: Comparison, variable: str = "tumor", day: float | None = None,
                       ax: Axes | None = None, colors: dict[str, str] | None = None,
                       label: str = "Tumour burden") -> Axes:
    """Bar chart of ``variable`` at ``day`` (default: the last day) as % of control per arm; returns the Axes."""
    ax = axes_or_new(ax)
    colors = colors or arm_colors(comparison.arm_names)
    table = comparison.endpoint_table([variable], day)
    pct = table.get(f"{variable}_pct_control", table[variable])
    y = np.arange(len(table))
    ax.barh(y, pct, color=[colors[a] for a in table["arm"]])
    ax.set_yticks(y, table["arm"])
    ax.invert_yaxis()
    ax.axvline(100.0, color="0.5", lw=0.8, ls="--")
    for yi, v in zip(y, pct):
        ax.text(v, float(yi), f" {v:.0f}%", va="center", fontsize=8)
    ax.set_xlabel(f"{label} at day {table.attrs['day']:g} (% of control)")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def treatment_comparison_figure(comparison: Comparison, panels: Sequence[Panel] = DEFAULT_PANELS,
                                title: str | None = None, fig: Figure | None = None) -> Figure:
    """The default multi-panel comparison figure; returns the Figure drawn on.

    The trajectories mark the first dose day of the arms (dotted line); the last panel is the
    endpoint bar chart of ``tumor`` in % of control.

    Parameters
    ----------
    comparison : Comparison
    panels : sequence of Panel
        Panels whose variable the model lacks are skipped.
    title : str, optional
    fig : matplotlib Figure, optional
        An empty figure to draw into (e.g. ``plt.figure()`` in a notebook); by default a new
        pyplot-free Figure sized for the panels.
    """
    from matplotlib.figure import Figure

    names = set(comparison.model.state_names) | set(comparison.model.observable_names)
    panels = [p for p in panels if p.variable in names]
    ncols = 3
    nrows = int(np.ceil((len(panels) + 1) / ncols))
    if fig is None:
        fig = Figure(figsize=(4.2 * ncols, 3.4 * nrows), layout="constrained")
    elif fig.axes:
        raise ValueError(f"fig: expected an empty Figure, got one with {len(fig.axes)} Axes")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    colors = arm_colors(comparison.arm_names)
    start = first_dose_day(comparison)
    for ax, panel in zip(axes, panels):
        plot_trajectories(comparison, panel, ax, colors, treatment_start=start)
    bar_ax = axes[len(panels)]
    if "tumor" in names:
        plot_endpoint_bars(comparison, "tumor", ax=bar_ax, colors=colors)
    spare = axes[len(panels) + 1:]
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in spare:
        ax.set_visible(False)
    if len(spare):
        spare[0].set_visible(True)
        spare[0].axis("off")
        spare[0].legend(handles, labels, loc="center", frameon=False, fontsize=10, title="Arm")
    else:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 6), frameon=False, fontsize=9)
    when = f" (treatment from day {start:g}, dotted line)" if start is not None else ""
    fig.suptitle(title or f"{comparison.model.name}: treatment comparison{when}", fontsize=11)
    return fig

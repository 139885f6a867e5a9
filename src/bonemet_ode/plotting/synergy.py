"""Figures for :class:`~bonemet_ode.analysis.synergy.SynergyResult`.

* :func:`plot_arm_growth` -- mean +/- SEM of the measured volume per arm over
  time (optionally on a log axis).
* :func:`plot_synergy_scores` -- per-time synergy score with its bootstrap CI.
* :func:`plot_synergy` -- both panels side by side.

Arms keep the same colour in every panel (:func:`arm_colors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bonemet_ode.analysis._synergy_result import SynergyResult
from bonemet_ode.errors import DataError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ROLE_COLORS", "VERDICT_COLORS", "arm_colors", "plot_arm_growth", "plot_synergy_scores", "plot_synergy"]

#: Colour of each arm role (colour-blind-safe Okabe-Ito palette, grey control).
ROLE_COLORS: dict[str, str] = {
    "control": "#595959",
    "drug_a": "#0072B2",
    "drug_b": "#E69F00",
    "combination": "#CC79A7",
}

#: Colours of the single agents, in order (Okabe-Ito; the first two are drug_a and drug_b).
_DRUG_COLORS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#56B4E9", "#D55E00", "#F0E442")

#: Marker colour of each verdict in :func:`plot_synergy_scores`.
VERDICT_COLORS: dict[str, str] = {"synergy": "#009E73", "additivity": "#7f7f7f", "antagonism": "#D55E00"}

_METRIC_LABEL = {"bliss": "Bliss", "hsa": "HSA", "ra": "RA"}


def _check_result(result: object) -> SynergyResult:
    if not isinstance(result, SynergyResult):
        raise DataError(f"result: expected a SynergyResult from synergy(), got {type(result).__name__}")
    return result


def _axes(ax: Axes | None) -> Axes:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    if ax is None:
        ax = Figure(figsize=(5.5, 4.0), layout="constrained").add_subplot()
    elif not isinstance(ax, Axes):
        raise DataError(f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def arm_colors(result: SynergyResult) -> dict[str, str]:
    """Colour of each arm of a result, by role.

    Parameters
    ----------
    result
        A synergy result.

    Returns
    -------
    dict of str to str
        Arm name -> matplotlib colour.
    """
    result = _check_result(result)
    colors = {result.control: ROLE_COLORS["control"], result.combination: ROLE_COLORS["combination"]}
    for i, arm in enumerate(result.drugs):
        colors[arm] = _DRUG_COLORS[i % len(_DRUG_COLORS)]
    return colors


def plot_arm_growth(
    result: SynergyResult,
    ax: Axes | None = None,
    *,
    log_y: bool = False,
    unit: str = "mm³",
) -> Axes:
    """Mean +/- SEM of the measured observable per arm over time.

    Parameters
    ----------
    result
        A synergy result (its ``data`` holds the four arms).
    ax
        Axes to draw on; None creates a new figure.
    log_y
        Use a logarithmic y axis.
    unit
        Unit of the observable, for the y label (e.g. ``"mm³"``).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    At each day the mean and SEM (``sd / sqrt(n)``, ``ddof=1``) are over the
    subjects measured that day; days with one subject show no error bar.
    The legend gives each arm's number of subjects.
    """
    from matplotlib import ticker
    result = _check_result(result)
    ax = _axes(ax)
    colors = arm_colors(result)
    frame = result.data.frame
    for arm in result.arms:
        sub = frame[frame["arm"] == arm]
        stats = sub.groupby("time")["value"].agg(["mean", "std", "count"])
        sem = (stats["std"] / np.sqrt(stats["count"])).fillna(0.0)
        n_subj = sub["subject"].nunique()
        ax.errorbar(
            stats.index.to_numpy(), stats["mean"].to_numpy(), yerr=sem.to_numpy(),
            color=colors[arm], marker="o", ms=4, capsize=3, lw=1.6, label=f"{arm} (n={n_subj})",
        )
    if log_y:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10.0, subs=(1.0, 2.0, 3.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("Time (days)")
    ax.set_ylabel(f"{result.observable.replace('_', ' ')} ({unit}), mean ± SEM")
    ax.set_title("Growth per arm", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_synergy_scores(result: SynergyResult, ax: Axes | None = None) -> Axes:
    """Synergy score with its bootstrap CI at each time point.

    Parameters
    ----------
    result
        A synergy result.
    ax
        Axes to draw on; None creates a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Scores are in percentage points of the control volume (positive =
    synergy); markers are coloured by verdict.  The overall score and its CI
    (1/day for Bliss and HSA) are written in the title.
    """
    result = _check_result(result)
    ax = _axes(ax)
    rows = result.by_time
    t = rows["time"].to_numpy()
    score = rows["score"].to_numpy()
    err = np.vstack([score - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - score])
    ax.axhline(0.0, color="black", lw=0.8, ls="--")
    ax.errorbar(t, score, yerr=err, fmt="none", ecolor="0.4", capsize=4, lw=1.2)
    for verdict, color in VERDICT_COLORS.items():
        sel = (rows["verdict"] == verdict).to_numpy()
        if sel.any():
            ax.scatter(t[sel], score[sel], s=48, color=color, zorder=3, label=verdict, edgecolor="black", lw=0.5)
    overall = result.overall
    name = _METRIC_LABEL[result.metric]
    ax.set_xlabel("Time since baseline (days)")
    ax.set_ylabel(f"{name} synergy score (% of control volume)")
    ax.set_title(
        f"{name}: overall {overall['score']:.3g} {overall['unit']} "
        f"[{overall['ci_low']:.3g}, {overall['ci_high']:.3g}] → {result.verdict}",
        fontsize=10,
    )
    ax.legend(fontsize=8, frameon=False, title=f"{result.ci_level:.0%} CI", title_fontsize=8)
    return ax


def plot_synergy(
    result: SynergyResult,
    axes: tuple[Axes, Axes] | None = None,
    *,
    log_y: bool = False,
    unit: str = "mm³",
) -> tuple[Axes, Axes]:
    """Two panels: growth per arm (left) and synergy scores (right).

    Parameters
    ----------
    result
        A synergy result.
    axes
        Two Axes to draw on; None creates a 1x2 figure.
    log_y
        Log y axis for the growth panel.
    unit
        Unit of the observable for the growth panel.

    Returns
    -------
    tuple of matplotlib.axes.Axes
        ``(growth_ax, score_ax)``.
    """
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    result = _check_result(result)
    if axes is None:
        fig = Figure(figsize=(11.0, 4.2), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        fig.suptitle(result.title, fontsize=11)
    else:
        try:
            pair = tuple(axes)
        except TypeError:
            raise DataError(f"axes: expected two matplotlib Axes, got {type(axes).__name__}") from None
        if len(pair) != 2 or not all(isinstance(a, Axes) for a in pair):
            raise DataError(f"axes: expected two matplotlib Axes, got {pair!r}")
        ax1, ax2 = pair
    plot_arm_growth(result, ax1, log_y=log_y, unit=unit)
    plot_synergy_scores(result, ax2)
    return ax1, ax2

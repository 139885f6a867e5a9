"""Figures of fits: data with fitted curves per subject and arm, residuals, per-subject parameter scatter.

Every function takes a result object (``FitResult``, ``SubjectFits`` or
``PopulationResult``: anything with ``points`` and ``curves`` tables) and an
optional Axes, and returns the Axes.  Figures are created with
:class:`matplotlib.figure.Figure` (no pyplot state, any backend).
Censored points are drawn as open downward triangles at their limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FitError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["new_axes", "arm_palette", "plot_fits", "plot_subject_grid", "plot_residuals", "plot_parameter_scatter"]

#: Okabe-Ito colour-blind-safe palette, cycled over arms.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#595959", "#F0E442")


def new_axes(ax: Axes | None, size: tuple[float, float] = (5.5, 4.0)) -> Axes:
    """``ax`` itself, or the Axes of a new (pyplot-free) figure."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    if ax is None:
        return Figure(figsize=size, layout="constrained").add_subplot()
    if not isinstance(ax, Axes):
        raise FitError(f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _tables(result: Any) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    try:
        return result.points, result.curves, dict(getattr(result, "units", {}) or {})
    except AttributeError:
        raise FitError(f"result: expected a fit result with points and curves (FitResult, SubjectFits, "
                       f"PopulationResult), got {type(result).__name__}") from None


def _observable(points: pd.DataFrame, observable: str | None) -> str:
    import pandas as pd
    names = list(pd.unique(points["observable"]))
    if observable is None:
        if len(names) > 1:
            raise FitError(f"observable: the fit has several observables {names}; name one")
        return names[0]
    if observable not in names:
        raise FitError(f"observable: {observable!r} is not fitted; fitted observables {names}")
    return observable


def _label(observable: str, units: dict[str, str]) -> str:
    unit = units.get(observable, "")
    return f"{observable.replace('_', ' ')} ({unit})" if unit else observable.replace("_", " ")


def arm_palette(arms: Sequence[str]) -> dict[str, str]:
    """A colour per arm (stable order)."""
    return {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(arms)}


def _draw_points(ax: Axes, pts: pd.DataFrame, color: str, label: str | None) -> None:
    obs = pts[~pts["censored"].astype(bool)]
    cen = pts[pts["censored"].astype(bool)]
    ax.plot(obs["time"], obs["value"], "o", ms=3.5, color=color, alpha=0.8, label=label)
    if len(cen):
        ax.plot(cen["time"], cen["value"], "v", ms=5, mfc="none", color=color, alpha=0.9)


def plot_fits(
    result: Any,
    ax: Axes | None = None,
    *,
    subjects: Sequence[str] | None = None,
    observable: str | None = None,
    log: bool = True,
) -> Axes:
    """Data and fitted curves of every subject (or arm), coloured by arm.

    Parameters
    ----------
    result : FitResult, SubjectFits or PopulationResult
        The fit.
    ax : Axes, optional
        Where to draw.
    subjects : sequence of str, optional
        Subjects to show (default: all).
    observable : str, optional
        Which observable (needed when several were fitted).
    log : bool
        Logarithmic value axis.

    Returns
    -------
    Axes
    """
    import pandas as pd
    points, curves, units = _tables(result)
    ax = new_axes(ax)
    obs = _observable(points, observable)
    pts = points[points["observable"] == obs]
    cur = curves[curves["observable"] == obs]
    if subjects is not None:
        unknown = [s for s in subjects if s not in set(pts["subject"])]
        if unknown:
            raise FitError(f"subjects: {unknown[:5]} are not in the fit")
        pts = pts[pts["subject"].isin(subjects)]
        cur = cur[cur["subject"].isin(list(subjects) + [""])]
    colors = arm_palette(list(pd.unique(points["arm"])))
    one_arm = len(pd.unique(points["arm"])) == 1
    for arm, g in pts.groupby("arm", sort=False):
        _draw_points(ax, g, colors[arm], "data" if one_arm else f"{arm} data")
    for (subj, arm), g in cur.groupby(["subject", "arm"], sort=False):
        lw, alpha = (2.0, 1.0) if subj == "" else (0.8, 0.6)
        ax.plot(g["time"], g["value"], "-", lw=lw, alpha=alpha, color=colors.get(arm, PALETTE[0]),
                label=("fit" if one_arm else f"{arm} fit") if subj == "" else None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("time (days)")
    ax.set_ylabel(_label(obs, units))
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_subject_grid(
    result: Any,
    axes: Sequence[Axes] | None = None,
    *,
    subjects: Sequence[str] | None = None,
    observable: str | None = None,
    ncols: int = 5,
    log: bool = False,
) -> np.ndarray:
    """One small panel per subject: its data and its fitted curve.

    Parameters
    ----------
    result : FitResult, SubjectFits or PopulationResult
        The fit.
    axes : sequence of Axes, optional
        One Axes per subject (default: a new grid with ``ncols`` columns).
    subjects : sequence of str, optional
        Subjects to show (default: the first 30).
    observable : str, optional
        Which observable.
    ncols : int
        Columns of a new grid.
    log : bool
        Logarithmic value axes.

    Returns
    -------
    ndarray of Axes
    """
    import pandas as pd
    from matplotlib.figure import Figure
    points, curves, units = _tables(result)
    obs = _observable(points, observable)
    subjects = list(subjects) if subjects is not None else list(pd.unique(points["subject"]))[:30]
    if axes is None:
        nrows = int(np.ceil(len(subjects) / ncols))
        fig = Figure(figsize=(2.2 * ncols, 1.8 * nrows + 0.4), layout="constrained")
        grid = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
        for a in grid.ravel()[len(subjects):]:
            a.set_visible(False)
        axes = list(grid.ravel()[: len(subjects)])
    axs = np.asarray(axes, dtype=object)
    if len(axs) != len(subjects):
        raise FitError(f"axes: expected {len(subjects)} Axes (one per subject), got {len(axs)}")
    colors = arm_palette(list(pd.unique(points["arm"])))
    one_arm = len(pd.unique(points["arm"])) == 1
    for a, s in zip(axs, subjects):
        p = points[(points["subject"] == s) & (points["observable"] == obs)]
        if p.empty:
            raise FitError(f"subjects: {s!r} has no {obs!r} data in the fit")
        arm = p["arm"].iat[0]
        c = curves[(curves["observable"] == obs) & (curves["subject"].isin([s, ""])) & (curves["arm"] == arm)]
        c = c[c["subject"] == s] if (c["subject"] == s).any() else c
        _draw_points(a, p, colors[arm], None)
        a.plot(c["time"], c["value"], "-", color=colors[arm], lw=1.2)
        # "subject 0", not "0 (all)": the arm only when there are several to tell apart
        a.set_title(f"subject {s}" if one_arm else f"subject {s} ({arm})", fontsize="small")
        if log:
            a.set_yscale("log")
        a.tick_params(labelsize="x-small")
    fig = axs[0].figure
    fig.supxlabel("time (days)", fontsize="small")
    fig.supylabel(_label(obs, units), fontsize="small")
    return axs


def plot_residuals(result: Any, ax: Axes | None = None, *, against: str = "time") -> Axes:
    """Weighted residuals ``(T(y) - mu)/s`` against time or prediction, with +-2 guides.

    Parameters
    ----------
    result : FitResult, SubjectFits or PopulationResult
        The fit.
    ax : Axes, optional
        Where to draw.
    against : {"time", "predicted"}
        Horizontal axis.
    """
    import pandas as pd
    if against not in ("time", "predicted"):
        raise FitError(f"against: expected 'time' or 'predicted', got {against!r}")
    points, _, units = _tables(result)
    ax = new_axes(ax)
    colors = arm_palette(list(pd.unique(points["arm"])))
    for arm, g in points.groupby("arm", sort=False):
        obs = g[~g["censored"].astype(bool)]
        ax.plot(obs[against], obs["residual"], "o", ms=3, alpha=0.7, color=colors[str(arm)], label=arm)
    for y in (-2.0, 0.0, 2.0):
        ax.axhline(y, color="0.5", lw=0.8, ls="-" if y == 0 else "--")
    if against == "time":
        ax.set_xlabel("time (days)")
    else:
        obs_names = list(pd.unique(points["observable"]))
        ax.set_xlabel("prediction" if len(obs_names) > 1 else f"prediction, {_label(obs_names[0], units)}")
        ax.set_xscale("log")
    ax.set_ylabel("weighted residual (sd units)")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_parameter_scatter(table: pd.DataFrame, x: str, y: str, ax: Axes | None = None, *,
                           units: dict[str, str] | None = None) -> Axes:
    """Per-subject estimates of two parameters with the least-squares line and R².

    Parameters
    ----------
    table : pandas.DataFrame
        One row per subject (``SubjectFits.table()`` or ``PopulationResult.individual``).
    x, y : str
        Column names.
    ax : Axes, optional
        Where to draw.
    units : dict, optional
        Units of the parameters for the axis labels.
    """
    for c in (x, y):
        if c not in table.columns:
            raise FitError(f"column {c!r} is not in the table (columns {list(table.columns)})")
    ax = new_axes(ax, (4.5, 4.0))
    t = table
    if "success" in t.columns:
        t = t[t["success"] == True]  # noqa: E712 - pandas mask
    xv, yv = t[x].to_numpy(float), t[y].to_numpy(float)
    ax.plot(xv, yv, "o", ms=4, color=PALETTE[0])
    if len(xv) > 2:
        slope, icpt = np.polyfit(xv, yv, 1)
        r2 = float(np.corrcoef(xv, yv)[0, 1] ** 2)
        xs = np.linspace(xv.min(), xv.max(), 50)
        ax.plot(xs, slope * xs + icpt, "-", color=PALETTE[4], label=f"{y} = {slope:.3g}·{x} + {icpt:.3g}, "
                f"R² = {r2:.3f}")
        ax.legend(frameon=False, fontsize="small")
    units = units or {}
    ax.set_xlabel(f"{x} ({units[x]})" if units.get(x) else x)
    ax.set_ylabel(f"{y} ({units[y]})" if units.get(y) else y)
    return ax

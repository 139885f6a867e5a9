"""Figures of fit uncertainty: likelihood profiles, posterior predictive bands, parameter correlations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FitError
from .fits import PALETTE, arm_palette, new_axes

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_profile", "plot_profiles", "plot_posterior_band", "plot_correlation"]

_VERDICT_COLOR = {"identifiable": "#009E73", "practically non-identifiable": "#E69F00",
                  "structurally non-identifiable (flat)": "#D55E00"}


def plot_profile(profile: Any, ax: Axes | None = None) -> Axes:
    """``Delta chi^2`` profile of one parameter with the threshold, the estimate and the interval.

    Parameters
    ----------
    profile : ProfileResult
        From :func:`~bonemet_ode.estimate.profile.profile_likelihood`.
    ax : Axes, optional
        Where to draw.
    """
    from matplotlib import ticker
    for attr in ("values", "delta", "threshold", "verdict", "parameter"):
        if not hasattr(profile, attr):
            raise FitError(f"profile: expected a ProfileResult, got {type(profile).__name__}")
    ax = new_axes(ax, (4.0, 3.2))
    color = _VERDICT_COLOR.get(profile.verdict, PALETTE[0])
    ax.plot(profile.values, profile.delta, "o-", ms=3, color=color)
    ax.axhline(profile.threshold, color="0.4", ls="--", lw=0.9, label=f"Δχ² = {profile.threshold:.2f}")
    ax.axvline(profile.estimate, color="0.4", lw=0.8)
    for end in (profile.lower, profile.upper):
        if np.isfinite(end):
            ax.axvline(end, color=color, ls=":", lw=1.0)
    if profile.log_scale:
        ax.set_xscale("log")
        if profile.values.max() / profile.values.min() < 100:  # narrow range: plain numbers, few ticks
            ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
            ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%.3g"))
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(f"{profile.parameter} ({profile.unit})" if profile.unit and profile.unit != "1"
                  else profile.parameter)
    ax.set_ylabel("Δχ² = 2 ΔNLL")
    ax.set_title(profile.verdict, fontsize="small", color=color)
    ax.legend(frameon=False, fontsize="x-small")
    return ax


def plot_profiles(profiles: Mapping[str, Any], axes: Sequence[Axes] | None = None, ncols: int = 3) -> np.ndarray:
    """One panel per profiled parameter (see :func:`plot_profile`); returns the Axes."""
    from matplotlib.figure import Figure
    names = list(profiles)
    if not names:
        raise FitError("profiles: nothing to plot")
    if axes is None:
        nrows = int(np.ceil(len(names) / ncols))
        ncol = min(ncols, len(names))
        fig = Figure(figsize=(3.6 * ncol, 3.0 * nrows), layout="constrained")
        grid = fig.subplots(nrows, ncol, squeeze=False)
        for a in grid.ravel()[len(names):]:
            a.set_visible(False)
        axes = list(grid.ravel()[: len(names)])
    if len(axes) != len(names):
        raise FitError(f"axes: expected {len(names)} Axes, got {len(axes)}")
    for a, n in zip(axes, names):
        plot_profile(profiles[n], a)
    return np.asarray(axes, dtype=object)


def plot_posterior_band(band: Any, ax: Axes | None = None, *, points: pd.DataFrame | None = None,
                        observable: str | None = None, unit: str = "", log: bool = False) -> Axes:
    """Posterior predictive median and band per arm, optionally over the data.

    Parameters
    ----------
    band : PredictiveBand
        From :func:`~bonemet_ode.estimate.mcmc.posterior_predictive`.
    ax : Axes, optional
        Where to draw.
    points : pandas.DataFrame, optional
        Data rows (``FitResult.points``) to overlay.
    observable : str, optional
        Which observable (needed when several).
    unit : str
        Unit of the observable for the label.
    log : bool
        Logarithmic value axis.
    """
    import pandas as pd
    frame = getattr(band, "frame", None)
    if not isinstance(frame, pd.DataFrame):
        raise FitError(f"band: expected a PredictiveBand, got {type(band).__name__}")
    names = list(pd.unique(frame["observable"]))
    obs = observable or names[0]
    if obs not in names:
        raise FitError(f"observable: {obs!r} not in the band (has {names})")
    ax = new_axes(ax)
    fr = frame[frame["observable"] == obs]
    colors = arm_palette(list(pd.unique(fr["arm"])))
    what = "prediction" if band.with_noise else "credible"
    for arm, g in fr.groupby("arm", sort=False):
        c = colors[arm]
        ax.fill_between(g["time"], g["lower"], g["upper"], color=c, alpha=0.25,
                        label=f"{arm}: {100 * band.level:.0f}% {what} band")
        ax.plot(g["time"], g["median"], "-", color=c, lw=1.5)
        if points is not None:
            p = points[(points["arm"] == arm) & (points["observable"] == obs)]
            ax.plot(p["time"], p["value"], "o", ms=3, color=c)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("time (days)")
    label = obs.replace("_", " ")
    ax.set_ylabel(f"{label} ({unit})" if unit else label)
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_correlation(result: Any, ax: Axes | None = None) -> Axes:
    """Heat map of the parameter correlation matrix (a FitResult, or a correlation DataFrame).

    Parameters
    ----------
    result : FitResult or pandas.DataFrame
        A fit (its ``correlation``) or a square correlation table.
    ax : Axes, optional
        Where to draw.
    """
    import pandas as pd
    corr = result if isinstance(result, pd.DataFrame) else getattr(result, "correlation", None)
    if not isinstance(corr, pd.DataFrame) or corr.shape[0] != corr.shape[1]:
        raise FitError(f"result: expected a FitResult or a square correlation DataFrame, got {type(result).__name__}")
    ax = new_axes(ax, (1.0 + 0.7 * len(corr), 0.6 + 0.7 * len(corr)))
    c = corr.to_numpy(float)
    im = ax.imshow(c, vmin=-1, vmax=1, cmap="RdBu_r")
    names = list(corr.columns)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize="small")
    ax.set_yticks(range(len(names)), names, fontsize="small")
    for i in range(len(names)):
        for j in range(len(names)):
            txt = "nan" if not np.isfinite(c[i, j]) else f"{c[i, j]:.2f}"
            ax.text(j, i, txt, ha="center", va="center", fontsize="x-small",
                    color="white" if np.isfinite(c[i, j]) and abs(c[i, j]) > 0.6 else "black")
    ax.figure.colorbar(im, ax=ax, label="correlation (1)")
    ax.set_title("parameter correlation", fontsize="small")
    return ax

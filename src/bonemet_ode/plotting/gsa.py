"""Figures for :class:`~bonemet_ode.analysis.gsa.GSAResult`.

* :func:`plot_gsa` -- horizontal grouped bars of the sensitivity indices of
  each parameter (Sobol ``S1``/``ST`` or Morris ``mu_star``/``sigma``), with
  their bootstrap confidence intervals, most influential parameter on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from bonemet_ode.analysis.gsa import GSAResult
from bonemet_ode.errors import BonemetError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["INDEX_COLORS", "INDEX_LABELS", "plot_gsa"]

#: Bar colour of each index (colour-blind-safe Okabe-Ito palette).
INDEX_COLORS: dict[str, str] = {"S1": "#0072B2", "ST": "#E69F00", "mu_star": "#0072B2", "sigma": "#E69F00",
                                "mu": "#009E73"}
#: Legend label of each index.
INDEX_LABELS: dict[str, str] = {"S1": "first order $S_1$", "ST": "total $S_T$", "mu_star": r"$\mu^*$",
                                "sigma": r"$\sigma$", "mu": r"$\mu$"}


def plot_gsa(
    result: GSAResult,
    ax: Axes | None = None,
    *,
    indices: Sequence[str] | None = None,
    sort: bool = True,
) -> Axes:
    """Bar plot of sensitivity indices per parameter, with confidence intervals.

    Parameters
    ----------
    result : GSAResult
        From :func:`~bonemet_ode.analysis.gsa.sobol` or :func:`~bonemet_ode.analysis.gsa.morris`.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    indices : sequence of str, optional
        Indices to show (default ``("S1", "ST")`` for Sobol, ``("mu_star", "sigma")`` for Morris).
    sort : bool
        Most influential parameter (by the last index shown for Sobol, the
        first for Morris) on top; otherwise in the order analysed.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_gsa(result)  # doctest: +SKIP
    """
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    if not isinstance(result, GSAResult):
        raise BonemetError(f"result: expected a GSAResult from sobol() or morris(), got {type(result).__name__}")
    if ax is None:
        ax = Figure(figsize=(5.5, 0.45 * len(result.parameters) + 1.5), layout="constrained").add_subplot()
    elif not isinstance(ax, Axes):
        raise BonemetError(f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}")
    default = ("S1", "ST") if result.method == "sobol" else ("mu_star", "sigma")
    shown = tuple(indices) if indices is not None else default
    bad = [i for i in shown if i not in result.index_names]
    if bad or not shown:
        raise BonemetError(f"indices: choose from {result.index_names} for a {result.method} result, got {list(shown)}")
    frame = result.to_frame()
    key = shown[-1] if result.method == "sobol" else shown[0]
    order = result.ranking(key)[::-1] if sort else list(result.parameters)[::-1]
    y = np.arange(len(order))
    height = 0.8 / len(shown)
    for k, name in enumerate(shown):
        part = frame[frame["index"] == name].set_index("parameter").loc[order]
        est = part["estimate"].to_numpy()
        err = np.vstack([est - part["ci_low"].to_numpy(), part["ci_high"].to_numpy() - est])
        xerr = None if np.all(np.isnan(err)) else np.nan_to_num(err)
        ax.barh(y + (k - (len(shown) - 1) / 2) * height, est, height, xerr=xerr, capsize=2,
                color=INDEX_COLORS.get(name, f"C{k}"), label=INDEX_LABELS.get(name, name))
    ax.set_yticks(y, order)
    ax.axvline(0.0, color="0.3", lw=0.8)
    if result.method == "sobol":
        ax.set_xlabel("Sobol index (share of output variance)")
    else:
        ax.set_xlabel("elementary effect (output units per parameter range)")
    ax.set_title(f"{result.method.capitalize()} sensitivity of {result.output}", fontsize="medium")
    ax.legend(frameon=False, fontsize="small", loc="lower right")
    return ax

"""One multi-panel figure per source article, from the built-in bone-metastasis model.

* :func:`figure_er` -- source ER: control, fulvestrant, macrophage-ERα
  knockout and fulvestrant + anti-PD-1 (tumour, CD8, ERα-active macrophages).
* :func:`figure_dkk1` -- source DKK1: control, anti-DKK1, anti-PD-1 and the
  combination (tumour, immature neutrophils, CD8) and the share of a virtual
  cohort whose lesion is eliminated by day 42.
* :func:`figure_tam` -- source TAM: control versus myeloid Notch knockout
  (tumour, TAMs, CD8).
* :func:`figure_srs` -- source SRS: Src inhibitor from day 0 versus day 14,
  SRS-high versus SRS-low clones in bone and at the primary site, and the odds
  of a bone lesion from CXCL12/IGF1-high versus -low primary stroma.
* :func:`figure_all` -- all four.

Every arm has one colour in every figure (:data:`SCENARIO_COLORS`); figures
are written as PNG with the Agg backend and the paths are returned.

Examples
--------
>>> from bonemet_ode.models.bone_metastasis.figures import figure_all
>>> paths = figure_all("figures")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ...model import Model
from ...plotting.style import ARM_PALETTE, CONTROL_COLOR
from ...simulate.cohort import CohortResult, draw_cohort, simulate_cohort
from ...simulate.result import SimulationResult
from ...simulate.simulator import simulate
from .arms import scenario_arms
from .catalogue import ELIMINATION_LEVEL
from .cohort import COHORT_SEED, cohort_variability
from .model import bone_metastasis

__all__ = ["SCENARIO_COLORS", "figure_er", "figure_dkk1", "figure_tam", "figure_srs", "figure_all", "plot_arms"]

#: Fixed colour of every scenario arm (Okabe-Ito palette; control dark grey).
SCENARIO_COLORS: dict[str, str] = {
    "control": CONTROL_COLOR,
    "fulvestrant": ARM_PALETTE[0],
    "anti-DKK1": ARM_PALETTE[1],
    "anti-PD-1": ARM_PALETTE[2],
    "fulvestrant + anti-PD-1": ARM_PALETTE[3],
    "anti-DKK1 + anti-PD-1": ARM_PALETTE[4],
    "ERa-KO": ARM_PALETTE[5],
    "Notch-KO": ARM_PALETTE[7],
    "Notch inhibitor": ARM_PALETTE[2],
    "Src inhibitor d0": ARM_PALETTE[0],
    "Src inhibitor d14": ARM_PALETTE[1],
    "SRS-high": ARM_PALETTE[4],
    "SRS-low": ARM_PALETTE[5],
    "stroma-high": ARM_PALETTE[4],
    "stroma-low": ARM_PALETTE[5],
}

#: Legend labels (the arm names use ASCII; figures print Greek letters).
_LABELS: dict[str, str] = {
    "ERa-KO": "macrophage ERα KO",
    "Notch-KO": "myeloid Notch KO",
    "Notch inhibitor": "Notch inhibitor",
    "Src inhibitor d0": "Src inhibitor from day 0",
    "Src inhibitor d14": "Src inhibitor from day 14",
    "SRS-high": "SRS-high clone",
    "SRS-low": "SRS-low clone",
    "stroma-high": "CXCL12/IGF1-high stroma",
    "stroma-low": "CXCL12/IGF1-low stroma",
}

_DAYS = 42.0
_DPI = 200


def _use_agg() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)


def _simulate(names: Sequence[str], model: Model | None, params: Mapping[str, float] | None,
              days: float) -> dict[str, SimulationResult]:
    model = model or bone_metastasis()
    arms = scenario_arms()
    times = np.linspace(0.0, days, int(days * 8) + 1)
    return {n: simulate(model, arms[n], times=times, params=params) for n in names}


def plot_arms(ax, results: Mapping[str, SimulationResult], variable: str, ylabel: str, *, log: bool = False,
              scale: float = 1.0, treatment_start: float | None = 7.0, floor: float | None = None,
              clamp: bool = False):
    """Plot ``variable`` against time for each result on ``ax`` with the scenario colours; returns ``ax``.

    Parameters
    ----------
    ax : matplotlib Axes
        Target axes.
    results : mapping of arm name to SimulationResult
        Trajectories, in legend order.
    variable : str
        State or observable name.
    ylabel : str
        Axis label with unit.
    log : bool
        Log-scaled y axis.
    scale : float
        Factor applied to the values (for example 100 for percentages).
    treatment_start : float, optional
        Day marked by a dotted vertical line.
    floor : float, optional
        Lower limit of a log axis; values below it are not drawn (or drawn
        at the floor with ``clamp=True``).
    clamp : bool
        Draw values below ``floor`` at the floor instead of leaving them out.

    Notes
    -----
    The control arm is drawn wider than the others, so an arm that coincides
    with control stays visible on top of it.
    """
    for name, res in results.items():
        y = np.asarray(res[variable], dtype=float) * scale
        if log and floor is not None:
            y = np.maximum(y, floor) if clamp else np.where(y >= floor, y, np.nan)
        ax.plot(res.times, y, color=SCENARIO_COLORS.get(name, CONTROL_COLOR), lw=2.8 if name == "control" else 1.8,
                ls=(0, (5, 1.5)) if " + " in name else "-", label=_LABELS.get(name, name))
    if log:
        ax.set_yscale("log")
        if floor is not None:
            ax.set_ylim(bottom=floor)
    if treatment_start is not None:
        ax.axvline(treatment_start, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("Days after seeding")
    ax.set_ylabel(ylabel)
    ax.set_xlim(0.0, float(max(r.times[-1] for r in results.values())))
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def _letter(ax, letter: str) -> None:
    ax.set_title(letter, loc="left", fontsize=12, fontweight="bold")


def _finish(fig, path: Path, title: str, bottom: float = 0.0) -> Path:
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    fig.tight_layout(rect=(0, bottom, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _legend_below(fig, axes, ncol: int) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, fontsize=9,
               bbox_to_anchor=(0.5, 0.0))


def figure_er(out_dir: str | Path, *, model: Model | None = None, params: Mapping[str, float] | None = None,
              days: float = _DAYS) -> Path:
    """Source ER: the ERα macrophage barrier, its knockout and fulvestrant.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``er_axis.png`` (created if needed).
    model : Model, optional
        Default: the built-in ``bone_metastasis`` model.
    params : mapping, optional
        Parameter overrides.
    days : float
        Simulated days.

    Returns
    -------
    Path
        The PNG written.
    """
    return _arm_panels(
        out_dir, "er_axis.png", ("control", "fulvestrant", "ERa-KO", "fulvestrant + anti-PD-1"),
        (("tumor", "Tumour cells in bone", 1e3), ("cd8", "Infiltrating CD8$^+$ T cells", 1e1),
         ("mac_er", "ERα$^+$ macrophages (cells)", 1e2)),
        "ER axis: ERα-active macrophages exclude CD8 T cells (dotted line: treatment from day 7)", model, params, days)


def _arm_panels(out_dir: str | Path, filename: str, names: Sequence[str], panels: Sequence[tuple[str, str, float]],
                title: str, model: Model | None, params: Mapping[str, float] | None, days: float) -> Path:
    """One row of log-scale panels (variable, label, floor), one line per arm; returns the PNG path."""
    _use_agg()
    import matplotlib.pyplot as plt

    res = _simulate(names, model, params, days)
    fig, axes = plt.subplots(1, len(panels), figsize=(11.0, 3.9))
    for ax, (variable, label, floor), letter in zip(axes, panels, "abcdef"):
        plot_arms(ax, res, variable, label, log=True, floor=floor)
        _letter(ax, letter)
    _legend_below(fig, axes, len(names))
    return _finish(fig, Path(out_dir) / filename, title, 0.08)


def _cohorts(model: Model | None, params: Mapping[str, float] | None, names: Sequence[str], n: int,
             day: float, seed: int) -> dict[str, CohortResult]:
    model = (model or bone_metastasis()).with_parameters(dict(params or {}))
    table = draw_cohort(model, n, cohort_variability(), seed)
    arms = scenario_arms()
    times = np.linspace(0.0, day, int(day * 4) + 1)
    return {name: simulate_cohort(model, table, arms[name], times=times, n_jobs=1) for name in names}


def figure_dkk1(out_dir: str | Path, *, model: Model | None = None, params: Mapping[str, float] | None = None,
                days: float = _DAYS, cohort_size: int = 200, seed: int = COHORT_SEED) -> Path:
    """Source DKK1: DKK1-driven immature neutrophils, anti-DKK1, anti-PD-1 and their synergy.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``dkk1_axis.png``.
    model, params, days
        As in :func:`figure_er`.
    cohort_size : int
        Virtual mice per arm in panel d (>= 200 for the O16 reading).
    seed : int
        Seed of the virtual cohort (the same mice in every arm).

    Returns
    -------
    Path
        The PNG written.
    """
    _use_agg()
    import matplotlib.pyplot as plt

    names = ("control", "anti-DKK1", "anti-PD-1", "anti-DKK1 + anti-PD-1")
    res = _simulate(names, model, params, days)
    cohorts = _cohorts(model, params, names, cohort_size, 42.0, seed)
    fig, axes = plt.subplots(1, 4, figsize=(14.5, 4.0))
    combo = cohorts["anti-DKK1 + anti-PD-1"]
    for k in range(min(20, combo.n)):
        axes[0].plot(combo.times, np.maximum(combo["tumor"][k], 0.1), color=SCENARIO_COLORS["anti-DKK1 + anti-PD-1"],
                     lw=0.5, alpha=0.35, zorder=0)
    plot_arms(axes[0], res, "tumor", "Tumour cells in bone", log=True, floor=1e-1, clamp=True)
    axes[0].axhline(ELIMINATION_LEVEL, color="0.5", lw=0.8, ls="--")
    axes[0].text(0.5, ELIMINATION_LEVEL * 1.6, "1 cell", fontsize=7.5, color="0.4")
    axes[0].text(0.03, 0.97, "thin lines: 20 virtual mice\non anti-DKK1 + anti-PD-1", transform=axes[0].transAxes,
                 ha="left", va="top", fontsize=7.5, color="0.3")
    plot_arms(axes[1], res, "immature_fraction", "Immature neutrophils (% of neutrophils)", scale=100.0)
    axes[1].set_ylim(0, 100)
    plot_arms(axes[2], res, "cd8", "Infiltrating CD8$^+$ T cells", log=True, floor=1e1)
    ax = axes[3]
    x = np.arange(len(names))
    frac = []
    for n in names:
        ok = cohorts[n].ok
        frac.append(100.0 * float(np.mean(cohorts[n].at(42.0, "tumor")[ok] < ELIMINATION_LEVEL)))
    ax.bar(x, frac, color=[SCENARIO_COLORS[n] for n in names], width=0.65)
    for xi, f in zip(x, frac):
        ax.text(xi, f + 1.5, f"{f:.0f}%", ha="center", fontsize=8.5)
    ax.set_xticks(x, ["control", "anti-DKK1", "anti-PD-1", "anti-DKK1\n+ anti-PD-1"], fontsize=8.5)
    ax.set_ylabel(f"Lesions eliminated by day 42\n(% of {cohort_size} virtual mice)")
    ax.set_ylim(0, 100)
    ax.spines[["top", "right"]].set_visible(False)
    for a, letter in zip(axes, "abcd"):
        _letter(a, letter)
    _legend_below(fig, axes, 4)
    return _finish(fig, Path(out_dir) / "dkk1_axis.png",
                   "DKK1 axis: DKK1 keeps neutrophils immature; anti-DKK1 restores anti-PD-1 "
                   "(d: virtual cohort, lesion < 1 cell)", 0.08)


def figure_tam(out_dir: str | Path, *, model: Model | None = None, params: Mapping[str, float] | None = None,
               days: float = _DAYS) -> Path:
    """Source TAM: recruited, Notch-dependent TAMs, and the myeloid Notch knockout.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``tam_axis.png``.
    model, params, days
        As in :func:`figure_er`.

    Returns
    -------
    Path
        The PNG written.
    """
    return _arm_panels(
        out_dir, "tam_axis.png", ("control", "Notch-KO", "Notch inhibitor"),
        (("tumor", "Tumour cells in bone", 1e3), ("tams", "TAMs (cells)", 1e2),
         ("cd8", "Infiltrating CD8$^+$ T cells", 1e1)),
        "TAM axis: monocyte-derived TAMs need Notch (knockout from day 0; inhibitor daily from day 7)",
        model, params, days)


def _keep_overlaps_visible(ax) -> None:
    """Draw later arms dashed and thinner on top, so an arm equal to control (the day-14 Src arm
    before day 14; SRS-high and SRS-low in the primary) shows instead of hiding under it."""
    styles = ["-", (0, (5, 2)), (0, (1, 1.5)), (0, (3, 1, 1, 1))]
    curves = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    for k, ln in enumerate(curves):
        ln.set_linestyle(styles[k % len(styles)])
        ln.set_linewidth(max(2.4 - 0.5 * k, 1.0))
        ln.set_zorder(2 + k)
    if ax.get_legend() is not None:
        ax.legend(frameon=False, fontsize=8, loc=ax.get_legend()._loc)  # noqa: SLF001 - keep its place


def figure_srs(out_dir: str | Path, *, model: Model | None = None, params: Mapping[str, float] | None = None,
               days: float = _DAYS) -> Path:
    """Source SRS: Src inhibition prevents but does not cure; SRS helps in bone, not in the primary.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``srs_axis.png``.
    model, params, days
        As in :func:`figure_er`.

    Returns
    -------
    Path
        The PNG written.
    """
    _use_agg()
    import matplotlib.pyplot as plt

    src = _simulate(("control", "Src inhibitor d0", "Src inhibitor d14"), model, params, days)
    clones = _simulate(("SRS-high", "SRS-low"), model, params, days)
    stroma = _simulate(("stroma-high", "stroma-low"), model, params, days)
    fig, axes = plt.subplots(2, 3, figsize=(11.5, 7.2))
    ax = plot_arms(axes[0, 0], src, "tumor", "Tumour cells in bone", log=True, treatment_start=None, floor=1e3)
    ax.axvline(14.0, color="0.6", lw=0.8, ls=":")
    ax.legend(frameon=False, fontsize=8)
    ax = plot_arms(axes[0, 1], src, "dormant", "Newly arrived (dormant) cells in bone", log=True,
                   treatment_start=None, floor=1.0)
    ax.axvline(14.0, color="0.6", lw=0.8, ls=":")
    ax = plot_arms(axes[0, 2], src, "colonisation_rate", "Colony starts (cells/day)", log=True,
                   treatment_start=None, floor=1e-1)
    ax.axvline(14.0, color="0.6", lw=0.8, ls=":")
    ax = plot_arms(axes[1, 0], clones, "tumor", "Tumour cells in bone", log=True, treatment_start=None,
                   floor=1e3)
    ax.legend(frameon=False, fontsize=8)
    plot_arms(axes[1, 1], clones, "primary_tumor", "Primary-tumour cells", log=True, treatment_start=None)
    ax = plot_arms(axes[1, 2], stroma, "lesion_probability", "P(≥ 1 bone lesion from circulation)",
                   treatment_start=None)
    ax.set_ylim(0, 1)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    for a, letter in zip(axes.ravel(), "abcdef"):
        _letter(a, letter)
        _keep_overlaps_visible(a)
    return _finish(fig, Path(out_dir) / "srs_axis.png",
                   "SRS axis: Src signalling lets newly arrived cells colonise bone (a–c: dotted line, day 14); "
                   "SRS clones (d, e); primary stroma (f)")


def figure_all(out_dir: str | Path, *, model: Model | None = None, params: Mapping[str, float] | None = None,
               cohort_size: int = 200) -> list[Path]:
    """All four source figures in ``out_dir``; returns their paths (ER, DKK1, TAM, SRS)."""
    return [
        figure_er(out_dir, model=model, params=params),
        figure_dkk1(out_dir, model=model, params=params, cohort_size=cohort_size),
        figure_tam(out_dir, model=model, params=params),
        figure_srs(out_dir, model=model, params=params),
    ]

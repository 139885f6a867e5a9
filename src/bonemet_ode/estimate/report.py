"""Plain-text reports of fits (pure functions of result objects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FitError
from .population_result import PopulationResult
from .profile import ProfileResult, identifiability_table
from .result import FitResult, SubjectFits

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["fit_report"]


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.5g}"


def _fit_lines(r: FitResult, corr_flag: float) -> list[str]:
    lines = [
        f"model {r.model} [{r.label}]: {'converged' if r.success else 'NOT CONVERGED: ' + r.status} ({r.message})",
        f"method: {r.method}",
        f"data: {r.n_observations} points ({r.n_censored} censored); noise "
        + ", ".join(f"{o}: {k}" for o, k in r.noise.items()),
        f"NLL {_fmt(r.nll)}  AIC {_fmt(r.aic)}  AICc {_fmt(r.aicc)}  BIC {_fmt(r.bic)}  "
        f"({r.n_parameters} estimated parameters; {r.nfev} evaluations; {r.wall_time:.2f} s)",
    ]
    if r.penalty:
        lines.append(f"extra penalty at the estimate: {_fmt(r.penalty)} (not part of the NLL)")
    t = r.table()
    lines.append("")
    lines.append(f"{'parameter':18s} {'estimate':>12s} {'SE':>11s} {'RSE%':>7s} {'95% CI':>25s}  unit")
    for name, row in t.iterrows():
        ci = f"[{_fmt(row['lower'])}, {_fmt(row['upper'])}]" if row["estimated"] else "fixed"
        mark = (f"  AT {row['at_bound'].upper()} BOUND (CI clipped, unreliable)" if row["at_bound"]
                else "  (CI clipped at bound)" if row["ci_clipped"] else "")
        lines.append(f"{name:18s} {_fmt(row['estimate']):>12s} {_fmt(row['se']):>11s} "
                     f"{_fmt(row['rse_percent']):>7s} {ci:>25s}  {row['unit']}{mark}")
    if r.at_bound:
        lines.append(f"warning: estimates on a bound ({r.at_bound}): the optimum is constrained there, so their "
                     f"SE and CI are not valid; widen the bound or fix the parameter")
    if r.n_parameters and not np.all(np.isfinite(r.covariance)):
        lines.append("warning: the Fisher information is singular - some parameters are not locally identifiable")
    c = r.correlation.to_numpy()
    pairs = [(r.varied[i], r.varied[j], c[i, j]) for i in range(len(r.varied)) for j in range(i)
             if np.isfinite(c[i, j]) and abs(c[i, j]) > corr_flag]
    for a, b, v in pairs:
        lines.append(f"strong correlation: {a} ~ {b}: {v:+.3f}")
    return lines


def _subject_lines(fits: SubjectFits) -> list[str]:
    import pandas as pd
    n_all = len(fits.fits) + len(fits.failed)
    lines = [f"model {fits.model}: per-subject fits, {len(fits.converged)}/{n_all} converged, "
             f"{len(fits.failed)} failed ({fits.wall_time:.1f} s)"]
    if fits.fits:
        lines.append(f"total NLL {_fmt(fits.nll)}  AIC {_fmt(fits.aic)}  ({fits.n_parameters} parameters, "
                     f"{fits.n_observations} points)")
    else:
        lines.append("no subject could be fitted: no total NLL or AIC (the reasons are listed below)")
    lines.append("")
    table = fits.table()
    if table.empty:
        return lines
    first = next(iter(fits.fits.values()), None)
    est = [p.name for p in first.parameters if p.vary] if first else []
    cols = ["subject", "arm", "status", "nll"] + [c for p in est for c in (p, f"{p}_se")]
    shown = table[[c for c in cols if c in table.columns]]
    with pd.option_context("display.float_format", lambda x: f"{x:.5g}", "display.width", 160,
                           "display.max_rows", 500):
        lines.append(shown.to_string(index=False))
    ok = table[table["success"] == True]  # noqa: E712 - pandas mask
    if len(ok) > 1:
        lines.append("")
        lines.append("across converged subjects: " + ", ".join(
            f"{p} median {_fmt(float(np.median(ok[p])))} (IQR {_fmt(float(ok[p].quantile(0.25)))}-"
            f"{_fmt(float(ok[p].quantile(0.75)))})" for p in est))
    for s, msg in fits.failed.items():
        lines.append(f"failed: {s}: {msg}")
    return lines


def _population_lines(p: PopulationResult) -> list[str]:
    import pandas as pd
    lines = [f"model {p.model}: population fit, {p.n_subjects} subjects, {p.n_observations} points; {p.message}",
             f"method: {p.method}",
             f"-2LL {_fmt(p.objective)}  AIC {_fmt(p.aic)}  BIC {_fmt(p.bic)}  ({p.n_parameters} population "
             f"parameters; {p.wall_time:.1f} s)", ""]
    with pd.option_context("display.float_format", lambda x: f"{x:.5g}", "display.width", 160):
        lines.append(p.table().to_string())
    return lines


def fit_report(
    result: FitResult | SubjectFits | PopulationResult,
    *,
    profiles: Mapping[str, ProfileResult] | None = None,
    selection: pd.DataFrame | None = None,
    title: str | None = None,
    correlation_flag: float = 0.95,
) -> str:
    """A text report of a fit.

    Parameters
    ----------
    result : FitResult, SubjectFits or PopulationResult
        The fit.
    profiles : mapping, optional
        Profile likelihoods to summarise (identifiability verdicts).
    selection : pandas.DataFrame, optional
        A model-selection table from :func:`~bonemet_ode.estimate.selection.information_criteria`.
    title : str, optional
        First line.
    correlation_flag : float
        Parameter correlations above this (in absolute value) are listed.

    Returns
    -------
    str
    """
    import pandas as pd
    if isinstance(result, FitResult):
        lines = _fit_lines(result, correlation_flag)
    elif isinstance(result, SubjectFits):
        lines = _subject_lines(result)
    elif isinstance(result, PopulationResult):
        lines = _population_lines(result)
    else:
        raise FitError(f"fit_report: expected a FitResult, SubjectFits or PopulationResult, got "
                       f"{type(result).__name__}")
    if title:
        lines = [title, "=" * len(title), *lines]
    if profiles:
        lines += ["", "profile likelihood (95% threshold 3.84):"]
        with pd.option_context("display.float_format", lambda x: f"{x:.5g}", "display.width", 160):
            lines.append(identifiability_table(profiles).to_string())
    if selection is not None:
        lines += ["", "model selection:"]
        cols = [c for c in ("n_parameters", "nll", "aic", "aicc", "bic", "delta_aic", "akaike_weight")
                if c in selection.columns]
        with pd.option_context("display.float_format", lambda x: f"{x:.4f}" if abs(x) < 1 else f"{x:.2f}",
                               "display.width", 160):
            lines.append(selection[cols].to_string())
    return "\n".join(lines) + "\n"


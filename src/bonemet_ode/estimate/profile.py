"""Profile likelihood and a per-parameter identifiability verdict.

For a parameter ``theta_j`` the profile is
``PL(theta_j) = min over the other parameters of the objective``; with
``Delta(theta_j) = 2*(PL(theta_j) - PL_min)`` the 95 % profile-likelihood
interval is where ``Delta < 3.84`` (chi-square, 1 degree of freedom; Raue et
al. 2009, Bioinformatics 25:1923).  Verdicts:

``identifiable``
    ``Delta`` crosses the threshold on both sides of the estimate.
``practically non-identifiable``
    ``Delta`` rises but stays below the threshold on at least one side within
    the bounds and the explored range.
``structurally non-identifiable (flat)``
    ``Delta`` stays below ``flat_tol`` on both sides out to a factor 10 from
    the estimate (log-scaled parameters; +-100 % for linear ones) or to the
    bounds: the data cannot tell the values apart, whatever their amount
    (e.g. two parameters that enter only as a product).  Farther out the
    profile may rise where another parameter reaches its bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FitError
from ..simulate._validate import integer, number
from .estimation_problem import EstimationProblem
from .fitter import Fitter, resolve_fit
from .result import FitResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ProfileResult", "profile_likelihood", "identifiability_table", "CHI2_95", "VERDICTS"]

#: 95 % quantile of the chi-square distribution with one degree of freedom.
CHI2_95 = 3.841458820694124

VERDICTS = ("identifiable", "practically non-identifiable", "structurally non-identifiable (flat)")


@dataclass(frozen=True, eq=False)
class ProfileResult:
    """The likelihood profile of one parameter.

    Attributes
    ----------
    parameter : str
        Profiled parameter.
    unit : str
        Its unit.
    estimate : float
        Its value at the optimum.
    values : ndarray
        Profiled values (sorted).
    delta : ndarray
        ``2*(objective - objective at the optimum)`` at each value.
    threshold : float
        The ``Delta`` defining the interval (3.84 for 95 %).
    lower, upper : float
        Interval ends (interpolated crossing of the threshold); NaN when not crossed.
    verdict : str
        One of :data:`VERDICTS`.
    log_scale : bool
        Whether the profile was walked on a log scale.
    """

    parameter: str
    unit: str
    estimate: float
    values: np.ndarray
    delta: np.ndarray
    threshold: float
    lower: float
    upper: float
    verdict: str
    log_scale: bool

    @property
    def identifiable(self) -> bool:
        """True when the interval is closed on both sides."""
        return self.verdict == VERDICTS[0]


def _crossing(x: np.ndarray, d: np.ndarray, thr: float, log: bool) -> float:
    """First crossing of ``thr`` walking outward along ``x`` (``x[0]`` at the optimum).

    Interpolates ``sqrt(Delta)`` linearly (exact for a quadratic profile), in
    log ``x`` for log-scaled parameters.
    """
    u = np.log(x) if log else np.asarray(x, dtype=float)
    r = np.sqrt(np.maximum(d, 0.0))
    for i in range(1, len(x)):
        if d[i] >= thr > d[i - 1]:
            w = (math.sqrt(thr) - r[i - 1]) / (r[i] - r[i - 1])
            v = u[i - 1] + w * (u[i] - u[i - 1])
            return float(math.exp(v) if log else v)
    return math.nan


def _flat_side(xs: list[float], ds: list[float], x0: float, log: bool, span: float, tol: float,
               bounds: tuple[float, float]) -> bool:
    """Whether ``Delta < tol`` out to ``span`` from the estimate (or to the parameter's bound)."""
    dist = np.abs(np.log(xs) - math.log(x0)) if log else np.abs(np.array(xs) - x0)
    reached = dist.max() >= span or xs[-1] in bounds
    inside = dist <= span
    return bool(reached and np.all(np.array(ds)[inside] < tol))


def _below_tolerance(obj0: float) -> float:
    """How far below the fit's objective a profile point may fall and still count as round-off.

    The optimiser stops at a relative change of 1e-8 in its cost; re-optimising
    with one parameter held can land slightly lower.  Anything beyond
    ``1e-3 + 1e-6*|objective|`` means the fit was not at its optimum.
    """
    return 1e-3 + 1e-6 * abs(obj0)


def _walk(fitter: Fitter, best: Mapping[str, float], name: str, direction: int, obj0: float, *,
          log: bool, step: float, max_steps: int, stop: float, span: float) -> tuple[list[float], list[float]]:
    """Walk one side of the profile with an adaptive step; returns ``(values, delta)``."""
    p = fitter.problem.by_name[name]
    x0 = float(best[name])
    xs, ds = [x0], [0.0]
    current = dict(best)
    u0 = math.log(x0) if log else x0
    u = u0
    for _ in range(max_steps):
        u_next = u + direction * step
        x = math.exp(u_next) if log else u_next
        x = min(max(x, p.lower), p.upper)
        if x == xs[-1] or abs(u_next - u0) > span:
            break
        current[name] = x
        values, _, _, _ = fitter.minimize(current, hold=(name,))
        obj = fitter.problem.objective(values)
        if not math.isfinite(obj):
            break
        if obj < obj0 - _below_tolerance(obj0):
            restart = {k: float(f"{v:.6g}") for k, v in values.items() if k in fitter.problem.varied}
            raise FitError(
                f"profile_likelihood: profiling {name!r} found objective {obj:.6g} at {name} = {x:.6g}, "
                f"{obj0 - obj:.4g} below the fit's objective {obj0:.6g} (Delta = {2.0 * (obj - obj0):.4g}): "
                f"the fit is not at its optimum, so no interval or verdict can be given; refit starting from "
                f"that point (initial= in EstimationProblem: "
                f"{restart}) and profile the new result")
        d = max(2.0 * (obj - obj0), 0.0)  # only round-off below the optimum reaches here
        rise = d - ds[-1]
        xs.append(x)
        ds.append(d)
        current = values
        u = math.log(x) if log else x
        if d > stop or x in (p.lower, p.upper):
            break
        if rise < 0.4:  # slow rise: lengthen the step (reaches flat directions' bounds quickly)
            step *= 2.0
        elif rise > 2.0:  # steep: shorten it to locate the crossing
            step /= 2.0
    return xs, ds


def profile_likelihood(
    source: Fitter | EstimationProblem | FitResult,
    result: FitResult | None = None,
    parameters: Sequence[str] | None = None,
    *,
    level: float = 0.95,
    max_steps: int = 20,
    flat_tol: float = 0.05,
    span: float | None = None,
) -> dict[str, ProfileResult]:
    """Profile the objective of a problem around its optimum for each parameter.

    Parameters
    ----------
    source : EstimationProblem, FitResult or Fitter
        The problem (its objective is re-optimised at every step): an
        :class:`EstimationProblem`, a fresh :class:`FitResult` (which
        carries its problem), or the :class:`Fitter` that produced ``result``.
    result : FitResult, optional
        The optimum (default: the result given as ``source``, or a fit of
        the problem).
    parameters : sequence of str, optional
        Estimated parameters to profile (default: all model parameters estimated).
    level : float
        Confidence level of the interval (threshold: chi-square 1-dof quantile).
    max_steps : int
        Maximum steps on each side.
    flat_tol : float
        ``Delta`` below which a profile counts as flat (see the module notes).
    span : float, optional
        Largest distance walked from the estimate: in natural-log units for
        log-scaled parameters (default ``ln(1e3)``), else in parameter units
        (default ``100*max(|estimate|, SE)``).

    Returns
    -------
    dict
        ``{name: ProfileResult}``.
    """
    from scipy.stats import chi2

    fitter, result = resolve_fit(source, result, "profile_likelihood")
    if not 0 < level < 1:
        raise FitError(f"level: expected a number in (0, 1), got {level!r}")
    integer(max_steps, "max_steps (steps each way)", low=1, error=FitError)
    number(flat_tol, "flat_tol", low=0.0, error=FitError)
    if span is not None:
        number(span, "span", low=0.0, low_open=True, error=FitError)
    thr = float(chi2.ppf(level, 1))
    varied = fitter.problem.varied
    names = list(parameters) if parameters is not None else [
        n for n in varied if fitter.problem.by_name[n].role == "model"]
    bad = [n for n in names if n not in varied]
    if bad:
        raise FitError(f"parameters: {bad} are not estimated in this fit (estimated: {list(varied)})")
    best = dict(result.values)
    obj0 = fitter.problem.objective(best)
    se = result.stderr
    out = {}
    for name in names:
        p = fitter.problem.by_name[name]
        x0 = float(best[name])
        log = p.log_scale and x0 > 0
        s = se[name]
        if log:
            step = min(max(s / x0 if np.isfinite(s) else 0.1, 0.01), 0.5)
            sp = span if span is not None else math.log(1e3)
        else:
            step = s if np.isfinite(s) and s > 0 else 0.1 * max(abs(x0), 1e-3)
            sp = span if span is not None else 100.0 * max(abs(x0), step)
        stop = thr + 2.0
        xs_up, d_up = _walk(fitter, best, name, +1, obj0, log=log, step=step, max_steps=max_steps, stop=stop, span=sp)
        xs_dn, d_dn = _walk(fitter, best, name, -1, obj0, log=log, step=step, max_steps=max_steps, stop=stop, span=sp)
        upper = _crossing(np.array(xs_up), np.array(d_up), thr, log)
        lower = _crossing(np.array(xs_dn), np.array(d_dn), thr, log)
        values = np.array(xs_dn[::-1] + xs_up[1:])
        delta = np.array(d_dn[::-1] + d_up[1:])
        flat_span = math.log(10.0) if log else max(abs(x0), 1e-3)
        flat = all(_flat_side(xs, ds, x0, log, flat_span, flat_tol, (p.lower, p.upper))
                   for xs, ds in ((xs_up, d_up), (xs_dn, d_dn)))
        if np.isfinite(lower) and np.isfinite(upper):
            verdict = VERDICTS[0]
        elif flat:
            verdict = VERDICTS[2]
        else:
            verdict = VERDICTS[1]
        out[name] = ProfileResult(name, p.unit, x0, values, delta, thr, lower, upper, verdict, log)
    return out


def identifiability_table(profiles: Mapping[str, ProfileResult]) -> pd.DataFrame:
    """One row per profiled parameter: estimate, interval, verdict, largest Delta explored."""
    import pandas as pd
    rows = [{"parameter": n, "estimate": p.estimate, "lower": p.lower, "upper": p.upper, "unit": p.unit,
             "verdict": p.verdict, "max_delta": float(np.max(p.delta)), "range_min": float(p.values.min()),
             "range_max": float(p.values.max())} for n, p in profiles.items()]
    return pd.DataFrame(rows).set_index("parameter")

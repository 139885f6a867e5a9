"""SynergyLMM-style combination test: a linear mixed model of log relative tumour volume.

The model is the exponential-growth mixed model of SynergyLMM (Romero-Becerra
et al.; statistics after Demidenko & Miller 2019), implemented here from its
published definition:

.. math::

    \\log\\frac{V_{ij}}{V_{i0}} = (\\beta_{g(i)} + b_i)\\, t_{ij} + \\varepsilon_{ij},
    \\qquad b_i \\sim N(0, \\tau^2),\\; \\varepsilon_{ij} \\sim N(0, \\sigma^2)

with :math:`t_{ij}` days since subject *i*'s first measurement, one fixed
growth rate :math:`\\beta_g` (1/day) per arm, no intercept (the relative
volume is 1 at baseline), and a random slope per subject.  The fit is
restricted maximum likelihood (REML), profiled over the variance ratio
:math:`\\lambda = \\tau^2/\\sigma^2` so that only a one-dimensional search is
numerical; :math:`\\beta` and :math:`\\sigma^2` are then closed-form GLS.

The synergy score is a linear contrast of the arm rates (positive = the
combination grows slower than expected = synergy):

* Bliss: :math:`\\sum_k \\beta_k - (n-1)\\beta_C - \\beta_{AB\\ldots}` for *n* single agents;
* HSA: :math:`\\min_k \\beta_k - \\beta_{AB\\ldots}` (the single agent with the lowest estimated rate).

Its standard error comes from the GLS covariance
:math:`\\hat\\sigma^2 (\\sum_i X_i^T W_i X_i)^{-1}`; the test is a two-sided
Wald z test, as in SynergyLMM.  The per-time rows refit the model on the data
up to each day, as ``lmmSynergy`` does.

How it differs from :func:`~bonemet_ode.analysis.synergy.synergy` (the
invivoSyn-style analysis): there, each subject's rate is fitted alone and the
arms' mean rates are bootstrapped over subjects; here all measurements enter
one model, subjects with more measurements weigh more, the between-subject
spread is a variance component rather than resampled, and the test is a
normal-theory Wald test.  With few subjects per arm and heterogeneous growth
the two intervals differ in width, and a borderline combination can be called
differently (see ``docs/synergy.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..data import DataTable
from ..errors import DataError
from ._synergy_result import verdict_of
from .growth import resolve_observable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LMM_METRICS", "MixedModelFit", "SynergyLMMResult", "fit_growth_lmm", "synergy_lmm"]

#: Reference models of :func:`synergy_lmm`.
LMM_METRICS: tuple[str, ...] = ("bliss", "hsa")


@dataclass(frozen=True)
class MixedModelFit:
    """REML fit of the random-slope growth model.

    Attributes
    ----------
    arms : tuple of str
        Arm of each fixed effect, in order.
    rates : numpy.ndarray
        Fixed growth rates per arm (1/day).
    covariance : numpy.ndarray
        Covariance of ``rates``.
    sd_random : float
        SD of the subject random slopes, :math:`\\tau` (1/day).
    sd_residual : float
        Residual SD, :math:`\\sigma` (log volume units).
    n_subjects, n_observations : int
        Subjects and measurements used (baseline rows included).
    reml : float
        -2 restricted log-likelihood at the optimum (up to a constant).
    """

    arms: tuple[str, ...]
    rates: np.ndarray
    covariance: np.ndarray
    sd_random: float
    sd_residual: float
    n_subjects: int
    n_observations: int
    reml: float

    def rate(self, arm: str) -> float:
        """Fixed growth rate of one arm (1/day)."""
        return float(self.rates[self.arms.index(arm)])

    def table(self) -> pd.DataFrame:
        """``arm, rate, se`` (1/day)."""
        import pandas as pd
        return pd.DataFrame({"arm": list(self.arms), "rate": self.rates,
                             "se": np.sqrt(np.diag(self.covariance)), "unit": "1/day"})


def _subject_blocks(frame: pd.DataFrame, arms: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per subject: days since its first measurement, log(V/V0), arm index."""
    blocks = []
    for subject, g in frame.groupby("subject", sort=False):
        g = g.sort_values("time")
        v = g["value"].to_numpy(float)
        if np.any(v <= 0):
            raise DataError(f"subject {subject!r}: volumes must be > 0 for log relative volumes "
                            "(read the data with lloq= to censor zeros)")
        t = g["time"].to_numpy(float) - float(g["time"].iloc[0])
        blocks.append((t, np.log(v / v[0]), arms.index(g["arm"].iloc[0])))
    return blocks


def fit_growth_lmm(data: DataTable, arms: Sequence[str], *, observable: str | None = None,
                   until: float | None = None) -> MixedModelFit:
    """Fit :math:`\\log(V/V_0) = (\\beta_g + b_i) t + \\varepsilon` by REML.

    Parameters
    ----------
    data
        Measurements, time in days.
    arms
        Arms to include (one fixed rate each, in this order).
    observable
        Observable to fit; None when ``data`` has one.
    until
        Use only measurements up to this many days since each subject's
        baseline (None: all).

    Returns
    -------
    MixedModelFit

    Raises
    ------
    DataError
        Unknown arms, an arm without subjects with two measurements,
        non-positive volumes.
    """
    from scipy import optimize
    obs = resolve_observable(data, observable)
    unknown = [a for a in arms if a not in data.arms]
    if unknown:
        raise DataError(f"arms: unknown arm(s) {unknown}; the table has {list(data.arms)}")
    frame = data.frame
    frame = frame[(frame["observable"] == obs) & frame["arm"].isin(list(arms))]
    blocks = _subject_blocks(frame, list(arms))
    if until is not None:
        blocks = [(t[t <= until + 1e-9], y[t <= until + 1e-9], g) for t, y, g in blocks]
    blocks = [(t, y, g) for t, y, g in blocks if t.size >= 2]
    p = len(arms)
    counts = np.bincount([g for _, _, g in blocks], minlength=p)
    if np.any(counts < 1):
        empty = [a for a, c in zip(arms, counts) if c < 1]
        raise DataError(f"arms {empty}: no subject with two or more measurements"
                        + (f" up to day {until:g}" if until is not None else ""))
    n_obs = sum(t.size for t, _, _ in blocks)
    if n_obs - p < 1:
        raise DataError("too few measurements for the mixed model")
    # sufficient statistics per subject: z = t, X = t e_g
    zz = np.array([t @ t for t, _, _ in blocks])
    zy = np.array([t @ y for t, y, _ in blocks])
    yy = np.array([y @ y for _, y, _ in blocks])
    g_of = np.array([g for _, _, g in blocks])

    def pieces(lam: float) -> tuple[float, np.ndarray, np.ndarray, float]:
        # W = I - c z z^T with c = lam / (1 + lam z^T z); X = z e_g^T
        c = lam / (1.0 + lam * zz)
        xwx_diag = zz - c * zz * zz          # z^T W z
        xwy = zy - c * zz * zy               # z^T W y
        ywy = yy - c * zy * zy
        A = np.bincount(g_of, weights=xwx_diag, minlength=p)
        b = np.bincount(g_of, weights=xwy, minlength=p)
        beta = b / A
        rss = float(ywy.sum() - b @ beta)
        logdet_v = float(np.log1p(lam * zz).sum())
        return rss, beta, A, logdet_v

    def neg2_reml(log_lam: float) -> float:
        rss, _, A, logdet_v = pieces(math.exp(log_lam))
        s2 = max(rss, 1e-300) / (n_obs - p)
        return (n_obs - p) * math.log(s2) + logdet_v + float(np.log(A).sum())

    res = optimize.minimize_scalar(neg2_reml, bounds=(-25.0, 15.0), method="bounded",
                                   options={"xatol": 1e-10, "maxiter": 500})
    log_lam = float(res.x)
    if neg2_reml(-25.0) <= res.fun:  # boundary: no between-subject variance
        log_lam = -25.0
    lam = math.exp(log_lam)
    rss, beta, A, _ = pieces(lam)
    s2 = rss / (n_obs - p)
    return MixedModelFit(arms=tuple(arms), rates=beta, covariance=np.diag(s2 / A),
                         sd_random=math.sqrt(lam * s2), sd_residual=math.sqrt(s2), n_subjects=len(blocks),
                         n_observations=n_obs, reml=float(neg2_reml(log_lam)))


@dataclass(frozen=True)
class SynergyLMMResult:
    """Outcome of :func:`synergy_lmm`.

    Attributes
    ----------
    metric : str
        ``"bliss"`` or ``"hsa"``.
    control, combination : str
        Arm names.
    drugs : tuple of str
        Single-agent arms.
    table : pandas.DataFrame
        One row per day (model fitted on the data up to that day) and an
        ``"overall"`` row (all data): ``scope, time, expected, observed,
        score, se, z, p_value, ci_low, ci_high, verdict, unit`` (rates,
        1/day; positive score = synergy).
    fit : MixedModelFit
        The fit on all data.
    verdict : str
        The overall call from the Wald CI.
    ci_level : float
        Two-sided confidence level.
    """

    metric: str
    control: str
    combination: str
    drugs: tuple[str, ...]
    table: pd.DataFrame
    fit: MixedModelFit
    verdict: str
    ci_level: float
    observable: str = field(default="")

    @property
    def overall(self) -> pd.Series:
        """The ``"overall"`` row of :attr:`table`."""
        return self.table.loc[self.table["scope"] == "overall"].iloc[0]

    def to_text(self) -> str:
        """Plain-text report."""
        name = {"bliss": "Bliss independence", "hsa": "highest single agent (HSA)"}[self.metric]
        lines = [f"Mixed-model combination test (SynergyLMM-style): {name}",
                 f"  log(V/V0) = (beta_arm + b_subject) t + e, REML; {self.fit.n_subjects} subjects, "
                 f"{self.fit.n_observations} measurements",
                 f"  combination {self.combination!r} of {', '.join(map(repr, self.drugs))}; "
                 f"control {self.control!r}",
                 f"  sd of subject slopes {self.fit.sd_random:.4g} 1/day; residual sd {self.fit.sd_residual:.4g}",
                 "", "Growth rates (1/day):"]
        for row in self.fit.table().itertuples(index=False):
            lines.append(f"  {row.arm!s:<28} {row.rate:.4f} (SE {row.se:.4f})")
        lines += ["", "Synergy scores (expected - observed combination rate, 1/day; positive = synergy):"]
        for row in self.table.itertuples(index=False):
            when = "overall " if row.scope == "overall" else f"day {row.time:<4g}"
            lines.append(f"  {when:<9} score {row.score:+.4f} (SE {row.se:.4f}) "
                         f"[{row.ci_low:+.4f}, {row.ci_high:+.4f}] p={row.p_value:.3g} -> {row.verdict}")
        lines += ["", f"Verdict: {self.verdict} (Wald z test, {self.ci_level:.0%} CI)"]
        return "\n".join(lines)


def _contrast(metric: str, fit: MixedModelFit, control: str, drugs: Sequence[str],
              combination: str) -> tuple[np.ndarray, float, float]:
    """Contrast vector c (score = c @ rates), expected and observed rate."""
    c = np.zeros(len(fit.arms))
    ic, iab = fit.arms.index(control), fit.arms.index(combination)
    if metric == "bliss":
        for d in drugs:
            c[fit.arms.index(d)] += 1.0
        c[ic] -= len(drugs) - 1
    else:
        best = min(drugs, key=fit.rate)
        c[fit.arms.index(best)] += 1.0
    expected = float(c @ fit.rates)
    c[iab] -= 1.0
    return c, expected, fit.rate(combination)


def synergy_lmm(
    data: DataTable,
    *,
    control: str,
    combination: str,
    drugs: Sequence[str] | None = None,
    drug_a: str | None = None,
    drug_b: str | None = None,
    metric: str = "bliss",
    ci_level: float = 0.95,
    min_time: float = 0.0,
    observable: str | None = None,
) -> SynergyLMMResult:
    """Test a combination with SynergyLMM's mixed model (Bliss for any number of drugs, or HSA).

    Parameters
    ----------
    data
        Tumour measurements (> 0), time in days.
    control, combination
        Arm names.
    drugs, drug_a, drug_b
        The single-agent arms: ``drugs=[...]`` (two or more) or ``drug_a`` and
        ``drug_b``.
    metric
        ``"bliss"`` or ``"hsa"``.
    ci_level
        Two-sided level of the Wald intervals.
    min_time
        Per-time rows only for days (since baseline) after this.
    observable
        Observable to analyse; None when ``data`` has one.

    Returns
    -------
    SynergyLMMResult

    Raises
    ------
    DataError
        Bad arguments (named), unknown arms, non-positive volumes.

    Examples
    --------
    See ``docs/synergy.md``; the numbers agree with statsmodels' ``MixedLM``
    (REML, random slope) to optimiser precision (tests/analysis/test_synergy_lmm.py).
    """
    import pandas as pd
    from scipy import stats

    from .synergy import _single_agents

    singles = _single_agents(drug_a, drug_b, drugs)
    if not isinstance(data, DataTable):
        raise DataError(f"data: expected a DataTable, got {type(data).__name__}")
    if not isinstance(metric, str) or metric.lower() not in LMM_METRICS:
        raise DataError(f"metric: expected one of {list(LMM_METRICS)} for the mixed-model test, got {metric!r}")
    metric = metric.lower()
    if isinstance(ci_level, bool) or not isinstance(ci_level, (int, float)) or not 0.5 <= ci_level < 1:
        raise DataError(f"ci_level: expected a probability in [0.5, 1), got {ci_level!r}")
    if isinstance(min_time, bool) or not isinstance(min_time, (int, float)) or not math.isfinite(min_time):
        raise DataError(f"min_time: expected a finite number of days, got {min_time!r}")
    arms = [control, *singles, combination]
    for a in arms:
        if not isinstance(a, str):
            raise DataError(f"arm names must be strings, got {a!r}")
    if len(set(arms)) != len(arms):
        raise DataError(f"control, the single agents and the combination must be different arms, got {arms}")
    obs = resolve_observable(data, observable)
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    frame = data.frame
    frame = frame[(frame["observable"] == obs) & frame["arm"].isin(arms)]
    t0 = frame.groupby("subject")["time"].transform("min")
    days = sorted({round(float(d), 9) for d in (frame["time"] - t0) if d > min_time})

    def row(scope: str, time: float, until: float | None) -> dict[str, object]:
        fit = fit_growth_lmm(data, arms, observable=obs, until=until)
        c, expected, observed = _contrast(metric, fit, control, singles, combination)
        score = float(c @ fit.rates)
        se = float(math.sqrt(c @ fit.covariance @ c))
        zval = score / se if se > 0 else math.nan
        lo, hi = score - z * se, score + z * se
        return {"scope": scope, "time": time, "metric": metric, "unit": "1/day", "expected": expected,
                "observed": observed, "score": score, "se": se, "z": zval,
                "p_value": float(2 * stats.norm.sf(abs(zval))) if se > 0 else math.nan,
                "ci_low": lo, "ci_high": hi, "verdict": verdict_of(lo, hi)}

    rows = []
    for d in days:
        try:
            rows.append(row("time", d, d))
        except DataError:
            continue  # too early for every arm to have two measurements
    rows.append(row("overall", math.nan, None))
    table = pd.DataFrame(rows)
    fit = fit_growth_lmm(data, arms, observable=obs)
    return SynergyLMMResult(metric=metric, control=control, combination=combination, drugs=tuple(singles),
                            table=table, fit=fit, verdict=str(table.iloc[-1]["verdict"]), ci_level=float(ci_level),
                            observable=obs)

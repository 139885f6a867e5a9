"""Per-subject exponential growth rates of tumour volume.

Each subject's log volume relative to its own baseline is modelled as

.. math:: \\log\\bigl(V(t)/V(t_0)\\bigr) = r\\,(t - t_0),

where :math:`t_0` is the subject's first measurement time and :math:`r`
(1/day) its exponential growth rate.  Two estimators of :math:`r` are offered:

``"ols"`` (default)
    Least squares through the origin over all measurements after baseline,
    :math:`\\hat r = \\sum_j \\tau_j y_j / \\sum_j \\tau_j^2` with
    :math:`\\tau_j = t_j - t_0` and :math:`y_j = \\log(V_j/V_0)`.  With a
    common random slope per subject this is the per-subject analogue of the
    linear mixed model used by SynergyLMM (Romero et al.): when all subjects
    of an arm share the same measurement days, the arm mean of these slopes
    equals the generalised-least-squares fixed-effect slope of that model.
``"auc"``
    The area under the log-ratio curve (trapezoid rule) converted to a rate
    under exponential growth, :math:`\\hat r = 2\\,\\mathrm{AUC}/\\tau_{last}^2`,
    as in invivoSyn's eGR (Mao et al.).  invivoSyn uses
    :math:`\\log(V+1)`; here :math:`\\log V` is used so that the rate does not
    depend on the volume unit.

Both are exact for noiseless exponential growth.  The rates are summarised
per arm and bootstrapped over subjects within arm by
:mod:`bonemet_ode.analysis.synergy`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from bonemet_ode.errors import BonemetWarning, DataError

from ..data import DataTable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RATE_METHODS", "subject_growth_rates", "bootstrap_arm_means", "resolve_observable"]

#: Accepted values of ``method`` / ``rate_method``.
RATE_METHODS: tuple[str, ...] = ("ols", "auc")


def resolve_observable(data: DataTable, observable: str | None) -> str:
    """Pick the observable to analyse.

    Parameters
    ----------
    data
        The measurements.
    observable
        Requested observable, or None when the table has exactly one.

    Returns
    -------
    str

    Raises
    ------
    DataError
        If ``observable`` is None with several observables, or is unknown.
    """
    if observable is None:
        if len(data.observables) != 1:
            raise DataError(
                f"observable: the table has several observables {list(data.observables)}; name one"
            )
        return data.observables[0]
    if observable not in data.observables:
        raise DataError(f"observable: unknown observable {observable!r}; the table has {list(data.observables)}")
    return observable


def _rate(tau: np.ndarray, y: np.ndarray, method: str) -> float:
    if method == "ols":
        return float(np.dot(tau, y) / np.dot(tau, tau))
    area = float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(tau)))
    return 2.0 * area / float(tau[-1] ** 2)


def subject_growth_rates(
    data: DataTable,
    *,
    observable: str | None = None,
    method: str = "ols",
    arms: tuple[str, ...] | list[str] | None = None,
) -> pd.DataFrame:
    """Estimate each subject's exponential growth rate relative to baseline.

    Parameters
    ----------
    data
        Measurements (e.g. tumour volumes, any positive unit).
    observable
        Observable to use; None when ``data`` has only one.
    method
        ``"ols"`` (least squares through the origin on log(V/V0)) or
        ``"auc"`` (invivoSyn-style area under the log-ratio curve); see the
        module docstring.
    arms
        Restrict to these arms; None uses all.

    Returns
    -------
    pandas.DataFrame
        One row per subject with columns ``subject, arm, t0`` (baseline day),
        ``v0`` (baseline value), ``t_last`` (day), ``n_points``,
        ``n_censored`` and ``rate`` (1/day).

    Raises
    ------
    DataError
        If ``method`` is unknown, an arm is unknown, or a value is zero (a log
        ratio is undefined: the message names the subject and day and suggests
        ``lloq``).

    Warns
    -----
    BonemetWarning
        For subjects with a single measurement (no rate; they are left out),
        and when left-censored values are used at their limit of
        quantification (this biases rates towards zero growth).
    """
    import pandas as pd
    if not isinstance(data, DataTable):
        raise DataError(f"data: expected a DataTable, got {type(data).__name__}")
    if method not in RATE_METHODS:
        raise DataError(f"method: expected one of {list(RATE_METHODS)}, got {method!r}")
    obs = resolve_observable(data, observable)
    frame = data.frame
    frame = frame[frame["observable"] == obs]
    if arms is not None:
        unknown = [a for a in arms if a not in data.arms]
        if unknown:
            raise DataError(f"arms: unknown arm(s) {unknown}; the table has {list(data.arms)}")
        frame = frame[frame["arm"].isin(list(arms))]
    zero = frame["value"].to_numpy() <= 0
    if zero.any():
        first = frame.loc[zero].iloc[0]
        raise DataError(
            f"observable {obs!r}: {int(zero.sum())} value(s) are 0 (first: subject {first['subject']!r} "
            f"at day {first['time']:g}); growth rates use log(V/V0), so read the data with "
            "lloq=<detection limit> to keep them as left-censored values"
        )
    rows: list[dict[str, object]] = []
    single: list[str] = []
    n_cens = 0
    for subject, sub in frame.groupby("subject", sort=False):
        t = sub["time"].to_numpy()
        v = sub["value"].to_numpy()
        if t.size < 2:
            single.append(str(subject))
            continue
        tau = t - t[0]
        y = np.log(v) - np.log(v[0])
        cens = int(sub["censored"].sum())
        n_cens += cens
        rows.append(
            {
                "subject": subject,
                "arm": sub["arm"].iat[0],
                "t0": float(t[0]),
                "v0": float(v[0]),
                "t_last": float(t[-1]),
                "n_points": int(t.size),
                "n_censored": cens,
                "rate": _rate(tau, y, method),
            }
        )
    if single:
        warnings.warn(
            f"subject(s) {single} have a single measurement of {obs!r}; no growth rate, left out",
            BonemetWarning,
            stacklevel=2,
        )
    if n_cens:
        warnings.warn(
            f"{n_cens} left-censored value(s) of {obs!r} are used at their limit of quantification; "
            "growth rates of those subjects are biased towards zero",
            BonemetWarning,
            stacklevel=2,
        )
    columns = ["subject", "arm", "t0", "v0", "t_last", "n_points", "n_censored", "rate"]
    return pd.DataFrame(rows, columns=columns)


def bootstrap_arm_means(
    rates: dict[str, np.ndarray], n_boot: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Nonparametric bootstrap of arm means, resampling subjects within arm.

    Parameters
    ----------
    rates
        Per-subject rates (1/day) for each arm.
    n_boot
        Number of bootstrap replicates.
    rng
        Random generator; arms are resampled in the order of ``rates``.

    Returns
    -------
    dict of str to numpy.ndarray
        For each arm, ``n_boot`` replicate means (1/day).
    """
    out: dict[str, np.ndarray] = {}
    for arm, values in rates.items():
        values = np.asarray(values, dtype=float)
        idx = rng.integers(0, values.size, size=(n_boot, values.size))
        out[arm] = values[idx].mean(axis=1)
    return out

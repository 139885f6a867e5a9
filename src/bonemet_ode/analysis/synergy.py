"""In-vivo drug-combination synergy from tumour growth rates.

The analysis follows the statistics of invivoSyn (Mao et al.) and SynergyLMM
(Romero et al.), implemented from their definitions:

1. Each subject's exponential growth rate :math:`r_i` (1/day) is estimated
   from :math:`\\log(V/V_0) = r\\,(t - t_0)` (see
   :mod:`bonemet_ode.analysis.growth`; least squares through the origin by
   default).
2. Arm rates are the means over subjects, :math:`r_C, r_A, r_B, r_{AB}` for
   control, drug A, drug B and the combination.
3. Under exponential growth the volume of arm *g* relative to control after
   :math:`\\tau` days of treatment is the fraction of control
   :math:`f_g(\\tau) = \\exp\\bigl((r_g - r_C)\\,\\tau\\bigr)`.
4. Scores compare an expected combination effect with the observed one; a
   **positive score means synergy** (the combination is better than
   expected), a negative one antagonism.
5. Confidence intervals are nonparametric percentile bootstrap intervals,
   resampling subjects with replacement within each arm.  A score is called
   ``"synergy"`` when its whole CI lies above 0, ``"antagonism"`` when it
   lies below 0, and ``"additivity"`` otherwise.

See :func:`synergy` for the formulas of each metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from bonemet_ode.analysis._synergy_result import VERDICTS, SynergyResult, verdict_of
from bonemet_ode.analysis.growth import (
    RATE_METHODS,
    bootstrap_arm_means,
    resolve_observable,
    subject_growth_rates,
)
from bonemet_ode.errors import DataError

from ..data import DataTable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["METRICS", "VERDICTS", "SynergyResult", "synergy", "expected_fraction"]

#: Accepted values of ``metric``.
METRICS: tuple[str, ...] = ("bliss", "hsa", "ra")

_MIN_BOOT = 100


def expected_fraction(metric: str, *fractions: np.ndarray) -> np.ndarray:
    """Expected combination volume as a fraction of control, for any number of single agents.

    Parameters
    ----------
    metric
        ``"bliss"``: :math:`\\prod_i f_i`; ``"hsa"``: :math:`\\min_i f_i`;
        ``"ra"``: :math:`1 - \\sum_i (1 - f_i)` (responses :math:`1-f` add).
    *fractions
        Fractions of control volume (dimensionless) of the single agents, two
        or more.

    Returns
    -------
    numpy.ndarray
        Expected fraction of control volume of the combination.

    Examples
    --------
    >>> float(expected_fraction("bliss", 0.5, 0.5, 0.8))
    0.2
    >>> float(expected_fraction("hsa", 0.5, 0.4)), round(float(expected_fraction("ra", 0.9, 0.8)), 12)
    (0.4, 0.7)
    """
    if len(fractions) < 2:
        raise DataError(f"expected_fraction: needs two or more single agents, got {len(fractions)}")
    arrays = [np.asarray(f, dtype=float) for f in fractions]
    if metric == "bliss":
        return np.prod(np.broadcast_arrays(*arrays), axis=0)
    if metric == "hsa":
        return np.min(np.broadcast_arrays(*arrays), axis=0)
    if metric == "ra":
        return 1.0 - np.sum([1.0 - f for f in np.broadcast_arrays(*arrays)], axis=0)
    raise DataError(f"metric: expected one of {list(METRICS)}, got {metric!r}")


def _check_args(
    data: DataTable,
    arms: dict[str, str],
    metric: str,
    n_boot: int,
    ci_level: float,
    rate_method: str,
) -> str:
    if not isinstance(data, DataTable):
        raise DataError("data: expected a DataTable (see bonemet_ode.data.readers.read_long), "
                        f"got {type(data).__name__}")
    for role, name in arms.items():
        if not isinstance(name, str):
            raise DataError(f"{role}: expected an arm name (str), got {name!r}")
        if name not in data.arms:
            raise DataError(f"{role}: unknown arm {name!r}; the table has arms {list(data.arms)}")
    if len(set(arms.values())) != len(arms):
        raise DataError(f"control, the single agents and the combination must be different arms, got {arms}")
    if not isinstance(metric, str) or metric.lower() not in METRICS:
        raise DataError(f"metric: expected one of {list(METRICS)}, got {metric!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < _MIN_BOOT:
        raise DataError(f"n_boot: expected an integer >= {_MIN_BOOT}, got {n_boot!r}")
    if isinstance(ci_level, bool) or not isinstance(ci_level, (int, float)) or not 0.5 <= ci_level < 1:
        raise DataError(f"ci_level: expected a probability in [0.5, 1), got {ci_level!r}")
    if rate_method not in RATE_METHODS:
        raise DataError(f"rate_method: expected one of {list(RATE_METHODS)}, got {rate_method!r}")
    return metric.lower()


def _make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise DataError(f"seed: expected a non-negative integer, a numpy Generator or None, got {seed!r}")


def _default_times(rates: pd.DataFrame, data: DataTable, observable: str, arms: Sequence[str]) -> np.ndarray:
    """Days since baseline that were measured in every one of the arms."""
    frame = data.frame
    frame = frame[(frame["observable"] == observable) & frame["subject"].isin(rates["subject"])]
    t0 = rates.set_index("subject")["t0"]
    tau = np.round(frame["time"].to_numpy() - t0.loc[frame["subject"]].to_numpy(), 9)
    per_arm = [set(tau[(frame["arm"] == arm).to_numpy()]) for arm in arms]
    common = sorted(t for t in set.intersection(*per_arm) if t > 0)
    if not common:
        raise DataError(
            f"times: no day since baseline is measured in all {len(arms)} arms; pass times= explicitly"
        )
    return np.asarray(common, dtype=float)


def _check_times(times: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        arr = np.asarray(times, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise DataError(f"times: expected a sequence of days since baseline, got {times!r}") from exc
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise DataError(f"times: expected positive finite days since baseline, got {list(arr)}")
    return np.unique(arr)


def _interval(samples: np.ndarray, ci_level: float) -> tuple[float, float]:
    alpha = 1.0 - ci_level
    lo, hi = np.quantile(samples, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def synergy(
    data: DataTable,
    *,
    control: str,
    drug_a: str | None = None,
    drug_b: str | None = None,
    combination: str,
    drugs: Sequence[str] | None = None,
    metric: str = "bliss",
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    times: Sequence[float] | np.ndarray | None = None,
    ci_level: float = 0.95,
    rate_method: str = "ols",
    observable: str | None = None,
) -> SynergyResult:
    """Assess a combination of two or more drugs in vivo from tumour growth rates.

    Parameters
    ----------
    data
        Tumour measurements (any positive volume unit), time in days.
    control, combination
        Arm names of the vehicle and of the combination.
    drug_a, drug_b
        Arm names of the two single agents of a two-drug combination.
    drugs
        Instead of ``drug_a``/``drug_b``: the arm names of every single agent
        (two or more), e.g. the three of a triple combination.
    metric
        ``"bliss"`` (Bliss independence), ``"hsa"`` (highest single agent) or
        ``"ra"`` (response additivity); see Notes.
    n_boot
        Bootstrap replicates (>= 100).
    seed
        Seed of the :class:`numpy.random.Generator` (or a Generator) used for
        the bootstrap; the same seed gives the same result.
    times
        Days since each subject's baseline at which to score; None uses the
        days measured in all the arms.
    ci_level
        Two-sided confidence level of the percentile bootstrap intervals.
    rate_method
        Growth-rate estimator, ``"ols"`` (default) or ``"auc"``; see
        :mod:`bonemet_ode.analysis.growth`.
    observable
        Observable to analyse; None when ``data`` has only one.

    Returns
    -------
    SynergyResult
        ``.table`` with one row per time and one ``"overall"`` row,
        ``.growth_rates`` per arm, ``.verdict`` (the overall call).

    Examples
    --------
    Bliss synergy of rabusertib + irinotecan on the bundled invivoSyn SW837
    xenograft data (volumes in mm³); the per-day scores are in % of control
    volume, the overall score in 1/day:

    >>> import bonemet_ode as bm
    >>> from bonemet_ode.data.datasets import load_invivosyn
    >>> result = bm.synergy(load_invivosyn("SW837"), control="Vehicle", drug_a="Rabusertib",
    ...                     drug_b="Irinotecan", combination="Irinotecan + Rabusertib",
    ...                     metric="bliss", n_boot=200, seed=0)
    >>> round(float(result.growth_rates.loc[result.growth_rates["role"] == "control", "rate"].iloc[0]), 4)
    0.0589
    >>> result.verdict
    'additivity'

    Raises
    ------
    DataError
        On an unknown or repeated arm, an unknown metric or estimator,
        ``n_boot < 100``, a bad ``ci_level`` or ``times``, fewer than two
        subjects with a rate in an arm, or zero volumes (read with ``lloq``).

    Notes
    -----
    With arm-mean growth rates :math:`r_g` (1/day) and the fraction of control
    :math:`f_g(\\tau) = e^{(r_g - r_C)\\tau}` after :math:`\\tau` days:

    *Per time point* (``scope == "time"``, unit: percentage points of the
    control volume).  Expected combination fraction :math:`E(\\tau)`:

    * Bliss: :math:`E = f_A f_B` (independent actions multiply survivals);
    * HSA: :math:`E = \\min(f_A, f_B)`;
    * RA: :math:`E = f_A + f_B - 1` (responses :math:`1 - f` add).

    ``score`` :math:`= 100\\,(E - f_{AB})`; ``expected`` :math:`=100E`,
    ``observed`` :math:`=100 f_{AB}`.

    *Overall* (``scope == "overall"``):

    * Bliss on the growth-rate scale: expected :math:`r_{AB} = r_A + r_B -
      r_C`, score :math:`= (r_A + r_B - r_C) - r_{AB}` (1/day).  Because
      :math:`\\log f` is linear in :math:`r`, this has the sign of every
      per-time Bliss score.
    * HSA: score :math:`= \\min(r_A, r_B) - r_{AB}` (1/day).
    * RA has no time-invariant rate form; the overall score is the mean of
      the per-time scores (percentage points).

    A positive score means synergy.  Each bootstrap replicate resamples the
    subjects of every arm with replacement, recomputes the arm means and all
    scores; the CI is the percentile interval at ``ci_level`` and
    ``p_synergy`` / ``p_antagonism`` are the fractions of replicate scores
    ``<= 0`` / ``>= 0`` (one-sided bootstrap p-values, as reported by
    invivoSyn).  A call of synergy at ``ci_level=0.95`` therefore corresponds
    to a one-sided bootstrap test at 2.5%.
    """
    import pandas as pd
    singles = _single_agents(drug_a, drug_b, drugs)
    roles = {"control": control, **{f"drug_{_letter(i)}": d for i, d in enumerate(singles)},
             "combination": combination}
    metric = _check_args(data, roles, metric, n_boot, ci_level, rate_method)
    rng = _make_rng(seed)
    obs = resolve_observable(data, observable)
    arm_names = list(roles.values())
    subj = subject_growth_rates(data, observable=obs, method=rate_method, arms=arm_names)
    rates: dict[str, np.ndarray] = {}
    for role, arm in roles.items():
        values = subj.loc[subj["arm"] == arm, "rate"].to_numpy()
        if values.size < 2:
            raise DataError(
                f"{role}: arm {arm!r} has {values.size} subject(s) with a growth rate; "
                "at least 2 are needed for a bootstrap"
            )
        rates[arm] = values
    tau = _default_times(subj, data, obs, arm_names) if times is None else _check_times(times)

    point = {arm: np.array([v.mean()]) for arm, v in rates.items()}
    boot = bootstrap_arm_means(rates, n_boot, rng)
    rows = _score_rows(metric, point, boot, roles, tau, ci_level)
    table = pd.DataFrame(rows)
    growth = _arm_table(rates, boot, roles, ci_level)
    overall = table.loc[table["scope"] == "overall"].iloc[0]
    return SynergyResult(
        metric=metric,
        control=control,
        drug_a=singles[0],
        drug_b=singles[1],
        combination=combination,
        drugs=tuple(singles),
        table=table,
        growth_rates=growth,
        subject_rates=subj,
        verdict=str(overall["verdict"]),
        ci_level=float(ci_level),
        n_boot=int(n_boot),
        seed=int(seed) if isinstance(seed, (int, np.integer)) else None,
        rate_method=rate_method,
        observable=obs,
        data=data.subset(arm=arm_names, observable=obs),
    )


def _letter(i: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[i] if i < 26 else str(i + 1)


def _single_agents(drug_a: str | None, drug_b: str | None, drugs: Sequence[str] | None) -> list[str]:
    """The single-agent arms from ``drug_a``/``drug_b`` or ``drugs`` (not both)."""
    if drugs is not None:
        if drug_a is not None or drug_b is not None:
            raise DataError("drugs: give either drugs=[...] or drug_a= and drug_b=, not both")
        if isinstance(drugs, str):
            raise DataError(f"drugs: expected a list of two or more single-agent arm names, got the string {drugs!r}")
        items = list(drugs)
        if len(items) < 2:
            raise DataError(f"drugs: expected two or more single-agent arms, got {items!r}")
        return items
    if drug_a is None or drug_b is None:
        raise DataError("drug_a, drug_b: both single-agent arms are needed (or pass drugs=[...])")
    return [drug_a, drug_b]


def _scores(
    metric: str, r: dict[str, np.ndarray], roles: dict[str, str], tau: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-time expected/observed (% of control) and overall expected/observed/score.

    Arrays have shape ``(n_replicates, n_times)`` for per-time values and
    ``(n_replicates,)`` for overall values.
    """
    rc, rab = r[roles["control"]][:, None], r[roles["combination"]][:, None]
    singles = [r[arm][:, None] for role, arm in roles.items() if role not in ("control", "combination")]
    fractions = [np.exp((ri - rc) * tau) for ri in singles]
    f_ab = np.exp((rab - rc) * tau)
    expected = 100.0 * expected_fraction(metric, *fractions)
    observed = 100.0 * f_ab
    if metric == "bliss":  # log f is linear in r: sum of single-agent effects on the rate
        e_all = (sum(singles) - (len(singles) - 1) * rc)[:, 0]
        o_all = rab[:, 0]
    elif metric == "hsa":
        e_all = np.min(np.stack(singles), axis=0)[:, 0]
        o_all = rab[:, 0]
    else:
        e_all = expected.mean(axis=1)
        o_all = observed.mean(axis=1)
    return expected, observed, expected - observed, e_all, o_all, e_all - o_all


def _score_rows(
    metric: str,
    point: dict[str, np.ndarray],
    boot: dict[str, np.ndarray],
    roles: dict[str, str],
    tau: np.ndarray,
    ci_level: float,
) -> list[dict[str, object]]:
    e_t, o_t, s_t, e_o, o_o, s_o = _scores(metric, point, roles, tau)
    _, _, bs_t, _, _, bs_o = _scores(metric, boot, roles, tau)
    rows: list[dict[str, object]] = []
    unit_t = "% of control"
    unit_o = "1/day" if metric in ("bliss", "hsa") else unit_t
    for j, t in enumerate(tau):
        rows.append(_row("time", float(t), metric, unit_t, e_t[0, j], o_t[0, j], s_t[0, j], bs_t[:, j], ci_level))
    rows.append(_row("overall", np.nan, metric, unit_o, e_o[0], o_o[0], s_o[0], bs_o, ci_level))
    return rows


def _row(
    scope: str, time: float, metric: str, unit: str, expected: float, observed: float,
    score: float, samples: np.ndarray, ci_level: float,
) -> dict[str, object]:
    lo, hi = _interval(samples, ci_level)
    return {
        "scope": scope,
        "time": time,
        "metric": metric,
        "unit": unit,
        "expected": float(expected),
        "observed": float(observed),
        "score": float(score),
        "ci_low": lo,
        "ci_high": hi,
        "p_synergy": float(np.mean(samples <= 0)),
        "p_antagonism": float(np.mean(samples >= 0)),
        "verdict": verdict_of(lo, hi),
    }


def _arm_table(
    rates: dict[str, np.ndarray], boot: dict[str, np.ndarray], roles: dict[str, str], ci_level: float
) -> pd.DataFrame:
    import pandas as pd
    rows = []
    for role, arm in roles.items():
        values = rates[arm]
        lo, hi = _interval(boot[arm], ci_level)
        sd = float(values.std(ddof=1))
        rows.append(
            {
                "arm": arm,
                "role": role,
                "n_subjects": int(values.size),
                "rate": float(values.mean()),
                "sd": sd,
                "se": sd / np.sqrt(values.size),
                "ci_low": lo,
                "ci_high": hi,
                "unit": "1/day",
            }
        )
    return pd.DataFrame(rows)

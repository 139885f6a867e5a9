"""Test oracle: O1–O21 of biology.md §3 read from plain simulations of the scenario arms.

This is a direct, language-free reading of the outcome catalogue: an
independent check of :mod:`bonemet_ode.models.bone_metastasis.catalogue` (which expresses
the same rows in the outcome language) and a quick table for tuning.  Run
``python -c "from bm_outcome_oracle import outcome_table; print(outcome_table())"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bonemet_ode.model import Model
from bonemet_ode.models.bone_metastasis.arms import scenario_arms
from bonemet_ode.models.bone_metastasis.cohort import COHORT_SEED, cohort_variability
from bonemet_ode.models.bone_metastasis.model import bone_metastasis
from bonemet_ode.simulate.cohort import draw_cohort, simulate_cohort
from bonemet_ode.simulate.simulator import simulate

__all__ = ["OutcomeValue", "outcome_values", "outcome_table", "bliss_excess", "DETECTION_THRESHOLD",
           "ELIMINATION_LEVEL"]

#: Detectable lesion size (cells), for O4.
DETECTION_THRESHOLD = 1e6
#: A lesion below this many cells counts as eliminated (O16).
ELIMINATION_LEVEL = 1.0


@dataclass(frozen=True)
class OutcomeValue:
    """One row's reading: the number compared, the default threshold, the margin, and whether it holds.

    ``margin`` is positive when the row holds: ``log(value/threshold)`` (or
    its negative) for ratio rows, ``value - threshold`` (or its negative)
    for differences and fractions.
    """

    id: str
    source: str
    quantity: str
    value: float
    threshold: str
    margin: float
    satisfied: bool


def bliss_excess(f_a: float, f_b: float, f_ab: float) -> float:
    """Bliss excess ``f_a*f_b - f_ab`` of fractional tumour burdens (positive: synergy)."""
    return f_a * f_b - f_ab


def _first_crossing(times: np.ndarray, values: np.ndarray, level: float) -> float:
    above = np.flatnonzero(values >= level)
    return float(times[above[0]]) if above.size else float("inf")


def _cohort_fraction_eliminated(model: Model, arm, table, day: float) -> tuple[float, np.ndarray]:
    res = simulate_cohort(model, table, arm, times=np.arange(0.0, day + 1.0), n_jobs=1)
    tum = res.at(day, "tumor")
    return float(np.mean(tum[res.ok] < ELIMINATION_LEVEL)), res


def outcome_values(params: Mapping[str, float] | None = None, *, model: Model | None = None,
                   cohort_size: int = 200, seed: int = COHORT_SEED) -> list[OutcomeValue]:
    """Read O1–O21 with the default thresholds of biology.md §3.

    Parameters
    ----------
    params : mapping, optional
        Parameter overrides.
    model : Model, optional
        Default: :func:`bone_metastasis`.
    cohort_size : int
        Members of the virtual cohorts of O16 and O18.
    seed : int
        Cohort seed.

    Returns
    -------
    list of OutcomeValue
        One or more rows per outcome (compound outcomes give one row per part).
    """
    from scipy.stats import spearmanr

    model = (model or bone_metastasis()).with_parameters(dict(params or {}))
    arms = scenario_arms()
    times = np.arange(0.0, 43.0)
    sims = {name: simulate(model, arm, times=times) for name, arm in arms.items()}

    def at(arm: str, name: str, day: float = 28.0) -> float:
        return sims[arm].at(day, name)

    def ratio(arm: str, name: str, ref: str = "control", day: float = 28.0) -> float:
        return at(arm, name, day) / at(ref, name, day)

    rows: list[OutcomeValue] = []

    def row(oid: str, src: str, what: str, value: float, op: str, thr: float, log: bool = True) -> None:
        value = float(value)
        if log:
            diff = np.log(max(value, 1e-300)) - np.log(thr)
        else:
            diff = value - thr
        margin = float(diff if op in (">", ">=") else -diff)
        ok = margin > 0 if op in (">", "<") else margin >= 0
        rows.append(OutcomeValue(oid, src, what, value, f"{op} {thr:g}", margin, bool(ok)))

    v = at("control", "macrophages") / at("control", "cd8")
    row("O1", "ER", "ctrl d28 macrophages/CD8", v, ">=", 5)
    v = at("control", "er_fraction") / at("control", "er_fraction", 7.0)
    row("O2", "ER", "ctrl ERα+ fraction d28/d7", v, ">", 1)
    ev = sims["EV-FA-KO"]["er_fraction"]
    v = float(ev.max() / ev[0])
    row("O2", "ER", "EV-FA-KO max ERα+ fraction / baseline", v, "<=", 1.1)
    v = ratio("ERa-KO", "cd8")
    row("O3", "ER", "ERα-KO/ctrl CD8 d28", v, ">=", 2)
    v = ratio("ERa-KO", "tumor")
    row("O4", "ER", "ERα-KO/ctrl tumour d28", v, "<=", 0.5)
    t_ko = _first_crossing(times, sims["ERa-KO"]["tumor"], DETECTION_THRESHOLD)
    t_c = _first_crossing(times, sims["control"]["tumor"], DETECTION_THRESHOLD)
    row("O4", "ER", "detection day ERα-KO − ctrl (days)", min(t_ko - t_c, 99.0), ">", 0, log=False)
    v = ratio("ERa-KO", "dissemination")
    row("O5", "ER", "ERα-KO/ctrl dissemination to d28", v, "<", 0.7)
    v = at("tumour-free ERa-KO", "bone_mass") / at("tumour-free", "bone_mass") - 1.0
    row("O6", "ER", "|tumour-free KO/WT bone mass − 1|", abs(v), "<=", 0.05, log=False)
    v = ratio("fulvestrant", "cd8")
    row("O7", "ER", "fulvestrant/ctrl CD8 d28", v, ">=", 2)
    f_f = ratio("fulvestrant", "tumor")
    row("O8", "ER", "fulvestrant/ctrl tumour d28", f_f, "<=", 0.6)
    v = ratio("CD8-depleted + fulvestrant", "tumor", "CD8-depleted")
    row("O8", "ER", "CD8-depleted: fulvestrant/ctrl tumour d28", v, ">=", 0.85)
    f_p = ratio("anti-PD-1", "tumor")
    v = bliss_excess(f_f, f_p, ratio("fulvestrant + anti-PD-1", "tumor"))
    row("O9", "ER", "Bliss excess fulvestrant + anti-PD-1 d28", v, "<=", 0.05, log=False)
    v = at("control", "dkk1_serum") / at("control", "dkk1_serum", 7.0)
    row("O10", "DKK1", "ctrl serum DKK1 d28/d7", v, ">", 2)
    imm = sims["control"]["immature_fraction"]
    v = at("control", "immature_fraction")
    row("O11", "DKK1", "ctrl immature fraction d28", v, ">=", 0.5)
    row("O11", "DKK1", "ctrl immature fraction d28/d0", v / imm[0], ">", 1)
    row("O12", "DKK1", "anti-PD-1/ctrl tumour d28", f_p, ">=", 0.7)
    v = ratio("anti-DKK1", "immature_fraction")
    row("O13", "DKK1", "anti-DKK1/ctrl immature fraction d28", v, "<=", 0.5)
    v = ratio("anti-DKK1", "chi3l3")
    row("O13", "DKK1", "anti-DKK1/ctrl CHI3L3 d28", v, "<=", 0.5)
    f_d = ratio("anti-DKK1", "tumor")
    row("O14", "DKK1", "anti-DKK1/ctrl tumour d28", f_d, "<=", 0.6)
    f_dp = ratio("anti-DKK1 + anti-PD-1", "tumor")
    row("O15", "DKK1", "combo/min(mono) tumour d28", f_dp / min(f_d, f_p), "<", 1)
    v = bliss_excess(f_d, f_p, f_dp)
    row("O15", "DKK1", "Bliss excess anti-DKK1 + anti-PD-1 d28", v, ">=", 0.15, log=False)

    table = draw_cohort(model, cohort_size, cohort_variability(), seed)
    frac = {}
    for name in ("anti-DKK1 + anti-PD-1", "control", "anti-PD-1"):
        frac[name], res = _cohort_fraction_eliminated(model, arms[name], table, 42.0)
        if name == "control":
            ctrl_cohort = res
    v = frac["anti-DKK1 + anti-PD-1"]
    row("O16", "DKK1", "combo cohort fraction eliminated by d42", v, ">=", 0.1, log=False)
    row("O16", "DKK1", "combo cohort fraction eliminated by d42", v, "<=", 0.7, log=False)
    v = max(frac["control"], frac["anti-PD-1"])
    row("O16", "DKK1", "ctrl/anti-PD-1 cohort fraction eliminated by d42 (max)", v, "<=", 0.02, log=False)
    v = ratio("Notch-KO", "tams")
    row("O17", "TAM", "Notch-KO/ctrl TAMs d28", v, "<=", 0.5)
    v = ratio("Notch-KO", "cd8")
    row("O17", "TAM", "Notch-KO/ctrl CD8 d28", v, ">=", 1.5)
    v = ratio("Notch-KO", "tumor")
    row("O17", "TAM", "Notch-KO/ctrl tumour d28", v, "<=", 0.6)
    ok = ctrl_cohort.ok
    rho = float(spearmanr(ctrl_cohort.at(28.0, "tams")[ok], ctrl_cohort.at(28.0, "tumor")[ok])[0])
    row("O18", "TAM", "ctrl cohort Spearman(TAMs, tumour) d28", rho, ">=", 0.5, log=False)
    v = ratio("SRS-high", "tumor", "SRS-low")
    row("O19", "SRS", "SRS-high/SRS-low bone tumour d28", v, ">=", 2)
    v = ratio("SRS-high", "primary_tumor", "SRS-low") - 1.0
    row("O19", "SRS", "|SRS-high/SRS-low primary tumour d28 − 1|", abs(v), "<=", 0.1, log=False)
    v = ratio("Src inhibitor d0", "tumor")
    row("O20", "SRS", "Src inhibitor d0/ctrl tumour d28", v, "<=", 0.5)
    v = ratio("Src inhibitor d14", "tumor")
    row("O20", "SRS", "Src inhibitor d14/ctrl tumour d28", v, ">=", 0.8)
    hi, lo = at("stroma-high", "lesion_probability"), at("stroma-low", "lesion_probability")
    row("O21", "SRS", "P(lesion by d28) stroma-high − stroma-low", hi - lo, ">", 0, log=False)
    return rows


def outcome_table(params: Mapping[str, float] | None = None, **kw: object) -> pandas.DataFrame:  # noqa: F821
    """:func:`outcome_values` as a pandas DataFrame (one row per reading)."""
    from dataclasses import asdict

    import pandas as pd

    return pd.DataFrame([asdict(r) for r in outcome_values(params, **kw)])

"""The outcome catalogue O1–O21 of ``shared/spec/biology.md`` §3 in the outcome language (and P1–P6).

The plausibility statements of §4 (:mod:`.plausibility`) are part of the
default catalogue (``default_catalogue(include_plausibility=True)``), so
every calibration and ``bonemet-ode outcomes`` enforce them too.

Each row is written in the text syntax (``docs/outcome_language.md``) with
the default thresholds of biology.md and its source id; the arm names are
those of :func:`bonemet_ode.models.bone_metastasis.arms.scenario_arms`.
Thresholds are defaults: :func:`default_catalogue` takes overrides, or edit
the text of :func:`catalogue_text` and parse it with
:func:`~bonemet_ode.outcomes.parse_catalogue`.

Examples
--------
>>> from bonemet_ode.models.bone_metastasis.catalogue import default_catalogue
>>> [o.id for o in default_catalogue()][:3]
['O1', 'O2', 'O3']
>>> ctx = catalogue_context()                       # doctest: +SKIP
>>> print(ctx.evaluate().report())                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...outcomes.cohort import distribution_text
from ...outcomes.statements import Outcome
from .cohort import COHORT_SEED, cohort_variability

__all__ = ["DEFAULT_THRESHOLDS", "catalogue_text", "default_catalogue", "context_options", "free_parameters",
           "catalogue_context", "ensemble_prior", "DETECTION_THRESHOLD", "ELIMINATION_LEVEL", "COHORT_RTOL",
           "ARM_RTOL", "P4_COHORT_RTOL"]

#: Lesion size (cells) taken as detectable for O4.
DETECTION_THRESHOLD = 1e6
#: A lesion below this many cells counts as eliminated (O16).
ELIMINATION_LEVEL = 1.0

#: Default thresholds of biology.md §3, by name (override any with :func:`default_catalogue`).
DEFAULT_THRESHOLDS: dict[str, float] = {
    "O1_ratio": 5.0, "O2_baseline": 1.1, "O3_cd8": 2.0, "O4_tumor": 0.5, "O5_spread": 0.7, "O6_bone": 0.05,
    "O7_cd8": 2.0, "O8_tumor": 0.6, "O8_depleted": 0.85, "O9_bliss": 0.05, "O10_dkk1": 2.0, "O11_immature": 0.5,
    "O12_tumor": 0.7, "O13_immature": 0.5, "O13_chi3l3": 0.5, "O14_tumor": 0.6, "O15_bliss": 0.15,
    "O16_low": 0.1, "O16_high": 0.7, "O16_ctrl": 0.02, "O17_tams": 0.5, "O17_cd8": 1.5, "O17_tumor": 0.6,
    "O18_rho": 0.5, "O19_bone": 2.0, "O19_primary": 0.1, "O20_early": 0.5, "O20_late": 0.8,
    "cohort_n": 200, "elimination": 1.0,
}


def _cohort(arm: str, n: int, seed: int, variability: Mapping[str, Any] | None = None) -> str:
    var = ", ".join(f"{name}~{distribution_text(d)}"
                    for name, d in (cohort_variability() if variability is None else variability).items())
    quoted = arm if all(c.isalnum() or c in "-_" for c in arm) else f"'{arm}'"
    return f"cohort[{quoted}, n={n}, seed={seed}, {var}]"


#: Relative tolerance of the virtual cohorts' solves (O16, O18; P4: :data:`P4_COHORT_RTOL`; the arms:
#: :data:`ARM_RTOL`).
#: The cohort clauses read fractions of 200 (30) members below one cell and a rank correlation,
#: which a looser tolerance leaves unchanged unless a member sits at the threshold: on the 1000
#: members of the shipped ensemble, every verdict is the same as at 1e-6 (see docs/performance.md,
#: "Outcome evaluation"), and the cohorts take about half the steps.
COHORT_RTOL = 1e-4

#: Relative tolerance of the P4 cohort's solves (30 mice of the anti-DKK1 + anti-PD-1 arm to day 365,
#: 223 doses each), instead of :data:`COHORT_RTOL`.  P4 compares the fraction of mice below one cell
#: at day 365 with the fraction below one cell at some day from 42 on; on the shipped default and the 1000
#: members of the shipped ensemble its verdict and margin are the same as at 1e-6
#: (``benchmarks/cohort_tolerance.py --outcomes P4``; docs/performance.md, "Outcome evaluation").
P4_COHORT_RTOL = 1e-3

#: Relative tolerance of the scenario arms' solves (every statement but O16, O18, P4), instead of the
#: solver's default 1e-6.  Most of an arm's steps follow its doses (antibody boluses every few days,
#: daily inhibitors), and the clauses compare ratios, fold changes and fractions of arms with
#: thresholds far from where those move at this tolerance: on the shipped default and the 1000
#: members of the shipped ensemble, every verdict is the same as at 1e-6 and no margin moves by
#: 1e-3 or more (``benchmarks/arm_tolerance.py``; docs/performance.md, "Outcome evaluation").
ARM_RTOL = 1e-4


def catalogue_text(thresholds: Mapping[str, float] | None = None, seed: int = COHORT_SEED,
                   variability: Mapping[str, Any] | None = None) -> list[str]:
    """The 21 outcomes as text lines (``id (source): statement # description``).

    Parameters
    ----------
    thresholds : mapping, optional
        Overrides of :data:`DEFAULT_THRESHOLDS`.
    seed : int
        Seed of the virtual cohorts (O16, O18).
    variability : mapping of str to Distribution, optional
        Inter-mouse variability of those cohorts, written into their text (default
        :func:`~bonemet_ode.models.bone_metastasis.cohort.cohort_variability`).

    Returns
    -------
    list of str
        One line per outcome, parseable by :func:`~bonemet_ode.outcomes.parse`.
    """
    t = dict(DEFAULT_THRESHOLDS)
    t.update(thresholds or {})
    n = int(t["cohort_n"])
    combo, ctrl, pd1 = (_cohort(a, n, seed, variability) for a in ("anti-DKK1 + anti-PD-1", "control", "anti-PD-1"))
    elim = f"tumor@42 < {t['elimination']:g}"
    lo, hi = 1.0 - t["O6_bone"], 1.0 + t["O6_bone"]
    plo, phi = 1.0 - t["O19_primary"], 1.0 + t["O19_primary"]
    det = f"{DETECTION_THRESHOLD:g}"
    return [
        f"O1 (ER): macrophages@28[control] / cd8@28[control] >= {t['O1_ratio']:g}"
        " # untreated bone niche is macrophage-rich, T-cell-poor",
        f"O2 (ER): er_fraction@28[control] > er_fraction@7[control]"
        f" and er_fraction@7[EV-FA-KO] <= {t['O2_baseline']:g} * er_fraction@0[EV-FA-KO]"
        f" and er_fraction@28[EV-FA-KO] <= {t['O2_baseline']:g} * er_fraction@0[EV-FA-KO]"
        " # ERα activation is tumour-driven",
        f"O3 (ER): cd8@28[ERa-KO] >= {t['O3_cd8']:g} * cd8@28[control] # ERα+ macrophages exclude CD8 T cells",
        f"O4 (ER): tumor@28[ERa-KO] <= {t['O4_tumor']:g} * tumor@28[control]"
        f" and time_to(tumor >= {det}, until=42)[ERa-KO] > time_to(tumor >= {det}, until=42)[control]"
        " # ERα KO slows colonisation and growth",
        f"O5 (ER): dissemination@28[ERa-KO] < {t['O5_spread']:g} * dissemination@28[control]"
        " # ERα KO reduces spread from bone",
        f"O6 (ER): bone_mass@28['tumour-free ERa-KO'] / bone_mass@28[tumour-free] between {lo:g} and {hi:g}"
        " # ERα KO spares bone",
        f"O7 (ER): cd8@28[fulvestrant] >= {t['O7_cd8']:g} * cd8@28[control] # fulvestrant restores T-cell infiltration",
        f"O8 (ER): tumor@28[fulvestrant] <= {t['O8_tumor']:g} * tumor@28[control]"
        f" and tumor@28['CD8-depleted + fulvestrant'] >= {t['O8_depleted']:g} * tumor@28[CD8-depleted]"
        " # fulvestrant works through T cells",
        f"O9 (ER): bliss(tumor@28; control, fulvestrant, anti-PD-1, 'fulvestrant + anti-PD-1') <= {t['O9_bliss']:g}"
        " # fulvestrant + anti-PD-1: no synergy",
        f"O10 (DKK1): dkk1_serum@28[control] > {t['O10_dkk1']:g} * dkk1_serum@7[control] # DKK1 rises with burden",
        f"O11 (DKK1): immature_fraction@28[control] >= {t['O11_immature']:g}"
        " and immature_fraction@28[control] > immature_fraction@0[control] # neutrophils turn immature",
        f"O12 (DKK1): tumor@28[anti-PD-1] >= {t['O12_tumor']:g} * tumor@28[control]"
        " # bone metastases resist anti-PD-1",
        f"O13 (DKK1): immature_fraction@28[anti-DKK1] <= {t['O13_immature']:g} * immature_fraction@28[control]"
        f" and chi3l3@28[anti-DKK1] <= {t['O13_chi3l3']:g} * chi3l3@28[control] # anti-DKK1 matures neutrophils",
        f"O14 (DKK1): tumor@28[anti-DKK1] <= {t['O14_tumor']:g} * tumor@28[control] # anti-DKK1 shrinks bone tumours",
        "O15 (DKK1): tumor@28['anti-DKK1 + anti-PD-1'] < tumor@28[anti-DKK1]"
        " and tumor@28['anti-DKK1 + anti-PD-1'] < tumor@28[anti-PD-1]"
        f" and bliss(tumor@28; control, anti-DKK1, anti-PD-1, 'anti-DKK1 + anti-PD-1') >= {t['O15_bliss']:g}"
        " # anti-DKK1 + anti-PD-1 is synergistic",
        f"O16 (DKK1): fraction({combo}: {elim}) between {t['O16_low']:g} and {t['O16_high']:g}"
        f" and fraction({ctrl}: {elim}) <= {t['O16_ctrl']:g}"
        f" and fraction({pd1}: {elim}) <= {t['O16_ctrl']:g}"
        " # the combination eliminates tumours in some mice",
        f"O17 (TAM): tams@28[Notch-KO] <= {t['O17_tams']:g} * tams@28[control]"
        f" and cd8@28[Notch-KO] >= {t['O17_cd8']:g} * cd8@28[control]"
        f" and tumor@28[Notch-KO] <= {t['O17_tumor']:g} * tumor@28[control]"
        " # Notch KO: fewer TAMs, more CD8, less tumour",
        f"O18 (TAM): spearman({ctrl}: tams@28, tumor@28) >= {t['O18_rho']:g} # many TAMs, poor prognosis",
        f"O19 (SRS): tumor@28[SRS-high] >= {t['O19_bone']:g} * tumor@28[SRS-low]"
        f" and primary_tumor@28[SRS-high] / primary_tumor@28[SRS-low] between {plo:g} and {phi:g}"
        " # SRS helps in bone, not in the primary",
        f"O20 (SRS): tumor@28['Src inhibitor d0'] <= {t['O20_early']:g} * tumor@28[control]"
        f" and tumor@28['Src inhibitor d14'] >= {t['O20_late']:g} * tumor@28[control]"
        " # Src inhibition prevents but does not cure",
        "O21 (SRS): lesion_probability@28[stroma-high] > lesion_probability@28[stroma-low]"
        " # stroma mimicry raises bone-metastasis odds",
    ]


def default_catalogue(thresholds: Mapping[str, float] | None = None, seed: int = COHORT_SEED,
                      include_plausibility: bool = True, variability: Mapping[str, Any] | None = None
                      ) -> list[Outcome]:
    """O1–O21 (see :func:`catalogue_text`) and, by default, the plausibility statements P1–P6.

    Parameters
    ----------
    thresholds : mapping, optional
        Overrides of :data:`DEFAULT_THRESHOLDS`.
    seed : int
        Seed of the virtual cohorts.
    include_plausibility : bool
        Append :func:`~.plausibility.plausibility_catalogue` (default True: every
        calibration and ``bonemet-ode outcomes`` enforce P1–P6 next to O1–O21;
        False gives the 21 source outcomes alone).
    variability : mapping of str to Distribution, optional
        Inter-mouse variability of every cohort (O16, O18, P4); default
        :func:`~bonemet_ode.models.bone_metastasis.cohort.cohort_variability`.

    Returns
    -------
    list of Outcome
        21 outcomes, then the plausibility statements.
    """
    from ...outcomes.parser import parse

    out = [parse(line) for line in catalogue_text(thresholds, seed, variability)]
    if include_plausibility:
        from .plausibility import plausibility_catalogue

        out += plausibility_catalogue(seed=seed, variability=variability)
    return out


def context_options(include_plausibility: bool = True) -> dict[str, Any]:
    """Options of the :class:`~bonemet_ode.outcomes.EvaluationContext` for this catalogue.

    Parameters
    ----------
    include_plausibility : bool
        Whether the catalogue includes P1–P6 (they read to day 365).

    Returns
    -------
    dict
        ``days`` (the last read-out: 365 with the plausibility statements, else 42),
        ``step`` (0.25 day), the default ``variability`` of cohorts
        (:func:`~bonemet_ode.models.bone_metastasis.cohort.cohort_variability`) and
        ``options``: the arms are solved at ``rtol`` :data:`ARM_RTOL`, and ``cohort_options``: the
        cohorts (O16, O18) at ``rtol`` :data:`COHORT_RTOL` (the solver's default is ``1e-6``);
        with the plausibility statements, ``cohort_options_of``: the P4 cohort at
        :data:`P4_COHORT_RTOL`.
        Each arm is simulated only to the last day that some outcome reads in it.
    """
    from ...simulate.options import SolverOptions
    from .plausibility import HORIZON

    out = {"days": HORIZON if include_plausibility else 42.0, "step": 0.25, "variability": cohort_variability(),
           "options": SolverOptions(rtol=ARM_RTOL), "cohort_options": SolverOptions(rtol=COHORT_RTOL)}
    if include_plausibility:
        out["cohort_options_of"] = {"P4": SolverOptions(rtol=P4_COHORT_RTOL)}
    return out


def free_parameters() -> list[str]:
    """Parameters searched by the default calibration: the immune, myeloid and growth rates the outcomes constrain.

    Komarova bone parameters, drug half-lives, scale-setting units (``p_ev``,
    ``cyt_bone``) and the SRS clone definitions stay fixed.
    """
    return ["r_T", "k_kill", "r_C", "s_C", "s_C0", "X_er", "k_ex", "X_pdl1", "w_pdl1_mac", "X_tam", "d_C_tam",
            "a_mono", "h_mono", "r_tam", "IC_Q", "k_AD", "h_D", "p_D", "h_DT", "a_N", "k_mat", "EC50_pd1",
            "k_reinv", "k_prime", "h_ag", "h_my", "d_C", "d_ex_extra", "k_er"]


def ensemble_prior() -> list[Any]:
    """The prior box of the ensemble calibration: :func:`free_parameters` with their model bounds, except two.

    ``k_AD`` (model bounds 0-1000, linear) and ``a_N`` (0-1e8, linear) are
    scale parameters whose plausible values span decades; a linear prior over
    their model range would put 99.9 % of its mass above 1 and 1e5 and make
    every value near the shipped ones look "piled at the lower bound".  The
    ensemble searches them on log scale over ``[1e-3, 1e3]`` and ``[1, 1e8]``.

    Returns
    -------
    list of FreeParameter
    """
    from ...calibration.space import FreeParameter

    special = {"k_AD": FreeParameter("k_AD", 1e-3, 1e3, log_scale=True),
               "a_N": FreeParameter("a_N", 1.0, 1e8, log_scale=True)}
    return [special.get(n, FreeParameter(n)) for n in free_parameters()]


#: Hand-built values of the free parameters, before any search (the structural choices made while
#: writing the modules); the calibration in ``examples/calibrate_bone_metastasis.py`` starts here.
HAND_START: dict[str, float] = {
    "r_T": 0.3, "k_kill": 1.3e-4, "r_C": 2.0, "s_C": 3e3, "s_C0": 20.0, "X_er": 2e4, "k_ex": 0.4, "X_pdl1": 2e4,
    "w_pdl1_mac": 0.95, "X_tam": 2e4, "d_C_tam": 0.3, "a_mono": 3e4, "h_mono": 1e6, "r_tam": 0.2, "IC_Q": 5.0,
    "k_AD": 1.0, "h_D": 3.0, "p_D": 40.0, "h_DT": 1e5, "a_N": 2e4, "k_mat": 3.0, "EC50_pd1": 2.0, "k_reinv": 0.1,
    "k_prime": 0.2, "h_ag": 1e5, "h_my": 1e4, "d_C": 0.1, "d_ex_extra": 0.05, "k_er": 0.8,
}


def catalogue_context(model: Any = None, params: Mapping[str, float] | None = None,
                      include_plausibility: bool = True, **options: Any):
    """An :class:`~bonemet_ode.outcomes.EvaluationContext` of the catalogue on the bone-metastasis model.

    Parameters
    ----------
    model : Model, optional
        Default: the built-in ``bone_metastasis`` model.
    params : mapping, optional
        Parameter overrides.
    include_plausibility : bool
        Enforce the plausibility statements P1–P6 next to O1–O21 (default True).
    **options
        Override :func:`context_options` (``n_jobs``, ``step``, ...).  ``variability`` (a mapping of
        parameter name to Distribution) replaces the inter-mouse variability of the catalogue's
        cohorts (O16, O18, P4), which write theirs into their text.

    Examples
    --------
    Wider inter-mouse variability of killing (sigma 0.6 instead of 0.3) in every cohort:

    >>> from bonemet_ode.models.bone_metastasis.cohort import cohort_variability
    >>> from bonemet_ode.simulate.cohort import LogNormal
    >>> wide = {**cohort_variability(), "k_kill": LogNormal(0.6)}
    >>> ctx = catalogue_context(variability=wide)
    >>> "k_kill~lognormal(0.6)" in next(o for o in ctx.outcomes if o.id == "O16").to_text()
    True
    """
    from ...outcomes.context import EvaluationContext
    from ..registry import get
    from .arms import scenario_arms

    opts = context_options(include_plausibility)
    opts.update(options)
    variability = options.get("variability")
    return EvaluationContext(model or get("bone_metastasis"), scenario_arms(),
                             default_catalogue(include_plausibility=include_plausibility, variability=variability),
                             params=params, **opts)

"""Plausibility statements P1–P6: what no biologist would accept, in the outcome language.

O1–O21 (:mod:`.catalogue`) say what the sources found.  They do not stop a
calibrated model from doing things outside them that no biologist would
accept; tried as a new user would, the first calibrated model had anti-PD-1
alone lowering total infiltrating CD8 to ~52 % of control, bone mass falling
to ~0.1 % by day 90 untreated and rising to ~216 % by day 365 under
anti-DKK1, and tumours counted as eliminated (< 1 cell) regrowing from 1e-10
cells (``shared/spec/biology.md`` §4, issue #12).  This second catalogue, in
the same language with its own ids, is enforced by every calibration next to
O1–O21 (:func:`~.catalogue.default_catalogue` with ``include_plausibility=True``,
the default of :func:`~.catalogue.catalogue_context`).

======  ==============================================================================
id      statement and reasoning
======  ==============================================================================
P1      Anti-PD-1 alone does not lower total infiltrating CD8 below control (days 14,
        28, 42, 90, 365).  PD-1 blockade reinvigorates exhausted cells and lets them
        divide; it removes no T cells.  Clinically and in mice, anti-PD-1 raises or
        leaves unchanged intratumoural CD8 counts.
P2      Bone mass stays at or below ``BONE_CEILING`` (150 %) of baseline over 365
        days in every default arm.  Anabolic agents (anti-sclerostin, anti-DKK1)
        raise bone mass by tens of percent, and remodelling is limited by the space
        in the marrow cavity; a lesion compartment that more than 1.5-folds is not
        bone remodelling.
P3      Bone mass stays at or above ``BONE_FLOOR`` (30 %) of baseline over 365 days
        in every default arm.  Osteolytic lesions destroy bone locally, and
        untreated mice lose a large part of the bone around a lesion, but bone is
        not resorbed to nothing: osteoclasts need bone surface to resorb, and the
        osteocyte network (mechanostat) holds back resorption and favours
        formation as the remaining bone takes more load.  The floor is a
        modelling choice: bone mass here is the remodelling compartment next to
        the lesion (Komarova's ``z``), and losing more than 70 % of it would be a
        destroyed bone, which the default arms (a lesion held at most at the
        carrying capacity of the marrow space) are not meant to produce.
P4      Extinction is absorbing: every mouse of the ``anti-DKK1 + anti-PD-1``
        cohort whose lesion falls below one cell at any time between day 42 and
        day 365 still has below one cell at day 365.  A continuous cell number
        below one cell is a probability, not a cell that can divide.  (Before
        day ~35 newly arrived, still dormant cells may found a new lesion, which
        is biology, not regrowth; the window starts after the seeded pool is
        gone.)
P5      A lesion that starts below one cell, with no cells arriving
        (arm ``sub-cellular lesion`` of :func:`~.arms.scenario_arms`), never
        reaches one cell in 365 days.
P6-x    Every state ``x`` stays finite and within its stated bounds
        (:data:`STATE_BOUNDS`) for 365 days in every arm of
        :func:`~.arms.scenario_arms` (bone mass: P2 and P3).  A non-finite value or
        a failed solve fails the statement.
======  ==============================================================================

Examples
--------
>>> from bonemet_ode.models.bone_metastasis.plausibility import plausibility_catalogue
>>> [o.id for o in plausibility_catalogue()][:5]
['P1', 'P2', 'P3', 'P4', 'P5']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...outcomes.statements import Outcome
from .arms import SUB_CELLULAR
from .cohort import COHORT_SEED

__all__ = ["HORIZON", "BONE_CEILING", "BONE_FLOOR", "STATE_BOUNDS", "NONNEGATIVE_TOLERANCE", "P4_COHORT_N",
           "plausibility_text", "plausibility_catalogue"]

#: Last day the plausibility statements read, days.
HORIZON = 365.0
#: Highest bone mass accepted in any default arm, % of baseline (P2).
BONE_CEILING = 150.0
#: Lowest bone mass accepted in any default arm, % of baseline (P3).
BONE_FLOOR = 30.0
#: A state may undershoot 0 by at most this much (solver error, in the state's unit) before P6 fails.
NONNEGATIVE_TOLERANCE = 1e-6
#: Virtual mice of the P4 cohort (simulated to day 365, so fewer than O16's 200).
P4_COHORT_N = 30

#: Upper bound of every state except bone mass (P2/P3), in the state's unit, with its reasoning.
STATE_BOUNDS: dict[str, tuple[float, str]] = {
    "primary_tumor": (1e10, "cancer cells in one mouse: 1e10 cells is ~10 g, far past any humane end point"),
    "dormant": (1e10, "cancer cells in one mouse"),
    "dormant_ctc": (1e10, "cancer cells in one mouse"),
    "colonisations": (1e6, "bone lesions founded in one mouse"),
    "tumor": (1e10, "cancer cells in one mouse"),
    "dissemination": (1e10, "cancer cells that left bone: cannot exceed those ever made"),
    "ev_fa": (1e4, "a.u. (1 a.u. = steady cargo of a 1e6-cell lesion): a 1e10-cell lesion"),
    "er_fraction": (1.0, "a fraction"),
    "mac_resident": (1e8, "immune cells of one niche: the marrow of a mouse holds ~1e8-1e9 nucleated cells"),
    "monocytes": (1e8, "immune cells of one niche"),
    "tams": (1e8, "immune cells of one niche"),
    "dkk1": (1e3, "ng/mL of serum DKK1: ~1 ng/mL in tumour-free mice"),
    "neut_immature": (1e8, "immune cells of one niche"),
    "neut_mature": (1e8, "immune cells of one niche"),
    "chi3l3": (1e3, "a.u. (~1.8 in tumour-free bone)"),
    "cd8_priming": (1.0, "a fraction"),
    "cd8_eff": (1e8, "immune cells of one niche"),
    "cd8_exh": (1e8, "immune cells of one niche"),
    "osteoclasts": (100.0, "Komarova cells: ~100 times the steady state (1.06)"),
    "osteoblasts": (2e4, "Komarova cells: ~100 times the steady state (212)"),
    "fulv": (1e3, "mg/kg in the body: five times the weekly dose"),
    "anti_dkk1": (1e3, "mg/kg in the body"),
    "anti_pd1": (1e3, "mg/kg in the body"),
    "notch_inhibitor": (1e3, "mg/kg in the body"),
    "src_inhibitor": (1e3, "mg/kg in the body"),
}

_DEFAULT_ARMS = ("control", "fulvestrant", "anti-DKK1", "anti-PD-1", "fulvestrant + anti-PD-1",
                 "anti-DKK1 + anti-PD-1")
_COMBO = "anti-DKK1 + anti-PD-1"


def _q(arm: str) -> str:
    return arm if all(c.isalnum() or c in "-_" for c in arm) else f"'{arm}'"


def plausibility_text(arms: Sequence[str] | None = None, default_arms: Sequence[str] = _DEFAULT_ARMS,
                      seed: int = COHORT_SEED, state_bounds: Mapping[str, tuple[float, str]] | None = None,
                      variability: Mapping[str, Any] | None = None
                      ) -> list[str]:
    """P1–P6 as text lines (``id (source): statement # description``).

    Parameters
    ----------
    arms : sequence of str, optional
        Arms of P6 (default: every arm of :func:`~.arms.scenario_arms`).
    default_arms : sequence of str
        Arms of P2 and P3 (default: the six default arms).
    seed : int
        Seed of the P4 cohort.
    state_bounds : mapping, optional
        Upper bounds of P6 (default :data:`STATE_BOUNDS`).
    variability : mapping of str to Distribution, optional
        Inter-mouse variability of the P4 cohort (default
        :func:`~bonemet_ode.models.bone_metastasis.cohort.cohort_variability`).

    Returns
    -------
    list of str
        One line per statement, parseable by :func:`~bonemet_ode.outcomes.parse`.
    """
    from .arms import scenario_arms
    from .catalogue import _cohort

    if arms is None:
        arms = list(scenario_arms())
    bounds = dict(STATE_BOUNDS if state_bounds is None else state_bounds)
    h = f"{HORIZON:g}"
    pd1 = " and ".join(f"cd8@{d}[anti-PD-1] >= cd8@{d}[control]" for d in (14, 28, 42, 90, int(HORIZON)))
    top = ", ".join(f"max(bone_mass, 0, {h})[{_q(a)}]" for a in default_arms)
    low = ", ".join(f"min(bone_mass, 0, {h})[{_q(a)}]" for a in default_arms)
    cohort = _cohort(_COMBO, P4_COHORT_N, seed, variability)
    lines = [
        f"P1 (plausibility): {pd1} # anti-PD-1 alone does not lower total infiltrating CD8",
        f"P2 (plausibility): largest({top}) <= {BONE_CEILING:g}"
        " # bone mass stays within physiological limits (ceiling)",
        f"P3 (plausibility): smallest({low}) >= {BONE_FLOOR:g} # bone mass is not resorbed to nothing (floor)",
        f"P4 (plausibility): fraction({cohort}: tumor@{h} < 1) >= fraction({cohort}: min(tumor, 42, {h}) < 1)"
        " # extinction is absorbing: a lesion below one cell stays eliminated",
        f"P5 (plausibility): max(tumor, 0, {h})[{_q(SUB_CELLULAR)}] < 1 # a lesion below one cell does not grow",
    ]
    for name, (upper, why) in bounds.items():
        hi = ", ".join(f"max({name}, 0, {h})[{_q(a)}]" for a in arms)
        lo = ", ".join(f"min({name}, 0, {h})[{_q(a)}]" for a in arms)
        # a fraction approaches 1 from below; allow the solver's error above it as below 0
        top_bound = upper + NONNEGATIVE_TOLERANCE if upper == 1.0 else upper
        lines.append(f"P6-{name} (plausibility): smallest({lo}) >= -{NONNEGATIVE_TOLERANCE:g}"
                     f" and largest({hi}) <= {top_bound:g} # {name} finite, >= 0 and <= {upper:g} ({why})")
    return lines


def plausibility_catalogue(arms: Sequence[str] | None = None, seed: int = COHORT_SEED,
                           variability: Mapping[str, Any] | None = None) -> list[Outcome]:
    """P1–P6 as :class:`~bonemet_ode.outcomes.Outcome` objects (see :func:`plausibility_text`)."""
    from ...outcomes.parser import parse

    return [parse(line) for line in plausibility_text(arms, seed=seed, variability=variability)]

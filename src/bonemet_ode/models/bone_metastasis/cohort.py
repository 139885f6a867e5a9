"""Inter-animal variability of the bone-metastasis model (virtual cohorts)."""

from __future__ import annotations

from ...simulate.cohort import Distribution, LogNormal

__all__ = ["cohort_variability", "COHORT_SEED"]

#: Seed of the default virtual cohorts (reproducible).
COHORT_SEED = 20250807


def cohort_variability() -> dict[str, Distribution]:
    """Default inter-mouse variability: log-normal spread of growth, seeding, immune and myeloid rates.

    Returns
    -------
    dict of str to Distribution
        ``r_T`` (σ 0.15), ``seed_dose`` (σ 0.5), ``k_kill`` (σ 0.3), ``s_C``
        (σ 0.3), ``a_mono`` (σ 0.3), ``p_D`` (σ 0.3): modelling choices that
        give a ~2-fold spread of lesion size at day 28 in untreated mice.
    """
    return {
        "r_T": LogNormal(0.15),
        "seed_dose": LogNormal(0.5),
        "k_kill": LogNormal(0.3),
        "s_C": LogNormal(0.3),
        "a_mono": LogNormal(0.3),
        "p_D": LogNormal(0.3),
    }

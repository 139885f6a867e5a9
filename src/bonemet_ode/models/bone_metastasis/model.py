"""Assembly of the bone-metastasis model from its named modules."""

from __future__ import annotations

from typing import Callable

from ...model import Model, Module
from ..registry import register
from . import bone, dkk1_axis, er_axis, myeloid, pharmacokinetics, srs_axis, tcells, tumour

__all__ = ["bone_metastasis", "MODULE_FACTORIES", "AXES"]

#: Every module factory, in composition order.
MODULE_FACTORIES: tuple[Callable[[], Module], ...] = (
    srs_axis.srs_signalling,
    srs_axis.primary_tumour,
    srs_axis.bone_seeding,
    srs_axis.circulation_seeding,
    tumour.bone_tumour,
    tumour.dissemination,
    er_axis.ev_fatty_acids,
    er_axis.macrophage_er,
    myeloid.resident_macrophages,
    myeloid.notch_signalling,
    myeloid.monocytes_and_tams,
    dkk1_axis.dkk1_secretion,
    dkk1_axis.neutrophil_maturation,
    dkk1_axis.chi3l3,
    tcells.cd8_priming,
    tcells.cd8_infiltration,
    tcells.cd8_activation,
    tcells.pd1_exhaustion,
    tcells.cd8_killing,
    bone.bone_remodelling,
    bone.tumour_osteolysis,
    pharmacokinetics.fulvestrant_pk,
    pharmacokinetics.anti_dkk1_pk,
    pharmacokinetics.anti_pd1_pk,
    pharmacokinetics.notch_inhibitor_pk,
    pharmacokinetics.src_inhibitor_pk,
)

#: Module names grouped by the axis of biology.md §1 they implement (for docs and figures).
AXES: dict[str, tuple[str, ...]] = {
    "SRS axis and seeding": ("srs_signalling", "primary_tumour", "bone_seeding", "circulation_seeding"),
    "Bone lesion and spread": ("bone_tumour", "dissemination"),
    "ER axis": ("ev_fatty_acids", "macrophage_er"),
    "TAM axis": ("resident_macrophages", "notch_signalling", "monocytes_and_tams"),
    "DKK1 axis": ("dkk1_secretion", "neutrophil_maturation", "chi3l3"),
    "CD8 T cells": ("cd8_priming", "cd8_infiltration", "cd8_activation", "pd1_exhaustion", "cd8_killing"),
    "Bone remodelling": ("bone_remodelling", "tumour_osteolysis"),
    "Pharmacokinetics": ("fulvestrant_pk", "anti_dkk1_pk", "anti_pd1_pk", "notch_inhibitor_pk", "src_inhibitor_pk"),
}


@register("bone_metastasis", "bone-metastasis immune niche: seeding, ER/DKK1/TAM/SRS axes, CD8, bone, 5 drugs (days)")
def bone_metastasis() -> Model:
    """The bone-metastasis immune-niche model with its default parameters.

    Returns
    -------
    Model
        26 states (cells, signals, bone, drug amounts), time in days; bone
        seeded at day 0 with ``seed_dose`` cells, no primary tumour unless an
        arm implants one (see :func:`~.arms.scenario_arms`).

    Examples
    --------
    >>> from bonemet_ode.models import get
    >>> m = get("bone_metastasis")
    >>> len(m.state_names)
    26
    """
    return Model(
        "bone_metastasis",
        [factory() for factory in MODULE_FACTORIES],
        description=("Mechanistic model of the bone-metastasis immune niche (shared/spec/biology.md): "
                     "ER, DKK1, TAM and SRS axes, CD8 T cells, Komarova bone remodelling, five drugs."),
    )

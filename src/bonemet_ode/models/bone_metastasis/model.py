"""Assembly of the bone-metastasis model from its named modules."""

from __future__ import annotations

from typing import Callable

from ...model import Event, Model, Module
from ..registry import register
from . import bone, dkk1_axis, er_axis, myeloid, pharmacokinetics, srs_axis, tcells, tumour

__all__ = ["bone_metastasis", "with_extinction", "EXTINCTION_LEVEL", "MODULE_FACTORIES", "AXES"]

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
    model = Model(
        "bone_metastasis",
        [factory() for factory in MODULE_FACTORIES],
        description=("Mechanistic model of the bone-metastasis immune niche (shared/spec/biology.md): "
                     "ER, DKK1, TAM and SRS axes, CD8 T cells, Komarova bone remodelling, five drugs."),
    )
    return with_extinction(model)


#: Cell counts below which a population is extinct (one cell).
EXTINCTION_LEVEL = 1.0


def with_extinction(model: Model) -> Model:
    """``model`` with absorbing extinction of the seeded and proliferating cancer cells.

    A continuous cell number below one cell is a probability, not a cell: the
    first version let "eliminated" lesions (below one cell) regrow from 1e-10
    cells (13 of 65 combination mice by day 180).  Two state-triggered events
    of the compiled solver (:meth:`~bonemet_ode.model.Model.with_extinction`,
    located by its root finder, not applied to the output afterwards) set a
    population to 0 the moment it falls below :data:`EXTINCTION_LEVEL`:

    * ``dormant`` (newly arrived cells): nothing refills it, so 0 is absorbing
      (checked by ``with_extinction``);
    * ``tumor``: 0 is absorbing once ``dormant`` (and ``dormant_ctc``, which is
      non-zero only in arms with a primary tumour) are empty, because every
      other source of ``tumor`` is proportional to ``tumor``.  Colonisation by
      cells still arriving can found a new lesion, which is biology, not
      regrowth; the event re-arms once the lesion is back at one cell.  In the
      arms of :func:`~.arms.default_arms` the seeded pool is extinct by about
      day 35, so a lesion eliminated after that stays eliminated.

    Parameters
    ----------
    model : Model
        The bone-metastasis model (without these events).

    Returns
    -------
    Model
        A copy with events ``extinction_dormant`` and ``extinction_tumor``.
    """
    model = model.with_extinction("dormant", below=EXTINCTION_LEVEL)
    # with_extinction refuses tumor (colonisation adds to an empty lesion while dormant cells remain);
    # the same event, written out: fires when tumor falls below the level, sets it to 0
    return model.with_events(Event(
        "extinction_tumor", f"tumor < {EXTINCTION_LEVEL!r}", {"tumor": 0.0}, initial_value=False,
        description=f"a lesion below {EXTINCTION_LEVEL:g} cell is extinct: set to 0 (absorbing once no "
                    "seeded or circulating cells remain)"))

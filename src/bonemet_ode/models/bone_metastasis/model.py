"""Assembly of the bone-metastasis model from its named modules."""

from __future__ import annotations

from collections.abc import Callable

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
    of the compiled solver (the model-level :class:`~bonemet_ode.model.Event`
    API, located by the solver's root finder, not applied to the output
    afterwards) set a population to 0 the moment it is extinct:

    * ``extinction_dormant`` (:meth:`~bonemet_ode.model.Model.with_extinction`):
      newly arrived cells below :data:`EXTINCTION_LEVEL` are gone; nothing
      refills the pool, so 0 is absorbing (checked by ``with_extinction``).
    * ``extinction_tumor``: the lesion is gone once it is below one cell *and*
      no newly arrived cells are left to found it again (trigger
      ``tumor < 1 and dormant < 1 and dormant_ctc < 1``; it fires when the
      last of the three falls below one).  While cells are still arriving
      (the seeded pool lasts ~35 days; a primary tumour keeps seeding) a
      lesion below one cell is the expected number of founders, not a
      lesion, and is kept.  Once the lesion is set to 0 with the pools
      empty, every source of ``tumor`` is proportional to ``tumor`` and the
      lesion stays eliminated; only new arrivals from a primary tumour can
      start a new one (the event re-arms when the lesion is back at one cell).

    A trigger on the lesion alone (``tumor < 1``) is not enough: a lesion that
    falls below one cell while the last seeded cells still colonise keeps
    receiving fractions of a cell after the event, and those regrew (a
    combination mouse at 3e-8 cells on day 42 had 1.7e4 cells on day 180).

    Parameters
    ----------
    model : Model
        The bone-metastasis model (without these events).

    Returns
    -------
    Model
        A copy with events ``extinction_dormant`` and ``extinction_tumor``.
    """
    lvl = repr(EXTINCTION_LEVEL)
    model = model.with_extinction("dormant", below=EXTINCTION_LEVEL)
    return model.with_events(Event(
        "extinction_tumor", f"tumor < {lvl} and dormant < {lvl} and dormant_ctc < {lvl}", {"tumor": 0.0},
        initial_value=False,
        description=(f"a lesion below {EXTINCTION_LEVEL:g} cell with no arriving cells left to found it again is "
                     "extinct: set to 0 (absorbing while no primary tumour seeds bone)")))

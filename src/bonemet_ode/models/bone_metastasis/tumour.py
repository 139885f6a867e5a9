"""The bone lesion: growth, the bone vicious cycle, and spread from bone to other organs."""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term
from ._sources import CAL, CHOICE, ER, MUNDY, TME

__all__ = ["bone_tumour", "dissemination"]


def bone_tumour() -> Module:
    """Proliferation of the bone lesion, boosted by factors released from resorbed bone.

    Returns
    -------
    Module
        State ``tumor`` (cells in bone), terms ``tumor_growth`` and
        ``tumor_growth_resorption`` (which reads ``resorption_excess`` of
        :func:`~.bone.bone_remodelling`); observables ``antigen`` (tumour
        antigen signal seen by T cells) and ``tumour_signal`` (chemokine
        signal seen by myeloid cells).  Killing by CD8 T cells lives in
        :func:`~.tcells.cd8_killing`.
    """
    return Module(
        "bone_tumour",
        states=(State("tumor", 0.0, "cells", "cancer cells in bone (all lesions)"),),
        parameters=(
            Parameter("r_T", 0.2527, "1/day", 0.05, 2.0, "proliferation rate of cancer cells in bone",
                      f"{CHOICE}, {CAL}: doubling ~2.6 days before immune control", True),
            Parameter("K_T", 5e8, "cells", 1e7, 1e10, "carrying capacity of the bone-marrow space", CHOICE, True),
            Parameter("r_vc", 0.01, "1/day", 0.0, 1.0,
                      "extra proliferation per unit of relative osteoclast excess (released TGF-beta, IGF)",
                      f"{MUNDY}: vicious cycle; {CHOICE}"),
            Parameter("h_ag", 88560.0, "cells", 1e3, 1e9, "lesion size of half-maximal antigen signal to T cells",
                      f"{CHOICE}, {CAL}", True),
            Parameter("h_my", 11700.0, "cells", 1e2, 1e9, "lesion size of half-maximal myeloid recruitment signal",
                      f"{CHOICE}, {CAL}: chemokines (CCL2, G-CSF) act at smaller lesion sizes than antigen", True),
        ),
        terms=(
            Term("tumor_growth", "r_T*tumor*(1 - tumor/K_T)", {"tumor": 1}, "proliferation in the bone-marrow niche"),
            Term("tumor_growth_resorption", "r_vc*resorption_excess*tumor*(1 - tumor/K_T)", {"tumor": 1},
                 "growth factors released by osteoclastic resorption feed the lesion (vicious cycle)"),
        ),
        observables=(
            Observable("antigen", "tumor/(tumor + h_ag)", "1", "saturating tumour-antigen signal seen by T cells"),
            Observable("tumour_signal", "tumor/(tumor + h_my)", "1",
                       "saturating tumour chemokine signal seen by myeloid cells and osteoclast precursors"),
        ),
        description=f"Bone lesion growth with the osteolytic vicious cycle ({MUNDY}).",
    )


def dissemination() -> Module:
    """Cells leaving the bone lesion for other organs, helped by matrix-remodelling TAMs.

    Returns
    -------
    Module
        State ``dissemination`` (cumulative cells that left the lesion) and
        term ``spread_from_bone``.
    """
    return Module(
        "dissemination",
        states=(State("dissemination", 0.0, "cells", "cumulative number of cancer cells that left the bone lesion"),),
        parameters=(
            Parameter("q_diss", 1e-4, "1/day", 0.0, 0.1, "basal fraction of lesion cells leaving per day",
                      f"{ER}: spread from bone to other organs; {CHOICE}"),
            Parameter("e_diss", 2.0, "1", 0.0, 100.0, "largest fold increase of spread by matrix-remodelling TAMs",
                      f"{TME}: hijacked macrophages weaken the matrix so cells break free; {CHOICE}"),
            Parameter("K_diss", 1e5, "cells", 1e2, 1e8, "TAM number of half-maximal help to spread", CHOICE, True),
        ),
        terms=(
            Term("spread_from_bone", "q_diss*(1 + e_diss*tams/(tams + K_diss))*tumor",
                 {"tumor": -1, "dissemination": 1}, "cancer cells leave bone for other organs"),
        ),
        description=f"Spread from bone ({ER}, {TME}).",
    )

"""Bone remodelling (Komarova et al. 2003) and its disruption by the lesion.

Komarova SV et al., Bone 33:206 (2003): osteoclasts ``C`` and osteoblasts
``B`` regulate each other by autocrine and paracrine factors written as power
laws, and bone mass ``z`` follows the cells in excess of their steady state:

.. math::

    dC/dt = α_1 C^{g_{11}} B^{g_{21}} - β_1 C,\\qquad
    dB/dt = α_2 C^{g_{12}} B^{g_{22}} - β_2 B,

    dz/dt = -k_1 \\max(C - \\bar C, 0) + k_2 \\max(B - \\bar B, 0).

With the published values the non-trivial steady state is
``C̄ ≈ 1.06``, ``B̄ ≈ 212`` (stable focus).  The lesion adds osteoclast
formation (tumour-driven RANKL, the osteolytic vicious cycle; Mundy 2002) and
DKK1 inhibits osteoblast formation (Wnt antagonism; Tian et al. 2003); both
are zero in tumour-free bone, so tumour-free bone sits at the Komarova steady
state whatever the immune parameters (the macrophage-ERα knockout spares
bone, source ER).
"""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term
from ._sources import CHOICE, ER, KOMAROVA, MUNDY, TIAN

__all__ = ["bone_remodelling", "tumour_osteolysis", "OC_STEADY", "OB_STEADY"]

#: Tumour-free osteoclast steady state as an expression of the Komarova parameters.
OC_STEADY = ("(beta1/alpha1)**((1 - g22)/(g12*g21 - (1 - g11)*(1 - g22)))"
             "*(beta2/alpha2)**(g21/(g12*g21 - (1 - g11)*(1 - g22)))")
#: Tumour-free osteoblast steady state as an expression of the Komarova parameters.
OB_STEADY = ("(beta1/alpha1)**(g12/(g12*g21 - (1 - g11)*(1 - g22)))"
             "*(beta2/alpha2)**((1 - g11)/(g12*g21 - (1 - g11)*(1 - g22)))")


def bone_remodelling() -> Module:
    """The Komarova et al. 2003 model of a basic multicellular unit, at its steady state at day 0.

    Returns
    -------
    Module
        States ``osteoclasts``, ``osteoblasts`` (cells) and ``bone_mass``
        (% of the initial mass); observables ``oc_steady``, ``ob_steady``,
        ``oc_formation_base`` (the autocrine/paracrine osteoclast formation
        law) and ``resorption_excess``.
    """
    src = f"{KOMAROVA}, Table 1"
    return Module(
        "bone_remodelling",
        states=(
            State("osteoclasts", OC_STEADY, "cells", "osteoclasts (Komarova C), at the tumour-free steady state"),
            State("osteoblasts", OB_STEADY, "cells", "osteoblasts (Komarova B), at the tumour-free steady state"),
            State("bone_mass", 100.0, "%", "bone mass relative to day 0 (Komarova z)"),
        ),
        parameters=(
            Parameter("alpha1", 3.0, "cells^(1-g11-g21)/day", 1e-3, 1e3, "osteoclast production", src, True),
            Parameter("alpha2", 4.0, "cells^(1-g12-g22)/day", 1e-3, 1e3, "osteoblast production", src, True),
            Parameter("beta1", 0.2, "1/day", 1e-3, 10.0, "osteoclast removal", src, True),
            Parameter("beta2", 0.02, "1/day", 1e-4, 1.0, "osteoblast removal", src, True),
            Parameter("g11", 0.5, "1", 0.0, 1.0, "osteoclast autocrine regulation", src),
            Parameter("g21", -0.5, "1", -2.0, 2.0, "osteoblast-derived paracrine regulation of osteoclasts", src),
            Parameter("g12", 1.0, "1", 0.0, 2.0, "osteoclast-derived paracrine regulation of osteoblasts", src),
            Parameter("g22", 0.0, "1", -1.0, 0.99, "osteoblast autocrine regulation", src),
            Parameter("k1", 0.24, "%/(cell·day)", 0.0, 10.0, "resorption per osteoclast above steady state", src),
            Parameter("k2", 0.0017, "%/(cell·day)", 0.0, 1.0, "formation per osteoblast above steady state", src),
            Parameter("K_bone", 1.0, "%", 1e-3, 10.0, "bone mass at which resorption is halved",
                      "modelling choice: Komarova's z is unbounded below; this floor keeps bone mass >= 0 "
                      "and changes resorption by < 1 % while bone mass is above 99 %"),
        ),
        terms=(
            Term("oc_formation", "alpha1*osteoclasts**g11*osteoblasts**g21", {"osteoclasts": 1},
                 "osteoclast formation (autocrine and osteoblast-derived regulation)"),
            Term("oc_removal", "beta1*osteoclasts", {"osteoclasts": -1}, "osteoclast apoptosis"),
            Term("ob_formation", "alpha2*osteoclasts**g12*osteoblasts**g22", {"osteoblasts": 1},
                 "osteoblast formation (osteoclast-derived coupling factors)"),
            Term("ob_removal", "beta2*osteoblasts", {"osteoblasts": -1}, "osteoblast removal"),
            Term("bone_resorption", "k1*max(osteoclasts - oc_steady, 0)*bone_mass/(bone_mass + K_bone)",
                 {"bone_mass": -1}, "resorption by osteoclasts above the steady state (none left to resorb at 0 %)"),
            Term("bone_formation", "k2*max(osteoblasts - ob_steady, 0)", {"bone_mass": 1},
                 "formation by osteoblasts above the steady state"),
        ),
        observables=(
            Observable("oc_steady", OC_STEADY, "cells", "tumour-free osteoclast steady state"),
            Observable("ob_steady", OB_STEADY, "cells", "tumour-free osteoblast steady state"),
            Observable("resorption_excess", "max(osteoclasts/oc_steady - 1, 0)", "1",
                       "osteoclasts above the tumour-free steady state, relative"),
        ),
        description=f"Bone remodelling ({KOMAROVA}).",
    )


def tumour_osteolysis() -> Module:
    """The lesion drives osteoclast formation and, through DKK1, holds back osteoblasts.

    Returns
    -------
    Module
        Terms ``oc_formation_tumour`` and ``ob_formation_dkk1_block``; both
        vanish in tumour-free bone (DKK1 at its basal level).
    """
    return Module(
        "tumour_osteolysis",
        parameters=(
            Parameter("r_oc", 3.0, "1", 0.0, 100.0, "largest tumour-driven fold increase of osteoclast formation",
                      f"{MUNDY}: tumour-derived PTHrP/RANKL drive osteolysis; {CHOICE}"),
            Parameter("e_dkk1_ob", 1.0, "1", 0.0, 100.0, "strength of DKK1 inhibition of osteoblast formation",
                      f"{TIAN}: DKK1 (Wnt antagonist) blocks osteoblasts; {CHOICE}"),
        ),
        terms=(
            Term("oc_formation_tumour", "r_oc*tumour_signal*alpha1*osteoclasts**g11*osteoblasts**g21",
                 {"osteoclasts": 1},
                 "the lesion raises osteoclast formation"),
            Term("ob_formation_dkk1_block",
                 "alpha2*osteoclasts**g12*osteoblasts**g22*e_dkk1_ob*(dkk1_relative - 1)/(1 + e_dkk1_ob*dkk1_relative)",
                 {"osteoblasts": -1},
                 "DKK1 above its basal level inhibits osteoblast formation (negative below it)"),
        ),
        description=f"Tumour-driven osteolysis ({MUNDY}, {TIAN}); absent without tumour ({ER}: ERα KO spares bone).",
    )

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

Bone-mass homeostasis (changed after review, issue #12).  Komarova's ``z``
integrates the cells' excess with no feedback: while a lesion keeps
osteoclasts above their steady state, bone mass falls linearly to zero
(~0.1 % by day 90 untreated), and while anti-DKK1 keeps osteoblasts above
theirs, it rises without bound (~216 % by day 365).  Neither happens in
bone, where remodelling is directed by osteocytes that sense the mechanical
load per unit of bone (Frost's mechanostat, Frost 1987; osteocyte
sclerostin and RANKL as its messengers: Robling et al. 2008, Nakashima et
al. 2011).  Less bone means more strain per unit of bone, so resorption is
held back and formation is favoured; more bone means less strain, with the
reverse.  Here the load signal ``s = (z/100)**n_mech`` (1 at the day-0 set
point) scales the resorption of the excess osteoclasts by ``2s/(1 + s)``
and the formation of the excess osteoblasts by ``2/(1 + s)``: both are 1 at
``z = 100`` (so tumour-free bone, O6 and every day-0 value are unchanged),
both stay between 0 and 2 (saturating), and for fixed cell excesses ``ΔC``,
``ΔB`` bone mass settles where ``(z/100)**n_mech = k2 ΔB / (k1 ΔC)``: a
lesion that triples osteoclasts still leaves most of the bone, and anti-DKK1
(which at most doubles osteoblast formation, ``(1 + e_dkk1_ob)/(1 +
e_dkk1_ob·DKK1_rel)`` with ``DKK1_rel -> 0``: saturating) raises bone mass
to a bounded new set point instead of without limit.  The resorption factor
vanishes at ``z = 0`` (no bone, nothing to resorb), which replaces the
former floor ``z/(z + K_bone)``.
"""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term
from ._sources import CHOICE, ER, KOMAROVA, MUNDY, TIAN

FROST = "Frost, Anat Rec 219:1 (1987), the mechanostat"

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
        ``bone_load`` (the mechanostat signal) and ``resorption_excess``.
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
            Parameter("n_mech", 4.0, "1", 0.5, 10.0,
                      "steepness of the mechanostat (bone-mass feedback on resorption and formation)",
                      f"{FROST}; {CHOICE}: bone within ~20 % of its set point when the excess formation and "
                      "resorption differ two-fold"),
        ),
        terms=(
            Term("oc_formation", "alpha1*osteoclasts**g11*osteoblasts**g21", {"osteoclasts": 1},
                 "osteoclast formation (autocrine and osteoblast-derived regulation)"),
            Term("oc_removal", "beta1*osteoclasts", {"osteoclasts": -1}, "osteoclast apoptosis"),
            Term("ob_formation", "alpha2*osteoclasts**g12*osteoblasts**g22", {"osteoblasts": 1},
                 "osteoblast formation (osteoclast-derived coupling factors)"),
            Term("ob_removal", "beta2*osteoblasts", {"osteoblasts": -1}, "osteoblast removal"),
            Term("bone_resorption", "k1*max(osteoclasts - oc_steady, 0)*2*bone_load/(1 + bone_load)",
                 {"bone_mass": -1},
                 "resorption by osteoclasts above the steady state, held back as bone is lost (mechanostat; "
                 "none left to resorb at 0 %)"),
            Term("bone_formation", "k2*max(osteoblasts - ob_steady, 0)*2/(1 + bone_load)", {"bone_mass": 1},
                 "formation by osteoblasts above the steady state, slowed as bone mass rises above its set point "
                 "(mechanostat)"),
        ),
        observables=(
            Observable("oc_steady", OC_STEADY, "cells", "tumour-free osteoclast steady state"),
            Observable("ob_steady", OB_STEADY, "cells", "tumour-free osteoblast steady state"),
            Observable("bone_load", "(max(bone_mass, 0)/100)**n_mech", "1",
                       "mechanostat signal: bone mass relative to its day-0 set point, to the power n_mech "
                       "(1 at the set point)"),
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

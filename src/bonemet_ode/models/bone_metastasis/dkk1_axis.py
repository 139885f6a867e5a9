"""DKK1 axis: tumour DKK1 keeps neutrophils immature; immature neutrophils make CHI3L3.

Source DKK1 (Ludwig/Weill Cornell, Cancer Cell 2025): bone metastases secrete
DKK1 and serum DKK1 rises; DKK1 reprograms neutrophils into a functionally
immature, suppressive state; these neutrophils make CHI3L3, which disrupts
CD8 activation and cytotoxic function; an anti-DKK1 antibody matures the
neutrophils and stops CHI3L3.  The CD8 side lives in :mod:`.tcells`.
"""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term
from ._sources import CAL, CHOICE, DKK1

__all__ = ["dkk1_secretion", "neutrophil_maturation", "chi3l3"]


def dkk1_secretion() -> Module:
    """Serum DKK1: basal production, secretion by the bone lesion, clearance, antibody neutralisation.

    Returns
    -------
    Module
        State ``dkk1`` (free serum DKK1, ng/mL, at its tumour-free steady
        state), terms ``dkk1_secretion_tumour`` and ``dkk1_neutralisation``;
        observable ``dkk1_serum``.
    """
    return Module(
        "dkk1_secretion",
        states=(State("dkk1", "p_D0/k_D", "ng/mL", "free serum DKK1 (tumour-free steady state at day 0)"),),
        parameters=(
            Parameter("p_D0", 2.0, "ng/mL/day", 0.0, 1e3, "tumour-independent DKK1 production",
                      f"{CHOICE}: ~1 ng/mL in tumour-free mouse serum"),
            Parameter("p_D", 21.25, "ng/mL/day", 0.01, 1e4, "largest DKK1 secretion by the bone lesion",
                      f"{DKK1}: bone metastases secrete DKK1, serum level rises; {CHOICE}, {CAL}", True),
            Parameter("h_DT", 139200.0, "cells", 1e3, 1e10, "lesion size of half-maximal DKK1 secretion",
                      f"{CHOICE}, {CAL}: serum DKK1 rises in proportion to small lesions and saturates for large ones",
                      True),
            Parameter("k_D", 2.0, "1/day", 0.05, 50.0, "DKK1 clearance (t1/2 ~8 h)", CHOICE, True),
            Parameter("k_AD", 0.5809, "1/(mg/kg·day)", 0.0, 1e3, "DKK1 neutralisation per mg/kg of anti-DKK1 antibody",
                      f"{CHOICE}, {CAL}: antibody in large excess, pseudo-first-order binding"),
        ),
        terms=(
            Term("dkk1_basal", "p_D0", {"dkk1": 1}, "tumour-independent DKK1 production (bone cells)"),
            Term("dkk1_secretion_tumour", "p_D*tumor/(tumor + h_DT)", {"dkk1": 1}, "bone metastases secrete DKK1"),
            Term("dkk1_clearance", "k_D*dkk1", {"dkk1": -1}, "DKK1 clearance"),
            Term("dkk1_neutralisation", "k_AD*anti_dkk1*dkk1", {"dkk1": -1}, "anti-DKK1 antibody binds DKK1"),
        ),
        observables=(
            Observable("dkk1_serum", "dkk1", "ng/mL", "serum DKK1 (free)"),
            Observable("dkk1_relative", "dkk1*k_D/p_D0", "1", "serum DKK1 relative to the tumour-free level"),
        ),
        description=f"DKK1 secreted by bone metastases ({DKK1}).",
    )


def neutrophil_maturation() -> Module:
    """Neutrophils in the bone-marrow niche: supply, DKK1-blocked maturation, death.

    Returns
    -------
    Module
        States ``neut_immature`` and ``neut_mature`` (cells, at their
        tumour-free steady state), observables ``neutrophils`` and
        ``immature_fraction``.
    """
    mat0 = "k_mat/(1 + (p_D0/(k_D*h_D))**2)"
    return Module(
        "neutrophil_maturation",
        states=(
            State("neut_immature", f"s_N/({mat0} + d_Ni)", "cells", "functionally immature, suppressive neutrophils"),
            State("neut_mature", f"{mat0}*s_N/({mat0} + d_Ni)/d_Nm", "cells", "mature neutrophils"),
        ),
        parameters=(
            Parameter("s_N", 1e4, "cells/day", 10.0, 1e8, "basal supply of neutrophils to the niche (immature)",
                      f"{CHOICE}: ~1e4 neutrophils around a lesion", True),
            Parameter("a_N", 18390.0, "cells/day", 0.0, 1e8, "largest extra tumour-driven neutrophil supply",
                      f"{CHOICE}, {CAL}: tumour-driven granulopoiesis"),
            Parameter("k_mat", 2.342, "1/day", 0.5, 20.0, "neutrophil maturation rate without DKK1",
                      f"{CHOICE}, {CAL}: a third of niche neutrophils immature in tumour-free bone", True),
            Parameter("h_D", 1.463, "ng/mL", 0.01, 1e3, "serum DKK1 halving maturation (Hill coefficient 2)",
                      f"{DKK1}; {CHOICE}, {CAL}", True),
            Parameter("d_Ni", 0.5, "1/day", 0.05, 10.0, "death of immature neutrophils", CHOICE, True),
            Parameter("d_Nm", 0.7, "1/day", 0.05, 10.0, "death of mature neutrophils (t1/2 ~1 day)", CHOICE, True),
        ),
        terms=(
            Term("neut_supply", "s_N", {"neut_immature": 1}, "granulopoiesis delivers immature neutrophils"),
            Term("neut_supply_tumour", "a_N*tumour_signal", {"neut_immature": 1}, "tumour-driven granulopoiesis"),
            Term("neut_maturation", "k_mat/(1 + (dkk1/h_D)**2)*neut_immature", {"neut_immature": -1, "neut_mature": 1},
                 "maturation, blocked by DKK1 (reprogramming into the immature state)"),
            Term("neut_immature_death", "d_Ni*neut_immature", {"neut_immature": -1}, "death"),
            Term("neut_mature_death", "d_Nm*neut_mature", {"neut_mature": -1}, "death"),
        ),
        observables=(
            Observable("neutrophils", "neut_immature + neut_mature", "cells", "all niche neutrophils"),
            Observable("immature_fraction", "neut_immature/(neut_immature + neut_mature)", "1",
                       "immature share of niche neutrophils"),
        ),
        description=f"DKK1 keeps neutrophils immature ({DKK1}).",
    )


def chi3l3() -> Module:
    """CHI3L3 made by immature neutrophils.

    Returns
    -------
    Module
        State ``chi3l3`` (a.u., 1 = tumour-free level) and the observable
        ``chi3l3_suppression`` (fraction of CD8 activation and cytotoxicity
        left, 0–1).
    """
    imm0 = "s_N/(k_mat/(1 + (p_D0/(k_D*h_D))**2) + d_Ni)"
    return Module(
        "chi3l3",
        states=(State("chi3l3", f"p_Q*{imm0}/k_Q", "a.u.", "CHI3L3 in the niche (tumour-free steady state)"),),
        parameters=(
            Parameter("p_Q", 3.3e-4, "a.u./(cell·day)", 1e-8, 1.0, "CHI3L3 production per immature neutrophil",
                      f"{DKK1}; scale-setting (defines the a.u.; ~1.8 a.u. in tumour-free bone)", True),
            Parameter("k_Q", 1.0, "1/day", 0.01, 50.0, "CHI3L3 clearance", CHOICE, True),
            Parameter("IC_Q", 9.779, "a.u.", 1e-3, 1e3, "CHI3L3 level halving CD8 activation and cytotoxicity",
                      f"{DKK1}: CHI3L3 disrupts CD8 activation and function; {CHOICE}, {CAL}", True),
        ),
        terms=(
            Term("chi3l3_production", "p_Q*neut_immature", {"chi3l3": 1}, "immature neutrophils make CHI3L3"),
            Term("chi3l3_clearance", "k_Q*chi3l3", {"chi3l3": -1}, "clearance"),
        ),
        observables=(
            Observable("chi3l3_suppression", "1/(1 + chi3l3/IC_Q)", "1", "CD8 activation/cytotoxicity left by CHI3L3"),
        ),
        description=f"CHI3L3 from immature neutrophils suppresses CD8 T cells ({DKK1}).",
    )

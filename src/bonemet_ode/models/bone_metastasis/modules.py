"""Modules of the bone-metastasis model (first version: the four design compartments,
their linking signals and the PK of fulvestrant, anti-DKK1 and anti-PD-1).

Facts (arrows and their signs) come from the sources listed in
``shared/spec/biology.md``: ER (Baylor, X. Zhang lab), DKK1 (Ludwig/Weill
Cornell, Cancer Cell 2025).  Functional forms and values are modelling
choices, documented per parameter.
"""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term

__all__ = ["tumour", "er_axis", "dkk1_axis", "cd8", "pharmacokinetics"]

CHOICE = "modelling choice (first version, to be calibrated)"


def tumour() -> Module:
    return Module(
        "tumour",
        states=(State("tumor", 1e4, "cells", "tumour burden in bone (seeded at day 0)"),),
        parameters=(
            Parameter("r_T", 0.35, "1/day", 0.05, 2.0, "tumour net proliferation rate in bone",
                      "doubling ~2 days, typical of mouse bone-metastasis models; " + CHOICE, True),
            Parameter("K_T", 1e9, "cells", 1e7, 1e11, "bone carrying capacity", CHOICE, True),
            Parameter("k_kill", 4e-6, "1/(cell·day)", 1e-9, 1e-3, "CD8 kill rate per T cell", CHOICE, True),
        ),
        terms=(
            Term("tumor_growth", "r_T*tumor*(1 - tumor/K_T)", {"tumor": 1}, "logistic growth in bone"),
            Term("tumor_kill", "k_kill*cd8_function*cd8*tumor", {"tumor": -1},
                 "killing by functional infiltrating CD8+ T cells"),
        ),
    )


def er_axis() -> Module:
    return Module(
        "er_axis",
        states=(
            State("ev_fa", 0.0, "a.u.", "fatty-acid cargo of tumour extracellular vesicles in the niche"),
            State("mac_rest", 2e5, "cells", "bone macrophages without ERα activation"),
            State("mac_er", 1e4, "cells", "ERα-active macrophages"),
        ),
        parameters=(
            Parameter("p_ev", 1.0, "a.u./(1e6 cells·day)", 0, 1e3, "EV fatty-acid release per tumour cell", CHOICE),
            Parameter("k_ev", 1.0, "1/day", 0.01, 100, "EV cargo clearance/uptake", CHOICE),
            Parameter("s_M", 2e4, "cells/day", 0, 1e7, "basal macrophage supply", CHOICE),
            Parameter("a_M", 5e4, "cells/day", 0, 1e8, "tumour-driven macrophage recruitment", CHOICE),
            Parameter("h_M", 1e7, "cells", 1e4, 1e10, "tumour size of half-maximal recruitment", CHOICE, True),
            Parameter("d_M", 0.1, "1/day", 0.01, 1, "macrophage turnover", CHOICE),
            Parameter("k_er", 0.5, "1/day", 0, 10, "maximal ERα activation rate by EV fatty acids", "source ER; " + CHOICE),
            Parameter("h_ev", 2.0, "a.u.", 1e-3, 1e3, "EV cargo of half-maximal activation", CHOICE, True),
            Parameter("k_er_off", 0.1, "1/day", 0, 10, "ERα de-activation", CHOICE),
            Parameter("IC50_fulv", 1.0, "mg/kg", 1e-3, 1e3, "fulvestrant level halving ERα activity", CHOICE, True),
        ),
        terms=(
            Term("ev_release", "p_ev*tumor/1e6", {"ev_fa": 1}, "tumour cells shed fatty-acid-loaded EVs (source ER)"),
            Term("ev_clearance", "k_ev*ev_fa", {"ev_fa": -1}),
            Term("mac_supply", "s_M + a_M*tumor/(tumor + h_M)", {"mac_rest": 1}, "macrophage supply and recruitment"),
            Term("mac_rest_death", "d_M*mac_rest", {"mac_rest": -1}),
            Term("er_activation", "k_er*ev_fa/(ev_fa + h_ev)*mac_rest/(1 + fulv/IC50_fulv)",
                 {"mac_rest": -1, "mac_er": 1}, "EV fatty acids switch on macrophage ERα; fulvestrant degrades ERα"),
            Term("er_deactivation", "k_er_off*mac_er", {"mac_er": -1, "mac_rest": 1}),
            Term("mac_er_death", "d_M*mac_er", {"mac_er": -1}),
        ),
        observables=(
            Observable("macrophages", "mac_rest + mac_er", "cells", "all bone macrophages"),
            Observable("er_fraction", "mac_er/(mac_rest + mac_er)", "1", "ERα-active fraction of macrophages"),
        ),
    )


def dkk1_axis() -> Module:
    return Module(
        "dkk1_axis",
        states=(
            State("dkk1", 1.0, "ng/mL", "serum DKK1"),
            State("neut_immature", 2e4, "cells", "immature, suppressive neutrophils"),
            State("neut_mature", 8e4, "cells", "mature neutrophils"),
            State("chi3l3", 0.2, "a.u.", "CHI3L3 made by immature neutrophils"),
        ),
        parameters=(
            Parameter("p_D0", 0.1, "ng/mL/day", 0, 10, "basal DKK1 production", CHOICE),
            Parameter("p_D", 0.02, "ng/mL/(1e6 cells·day)", 0, 10, "DKK1 secretion by bone tumour cells", "source DKK1; " + CHOICE),
            Parameter("k_D", 0.1, "1/day", 0.01, 10, "DKK1 clearance", CHOICE),
            Parameter("k_AD", 2.0, "1/(mg/kg·day)", 0, 1e3, "DKK1 neutralisation by anti-DKK1", CHOICE),
            Parameter("s_N", 2e4, "cells/day", 0, 1e7, "neutrophil supply (immature)", CHOICE),
            Parameter("k_mat", 1.0, "1/day", 0.01, 10, "neutrophil maturation rate without DKK1", CHOICE),
            Parameter("h_D", 2.0, "ng/mL", 1e-3, 1e3, "DKK1 level halving maturation", CHOICE, True),
            Parameter("d_N", 0.25, "1/day", 0.01, 5, "neutrophil death rate", CHOICE),
            Parameter("p_Q", 1e-5, "a.u./(cell·day)", 0, 1, "CHI3L3 production per immature neutrophil", CHOICE),
            Parameter("k_Q", 1.0, "1/day", 0.01, 10, "CHI3L3 clearance", CHOICE),
        ),
        terms=(
            Term("dkk1_production", "p_D0 + p_D*tumor/1e6", {"dkk1": 1}, "bone metastases secrete DKK1"),
            Term("dkk1_clearance", "k_D*dkk1", {"dkk1": -1}),
            Term("dkk1_neutralisation", "k_AD*anti_dkk1*dkk1", {"dkk1": -1}, "anti-DKK1 antibody binds DKK1"),
            Term("neut_supply", "s_N", {"neut_immature": 1}),
            Term("neut_maturation", "k_mat*neut_immature/(1 + dkk1/h_D)", {"neut_immature": -1, "neut_mature": 1},
                 "DKK1 holds neutrophils immature (source DKK1)"),
            Term("neut_immature_death", "d_N*neut_immature", {"neut_immature": -1}),
            Term("neut_mature_death", "d_N*neut_mature", {"neut_mature": -1}),
            Term("chi3l3_production", "p_Q*neut_immature", {"chi3l3": 1}, "immature neutrophils make CHI3L3"),
            Term("chi3l3_clearance", "k_Q*chi3l3", {"chi3l3": -1}),
        ),
        observables=(
            Observable("neutrophils", "neut_immature + neut_mature", "cells"),
            Observable("immature_fraction", "neut_immature/(neut_immature + neut_mature)", "1"),
        ),
    )


def cd8() -> Module:
    return Module(
        "cd8",
        states=(State("cd8", 2e3, "cells", "infiltrating CD8+ T cells in the lesion"),),
        parameters=(
            Parameter("s_C", 3e3, "cells/day", 0, 1e7, "maximal tumour-driven CD8 recruitment", CHOICE),
            Parameter("h_C", 1e6, "cells", 1e3, 1e10, "tumour size of half-maximal recruitment", CHOICE, True),
            Parameter("X_er", 2e4, "cells", 1, 1e8, "ERα+ macrophages halving CD8 entry", "source ER; " + CHOICE, True),
            Parameter("r_C", 0.3, "1/day", 0, 3, "maximal CD8 expansion", CHOICE),
            Parameter("d_C", 0.2, "1/day", 0.01, 3, "CD8 death/egress", CHOICE),
            Parameter("IC_Q", 0.5, "a.u.", 1e-3, 1e3, "CHI3L3 halving CD8 function", "source DKK1; " + CHOICE, True),
            Parameter("e_PD1", 4.0, "1", 0, 100, "fold loss of CD8 function by PD-1 exhaustion", CHOICE),
            Parameter("EC50_P", 1.0, "mg/kg", 1e-3, 1e3, "anti-PD-1 level of half-maximal blockade", CHOICE, True),
        ),
        terms=(
            Term("cd8_entry", "s_C*tumor/(tumor + h_C)/(1 + mac_er/X_er)", {"cd8": 1},
                 "CD8 recruitment, excluded by ERα-active macrophages (source ER)"),
            Term("cd8_expansion", "r_C*cd8_function*cd8*tumor/(tumor + h_C)", {"cd8": 1}, "antigen-driven expansion"),
            Term("cd8_death", "d_C*cd8", {"cd8": -1}),
        ),
        observables=(
            Observable("pd1_blockade", "anti_pd1/(anti_pd1 + EC50_P)", "1", "fraction of PD-1 blocked"),
            Observable("cd8_function", "(1 + e_PD1*pd1_blockade)/(1 + e_PD1)/(1 + chi3l3/IC_Q)", "1",
                       "functional fraction of CD8 cells: PD-1 exhaustion and CHI3L3 suppression"),
        ),
    )


def pharmacokinetics() -> Module:
    return Module(
        "pharmacokinetics",
        states=(
            State("fulv", 0.0, "mg/kg", "fulvestrant exposure"),
            State("anti_dkk1", 0.0, "mg/kg", "anti-DKK1 antibody exposure"),
            State("anti_pd1", 0.0, "mg/kg", "anti-PD-1 antibody exposure"),
        ),
        parameters=(
            Parameter("k_fulv", 0.17, "1/day", 0.01, 10, "fulvestrant elimination (mouse t1/2 ~4 days, depot s.c.)", CHOICE),
            Parameter("k_anti_dkk1", 0.1, "1/day", 0.01, 5, "anti-DKK1 IgG elimination (t1/2 ~7 days)", CHOICE),
            Parameter("k_anti_pd1", 0.15, "1/day", 0.01, 5, "anti-PD-1 IgG elimination in mice", CHOICE),
        ),
        terms=(
            Term("fulv_elimination", "k_fulv*fulv", {"fulv": -1}),
            Term("anti_dkk1_elimination", "k_anti_dkk1*anti_dkk1", {"anti_dkk1": -1}),
            Term("anti_pd1_elimination", "k_anti_pd1*anti_pd1", {"anti_pd1": -1}),
        ),
    )

"""ER axis: tumour extracellular-vesicle fatty acids switch on ERα in bone macrophages.

Source ER (Baylor, X. Zhang lab): cancer cells ship fatty acids in
extracellular vesicles to nearby bone macrophages; the metabolic switch turns
on ERα, driven by the tumour rather than by systemic estrogen; ERα-active
macrophages form a physical and chemical barrier that keeps CD8 T cells out;
fulvestrant degrades ERα and lets T cells in.

The barrier acts in :mod:`.tcells` (CD8 entry and PD-1 engagement).
"""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term
from ._sources import CAL, CHOICE, ER

__all__ = ["ev_fatty_acids", "macrophage_er"]


def ev_fatty_acids() -> Module:
    """Fatty-acid cargo delivered by tumour extracellular vesicles to niche macrophages.

    Returns
    -------
    Module
        State ``ev_fa`` (a.u.; 1 a.u. is the steady cargo of a 1e6-cell
        lesion) and the term ``ev_fa_transfer`` that the EV-transfer knockout
        removes.
    """
    return Module(
        "ev_fatty_acids",
        states=(State("ev_fa", 0.0, "a.u.", "EV-delivered fatty-acid load of niche macrophages"),),
        parameters=(
            Parameter("p_ev", 1.0, "a.u./(1e6 cells·day)", 0.0, 1e3, "EV fatty-acid delivery per 1e6 tumour cells",
                      f"{ER}; scale-setting (defines the a.u.)"),
            Parameter("k_ev", 1.0, "1/day", 0.01, 100.0, "metabolism of the delivered fatty acids",
                      f"{CHOICE}: lipid turnover of about a day", True),
        ),
        terms=(
            Term("ev_fa_transfer", "p_ev*tumor/1e6", {"ev_fa": 1},
                 "cancer cells ship fatty acids in extracellular vesicles to nearby macrophages"),
            Term("ev_fa_metabolism", "k_ev*ev_fa", {"ev_fa": -1}, "macrophages metabolise the fatty-acid load"),
        ),
        description=f"Tumour EV fatty-acid transfer to bone macrophages ({ER}).",
    )


def macrophage_er() -> Module:
    """ERα activation of niche macrophages by the fatty-acid load, and its degradation by fulvestrant.

    Returns
    -------
    Module
        State ``er_fraction`` (mean ERα activation of niche macrophages,
        0–1), terms ``er_activation`` (knocked out in the macrophage-ERα
        knockout), ``er_deactivation`` and ``er_degradation_fulvestrant``;
        observables ``fulv_block`` and ``mac_er`` (ERα-active macrophages).

    Notes
    -----
    ``er_fraction`` is the ERα-active share of all niche macrophages
    (resident and monocyte-derived), treated as well mixed: macrophages that
    enter the fatty-acid-rich niche switch with the same kinetics, and
    turnover is absorbed into the switching rates.
    """
    return Module(
        "macrophage_er",
        states=(State("er_fraction", "k_er0/(k_er0 + k_er_off)", "1",
                      "ERα-active fraction of niche macrophages (tumour-free steady state at day 0)"),),
        parameters=(
            Parameter("k_er0", 0.01, "1/day", 0.0, 1.0, "tumour-independent ERα activation",
                      f"{CHOICE}: ~5 % ERα-active macrophages in tumour-free bone"),
            Parameter("k_er", 2.168, "1/day", 0.0, 10.0, "largest fatty-acid-driven ERα activation rate",
                      f"{ER}: metabolic switch on fatty-acid uptake; {CHOICE}, {CAL}"),
            Parameter("h_ev", 1.0, "a.u.", 1e-3, 1e3, "fatty-acid load of half-maximal activation",
                      f"{CHOICE}: half-maximal at a ~1e6-cell lesion", True),
            Parameter("k_er_off", 0.2, "1/day", 0.01, 10.0, "loss of ERα activity (switch-off and turnover)",
                      CHOICE, True),
            Parameter("IC50_fulv", 20.0, "mg/kg", 0.01, 1e4, "fulvestrant exposure of half-maximal ERα degradation",
                      f"{CHOICE}: the 200 mg/kg weekly regimen keeps ERα largely degraded", True),
            Parameter("k_deg_fulv", 1.0, "1/day", 0.0, 100.0, "largest fulvestrant-induced loss of active ERα",
                      f"{ER}: fulvestrant is an ER degrader; {CHOICE}"),
        ),
        terms=(
            Term("er_activation", "(k_er0 + k_er*ev_fa/(ev_fa + h_ev))*(1 - er_fraction)*(1 - fulv_block)",
                 {"er_fraction": 1}, "fatty-acid uptake switches on macrophage ERα (no ERα: no activation)"),
            Term("er_deactivation", "k_er_off*er_fraction", {"er_fraction": -1}, "ERα activity is lost"),
            Term("er_degradation_fulvestrant", "k_deg_fulv*fulv_block*er_fraction", {"er_fraction": -1},
                 "fulvestrant degrades ERα in active macrophages"),
        ),
        observables=(
            Observable("fulv_block", "fulv/(fulv + IC50_fulv)", "1", "fraction of ERα degraded by fulvestrant"),
            Observable("mac_er", "er_fraction*macrophages", "cells", "ERα-active niche macrophages"),
        ),
        description=f"Macrophage ERα switch driven by tumour fatty acids; fulvestrant degrades ERα ({ER}).",
    )

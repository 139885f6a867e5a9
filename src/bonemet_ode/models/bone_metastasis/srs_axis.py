"""SRS axis: seeding of bone, Src-dependent survival of newly arrived cells, the primary tumour.

Source SRS (Massagué lab, Cell 2013): CXCL12 and IGF1 from primary-tumour
stroma select cancer cells with the Src response signature (SRS); SRS gives
no advantage in the primary tumour, but bone marrow also makes CXCL12 and
IGF1, so SRS-high cells survive better in bone; tens of thousands of cancer
cells circulate per day, so a small per-cell survival edge changes the odds
of a bone lesion; Src inhibitors prevent colonisation but fail on
established lesions.

Mechanism chosen here: Src signalling is needed for a newly arrived
(dormant, non-proliferating) cell to start a colony; it is not needed by a
proliferating lesion.  A Src inhibitor therefore removes founders while
they are still arriving and has nothing to act on once the dormant pool has
resolved (a few days after seeding).
"""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term
from ._sources import BUTLER, CHOICE, LUZZI, SRS

__all__ = ["srs_signalling", "primary_tumour", "bone_seeding", "circulation_seeding"]


def srs_signalling() -> Module:
    """Src activity of cancer cells from their SRS level, the CXCL12/IGF1 they see and the Src inhibitor.

    Returns
    -------
    Module
        Observables ``srs_primary`` (SRS level of cells leaving the primary
        tumour), ``src_signal`` (Src activity of directly seeded cells in
        bone) and ``src_signal_ctc`` (of circulation-derived cells), all in
        [0, 1].
    """
    return Module(
        "srs_signalling",
        parameters=(
            Parameter("srs", 0.3, "1", 0.0, 1.0, "SRS level of the cancer cells (0: SRS-low, 1: SRS-high)",
                      f"{SRS}: clone property; parental population taken as mostly SRS-low; {CHOICE}"),
            Parameter("cyt_bone", 1.0, "rel.", 0.01, 100.0, "CXCL12/IGF1 level of bone marrow (reference level 1)",
                      f"{SRS}: bone marrow makes CXCL12 and IGF1; defines the unit"),
            Parameter("cyt_primary", 0.5, "rel.", 0.0, 100.0,
                      "CXCL12/IGF1 level of the primary-tumour stroma, relative to bone marrow",
                      f"{SRS}: mesenchymal stroma of some primaries makes CXCL12/IGF1; {CHOICE}"),
            Parameter("K_cyt", 1.0, "rel.", 0.01, 100.0, "cytokine level of half-maximal Src activation",
                      f"{CHOICE} (equal to the bone-marrow level)", True),
            Parameter("sel_stroma", 0.8, "1", 0.0, 1.0,
                      "largest share of SRS-low cells switched to SRS-high by CXCL12/IGF1-rich stroma",
                      f"{SRS}: stroma selects SRS-active cells; {CHOICE}"),
            Parameter("K_sel", 1.0, "rel.", 0.01, 100.0, "stroma cytokine level of half-maximal SRS selection",
                      CHOICE, True),
            Parameter("IC50_src", 1.0, "mg/kg", 1e-3, 1e3, "Src-inhibitor exposure halving Src activity",
                      f"{CHOICE}: with 25 mg/kg daily and t1/2 4 h, about 70 % inhibition averaged over a day", True),
        ),
        observables=(
            Observable("src_inhibition", "1/(1 + src_inhibitor/IC50_src)", "1",
                       "fraction of Src activity left by the Src inhibitor"),
            Observable("srs_primary", "srs + (1 - srs)*sel_stroma*cyt_primary/(cyt_primary + K_sel)", "1",
                       "SRS level of cells leaving the primary tumour after stroma selection"),
            Observable("src_signal", "srs*cyt_bone/(cyt_bone + K_cyt)*src_inhibition", "1",
                       "Src activity of directly seeded cells in bone"),
            Observable("src_signal_ctc", "srs_primary*cyt_bone/(cyt_bone + K_cyt)*src_inhibition", "1",
                       "Src activity of circulation-derived cells in bone"),
        ),
        description=f"Src response signature and CXCL12/IGF1 responsiveness ({SRS}).",
    )


def primary_tumour() -> Module:
    """The primary (orthotopic) tumour, where SRS gives no growth advantage.

    Returns
    -------
    Module
        State ``primary_tumor`` (cells; 0 unless an arm implants one) and
        the term ``primary_growth``.  The SRS effect on primary growth is a
        parameter (``e_srs_primary``, default 0.02) so that "no advantage"
        is a calibratable, testable statement rather than a structural zero.
    """
    return Module(
        "primary_tumour",
        states=(State("primary_tumor", 0.0, "cells", "cancer cells at the primary (mammary) site"),),
        parameters=(
            Parameter("r_P", 0.2, "1/day", 0.01, 2.0, "net growth rate of the primary tumour",
                      f"{CHOICE}: doubling ~3.5 days, orthotopic mouse mammary tumours", True),
            Parameter("K_P", 2e9, "cells", 1e7, 1e11, "carrying capacity of the primary site (~2 g)", CHOICE, True),
            Parameter("e_srs_primary", 0.02, "1", 0.0, 1.0,
                      "relative growth gain of fully Src-active cells in the primary",
                      f"{SRS}: SRS does not significantly change primary growth; {CHOICE}"),
        ),
        terms=(
            Term("primary_growth",
                 "r_P*(1 + e_srs_primary*srs_primary*cyt_primary/(cyt_primary + K_cyt))"
                 "*primary_tumor*(1 - primary_tumor/K_P)",
                 {"primary_tumor": 1}, "logistic growth at the primary site, SRS-insensitive"),
        ),
        description=f"Primary tumour where SRS gives no advantage ({SRS}).",
    )


def bone_seeding() -> Module:
    """Directly seeded cells (day-0 intra-arterial dose) that must survive before they proliferate.

    Returns
    -------
    Module
        State ``dormant`` (cells, initial ``seed_dose``), terms
        ``dormant_death`` and ``colonisation`` (Src-dependent start of
        proliferation, into ``tumor``).

    Notes
    -----
    The per-cell probability of founding proliferation is
    ``k_col*S/(k_col*S + d_dorm)`` with ``S`` the Src activity; both fates
    resolve within a few days (``1/(d_dorm + k_col*S)``), so a Src inhibitor
    started after day ~10 finds almost no dormant cells left.
    """
    return Module(
        "bone_seeding",
        states=(State("dormant", "seed_dose", "cells", "newly arrived, not yet proliferating cancer cells in bone"),),
        parameters=(
            Parameter("seed_dose", 1e5, "cells", 1e2, 1e8, "cells reaching bone at day 0 (intra-arterial injection)",
                      f"{CHOICE}: 1e5 cells is a typical intra-iliac dose", True),
            Parameter("d_dorm", 0.3, "1/day", 0.01, 5.0, "death rate of newly arrived cells",
                      f"{LUZZI}: most cells that reach an organ die or stay dormant; {CHOICE}", True),
            Parameter("k_col", 0.12, "1/day", 1e-4, 10.0, "start of proliferation at full Src activity",
                      f"{SRS}; {CHOICE}: ~5 % of parental cells found colonies", True),
        ),
        terms=(
            Term("dormant_death", "d_dorm*dormant", {"dormant": -1}, "newly arrived cells die"),
            Term("colonisation", "k_col*src_signal*dormant", {"dormant": -1, "tumor": 1},
                 "Src signalling (CXCL12/IGF1) lets a newly arrived cell start a colony"),
        ),
        observables=(
            Observable("colonisation_rate", "k_col*src_signal*dormant", "cells/day",
                       "seeded cells starting to proliferate per day"),
        ),
        description=f"Survival of newly arrived cells in bone needs Src signalling ({SRS}, {LUZZI}).",
    )


def circulation_seeding() -> Module:
    """Spontaneous seeding of bone from the primary tumour through the circulation.

    Returns
    -------
    Module
        States ``dormant_ctc`` (cells) and ``colonisations`` (cumulative
        number of bone lesions founded from the circulation), observables
        ``ctc_flux`` (cells/day) and ``lesion_probability`` (probability of
        at least one lesion, Poisson).
    """
    return Module(
        "circulation_seeding",
        states=(
            State("dormant_ctc", 0.0, "cells",
                  "circulation-derived cancer cells lodged in bone, not yet proliferating"),
            State("colonisations", 0.0, "lesions", "cumulative number of bone lesions founded from the circulation"),
        ),
        parameters=(
            Parameter("q_shed", 5e-5, "1/day", 0.0, 1e-2, "fraction of primary cells shed into blood per day",
                      f"{SRS}: tens of thousands of circulating cells per day at ~4e8 primary cells; "
                      f"{BUTLER} measured up to ~4e-3/day in rat tumours (upper bound)"),
            Parameter("f_bone", 1.5e-4, "1", 0.0, 1.0,
                      "fraction of shed cells that survive the circulation and lodge in bone marrow",
                      f"{LUZZI}: metastatic inefficiency; {CHOICE}"),
        ),
        terms=(
            Term("ctc_bone_arrival", "q_shed*f_bone*primary_tumor", {"dormant_ctc": 1},
                 "circulating cancer cells lodge in bone marrow"),
            Term("dormant_ctc_death", "d_dorm*dormant_ctc", {"dormant_ctc": -1}, "lodged cells die"),
            Term("ctc_colonisation", "k_col*src_signal_ctc*dormant_ctc",
                 {"dormant_ctc": -1, "tumor": 1, "colonisations": 1},
                 "a lodged cell starts a lesion (Src-dependent, as for seeded cells)"),
        ),
        observables=(
            Observable("ctc_flux", "q_shed*primary_tumor", "cells/day", "cancer cells entering the circulation"),
            Observable("lesion_probability", "1 - exp(-colonisations)", "1",
                       "probability of at least one bone lesion founded from the circulation (Poisson)"),
            Observable("lesion_odds_per_ctc", "f_bone*k_col*src_signal_ctc/(k_col*src_signal_ctc + d_dorm)", "1",
                       "probability that one circulating cell founds a bone lesion"),
        ),
        description=f"Circulating cells seed bone; a tiny per-cell chance times a large flux ({SRS}).",
    )

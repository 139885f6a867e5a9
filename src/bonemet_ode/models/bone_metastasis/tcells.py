"""CD8 T cells in the lesion: entry past the ERα macrophage barrier, activation, PD-1 exhaustion, killing.

Arrows (biology.md §1): ERα-active macrophages keep CD8 cells out (ER);
CHI3L3 from immature neutrophils disrupts CD8 activation and cytotoxicity
(DKK1); TAMs turn CD8 cells off (TAM); PD-1 engagement exhausts CD8 cells and
anti-PD-1 blocks it.  Modelling choice: the "chemical barrier" of ERα-active
macrophages includes PD-1 ligation, so ERα-active macrophages are the main
source of PD-1 engagement in bone; fulvestrant then removes most of what
anti-PD-1 would block (no synergy, source ER), while anti-DKK1 does not
(synergy, source DKK1).

Turnover of exhausted cells (changed after review, issue #12).  The first
version let TAMs remove functional cells only (``cd8_loss_tam``) and let
exhausted cells die slowly (``d_ex`` ~ 0.1/day, "they persist"); anti-PD-1
then moved cells from the protected exhausted pool into the one that TAMs
remove, and anti-PD-1 alone *lowered* total infiltrating CD8 to ~52 % of
control -- an artefact that O12 (resistance to anti-PD-1) leaned on.  Now
TAM-mediated removal acts on every CD8 cell in the lesion, exhausted or not
(macrophages trap CD8 cells away from tumour cells and kill or exclude them
whatever their PD-1 state: Peranzoni et al., PNAS 2018; source TAM: "TAMs
turn off CD8 T cells"), and exhausted cells turn over at least as fast as
functional ones, ``d_C + d_ex_extra`` (terminally exhausted PD-1-high cells
do not divide and are short-lived, sustained only by a progenitor pool:
Paley et al., Science 2012; Im et al., Nature 2016).  A cell reinvigorated by
anti-PD-1 therefore never leaves faster than it would have as an exhausted
cell, and may divide: PD-1 blockade cannot lower total CD8 by itself (only
indirectly, by shrinking the antigen source), and resistance to anti-PD-1
(O12) must come from CHI3L3 and the ERα barrier, as the sources say.
"""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term
from ._sources import CAL, CHOICE, DKK1, ER, KUZNETSOV, TAM

__all__ = ["cd8_priming", "cd8_infiltration", "cd8_activation", "pd1_exhaustion", "cd8_killing"]


def cd8_priming() -> Module:
    """Priming of tumour-specific CD8 T cells: a delayed, lasting copy of the tumour-antigen signal.

    Returns
    -------
    Module
        State ``cd8_priming`` (0–1) with ``d(priming)/dt = k_prime*(antigen - priming)``.

    Notes
    -----
    Cross-priming in draining lymph nodes takes days, and primed cells keep
    dividing for days after antigen has gone (a programmed expansion), so
    entry and expansion follow ``cd8_priming`` rather than the current
    antigen: the response starts late and outlasts a shrinking lesion.
    """
    return Module(
        "cd8_priming",
        states=(State("cd8_priming", 0.0, "1", "priming of tumour-specific CD8 T cells (delayed antigen signal)"),),
        parameters=(
            Parameter("k_prime", 0.09478, "1/day", 0.01, 10.0, "rate of priming and of its decay",
                      f"{CHOICE}, {CAL}: priming builds and fades over ~2 weeks (1/k_prime = 13 days)", True),
        ),
        terms=(
            Term("cd8_priming_gain", "k_prime*antigen", {"cd8_priming": 1}, "tumour antigen primes CD8 T cells"),
            Term("cd8_priming_decay", "k_prime*cd8_priming", {"cd8_priming": -1}, "priming fades without antigen"),
        ),
        description="Delayed priming of tumour-specific CD8 T cells.",
    )


def cd8_infiltration() -> Module:
    """CD8 T-cell entry into the lesion, excluded by ERα-active macrophages.

    Returns
    -------
    Module
        States ``cd8_eff`` (functional CD8 T cells, at the tumour-free level
        ``s_C0/d_C``) and ``cd8_exh`` (PD-1-exhausted), terms
        ``cd8_homeostatic_entry``, ``cd8_entry``, ``cd8_death``,
        ``cd8_exh_death`` (exhausted cells die at ``d_C + d_ex_extra``, at
        least as fast as functional cells); observables ``er_exclusion`` and ``cd8``.
    """
    return Module(
        "cd8_infiltration",
        states=(
            State("cd8_eff", "s_C0/d_C", "cells", "functional (non-exhausted) CD8 T cells in the lesion"),
            State("cd8_exh", 0.0, "cells", "PD-1-exhausted CD8 T cells in the lesion"),
        ),
        parameters=(
            Parameter("s_C0", 4.493, "cells/day", 0.1, 1e6, "tumour-independent CD8 trafficking through the niche",
                      f"{CHOICE}, {CAL}: ~60 CD8 cells in the tumour-free niche", True),
            Parameter("s_C", 6459.0, "cells/day", 1.0, 1e7, "largest tumour-driven CD8 entry",
                      f"{CHOICE}, {CAL}: tumour-antigen-driven recruitment", True),
            Parameter("X_er", 15370.0, "cells", 1.0, 1e8, "ERα-active macrophages halving CD8 entry",
                      f"{ER}: physical barrier; {CHOICE}, {CAL}", True),
            Parameter("d_C", 0.08383, "1/day", 0.05, 1.0, "death or egress of functional CD8 cells",
                      f"{CHOICE}, {CAL}: effector lifespan of days in tissue", True),
            Parameter("d_ex_extra", 0.09554, "1/day", 0.0, 0.5,
                      "extra death of exhausted CD8 cells beyond that of functional cells (d_C)",
                      "Paley et al., Science 2012; Im et al., Nature 2016: terminally exhausted cells do not "
                      f"divide and are short-lived; {CHOICE}, {CAL}"),
        ),
        terms=(
            Term("cd8_homeostatic_entry", "s_C0", {"cd8_eff": 1}, "tumour-independent trafficking"),
            Term("cd8_entry", "s_C*cd8_priming*er_exclusion", {"cd8_eff": 1},
                 "tumour-driven CD8 entry, blocked by the ERα macrophage barrier"),
            Term("cd8_death", "d_C*cd8_eff", {"cd8_eff": -1}, "death or egress"),
            Term("cd8_exh_death", "(d_C + d_ex_extra)*cd8_exh", {"cd8_exh": -1},
                 "death or egress of exhausted cells, at least as fast as of functional cells"),
        ),
        observables=(
            Observable("er_exclusion", "1/(1 + mac_er/X_er)", "1",
                       "share of CD8 entry let through by ERα+ macrophages"),
            Observable("cd8", "cd8_eff + cd8_exh", "cells", "all infiltrating CD8 T cells"),
        ),
        description=f"CD8 entry past the ERα-active macrophage barrier ({ER}).",
    )


def cd8_activation() -> Module:
    """Antigen-driven CD8 activation and expansion, suppressed by CHI3L3 and by TAMs; TAMs also remove CD8 cells.

    Returns
    -------
    Module
        Terms ``cd8_expansion``, ``cd8_loss_tam`` and ``cd8_exh_loss_tam``
        (TAMs remove functional and exhausted cells alike); observables ``tam_suppression`` and
        ``cd8_function`` (share of activation and cytotoxicity left by
        CHI3L3 and TAMs).
    """
    return Module(
        "cd8_activation",
        parameters=(
            Parameter("r_C", 2.97, "1/day", 0.1, 3.0, "largest antigen-driven CD8 expansion rate",
                      f"{CHOICE}, {CAL}: within 1 % of its upper bound 3/day (a doubling every ~5.6 h, the "
                      "fastest in-vivo CD8 expansion)"),
            Parameter("X_tam", 30390.0, "cells", 1.0, 1e9, "TAMs halving CD8 activation and cytotoxicity",
                      f"{TAM}: TAMs turn off CD8 cells; {CHOICE}, {CAL}", True),
            Parameter("d_C_tam", 0.8135, "1/day", 0.0, 5.0, "largest extra loss of CD8 cells due to TAMs",
                      f"{TAM}: fewer TAMs, more CD8 cells in the tumour; Peranzoni et al., PNAS 2018: "
                      f"macrophages trap and remove CD8 cells whatever their PD-1 state; {CHOICE}, {CAL}"),
        ),
        terms=(
            Term("cd8_expansion", "r_C*cd8_priming*cd8_function*cd8_eff", {"cd8_eff": 1},
                 "activation-driven expansion (disrupted by CHI3L3, turned off by TAMs)"),
            Term("cd8_loss_tam", "d_C_tam*(1 - tam_suppression)*cd8_eff", {"cd8_eff": -1},
                 "TAMs remove functional CD8 cells from the lesion"),
            Term("cd8_exh_loss_tam", "d_C_tam*(1 - tam_suppression)*cd8_exh", {"cd8_exh": -1},
                 "TAMs remove exhausted CD8 cells alike (no refuge from TAMs in exhaustion)"),
        ),
        observables=(
            Observable("tam_suppression", "1/(1 + tams/X_tam)", "1", "CD8 function left by TAMs"),
            Observable("cd8_function", "chi3l3_suppression*tam_suppression", "1",
                       "share of CD8 activation and cytotoxicity left by CHI3L3 and TAMs"),
        ),
        description=f"CD8 activation, suppressed by CHI3L3 ({DKK1}) and TAMs ({TAM}).",
    )


def pd1_exhaustion() -> Module:
    """PD-1-mediated exhaustion of CD8 cells and its blockade by anti-PD-1.

    Returns
    -------
    Module
        Terms ``cd8_exhaustion`` and ``cd8_reinvigoration``; observables
        ``pd1_blockade`` and ``pd1_engagement``.
    """
    return Module(
        "pd1_exhaustion",
        parameters=(
            Parameter("k_ex", 0.4107, "1/day", 0.0, 10.0, "largest PD-1-mediated exhaustion rate",
                      f"{CHOICE}, {CAL}: chronic antigen exhausts CD8 cells within days"),
            Parameter("w_pdl1_mac", 0.9351, "1", 0.0, 0.95, "share of PD-1 engagement due to ERα-active macrophages",
                      f"{ER}: chemical barrier read as PD-1 ligation; {CAL}, near its upper bound 0.95 "
                      "(tumour PD-L1 keeps >= 5 %)"),
            Parameter("X_pdl1", 8969.0, "cells", 1.0, 1e8, "ERα-active macrophages of half-maximal PD-1 engagement",
                      f"{CHOICE}, {CAL}", True),
            Parameter("EC50_pd1", 5.461, "mg/kg", 1e-3, 1e3, "anti-PD-1 exposure of half-maximal PD-1 blockade",
                      f"{CHOICE}, {CAL}: 10 mg/kg every 3 days keeps 57-77 % of PD-1 blocked", True),
            Parameter("k_reinv", 0.2947, "1/day", 0.0, 5.0, "largest reinvigoration of exhausted cells by anti-PD-1",
                      f"{CHOICE}, {CAL}"),
        ),
        terms=(
            Term("cd8_exhaustion", "k_ex*pd1_engagement*(1 - pd1_blockade)*cd8_eff", {"cd8_eff": -1, "cd8_exh": 1},
                 "PD-1 ligation exhausts CD8 cells"),
            Term("cd8_reinvigoration", "k_reinv*pd1_blockade*cd8_exh", {"cd8_exh": -1, "cd8_eff": 1},
                 "anti-PD-1 reinvigorates exhausted cells"),
        ),
        observables=(
            Observable("pd1_blockade", "anti_pd1/(anti_pd1 + EC50_pd1)", "1", "fraction of PD-1 blocked by anti-PD-1"),
            Observable("pd1_engagement",
                       "antigen*((1 - w_pdl1_mac) + w_pdl1_mac*mac_er/(mac_er + X_pdl1))", "1",
                       "PD-1 ligation of antigen-stimulated CD8 cells (tumour and ERα+ macrophage ligands)"),
        ),
        description=f"PD-1 exhaustion, partly imposed by ERα-active macrophages ({ER}, {DKK1}).",
    )


def cd8_killing() -> Module:
    """Killing of cancer cells by functional CD8 T cells (mass action, saturating in very large lesions).

    Returns
    -------
    Module
        Term ``tumor_kill``: ``k_kill * cd8_function * cd8_eff * tumor/(1 + tumor/h_kill)``,
        the effector–target mass action of Kuznetsov et al. (1994) with a
        saturation for lesions larger than ``h_kill``.
    """
    return Module(
        "cd8_killing",
        parameters=(
            Parameter("k_kill", 4.951e-05, "1/(cell·day)", 1e-8, 1.0, "kill rate constant per functional CD8 T cell",
                      f"{KUZNETSOV} form; {CHOICE}, {CAL}: effective killing including cytokine (IFN-γ) bystander "
                      "effects, set so that untreated lesions escape", True),
            Parameter("h_kill", 1e8, "cells", 1e4, 1e11, "lesion size above which killing per CD8 saturates",
                      CHOICE, True),
        ),
        terms=(
            Term("tumor_kill", "k_kill*cd8_function*cd8_eff*tumor/(1 + tumor/h_kill)", {"tumor": -1},
                 "functional CD8 T cells kill cancer cells"),
        ),
        observables=(
            Observable("cd8_killing_rate", "k_kill*cd8_function*cd8_eff/(1 + tumor/h_kill)", "1/day",
                       "per-cancer-cell kill rate"),
        ),
        description=f"Cytotoxic CD8 killing ({KUZNETSOV}).",
    )

"""TAM axis: resident bone macrophages, tumour-recruited monocytes and Notch-dependent TAMs.

Source TAM (M. Li lab, Science 2014): circulating monocytes are recruited
into the growing tumour, become tumour-associated macrophages (TAMs) and
proliferate in situ; TAM development needs Notch signalling (RBPJ); TAMs
turn off CD8 T cells; a myeloid Notch knockout gives fewer TAMs, more CD8 T
cells and slower growth.  Recruitment by the tumour follows CCL2-driven
monocyte recruitment (Qian et al. 2011).
"""

from __future__ import annotations

from ...model import Module, Observable, Parameter, State, Term
from ._sources import CAL, CHOICE, ER, QIAN, TAM

__all__ = ["resident_macrophages", "monocytes_and_tams", "notch_signalling"]


def resident_macrophages() -> Module:
    """Tissue-resident bone-marrow macrophages in the metastatic niche (homeostatic turnover).

    Returns
    -------
    Module
        State ``mac_resident`` (cells, at its steady state ``s_res/d_res``)
        and the observable ``macrophages`` (resident plus TAMs).
    """
    return Module(
        "resident_macrophages",
        states=(State("mac_resident", "s_res/d_res", "cells", "resident bone-marrow macrophages in the niche"),),
        parameters=(
            Parameter("s_res", 5e3, "cells/day", 10.0, 1e7, "renewal of resident niche macrophages",
                      f"{CHOICE}: ~5e4 resident macrophages around a lesion", True),
            Parameter("d_res", 0.1, "1/day", 0.005, 2.0, "turnover of resident macrophages", CHOICE, True),
        ),
        terms=(
            Term("mac_resident_renewal", "s_res", {"mac_resident": 1}, "homeostatic renewal"),
            Term("mac_resident_death", "d_res*mac_resident", {"mac_resident": -1}, "homeostatic turnover"),
        ),
        observables=(
            Observable("macrophages", "mac_resident + tams", "cells", "all niche macrophages (resident and TAMs)"),
        ),
        description=f"Macrophage-rich bone niche ({ER}).",
    )


def notch_signalling() -> Module:
    """Notch (RBPJ) signalling in myeloid cells and its pharmacological inhibition.

    Returns
    -------
    Module
        Observable ``notch_signal`` (fraction of Notch activity left, 0–1).
        The myeloid Notch knockout removes the Notch-dependent terms of
        :func:`monocytes_and_tams` instead.
    """
    return Module(
        "notch_signalling",
        parameters=(
            Parameter("IC50_notch", 0.5, "mg/kg", 1e-3, 1e3, "Notch-inhibitor exposure halving Notch signalling",
                      f"{CHOICE}: 5 mg/kg daily with t1/2 4 h halves Notch signalling on average", True),
        ),
        observables=(
            Observable("notch_signal", "1/(1 + notch_inhibitor/IC50_notch)", "1",
                       "Notch activity left by the inhibitor"),
        ),
        description=f"Notch signalling needed by TAMs ({TAM}).",
    )


def monocytes_and_tams() -> Module:
    """Monocyte recruitment by the tumour, Notch-dependent differentiation into TAMs, TAM proliferation.

    Returns
    -------
    Module
        States ``monocytes`` and ``tams`` (cells); the myeloid Notch
        knockout is ``Knockout(("tam_differentiation_notch", "tam_proliferation"))``.

    Notes
    -----
    TAM proliferation is slower than TAM loss (``r_tam < d_tam``), so the
    TAM pool is fed by recruitment and amplified ``d_tam/(d_tam - r_tam)``
    fold by in-situ division; without Notch both the amplification and most
    of the differentiation go.
    """
    return Module(
        "monocytes_and_tams",
        states=(
            State("monocytes", 0.0, "cells", "inflammatory monocytes recruited into the lesion"),
            State("tams", 0.0, "cells", "monocyte-derived tumour-associated macrophages"),
        ),
        parameters=(
            Parameter("a_mono", 54030.0, "cells/day", 10.0, 1e7, "largest tumour-driven monocyte recruitment",
                      f"{TAM}; {QIAN} (CCL2); {CHOICE}, {CAL}", True),
            Parameter("h_mono", 1172000.0, "cells", 1e2, 1e10, "lesion size of half-maximal monocyte recruitment",
                      f"{CHOICE}, {CAL}: recruitment keeps rising with lesion size (CCL2 and CSF1 output)", True),
            Parameter("d_mono", 0.5, "1/day", 0.01, 10.0, "death or egress of recruited monocytes",
                      f"{CHOICE}: monocytes live about a day in tissue", True),
            Parameter("k_diff", 0.5, "1/day", 0.01, 10.0, "differentiation of monocytes into TAMs", CHOICE, True),
            Parameter("f_notch", 0.7, "1", 0.0, 1.0, "Notch-dependent share of TAM differentiation",
                      f"{TAM}: TAM development needs Notch/RBPJ; {CHOICE} (knockouts are incomplete)"),
            Parameter("r_tam", 0.2716, "1/day", 0.0, 2.0, "in-situ TAM proliferation rate (Notch-dependent)",
                      f"{TAM}: TAMs divide in the tumour; {CHOICE}, {CAL}"),
            Parameter("d_tam", 0.3, "1/day", 0.01, 5.0, "TAM death rate", CHOICE, True),
        ),
        terms=(
            Term("monocyte_recruitment", "a_mono*tumor/(tumor + h_mono)", {"monocytes": 1},
                 "the growing tumour recruits circulating monocytes"),
            Term("monocyte_death", "d_mono*monocytes", {"monocytes": -1}, "recruited monocytes die or leave"),
            Term("tam_differentiation", "k_diff*(1 - f_notch)*monocytes", {"monocytes": -1, "tams": 1},
                 "Notch-independent differentiation into TAMs"),
            Term("tam_differentiation_notch", "k_diff*f_notch*notch_signal*monocytes", {"monocytes": -1, "tams": 1},
                 "Notch/RBPJ-dependent differentiation into TAMs"),
            Term("tam_proliferation", "r_tam*notch_signal*tams", {"tams": 1}, "Notch-dependent TAM division in situ"),
            Term("tam_death", "d_tam*tams", {"tams": -1}, "TAM death"),
        ),
        description=f"Monocyte-derived, Notch-dependent TAMs ({TAM}, {QIAN}).",
    )

"""Treatment arms and experimental variants of the bone-metastasis model.

Regimens (mouse, treatment from day 7 unless stated; amounts in mg/kg):

========================  =========================================  =====================================
drug                      regimen                                    reasoning
========================  =========================================  =====================================
fulvestrant               200 mg/kg s.c. weekly                      ~5 mg per 25 g mouse, the usual
                                                                     preclinical depot regimen
anti-DKK1 antibody        10 mg/kg i.p. twice weekly (days 0, 3)     usual mouse antibody regimen
anti-PD-1 antibody        10 mg/kg i.p. every 3 days                 ~200 µg per mouse
Notch inhibitor           5 mg/kg i.p. daily                         γ-secretase inhibitor, daily
Src inhibitor             25 mg/kg p.o. daily                        dasatinib-like kinase inhibitor
========================  =========================================  =====================================

Genetic knockouts act from day 0 and are knockouts of named rate terms
(:class:`~bonemet_ode.simulate.Knockout`), so they reuse the compiled code.
"""

from __future__ import annotations

from ...simulate.arm import Arm
from ...simulate.dosing import Dose
from ...simulate.perturbations import Deplete, Knockout, SetInitial, SetParameters

__all__ = [
    "default_arms", "scenario_arms", "fulvestrant", "anti_dkk1", "anti_pd1", "notch_inhibitor", "src_inhibitor",
    "TREATMENT_START", "ER_KNOCKOUT", "EV_FA_KNOCKOUT", "NOTCH_KNOCKOUT", "CD8_DEPLETION", "PRIMARY_IMPLANT",
    "SRS_HIGH", "SRS_LOW", "STROMA_HIGH", "STROMA_LOW", "SUB_CELLULAR",
]

#: Name of the arm with a lesion of half a cell and no seeded cells (plausibility P5).
SUB_CELLULAR = "sub-cellular lesion"

#: Default first treatment day.
TREATMENT_START = 7.0

#: Macrophage-specific ERα knockout: no ERα, so no activation (basal or fatty-acid driven).
ER_KNOCKOUT = Knockout(("er_activation",))
#: No transfer of fatty acids in tumour extracellular vesicles.
EV_FA_KNOCKOUT = Knockout(("ev_fa_transfer",))
#: Myeloid Notch (RBPJ) knockout: no Notch-dependent TAM differentiation, no TAM proliferation.
NOTCH_KNOCKOUT = Knockout(("tam_differentiation_notch", "tam_proliferation"))
#: Anti-CD8 depletion from day 0 (first-order 5/day on functional and exhausted CD8 cells).
CD8_DEPLETION = (Deplete("cd8_eff", 5.0, 0.0), Deplete("cd8_exh", 5.0, 0.0))
#: An orthotopic primary tumour of 1e6 cells implanted at day 0 (SRS experiments).
PRIMARY_IMPLANT = 1e6
#: SRS level of the SRS-high and SRS-low clones.
SRS_HIGH, SRS_LOW = 0.9, 0.1
#: CXCL12/IGF1 level of CXCL12/IGF1-high and -low primary stroma (relative to bone marrow).
STROMA_HIGH, STROMA_LOW = 3.0, 0.1


def fulvestrant(start: float = TREATMENT_START, amount: float = 200.0) -> Dose:
    """Fulvestrant, ``amount`` mg/kg weekly from day ``start``."""
    return Dose.weekly("fulv", amount, start=start)


def anti_dkk1(start: float = TREATMENT_START, amount: float = 10.0) -> Dose:
    """Anti-DKK1 antibody, ``amount`` mg/kg twice weekly from day ``start``."""
    return Dose.twice_weekly("anti_dkk1", amount, start=start)


def anti_pd1(start: float = TREATMENT_START, amount: float = 10.0) -> Dose:
    """Anti-PD-1 antibody, ``amount`` mg/kg every 3 days from day ``start``."""
    return Dose("anti_pd1", amount, every=3.0, start=start)


def notch_inhibitor(start: float = TREATMENT_START, amount: float = 5.0) -> Dose:
    """Notch (γ-secretase) inhibitor, ``amount`` mg/kg daily from day ``start``."""
    return Dose.daily("notch_inhibitor", amount, start=start)


def src_inhibitor(start: float = TREATMENT_START, amount: float = 25.0) -> Dose:
    """Src inhibitor, ``amount`` mg/kg daily from day ``start``."""
    return Dose.daily("src_inhibitor", amount, start=start)


def default_arms() -> list[Arm]:
    """Control, the three monotherapies and the two combinations of biology.md §2.

    Returns
    -------
    list of Arm
        ``control``, ``fulvestrant``, ``anti-DKK1``, ``anti-PD-1``,
        ``fulvestrant + anti-PD-1``, ``anti-DKK1 + anti-PD-1``.
    """
    return [
        Arm("control", description="untreated, bone seeded at day 0"),
        Arm("fulvestrant", (fulvestrant(),), description="fulvestrant 200 mg/kg weekly from day 7"),
        Arm("anti-DKK1", (anti_dkk1(),), description="anti-DKK1 10 mg/kg twice weekly from day 7"),
        Arm("anti-PD-1", (anti_pd1(),), description="anti-PD-1 10 mg/kg every 3 days from day 7"),
        Arm("fulvestrant + anti-PD-1", (fulvestrant(), anti_pd1()), description="combination from day 7"),
        Arm("anti-DKK1 + anti-PD-1", (anti_dkk1(), anti_pd1()), description="combination from day 7"),
    ]


def _variant_arms() -> list[Arm]:
    tumour_free = SetInitial({"dormant": 0.0})
    with_primary = SetInitial({"primary_tumor": PRIMARY_IMPLANT})
    spontaneous = SetInitial({"dormant": 0.0, "primary_tumor": PRIMARY_IMPLANT})
    return [
        Arm("ERa-KO", perturbations=(ER_KNOCKOUT,), description="macrophage-specific ERα knockout"),
        Arm("EV-FA-KO", perturbations=(EV_FA_KNOCKOUT,),
            description="no fatty-acid transfer in tumour extracellular vesicles"),
        Arm("CD8-depleted", perturbations=CD8_DEPLETION, description="anti-CD8 depletion from day 0"),
        Arm("CD8-depleted + fulvestrant", (fulvestrant(),), CD8_DEPLETION,
            description="anti-CD8 depletion from day 0, fulvestrant from day 7"),
        Arm("Notch-KO", perturbations=(NOTCH_KNOCKOUT,), description="myeloid Notch (RBPJ) knockout"),
        Arm("Notch inhibitor", (notch_inhibitor(),), description="Notch inhibitor 5 mg/kg daily from day 7"),
        Arm("Src inhibitor d0", (src_inhibitor(start=0.0),), description="Src inhibitor daily from day 0"),
        Arm("Src inhibitor d14", (src_inhibitor(start=14.0),), description="Src inhibitor daily from day 14"),
        Arm("SRS-high", perturbations=(SetParameters({"srs": SRS_HIGH}), with_primary),
            description="SRS-high clone seeded in bone and implanted at the primary site"),
        Arm("SRS-low", perturbations=(SetParameters({"srs": SRS_LOW}), with_primary),
            description="SRS-low clone seeded in bone and implanted at the primary site"),
        Arm("spontaneous", perturbations=(spontaneous,),
            description="primary tumour only; bone is seeded from the circulation"),
        Arm("stroma-high", perturbations=(SetParameters({"cyt_primary": STROMA_HIGH}), spontaneous),
            description="primary with CXCL12/IGF1-high stroma; bone seeded from the circulation only"),
        Arm("stroma-low", perturbations=(SetParameters({"cyt_primary": STROMA_LOW}), spontaneous),
            description="primary with CXCL12/IGF1-low stroma; bone seeded from the circulation only"),
        Arm("tumour-free", perturbations=(tumour_free,), description="no cancer cells"),
        Arm("tumour-free ERa-KO", perturbations=(tumour_free, ER_KNOCKOUT),
            description="no cancer cells, macrophage-specific ERα knockout"),
        Arm(SUB_CELLULAR, perturbations=(SetInitial({"dormant": 0.0, "tumor": 0.5}),),
            description="half a cancer cell in bone at day 0, no seeded cells, untreated (plausibility P5)"),
    ]


def scenario_arms() -> dict[str, Arm]:
    """Every arm and variant that the outcome catalogue O1–O21 and the plausibility statements need, by name.

    Returns
    -------
    dict of str to Arm
        The six :func:`default_arms` plus ``ERa-KO``, ``EV-FA-KO``,
        ``CD8-depleted``, ``CD8-depleted + fulvestrant``, ``Notch-KO``,
        ``Notch inhibitor``, ``Src inhibitor d0``, ``Src inhibitor d14``,
        ``SRS-high``, ``SRS-low``, ``spontaneous``, ``stroma-high``,
        ``stroma-low``, ``tumour-free``, ``tumour-free ERa-KO`` and
        ``sub-cellular lesion`` (plausibility statement P5).

    Examples
    --------
    >>> arms = scenario_arms()
    >>> arms["ERa-KO"].perturbations[0].terms
    ('er_activation',)
    """
    out: dict[str, Arm] = {}
    for arm in default_arms() + _variant_arms():
        out[arm.name] = arm
    return out

"""Mouse-scale pharmacokinetics of the five drugs (one compartment each, amounts in mg/kg).

Each drug state holds the amount in the body per kg of body weight; a dose
adds its mg/kg to it, and it is eliminated first-order with rate
``ln 2 / t1/2``.  Drug effects are written with half-maximal exposures in
the same unit in the modules that the drugs act on.  Regimens and their
reasoning are in :mod:`.arms`.
"""

from __future__ import annotations

import math

from ...model import Module, Parameter, State, Term
from ._sources import CHOICE, DKK1, ER, SRS, TAM

__all__ = ["fulvestrant_pk", "anti_dkk1_pk", "anti_pd1_pk", "notch_inhibitor_pk", "src_inhibitor_pk"]


def _one_compartment(module: str, state: str, rate: str, half_life_days: float, what: str, source: str,
                     bounds: tuple[float, float]) -> Module:
    k = math.log(2.0) / half_life_days
    return Module(
        module,
        states=(State(state, 0.0, "mg/kg", f"{what} in the body"),),
        parameters=(
            Parameter(rate, round(k, 6), "1/day", bounds[0], bounds[1],
                      f"elimination rate of {what} (t1/2 = {half_life_days:g} days)", source, True),
        ),
        terms=(Term(f"{state}_elimination", f"{rate}*{state}", {state: -1}, f"first-order elimination of {what}"),),
        description=f"One-compartment PK of {what}.",
    )


def fulvestrant_pk() -> Module:
    """Fulvestrant s.c. depot in castor oil: absorption-limited apparent t1/2 of 4 days."""
    return _one_compartment(
        "fulvestrant_pk", "fulv", "k_fulv", 4.0, "fulvestrant",
        f"{ER}; {CHOICE}: the oil depot releases slowly (clinical IM t1/2 ~40 days), so a weekly mouse "
        "regimen keeps exposure all week; 4 days is a conservative apparent t1/2", (0.01, 5.0))


def anti_dkk1_pk() -> Module:
    """Anti-DKK1 antibody (DKN-01-like humanised IgG4 in mice): t1/2 of 6 days."""
    return _one_compartment(
        "anti_dkk1_pk", "anti_dkk1", "k_anti_dkk1", 6.0, "anti-DKK1 antibody",
        f"{DKK1}; {CHOICE}: IgG in mice, FcRn-protected, t1/2 of about a week", (0.01, 5.0))


def anti_pd1_pk() -> Module:
    """Anti-mouse PD-1 (rat IgG2a, RMP1-14-like): t1/2 of 2.5 days (target-mediated clearance)."""
    return _one_compartment(
        "anti_pd1_pk", "anti_pd1", "k_anti_pd1", 2.5, "anti-PD-1 antibody",
        f"{CHOICE}: rat IgG in mice with target-mediated clearance, shorter than mouse IgG", (0.01, 5.0))


def notch_inhibitor_pk() -> Module:
    """γ-secretase (Notch) inhibitor, small molecule i.p. daily: t1/2 of 4 hours."""
    return _one_compartment(
        "notch_inhibitor_pk", "notch_inhibitor", "k_notch_inhibitor", 4.0 / 24.0, "Notch inhibitor",
        f"{TAM}; {CHOICE}: small-molecule γ-secretase inhibitors are cleared within hours in mice", (0.5, 50.0))


def src_inhibitor_pk() -> Module:
    """Src-family kinase inhibitor (dasatinib-like), oral daily: t1/2 of 4 hours."""
    return _one_compartment(
        "src_inhibitor_pk", "src_inhibitor", "k_src_inhibitor", 4.0 / 24.0, "Src inhibitor",
        f"{SRS}; {CHOICE}: oral kinase inhibitors are cleared within hours in mice", (0.5, 50.0))

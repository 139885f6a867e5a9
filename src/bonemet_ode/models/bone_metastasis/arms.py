"""Default treatment arms of the bone-metastasis model (treatment from day 7)."""

from __future__ import annotations

from ...simulate.arm import Arm
from ...simulate.dosing import Dose

__all__ = ["default_arms", "FULVESTRANT", "ANTI_DKK1", "ANTI_PD1"]

#: Fulvestrant 5 mg/kg-equivalent weekly from day 7.
FULVESTRANT = Dose.weekly("fulv", 5.0, start=7)
#: Anti-DKK1 antibody 10 mg/kg twice weekly from day 7.
ANTI_DKK1 = Dose.twice_weekly("anti_dkk1", 10.0, start=7)
#: Anti-PD-1 10 mg/kg every 3 days from day 7.
ANTI_PD1 = Dose("anti_pd1", 10.0, every=3, start=7)


def default_arms() -> list[Arm]:
    """Control, the three monotherapies and the two combinations of biology.md."""
    return [
        Arm("control"),
        Arm("fulvestrant", (FULVESTRANT,)),
        Arm("anti-DKK1", (ANTI_DKK1,)),
        Arm("anti-PD-1", (ANTI_PD1,)),
        Arm("fulvestrant + anti-PD-1", (FULVESTRANT, ANTI_PD1)),
        Arm("anti-DKK1 + anti-PD-1", (ANTI_DKK1, ANTI_PD1)),
    ]

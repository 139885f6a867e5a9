"""Shared figure style: one colour per arm, used by every figure of the package."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["arm_colors", "arm_linestyle", "ARM_PALETTE", "CONTROL_COLOR", "COMBINATION_DASHES"]

CONTROL_COLOR = "#3a3a3a"
#: Dash pattern of a combination arm (a name holding " + "): every figure draws combinations dashed.
COMBINATION_DASHES = (0, (5, 1.5))
#: Colour-blind-safe palette (Okabe & Ito 2008) for treated arms, in order of appearance.
ARM_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#882255", "#44AA99")


def arm_colors(names: Sequence[str], control: str = "control") -> dict[str, str]:
    """Map arm names to colours: ``control`` dark grey, the others from :data:`ARM_PALETTE`."""
    out: dict[str, str] = {}
    i = 0
    for n in names:
        if n == control or n.lower() in ("control", "ctrl", "untreated"):
            out[n] = CONTROL_COLOR
        else:
            out[n] = ARM_PALETTE[i % len(ARM_PALETTE)]
            i += 1
    return out


def arm_linestyle(name: str) -> str | tuple[int, tuple[float, float]]:
    """Line style of an arm: dashed (:data:`COMBINATION_DASHES`) for a combination (``" + "`` in the name)."""
    return COMBINATION_DASHES if " + " in name else "-"

"""Assembly of the bone-metastasis model."""

from __future__ import annotations

from ...model import Model
from ..registry import register
from . import modules

__all__ = ["bone_metastasis"]


@register("bone_metastasis", "bone-metastasis immune niche: tumour, ERα+ macrophages, immature neutrophils, CD8, drugs")
def bone_metastasis() -> Model:
    """The bone-metastasis immune-niche model with its default parameters (days, cells)."""
    return Model(
        "bone_metastasis",
        [modules.tumour(), modules.er_axis(), modules.dkk1_axis(), modules.cd8(), modules.pharmacokinetics()],
        description="Mechanistic model of the bone-metastasis immune niche (see shared/spec/biology.md).",
    )

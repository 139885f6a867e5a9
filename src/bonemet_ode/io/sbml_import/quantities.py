"""Names, compartments and species: what each SBML symbol stands for in the model.

A species changed by reactions is a **state holding its amount** (reactions
are fluxes of substance per time, so variable compartments need no extra
term); when the species is measured as a concentration in math
(``hasOnlySubstanceUnits=false`` in a compartment of nonzero dimension) its
SBML id is an **observable** ``amount/size``.  A species set by a rate rule is a
state holding the quantity the rule is about (concentration or amount), one
set by an assignment rule an observable.  Compartments and parameters are
parameters, states (rate rules) or observables (assignment rules).
"""

from __future__ import annotations

import keyword
import math
from typing import Any

from ...model.components import RESERVED_NAMES
from ...model.expressions import CONSTANTS, FUNCTIONS

__all__ = ["NameAllocator", "spatial_dimensions", "amount_semantics"]


class NameAllocator:
    """Model names for SBML ids: the id itself where it is a valid, free model name, else a variant.

    Ids that are Python keywords (``lambda``, ``in``), reserved model names
    (``time``, ``exp``), expression functions (``sin``, ``lt``) or start with two
    underscores get a suffix or lose the underscores; the map is kept so that
    results can be reported under SBML ids.
    """

    def __init__(self) -> None:
        self.used: set[str] = set()

    @staticmethod
    def _ok(name: str) -> bool:
        return (name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
                and name not in RESERVED_NAMES and name not in FUNCTIONS and name not in CONSTANTS)

    def __call__(self, wanted: str) -> str:
        base = wanted
        if base.startswith("__"):
            base = base.lstrip("_") or "x"
        if not base.isidentifier():
            base = "x_" + "".join(c if c.isalnum() or c == "_" else "_" for c in base)
        cand = base
        k = 1
        while not self._ok(cand) or cand in self.used:
            cand = f"{base}_" if k == 1 else f"{base}_{k}"
            k += 1
        self.used.add(cand)
        return cand

    def reserve(self, name: str) -> None:
        """Mark ``name`` as taken."""
        self.used.add(name)


def spatial_dimensions(comp: Any) -> float:
    """Spatial dimensions of a compartment (3 when a Level 3 document leaves it unset)."""
    if comp.getLevel() >= 3:
        d = comp.getSpatialDimensionsAsDouble()
        return 3.0 if math.isnan(d) else d
    return float(comp.getSpatialDimensions())


def amount_semantics(species: Any, comp: Any) -> bool:
    """Whether the species' id means its amount in math (else its concentration)."""
    return bool(species.getHasOnlySubstanceUnits()) or spatial_dimensions(comp) == 0

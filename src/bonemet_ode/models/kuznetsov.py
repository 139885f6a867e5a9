"""Kuznetsov, Makalkin, Taylor & Perelson (1994): tumour–effector-cell dynamics.

Kuznetsov VA, Makalkin IA, Taylor MA, Perelson AS. Nonlinear dynamics of
immunogenic tumors: parameter estimation and global bifurcation analysis.
Bull Math Biol 56(2):295–321 (1994).  Parameter values and initial state as
in BioModels BIOMD0000000762; time in days, cells as counts.
"""

from __future__ import annotations

from ..model import Model, Module, Parameter, State, Term
from .registry import register

__all__ = ["kuznetsov1994"]

SRC = "Kuznetsov et al. 1994 (BIOMD0000000762)"


@register("kuznetsov1994", "Kuznetsov 1994 tumour–effector model (BIOMD0000000762), states E and T, days")
def kuznetsov1994() -> Model:
    """The classic two-population model of effector cells ``E`` and tumour cells ``T``.

    Notes
    -----
    .. math::

        dE/dt = s + p E T/(g + T) - m E T - d E

        dT/dt = a T (1 - b T) - n E T

    In the paper's units (E, T in 10^6 cells, time in 1/(n·10^6) days) it has a
    stable dormant focus at (1.609, 8.190).
    """
    effector = Module(
        "effector",
        states=(State("E", 3.2e5, "cells", "effector (cytotoxic) immune cells"),),
        parameters=(
            Parameter("s", 1.3e4, "cells/day", description="normal influx of effector cells", source=SRC),
            Parameter("p", 0.1245, "1/day", description="maximal tumour-stimulated effector proliferation", source=SRC),
            Parameter("g", 2.019e7, "cells", description="tumour size of half-maximal effector stimulation",
                      source=SRC),
            Parameter("m", 3.422e-10, "1/(cell·day)", description="effector inactivation by tumour cells", source=SRC),
            Parameter("d", 0.0412, "1/day", description="effector death rate", source=SRC),
        ),
        terms=(
            Term("E_influx", "s", {"E": 1}, "constant influx of effectors"),
            Term("E_stimulation", "p*E*T/(g + T)", {"E": 1}, "tumour-stimulated recruitment/proliferation"),
            Term("E_inactivation", "m*E*T", {"E": -1}, "inactivation through tumour interaction"),
            Term("E_death", "d*E", {"E": -1}, "natural death"),
        ),
        description="effector cells (Kuznetsov 1994)",
    )
    tumour = Module(
        "tumour",
        states=(State("T", 5e6, "cells", "tumour cells"),),
        parameters=(
            Parameter("a", 0.18, "1/day", description="maximal tumour growth rate", source=SRC),
            Parameter("b", 2e-9, "1/cell", description="inverse carrying capacity", source=SRC),
            Parameter("n", 1.101e-7, "1/(cell·day)", description="tumour kill by effector cells", source=SRC),
        ),
        terms=(
            Term("T_growth", "a*T*(1 - b*T)", {"T": 1}, "logistic growth"),
            Term("T_kill", "n*E*T", {"T": -1}, "killing by effectors"),
        ),
        description="tumour cells (Kuznetsov 1994)",
    )
    return Model("kuznetsov1994", [effector, tumour], description=__doc__ or "")

"""The performance reference problem of ``shared/spec/performance.md`` as a built-in model."""

from __future__ import annotations

from ..model import Model, Module, Parameter, State, Term
from ..simulate.arm import Arm
from ..simulate.dosing import Dose
from .registry import register

__all__ = ["perf_reference", "perf_reference_combination_arm", "PERF_REFERENCE_T60"]

#: Reference T(60) of the combination arm (scipy Radau, rtol 1e-10, atol 1e-12), from performance.md.
PERF_REFERENCE_T60 = 7.660515e8

_VALUES = dict(r=0.25, K=1e9, kC=2e-5, sM=3.0, sN=2.0, eP=4.0, EC50P=1.0, aM=2e4, hT=1e7, IC50F=0.5, dM=0.1,
               aN=1e4, hD=0.5, dN=0.3, sC=500.0, rC=0.4, dC=0.2, pD=0.05, kD=0.1, kA=2.0, kF=0.35, kAel=0.05,
               kP=0.04)


@register("perf_reference", "the 8-state benchmark problem of performance.md (T, M, N, C, D, F, A, P)")
def perf_reference() -> Model:
    """Eight states, days: tumour T, macrophages M, neutrophils N, CD8 C, DKK1 D, drugs F, A, P."""
    P = {k: Parameter(k, v, "see performance.md", 0.0, 1e12, source="shared/spec/performance.md")
         for k, v in _VALUES.items()}
    states = (State("T", 1e6, "cells"), State("M", 1e5, "cells"), State("N", 5e4, "cells"), State("C", 1e4, "cells"),
              State("D", 0.1, "ng/mL"), State("F", 0.0, "mg/kg"), State("A", 0.0, "mg/kg"), State("P", 0.0, "mg/kg"))
    terms = (
        Term("T_growth", "r*T*(1 - T/K)", {"T": 1}),
        Term("T_kill", "kC*C*T/(1 + sM*M/1e5) * 1/(1 + sN*N/1e5) * (1 + eP*P/(P + EC50P))/(1 + eP)", {"T": -1}),
        Term("M_recruit", "aM*T/(T + hT)/(1 + F/IC50F)", {"M": 1}),
        Term("M_death", "dM*M", {"M": -1}),
        Term("N_recruit", "aN*D/(D + hD)", {"N": 1}),
        Term("N_death", "dN*N", {"N": -1}),
        Term("C_source", "sC", {"C": 1}),
        Term("C_expand", "rC*C*T/(T + hT)/(1 + sM*M/1e5)", {"C": 1}),
        Term("C_death", "dC*C", {"C": -1}),
        Term("D_secretion", "pD*T/1e6", {"D": 1}),
        Term("D_clearance", "kD*D", {"D": -1}),
        Term("D_neutralised", "kA*A*D", {"D": -1}),
        Term("F_elim", "kF*F", {"F": -1}),
        Term("A_elim", "kAel*A", {"A": -1}),
        Term("P_elim", "kP*P", {"P": -1}),
    )
    return Model("perf_reference", [Module("reference", states=states, parameters=tuple(P.values()), terms=terms)],
                 description="benchmark problem of performance.md")


def perf_reference_combination_arm() -> Arm:
    """Combination arm: F += 5 and A += 10 every 7 days from day 7; P += 10 every 3 days from day 7."""
    return Arm("combination", (Dose("F", 5.0, every=7, start=7), Dose("A", 10.0, every=7, start=7),
                               Dose("P", 10.0, every=3, start=7)))

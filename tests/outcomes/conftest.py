"""Toy models with closed-form solutions for the outcome-language tests.

``drug_model``: a tumour ``T`` growing exponentially at rate ``r`` and
killed by two drugs with first-order elimination,

    dT/dt = (r - kA·A - kB·B - kAB·A·B) T,   dA/dt = -ke A,   dB/dt = -ke B,

so ``T(t) = T0 exp(r t - kA ∫A - kB ∫B - kAB ∫AB)`` and, with bolus doses
``D`` at days ``t_i``, ``∫_0^t A = Σ D/ke (1 - exp(-ke (t - t_i)))``.
With ``kAB = 0`` the drugs act independently and the Bliss excess is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

import bonemet_ode as bm
from bonemet_ode.model import Model, Module, Observable, Parameter, State, Term

#: Solver tolerances of the reference-grade runs (the references are analytic).
TIGHT = bm.SolverOptions(rtol=1e-10, atol=1e-12)

DOSE_A = bm.Dose("A", 1.0, every=7, start=7)
DOSE_B = bm.Dose("B", 1.0, every=3, start=7)


def make_drug_model() -> Model:
    """The two-drug exponential-kill model (see module docstring); T0 = 1."""
    return Model("toy_two_drugs", [Module(
        "toy",
        states=(State("T", 1.0, "cells"), State("A", 0.0, "mg"), State("B", 0.0, "mg")),
        parameters=(
            Parameter("r", 0.2, "1/day", 0.01, 2.0, log_scale=True),
            Parameter("kA", 0.5, "1/(mg day)", 0.0, 5.0),
            Parameter("kB", 0.3, "1/(mg day)", 0.0, 5.0),
            Parameter("kAB", 0.0, "1/(mg^2 day)", 0.0, 5.0),
            Parameter("ke", 0.3, "1/day", 0.01, 10.0, log_scale=True),
        ),
        terms=(
            Term("grow", "r*T", {"T": 1}),
            Term("killA", "kA*A*T", {"T": -1}),
            Term("killB", "kB*B*T", {"T": -1}),
            Term("killAB", "kAB*A*B*T", {"T": -1}),
            Term("elimA", "ke*A", {"A": -1}),
            Term("elimB", "ke*B", {"B": -1}),
        ),
        observables=(Observable("rate", "r"), Observable("burden", "2*T")),
    )])


def drug_arms() -> dict[str, bm.Arm]:
    """control, A, B, A+B, a growth knockout, r pinned to 0.05, and A = 1 at day 0 without doses."""
    return {
        "control": bm.Arm("control"),
        "A": bm.Arm("A", (DOSE_A,)),
        "B": bm.Arm("B", (DOSE_B,)),
        "A+B": bm.Arm("A+B", (DOSE_A, DOSE_B)),
        "KO": bm.Arm("KO", perturbations=(bm.Knockout("grow"),)),
        "slow": bm.Arm("slow", perturbations=(bm.SetParameters({"r": 0.05}),)),
        "A0": bm.Arm("A0", perturbations=(bm.SetInitial({"A": 1.0}),)),
    }


def auc(dose_days: Sequence[float], t: float, ke: float, amount: float = 1.0) -> float:
    """∫_0^t of a drug given as boluses on ``dose_days`` with elimination ``ke`` (mg·day)."""
    return sum(amount / ke * (1.0 - math.exp(-ke * (t - d))) for d in dose_days if d <= t)


def tumour(t: float, r: float = 0.2, kA: float = 0.5, kB: float = 0.3, ke: float = 0.3,
           a_days: Sequence[float] = (), b_days: Sequence[float] = ()) -> float:
    """Analytic T(t) of the independent-drug model (kAB = 0, T0 = 1)."""
    return math.exp(r * t - kA * auc(a_days, t, ke) - kB * auc(b_days, t, ke))


A_DAYS = (7.0, 14.0, 21.0, 28.0)
B_DAYS = tuple(7.0 + 3.0 * i for i in range(8))  # 7, 10, ..., 28


@pytest.fixture(scope="session")
def drug_model() -> Model:
    return make_drug_model()


@pytest.fixture(scope="session")
def arms() -> dict[str, bm.Arm]:
    return drug_arms()

"""Synthetic data for the fitting tests: closed-form growth curves plus seeded noise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bonemet_ode.data.readers import DataTable
from bonemet_ode.model import Model, Module, Parameter, State, Term
from bonemet_ode.simulate import SolverOptions

TIGHT = SolverOptions(rtol=1e-10, atol=1e-12)


def exp_curve(t, alpha, v0=1.0):
    """Exponential growth V0*exp(alpha*t), mm^3."""
    return v0 * np.exp(alpha * np.asarray(t, float))


def logistic_curve(t, alpha, K, v0):
    """Logistic growth, mm^3."""
    t = np.asarray(t, float)
    return K * v0 / (v0 + (K - v0) * np.exp(-alpha * t))


def gompertz_curve(t, alpha, beta, v0=1.0):
    """Gompertz growth (Vaghi parametrisation, Vc = 1 mm^3)."""
    t = np.asarray(t, float)
    return np.exp(alpha / beta * (1 - np.exp(-beta * t)) + np.log(v0) * np.exp(-beta * t))


def table(subject, arm, time, value, censored=None, sd=None) -> DataTable:
    """A DataTable from equal-length columns (observable 'tumor_volume')."""
    n = len(time)
    frame = pd.DataFrame({
        "subject": np.broadcast_to(np.asarray(subject, dtype=object), n),
        "arm": np.broadcast_to(np.asarray(arm, dtype=object), n),
        "time": np.asarray(time, float), "observable": "tumor_volume", "value": np.asarray(value, float),
    })
    if censored is not None:
        frame["censored"] = np.asarray(censored, bool)
    if sd is not None:
        frame["sd"] = np.asarray(sd, float)
    return DataTable(frame)


def concat(*tables: DataTable) -> DataTable:
    """Rows of several tables in one."""
    return DataTable(pd.concat([t.frame for t in tables], ignore_index=True))


def product_model() -> Model:
    """dV/dt = k1*k2*V: k1 and k2 are identifiable only through their product."""
    return Model("product", [Module(
        "product",
        states=(State("V", "V0", "mm^3"),),
        parameters=(Parameter("k1", 0.5, "1/day", 1e-3, 1e3, log_scale=True),
                    Parameter("k2", 0.4, "1", 1e-3, 1e3, log_scale=True),
                    Parameter("V0", 1.0, "mm^3", 1e-3, 1e3, log_scale=True)),
        terms=(Term("grow", "k1*k2*V", {"V": 1}),),
    )])

"""
Build a model and check it against its closed form
==================================================

A logistic growth model built from one module (state, parameters with units
and bounds, one rate term), compiled and solved, then compared with the
closed-form solution ``T(t) = K / (1 + (K/T0 - 1) exp(-r t))``.
"""

import matplotlib.pyplot as plt
import numpy as np

import bonemet_ode as bm

growth = bm.Module(
    "growth",
    states=(bm.State("T", 1e6, "cells", "tumour cells"),),
    parameters=(
        bm.Parameter("r", 0.2, "1/day", 0.0, 5.0, "net growth rate", "illustrative"),
        bm.Parameter("K", 1e9, "cells", 1e6, 1e12, "carrying capacity", "illustrative"),
    ),
    terms=(bm.Term("proliferation", "r*T*(1 - T/K)", {"T": 1}),),
)
model = bm.Model("logistic", [growth])
res = bm.simulate(model, days=60, times=np.linspace(0, 60, 121))

# %%
# The compiled solution and the closed form agree to the solver tolerance.
T0, r, K = 1e6, 0.2, 1e9
exact = K / (1 + (K / T0 - 1) * np.exp(-r * res.times))
print(f"largest relative error: {np.max(np.abs(res['T'] / exact - 1)):.1e}")

fig, ax = plt.subplots(figsize=(5.5, 3.5), constrained_layout=True)
ax.semilogy(res.times, res["T"], lw=2.5, label="bonemet_ode")
ax.semilogy(res.times, exact, "k--", lw=1, label="closed form")
ax.set_xlabel("Time (days)")
ax.set_ylabel("Tumour cells")
ax.legend(frameon=False)

# %%
# A knockout switches the term off without recompiling: the tumour stays at T0.
flat = bm.simulate(model.with_knockout("proliferation"), days=60)
print(f"T at day 60 with proliferation knocked out: {flat.final('T'):.3g} cells")

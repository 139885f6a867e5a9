"""
A virtual cohort
================

300 mice of the performance reference model under its combination arm, with
30 % log-normal variability in the tumour growth rate ``r`` and the kill rate
``kC`` (seeded draw).  Members are solved in the compiled batch entry point;
the figure shows the median and the 5-95 % band of the tumour burden.
"""

import matplotlib.pyplot as plt
import numpy as np

import bonemet_ode as bm
from bonemet_ode.models.reference import perf_reference_combination_arm

model = bm.models.get("perf_reference")
arm = perf_reference_combination_arm()
cohort = bm.draw_cohort(model, 300, {"r": bm.LogNormal(0.3), "kC": bm.LogNormal(0.3)}, seed=2024)
res = bm.simulate_cohort(model, cohort, arm, times=np.linspace(0, 60, 121))
print(res)
summary = res.summary("T")
print(summary.iloc[[0, 60, 120]].to_string(float_format=lambda v: f"{v:.3g}"))

# %%
fig, ax = plt.subplots(figsize=(6, 3.8), constrained_layout=True)
ax.fill_between(summary.index, summary["q0.05"], summary["q0.95"], alpha=0.3, label="5-95 %")
ax.plot(summary.index, summary["q0.5"], lw=2, label="median")
ax.plot(res.times, res["T"][:20].T, color="0.4", lw=0.5, alpha=0.5)
ax.set_yscale("log")
ax.set_xlabel("Time (days)")
ax.set_ylabel("Tumour burden T (cells)")
ax.legend(frameon=False)

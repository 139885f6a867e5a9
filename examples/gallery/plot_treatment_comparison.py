"""
Treatment comparison on the bone-metastasis model
=================================================

The README's main job (``bonemet-ode compare --out DIR``) from Python: the
default arms of ``bone_metastasis`` (control, fulvestrant, anti-DKK1,
anti-PD-1 and combinations, treatment from day 7), simulated for 28 days, the
endpoint table (tumour and CD8 T cells per arm, % of control) and the
multi-panel comparison figure.
"""

import matplotlib.pyplot as plt

import bonemet_ode as bm
from bonemet_ode.models.bone_metastasis import default_arms
from bonemet_ode.plotting.comparison import treatment_comparison_figure

model = bm.models.get("bone_metastasis")
comparison = bm.compare_arms(model, default_arms(), days=28)
table = comparison.endpoint_table(["tumor", "cd8"])
print(table.round(1).to_string(index=False))

# %%
# Trajectories per arm and the day-28 tumour burden as % of control.
# The figure functions draw into the figure they are given (by default a new one pyplot does not track).
fig = treatment_comparison_figure(comparison, fig=plt.figure(figsize=(12.6, 6.8), layout="constrained"))

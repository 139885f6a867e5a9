"""
Checking the qualitative outcomes O1-O21
========================================

The bone-metastasis model is calibrated to 21 qualitative outcomes written in
the outcome language (``bonemet-ode outcomes`` on the command line).  Here one
outcome is parsed, then the whole catalogue is evaluated with the shipped
parameters; each outcome's margin is ``>= 0`` when it holds.
"""

import matplotlib.pyplot as plt
import numpy as np

from bonemet_ode.models.bone_metastasis.catalogue import catalogue_context
from bonemet_ode.outcomes import parse

o3 = parse("O3 (ER): cd8@28[ERa-KO] >= 2 * cd8@28[control]")
print(o3)

evaluation = catalogue_context().evaluate()
print(evaluation.report())

# %%
# Margins per outcome (a conjunction's margin is its smallest clause margin).
ids = [r.id for r in evaluation]
margins = np.array([r.margin for r in evaluation])
fig, ax = plt.subplots(figsize=(7, 3.2), constrained_layout=True)
ax.bar(ids, margins, color=np.where(margins >= 0, "tab:green", "tab:red"))
ax.axhline(0, color="k", lw=0.8)
ax.set_ylabel("margin")
ax.tick_params(axis="x", labelrotation=90)

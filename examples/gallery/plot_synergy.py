"""
Combination synergy on in-vivo data
===================================

Bliss-independence synergy of rabusertib + irinotecan on the bundled
invivoSyn SW837 data, with a bootstrap over mice (200 replicates, seeded).
Scores are in % of control volume per day, and in 1/day for the overall
growth-rate score; the verdict needs the bootstrap interval to exclude zero,
so with four combination mice it says additivity although every score is
positive (the invivoSyn authors call the combination synergistic).
"""

import matplotlib.pyplot as plt

import bonemet_ode as bm
from bonemet_ode.data.datasets import load_invivosyn
from bonemet_ode.plotting.synergy import plot_synergy

data = load_invivosyn("SW837")
result = bm.synergy(data, control="Vehicle", drug_a="Rabusertib", drug_b="Irinotecan",
                    combination="Irinotecan + Rabusertib", metric="bliss", n_boot=200, seed=0)
print(result.to_text())

# %%
# Plotting functions draw on the Axes they are given (without one, on a figure pyplot does not track).
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
growth_ax, score_ax = plot_synergy(result, axes=axes, log_y=True)
plt.show()

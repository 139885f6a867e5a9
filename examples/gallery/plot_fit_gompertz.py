"""
Fitting a growth model to tumour volumes
========================================

Per-mouse maximum-likelihood fits of the Gompertz model to the vehicle arm of
the bundled invivoSyn SW837 xenograft data (tumour volumes in mm³, MIT
licence), with a proportional residual error.  The table has one row per
mouse with standard errors; the figure shows data and fitted curves.
"""

import matplotlib.pyplot as plt

import bonemet_ode as bm
from bonemet_ode.data.datasets import load_invivosyn
from bonemet_ode.plotting.fits import plot_fits

data = load_invivosyn("SW837").subset(arm="Vehicle")
print(data)
fits = bm.SubjectFitter(bm.models.get("gompertz"), data, noise="proportional").fit()
table = fits.table()
print(table.drop(columns=["arm"]).round(3).to_string(index=False))

# %%
fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
plot_fits(fits, ax)
ax.set_title("SW837 vehicle: Gompertz fit per mouse")

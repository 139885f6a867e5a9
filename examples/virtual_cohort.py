"""A virtual cohort of the performance reference problem: 2000 mice with variable growth and kill rates.

Run: ``python examples/virtual_cohort.py``
"""

from __future__ import annotations

import time

import numpy as np

import bonemet_ode as bm
from bonemet_ode.models.reference import perf_reference_combination_arm


def main() -> None:
    model = bm.models.get("perf_reference")
    arm = perf_reference_combination_arm()
    cohort = bm.draw_cohort(model, 2000, {"r": bm.LogNormal(0.3), "kC": bm.LogNormal(0.3)}, seed=2024)
    t0 = time.perf_counter()
    res = bm.simulate_cohort(model, cohort, arm, times=np.linspace(0, 60, 61), progress=True)
    print(f"{res} in {time.perf_counter() - t0:.2f} s")
    print("tumour burden at day 60 (cells), quantiles over the cohort:")
    print(res.summary("T").iloc[[0, 30, 60]].to_string(float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()

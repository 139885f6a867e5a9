"""Gompertz fits of untreated mouse tumour growth (Vaghi et al. 2020), per mouse and as a population.

Data: ``../shared/data/vaghi2020`` beside the checkout (GPL-3.0, read in
place, never copied into the repository):

* ``lung_vol_data.txt`` - Lewis lung carcinoma, subcutaneous, 20 mice (mm³);
* ``breast_vol_data.txt`` - MDA-MB-231 orthotopic, 66 mice (mm³); two
  volumes are exactly 0 (mice 34 and 43, day 11, each followed the next day
  by 71 and 51 mm³).  A caliper reading of 0 means "too small to measure",
  not "no tumour", so they are kept as **left-censored** at a limit of
  quantification of 20 mm³ (the smallest positive volume in the set is
  20.8 mm³) and enter the likelihood as ``P(V < 20 mm³)`` (Beal's M3).

Model (Vaghi 2020): ``dV/dt = (alpha - beta*ln V)*V`` with ``V(0) = 1 mm³``
(1e6 injected cells), ``V`` in mm³, proportional residual error.

Checks (published: in every group the two Gompertz parameters are strongly
correlated, R² > 0.92):

1. per-mouse maximum-likelihood fits converge for every mouse;
2. R² of alpha vs beta over the per-mouse estimates exceeds 0.92 on both sets;
3. the population (mixed-effects) Gompertz model and the reduced Gompertz
   model (``alpha = k*beta``, ``k`` shared) are fitted, the reduced model is
   then fitted per mouse with ``k`` fixed at its population value;
4. AIC/BIC of six population growth models on each set.

Run from the repository root::

    python examples/fit_vaghi_gompertz.py            # everything (a few minutes on 2 cores)
    python examples/fit_vaghi_gompertz.py --quick    # steps 1-3 only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import bonemet_ode.models.growth as growth
from bonemet_ode.data import read_long
from bonemet_ode.estimate import PopulationFitter, SubjectFitter, information_criteria

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vaghi2020"
SETS = {"LLC (lung)": "lung_vol_data.txt", "MDA-MB-231 (breast)": "breast_vol_data.txt"}
#: mm^3: censoring limit for the two zero volumes of the breast set (the lung set has no zeros and
#: measured volumes down to 14 mm^3, so it is read without a limit)
LLOQ = {"lung_vol_data.txt": None, "breast_vol_data.txt": 20.0}
RANDOM = {"exponential": ["alpha"], "logistic": ["alpha", "K"], "gompertz": ["alpha", "beta"],
          "reduced_gompertz": ["beta"], "von_bertalanffy": ["a", "b"], "power_law": ["a"]}


def load(name: str):
    frame = pd.read_csv(DATA_DIR / name, sep="\t")
    frame["arm"] = "control"
    return read_long(frame, subject_col="ID", arm_col="arm", time_col="Time", value_col="Observation",
                     lloq=LLOQ[name])


def r_squared(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1] ** 2)


def study(label: str, data, quick: bool) -> dict:
    limit = f" (< {data.lloq:g} mm^3)" if data.lloq is not None else ""
    print(f"\n=== {label}: {len(data.subjects)} mice, {len(data)} volumes, {data.n_censored} censored{limit} ===")
    out = {}
    t0 = time.perf_counter()
    fits = SubjectFitter(growth.gompertz(), data, fixed={"V0": 1.0}, n_starts=3, seed=1).fit()
    table = fits.table()
    ok = table[table["success"] == True]  # noqa: E712
    out["converged"] = (len(fits.converged), len(data.subjects))
    out["r2"] = r_squared(ok["alpha"].to_numpy(), ok["beta"].to_numpy())
    slope, icpt = np.polyfit(ok["beta"], ok["alpha"], 1)
    print(f"per-mouse Gompertz: {len(fits.converged)}/{len(data.subjects)} converged "
          f"({time.perf_counter() - t0:.1f} s); alpha median {ok['alpha'].median():.3f} 1/day, "
          f"beta median {ok['beta'].median():.4f} 1/day")
    print(f"  alpha vs beta over mice: R^2 = {out['r2']:.3f} (published: > 0.92); alpha = {slope:.2f}*beta "
          f"+ {icpt:.3f}")
    if data.n_censored:
        cens = data.frame.loc[data.frame["censored"], "subject"].tolist()
        print(f"  censored mice {cens}: " + ", ".join(
            f"{s}: alpha {fits.fits[s].values['alpha']:.3f}, beta {fits.fits[s].values['beta']:.4f}" for s in cens))

    t0 = time.perf_counter()
    pop = PopulationFitter(growth.gompertz(), data, random=RANDOM["gompertz"], fixed={"V0": 1.0},
                           covariance="full").fit()
    out["pop_r2"] = r_squared(pop.individual["alpha"].to_numpy(), pop.individual["beta"].to_numpy())
    print(f"population Gompertz (Laplace-EM, full Omega): {pop.message} ({time.perf_counter() - t0:.1f} s)")
    print(pop.table().to_string(float_format=lambda x: f"{x:.4g}"))
    print(f"  individual conditional modes: alpha vs beta R^2 = {out['pop_r2']:.3f}")

    t0 = time.perf_counter()
    red = PopulationFitter(growth.reduced_gompertz(), data, random=["beta"], fixed={"V0": 1.0}).fit()
    k = red.values["k"]
    print(f"population reduced Gompertz: k = {k:.3f} (SE {red.stderr['k']:.3f}; carrying capacity "
          f"exp(k) = {np.exp(k):.0f} mm^3); {red.message} ({time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    red_fits = SubjectFitter(growth.reduced_gompertz(), data, fixed={"V0": 1.0, "k": k}, n_starts=2).fit()
    out["reduced_converged"] = (len(red_fits.converged), len(data.subjects))
    print(f"per-mouse reduced Gompertz (k fixed): {len(red_fits.converged)}/{len(data.subjects)} converged "
          f"({time.perf_counter() - t0:.1f} s); summed per-mouse AIC {red_fits.aic:.1f} (k from the population "
          f"fit, not counted) vs Gompertz {fits.aic:.1f}")

    candidates = {"gompertz": pop, "reduced_gompertz": red}
    if not quick:
        for name, rnd in RANDOM.items():
            if name in candidates:
                continue
            t0 = time.perf_counter()
            candidates[name] = PopulationFitter(getattr(growth, name)(), data, random=rnd, fixed={"V0": 1.0},
                                                covariance="full").fit()
            print(f"population {name}: {candidates[name].message} ({time.perf_counter() - t0:.1f} s)")
    table = information_criteria(candidates)
    out["aic"] = table
    print(f"\npopulation models, {label} (Laplace -2LL; proportional error; V0 = 1 mm^3):")
    print(table[["n_parameters", "nll", "aic", "bic", "delta_aic", "akaike_weight"]].to_string(
        float_format=lambda x: f"{x:.4g}"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the four non-Gompertz population fits")
    args = parser.parse_args(argv)
    if not DATA_DIR.is_dir() or not all((DATA_DIR / f).exists() for f in SETS.values()):
        print(f"The Vaghi 2020 data are absent (looked in {DATA_DIR}); nothing to do.")
        return 0
    t_all = time.perf_counter()
    results = {label: study(label, load(name), args.quick) for label, name in SETS.items()}
    print("\n=== summary ===")
    ok = True
    for label, r in results.items():
        conv, n = r["converged"]
        good = conv == n and r["r2"] > 0.92
        ok &= good
        print(f"{label}: per-mouse Gompertz converged {conv}/{n}; R^2(alpha, beta) = {r['r2']:.3f} per-mouse "
              f"estimates, {r['pop_r2']:.3f} population modes -> {'OK' if good else 'FAILED'}")
    print(f"total {time.perf_counter() - t_all:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

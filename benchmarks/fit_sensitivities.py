"""Fit wall time with exact Jacobians from forward sensitivities vs finite differences (docs/fitting.md).

Fits the same synthetic data sets twice in one run - ``sensitivities=False``
(lmfit least_squares, finite-difference Jacobians) and ``sensitivities=True``
(scipy least_squares with the exact residual Jacobian) - and prints, per
case, the best-of-``--repeat`` wall time of each, their ratio, the ODE
solves (compiled calls and solved members, sensitivity solves apart), the
residual evaluations (``nfev``) and the agreement of the estimates and of
the negative log-likelihood.

Cases
-----
``gompertz_20``
    20 animals, Gompertz growth, each fitted separately (``SubjectFitter``)
    with 3 free model parameters (alpha, beta, V0) and log-normal noise, 2 starts.
``pooled_2arm_doses``
    A logistic tumour killed by a drug with one-compartment PK (bolus every 3
    days in the treated arm): control and treated arms, 4 animals each plus
    a drug signal; one pooled fit of 5 free model parameters (alpha, K,
    kill, k_el, V0), the signal's gain and 2 noise parameters, 3 starts.
``population_gompertz_20``
    The 20 Gompertz animals as a population (random alpha and beta, V0 = 1 fixed).

Compile times of the sensitivity systems are one-off (cached on disk) and
excluded from the fit times; the first build of each case is reported.

Run: ``python benchmarks/fit_sensitivities.py [--repeat 3] [--quick]``
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import shutil
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

if not os.environ.get("BONEMET_ODE_CACHE"):  # a fresh cache, so the first builds include the compiles
    os.environ["BONEMET_ODE_CACHE"] = tempfile.mkdtemp(prefix="bonemet_fit_sens_")
    atexit.register(shutil.rmtree, os.environ["BONEMET_ODE_CACHE"], True)

import bonemet_ode.models.growth as growth  # noqa: E402
from bonemet_ode import Arm, Dose  # noqa: E402
from bonemet_ode.data import DataTable  # noqa: E402
from bonemet_ode.estimate import (  # noqa: E402
    Fitter,
    LogNormalNoise,
    ObservationMap,
    PopulationFitter,
    ProportionalNoise,
    SubjectFitter,
)
from bonemet_ode.model import Model, Module, Observable, Parameter, State, Term  # noqa: E402
from bonemet_ode.simulate import Simulator  # noqa: E402

# ---------------------------------------------------------------------------- solve counter
_COUNT = {"plain_calls": 0, "plain_members": 0, "sens_calls": 0, "sens_members": 0}
_SOLVE = Simulator.solve
_RUN = Simulator.run


def _count(sim: Simulator, members: int) -> None:
    kind = "sens" if sim.sensitivities else "plain"
    _COUNT[f"{kind}_calls"] += 1
    _COUNT[f"{kind}_members"] += members


def _counting_solve(self, P, Y0):  # batches (population fits)
    _count(self, int(np.shape(P)[0]))
    return _SOLVE(self, P, Y0)


def _counting_run(self, *args, **kwargs):  # one member (Fitter, SubjectFitter; it does not go through solve)
    _count(self, 1)
    return _RUN(self, *args, **kwargs)


Simulator.solve = _counting_solve  # type: ignore[method-assign]
Simulator.run = _counting_run  # type: ignore[method-assign]


def _reset() -> None:
    for k in _COUNT:
        _COUNT[k] = 0


# ---------------------------------------------------------------------------- data
GT = np.arange(2.0, 26.0, 2.0)


def gompertz_data(n: int = 20, seed: int = 0) -> DataTable:
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n):
        a = 0.8 * math.exp(0.2 * rng.standard_normal())
        b = 0.09 * math.exp(0.2 * rng.standard_normal())
        v0 = math.exp(0.2 * rng.standard_normal())
        v = np.exp(a / b * (1 - np.exp(-b * GT)) + math.log(v0) * np.exp(-b * GT))
        noisy = v * np.exp(0.05 * rng.standard_normal(GT.size))
        parts.append(pd.DataFrame({"subject": f"m{i:02d}", "arm": "control", "time": GT,
                                   "observable": "tumor_volume", "value": noisy}))
    return DataTable(pd.concat(parts, ignore_index=True))


def tumour_drug() -> Model:
    """Logistic tumour V killed by a drug C (one-compartment PK); observable conc = C/vd."""
    return Model("tumour_drug_bench", [Module(
        "tumour_drug",
        states=(State("V", "V0", "mm^3"), State("C", 0.0, "mg")),
        parameters=(Parameter("alpha", 0.3, "1/day", 1e-3, 5.0, log_scale=True),
                    Parameter("K", 800.0, "mm^3", 10.0, 1e5, log_scale=True),
                    Parameter("kill", 0.05, "1/(mg day)", 1e-5, 10.0, log_scale=True),
                    Parameter("k_el", 0.7, "1/day", 1e-3, 50.0, log_scale=True),
                    Parameter("vd", 2.0, "L", 0.01, 100.0, log_scale=True),
                    Parameter("V0", 2.0, "mm^3", 1e-3, 1e3, log_scale=True)),
        terms=(Term("growth", "alpha*V*(1 - V/K)", {"V": 1}), Term("drug_kill", "kill*C*V", {"V": -1}),
               Term("elimination", "k_el*C", {"C": -1})),
        observables=(Observable("conc", "C/vd", "mg/L"),),
    )])


ARMS = {"control": Arm("control"), "drug": Arm("drug", (Dose("C", 10.0, every=3.0, start=2.0),))}
TRUE = {"alpha": 0.35, "K": 900.0, "kill": 0.06, "k_el": 0.8, "vd": 2.0, "V0": 1.5}
DT = np.arange(1.0, 29.0, 2.0)


def two_arm_data(seed: int = 1) -> DataTable:
    rng = np.random.default_rng(seed)
    parts = []
    for arm in ("control", "drug"):
        res = Simulator(tumour_drug(), ARMS[arm], times=DT).run(TRUE)
        for k in range(4):
            parts.append(pd.DataFrame({"subject": f"{arm}_{k}", "arm": arm, "time": DT, "observable": "tumor_volume",
                                       "value": res["V"] * np.exp(0.08 * rng.standard_normal(DT.size))}))
        if arm == "drug":
            late = DT > 2.0
            signal = 1.5 * res["conc"][late] * np.exp(0.1 * rng.standard_normal(late.sum()))
            parts.append(pd.DataFrame({"subject": "drug_0", "arm": arm, "time": DT[late], "observable": "signal",
                                       "value": signal}))
    return DataTable(pd.concat(parts, ignore_index=True))


TWO_ARM_MAPS = {"tumor_volume": ObservationMap("tumor_volume", "V", noise=LogNormalNoise()),
                "signal": ObservationMap("signal", "conc", scale=Parameter("gain", 1.0, "1", 1e-3, 1e3, log_scale=True),
                                         noise=ProportionalNoise())}


# ---------------------------------------------------------------------------- cases
def case_gompertz(sens: bool, data: DataTable):
    fitter = SubjectFitter(growth.gompertz(), data, noise="lognormal", n_starts=2, seed=1, sensitivities=sens)
    fitter.fitter(data.subjects[0])  # builds (and compiles, the first time) the simulators
    return fitter, fitter.fit


def case_pooled(sens: bool, data: DataTable):
    fitter = Fitter(tumour_drug(), data, observations=TWO_ARM_MAPS, arms=ARMS, fixed={"vd": 2.0}, n_starts=3,
                    seed=2, sensitivities=sens)
    return fitter, fitter.fit


def case_population(sens: bool, data: DataTable):
    fitter = PopulationFitter(growth.gompertz(), data, random=["alpha", "beta"], fixed={"V0": 1.0},
                              noise="lognormal", sensitivities=sens)
    return fitter, fitter.fit


def _fit_estimates(fit, prefix: str = "") -> tuple[dict[str, float], dict[str, float]]:
    se = np.sqrt(np.abs(np.diag(fit.covariance)))
    return ({f"{prefix}{k}": fit.values[k] for k in fit.varied},
            {f"{prefix}{k}": float(v) for k, v in zip(fit.varied, se)})


def estimates(result) -> tuple[dict[str, float], dict[str, float], float, int]:
    """Estimates, their standard errors (NaN where not computed), NLL (or -2 log L) and residual evaluations."""
    if hasattr(result, "fits"):  # SubjectFits
        vals, ses, nll, nfev = {}, {}, 0.0, 0
        for s, f in result.fits.items():
            v, e = _fit_estimates(f, f"{s}.")
            vals.update(v)
            ses.update(e)
            nll += f.nll
            nfev += f.nfev
        return vals, ses, nll, nfev
    if hasattr(result, "objective"):  # PopulationResult
        vals = {k: float(v) for k, v in result.values.items()}
        vals.update({f"omega_{k}": float(v) for k, v in result.omega_sd.items()})
        return vals, {k: math.nan for k in vals}, float(result.objective), -1
    vals, ses = _fit_estimates(result)
    return vals, ses, result.nll, result.nfev


def run_case(name: str, make, data: DataTable, repeat: int) -> dict:
    out = {}
    for sens in (False, True):
        t0 = time.perf_counter()
        make(sens, data)  # builds (and compiles, first time) the simulators
        build = time.perf_counter() - t0
        best, result, counts = math.inf, None, None
        for _ in range(repeat):
            _, fit = make(sens, data)
            _reset()
            t0 = time.perf_counter()
            result = fit()
            wall = time.perf_counter() - t0
            if wall < best:
                best, counts = wall, dict(_COUNT)
        vals, ses, nll, nfev = estimates(result)
        out[sens] = dict(wall=best, build=build, counts=counts, values=vals, ses=ses, nll=nll, nfev=nfev)
    fd, ex = out[False], out[True]
    rel = max(abs(ex["values"][k] - v) / max(abs(v), 1e-12) for k, v in fd["values"].items())
    in_se = [abs(ex["values"][k] - v) / fd["ses"][k] for k, v in fd["values"].items()
             if math.isfinite(fd["ses"][k]) and fd["ses"][k] > 0]
    print(f"\n{name}")
    print(f"  {'':22s} {'finite differences':>20s} {'sensitivities':>20s}")
    print(f"  {'fit wall time (s)':22s} {fd['wall']:20.3f} {ex['wall']:20.3f}")
    print(f"  {'first build (s)':22s} {fd['build']:20.3f} {ex['build']:20.3f}")
    for key, label in (("plain_calls", "plain solve calls"), ("plain_members", "plain members solved"),
                       ("sens_calls", "sensitivity calls"), ("sens_members", "sensitivity members")):
        print(f"  {label:22s} {fd['counts'][key]:20d} {ex['counts'][key]:20d}")
    if fd["nfev"] >= 0:
        print(f"  {'residual evaluations':22s} {fd['nfev']:20d} {ex['nfev']:20d}")
    print(f"  speed-up (FD / sensitivities): {fd['wall'] / ex['wall']:.2f}x")
    se_note = f" ({max(in_se):.1e} standard errors)" if in_se else ""
    print(f"  agreement: max relative difference of {len(fd['values'])} estimates {rel:.2e}{se_note}; "
          f"objective {fd['nll']:.8f} vs {ex['nll']:.8f} (relative {abs(ex['nll'] - fd['nll']) / abs(fd['nll']):.1e})")
    return {"case": name.split(":")[0], "fd_s": fd["wall"], "sens_s": ex["wall"], "speedup": fd["wall"] / ex["wall"],
            "fd_solved": fd["counts"]["plain_members"] + fd["counts"]["sens_members"],
            "sens_solved": ex["counts"]["plain_members"] + ex["counts"]["sens_members"],
            "max_rel_diff": rel, "max_diff_in_se": max(in_se) if in_se else math.nan}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="fits per variant; the fastest is reported (default 3)")
    ap.add_argument("--quick", action="store_true", help="one repeat, no population case")
    args = ap.parse_args()
    repeat = 1 if args.quick else max(1, args.repeat)
    warnings.simplefilter("ignore")
    print(f"bonemet_ode fit benchmark: finite differences vs forward sensitivities (best of {repeat}; "
          f"compiled-model cache {os.environ['BONEMET_ODE_CACHE']})")
    gdata = gompertz_data()
    rows = [run_case("gompertz_20: 20 per-animal Gompertz fits, 3 free model parameters + noise, 2 starts",
                     case_gompertz, gdata, repeat),
            run_case("pooled_2arm_doses: 2 arms with doses, 5 free model parameters + gain + 2 noise, 3 starts",
                     case_pooled, two_arm_data(), repeat)]
    if not args.quick:
        rows.append(run_case("population_gompertz_20: Laplace-EM, random alpha and beta", case_population, gdata,
                             repeat))
    print("\nsummary")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3g}"))


if __name__ == "__main__":
    main()

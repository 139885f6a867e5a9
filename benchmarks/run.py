"""Benchmark bonemet_ode against libRoadRunner and plain scipy (shared/spec/performance.md).

Usage::

    python benchmarks/run.py [--quick] [--json FILE]

In one process: the reference problem exactly as performance.md defines it
(combination arm, days 0-60, 61 outputs, rtol 1e-6, atol 1e-9; the 10k cohort
with r and kC times lognormal(0, 0.3) draws, fixed seed; the stiff variant
kA = 2e4, kF = 350) and the bone_metastasis model's last default arm, on

* bonemet_ode (``Simulator.run``; cohort: ``simulate_cohort`` with 2 threads),
* plain scipy (a hand-written Python RHS, ``solve_ivp`` LSODA restarted at each
  dose; cohort: 2 processes),
* libRoadRunner on the SBML that bonemet_ode exports, doses as SBML events
  (cohort: 2 processes; optional, ``pip install libroadrunner``),

plus cold and cached compile times measured in fresh processes.  Accuracy is
scored against scipy Radau at rtol 1e-10, atol 1e-12 (restarted at each dose),
computed here, and against the published T(60) = 7.660515e8.  Single solves are
timed in interleaved rounds (every tool in every round) and cohorts alternate
between tools, so load from other processes falls on all tools alike.  ``--quick``
solves fewer repeats and extrapolates the scipy and libRoadRunner cohorts from
a sample (labelled as such).  Never run inside the unit tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _compile_timing as ct  # noqa: E402
import _workers as wk  # noqa: E402
from _scipy_user import (  # noqa: E402
    REFERENCE_PARAMETERS,
    bolus_schedule,
    reference_rhs,
    solve_with_doses,
    straight_line_rhs,
)
from _targets import evaluate_targets  # noqa: E402

import bonemet_ode as bm  # noqa: E402
from bonemet_ode.models.bone_metastasis import default_arms  # noqa: E402
from bonemet_ode.models.reference import PERF_REFERENCE_T60, perf_reference_combination_arm  # noqa: E402

DAYS, N_OUT, RTOL, ATOL = 60.0, 61, 1e-6, 1e-9
TIMES = np.linspace(0.0, DAYS, N_OUT)
N_COHORT, COHORT_SEED, SIGMA = 10_000, 20240607, 0.3
STIFF = {"kA": 2e4, "kF": 350.0}
TOOLS = ("bonemet_ode", "libroadrunner", "scipy")
#: Single solves are timed in interleaved rounds (every tool and case in each round, ``per_round`` calls each),
#: so that load from other processes falls on all tools alike; cohorts alternate bonemet_ode and libRoadRunner.
SETTINGS = {
    "full": dict(rounds=15, per_round={"bonemet_ode": 100, "libroadrunner": 30, "scipy": 2}, cohort_rounds=5,
                 rr_cohort=None, scipy_cohort=None, compile_repeats=3, cached_repeats=5),
    "quick": dict(rounds=5, per_round={"bonemet_ode": 40, "libroadrunner": 12, "scipy": 2}, cohort_rounds=3,
                  rr_cohort=1000, scipy_cohort=40, compile_repeats=1, cached_repeats=3),
}


def worst_state_error(y: np.ndarray, ref: np.ndarray) -> float:
    """max over outputs and states of |y - ref| / (|ref| + 1e-6 max|ref_state|) (floor: values ~0 before a dose)."""
    scale = np.abs(ref).max(axis=0)
    return float(np.max(np.abs(y - ref) / (np.abs(ref) + 1e-6 * scale + 1e-300)))


class Case:
    """One problem: a model under an arm, with its plain-scipy form and a tight Radau reference."""

    def __init__(self, label: str, model: bm.Model, arm: bm.Arm, hand_written: bool) -> None:
        self.label, self.model, self.arm = label, model, arm
        applied = arm.apply(model)
        if hand_written:
            self.rhs, names = reference_rhs, REFERENCE_PARAMETERS
        else:
            self.rhs, names = straight_line_rhs(applied)
        values = applied.parameter_values()
        self.args = [values[n] for n in names]
        self.index = {n: i for i, n in enumerate(names)}
        self.y0 = applied.initial_values()
        self.schedule = bolus_schedule(applied, arm, DAYS)
        self.reference, _ = solve_with_doses(self.rhs, self.y0, self.args, TIMES, self.schedule, method="Radau",
                                             rtol=1e-10, atol=1e-12)

    def scipy_solve(self) -> tuple[np.ndarray, int]:
        return solve_with_doses(self.rhs, self.y0, self.args, TIMES, self.schedule, rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------- tools
def prepare_bonemet(cases: dict[str, Case]) -> dict[str, Any]:
    opts = bm.SolverOptions(rtol=RTOL, atol=ATOL)
    out: dict[str, Any] = {}
    for key, case in cases.items():
        t0 = time.perf_counter()
        sim = bm.Simulator(case.model, case.arm, DAYS, TIMES, opts)
        setup = time.perf_counter() - t0
        res = sim.run()
        p, y0 = sim.model.parameter_vector()[None, :], sim.initial_state()[None, :]
        out[key] = {"solve": sim.run, "raw": (lambda sim=sim, p=p, y0=y0: sim.solve(p, y0)), "y": res.states,
                    "rhs_evals": res.stats["rhs_evals"], "setup_s": setup}
    return out


def prepare_roadrunner(cases: dict[str, Case]) -> dict[str, Any]:
    from bonemet_ode.io.sbml import to_sbml

    out: dict[str, Any] = {}
    for key, case in cases.items():
        t0 = time.perf_counter()
        xml = to_sbml(case.model, case.arm, days=DAYS)
        t1 = time.perf_counter()
        rr = wk.load_roadrunner(xml, RTOL, ATOL, case.arm.apply(case.model).state_names)
        t2 = time.perf_counter()
        out[key] = {"solve": (lambda rr=rr: wk.rr_solve(rr, DAYS, N_OUT)), "y": wk.rr_solve(rr, DAYS, N_OUT)[:, 1:],
                    "rhs_evals": None, "setup_s": t2 - t1, "export_s": t1 - t0, "sbml": xml}
    return out


def prepare_scipy(cases: dict[str, Case]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, case in cases.items():
        y, nfev = case.scipy_solve()
        out[key] = {"solve": case.scipy_solve, "y": y, "rhs_evals": nfev, "setup_s": 0.0}
    return out


def time_single_solves(results: dict[str, dict | None], cfg: dict) -> None:
    """Median ms per call of every prepared solve, timed in interleaved rounds.

    Stores the wall-clock median as ``ms``/``raw_ms`` and the median CPU time
    of the calling thread as ``cpu_ms``/``raw_cpu_ms`` (every solve here runs
    in the calling thread, so CPU time is what the solve costs when another
    process takes the core away mid-call).
    """
    calls = [(tool, key, variant, entry[fn])
             for tool, per_case in results.items() if per_case is not None
             for key, entry in per_case.items()
             for variant, fn in (("", "solve"), ("raw_", "raw")) if fn in entry]
    wall: dict[tuple[str, str, str], list[float]] = {c[:3]: [] for c in calls}
    cpu: dict[tuple[str, str, str], list[float]] = {c[:3]: [] for c in calls}
    for *_, fn in calls:  # warm-up
        fn()
    for _ in range(cfg["rounds"]):
        for tool, key, variant, fn in calls:
            for _ in range(cfg["per_round"][tool]):
                t0, c0 = time.perf_counter(), time.thread_time()
                fn()
                c1, t1 = time.thread_time(), time.perf_counter()
                wall[(tool, key, variant)].append(t1 - t0)
                cpu[(tool, key, variant)].append(c1 - c0)
    for (tool, key, variant), ts in wall.items():
        results[tool][key][f"{variant}ms"] = 1e3 * statistics.median(ts)
        results[tool][key][f"{variant}cpu_ms"] = 1e3 * statistics.median(cpu[(tool, key, variant)])


def time_cohorts(results: dict[str, dict | None], cases: dict[str, Case], cohort, cfg: dict) -> None:
    """10k cohorts: bonemet_ode (2 threads) and libRoadRunner (2 processes) alternate; scipy (2 processes) once."""
    ref, opts = cases["reference"], bm.SolverOptions(rtol=RTOL, atol=ATOL)
    r_all, kc_all = cohort["r"].to_numpy(), cohort["kC"].to_numpy()
    bm_runs, rr_runs, res = [], [], None
    for _ in range(cfg["cohort_rounds"]):
        t0 = time.perf_counter()
        res = bm.simulate_cohort(ref.model, cohort, ref.arm, DAYS, TIMES, n_jobs=2, progress=False, options=opts)
        bm_runs.append(time.perf_counter() - t0)
        if results["libroadrunner"] is not None:
            n = cfg["rr_cohort"] or len(cohort)
            init = (results["libroadrunner"]["reference"]["sbml"], RTOL, ATOL, DAYS, N_OUT)
            rr_runs.append((n, wk.pool_cohort("roadrunner", init, r_all[:n], kc_all[:n])))
    results["bonemet_ode"]["cohort"] = {
        "s": statistics.median(bm_runs), "runs_s": bm_runs, "failed": int((~res.ok).sum()), "t60": res.final("T"),
        "rhs_evals_mean": float(res.stats[:, 3].mean()),
        "how": f"measured, all {len(cohort)} members, median of {len(bm_runs)} runs, 2 threads"}
    if rr_runs:
        summaries = [_cohort_summary(r, n, len(cohort)) for n, r in rr_runs]
        best = sorted(summaries, key=lambda x: x["s"])[len(summaries) // 2]  # the median run
        best["runs_s"] = [x["s"] for x in summaries]
        best["how"] += f"; median of {len(summaries)} runs"
        results["libroadrunner"]["cohort"] = best
    n = cfg["scipy_cohort"] or len(cohort)
    init = (ref.rhs, ref.y0, ref.args, ref.index, TIMES, ref.schedule, RTOL, ATOL)
    results["scipy"]["cohort"] = _cohort_summary(wk.pool_cohort("scipy", init, r_all[:n], kc_all[:n]), n, len(cohort))


def _cohort_summary(r: dict[str, Any], n: int, total: int) -> dict[str, Any]:
    how = (f"measured, all {total} members, 2 processes" if n == total else
           f"extrapolated from {n} members (2 processes): setup + solve time x {total}/{n}")
    return {"s": r["setup_s"] + r["solve_s"] * total / n, "setup_s": r["setup_s"], "sample_solve_s": r["solve_s"],
            "sample": n, "failed": int(np.isnan(r["t60"]).sum()), "t60": r["t60"],
            "rhs_evals_mean": float(r["rhs_evals"].mean()) if r["rhs_evals"].any() else None, "how": how}


# ----------------------------------------------------------------------------- results
def _per_tool(results: dict[str, dict | None], fn) -> dict[str, Any]:
    return {tool: (fn(results[tool]) if results.get(tool) is not None else None) for tool in TOOLS}


def _ratio(results: dict[str, dict | None], fn, other: str) -> float | None:
    if results.get(other) is None:
        return None
    return fn(results[other]) / fn(results["bonemet_ode"])


def summarise(results: dict[str, dict | None], cases: dict[str, Case], cohort_ref_t60: np.ndarray) -> dict[str, Any]:
    ref, stiff, bmet = cases["reference"], cases["stiff"], cases["bone_metastasis"]
    s: dict[str, Any] = {
        "single_solve_ms": _per_tool(results, lambda r: r["reference"]["ms"]),
        "single_solve_raw_ms": {"bonemet_ode": results["bonemet_ode"]["reference"]["raw_ms"]},
        "single_solve_cpu_ms": _per_tool(results, lambda r: r["reference"]["cpu_ms"]),
        "cohort_10k_s": _per_tool(results, lambda r: r["cohort"]["s"]),
        "cohort_10k_how": _per_tool(results, lambda r: r["cohort"]["how"]),
        "cohort_10k_failed": _per_tool(results, lambda r: r["cohort"]["failed"]),
        "setup_s": _per_tool(results, lambda r: r["reference"]["setup_s"]),
        "t60": _per_tool(results, lambda r: float(r["reference"]["y"][-1, 0])),
        "t60_rel_err": _per_tool(results, lambda r: abs(float(r["reference"]["y"][-1, 0]) / PERF_REFERENCE_T60 - 1)),
        "worst_state_rel_err": _per_tool(results, lambda r: worst_state_error(r["reference"]["y"], ref.reference)),
        "rhs_evals": _per_tool(results, lambda r: r["reference"]["rhs_evals"]),
        "stiff_single_solve_ms": _per_tool(results, lambda r: r["stiff"]["ms"]),
        "stiff_over_nonstiff": _per_tool(results, lambda r: r["stiff"]["ms"] / r["reference"]["ms"]),
        "stiff_t60_rel_err": _per_tool(results, lambda r: abs(r["stiff"]["y"][-1, 0] / stiff.reference[-1, 0] - 1)),
        "stiff_worst_state_rel_err": _per_tool(results, lambda r: worst_state_error(r["stiff"]["y"], stiff.reference)),
        "stiff_rhs_evals": _per_tool(results, lambda r: r["stiff"]["rhs_evals"]),
        "bone_metastasis_single_solve_ms": _per_tool(results, lambda r: r["bone_metastasis"]["ms"]),
        "bone_metastasis_worst_state_rel_err": _per_tool(
            results, lambda r: worst_state_error(r["bone_metastasis"]["y"], bmet.reference)),
        "bone_metastasis_rhs_evals": _per_tool(results, lambda r: r["bone_metastasis"]["rhs_evals"]),
        "radau_reference_t60": float(ref.reference[-1, 0]),
        "radau_reference_t60_rel_err_vs_published": abs(float(ref.reference[-1, 0]) / PERF_REFERENCE_T60 - 1),
    }
    s["cohort_t60_max_rel_diff_vs_bonemet_ode"] = _per_tool(
        results, lambda r: float(np.nanmax(np.abs(r["cohort"]["t60"] / cohort_ref_t60[: len(r["cohort"]["t60"])] - 1))))
    s["ratios"] = {
        label: {f"vs_{o}": _ratio(results, fn, o) for o in ("libroadrunner", "scipy")}
        for label, fn in (("single_solve", lambda r: r["reference"]["ms"]), ("cohort_10k", lambda r: r["cohort"]["s"]),
                          ("single_solve_cpu_time", lambda r: r["reference"]["cpu_ms"]),
                          ("stiff_single_solve", lambda r: r["stiff"]["ms"]),
                          ("bone_metastasis_single_solve", lambda r: r["bone_metastasis"]["ms"]))
    }
    return s


def _fmt(x: Any, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def _rows(s: dict[str, Any], cols: list[tuple[str, str, str]], names: dict[str, str]) -> None:
    head = f"{'tool':24s}" + "".join(f"{c[0]:>16s}" for c in cols)
    print(head + "\n" + "-" * len(head))
    for tool in TOOLS:
        print(f"{names[tool]:24s}" + "".join(f"{_fmt(s[key][tool], spec):>16s}" for _, key, spec in cols))


def print_table(s: dict[str, Any], meta: dict[str, Any]) -> None:
    names = {"bonemet_ode": "bonemet_ode", "libroadrunner": "libRoadRunner", "scipy": "scipy LSODA, Python RHS"}
    print(f"\nReference problem (performance.md): combination arm, days 0-60, {N_OUT} outputs, rtol {RTOL:g}, "
          f"atol {ATOL:g};\n10k cohort: r, kC x lognormal(0, {SIGMA}), seed {COHORT_SEED}.  "
          f"Machine: {meta['cpu_count']} cores, load average {meta['loadavg_start']} at start, "
          f"{meta['loadavg_end']} at end; mode: {'quick' if meta['quick'] else 'full'}.\n")
    _rows(s, [("setup (s)", "setup_s", ".3g"), ("one solve (ms)", "single_solve_ms", ".3g"),
              ("10k cohort (s)", "cohort_10k_s", ".3g"), ("rel.err T(60)", "t60_rel_err", ".1e"),
              ("worst state", "worst_state_rel_err", ".1e"), ("RHS evals", "rhs_evals", "d")], names)
    print(f"  setup: bonemet_ode = cold compile of a new model (new process); libRoadRunner = loading the SBML "
          f"(export took {_fmt(s.get('sbml_export_s'), '.3f')} s); bonemet_ode raw solve(): "
          f"{s['single_solve_raw_ms']['bonemet_ode']:.3g} ms")
    cpu = s["single_solve_cpu_ms"]
    print(f"  one solve by CPU time of the calling thread (immune to other processes): bonemet_ode "
          f"{_fmt(cpu['bonemet_ode'], '.3g')} ms, libRoadRunner {_fmt(cpu['libroadrunner'], '.3g')} ms, "
          f"scipy {_fmt(cpu['scipy'], '.3g')} ms")
    for tool in ("bonemet_ode", "libroadrunner", "scipy"):
        print(f"  cohort {names[tool]}: {s['cohort_10k_how'][tool] or 'not run'}")
    print(f"  worst state: max over outputs and states of |y - y_ref| / (|y_ref| + 1e-6 max|y_ref|), "
          f"y_ref = scipy Radau rtol 1e-10\n\nStiff variant (kA = 2e4, kF = 350) and bone_metastasis "
          f"'{meta['bone_metastasis_arm']}' (days 0-60, {N_OUT} outputs, same tolerances):\n")
    _rows(s, [("stiff (ms)", "stiff_single_solve_ms", ".3g"), ("stiff/non-stiff", "stiff_over_nonstiff", ".2f"),
              ("stiff worst", "stiff_worst_state_rel_err", ".1e"), ("stiff RHS", "stiff_rhs_evals", "d"),
              ("bone_met (ms)", "bone_metastasis_single_solve_ms", ".3g"),
              ("bone_met worst", "bone_metastasis_worst_state_rel_err", ".1e"),
              ("bone_met RHS", "bone_metastasis_rhs_evals", "d")], names)
    print("\nbonemet_ode speed-up (other tool's time / ours, same run):")
    for label, r in s["ratios"].items():
        rr_x, sp_x = (("n/a" if v is None else f"{v:.1f}x") for v in (r["vs_libroadrunner"], r["vs_scipy"]))
        print(f"  {label:30s} vs libRoadRunner {rr_x:>8s}   vs scipy {sp_x:>8s}")
    print(f"\ncompile_cold_s   {s['compile_cold_s']:.3f}  (new process, empty cache: sympy import + codegen + cc"
          " + load; "
          f"in this process with sympy loaded: {s['compile_cold_in_process_s']:.3f};\n"
          f"                 bone_metastasis, {meta['bone_metastasis_states']} states: "
          f"{s['compile_cold_bone_metastasis_s']:.3f})")
    print(f"compile_cached_s {s['compile_cached_s']:.3f}  (new process: import bonemet_ode to first solve; "
          f"process wall incl. interpreter start {s['compile_cached_process_wall_s']:.3f})")
    print(f"Radau reference T(60) = {s['radau_reference_t60']:.7e} "
          f"(published 7.660515e8, rel. diff {s['radau_reference_t60_rel_err_vs_published']:.1e})")
    print("\nTargets (performance.md):")
    for name, t in s["targets"].items():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        print(f"  {name:34s} {verdict:13s} {t['value_text']:>10s}  (target {t['target']})  {t['note']}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats; scipy/libRoadRunner cohorts extrapolated")
    ap.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = ap.parse_args(argv)
    cfg = SETTINGS["quick" if args.quick else "full"]
    meta = {"quick": args.quick, "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()], "bonemet_ode": bm.__version__}
    missing = wk.roadrunner_available()
    if missing:
        print(f"libroadrunner is not installed ({missing}): its columns are skipped. "
              "Install the [bench] extra (pip install libroadrunner python-libsbml) to compare.")
    t_start = time.perf_counter()
    model = bm.models.get("perf_reference")
    arm = perf_reference_combination_arm()
    barm = default_arms()[-1]
    meta["bone_metastasis_arm"] = barm.name
    meta["bone_metastasis_states"] = len(bm.models.get("bone_metastasis").state_names)
    print("references (scipy Radau, rtol 1e-10) ...", flush=True)
    cases = {"reference": Case("reference", model, arm, True),
             "stiff": Case("stiff", model.with_parameters(STIFF), arm, True),
             "bone_metastasis": Case("bone_metastasis", bm.models.get("bone_metastasis"), barm, False)}
    cohort = bm.draw_cohort(model, N_COHORT, {"r": bm.LogNormal(SIGMA), "kC": bm.LogNormal(SIGMA)}, seed=COHORT_SEED)
    results: dict[str, dict | None] = {"bonemet_ode": prepare_bonemet(cases),
                                       "libroadrunner": None if missing else prepare_roadrunner(cases),
                                       "scipy": prepare_scipy(cases)}
    print("single solves (interleaved rounds) ...", flush=True)
    time_single_solves(results, cfg)
    print("10k cohorts ...", flush=True)
    time_cohorts(results, cases, cohort, cfg)
    s = summarise(results, cases, results["bonemet_ode"]["cohort"]["t60"])
    print("compile timings (fresh processes) ...", flush=True)
    cold = ct.cold_compile("perf_reference", cfg["compile_repeats"])
    cached = ct.cached_first_solve(cold["cache_dir"], cfg["cached_repeats"])
    s["compile_cold_s"], s["compile_cold_runs_s"] = cold["median_s"], cold["runs_s"]
    s["compile_cold_bone_metastasis_s"] = ct.cold_compile("bone_metastasis", 1)["median_s"]
    s["compile_cold_in_process_s"] = ct.in_process_cold_compile(model)
    s["compile_cached_s"], s["compile_cached_runs_s"] = cached["median_s"], cached["runs_s"]
    s["compile_cached_process_wall_s"] = cached["process_wall_s"]
    s["compile_cached_imports_sympy"] = cached["sympy_imported"]
    s["bonemet_simulator_prepare_s"] = results["bonemet_ode"]["reference"]["setup_s"]
    s["setup_s"]["bonemet_ode"] = s["compile_cold_s"]
    if results["libroadrunner"] is not None:
        s["sbml_export_s"] = results["libroadrunner"]["reference"]["export_s"]
    s["targets"] = evaluate_targets(s)
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    meta["libroadrunner"] = "missing: " + missing if missing else __import__("roadrunner").__version__
    meta["benchmark_wall_s"] = round(time.perf_counter() - t_start, 1)
    s["meta"] = meta
    print_table(s, meta)
    if args.json:
        args.json.write_text(json.dumps(s, indent=2, default=float) + "\n")
        print(f"\nwrote {args.json}")
    return s


if __name__ == "__main__":
    main()

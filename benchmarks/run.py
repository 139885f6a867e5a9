"""Benchmark bonemet_ode against libRoadRunner, numbalsoda, diffrax and plain scipy (shared/spec/performance.md).

Usage::

    python benchmarks/run.py [--quick] [--json FILE] [--calibration]

In one process: the reference problem exactly as performance.md defines it
(combination arm, days 0-60, 61 outputs, rtol 1e-6, atol 1e-9; the 10k cohort
with r and kC times lognormal(0, 0.3) draws, fixed seed; the stiff variant
kA = 2e4, kF = 350) and the bone_metastasis model's last default arm, on

* bonemet_ode (``Simulator.run``; cohort: ``simulate_cohort`` with 2 threads),
* plain scipy (a hand-written Python RHS, ``solve_ivp`` LSODA restarted at each
  dose and at each of the model's state events, which ``solve_ivp`` locates;
  cohort: 2 processes),
* libRoadRunner on the SBML that bonemet_ode exports, doses as SBML events
  (cohort: 2 processes; optional, ``pip install libroadrunner``),
* numbalsoda, DOP853 and LSODA, on a numba cfunc of the reference problem,
  restarted at each dose (cohort: a ``numba.njit(parallel=True)`` prange loop,
  2 threads; optional, ``pip install numbalsoda``, which builds with gfortran),
* diffrax Tsit5 (JAX CPU jit, float64), segments between doses in one jitted
  function (cohort: vmap, pmap over 2 CPU devices; optional, ``pip install jax
  diffrax``),

plus cold and cached compile times measured in fresh processes.  numbalsoda and
diffrax run the reference problem only (their stiff and bone_metastasis columns
are n/a); the ``numbalsoda`` entries of the JSON mappings are the faster of
DOP853 and LSODA (single solve and cohort chosen apart, ``numbalsoda_method``).  Accuracy is
scored against scipy Radau at rtol 1e-10, atol 1e-12 (restarted at each dose and
state event: bone_metastasis's extinction events), computed here, and against the
published T(60) = 7.660515e8.  Single solves are
timed in interleaved rounds (every tool in every round) and cohorts alternate
between tools, so load from other processes falls on all tools alike.  ``--quick``
solves fewer repeats and extrapolates the scipy and libRoadRunner cohorts from
a sample (labelled as such; numbalsoda and diffrax cohorts likewise if their
``SETTINGS`` sample is set).  ``--calibration`` also times the full O1-O21
calibration of examples/calibrate_bone_metastasis.py (search from the
hand-built start and confirmation, seed 0, 2 threads; about 4 minutes), the
last target of performance.md.  Never run inside the unit tests.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
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
    StateEvents,
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
#: Every tool (and numbalsoda method) run, in table order.
TOOLS = ("bonemet_ode", "libroadrunner", "numbalsoda_dop853", "numbalsoda_lsoda", "diffrax", "scipy")
NUMBALSODA_METHODS = ("numbalsoda_dop853", "numbalsoda_lsoda")
#: Keys of every per-tool mapping in the summary: the tools plus ``numbalsoda``, the faster of its two methods.
KEYS = (*TOOLS, "numbalsoda")
#: Single solves are timed in interleaved rounds (every tool and case in each round, ``per_round`` calls each),
#: so that load from other processes falls on all tools alike; in-process cohorts alternate between tools.
#: ``*_cohort``: members actually solved (None: all; else extrapolated from that sample).
SETTINGS = {
    "full": dict(rounds=15, per_round={"bonemet_ode": 100, "libroadrunner": 30, "numbalsoda_dop853": 100,
                                       "numbalsoda_lsoda": 100, "diffrax": 30, "scipy": 2},
                 cohort_rounds=5, rr_cohort=None, scipy_cohort=None, numbalsoda_cohort=None, diffrax_cohort=None,
                 compile_repeats=3, cached_repeats=5),
    "quick": dict(rounds=5, per_round={"bonemet_ode": 40, "libroadrunner": 12, "numbalsoda_dop853": 40,
                                       "numbalsoda_lsoda": 40, "diffrax": 12, "scipy": 2},
                  cohort_rounds=3, rr_cohort=1000, scipy_cohort=40, numbalsoda_cohort=None, diffrax_cohort=None,
                  compile_repeats=1, cached_repeats=3),
}
INSTALL_HINTS = {
    "numbalsoda": "apt-get install gfortran cmake && pip install numbalsoda  (builds from source)",
    "diffrax": "pip install jax diffrax  (CPU wheels)",
}


def worst_state_error(y: np.ndarray, ref: np.ndarray) -> float:
    """max over outputs and states of |y - ref| / (|ref| + 1e-6 max|ref_state|) (floor: values ~0 before a dose)."""
    scale = np.abs(ref).max(axis=0)
    return float(np.max(np.abs(y - ref) / (np.abs(ref) + 1e-6 * scale + 1e-300)))


class Case:
    """One problem: a model under an arm, with its plain-scipy form and a tight Radau reference.

    Both scipy solves execute the model's state-triggered events (:class:`_scipy_user.StateEvents`).
    """

    def __init__(self, label: str, model: bm.Model, arm: bm.Arm, hand_written: bool, days: float = DAYS) -> None:
        self.label, self.model, self.arm = label, model, arm
        #: the span (days 0 .. days) and its daily output grid (DAYS, TIMES here)
        self.days = float(days)
        self.times = TIMES if days == DAYS else np.linspace(0.0, self.days, int(round(self.days)) + 1)
        applied = arm.apply(model)
        if hand_written:
            self.rhs, names = reference_rhs, REFERENCE_PARAMETERS
        else:
            self.rhs, names = straight_line_rhs(applied)
        values = applied.parameter_values()
        self.args = [values[n] for n in names]
        self.index = {n: i for i, n in enumerate(names)}
        self.y0 = applied.initial_values()
        self.schedule = bolus_schedule(applied, arm, self.days)
        # the model's state events (bone_metastasis: extinction), located by solve_ivp; untranslatable ones refused
        self.events = StateEvents(applied, names)
        #: (day, event) of each event execution in the reference solve
        self.reference_events: list[tuple[float, str]] = []
        self.reference, _ = solve_with_doses(self.rhs, self.y0, self.args, self.times, self.schedule, method="Radau",
                                             rtol=1e-10, atol=1e-12, events=self.events,
                                             fired=self.reference_events)

    def scipy_solve(self) -> tuple[np.ndarray, int]:
        return solve_with_doses(self.rhs, self.y0, self.args, self.times, self.schedule, rtol=RTOL, atol=ATOL,
                                events=self.events)


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


def optional_tool(module: str) -> tuple[Any, str | None]:
    """Import an optional tool's benchmark module.

    Parameters
    ----------
    module : str
        ``_numbalsoda_case`` or ``_diffrax_case``.

    Returns
    -------
    tuple
        (the module, None), or (None, why it does not import).
    """
    try:
        return importlib.import_module(module), None
    except (ImportError, OSError) as exc:  # OSError: a shared library (e.g. numbalsoda's) that does not load
        return None, f"{type(exc).__name__}: {exc}"


def prepare_numbalsoda(mod: Any, case: Case) -> dict[str, dict[str, Any]]:
    """numbalsoda DOP853 and LSODA on the reference case: ``{tool: {"reference": entry}}``.

    ``setup_s`` is compiling the cfunc and the single-solve njit kernel in this process.
    """
    if tuple(case.index) != REFERENCE_PARAMETERS:
        raise ValueError("the numbalsoda case takes the hand-written reference parameters")
    out: dict[str, dict[str, Any]] = {}
    for tool in NUMBALSODA_METHODS:
        drv = mod.NumbalsodaCase(case.y0, np.array(case.args), TIMES, case.schedule,
                                 method=tool.removeprefix("numbalsoda_"), rtol=RTOL, atol=ATOL, threads=2)
        y, nfev = drv.solve()
        out[tool] = {"reference": {"solve": drv.solve, "y": y, "rhs_evals": nfev, "setup_s": drv.setup_s,
                                   "driver": drv}}
    return out


def prepare_diffrax(mod: Any, case: Case) -> dict[str, dict[str, Any]]:
    """diffrax Tsit5 on the reference case: ``{"diffrax": {"reference": entry}}``.

    ``setup_s`` is tracing and compiling the jitted single solve.  JAX runs the
    solve on its own threads, so its CPU time is the process's (``cpu_clock``).
    """
    if tuple(case.index) != REFERENCE_PARAMETERS:
        raise ValueError("the diffrax case takes the hand-written reference parameters")
    drv = mod.DiffraxCase(case.y0, np.array(case.args), TIMES, case.schedule, rtol=RTOL, atol=ATOL)
    y, nfev = drv.solve()
    return {"diffrax": {"reference": {"solve": drv.solve, "y": y, "rhs_evals": nfev, "setup_s": drv.setup_s,
                                      "driver": drv, "cpu_clock": time.process_time}}}


def time_single_solves(results: dict[str, dict | None], cfg: dict) -> None:
    """Median ms per call of every prepared solve, timed in interleaved rounds.

    Stores the wall-clock median as ``ms``/``raw_ms`` and the median CPU time
    as ``cpu_ms``/``raw_cpu_ms``: of the calling thread, where every solve
    runs except diffrax's (JAX computes on its own threads; its entry's
    ``cpu_clock`` is the process CPU time, and nothing else in the process
    runs meanwhile).  CPU time is what the solve costs when another process
    takes the core away mid-call.
    """
    calls = [(tool, key, variant, entry[fn], entry.get("cpu_clock", time.thread_time))
             for tool, per_case in results.items() if per_case is not None
             for key, entry in per_case.items()
             for variant, fn in (("", "solve"), ("raw_", "raw")) if fn in entry]
    wall: dict[tuple[str, str, str], list[float]] = {c[:3]: [] for c in calls}
    cpu: dict[tuple[str, str, str], list[float]] = {c[:3]: [] for c in calls}
    for *_, fn, _clock in calls:  # warm-up
        fn()
    for _ in range(cfg["rounds"]):
        for tool, key, variant, fn, clock in calls:
            for _ in range(cfg["per_round"][tool]):
                t0, c0 = time.perf_counter(), clock()
                fn()
                c1, t1 = clock(), time.perf_counter()
                wall[(tool, key, variant)].append(t1 - t0)
                cpu[(tool, key, variant)].append(c1 - c0)
    for (tool, key, variant), ts in wall.items():
        results[tool][key][f"{variant}ms"] = 1e3 * statistics.median(ts)
        results[tool][key][f"{variant}cpu_ms"] = 1e3 * statistics.median(cpu[(tool, key, variant)])


def _cohort_parameters(ref: Case, r: np.ndarray, kc: np.ndarray) -> np.ndarray:
    """(members x parameters) in ``REFERENCE_PARAMETERS`` order: the reference values with r and kC per member."""
    params = np.tile(np.asarray(ref.args, dtype=float), (len(r), 1))
    params[:, ref.index["r"]], params[:, ref.index["kC"]] = r, kc
    return params


def _in_process_cohort(solve: Any, params: np.ndarray, n: int, how: str) -> dict[str, Any]:
    """Time ``solve(params[:n])`` (outputs, ok, RHS evaluations) and scale it to all members.

    Parameters
    ----------
    solve : callable
        A compiled cohort solve, ``(m x parameters) -> (m x outputs x states, ok, evaluations)``.
    params : numpy.ndarray
        The whole cohort's parameters.
    n : int
        Members actually solved (the first ``n``); the time is scaled by ``len(params) / n``.
    how : str
        How the tool runs the cohort (threads, devices), for the label.
    """
    total = len(params)
    t0 = time.perf_counter()
    out, ok, nfev = solve(params[:n])
    dt = time.perf_counter() - t0
    label = (f"measured, all {total} members, {how}" if n == total else
             f"extrapolated from {n} members ({how}): solve time x {total}/{n}")
    return {"s": dt * total / n, "sample": n, "sample_solve_s": dt, "failed": int((~ok).sum()), "t60": out[:, -1, 0],
            "rhs_evals_mean": float(np.mean(nfev)), "how": label}


def _cohort_runners(results: dict[str, dict | None], ref: Case, cohort, params: np.ndarray,
                    cfg: dict) -> dict[str, Any]:
    """``{tool: run}`` for the cohorts run in rounds; ``run()`` times one cohort and returns its summary.

    Compiles the numbalsoda and diffrax cohort kernels first (kept out of the timings, stored as ``compile_s``).
    """
    opts, total = bm.SolverOptions(rtol=RTOL, atol=ATOL), len(params)
    r_all, kc_all = params[:, ref.index["r"]], params[:, ref.index["kC"]]

    def bonemet() -> dict[str, Any]:
        t0 = time.perf_counter()
        res = bm.simulate_cohort(ref.model, cohort, ref.arm, DAYS, TIMES, n_jobs=2, progress=False, options=opts)
        return {"s": time.perf_counter() - t0, "failed": int((~res.ok).sum()), "t60": res.final("T"),
                "rhs_evals_mean": float(res.stats[:, 3].mean()), "how": f"measured, all {total} members, 2 threads"}

    runners: dict[str, Any] = {"bonemet_ode": bonemet}
    if results["libroadrunner"] is not None:
        n_rr = cfg["rr_cohort"] or total
        init = (results["libroadrunner"]["reference"]["sbml"], RTOL, ATOL, DAYS, N_OUT)
        runners["libroadrunner"] = lambda: _cohort_summary(
            wk.pool_cohort("roadrunner", init, r_all[:n_rr], kc_all[:n_rr]), n_rr, total)
    for tool in NUMBALSODA_METHODS:
        if results[tool] is not None:
            drv, n_nb = results[tool]["reference"]["driver"], cfg["numbalsoda_cohort"] or total
            results[tool]["reference"]["cohort_compile_s"] = drv.compile_cohort()
            runners[tool] = (lambda drv=drv, n=n_nb: _in_process_cohort(
                drv.cohort, params, n, f"numba prange, {drv.threads} threads"))
    if results["diffrax"] is not None:
        drv, n_dx = results["diffrax"]["reference"]["driver"], cfg["diffrax_cohort"] or total
        results["diffrax"]["reference"]["cohort_compile_s"] = drv.compile_cohort(n_dx)
        runners["diffrax"] = lambda: _in_process_cohort(drv.cohort, params, n_dx,
                                                        f"vmap, pmap over {drv.devices} CPU devices")
    return runners


def _median_run(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time (the upper one of an even count), with every run's time added."""
    med = dict(sorted(summaries, key=lambda x: x["s"])[len(summaries) // 2])
    med["runs_s"] = [x["s"] for x in summaries]
    med["how"] += f"; median of {len(summaries)} runs"
    return med


def time_cohorts(results: dict[str, dict | None], cases: dict[str, Case], cohort, cfg: dict) -> None:
    """10k cohorts: the in-process tools and libRoadRunner alternate, round by round; scipy (2 processes) once.

    bonemet_ode: ``simulate_cohort``, 2 threads; libRoadRunner: 2 processes;
    numbalsoda: a numba prange loop on 2 threads; diffrax: vmap, pmap over 2
    CPU devices.  Each tool's cohort is the run with the median time.
    """
    ref = cases["reference"]
    params = _cohort_parameters(ref, cohort["r"].to_numpy(), cohort["kC"].to_numpy())
    r_all, kc_all = params[:, ref.index["r"]], params[:, ref.index["kC"]]
    runners = _cohort_runners(results, ref, cohort, params, cfg)
    runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in runners}
    for _ in range(cfg["cohort_rounds"]):
        for tool, run in runners.items():
            runs[tool].append(run())
    for tool, summaries in runs.items():
        results[tool]["cohort"] = _median_run(summaries)
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
#: Ratio label -> the per-tool mapping it divides (other tool's value / bonemet_ode's).
RATIO_KEYS = {"single_solve": "single_solve_ms", "cohort_10k": "cohort_10k_s",
              "single_solve_cpu_time": "single_solve_cpu_ms", "stiff_single_solve": "stiff_single_solve_ms",
              "bone_metastasis_single_solve": "bone_metastasis_single_solve_ms",
              "bone_metastasis_single_solve_cpu_time": "bone_metastasis_single_solve_cpu_ms"}
RATIO_OTHERS = ("libroadrunner", "numbalsoda", "diffrax", "scipy")


def _per_tool(results: dict[str, dict | None], fn, case: str = "reference") -> dict[str, Any]:
    """``{tool: fn(results[tool][case])}``, None for a tool not run or without that case."""
    return {tool: (fn(results[tool][case]) if results.get(tool) is not None and case in results[tool] else None)
            for tool in TOOLS}


def _ratio(mapping: dict[str, Any], other: str) -> float | None:
    """``mapping[other] / mapping["bonemet_ode"]`` (the speed-up), None where either is missing."""
    ours, theirs = mapping.get("bonemet_ode"), mapping.get(other)
    return None if ours is None or theirs is None else theirs / ours


def _faster_numbalsoda(mapping: dict[str, Any]) -> str | None:
    """The numbalsoda method with the smaller value in ``mapping`` (a time), None if neither ran."""
    ran = {m: mapping[m] for m in NUMBALSODA_METHODS if mapping.get(m) is not None}
    return min(ran, key=ran.get) if ran else None


def _add_numbalsoda(s: dict[str, Any]) -> None:
    """Give every per-tool mapping a ``numbalsoda`` key: the faster method's value.

    Cohort mappings follow the method with the faster cohort; all others the
    method with the faster single solve (its accuracy, setup, RHS evaluations).
    """
    choice = {"single_solve": _faster_numbalsoda(s["single_solve_ms"]),
              "cohort_10k": _faster_numbalsoda(s["cohort_10k_s"])}
    for key, mapping in s.items():
        if isinstance(mapping, dict) and set(mapping) == set(TOOLS):
            method = choice["cohort_10k" if key.startswith("cohort_") else "single_solve"]
            mapping["numbalsoda"] = None if method is None else mapping[method]
    s["numbalsoda_method"] = {k: (m.removeprefix("numbalsoda_") if m else None) for k, m in choice.items()}


def summarise(results: dict[str, dict | None], cases: dict[str, Case], cohort_ref_t60: np.ndarray) -> dict[str, Any]:
    ref, stiff, bmet = cases["reference"], cases["stiff"], cases["bone_metastasis"]
    s: dict[str, Any] = {
        "single_solve_ms": _per_tool(results, lambda e: e["ms"]),
        "single_solve_raw_ms": {"bonemet_ode": results["bonemet_ode"]["reference"]["raw_ms"]},
        "single_solve_cpu_ms": _per_tool(results, lambda e: e["cpu_ms"]),
        "cohort_10k_s": _per_tool(results, lambda e: e["s"], "cohort"),
        "cohort_10k_how": _per_tool(results, lambda e: e["how"], "cohort"),
        "cohort_10k_failed": _per_tool(results, lambda e: e["failed"], "cohort"),
        "cohort_compile_s": _per_tool(results, lambda e: e.get("cohort_compile_s")),
        "setup_s": _per_tool(results, lambda e: e["setup_s"]),
        "t60": _per_tool(results, lambda e: float(e["y"][-1, 0])),
        "t60_rel_err": _per_tool(results, lambda e: abs(float(e["y"][-1, 0]) / PERF_REFERENCE_T60 - 1)),
        "worst_state_rel_err": _per_tool(results, lambda e: worst_state_error(e["y"], ref.reference)),
        "rhs_evals": _per_tool(results, lambda e: e["rhs_evals"]),
        "stiff_single_solve_ms": _per_tool(results, lambda e: e["ms"], "stiff"),
        "stiff_over_nonstiff": {},  # filled in below, from the two time mappings
        "stiff_t60_rel_err": _per_tool(results, lambda e: abs(e["y"][-1, 0] / stiff.reference[-1, 0] - 1), "stiff"),
        "stiff_worst_state_rel_err": _per_tool(results, lambda e: worst_state_error(e["y"], stiff.reference), "stiff"),
        "stiff_rhs_evals": _per_tool(results, lambda e: e["rhs_evals"], "stiff"),
        "bone_metastasis_single_solve_ms": _per_tool(results, lambda e: e["ms"], "bone_metastasis"),
        # thread CPU time: libRoadRunner's ~4 ms calls are preempted on a loaded machine (wall up to 2x CPU)
        "bone_metastasis_single_solve_cpu_ms": _per_tool(results, lambda e: e["cpu_ms"], "bone_metastasis"),
        "bone_metastasis_worst_state_rel_err": _per_tool(
            results, lambda e: worst_state_error(e["y"], bmet.reference), "bone_metastasis"),
        "bone_metastasis_rhs_evals": _per_tool(results, lambda e: e["rhs_evals"], "bone_metastasis"),
        "bone_metastasis_reference_events": [[day, name] for day, name in bmet.reference_events],
        "radau_reference_t60": float(ref.reference[-1, 0]),
        "radau_reference_t60_rel_err_vs_published": abs(float(ref.reference[-1, 0]) / PERF_REFERENCE_T60 - 1),
    }
    s["stiff_over_nonstiff"].update({tool: (None if v is None else v / s["single_solve_ms"][tool])
                                     for tool, v in s["stiff_single_solve_ms"].items()})
    s["cohort_t60_max_rel_diff_vs_bonemet_ode"] = _per_tool(
        results, lambda e: float(np.nanmax(np.abs(e["t60"] / cohort_ref_t60[: len(e["t60"])] - 1))), "cohort")
    _add_numbalsoda(s)
    s["ratios"] = {label: {f"vs_{o}": _ratio(s[key], o) for o in RATIO_OTHERS} for label, key in RATIO_KEYS.items()}
    return s


def _fmt(x: Any, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


NAMES = {"bonemet_ode": "bonemet_ode", "libroadrunner": "libRoadRunner", "numbalsoda_dop853": "numbalsoda DOP853",
         "numbalsoda_lsoda": "numbalsoda LSODA", "diffrax": "diffrax Tsit5", "scipy": "scipy LSODA, Python RHS"}


def _rows(s: dict[str, Any], cols: list[tuple[str, str, str]], tools: tuple[str, ...] = TOOLS) -> None:
    head = f"{'tool':24s}" + "".join(f"{c[0]:>16s}" for c in cols)
    print(head + "\n" + "-" * len(head))
    for tool in tools:
        print(f"{NAMES[tool]:24s}" + "".join(f"{_fmt(s[key][tool], spec):>16s}" for _, key, spec in cols))


def print_table(s: dict[str, Any], meta: dict[str, Any]) -> None:
    print(f"\nReference problem (performance.md): combination arm, days 0-60, {N_OUT} outputs, rtol {RTOL:g}, "
          f"atol {ATOL:g};\n10k cohort: r, kC x lognormal(0, {SIGMA}), seed {COHORT_SEED}.  "
          f"Machine: {meta['cpu_count']} cores, load average {meta['loadavg_start']} at start, "
          f"{meta['loadavg_end']} at end; mode: {'quick' if meta['quick'] else 'full'}.\n")
    _rows(s, [("setup (s)", "setup_s", ".3g"), ("one solve (ms)", "single_solve_ms", ".3g"),
              ("10k cohort (s)", "cohort_10k_s", ".3g"), ("rel.err T(60)", "t60_rel_err", ".1e"),
              ("worst state", "worst_state_rel_err", ".1e"), ("RHS evals", "rhs_evals", "d")])
    comp = s["cohort_compile_s"]
    print(f"  setup: bonemet_ode = cold compile of a new model (new process); libRoadRunner = loading the SBML "
          f"(export took {_fmt(s.get('sbml_export_s'), '.3f')} s);\n"
          f"         numbalsoda = cfunc + njit compile in this process (prange cohort kernel: DOP853 "
          f"{_fmt(comp['numbalsoda_dop853'], '.2f')} s, LSODA {_fmt(comp['numbalsoda_lsoda'], '.2f')} s more); "
          f"diffrax = jit trace + compile (pmapped cohort: {_fmt(comp['diffrax'], '.2f')} s more)")
    print(f"  bonemet_ode raw solve(): {s['single_solve_raw_ms']['bonemet_ode']:.3g} ms; numbalsoda and diffrax "
          f"solve the reference problem only; their RHS evals: counted by the cfunc / 6 per Tsit5 step + 3 per "
          f"segment")
    cpu = s["single_solve_cpu_ms"]
    print("  one solve by CPU time (immune to other processes; diffrax: process CPU time, JAX computes on its own "
          "threads):\n    " + ", ".join(f"{NAMES[t]} {_fmt(cpu[t], '.3g')} ms" for t in TOOLS))
    for tool in TOOLS:
        print(f"  cohort {NAMES[tool]}: {s['cohort_10k_how'][tool] or 'not run'}")
    print(f"  worst state: max over outputs and states of |y - y_ref| / (|y_ref| + 1e-6 max|y_ref|), "
          f"y_ref = scipy Radau rtol 1e-10\n\nStiff variant (kA = 2e4, kF = 350) and bone_metastasis "
          f"'{meta['bone_metastasis_arm']}' (days 0-60, {N_OUT} outputs, same tolerances; "
          "numbalsoda and diffrax not run):\n")
    _rows(s, [("stiff (ms)", "stiff_single_solve_ms", ".3g"), ("stiff/non-stiff", "stiff_over_nonstiff", ".2f"),
              ("stiff worst", "stiff_worst_state_rel_err", ".1e"), ("stiff RHS", "stiff_rhs_evals", "d"),
              ("bone_met (ms)", "bone_metastasis_single_solve_ms", ".3g"),
              ("bone_met worst", "bone_metastasis_worst_state_rel_err", ".1e"),
              ("bone_met RHS", "bone_metastasis_rhs_evals", "d")], ("bonemet_ode", "libroadrunner", "scipy"))
    fired = ", ".join(f"{name} at day {day:.4g}" for day, name in s["bone_metastasis_reference_events"])
    print(f"  bone_met worst: against the Radau reference with the model's state events ({fired or 'none fired'})")
    method = s["numbalsoda_method"]
    print(f"\nbonemet_ode speed-up (other tool's time / ours, same run; numbalsoda: the faster method, "
          f"{method['single_solve'] or 'n/a'} for one solve, {method['cohort_10k'] or 'n/a'} for the cohort):")
    for label, r in s["ratios"].items():
        print(f"  {label:30s}" + "".join(f"  vs {n} {_fmt(r[f'vs_{o}'], '.1f') + ('x' if r[f'vs_{o}'] else ''):>7s}"
                                         for o, n in (("libroadrunner", "libRoadRunner"), ("numbalsoda", "numbalsoda"),
                                                      ("diffrax", "diffrax"), ("scipy", "scipy"))))
    print(f"\ncompile_cold_s   {s['compile_cold_s']:.3f}  (new process, empty cache: sympy import + codegen + cc"
          " + load; "
          f"in this process with sympy loaded: {s['compile_cold_in_process_s']:.3f};\n"
          f"                 bone_metastasis, {meta['bone_metastasis_states']} states: "
          f"{s['compile_cold_bone_metastasis_s']:.3f})")
    print(f"compile_cached_s {s['compile_cached_s']:.3f}  (new process: import bonemet_ode to first solve; "
          f"process wall incl. interpreter start {s['compile_cached_process_wall_s']:.3f}; "
          f"with PYTHONDONTWRITEBYTECODE=1 {s['compile_cached_no_bytecode_write_s']:.3f})")
    print(f"Radau reference T(60) = {s['radau_reference_t60']:.7e} "
          f"(published 7.660515e8, rel. diff {s['radau_reference_t60_rel_err_vs_published']:.1e})")
    print("\nTargets (performance.md):")
    for name, t in s["targets"].items():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        print(f"  {name:34s} {verdict:13s} {t['value_text']:>10s}  (target {t['target']})  {t['note']}")


def time_calibration(n_jobs: int) -> dict[str, Any]:
    """Wall time and outcome count of the example's calibration (search from the hand-built start, then
    the confirmation), run in this process."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "examples" / "calibrate_bone_metastasis.py"
    spec = importlib.util.spec_from_file_location("calibrate_bone_metastasis", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    t0 = time.perf_counter()
    _, result = mod.search(mod.SEED, n_jobs)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "satisfied": sum(r.satisfied for r in result.results), "outcomes": len(result.results),
            "all_satisfied": bool(result.satisfied), "n_evaluations": result.n_evaluations, "n_jobs": n_jobs}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats; scipy/libRoadRunner cohorts extrapolated")
    ap.add_argument("--json", type=Path, help="write the results to this JSON file")
    ap.add_argument("--calibration", action="store_true",
                    help="also time the full O1-O21 calibration (examples/calibrate_bone_metastasis.py; ~4 min)")
    args = ap.parse_args(argv)
    cfg = SETTINGS["quick" if args.quick else "full"]
    meta = {"quick": args.quick, "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()], "bonemet_ode": bm.__version__}
    missing = wk.roadrunner_available()
    if missing:
        print(f"libroadrunner is not installed ({missing}): its columns are skipped. "
              "Install the [bench] extra (pip install libroadrunner python-libsbml) to compare.")
    nb_mod, nb_missing = optional_tool("_numbalsoda_case")
    dx_mod, dx_missing = optional_tool("_diffrax_case")  # first import of JAX: asks XLA for 2 CPU devices
    for name, why in (("numbalsoda", nb_missing), ("diffrax", dx_missing)):
        if why:
            print(f"{name} is not installed ({why}): its columns are n/a. Install: {INSTALL_HINTS[name]}")
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
                                       "numbalsoda_dop853": None, "numbalsoda_lsoda": None, "diffrax": None,
                                       "scipy": prepare_scipy(cases)}
    if nb_mod is not None:
        print("numbalsoda (compiling the cfunc and kernels) ...", flush=True)
        results.update(prepare_numbalsoda(nb_mod, cases["reference"]))
    if dx_mod is not None:
        print("diffrax (jit compile) ...", flush=True)
        results.update(prepare_diffrax(dx_mod, cases["reference"]))
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
    s["compile_cached_no_bytecode_write_s"] = cached["no_bytecode_write_median_s"]
    s["compile_cached_no_bytecode_write_runs_s"] = cached["no_bytecode_write_runs_s"]
    s["compile_cached_imports_sympy"] = cached["sympy_imported"]
    s["bonemet_simulator_prepare_s"] = results["bonemet_ode"]["reference"]["setup_s"]
    s["setup_s"]["bonemet_ode"] = s["compile_cold_s"]
    if results["libroadrunner"] is not None:
        s["sbml_export_s"] = results["libroadrunner"]["reference"]["export_s"]
    if args.calibration:
        print("full O1-O21 calibration (examples/calibrate_bone_metastasis.py, 2 threads) ...", flush=True)
        s["calibration_O1_O21"] = time_calibration(n_jobs=2)
    s["targets"] = evaluate_targets(s)
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    meta["libroadrunner"] = "missing: " + missing if missing else __import__("roadrunner").__version__
    meta["numbalsoda"] = "missing: " + nb_missing if nb_missing else nb_mod.version()
    meta["diffrax"] = "missing: " + dx_missing if dx_missing else dx_mod.version()
    meta["benchmark_wall_s"] = round(time.perf_counter() - t_start, 1)
    s["meta"] = meta
    print_table(s, meta)
    if args.json:
        args.json.write_text(json.dumps(s, indent=2, default=float) + "\n")
        print(f"\nwrote {args.json}")
    return s


if __name__ == "__main__":
    main()

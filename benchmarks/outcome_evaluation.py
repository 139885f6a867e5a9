"""Time one full evaluation of the bone-metastasis outcome catalogue with new parameters.

Usage::

    python benchmarks/outcome_evaluation.py [--rounds 5] [--per-round 6] [--sigma 0.05] [--seed 0]
                                            [--threads 1,2] [--baseline-ref REF] [--baseline-threads 1,2]
                                            [--sources-only] [--json FILE]

One evaluation is what a calibration or the ensemble sampler pays per parameter set:
``catalogue_context().evaluate(params)`` with the free parameters jittered jointly (log-normal,
``--sigma``, seeded; a draw outside a parameter's bounds is drawn again), every scenario arm and
every cohort simulated, every outcome scored (no cache hits: each call gets a new parameter set).

Timed in the same run, in interleaved rounds (every configuration in every round, so that load
from other processes falls on all alike):

* ``legacy``: the evaluation path as it was (``engine="legacy"``: one solve per arm, one batched
  solve per cohort on the whole output grid, cohorts on one thread, arms and cohorts at the
  solver's default rtol 1e-6: ``options=SolverOptions(), cohort_options=SolverOptions()``), on this
  checkout's compiled code;
* ``batched, N threads``: the catalogue's default context (:mod:`bonemet_ode.outcomes.plan`, arms at
  the catalogue's ``options``, cohorts at its ``cohort_options``) on ``N`` threads;
* ``--sources-only``: O1-O21 alone (the catalogue without its plausibility statements P1-P6, so
  arms to day 42 and no 365-day cohort), in this checkout and in the ``--baseline-ref`` library
  (a library from before the plausibility catalogue evaluates O1-O21 anyway): the evaluation
  issue #12 timed at ~0.4 s when it was filed;
* with ``--baseline-ref REF`` (a git commit, e.g. the one before this work): the whole library
  (Python and generated C) as it was at ``REF``, extracted with ``git archive`` and run in a
  subprocess with its own compile cache, on the same parameter sets.

Prints the median wall time and process CPU time (all threads) per evaluation, the ratios of
each configuration's wall and CPU time to the baseline's (``--baseline-ref`` when given, else legacy),
and ``os.getloadavg()`` before and after: on a shared machine a load above the core count
slows every configuration, and threads help only as far as a core is free.  Then checks, on the
first parameter sets, that every verdict of every configuration equals legacy's, reports the
largest margin change of the arm and of the cohort clauses (solved at the catalogue's looser
tolerances), and checks that the batched engine's arm margins are bit-identical to the legacy
engine's at the catalogue's own arm tolerance.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent

#: Run in the subprocess of --baseline-ref: reads parameter sets (JSON lines), prints wall/CPU seconds.
_CHILD = r"""
import json, sys, time
from bonemet_ode.models.bone_metastasis.catalogue import catalogue_context
kw = {"cache_size": 0}
if "--sources-only" in sys.argv:
    sys.argv.remove("--sources-only")
    import inspect
    if "include_plausibility" in inspect.signature(catalogue_context).parameters:
        kw["include_plausibility"] = False  # else the library has no plausibility statements yet
if len(sys.argv) > 1:
    kw["n_jobs"] = int(sys.argv[1])
ctx = catalogue_context(**kw)
ev0 = ctx.evaluate()
known = {p.name for p in ctx.model.parameters}
print("ready", json.dumps({"statements": len(ev0.results), "parameters": sorted(known)}), flush=True)
for line in sys.stdin:
    params = {k: v for k, v in json.loads(line).items() if k in known}
    t0, c0 = time.perf_counter(), time.process_time()
    ev = ctx.evaluate(params)
    print(json.dumps([time.perf_counter() - t0, time.process_time() - c0, ev.margins().tolist()]), flush=True)
"""


def draw_parameters(model: Any, names: list[str], sigma: float, n: int, seed: int) -> list[dict[str, float]]:
    """``n`` joint log-normal jitters (``sigma``) of ``names`` around the model's values, each within bounds."""
    rng = np.random.default_rng(seed)
    pars = {p.name: p for p in model.parameters}
    out = []
    while len(out) < n:
        d = {k: pars[k].value * float(np.exp(sigma * rng.standard_normal())) for k in names}
        if all(pars[k].lower <= v <= pars[k].upper for k, v in d.items()):
            out.append(d)
    return out


class Baseline:
    """The library at a git ref, evaluating in a subprocess (see ``_CHILD``)."""

    def __init__(self, ref: str, n_jobs: int | None = None, sources_only: bool = False) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="bm-baseline-")
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], check=True,
                                 capture_output=True).stdout
        tar = Path(self.dir.name) / "src.tar"
        tar.write_bytes(archive)
        with tarfile.open(tar) as tf:
            tf.extractall(self.dir.name)
        env = dict(os.environ, PYTHONPATH=str(Path(self.dir.name) / "src"),
                   BONEMET_ODE_CACHE=str(Path(tempfile.gettempdir()) / f"bmcache-baseline-{ref}"),
                   BONEMET_ODE_QUIET="1")
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, *([str(n_jobs)] if n_jobs else []),
                                      *(["--sources-only"] if sources_only else [])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"baseline at {ref} did not start: {line!r}")
        #: How many statements the library at ``ref`` evaluates (its own catalogue); a parameter it does
        #: not have is left out of its parameter sets (an older model may lack one of today's free parameters).
        info = json.loads(line[len("ready"):])
        self.statements, self.parameters = int(info["statements"]), set(info["parameters"])
        self.ref = ref

    def evaluate(self, params: dict[str, float]) -> tuple[float, float, list[float]]:
        self.proc.stdin.write(json.dumps(params) + "\n")
        self.proc.stdin.flush()
        wall, cpu, margins = json.loads(self.proc.stdout.readline())
        return wall, cpu, margins

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.dir.cleanup()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-round", type=int, default=6, help="evaluations per configuration per round")
    ap.add_argument("--sigma", type=float, default=0.05, help="log-normal jitter of the free parameters")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", default="1,2", help="thread counts of the batched engine (comma-separated)")
    ap.add_argument("--baseline-ref", help="git ref whose library is timed in a subprocess as the baseline")
    ap.add_argument("--baseline-threads", help="thread counts of the --baseline-ref library (comma-separated; "
                    "default: its catalogue's default); each row is compared with the baseline of its thread count")
    ap.add_argument("--sources-only", action="store_true",
                    help="evaluate O1-O21 only (no plausibility statements P1-P6, horizon day 42), here and in the "
                         "--baseline-ref library: the evaluation the issue timed before the plausibility catalogue")
    ap.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = ap.parse_args(argv)

    import bonemet_ode as bm
    from bonemet_ode.models.bone_metastasis.catalogue import catalogue_context, free_parameters

    load0 = os.getloadavg()
    threads = [int(x) for x in args.threads.split(",")]
    inc = {"include_plausibility": not args.sources_only}
    configs: dict[str, Any] = {"legacy": catalogue_context(engine="legacy", cache_size=0, options=bm.SolverOptions(),
                                                           cohort_options=bm.SolverOptions(), **inc)}
    for n in threads:
        configs[f"batched, {n} thread{'s' if n > 1 else ''}"] = catalogue_context(n_jobs=n, cache_size=0, **inc)
    bthreads: list[int | None] = [int(x) for x in args.baseline_threads.split(",")] if args.baseline_threads \
        else [None]
    baselines = {(f"library at {args.baseline_ref}" + (f", {n} thread{'s' if n > 1 else ''}" if n else "")):
                 Baseline(args.baseline_ref, n, args.sources_only) for n in bthreads} if args.baseline_ref else {}
    model = configs["legacy"].model
    n_sets = args.rounds * args.per_round
    sets = draw_parameters(model, free_parameters(), args.sigma, n_sets, args.seed)
    for ctx in configs.values():  # warm-up: compiled libraries loaded, thread pools started
        ctx.evaluate(sets[0])
    wall: dict[str, list[float]] = {k: [] for k in configs}
    cpu: dict[str, list[float]] = {k: [] for k in configs}
    for bname in baselines:
        wall[bname], cpu[bname] = [], []
    mismatches = 0
    for r in range(args.rounds):
        chunk = sets[r * args.per_round:(r + 1) * args.per_round]
        for name, ctx in configs.items():
            for p in chunk:
                t0, c0 = time.perf_counter(), time.process_time()
                ctx.evaluate(p)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
        for bname, baseline in baselines.items():
            for p in chunk:
                w, c, _m = baseline.evaluate(p)
                wall[bname].append(w)
                cpu[bname].append(c)
    for baseline in baselines.values():
        baseline.close()
    # same verdicts as legacy; margins within the catalogue's tolerances (arms at ARM_RTOL, cohorts at
    # COHORT_RTOL, legacy at 1e-6 everywhere); and the batched engine's arm margins bit-identical to
    # legacy's at the catalogue's own tolerances (the engines differ in how, not in what, they solve)
    legacy = configs["legacy"]
    same_tol = catalogue_context(engine="legacy", cache_size=0, cohort_options=bm.SolverOptions(), **inc)
    cohort_leaf = np.array([any(n.source is not None and not isinstance(n.source, str) for n in o.needs())
                            for o in legacy.outcomes for _ in range(o.n_leaves)])
    cohort_diff = arm_diff = 0.0
    not_bitwise = 0
    for name, ctx in configs.items():
        if name == "legacy":
            continue
        for i, p in enumerate(sets[: min(len(sets), 6)]):
            a, b = legacy.evaluate(p), ctx.evaluate(p)
            ma, mb = a.margins(), b.margins()
            if [r.satisfied for r in a] != [r.satisfied for r in b]:
                mismatches += 1
            arm_diff = max(arm_diff, float(np.nanmax(np.abs(ma[~cohort_leaf] - mb[~cohort_leaf]), initial=0.0)))
            cohort_diff = max(cohort_diff, float(np.nanmax(np.abs(ma[cohort_leaf] - mb[cohort_leaf]), initial=0.0)))
            if i < 2 and not np.array_equal(same_tol.evaluate(p).margins()[~cohort_leaf], mb[~cohort_leaf],
                                            equal_nan=True):
                not_bitwise += 1
    same_tol.close()
    load1 = os.getloadavg()
    base = next(iter(baselines), "legacy")
    med = {k: 1e3 * statistics.median(v) for k, v in wall.items()}
    cmed = {k: 1e3 * statistics.median(v) for k, v in cpu.items()}
    ctx = configs[f"batched, {threads[-1]} thread{'s' if threads[-1] > 1 else ''}"]
    print(f"bonemet_ode {bm.__version__}, Python {platform.python_version()}, {os.cpu_count()} cores; "
          f"{len(ctx.outcomes)} outcomes, {len(ctx.arm_names)} arms, {len(ctx.cohorts)} cohorts "
          f"({ctx._plan.n_members} solves per evaluation); {n_sets} parameter sets "
          f"(sigma {args.sigma}, seed {args.seed}), "
          f"{args.rounds} interleaved rounds")
    print(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; after: "
          f"{load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    for bname, baseline in list(baselines.items())[:1]:
        dropped = sorted(set(free_parameters()) - baseline.parameters)
        print(f"{bname} evaluates its own catalogue ({baseline.statements} statements); free parameters its "
              f"model lacks, left out of its sets: {', '.join(dropped) or 'none'}")
    print(f"\n| path | wall ms / evaluation | CPU ms / evaluation (all threads) | speed-up vs {base} (wall) "
          f"| speed-up vs {base} (CPU) |")
    print("|---|---|---|---|---|")

    def base_of(k: str) -> str:  # the baseline of the same thread count, where timed
        same = [b for b in baselines if k.startswith("batched, ") and b.endswith(k[len("batched"):])]
        return same[0] if same else base

    for k in wall:
        b = base_of(k)
        note = "" if b == base else f" (vs {b})"
        print(f"| {k} | {med[k]:.1f} | {cmed[k]:.1f} | {med[b] / med[k]:.2f}x{note} | {cmed[b] / cmed[k]:.2f}x |")
    same = "yes" if mismatches == 0 else f"NO ({mismatches})"
    bitwise = "yes" if not_bitwise == 0 else f"NO ({not_bitwise})"
    print(f"\nverdicts identical to legacy (rtol 1e-6 everywhere) on the sets compared: {same}; largest change "
          f"of an arm clause's margin: {arm_diff:.3g}, of a cohort clause's margin: {cohort_diff:.3g}; arm margins "
          f"bit-identical to legacy at the catalogue's arm rtol: {bitwise}")
    out = {"wall_ms": med, "cpu_ms": cmed, "baseline": base, "load_before": load0, "load_after": load1,
           "n_sets": n_sets, "sigma": args.sigma, "seed": args.seed, "identical": mismatches == 0,
           "cohort_margin_change": cohort_diff,
           "arm_margin_change": arm_diff, "arm_margins_bitwise": not_bitwise == 0}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    for c in configs.values():
        c.close()
    return out


if __name__ == "__main__":
    main()

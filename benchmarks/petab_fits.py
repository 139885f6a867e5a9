"""PEtab benchmark problems: bonemet_ode against AMICI + pyPESTO, in one process, on the same start points.

Usage::

    python benchmarks/petab_fits.py [--problems Boehm_JProteomeRes2014,...|all] [--starts 10] [--seed 0]
                                    [--method auto] [--no-amici] [--amici-dir DIR] [--maxiter 1000]
                                    [--timeout 900] [--llh-only] [--csv FILE]

Reads ``../shared/data/petab`` beside the repository (``$BONEMET_ODE_SHARED_DATA`` overrides the ``data``
folder).  Each problem runs in its own process (``spawn``) with a wall-clock limit (``--timeout`` seconds); both
tools run inside that process, one after the other, from the same start points:

* the start points are PEtab's ``sample_parameter_startpoints`` (seeded) with the points where our objective
  cannot be evaluated skipped and counted (:func:`bonemet_ode.petab.multistart.accepted_start_points`);
* bonemet_ode: :func:`bonemet_ode.petab.multistart` (``--method``; default fides with the Gauss-Newton Hessian
  of the forward-sensitivity residual Jacobian), solver rtol 1e-8, atol 1e-10;
* AMICI + pyPESTO: ``pypesto.petab.PetabImporter`` -> AMICI model (forward sensitivities, rtol = atol = 1e-8),
  ``pypesto.optimize.FidesOptimizer`` with pyPESTO's default Hessian for AMICI objectives (the Fisher
  information, ``HybridFixed``), the same ``--maxiter``.  Its model compile time is reported separately
  (compiled models are kept in ``--amici-dir`` and reused).

Both sides' end points get the same verdict (:func:`bonemet_ode.petab.multistart.classify`): "converged" means
the optimiser's own test passed *and* the projected gradient of the objective at the end point is at most
1e-3 * max(1, |f|).  Per problem it prints the best objective (-log posterior; -llh when there are no priors)
of each tool, the objective at the collection's nominal (published) parameters, Data2Dynamics' best value of
1000 starts (``d2d_multistart_1000_starts.csv``, for reference only: its constants differ on some problems),
the starts within 0.1 of the best value known (the smaller of the nominal objective and anything either tool
found), the converged starts, the wall time per converged start and the ratio AMICI / ours.  The machine's
``uptime`` load average is printed before and after each problem.

The environment is set to one BLAS/OpenMP thread for both tools (``--blas-threads``): with OpenBLAS's default
pool, on the shared 2-core machine, the optimisers' tiny dense linear algebra spends most of its time waking
threads.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BONEMET_ODE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "petab"
DEFAULT_PROBLEMS = ("Boehm_JProteomeRes2014", "Fujita_SciSignal2010", "Brannmark_JBC2010", "Bruno_JExpBot2016")
#: Names of the same problems in ``d2d_multistart_1000_starts.csv`` where they differ.
D2D_NAMES = {"Bruno_JExpBot2016": "Bruno_Carotines_JExpBio2016",
             "Crauste_CellSystems2017": "Crauste_ImmuneCells_CellSystems2017",
             "Fiedler_BMCSystBiol2016": "Fiedler_BMC2016",
             "Schwen_PONE2014": "Schwen_InsulinMouseHepatocytes_PlosOne2014"}


def _reference() -> dict[str, float]:
    with open(DATA / "reference_llh.tsv", encoding="utf-8") as fh:
        return {r["problem"]: float(r["llh_at_nominal"]) for r in csv.DictReader(fh, delimiter="\t")}


def _d2d_best() -> dict[str, float]:
    out: dict[str, float] = {}
    with open(DATA / "d2d_multistart_1000_starts.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            v = float(r["best_fval"])
            out[r["model"]] = min(out.get(r["model"], v), v)
    return out


def _load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def _ours(pp, X, method: str, maxiter: int) -> dict:
    from bonemet_ode.petab import multistart

    res = multistart(pp, len(X), 0, x0=X, method=method, maxiter=maxiter)
    by_start = sorted(res.starts, key=lambda s: s.index)
    return {"method": res.method, "wall_s": res.wall_s, "n_converged": res.n_converged(), "counts": res.counts(),
            "fvals": [s.fval for s in by_start], "n_fev": [s.n_fev for s in by_start],
            "best_x": res.best.x.tolist()}


def _amici(pp, yaml: Path, X, amici_dir: Path, maxiter: int) -> dict:
    import logging

    import numpy as np

    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")  # swig, cmake
    import pypesto
    import pypesto.optimize as optimize
    import pypesto.petab

    from bonemet_ode.petab.multistart import classify

    out: dict = {}
    folder = amici_dir / yaml.parent.name
    stamp = folder / "bonemet_compile_s.json"
    if folder.exists() and not stamp.exists():  # compiled by something else, or interrupted: compile afresh
        import shutil

        shutil.rmtree(folder)
    t0 = time.perf_counter()
    importer = pypesto.petab.PetabImporter.from_yaml(str(yaml), output_folder=str(folder),
                                                    model_name=yaml.parent.name)
    problem = importer.create_problem(verbose=False)
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("amici", "pypesto", "fides", "petab"):
            logging.getLogger(name).setLevel(logging.WARNING)
    dt = time.perf_counter() - t0
    if stamp.exists():
        out["compile_s"] = json.loads(stamp.read_text())["compile_s"]
        out["compile_note"] = f"cached; load {dt:.1f} s"
    else:
        stamp.write_text(json.dumps({"compile_s": dt}))
        out["compile_s"] = dt
        out["compile_note"] = "compiled in this run"
    obj = problem.objective
    solver = obj.amici_solver
    solver.set_relative_tolerance(1e-8)
    solver.set_absolute_tolerance(1e-8)
    import amici.sim.sundials as asd

    solver.set_sensitivity_method(asd.SensitivityMethod.forward)
    names = list(problem.x_names)
    free_idx = list(problem.x_free_indices)
    col = {names[i]: k for k, i in enumerate(free_idx)}
    if set(col) != set(pp.free):
        raise RuntimeError(f"free parameters differ: pyPESTO {sorted(col)} vs ours {sorted(pp.free)}")
    order = [pp.free.index(names[i]) for i in free_idx]
    problem.set_x_guesses(np.array([problem.get_full_vector(x[order]) for x in X]))  # fixed ones: their values
    opt = optimize.FidesOptimizer(verbose=logging.WARNING, options={"maxiter": maxiter})
    t0 = time.perf_counter()
    result = optimize.minimize(problem, optimizer=opt, n_starts=len(X), progress_bar=False, filename=None)
    out["wall_s"] = time.perf_counter() - t0
    statuses, fvals, theirs = {}, [None] * len(X), []
    for r in result.optimize_result.list:
        xf = np.asarray(r.x, float)
        xf = xf[free_idx] if len(xf) == len(names) else xf
        x0f = np.asarray(r.x0, float)
        x0f = x0f[free_idx] if len(x0f) == len(names) else x0f
        x = np.array([xf[col[p]] for p in pp.free])
        x0 = np.array([x0f[col[p]] for p in pp.free])
        k = int(np.argmin(np.max(np.abs(X - x0), axis=1)))  # which of our start points this was
        f0 = float(pp.objective(x0, gradient=False))
        ok = r.exitflag is not None and int(r.exitflag) > 0
        status, f, _ = classify(pp, x0, f0, x, ok)
        statuses[status] = statuses.get(status, 0) + 1
        fvals[k] = f
        theirs.append(float(r.fval) if r.fval is not None else math.nan)
    out.update(n_converged=sum(v for s, v in statuses.items() if s.startswith("converged")), counts=statuses,
               fvals=fvals, n_fev=[int(r.n_fval or 0) for r in result.optimize_result.list],
               their_best_fval=min(theirs))
    return out


def _one(name: str, starts: int, seed: int, llh_only: bool, method: str, amici: bool, amici_dir: str,
         maxiter: int, q: mp.Queue) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    row: dict = {"problem": name}
    try:
        import bonemet_ode as bm
        from bonemet_ode.petab.multistart import accepted_start_points

        yaml = next((DATA / "benchmark-models" / name).glob("*.yaml"))
        t0 = time.perf_counter()
        pp = bm.read_petab(yaml)
        row["read_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        row["llh"] = pp.llh()
        row["llh_s"] = time.perf_counter() - t0
        row["nominal_objective"] = float(pp.objective(pp.x_nominal, gradient=False))
        row["gradient"] = pp.gradient_method
        row["n_free"] = len(pp.free)
        if not llh_only:
            X, reasons = accepted_start_points(pp, starts, seed)
            row["resampled"] = len(reasons)
            row["ours"] = _ours(pp, X, method, maxiter)
            if amici:
                try:
                    row["amici"] = _amici(pp, yaml, X, Path(amici_dir), maxiter)
                except Exception as exc:  # noqa: BLE001 - reported per problem
                    row["amici"] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
    except Exception as exc:  # noqa: BLE001 - reported per problem
        row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    q.put(row)


def _amici_available() -> str:
    try:
        import amici  # noqa: F401
        import fides  # noqa: F401
        import pypesto  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return ""


def _side(row: dict, key: str, ref: float) -> str:
    s = row.get(key)
    if s is None:
        return "not run"
    if "error" in s:
        return f"FAILED {s['error']}"
    f = [v for v in s["fvals"] if v is not None and math.isfinite(v)]
    s["within"] = sum(v <= ref + 0.1 for v in f)
    per = s["wall_s"] / s["n_converged"] if s["n_converged"] else math.inf
    s["per_converged_s"] = per
    extra = f", compile {s['compile_s']:.0f} s ({s['compile_note']})" if "compile_s" in s else ""
    return (f"best {min(f):.4f}; {s['within']} within 0.1; {s['n_converged']} converged; {s['wall_s']:.1f} s "
            f"({per:.3f} s per converged start); median {sorted(s['n_fev'])[len(s['n_fev']) // 2]} evaluations; "
            f"{s['counts']}{extra}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--problems", default=",".join(DEFAULT_PROBLEMS),
                    help="comma-separated names, or 'all' (every problem of reference_llh.tsv)")
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", default="auto", help="bonemet_ode's optimiser (fides, trf, lbfgsb, auto)")
    ap.add_argument("--maxiter", type=int, default=1000, help="optimiser iterations per start, both tools")
    ap.add_argument("--no-amici", action="store_true", help="bonemet_ode only")
    ap.add_argument("--amici-dir", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "bonemet_amici_models"),
                    help="where AMICI's compiled models are kept (reused across runs)")
    ap.add_argument("--blas-threads", default="1", help="OPENBLAS/OMP/MKL thread count for both tools")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per problem (both tools)")
    ap.add_argument("--llh-only", action="store_true", help="nominal log-likelihood only, no fits")
    ap.add_argument("--csv", type=Path, help="write the rows as CSV")
    a = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"PEtab data not found at {DATA}", file=sys.stderr)
        return 2
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = a.blas_threads
    ref, d2d = _reference(), _d2d_best()
    names = sorted(ref) if a.problems == "all" else [n for n in a.problems.split(",") if n]
    unavailable = _amici_available()
    use_amici = not a.no_amici and not a.llh_only and not unavailable
    print(f"AMICI + pyPESTO: {'available' if not unavailable else 'not available (' + unavailable + ')'}; "
          f"{a.starts} starts, seed {a.seed}, {a.blas_threads} BLAS thread(s); {_load()}")
    Path(a.amici_dir).mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    rows = []
    for name in names:
        q = ctx.Queue()
        p = ctx.Process(target=_one, args=(name, a.starts, a.seed, a.llh_only, a.method, use_amici, a.amici_dir,
                                           a.maxiter, q))
        load0 = _load()
        t0 = time.perf_counter()
        p.start()
        row = None
        while p.is_alive() and time.perf_counter() - t0 < a.timeout:
            try:
                row = q.get(timeout=1.0)
                break
            except Exception:  # noqa: BLE001 - queue.Empty: keep waiting
                pass
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join()
        if row is None:
            row = {"problem": name, "error": f"timeout after {a.timeout:.0f} s" if p.exitcode is None or
                   p.exitcode < 0 else f"process died (exit {p.exitcode})"}
        row["wall_s"] = time.perf_counter() - t0
        row["reference_llh"] = ref.get(name)
        row["d2d_best"] = d2d.get(D2D_NAMES.get(name, name))
        row["load_before"], row["load_after"] = load0, _load()
        rows.append(row)
        if "error" in row:
            print(f"{name:28s} REFUSED/FAILED  {row['error']}  ({row['wall_s']:.0f} s)", flush=True)
            continue
        r = row["reference_llh"]
        diff = f"{row['llh'] - r:+.2e}" if r is not None else "n/a"
        line = (f"{name:28s} llh {row['llh']:.6f}  ref {r}  diff {diff}  ({row['read_s']:.1f} s read incl. "
                f"compile, {row['llh_s']:.2f} s llh, {row['gradient']}, {row['n_free']} free)")
        if "ours" in row:
            found = [v for k in ("ours", "amici") if k in row and "fvals" in row[k]
                     for v in row[k]["fvals"] if v is not None and math.isfinite(v)]
            best = min([row["nominal_objective"], *found])
            row["best_known"] = best
            line += (f"\n{'':4s}objective at nominal {row['nominal_objective']:.4f}; d2d best {row['d2d_best']}; "
                     f"best known {best:.4f}; {row['resampled']} start points skipped")
            line += f"\n{'':4s}bonemet_ode ({row['ours']['method']}): {_side(row, 'ours', best)}"
            if use_amici:
                line += f"\n{'':4s}AMICI+pyPESTO (fides): {_side(row, 'amici', best)}"
                am, us = row.get("amici", {}), row["ours"]
                if "per_converged_s" in am and us["per_converged_s"] < math.inf:
                    row["ratio"] = am["per_converged_s"] / us["per_converged_s"]
                    line += f"\n{'':4s}time per converged start, AMICI+pyPESTO / bonemet_ode: {row['ratio']:.2f}x"
            line += f"\n{'':4s}({row['load_before']} before, {row['load_after']} after; {row['wall_s']:.0f} s)"
        print(line, flush=True)
    ratios = sorted(r["ratio"] for r in rows if r.get("ratio") is not None and math.isfinite(r["ratio"]))
    if ratios:
        med = ratios[len(ratios) // 2] if len(ratios) % 2 else 0.5 * (ratios[len(ratios) // 2 - 1] +
                                                                       ratios[len(ratios) // 2])
        print(f"median ratio (AMICI+pyPESTO / bonemet_ode time per converged start) over {len(ratios)} problems: "
              f"{med:.2f}x; smallest {ratios[0]:.2f}x")
    if a.csv:
        with open(a.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
            w.writeheader()
            for r in rows:
                w.writerow({k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in r.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())

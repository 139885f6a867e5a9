"""PEtab benchmark problems: bonemet_ode against AMICI + pyPESTO, in one process, on the same start points.

Usage::

    python benchmarks/petab_fits.py [--problems Boehm_JProteomeRes2014,...|all] [--starts 10] [--seed 0]
                                    [--method auto] [--no-amici] [--amici-dir DIR] [--maxiter 1000]
                                    [--timeout 900] [--llh-only] [--csv FILE]

Reads ``../shared/data/petab`` beside the repository (``$BONEMET_ODE_SHARED_DATA`` overrides the ``data``
folder).  Each problem runs in its own process (``spawn``) with a wall-clock limit (``--timeout`` seconds,
compiles included).  Inside that process both tools fit from the same start points, start by start in
alternation (so that a change of the shared machine's load hits both alike):

* start points: PEtab's ``sample_parameter_startpoints`` (seeded), skipping points where our objective cannot
  be evaluated (counted; :func:`bonemet_ode.petab.multistart.accepted_start_points`);
* bonemet_ode: :func:`bonemet_ode.petab.multistart` with one start (``--method``; default ``auto``: projected
  Levenberg-Marquardt on the forward-sensitivity residual Jacobian), solver rtol 1e-8, atol 1e-10; its time
  includes its own start and end evaluations and verdict;
* AMICI + pyPESTO: ``pypesto.petab.PetabImporter`` -> AMICI model (forward sensitivities, rtol = atol = 1e-8),
  ``pypesto.optimize.minimize`` with ``FidesOptimizer`` and pyPESTO's default Hessian for AMICI objectives
  (Fisher information, ``HybridFixed``), the same ``--maxiter``.  Its model compile time is reported
  separately (compiled models are kept in ``--amici-dir`` and reused; the first compile's time is kept).

Both tools' end points get the same verdict (:func:`bonemet_ode.petab.multistart.classify`, evaluated outside
AMICI's timing): "converged" needs the optimiser's own test (pyPESTO: exit flag > 0) *and* a projected gradient of
the objective at the end point of at most 1e-3 * max(1, |f|).  Per problem it prints the best objective (-log
posterior; -llh without priors) of each tool, the objective at the collection's nominal (published) parameters,
Data2Dynamics' best of 1000 starts (``d2d_multistart_1000_starts.csv``; for reference only, its constants differ
on some problems), the starts within 0.1 of the best value known (the smaller of the nominal objective and
anything either tool found in this run), the converged starts, wall and CPU time per converged start and the
ratios AMICI / ours.  The ``uptime`` load average is printed before and after each problem.

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
DEFAULT_PROBLEMS = ("Boehm_JProteomeRes2014", "Bruno_JExpBot2016")
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


class _Ours:
    """bonemet_ode's side: one :func:`multistart` call per start point."""

    def __init__(self, pp, method: str, maxiter: int) -> None:
        self.pp, self.method, self.maxiter = pp, method, maxiter

    def run(self, x0) -> tuple[float, int, str, str]:
        from bonemet_ode.petab import multistart

        res = multistart(self.pp, 1, 0, x0=[x0], method=self.method, maxiter=self.maxiter)
        s = res.starts[0]
        return s.fval, s.n_fev, s.status, res.method


class _Amici:
    """AMICI + pyPESTO's side: the model imported (and compiled, or loaded from ``amici_dir``) once; one
    ``pypesto.optimize.minimize`` call per start point, given as its ``x_guesses``."""

    def __init__(self, pp, yaml: Path, amici_dir: Path, maxiter: int) -> None:
        import logging

        os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")  # swig
        import pypesto.optimize as optimize
        import pypesto.petab

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
            self.compile_s = json.loads(stamp.read_text())["compile_s"]
            self.compile_note = f"cached; load {dt:.1f} s"
        else:
            stamp.write_text(json.dumps({"compile_s": dt}))
            self.compile_s, self.compile_note = dt, "compiled in this run"
        solver = problem.objective.amici_solver
        solver.set_relative_tolerance(1e-8)
        solver.set_absolute_tolerance(1e-8)
        import amici.sim.sundials as asd

        solver.set_sensitivity_method(asd.SensitivityMethod.forward)
        names = list(problem.x_names)
        self.free_idx = list(problem.x_free_indices)
        self.col = {names[i]: k for k, i in enumerate(self.free_idx)}
        if set(self.col) != set(pp.free):
            raise RuntimeError(f"free parameters differ: pyPESTO {sorted(self.col)} vs ours {sorted(pp.free)}")
        self.order = [pp.free.index(names[i]) for i in self.free_idx]
        self.names, self.pp, self.problem, self.optimize = names, pp, problem, optimize
        self.opt = optimize.FidesOptimizer(verbose=logging.WARNING, options={"maxiter": maxiter})

    def run(self, x0):
        """One pyPESTO start from ``x0`` (our parameter order): end point (our order), exit flag > 0, evaluations."""
        import numpy as np

        p = self.problem
        p.set_x_guesses(np.array([p.get_full_vector(np.asarray(x0)[self.order])]))
        result = self.optimize.minimize(p, optimizer=self.opt, n_starts=1, progress_bar=False, filename=None)
        r = result.optimize_result.list[0]
        xf = np.asarray(r.x, float)
        xf = xf[self.free_idx] if len(xf) == len(self.names) else xf
        x = np.array([xf[self.col[q]] for q in self.pp.free])
        return x, r.exitflag is not None and int(r.exitflag) > 0, int(r.n_fval or 0)


def _fit_both(pp, X, sides: dict) -> dict:
    """Run the sides start by start, alternating, so that a change of the shared machine's load hits both alike.
    Wall and CPU time of each side are summed over the starts.  Our side's time includes its own verdicts
    (:func:`classify`, inside :func:`multistart`); AMICI's end points get the same verdict outside its timing."""
    import numpy as np

    from bonemet_ode.petab.multistart import classify

    out = {k: {"wall_s": 0.0, "cpu_s": 0.0, "fvals": [], "n_fev": [], "counts": {}} for k in sides}
    for x0 in X:
        for k, side in sides.items():
            w, c = time.perf_counter(), time.process_time()
            try:
                if k == "ours":
                    f, nfev, status, out[k]["method"] = side.run(x0)
                    dw, dc = time.perf_counter() - w, time.process_time() - c
                else:
                    x, ok, nfev = side.run(x0)
                    dw, dc = time.perf_counter() - w, time.process_time() - c
                    f0 = float(pp.objective(x0, gradient=False))
                    status, f, _ = classify(pp, np.asarray(x0, float), f0, x, ok)
            except Exception as exc:  # noqa: BLE001 - a start that crashes counts as failed
                dw, dc = time.perf_counter() - w, time.process_time() - c
                f, nfev, status = math.inf, 0, f"failed ({type(exc).__name__}: {str(exc)[:80]})"
                # (AMICI: pyPESTO returns no end point for a start whose simulation failed -> a TypeError here)
            out[k]["wall_s"] += dw
            out[k]["cpu_s"] += dc
            out[k]["fvals"].append(f)
            out[k]["n_fev"].append(nfev)
            out[k]["counts"][status] = out[k]["counts"].get(status, 0) + 1
    for v in out.values():
        v["n_converged"] = sum(n for st, n in v["counts"].items() if st.startswith("converged"))
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
            sides: dict = {"ours": _Ours(pp, method, maxiter)}
            if amici:
                try:
                    sides["amici"] = _Amici(pp, yaml, Path(amici_dir), maxiter)
                except Exception as exc:  # noqa: BLE001 - reported per problem
                    row["amici"] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
            res = _fit_both(pp, X, sides)
            row.update(res)
            if "amici" in sides:
                row["amici"].update(compile_s=sides["amici"].compile_s, compile_note=sides["amici"].compile_note)
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
    s["cpu_per_converged_s"] = s["cpu_s"] / s["n_converged"] if s["n_converged"] else math.inf
    extra = f", compile {s['compile_s']:.0f} s ({s['compile_note']})" if "compile_s" in s else ""
    return (f"best {min(f):.4f}; {s['within']} within 0.1; {s['n_converged']} converged; {s['wall_s']:.1f} s "
            f"wall, {s['cpu_s']:.1f} s CPU ({per:.3f} s wall, {s['cpu_per_converged_s']:.3f} s CPU per converged "
            f"start); median {sorted(s['n_fev'])[len(s['n_fev']) // 2]} evaluations; "
            f"{s['counts']}{extra}")


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in r.items()})


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
            if a.csv:
                _write_csv(a.csv, rows)
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
                    row["cpu_ratio"] = am["cpu_per_converged_s"] / us["cpu_per_converged_s"]
                    line += (f"\n{'':4s}time per converged start, AMICI+pyPESTO / bonemet_ode: "
                             f"{row['ratio']:.2f}x wall, "
                             f"{row['cpu_ratio']:.2f}x CPU")
            line += f"\n{'':4s}({row['load_before']} before, {row['load_after']} after; {row['wall_s']:.0f} s)"
        print(line, flush=True)
        if a.csv:  # after every problem, so that an interrupted run keeps what it measured
            _write_csv(a.csv, rows)
    for key, what in (("ratio", "wall"), ("cpu_ratio", "CPU")):
        ratios = sorted(r[key] for r in rows if r.get(key) is not None and math.isfinite(r[key]))
        if ratios:
            k = len(ratios) // 2
            med = ratios[k] if len(ratios) % 2 else 0.5 * (ratios[k - 1] + ratios[k])
            print(f"median ratio (AMICI+pyPESTO / bonemet_ode {what} time per converged start) over {len(ratios)} "
                  f"problems: {med:.2f}x; smallest {ratios[0]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

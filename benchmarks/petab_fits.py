"""PEtab benchmark problems: nominal log-likelihood against AMICI's reference, and multistart fits.

Usage::

    python benchmarks/petab_fits.py [--problems Boehm_JProteomeRes2014,...] [--starts 20] [--seed 0]
                                    [--timeout 600] [--llh-only] [--csv FILE]

Reads ``../shared/data/petab`` beside the repository (``$BONEMET_ODE_SHARED_DATA`` overrides the
``data`` folder).  Each problem runs in its own process with a wall-clock limit (``--timeout``
seconds; a problem that compiles or fits longer is reported as ``timeout``).  Per problem it prints:

* the log-likelihood at the nominal parameters, AMICI's reference (``reference_llh.tsv``) and the
  difference, or the refusal (the library's error, naming the feature);
* with fits: the best −llh found, the best known value (Data2Dynamics, 1000 Latin-hypercube starts,
  ``d2d_multistart_1000_starts.csv``; its objective equals −llh for the problems where the collection's
  reference agrees with AMICI's up to sign), starts ending within 0.1 of it, starts the result calls
  converged, and wall time per converged start and per start.

AMICI + pyPESTO are run on the same start points when they import (``pip install amici pypesto fides``);
otherwise that side is reported as not available with the import error.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BONEMET_ODE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "petab"


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


def _one(name: str, starts: int, seed: int, llh_only: bool, q: mp.Queue) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    row: dict = {"problem": name}
    try:
        import bonemet_ode as bm
        from bonemet_ode.petab import multistart

        t0 = time.perf_counter()
        pp = bm.read_petab(next((DATA / "benchmark-models" / name).glob("*.yaml")))
        row["read_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        row["llh"] = pp.llh()
        row["llh_s"] = time.perf_counter() - t0
        row["gradient"] = pp.gradient_method
        row["n_free"] = len(pp.free)
        if not llh_only:
            res = multistart(pp, starts, seed)
            row.update(best_nllh=-pp.llh(res.best.x), n_converged=res.n_converged(), fit_s=res.wall_s,
                       status=res.counts(), resampled=res.resampled,
                       fvals=[-pp.llh(s.x) if s.fval < float("inf") else None for s in res.starts])
    except Exception as exc:  # noqa: BLE001 - reported per problem
        row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    q.put(row)


def _amici_available() -> str:
    try:
        import amici  # noqa: F401
        import pypesto  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="",
                    help="comma-separated names (default: every problem of reference_llh.tsv)")
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per problem")
    ap.add_argument("--llh-only", action="store_true", help="nominal log-likelihood only, no fits")
    ap.add_argument("--csv", type=Path, help="write the rows as CSV")
    a = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"PEtab data not found at {DATA}", file=sys.stderr)
        return 2
    ref, best = _reference(), _d2d_best()
    names = [n for n in a.problems.split(",") if n] or sorted(ref)
    amici = _amici_available()
    print(f"AMICI + pyPESTO: {'available' if not amici else 'not available (' + amici + ')'}")
    ctx = mp.get_context("spawn")
    rows = []
    for name in names:
        q = ctx.Queue()
        p = ctx.Process(target=_one, args=(name, a.starts, a.seed, a.llh_only, q))
        t0 = time.perf_counter()
        p.start()
        p.join(a.timeout)
        if p.is_alive():
            p.kill()
            p.join()
            row = {"problem": name, "error": f"timeout after {a.timeout:.0f} s"}
        else:
            row = q.get() if not q.empty() else {"problem": name, "error": f"process died (exit {p.exitcode})"}
        row["wall_s"] = time.perf_counter() - t0
        row["reference_llh"] = ref.get(name)
        row["d2d_best"] = best.get(name)
        rows.append(row)
        if "error" in row:
            print(f"{name:28s} REFUSED/FAILED  {row['error']}  ({row['wall_s']:.0f} s)", flush=True)
            continue
        diff = row["llh"] - row["reference_llh"] if row["reference_llh"] is not None else float("nan")
        line = (f"{name:28s} llh {row['llh']:.6f}  ref {row['reference_llh']}  diff {diff:+.2e}  "
                f"({row['read_s']:.1f} s read, {row['llh_s']:.2f} s llh, {row['gradient']})")
        if "best_nllh" in row:
            within = sum(f is not None and row["d2d_best"] is not None and f <= row["d2d_best"] + 0.1
                         for f in row["fvals"])
            conv = row["n_converged"]
            line += (f"\n{'':28s} fit: best -llh {row['best_nllh']:.4f} vs d2d {row['d2d_best']}; {within}/{a.starts} "
                     f"within 0.1; {conv} converged; {row['fit_s']:.1f} s "
                     f"({row['fit_s'] / max(conv, 1):.2f} s per converged start, {row['fit_s'] / a.starts:.2f} s "
                     f"per start); {row['status']}; {row['resampled']} resampled")
        print(line, flush=True)
    if a.csv:
        with open(a.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
            w.writeheader()
            for r in rows:
                w.writerow({k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in r.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())

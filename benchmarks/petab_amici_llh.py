"""Nominal log-likelihood of PEtab benchmark problems from bonemet_ode and from AMICI, at several tolerances.

Why: ``reference_llh.tsv`` (a copy of AMICI's benchmark test values) holds, for some problems, values that
are not converged or that belong to an older version of the data. This script computes both tools'
values side by side, so that a difference can be told apart from a tolerance or data-version effect.

Usage (the ``[bench]`` extra: amici, pypesto)::

    BONEMET_ODE_SHARED_DATA=../shared/data python benchmarks/petab_amici_llh.py \
        --problems Crauste_CellSystems2017,Smith_BMCSystBiol2013,Chen_MSB2009 --tols 1e-8,1e-10,1e-12

Each AMICI model is compiled once (without sensitivity code) into ``--amici-dir`` and reused. Prints,
per problem and tolerance ``R`` (rtol = atol = R; "default" is AMICI's own), both llh values, and the
reference. Where the data or AMICI is missing the script says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")  # AMICI's swig
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _data() -> Path:
    env = os.environ.get("BONEMET_ODE_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / "petab"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="Crauste_CellSystems2017,Smith_BMCSystBiol2013,Chen_MSB2009")
    ap.add_argument("--tols", default="default,1e-8,1e-10,1e-12", help="comma-separated; R means rtol = atol = R")
    ap.add_argument("--amici-dir", default=str(Path(tempfile.gettempdir()) / "amici_models_llh"))
    args = ap.parse_args(argv)
    petab_dir = _data()
    if not (petab_dir / "reference_llh.tsv").exists():
        print(f"PEtab benchmark collection not found under {petab_dir}: nothing to compare")
        return 0
    try:
        import amici.sim.sundials  # noqa: F401
        import petab.v1 as petab
        from amici.importers.petab.v1 import import_petab_problem
        from amici.sim.sundials.petab.v1 import simulate_petab
    except ImportError as exc:
        print(f"AMICI is not installed ({exc}); pip install -e '.[bench]'")
        return 0
    import bonemet_ode as bm

    with open(petab_dir / "reference_llh.tsv", encoding="utf-8") as fh:
        ref = {r["problem"]: float(r["llh_at_nominal"]) for r in csv.DictReader(fh, delimiter="\t")}
    print(f"load average {os.getloadavg()[0]:.2f}")
    for name in args.problems.split(","):
        yaml = next((petab_dir / "benchmark-models" / name).glob("*.yaml"))
        problem = petab.Problem.from_yaml(str(yaml))
        t0 = time.perf_counter()
        model = import_petab_problem(problem, output_dir=str(Path(args.amici_dir) / name), model_name=name,
                                     generate_sensitivity_code=False)
        print(f"{name}: reference_llh.tsv {ref.get(name, float('nan')):.9f}  "
              f"(AMICI import {time.perf_counter() - t0:.1f} s)")
        for tol in args.tols.split(","):
            solver = model.create_solver()
            if tol != "default":
                solver.set_relative_tolerance(float(tol))
                solver.set_absolute_tolerance(float(tol))
            solver.set_max_steps(1_000_000)
            amici_llh = simulate_petab(problem, amici_model=model, solver=solver, failfast=False)["llh"]
            ours = (bm.read_petab(yaml, rtol=float(tol), atol=float(tol)).llh() if tol != "default"
                    else bm.read_petab(yaml).llh())
            print(f"  tol {tol:>8s}: ours {ours:.9f}  AMICI {amici_llh:.9f}  ours - AMICI {ours - amici_llh:+.2e}  "
                  f"ours - reference {ours - ref.get(name, float('nan')):+.2e}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Compile and solve time against model size: the Michaelis–Menten chain (issue #13, item 4).

Usage::

    python benchmarks/scaling.py [--sizes 10,30,100,300,1000,3000] [--days 20]

For each size N, in a fresh process with an empty compile cache (so nothing is reused): build the
model, compile it (code generation + C compile, reported apart), solve it once over ``--days`` days,
and solve it with scipy's Radau on a numpy right-hand side with the chain's sparse Jacobian pattern
(``jac_sparsity``; the baseline, measured in the same process).  Printed per N: compile time,
bonemet_ode solve time (the fastest of at least 5 repeats),
Radau solve time and their ratio, and the largest error of bonemet_ode
against a tight Radau solve (rtol 1e-10) in units of the solver's tolerance (``atol + rtol*|y|``).
A size that the library refuses is reported with its error message; a size whose process dies
(signal) is reported as such.  Never run inside the unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, sys, time
import numpy as np
import scipy.sparse
from scipy.integrate import solve_ivp
n, days = int(sys.argv[1]), float(sys.argv[2])
import bonemet_ode as bm
from bonemet_ode.models.chain import michaelis_menten_chain
from bonemet_ode.compile import backend
from bonemet_ode.errors import BonemetError
out = {"n": n}
t0 = time.perf_counter()
model = michaelis_menten_chain(n)
out["model_s"] = time.perf_counter() - t0
import io, contextlib
buf = io.StringIO()
t0 = time.perf_counter()
try:
    with contextlib.redirect_stdout(buf):
        cm = backend.compile_model(model, verbose=True)
except BonemetError as exc:
    out["refused"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(out)); sys.exit(0)
out["compile_s"] = time.perf_counter() - t0
line = buf.getvalue()
try:
    out["codegen_s"] = float(line.split("codegen ")[1].split(" s")[0])
    out["cc_s"] = float(line.split("C compile ")[1].split(" s")[0])
except (IndexError, ValueError):
    pass
times = np.linspace(0.0, days, 21)
sim = bm.Simulator(model, days=days, times=times)
t0 = time.perf_counter(); res = sim.run(); first = time.perf_counter() - t0
reps = max(5, min(50, int(0.5 / max(first, 1e-6))))
runs = []
for _ in range(reps):
    t0 = time.perf_counter()
    res = sim.run()
    runs.append(time.perf_counter() - t0)
out["solve_s"] = min(runs)  # the machine is shared: the fastest of the repeats is the least disturbed
out["steps"] = res.stats["steps"]
pv = model.parameter_values()
vmax = np.array([pv[f"Vmax{i}"] for i in range(n)]); km = np.array([pv[f"Km{i}"] for i in range(n)])
k_in, kdeg = pv["k_in"], pv["kdeg"]
def f(_t, x):
    v = vmax * x / (km + x)
    dx = -v - kdeg * x
    dx[1:] += v[:-1]
    dx[0] += k_in
    return dx
sparsity = scipy.sparse.diags([np.ones(n), np.ones(n - 1)], [0, -1]) if n > 1 else np.ones((1, 1))
y0 = model.initial_values()
t0 = time.perf_counter()
sol = solve_ivp(f, (0.0, days), y0, method="Radau", t_eval=times, rtol=1e-6, atol=1e-9, jac_sparsity=sparsity)
out["radau_s"] = time.perf_counter() - t0
ref = solve_ivp(f, (0.0, days), y0, method="Radau", t_eval=times, rtol=1e-10, atol=1e-12, jac_sparsity=sparsity)
out["err_tol_units"] = float(np.max(np.abs(res.states - ref.y.T) / (1e-9 + 1e-6 * np.abs(ref.y.T))))
print(json.dumps(out))
"""


def run_size(n: int, days: float, timeout: float) -> dict:
    cache = tempfile.mkdtemp(prefix="bonemet_scaling_")
    env = dict(os.environ, BONEMET_ODE_CACHE=cache)
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(days)], capture_output=True, text=True,
                              env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"n": n, "failed": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
        return {"n": n, "failed": f"{how}: {proc.stderr.strip()[-300:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,30,100,300,1000,3000")
    ap.add_argument("--days", type=float, default=20.0)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per size")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    print(f"{'N':>6} {'compile s':>10} {'codegen s':>10} {'cc s':>8} {'solve ms':>10} {'Radau ms':>10} "
          f"{'Radau/bm':>9} {'err/tol':>8}  note")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        r = run_size(n, args.days, args.timeout)
        rows.append(r)
        if "refused" in r or "failed" in r:
            print(f"{n:>6}  {r.get('refused') or r.get('failed')}")
        else:
            print(f"{n:>6} {r['compile_s']:>10.2f} {r.get('codegen_s', float('nan')):>10.2f} "
                  f"{r.get('cc_s', float('nan')):>8.2f} {1e3 * r['solve_s']:>10.3f} {1e3 * r['radau_s']:>10.1f} "
                  f"{r['radau_s'] / r['solve_s']:>9.1f} {r['err_tol_units']:>8.2f}  {r['steps']} steps")
        sys.stdout.flush()
    print(f"load average at end: {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()

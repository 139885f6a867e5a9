"""Time per residual + Jacobian evaluation (``PetabProblem.residuals``, what the default ``lm`` optimiser calls)
of this working tree against a baseline commit, in the same run.

Usage::

    python benchmarks/petab_evaluation.py [--problems Bruno_JExpBot2016,Boehm_JProteomeRes2014]
                                          [--baseline main] [--points 5] [--repeats 200] [--rounds 3]

The baseline is ``git archive <ref> src`` unpacked into a temporary folder.  Each (problem, tree) is timed in
its own fresh process (``PYTHONPATH`` pointing at that tree's ``src``), the two trees in alternation for
``--rounds`` rounds so that a change of the shared machine's load hits both alike; per process: read the
problem, one warm-up evaluation per point (compiles load from ``$BONEMET_ODE_CACHE``), then ``--repeats``
passes over ``--points`` parameter vectors (the nominal one and seeded uniform draws inside the bounds).
Printed: the best-of-rounds microseconds per evaluation of each tree, their ratio, and the largest relative
difference of the residuals and of the Jacobian between the trees (same points).  One BLAS thread.  Reads
``../shared/data/petab`` beside the repository (``$BONEMET_ODE_SHARED_DATA`` overrides the ``data`` folder).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BONEMET_ODE_SHARED_DATA", ROOT.parent / "shared" / "data")) / "petab"

_CHILD = r"""
import json, sys, time
import numpy as np
import bonemet_ode as bm
yaml, points, repeats, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
pp = bm.read_petab(yaml)
rng = np.random.default_rng(0)
lo, hi = np.maximum(pp.lower, pp.x_nominal - 1.0), np.minimum(pp.upper, pp.x_nominal + 1.0)
xs = [pp.x_nominal] + [rng.uniform(lo, hi) for _ in range(points - 1)]
first = [pp.residuals(x) for x in xs]
t0 = time.perf_counter()
for _ in range(repeats):
    for x in xs:
        pp.residuals(x)
dt = (time.perf_counter() - t0) / (repeats * len(xs))
np.savez(out, *[a for r, J in first for a in (r, J)])
print(json.dumps({"us": dt * 1e6, "module": bm.__file__}))
"""


def _find(name: str) -> Path:
    hits = sorted(DATA.glob(f"benchmark-models/**/{name}/{name}.yaml"))
    if not hits:
        raise SystemExit(f"problem {name!r} not found under {DATA / 'benchmark-models'}")
    return hits[0]


def _run(src: Path, yaml: Path, points: int, repeats: int, out: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", _CHILD, str(yaml), str(points), str(repeats), str(out)],
                         env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"timing process failed ({src}):\n{res.stderr[-3000:]}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    if not info["module"].startswith(str(src)):
        raise SystemExit(f"the timing process imported {info['module']}, not the tree under {src}")
    return float(info["us"])


def _maxrel(a, b) -> float:
    import numpy as np

    worst = 0.0
    for x, y in zip(a, b):
        scale = max(np.max(np.abs(x)), 1e-300)
        worst = max(worst, float(np.max(np.abs(x - y)) / scale))
    return worst


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="Bruno_JExpBot2016,Boehm_JProteomeRes2014")
    ap.add_argument("--baseline", default="main", help="git ref of the baseline tree (default main)")
    ap.add_argument("--points", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rev = subprocess.run(["git", "rev-parse", "--short", args.baseline], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.strip()
    print(f"baseline {args.baseline} ({rev}) against this tree (HEAD {head}{', src modified' if dirty else ''}); "
          f"{args.points} points x {args.repeats} repeats, best of {args.rounds} rounds; "
          f"load average at start {[round(v, 2) for v in os.getloadavg()]}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        base.mkdir()
        arc = subprocess.run(["git", "archive", "--format=tar", args.baseline, "src"], cwd=ROOT, capture_output=True,
                             check=True).stdout
        tar_path = Path(tmp) / "src.tar"
        tar_path.write_bytes(arc)
        with tarfile.open(tar_path) as tf:
            tf.extractall(base, filter="data")
        trees = {"baseline": base / "src", "this tree": ROOT / "src"}
        print(f"{'problem':<28}{'baseline us':>13}{'this tree us':>14}{'ratio':>8}{'max rel diff r':>16}"
              f"{'max rel diff J':>16}")
        for name in args.problems.split(","):
            yaml = _find(name)
            best = {k: float("inf") for k in trees}
            outs = {}
            for _ in range(args.rounds):
                for k, src in trees.items():
                    out = Path(tmp) / f"{name}-{k.replace(' ', '_')}.npz"
                    best[k] = min(best[k], _run(src, yaml, args.points, args.repeats, out))
                    outs[k] = out
            a, b = np.load(outs["baseline"]), np.load(outs["this tree"])
            ra = [a[f"arr_{i}"] for i in range(0, len(a.files), 2)]
            rb = [b[f"arr_{i}"] for i in range(0, len(b.files), 2)]
            Ja = [a[f"arr_{i}"] for i in range(1, len(a.files), 2)]
            Jb = [b[f"arr_{i}"] for i in range(1, len(b.files), 2)]
            print(f"{name:<28}{best['baseline']:>13.1f}{best['this tree']:>14.1f}"
                  f"{best['baseline'] / best['this tree']:>7.2f}x{_maxrel(ra, rb):>16.2e}{_maxrel(Ja, Jb):>16.2e}")
    print(f"load average at end {[round(v, 2) for v in os.getloadavg()]}")


if __name__ == "__main__":
    main()

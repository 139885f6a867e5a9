"""Import and compile time of Chen_MSB2009 (500 states; issue #13: <= 60 s, AMICI 265 s).

Usage::

    python benchmarks/chen_compile.py [--model PATH]

In a fresh process with an empty compile cache: read the SBML model (``bm.read_sbml``), compile it
(code generation and C compile reported apart), and print the times with the machine's load average
(the 2-core machine is shared).  The model file defaults to
``../shared/data/petab/benchmark-models/Chen_MSB2009/model_Chen_MSB2009.xml``; where it or the SBML
importer is missing, the script says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "petab" / "benchmark-models" / \
    "Chen_MSB2009" / "model_Chen_MSB2009.xml"

_CHILD = r"""
import contextlib, io, json, sys, time
t0 = time.perf_counter()
import bonemet_ode as bm
from bonemet_ode.compile import backend
model = bm.read_sbml(sys.argv[1])
t1 = time.perf_counter()
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    cm = backend.compile_model(model, verbose=True)
t2 = time.perf_counter()
line = buf.getvalue()
print(json.dumps({"states": cm.n_states, "import_s": t1 - t0, "compile_s": t2 - t1,
                  "codegen_s": float(line.split("codegen ")[1].split(" s")[0]),
                  "cc_s": float(line.split("C compile ")[1].split(" s")[0])}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(_DEFAULT))
    args = ap.parse_args()
    if not Path(args.model).exists():
        print(f"no model file at {args.model} (../shared is absent): nothing measured")
        return
    import bonemet_ode as bm

    if not hasattr(bm, "read_sbml"):
        print("this bonemet_ode has no SBML importer (bm.read_sbml): nothing measured")
        return
    print(f"load average at start: {os.getloadavg()}")
    env = dict(os.environ, BONEMET_ODE_CACHE=tempfile.mkdtemp(prefix="bonemet_chen_"))
    proc = subprocess.run([sys.executable, "-c", _CHILD, args.model], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"failed (exit status {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        sys.exit(1)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    total = r["import_s"] + r["compile_s"]
    print(f"Chen_MSB2009, {r['states']} states: import {r['import_s']:.1f} s, compile {r['compile_s']:.1f} s "
          f"(codegen {r['codegen_s']:.1f} s, C compile {r['cc_s']:.1f} s), total {total:.1f} s "
          f"(target 60 s; AMICI 265 s)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

"""Compile timings in fresh Python processes (subprocess), so nothing is already imported or loaded.

* cold: an empty cache directory (``$BONEMET_ODE_CACHE``), so the model is a
  structure never seen there: sympy import + code generation + cc + load.
* cached: a new process whose cache holds the library: from ``import
  bonemet_ode`` to the first finished solve of the reference problem.  The
  children keep their bytecode in a private ``PYTHONPYCACHEPREFIX`` (written
  by a warm-up run), as an installed package has its ``.pyc`` files, whatever
  ``PYTHONDONTWRITEBYTECODE`` says here.  Each repeat also runs with
  ``PYTHONDONTWRITEBYTECODE=1`` and no prefix, reported beside it: a checkout
  without ``__pycache__`` folders then compiles bonemet_ode's ~120 modules
  from source in every process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

__all__ = ["cold_compile", "cached_first_solve", "in_process_cold_compile"]

_COLD = r"""
import json, sys, time
t0 = time.perf_counter()
import bonemet_ode as bm
from bonemet_ode.compile.backend import compile_model
model = bm.models.get(sys.argv[1])
t1 = time.perf_counter()
cm = compile_model(model)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "compile_s": t2 - t1, "built": cm.was_built}))
"""

_CACHED = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import bonemet_ode as bm
from bonemet_ode.models.reference import perf_reference_combination_arm
sim = bm.Simulator(bm.models.get("perf_reference"), perf_reference_combination_arm(), 60.0, np.linspace(0.0, 60.0, 61))
res = sim.run()
t1 = time.perf_counter()
print(json.dumps({"import_to_first_solve_s": t1 - t0, "built": sim.compiled.was_built,
                  "sympy_imported": "sympy" in __import__("sys").modules}))
"""


def _run(code: str, cache: str, *args: str, pycache: str | None = None, write_bytecode: bool | None = None
         ) -> dict[str, Any]:
    """Run ``code`` in a new interpreter.  ``pycache``: the child keeps its bytecode in that directory
    (``PYTHONPYCACHEPREFIX``; "" for none: next to the sources); ``write_bytecode`` False sets
    ``PYTHONDONTWRITEBYTECODE=1``, True clears it; left at None, both follow this environment."""
    env = dict(os.environ, BONEMET_ODE_CACHE=cache)
    if pycache == "":
        env.pop("PYTHONPYCACHEPREFIX", None)
    elif pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = pycache
    if write_bytecode is True:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    elif write_bytecode is False:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"timing subprocess failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cold_compile(model_name: str, repeats: int) -> dict[str, Any]:
    """Median cold compile (s) of ``model_name`` in new processes with empty caches; keeps the last cache dir."""
    runs, cache = [], ""
    for _ in range(repeats):
        cache = tempfile.mkdtemp(prefix="bonemet_bench_cache_")
        out = _run(_COLD, cache, model_name)
        if not out["built"]:
            raise RuntimeError("cold compile found a cached library in an empty cache directory")
        runs.append(out["compile_s"])
    return {"median_s": statistics.median(runs), "runs_s": runs, "cache_dir": cache}


def cached_first_solve(cache: str, repeats: int) -> dict[str, Any]:
    """Median time (s) from ``import bonemet_ode`` to the first solve in new processes with a warm cache.

    ``median_s``: with the bytecode of every module cached (an installed package; a private
    ``PYTHONPYCACHEPREFIX`` written by a warm-up run).  ``no_bytecode_write_median_s``: the same with
    ``PYTHONDONTWRITEBYTECODE=1`` and no prefix, so a checkout without ``__pycache__`` folders compiles
    bonemet_ode from source in every process (installed packages keep their ``.pyc`` files).
    """
    with tempfile.TemporaryDirectory(prefix="bonemet_bench_pyc_") as pycache:
        # the reference library in this cache, every module's bytecode in `pycache`
        _run(_CACHED, cache, pycache=pycache, write_bytecode=True)
        runs, wall, outs, nowrite_runs = [], [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = _run(_CACHED, cache, pycache=pycache, write_bytecode=True)
            wall.append(time.perf_counter() - t0)
            runs.append(out["import_to_first_solve_s"])
            nowrite = _run(_CACHED, cache, pycache="", write_bytecode=False)
            nowrite_runs.append(nowrite["import_to_first_solve_s"])
            outs += [out, nowrite]
    if any(o["built"] for o in outs):
        raise RuntimeError("the cached first solve compiled the model: the cache was not used")
    return {"median_s": statistics.median(runs), "runs_s": runs, "process_wall_s": statistics.median(wall),
            "no_bytecode_write_median_s": statistics.median(nowrite_runs), "no_bytecode_write_runs_s": nowrite_runs,
            "sympy_imported": any(o["sympy_imported"] for o in outs)}


def in_process_cold_compile(model: Any, repeats: int = 3) -> float:
    """Median cold compile (s) in this process once sympy is loaded: a user iterating on a model in a notebook.

    Each repeat rebuilds ``model`` (``force=True``) into a fresh, empty cache
    directory; sympy is imported before timing starts.
    """
    import sympy  # noqa: F401 - loaded before timing, as in a session that has compiled before

    from bonemet_ode.compile.backend import compile_model

    old = os.environ.get("BONEMET_ODE_CACHE")
    runs = []
    try:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="bonemet_bench_cache_") as d:
                os.environ["BONEMET_ODE_CACHE"] = d
                t0 = time.perf_counter()
                compile_model(model, force=True)
                runs.append(time.perf_counter() - t0)
    finally:
        if old is None:
            os.environ.pop("BONEMET_ODE_CACHE", None)
        else:
            os.environ["BONEMET_ODE_CACHE"] = old
    return statistics.median(runs)

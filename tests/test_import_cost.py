"""``import bonemet_ode`` and a first solve of a cached model load no heavy optional dependency.

scipy.stats, lmfit, pandas, matplotlib and sympy each take 0.1-0.5 s to
import; the simulation path needs none of them, so the modules that use them
import them inside the functions that need them (benchmarks/run.py target
``compile_cached``: new process, ``import bonemet_ode`` to the first solve of
a cached model).  Each check runs in a fresh ``python -c`` child; when a
heavy module is loaded the message names the bonemet_ode line that imported it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from bonemet_ode.compile.backend import compile_model

#: Loaded on demand only: the statistics, fitting, table, plotting and symbolic stacks.
HEAVY = ("scipy.stats", "scipy.optimize", "scipy.special", "scipy.spatial", "scipy.sparse", "scipy.integrate",
         "scipy.linalg", "lmfit", "pandas", "matplotlib", "sympy")

# Records, for each heavy module, the innermost bonemet_ode frame that imported it.
_WATCH = textwrap.dedent("""
    import json, sys, traceback
    HEAVY = {heavy!r}
    culprits = {{}}

    class _Watch:
        def find_spec(self, name, path=None, target=None):
            if name in HEAVY and name not in culprits:
                frames = [f for f in traceback.extract_stack() if "bonemet_ode" in f.filename]
                culprits[name] = f"{{frames[-1].filename}}:{{frames[-1].lineno}}" if frames else "?"
            return None

    sys.meta_path.insert(0, _Watch())
""").format(heavy=HEAVY)

_REPORT = textwrap.dedent("""
    loaded = {m: culprits.get(m, "?") for m in HEAVY if m in sys.modules}
    print(json.dumps(loaded))
""")

TOY = textwrap.dedent("""
    from bonemet_ode import Model, Module, Parameter, State, Term
    toy = Model("import_cost_probe", [Module("m", states=(State("x", 2.0), State("y", 0.0)),
                                      parameters=(Parameter("k", 0.4),),
                                      terms=(Term("conv", "k*x", {"x": -1, "y": 1}),))])
""")


def _loaded_heavy(body: str) -> dict[str, str]:
    proc = subprocess.run([sys.executable, "-c", _WATCH + body + _REPORT], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_bonemet_ode_loads_no_heavy_dependency() -> None:
    loaded = _loaded_heavy("import bonemet_ode\n")
    assert loaded == {}, f"import bonemet_ode loaded {loaded} (module: importing line)"


def test_first_solve_of_a_cached_model_loads_no_heavy_dependency() -> None:
    namespace: dict = {}
    exec(TOY, namespace)  # noqa: S102 - the same definition the child runs
    compile_model(namespace["toy"])  # into the session cache, so the child only loads the library
    body = TOY + textwrap.dedent("""
        import bonemet_ode as bm
        res = bm.simulate(toy, days=2.0, rtol=1e-9, atol=1e-12)
        # x' = -k x: the cached library really solved the model
        import math
        assert abs(res.states[-1][0] - 2.0 * math.exp(-0.8)) < 1e-6, res.states[-1]
    """)
    loaded = _loaded_heavy(body)
    assert loaded == {}, f"a cached first solve loaded {loaded} (module: importing line)"


def test_the_watch_names_the_importing_line() -> None:
    # the check itself can fail: pandas loaded by a bonemet_ode function is reported with that file
    loaded = _loaded_heavy("import bonemet_ode\nbonemet_ode.models.get('kuznetsov1994').parameter_table()\n")
    assert "pandas" in loaded and loaded["pandas"].split(":")[0].endswith(os.path.join("model", "model.py"))

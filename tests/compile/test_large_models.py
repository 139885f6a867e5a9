"""Models with many states: packed storage, work arrays off the stack, against an independent scipy solve.

The Michaelis–Menten chain (``bonemet_ode.models.chain``) is solved by the compiled engine and by
scipy's Radau on a right-hand side written here in numpy (independent of the generated code), with
the chain's sparse Jacobian pattern (``jac_sparsity``).  A solve in a thread with a small stack checks
that no work array of the model's size lives on the C stack (before, the dense ``n x n`` arrays did:
120 states needed ~350 KiB of stack, 1000 states killed the process).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse
from scipy.integrate import solve_ivp

import bonemet_ode as bm
from bonemet_ode.compile.backend import compile_model
from bonemet_ode.models.chain import michaelis_menten_chain


def _reference(model: bm.Model, times: np.ndarray) -> np.ndarray:
    """Radau (rtol 1e-10, atol 1e-12) on the chain written in numpy, with its bidiagonal sparsity."""
    n = len(model.state_names)
    pv = model.parameter_values()
    vmax = np.array([pv[f"Vmax{i}"] for i in range(n)])
    km = np.array([pv[f"Km{i}"] for i in range(n)])
    k_in, kdeg = pv["k_in"], pv["kdeg"]

    def f(_t, x):
        v = vmax * x / (km + x)
        dx = -v - kdeg * x
        dx[1:] += v[:-1]
        dx[0] += k_in
        return dx

    sparsity = scipy.sparse.diags([np.ones(n), np.ones(n - 1)], [0, -1])
    sol = solve_ivp(f, (times[0], times[-1]), model.initial_values(), method="Radau", t_eval=times, rtol=1e-10,
                    atol=1e-12, jac_sparsity=sparsity)
    assert sol.success
    return sol.y.T


N_DEFAULT = 120


@pytest.fixture(scope="module")
def chain():
    return michaelis_menten_chain(N_DEFAULT)


def test_chain_matches_scipy_radau(chain):
    times = np.linspace(0.0, 40.0, 41)
    res = bm.Simulator(chain, days=40.0, times=times).run()
    ref = _reference(chain, times)
    # the solver's own tolerances (rtol 1e-6, atol 1e-9 default) bound the error; states span 1e-30 .. 1
    err = np.abs(res.states - ref) / (1e-6 * np.abs(ref) + 1e-9)
    assert err.max() < 5.0, err.max()


def test_chain_jacobian_is_packed_and_matches_finite_differences(chain):
    cm = compile_model(chain)
    y = np.linspace(0.1, 2.0, N_DEFAULT)
    p = chain.parameter_vector()
    J = cm.jacobian(y, p)
    assert np.count_nonzero(J) == 2 * N_DEFAULT - 1  # lower bidiagonal
    h = 1e-7
    fd = np.column_stack([(cm.rhs(y + h * e, p) - cm.rhs(y - h * e, p)) / (2 * h) for e in np.eye(N_DEFAULT)])
    assert np.allclose(J, fd, rtol=1e-6, atol=1e-8)


_THREAD_SOLVE = textwrap.dedent("""
    import sys, threading
    import numpy as np
    import bonemet_ode as bm
    from bonemet_ode.models.chain import michaelis_menten_chain
    model = michaelis_menten_chain(int(sys.argv[1]))
    sim = bm.Simulator(model, days=20.0)        # compiled here, on the main thread
    out = {}
    threading.stack_size(int(sys.argv[2]))
    t = threading.Thread(target=lambda: out.update(y=sim.run().states[-1]))
    t.start(); t.join()
    print(float(np.sum(out["y"])))
""")


def _solve_in_thread(n: int, stack_bytes: int, cache: str) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, BONEMET_ODE_CACHE=cache)
    return subprocess.run([sys.executable, "-c", _THREAD_SOLVE, str(n), str(stack_bytes)], capture_output=True,
                          text=True, env=env, timeout=1200)


def test_large_model_solves_on_a_small_thread_stack(chain, tmp_path):
    compile_model(chain)  # the subprocess finds the library in this cache
    from bonemet_ode.compile.backend import cache_dir

    proc = _solve_in_thread(N_DEFAULT, 256 * 1024, str(cache_dir()))
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    total = float(proc.stdout.strip().splitlines()[-1])
    assert np.isfinite(total) and total > 0.0


@pytest.mark.slow
def test_thousand_state_chain_compiles_and_solves_without_crashing(tmp_path):
    """1000 states: the first solve used to kill the process (dense work arrays on the C stack)."""
    proc = _solve_in_thread(1000, 1024 * 1024, str(tmp_path))
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    model = michaelis_menten_chain(1000)
    times = np.linspace(0.0, 20.0, 21)
    import os

    os.environ["BONEMET_ODE_CACHE"] = str(tmp_path)
    try:
        res = bm.Simulator(model, days=20.0, times=times).run()
    finally:
        del os.environ["BONEMET_ODE_CACHE"]
    ref = _reference(model, times)
    err = np.abs(res.states - ref) / (1e-6 * np.abs(ref) + 1e-9)
    assert err.max() < 5.0, err.max()


def test_too_large_a_model_is_refused_before_code_generation():
    from bonemet_ode.compile.codegen import MAX_STATES
    from bonemet_ode.errors import CompileError

    model = michaelis_menten_chain(MAX_STATES + 1)
    with pytest.raises(CompileError, match=f"has {MAX_STATES + 1} states.*at most {MAX_STATES}"):
        compile_model(model)

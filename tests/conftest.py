"""Shared test set-up: a per-session cache of compiled models, and independent reference solutions.

Compiled models
    ``$BONEMET_ODE_CACHE`` is pointed at a temporary directory for the test
    session unless the caller already set it, so the suite does not write
    into ``~/.cache`` while every model is still compiled only once per
    session (later builds of the same structure load the cached library).

Property tests (hypothesis)
    The default profile ``"ci"`` is derandomised: every run draws the same
    examples, so a CI result can be reproduced and does not depend on luck.
    ``python -m pytest --hypothesis-profile=explore`` draws fresh random
    examples (and keeps failures in ``.hypothesis/``) to hunt for new ones;
    a failure found there is pinned with ``@example`` in the test.

Reference solutions (fixture ``reference_solve``)
    scipy ``solve_ivp(method="Radau")`` on a right-hand side and Jacobian
    obtained with ``sympy.lambdify`` from ``SymbolicModel(model)`` -- neither
    the generated C code nor the compiled Rosenbrock solver is involved.  The
    integration is restarted at every dose; boluses, infusion rate changes
    and parameter switches are applied by hand, and dose times are expanded
    here from the :class:`~bonemet_ode.Dose` fields (not with
    ``Dose.administration_times``).  At an output time that is also a dose
    time the post-dose state is reported, as the engine promises.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("ci")

_CREATED_CACHE: str | None = None

#: The built-in models the engine ships (issue 2); tests that must cover "every built-in model" use this list.
BUILTIN_MODELS = ("kuznetsov1994", "pk_one_compartment", "perf_reference", "bone_metastasis")


def pytest_configure(config: pytest.Config) -> None:
    global _CREATED_CACHE
    if not os.environ.get("BONEMET_ODE_CACHE"):
        _CREATED_CACHE = tempfile.mkdtemp(prefix="bonemet_ode_test_cache_")
        os.environ["BONEMET_ODE_CACHE"] = _CREATED_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    if _CREATED_CACHE is not None:
        shutil.rmtree(_CREATED_CACHE, ignore_errors=True)
        if os.environ.get("BONEMET_ODE_CACHE") == _CREATED_CACHE:
            del os.environ["BONEMET_ODE_CACHE"]


# ---------------------------------------------------------------------------------------------- dose expansion
def expand_dose_times(dose, t_end: float) -> list[float]:
    """Administration days of ``dose`` up to ``t_end`` (inclusive), derived from its fields by hand."""
    last = t_end if dose.stop is None else min(dose.stop, t_end)
    if dose.times is not None:
        candidates = list(dose.times)
    elif dose.every is None:
        candidates = [dose.start]
    else:
        candidates, k = [], 0
        while dose.start + k * dose.every <= last + 1e-9:
            candidates += [dose.start + k * dose.every + off for off in dose.offsets]
            k += 1
    return sorted(t for t in candidates if t <= last + 1e-9)


def _schedule(model, arm, t_end: float) -> list[tuple[float, int, str, int, float]]:
    """Events ``(time, order, kind, index, value)``: switches, then rate changes, then boluses at equal times."""
    events = []
    for sw in model.switches:
        if sw.time <= t_end:
            events.append((sw.time, 0, "par", model.parameter_names.index(sw.parameter), sw.value))
    for dose in arm.doses:
        i = model.state_names.index(dose.target)
        for t in expand_dose_times(dose, t_end):
            if dose.duration is None:
                events.append((t, 2, "bolus", i, dose.amount))
            else:
                rate = dose.amount / dose.duration
                events.append((t, 1, "rate", i, rate))
                events.append((t + dose.duration, 1, "rate", i, -rate))
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def _reference_solve(model, arm=None, times=None, *, params=None, rtol=1e-10, atol=1e-12):
    """Reference trajectory (times x states) of ``model`` under ``arm``; see the module docstring."""
    import sympy as sp
    from scipy.integrate import solve_ivp

    from bonemet_ode import CONTROL
    from bonemet_ode.compile.symbolic import SymbolicModel

    arm = CONTROL if arm is None else arm
    model = arm.apply(model)
    times = np.asarray(times, dtype=float)
    sym = SymbolicModel(model)
    f = sp.lambdify([sym.y, sym.p], list(sym.rhs), "math", cse=True)
    jac = sp.lambdify([sym.y, sym.p], sym.jacobian.tolist(), "math", cse=True)
    p = model.parameter_vector(params).copy()
    pl = p.tolist()  # lambdified "math" code is fastest on Python floats
    y = np.array(model.initial_values(model.resolve_parameters(params)), dtype=float)
    u = np.zeros_like(y)
    t_end = float(times[-1])
    events = _schedule(model, arm, t_end)

    def apply(t: float) -> None:
        for te, _, kind, i, val in events:
            if te == t:
                if kind == "bolus":
                    y[i] += val
                elif kind == "rate":
                    u[i] += val
                else:
                    p[i] = val
                    pl[i] = val

    def rhs(_t, yy):
        return np.array(f(yy.tolist(), pl), dtype=float) + u

    def jacobian(_t, yy):
        return np.array(jac(yy.tolist(), pl), dtype=float)

    out = np.empty((len(times), len(y)))
    bounds = sorted({e[0] for e in events if 0.0 < e[0] < t_end} | {t_end})
    t, i = 0.0, 0
    apply(0.0)
    for tb in bounds:
        while i < len(times) and times[i] <= t:
            out[i] = y
            i += 1
        sol = solve_ivp(rhs, (t, tb), y.copy(), method="Radau", rtol=rtol, atol=atol, jac=jacobian,
                        dense_output=True)
        assert sol.success, f"reference solver failed: {sol.message}"
        while i < len(times) and times[i] < tb:
            out[i] = sol.sol(times[i])
            i += 1
        y[:] = sol.y[:, -1]
        t = tb
        apply(t)
    while i < len(times):
        out[i] = y
        i += 1
    return out


@pytest.fixture(scope="session")
def reference_solve():
    """``reference_solve(model, arm, times, params=None, rtol=1e-10, atol=1e-12)`` -> array (times x states)."""
    return _reference_solve


def builtin_arms(name: str):
    """The arms each built-in model is checked under (its default arms where it has them)."""
    import bonemet_ode as bm

    if name == "bone_metastasis":
        from bonemet_ode.models.bone_metastasis import default_arms

        return list(default_arms())
    if name == "perf_reference":
        from bonemet_ode.models.reference import perf_reference_combination_arm

        return [perf_reference_combination_arm()]
    if name == "pk_one_compartment":
        return [bm.Arm("q1d bolus + infusion", (bm.Dose("central", 2.0, every=1.0),
                                                bm.Dose("central", 3.0, every=4.0, start=0.5, duration=1.5)))]
    return [bm.CONTROL]


@pytest.fixture(scope="session")
def arms_for():
    """``arms_for(model_name)`` -> the arms that built-in model is tested under (see :func:`builtin_arms`)."""
    return builtin_arms


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``builtin_name`` over the built-in models and ``builtin_case`` over (model, arm) pairs."""
    if "builtin_name" in metafunc.fixturenames:
        metafunc.parametrize("builtin_name", BUILTIN_MODELS)
    if "builtin_case" in metafunc.fixturenames:
        cases = [(name, arm) for name in BUILTIN_MODELS for arm in builtin_arms(name)]
        metafunc.parametrize("builtin_case", cases, ids=[f"{n}:{a.name}" for n, a in cases])

"""exp and log through glibc's libmvec (``toolchain.mvec_width``): accurate, and the same numbers in lanes and alone.

Where libmvec is used, the lane solver computes the ``exp``/``log`` of all its lanes with one vector call and the
one-member solver calls the same vector function with its argument in every element; where it is not (another C
library, the portable build, ``BONEMET_ODE_MVEC=0``) both call C's scalar functions.  Either way a member's numbers
must not depend on whether it was solved in a cohort, and the functions must be exp and log to a few ulp.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode import Model, Module, Parameter, State, Term
from bonemet_ode.compile import backend, toolchain
from bonemet_ode.compile.lanes import DEFAULT_LANES


def _calls_model() -> Model:
    """dx/dt = exp(x), dz/dt = log(z): the generated right-hand side is one exp and one log of a state."""
    mod = Module("calls", states=(State("x", 0.0), State("z", 1.0)), parameters=(),
                 terms=(Term("e", "exp(x)", {"x": 1}), Term("l", "log(z)", {"z": 1})))
    return Model("mvec_calls", [mod])


def _source(cm) -> str:
    return cm.path.with_suffix(".c").read_text()


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of the last place of ``want`` (subnormals: of the smallest subnormal)."""
    return np.abs(got - want) / np.spacing(np.abs(want))


EXP_X = np.concatenate([np.linspace(-745.0, 709.7, 1999), np.random.default_rng(1).normal(0.0, 5.0, 500),
                        [0.0, -0.0, 1e-300, -1e-300, 5e-324, 1e-10, -1e-10, 0.5, 1.0, -1.0, 2.0 ** -30]])
LOG_Z = np.concatenate([np.logspace(-307.0, 308.0, 1999), np.random.default_rng(2).uniform(0.5, 2.0, 500),
                        [5e-324, 1e-310, 2.2250738585072014e-308, 1.0, 1.0 + 2e-16, 1.0 - 1e-16, 1.0 + 1e-10,
                         np.e, 1.7976931348623157e308]])


@pytest.mark.parametrize("mvec", ["auto", "0"], ids=["mvec", "scalar"])
def test_exp_and_log_of_the_generated_code_within_4_ulp_of_numpy(mvec, monkeypatch):
    if mvec == "0":
        monkeypatch.setenv("BONEMET_ODE_MVEC", "0")
    else:
        monkeypatch.delenv("BONEMET_ODE_MVEC", raising=False)
    width = toolchain.mvec_width(backend.cache_dir())
    if mvec == "auto" and width == 0:
        pytest.skip("libmvec's vector exp/log are not usable on this host (toolchain.mvec_width() == 0)")
    assert (mvec == "0") == (width == 0)
    model = _calls_model()
    cm = backend.compile_model(model)
    p = model.parameter_vector()  # the terms' on/off flags
    src = _source(cm)
    if width:  # the library really calls libmvec, in the one-member code and in the lanes
        exp_name, log_name = toolchain.MVEC_NAMES[width]
        assert f"{exp_name}((bm_vm)" in src and f"{log_name}((bm_vm)" in src
        lanes = src[src.index("static void bm_rhs_v("):]
        lanes = lanes[:lanes.index("\n}\n")]
        assert "bm_exp_n(" in lanes and "bm_log_n(" in lanes
    else:
        assert "_ZGV" not in src and "static inline double bm_exp(double x) { return exp(x); }" in src
    got_e = np.array([cm.rhs(np.array([x, 1.0]), p)[0] for x in EXP_X])
    got_l = np.array([cm.rhs(np.array([0.0, z]), p)[1] for z in LOG_Z])
    assert _ulps(got_e, np.exp(EXP_X)).max() <= 4.0
    assert _ulps(got_l, np.log(LOG_Z)).max() <= 4.0
    # IEEE special cases as C's exp and log give them
    special = [cm.rhs(np.array([x, z]), p) for x, z in
               [(np.inf, 0.0), (-np.inf, -1.0), (np.nan, np.inf), (800.0, -0.0), (-800.0, np.nan)]]
    np.testing.assert_array_equal(special, [[np.inf, -np.inf], [0.0, np.nan], [np.nan, np.inf], [np.inf, -np.inf],
                                            [0.0, np.nan]])


def test_portable_build_uses_c_exp_and_log(monkeypatch):
    """``BONEMET_ODE_ISA=baseline`` (results identical across hosts) never calls libmvec."""
    monkeypatch.setenv("BONEMET_ODE_ISA", "baseline")
    monkeypatch.delenv("BONEMET_ODE_MVEC", raising=False)
    assert toolchain.mvec_width(backend.cache_dir()) == 0


def _cohort_model() -> Model:
    """exp and log of states and products of powers of states (``BM_POWLOG``, a base reaching zero)."""
    mod = Module(
        "mvec_cohort",
        states=(State("x", 1.0), State("z", 2.0), State("w", 0.5)),
        parameters=(Parameter("k", 0.3, upper=10.0), Parameter("a", 1.7, upper=10.0),
                    Parameter("b", 1.3, upper=10.0), Parameter("r", 0.2, upper=10.0), Parameter("K", 5.0, upper=1e3)),
        terms=(Term("prod", "k*x**a*z**b", {"x": -1, "w": 1}),
               Term("outflow", "r*z*exp(-w)", {"z": -1}),
               Term("growth", "r*w*(K - log(w + 1))", {"w": 1}),
               Term("loss", "k*w*exp(log(x + 1)*a)/K", {"w": -1})))
    return Model("mvec_cohort", [mod])


def test_cohort_with_vector_exp_and_log_is_bit_identical_to_single_solves():
    """Lanes (vector calls over all lanes, fix-up of the lanes whose power base is zero) against one-member solves
    (the same vector function, the argument broadcast): states, stats and status bit for bit."""
    width = toolchain.mvec_width(backend.cache_dir())
    if width == 0:
        pytest.skip("libmvec's vector exp/log are not usable on this host (toolchain.mvec_width() == 0)")
    model = _cohort_model()
    sim = bm.Simulator(model, bm.Arm("control"), 30.0, np.linspace(0.0, 30.0, 31),
                       bm.SolverOptions(rtol=1e-7, atol=1e-10))
    lanes = _source(backend.compile_model(model))
    lanes = lanes[lanes.index("static void bm_rhs_v("):]
    assert "bm_exp_n(" in lanes and "bm_log_n(" in lanes and "if (!(bm_normal(" in lanes
    n = 2 * DEFAULT_LANES + 3
    rng = np.random.default_rng(11)
    p0 = model.parameter_vector()
    P = np.tile(p0, (n, 1)) * np.exp(0.3 * rng.standard_normal((n, p0.size)))
    Y0 = np.tile(sim.initial_state(), (n, 1)) * np.exp(0.5 * rng.standard_normal((n, 3)))
    Y0[::4, 1] = 0.0  # z = 0: the power through logarithms falls back to C's pow on these lanes
    Y0[1::5, 0] = 0.0  # x = 0
    Y, _O, stats, status, _ft, _fs = sim.solve(P, Y0)
    assert np.isfinite(Y).all()
    for k in range(n):
        y1, _o1, st1, code1, _ft1, _fs1 = sim.solve_one(P[k], Y0[k])
        np.testing.assert_array_equal(Y[k], y1[0], err_msg=f"member {k}")
        np.testing.assert_array_equal(stats[k], st1[0], err_msg=f"member {k}")
        assert int(status[k]) == int(np.ravel(code1)[0]), k


def test_width_is_part_of_the_cache_key_and_bad_settings_are_refused(monkeypatch):
    model = _calls_model()
    monkeypatch.delenv("BONEMET_ODE_MVEC", raising=False)
    auto, width = backend._cache_key(model), toolchain.mvec_width(backend.cache_dir())
    monkeypatch.setenv("BONEMET_ODE_MVEC", "0")
    assert (backend._cache_key(model) == auto) == (width == 0)
    monkeypatch.setenv("BONEMET_ODE_MVEC", "16")
    with pytest.raises(bm.errors.CompileError, match="BONEMET_ODE_MVEC"):
        toolchain.mvec_width(backend.cache_dir())
    monkeypatch.delenv("BONEMET_ODE_MVEC")
    if toolchain.mvec_width(backend.cache_dir()):  # the probe's answer is kept in the cache directory
        assert list(backend.cache_dir().glob("mvec-probe-*.txt"))

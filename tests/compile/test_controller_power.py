"""The step-size controller's power and the derived parameters agree with their plain definitions."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import sympy as sp

from bonemet_ode.compile.backend import compile_model
from bonemet_ode.compile.hoist import Hoister
from bonemet_ode.compile.symbolic import SymbolicModel
from bonemet_ode.models.registry import get


@pytest.fixture(scope="module")
def lib():
    cm = compile_model(get("perf_reference"))
    lib = cm._lib
    lib.bm_err_recip_ext.argtypes = [ctypes.c_double]
    lib.bm_err_recip_ext.restype = ctypes.c_double
    lib.bm_err_den_ext.restype = ctypes.c_int
    return lib


def test_err_recip_matches_pow_over_the_whole_range(lib):
    """err2^(-1/D) from the exponent/mantissa tables is within 1e-10 of libm's pow everywhere."""
    den = lib.bm_err_den_ext()
    assert den == 10  # RODAS5P: err^(-1/5) = err2^(-1/10)
    rng = np.random.default_rng(11)
    xs = np.concatenate([
        np.logspace(-320, 307, 4001),
        10.0 ** rng.uniform(-12, 6, 20000),  # where step errors live
        [1.0, 2.0, 0.5, np.nextafter(1.0, 2.0), np.nextafter(2.0, 1.0), 2.0 ** -1000, 2.0 ** 1000, 5e-324],
    ])
    got = np.array([lib.bm_err_recip_ext(float(x)) for x in xs])
    want = xs ** (-1.0 / den)
    rel = np.abs(got / want - 1.0)
    assert rel.max() < 1e-10, (xs[rel.argmax()], rel.max())


def test_err_recip_at_zero_is_infinite(lib):
    """A zero error estimate gives an infinite growth factor, which the controller clamps to its maximum."""
    assert lib.bm_err_recip_ext(0.0) == np.inf


@pytest.mark.parametrize("name", ["perf_reference", "bone_metastasis"])
def test_hoisted_jacobian_equals_model_jacobian(name):
    """Jacobian entries with parameter-only parts replaced by derived parameters evaluate to the same values."""
    sym = SymbolicModel(get(name))
    hoist = Hoister(sym.y)
    J = sym.jacobian
    n = len(sym.y)
    entries = [(i, j) for i in range(n) for j in range(n) if J[i, j] != 0]
    hoisted = [hoist(J[i, j]) for i, j in entries]
    assert len(hoist) > 0
    derived = dict(zip(hoist.symbols, hoist.definitions))
    for d in hoist.definitions:  # defined by the model's parameters alone
        assert not (d.free_symbols & set(sym.y)) and not (d.free_symbols & set(hoist.symbols))
    args = list(sym.y) + list(sym.p)
    rng = np.random.default_rng(5)
    for (i, j), h in zip(entries, hoisted):
        f_old = sp.lambdify(args, J[i, j], "math")
        f_new = sp.lambdify(args, h.xreplace(derived), "math")
        for _ in range(3):
            x = rng.uniform(0.1, 3.0, len(args))
            a, b = f_old(*x), f_new(*x)
            assert b == pytest.approx(a, rel=1e-11, abs=1e-11 * (1 + abs(a)))


def test_hoister_collects_parameter_factors_once():
    x, y = sp.symbols("x y", real=True)
    a, b, c = sp.symbols("a b c", real=True)
    hoist = Hoister([x, y])
    e1 = hoist(a * b * x / c + y)
    e2 = hoist(a * b * y / c - x / (1 + c))
    assert hoist.definitions == [a * b / c, -1 / (1 + c)]  # a*b/c once, for both expressions
    q0, q1 = hoist.symbols
    assert e1 == q0 * x + y
    assert e2 == q0 * y + q1 * x
    assert hoist(x + a) == x + a and len(hoist) == 2  # a lone parameter stays as it is

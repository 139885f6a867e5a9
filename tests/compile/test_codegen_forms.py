"""Rewritten forms in the generated code mean the same as the model, and the build flags follow the settings."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from bonemet_ode.compile import backend, toolchain
from bonemet_ode.compile.rewrites import one_division as _one_division
from bonemet_ode.compile.sparse_lu import _pruned_tree_sum
from bonemet_ode.compile.symbolic import SymbolicModel
from bonemet_ode.models.registry import get


@pytest.mark.parametrize("name", ["perf_reference", "bone_metastasis"])
def test_one_division_rhs_equals_model_rhs(name):
    """Each RHS over single-denominator terms evaluates to the model's RHS at random positive points."""
    sym = SymbolicModel(get(name))
    args = list(sym.y) + list(sym.p)
    rng = np.random.default_rng(7)
    for expr in sym.rhs:
        rewritten = _one_division(expr)
        quot = {f: sp.Mul(f.args[0], sp.Pow(f.args[1], -1)) for f in rewritten.atoms(sp.Function)
                if type(f).__name__ == "bm_quot"}
        f_old = sp.lambdify(args, expr, "math")
        f_new = sp.lambdify(args, rewritten.xreplace(quot), "math")
        for _ in range(5):
            x = rng.uniform(0.1, 3.0, len(args))
            a, b = f_old(*x), f_new(*x)
            assert b == pytest.approx(a, rel=1e-11, abs=1e-11 * (1 + abs(a)))


def test_one_division_leaves_one_quotient_per_term():
    x, y, a, b, c = sp.symbols("x y a b c", positive=True)
    rewritten = _one_division(a * x / ((1 + x / b) * (c + y)) - y)
    quots = [f for f in rewritten.atoms(sp.Function) if type(f).__name__ == "bm_quot"]
    assert len(quots) == 1
    num, den = quots[0].args
    assert not any(p.is_Pow and p.exp.is_negative for p in sp.preorder_traversal(den))
    assert sp.simplify(num / den - a * x / ((1 + x / b) * (c + y))) == 0


def test_pruned_tree_keeps_the_full_trees_pairs():
    assert _pruned_tree_sum(["a", "b", "c", "d"]) == "((a + b) + (c + d))"
    assert _pruned_tree_sum(["a", None, "c", "d"]) == "(a + (c + d))"
    assert _pruned_tree_sum([None, None, "c", None]) == "c"
    assert _pruned_tree_sum([None, None]) is None


def test_isa_settings(monkeypatch):
    monkeypatch.setattr(toolchain, "_cpu", lambda: ("Test CPU", "fpu sse2 avx avx2 fma bmi1 bmi2 movbe f16c abm"))
    monkeypatch.delenv("BONEMET_ODE_ISA", raising=False)
    assert toolchain.isa_flags() == ("-march=native",)
    native_key = toolchain.isa_key()
    assert native_key.startswith("native:")
    monkeypatch.setenv("BONEMET_ODE_ISA", "v3")
    assert toolchain.isa_flags() == ("-march=x86-64-v3",)
    monkeypatch.setenv("BONEMET_ODE_ISA", "baseline")
    assert toolchain.isa_flags() == () and toolchain.isa_key() == ""
    # another CPU with the same instructions' names but another model gets another key
    monkeypatch.delenv("BONEMET_ODE_ISA")
    monkeypatch.setattr(toolchain, "_cpu", lambda: ("Other CPU", "fpu sse2 avx avx2 fma bmi1 bmi2 movbe f16c abm"))
    assert toolchain.isa_key() != native_key
    # without AVX2+FMA: the portable build
    monkeypatch.setattr(toolchain, "_cpu", lambda: ("Old CPU", "fpu sse2 avx"))
    assert toolchain.isa_flags() == ()


def _powers_model():
    """A Hill term and a product of powers of two states, exponents parameters (bm_pow, then _log_powers)."""
    from bonemet_ode import Model, Module, Parameter, State, Term

    mod = Module(
        "powers", states=(State("x", 1.0), State("z", 2.0)),
        parameters=(Parameter("n", 2.5, upper=10.0), Parameter("K", 3.0, upper=1e3), Parameter("a", 0.7, upper=10.0),
                    Parameter("b", 1.3, upper=10.0), Parameter("k", 2.0, upper=10.0)),
        terms=(Term("hill", "k*x**n/(K**n + x**n)", {"z": 1}),
               Term("prod", "k*x**a*z**b", {"x": -1})))
    return Model("powers", [mod])


def test_powers_of_states_are_written_through_shared_logarithms():
    """The generated right-hand side and Jacobian take one log per base and no pow on the fast path."""
    from bonemet_ode.compile.codegen import generate_source

    src = generate_source(SymbolicModel(_powers_model()), lanes=False)
    rhs = src[src.index("static void bm_rhs_g("):]  # the generic form (n = 2.5 is specialised: exponents.py)
    rhs = rhs[:rhs.index("\n}\n")]
    assert rhs.count("= bm_log(y[0]);") == 1 and rhs.count("= bm_log(y[1]);") == 1
    assert "BM_POWLOG(" in rhs and "bm_normal(y[0])" in rhs and "pow(y[" not in rhs.replace("bm_pow_c(y[", "")


X_POINTS = [0.0, -0.0, 5e-324, 1e-310, 1e-300, 1e-12, 0.5, 3.0, 1e100, -1e-12, -2.0, float("nan"), float("inf")]


@pytest.mark.parametrize("n", [2.5, 2.0, 1.0, 0.0, 0.37])
def test_powers_through_logarithms_keep_the_meaning_of_pow(n, monkeypatch):
    """RHS and Jacobian of x**n/(K**n + x**n) and x**a*z**b at zero, subnormal, tiny, large, negative, NaN and
    infinite x, for integer, non-integer and zero exponents, against (1) the same generated code with C's pow
    (``LOG_POWERS`` off): NaN and infinities exactly where pow gives them, finite values to a few ulp (the
    Jacobian far beyond K is round-off of a cancellation in both codes: finite is all that is asked there);
    (2) numpy (sympy's expressions, numpy's power) wherever numpy's value is finite and x is moderate."""
    import sympy as sp

    from bonemet_ode.compile import codegen

    model = _powers_model()
    cm = backend.compile_model(model)
    monkeypatch.setattr(codegen, "LOG_POWERS", False)
    cm_pow = backend.compile_model(model)
    monkeypatch.undo()
    sym = SymbolicModel(model)
    f = sp.lambdify([sym.y, sym.p], list(sym.rhs), "numpy")
    jac = sp.lambdify([sym.y, sym.p], sym.jacobian, "numpy")
    p = model.parameter_vector().copy()
    p[model.parameter_names.index("n")] = n
    p[model.parameter_names.index("a")] = n
    checked = 0
    for x in X_POINTS:
        for z in (2.0, 0.0, 1e-200):
            y = np.array([x, z])
            got = np.concatenate([cm.rhs(y, p), cm.jacobian(y, p).ravel()])
            ref = np.concatenate([cm_pow.rhs(y, p), cm_pow.jacobian(y, p).ravel()])
            with np.errstate(all="ignore"):
                want = np.concatenate([np.asarray(f(y, p), dtype=float).ravel(),
                                       np.asarray(jac(y, p), dtype=float).ravel()])
            for k, (r, g, w) in enumerate(zip(ref, got, want)):
                if np.isnan(r):
                    assert np.isnan(g), (x, z, n, r, g)
                elif np.isinf(r):
                    assert g == r, (x, z, n, r, g)
                elif k >= 2 and abs(x) > 1e10:
                    # the unsimplified Hill derivative cancels to round-off far beyond K (both codes)
                    assert np.isfinite(g), (x, z, n, r, g)
                else:
                    assert g == pytest.approx(r, rel=1e-12, abs=1e-300), (x, z, n, r, g)
                    checked += 1
                    if np.isfinite(w) and abs(x) <= 1e10:
                        assert g == pytest.approx(w, rel=1e-12, abs=1e-300), (x, z, n, w, g)
    assert checked > 50

"""Rewritten forms in the generated code mean the same as the model, and the build flags follow the settings."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from bonemet_ode.compile import backend
from bonemet_ode.compile.codegen import _one_division
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
    monkeypatch.setattr(backend, "_cpu", lambda: ("Test CPU", "fpu sse2 avx avx2 fma bmi1 bmi2 movbe f16c abm"))
    monkeypatch.delenv("BONEMET_ODE_ISA", raising=False)
    assert backend.isa_flags() == ("-march=native",)
    native_key = backend.isa_key()
    assert native_key.startswith("native:")
    monkeypatch.setenv("BONEMET_ODE_ISA", "v3")
    assert backend.isa_flags() == ("-march=x86-64-v3",)
    monkeypatch.setenv("BONEMET_ODE_ISA", "baseline")
    assert backend.isa_flags() == () and backend.isa_key() == ""
    # another CPU with the same instructions' names but another model gets another key
    monkeypatch.delenv("BONEMET_ODE_ISA")
    monkeypatch.setattr(backend, "_cpu", lambda: ("Other CPU", "fpu sse2 avx avx2 fma bmi1 bmi2 movbe f16c abm"))
    assert backend.isa_key() != native_key
    # without AVX2+FMA: the portable build
    monkeypatch.setattr(backend, "_cpu", lambda: ("Old CPU", "fpu sse2 avx"))
    assert backend.isa_flags() == ()

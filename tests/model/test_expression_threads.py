"""Expressions parse correctly from many threads at once.

CPython 3.11 keeps the depth counter of its AST-object constructor in
interpreter-wide state (python/cpython#106905): concurrent ``ast.parse`` calls
in threads can raise ``SystemError: AST constructor recursion depth mismatch``.
Dask thread workers build perturbed models (and so parse their expressions)
concurrently; this failed a CI run. The race needs a thread switch inside the
C constructor, which garbage collection of objects with finalizers provides,
so the test makes such garbage and switches threads as often as it can.  On
CPython 3.11.7, raw ``ast.parse`` under this load failed about a dozen times in
160 parses, and the test with the unguarded ``symbols_in`` failed in 8 of 8
runs (2-7 of 160 parses failed).
"""

from __future__ import annotations

import gc
import math
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bonemet_ode.model.expressions import compile_expression, symbols_in

EXPR = "+".join(f"(a{i}*exp(-b{i}*(t - c{i}))/(1 + (x/k{i})**2))" for i in range(60))
EXPECTED = {"t", "x"} | {f"{p}{i}" for p in "abck" for i in range(60)}


class _Finalised:
    def __del__(self) -> None:
        pass


def _hammer(parse: Callable[[], object], n_threads: int = 4, repeats: int = 40) -> list[object]:
    """Run ``parse`` from ``n_threads`` threads with cyclic garbage; return what each call gave or raised."""

    def work(_: int) -> list[object]:
        out: list[object] = []
        for _ in range(repeats):
            junk = [_Finalised() for _ in range(5)]
            for j in junk:
                j.self = j  # cycles: only the collector frees them, inside the parse
            try:
                out.append(parse())
            except SystemError as exc:
                out.append(exc)
        return out

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(n_threads) as ex:
            return [r for chunk in ex.map(work, range(n_threads)) for r in chunk]
    finally:
        sys.setswitchinterval(old)
        gc.collect()


def test_symbols_in_is_thread_safe():
    results = _hammer(lambda: symbols_in(EXPR, "term 'stress'"))
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} of {len(results)} parses failed: {errors[0]}"
    assert all(r == EXPECTED for r in results)


def test_compiled_expression_matches_python():
    values = {name: 0.5 + 0.01 * i for i, name in enumerate(sorted(EXPECTED))}
    env = {"exp": math.exp, **values}
    assert compile_expression(EXPR, "term 'stress'")(values) == eval(EXPR, {"__builtins__": {}}, env)  # noqa: S307

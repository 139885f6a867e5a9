"""Rewrites of the model's sympy expressions before they are printed as C (``codegen``).

Each keeps the value of an expression and changes only the arithmetic the generated code does: one
division per right-hand-side term (:func:`one_division`), quotients sharing the reciprocals of their
denominators (:func:`shared_reciprocals`), products of powers of states through shared logarithms
(:func:`log_powers`), and calls of functions of parameters alone moved into derived parameters
(:func:`hoist_calls`).  ``codegen``'s switches (``SHARED_RECIPROCALS``, ``LOG_POWERS``, ...) choose
which apply.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from .hoist import Hoister

__all__ = ["one_division", "shared_reciprocals", "log_powers", "hoist_calls", "SHARED_RECIPROCALS_MAX_SHARE"]

#: Quotients share reciprocals (:func:`shared_reciprocals`) where at most this share of them have distinct
#: denominators (bone_metastasis: 19 of 37).
SHARED_RECIPROCALS_MAX_SHARE = 0.75


def one_division(expr):
    """Each additive term over a single denominator (``a/(b*(c/d + 1))`` becomes ``a*d/(b*(c + d))``).

    Every step of the solver waits on the right-hand side several times over, and a division costs
    about four multiplications of latency; nested fractions put divisions in a chain.  Terms stay
    separate, so that their divisions run side by side."""
    import sympy as sp

    expr = sp.expand_mul(sp.sympify(expr), deep=False)
    terms = []
    for term in sp.Add.make_args(expr):
        # a monomial is its own ``together`` (which costs ~5 ms a term)
        num, den = sp.fraction(term if _monomial(term) else sp.together(term))
        terms.append(num if den == 1 else _quotient()(num, den))
    return sp.Add(*terms)


def _monomial(term) -> bool:
    """Whether ``term`` is a product of integers, floats and integer powers of symbols (``together`` gives it
    back as it is)."""
    for f in (term.args if term.is_Mul else (term,)):
        if f.is_Pow:
            if not (f.base.is_Symbol and f.exp.is_Integer):
                return False
        elif not (f.is_Symbol or f.is_Integer or f.is_Float):
            return False
    return True


@functools.lru_cache(maxsize=1)
def _quotient():
    """``num/den`` kept whole (common-subexpression elimination shares parts of either side, but does
    not split the denominator into separate reciprocals)."""
    import sympy as sp

    class bm_quot(sp.Function):  # noqa: N801 - printed by name
        nargs = 2

    return bm_quot


@functools.lru_cache(maxsize=1)
def _reciprocal():
    """``1/den`` of a state-dependent denominator, computed once and shared (:func:`shared_reciprocals`)."""
    import sympy as sp

    class bm_recip(sp.Function):  # noqa: N801 - printed by name
        nargs = 1

    return bm_recip


def shared_reciprocals(exprs: Sequence, hoist: Hoister, states: frozenset) -> tuple[list, bool]:
    """``exprs`` (after :func:`one_division`) with every quotient ``num/den`` written as a product with
    reciprocals: ``num * (1/c) * (1/d)`` for ``den = c*d``, ``c`` the product of its parameter-only factors
    (a derived parameter, computed once per parameter vector) and ``d`` the rest, whose reciprocal
    ``bm_recip(d)`` the common-subexpression elimination shares between every term with that ``d``.

    The divider is the bottleneck of a right-hand side with many rational rate laws: bone_metastasis
    had 33 divisions per evaluation (~5 cycles of throughput each on AVX-512 hardware), among them
    only 17 distinct state-dependent denominators.  Products with a reciprocal round differently from
    the quotient (by at most an ulp or so, far below any solver tolerance).

    Applied only where the distinct state-dependent denominators are at most
    :data:`SHARED_RECIPROCALS_MAX_SHARE` of the quotients: on the reference problem (5 quotients,
    4 distinct denominators) the rewrite measured ~4 % slower (the order in which the divisions
    reach the divider matters there more than their count, docs/backend.md).

    Returns the expressions and whether they were rewritten."""
    import sympy as sp

    quot, recip = _quotient(), _reciprocal()

    def split(den) -> tuple[list, list]:
        const: list = []
        var: list = []
        for f in sp.Mul.make_args(den):
            (var if f.free_symbols & states else const).append(f)
        return const, var

    exprs = [sp.sympify(e) for e in exprs]
    quotients = {q for e in exprs for q in e.atoms(quot)}
    distinct = {sp.Mul(*split(q.args[1])[1]) for q in quotients} - {sp.S.One}
    if len(distinct) > SHARED_RECIPROCALS_MAX_SHARE * len(quotients):
        return exprs, False  # hardly any denominator shared: the quotients stay

    def rewrite(q):
        num, den = q.args
        const, var = split(den)
        out = num
        if const:
            out = out * hoist._register(1 / sp.Mul(*const))
        if var:
            out = out * recip(sp.Mul(*var))
        return out

    return [e.replace(lambda x: isinstance(x, quot), rewrite) for e in exprs], True


@functools.lru_cache(maxsize=1)
def _log_functions():
    """``bm_log(x)`` (printed ``log``) and ``bm_powlog(b1, e1, bm_log(b1), b2, e2, bm_log(b2), ...)``,
    the product of the powers ``b_k**e_k`` (:func:`log_powers`)."""
    import sympy as sp

    class bm_log(sp.Function):  # noqa: N801 - printed by name
        nargs = 1

    class bm_powlog(sp.Function):  # noqa: N801
        pass

    return bm_log, bm_powlog


def log_powers(subs: list, reduced: list) -> tuple[list, list]:
    """The output of ``sympy.cse`` (``subs``: ``(symbol, expression)`` in order, ``reduced``: the outputs)
    with each product of powers ``b_1**e_1 * b_2**e_2 ...`` whose bases depend on the states and whose
    exponents do not (``bm_pow``, symbolic.py) written as one ``exp(e_1*log(b_1) + ...)``; a lone such
    power as ``exp(e*log(b))``.

    The logarithm of each base becomes a subexpression of its own (``l_k``), shared by every power of
    that base in the function: the Komarova bone model's ``C**g11 * B**g21`` and ``C**g12 * B**g22``
    need two logs and two exps instead of four calls to ``pow``, whose throughput is about that of a
    ``log`` and an ``exp`` together on glibc (9.3 against 2.8 + 2.9 ns here).  Rewriting after the
    elimination of common subexpressions keeps the arrangement of products and sums of the code with
    ``pow`` (only the powers inside one product are fused), so infinities and NaN arise where they did.

    Semantics: where every base of a product is a normal, positive, finite number (``bm_normal``) the
    value is ``exp(sum_k e_k log b_k)``, which differs from the product of ``pow`` calls by a few ulp
    times ``|sum_k e_k log b_k|``; anywhere else (a base zero, negative, subnormal, infinite or NaN) it
    is the product of C's ``pow(b_k, e_k)``, exactly as before: ``pow(0, 0) = 1``, ``pow(0, 0.5) = 0``,
    ``pow(0, -0.5) = inf``, ``pow(-2, 2) = 4``, ``pow(-8, 1/3) = NaN``; zero and negative states keep
    the meaning they had (tests/compile/test_codegen_forms.py).
    """
    import sympy as sp

    bm_log, bm_powlog = _log_functions()
    dep: set = set()  # the subexpression symbols that depend on the states

    def depends(e) -> bool:
        return any(x.name.startswith("y[") or x in dep for x in e.free_symbols)

    def is_state_pow(f) -> bool:
        return type(f).__name__ == "bm_pow" and depends(f.args[0]) and not depends(f.args[1])

    logs: dict = {}
    out: list = []

    def log_of(b):
        if b not in logs:
            logs[b] = sp.Symbol(f"l_{len(logs)}", real=True)
            out.append((logs[b], bm_log(b)))
        return logs[b]

    def fuse(pows):
        args = []
        for f in pows:
            b, e = f.args
            args += [b, e, log_of(b)]
        return bm_powlog(*args)

    def rewrite(e):
        if e.is_Atom:
            return e
        if e.is_Mul and any(is_state_pow(f) for f in e.args):
            pows = [f for f in e.args if is_state_pow(f)]
            rest = [rewrite(f) for f in e.args if not is_state_pow(f)]
            return sp.Mul(*rest, fuse(pows), evaluate=False)
        if is_state_pow(e):
            return fuse([e])
        args = [rewrite(a) for a in e.args]
        return e.func(*args) if any(x is not y for x, y in zip(args, e.args)) else e

    for sym, e in subs:
        if depends(e):
            dep.add(sym)
        out.append((sym, rewrite(e)))
    reduced = [rewrite(e) for e in reduced]
    return out, reduced


def _is_call(e) -> bool:
    """A function call of the generated C (``pow`` with an exponent the printer does not expand, ``exp``,
    ``log``, ...): tens of cycles each, unlike the products, sums and divisions around it."""
    import sympy as sp

    if e.is_Pow:
        x = e.exp
        return not (x.is_Integer and -4 <= int(x) <= 4) and x != sp.Rational(1, 2)
    return isinstance(e, sp.Function)


def hoist_calls(expr, hoist: Hoister, states: frozenset):
    """``expr`` with each maximal parameter-only part that holds a function call replaced by a derived
    parameter (computed once per parameter vector by ``bm_derive``).

    Only parts with a call are hoisted: hoisting every parameter-only product and quotient of the
    right-hand side measured slower on the reference problem (the order in which its divisions reach
    the divider matters more than their count; docs/backend.md), but a ``pow`` of parameters costs
    ~20-90 cycles at each of the eight evaluations per step (the Komarova bone model's
    ``(b_2/b_1)**(g_22/(g_12 g_21 - ...))`` held four per evaluation: ~40 % of a bone_metastasis solve).
    """
    import sympy as sp

    def constant(e) -> bool:
        return not (e.free_symbols & states)

    def has_call(e) -> bool:
        return any(_is_call(a) for a in sp.preorder_traversal(e))

    def walk(e):
        if e.is_Atom:
            return e
        if constant(e):
            return hoist._register(e) if has_call(e) else e
        if e.is_Mul or e.is_Add:
            const = [a for a in e.args if constant(a)]
            var = [walk(a) for a in e.args if not constant(a)]
            if const and any(has_call(c) for c in const):
                const = [hoist._register(e.func(*const))]
            return e.func(*const, *var)
        return e.func(*[walk(a) for a in e.args])

    return walk(sp.sympify(expr))

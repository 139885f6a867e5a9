"""From a :class:`~bonemet_ode.model.Model` to sympy: the rate vector, the right-hand side and its Jacobian.

``dx/dt = S @ (v * on)`` where ``v`` are the term rates, ``S`` the
stoichiometry and ``on`` one flag per term (1, or 0 when knocked out), so a
knockout changes a number, not the compiled code.  The Jacobian follows by
symbolic differentiation (``df/dx``), sparse: each right-hand side is
differentiated only with respect to the states it contains, so the cost grows
with the model's non-zeros, not with the square of its size; ``df/dp`` is
available for forward sensitivities.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property

from ..model import Model
from ..model.expressions import too_deep

__all__ = ["SymbolicModel", "on_flag_name", "merge_symbolic_powers", "sparse_jacobian", "derivative",
           "sympy_functions"]


def merge_symbolic_powers(expr):
    """Combine ``b**e * b**(-k)`` (``e`` symbolic, ``k`` a positive integer) into ``b**(e - k)`` in every product.

    Symbolic differentiation of ``b**e`` gives ``e*b**e/b``; merged, the derivative is finite at
    ``b = 0`` wherever the true derivative is.  Products without a symbolic power are left as
    they are (their generated code does not change).
    """
    import sympy as sp

    def merge(m):
        symbolic = {f.base: f for f in m.args if f.is_Pow and not f.exp.is_number}
        if not symbolic:
            return m
        out, changed = [], False
        extra: dict = {}
        for f in m.args:
            base, k = (f.base, f.exp) if f.is_Pow else (f, sp.Integer(1))
            if f is not symbolic.get(base) and base in symbolic and k.is_Integer and k < 0:
                extra[base] = extra.get(base, 0) + k
                changed = True
            else:
                out.append(f)
        if not changed:
            return m
        out = [sp.Pow(f.base, f.exp + extra[f.base]) if f.is_Pow and f.base in extra and f is symbolic[f.base]
               else f for f in out]
        return sp.Mul(*out)

    if not any(not p.exp.is_number for p in expr.atoms(sp.Pow)):
        return expr
    return expr.replace(lambda e: e.is_Mul, merge)


def derivative(expr, s, _free: dict | None = None):
    """``d expr / d s`` for a symbol ``s``: the expression sympy's ``expr.diff(s)`` gives, built without its
    ``Derivative`` machinery.

    ``diff`` wraps every sub-derivative in ``Derivative.__new__``, whose checks ask sympy's assumption
    system about each intermediate result (``is_zero``; ``is_finite`` of every product that a zero
    derivative factor turns into zero): about 6-15 ms per Jacobian entry of a three-term rate, whatever
    the model's size.  Here sums, products, powers and functions with sympy's generic chain rule
    (``exp``, ``log``, ``tanh``, ``Min``, ``Max``, ...) apply sympy's own formulas, in the same order and
    through the same constructors, and skip the factors without ``s``; anything else (``Abs``,
    ``Piecewise``, ``Heaviside``, ...) is differentiated by ``diff``.  The result is the same sympy
    expression as ``expr.diff(s)`` (tests/compile/test_fast_derivative.py compares them over every
    built-in model's Jacobian and sensitivities).

    Examples
    --------
    >>> import sympy as sp
    >>> x, k = sp.symbols("x k", real=True)
    >>> derivative(k*x/(1 + x), x) == (k*x/(1 + x)).diff(x)
    True
    """
    import sympy as sp
    from sympy.core.function import ArgumentIndexError, Function
    from sympy.functions.elementary.miscellaneous import MinMaxBase

    free = {} if _free is None else _free  # expression -> its free symbols, shared across calls

    def symbols_of(e) -> frozenset:
        f = free.get(e)
        if f is None:
            f = free[e] = (frozenset(e.free_symbols) if e.is_Atom or not e.args
                           else frozenset().union(*map(symbols_of, e.args)))
        return f

    def has(e) -> bool:
        return s in symbols_of(e)

    def d(e):
        if e == s:
            return sp.S.One
        if not has(e):
            return sp.S.Zero
        if e.is_Atom:
            return e.diff(s)
        if e.is_Add:
            return e.func(*[d(a) for a in e.args])
        if e.is_Mul:
            args = list(e.args)
            terms = []
            for i, a in enumerate(args):
                da = d(a) if has(a) else sp.S.Zero
                if da is not sp.S.Zero:
                    terms.append(sp.Mul(*(args[:i] + [da] + args[i + 1:])))
            return sp.Add(*terms)
        if e.is_Pow:
            dbase = d(e.base) if has(e.base) else sp.S.Zero
            dexp = d(e.exp) if has(e.exp) else sp.S.Zero
            if dexp is sp.S.Zero:
                return e * (dbase * e.exp / e.base)
            return e * (dexp * sp.log(e.base) + dbase * e.exp / e.base)
        rule = type(e)._eval_derivative
        if isinstance(e, Function) and rule in (Function._eval_derivative, MinMaxBase._eval_derivative):
            terms = []
            for i, a in enumerate(e.args, start=1):
                da = d(a) if has(a) else sp.S.Zero
                if da is sp.S.Zero or da.is_zero:
                    continue
                try:
                    df = e.fdiff(i)
                except ArgumentIndexError:
                    df = Function.fdiff(e, i)
                terms.append(df * da)
            return sp.Add(*terms)
        return e.diff(s)

    return d(sp.sympify(expr))


def sparse_jacobian(exprs, symbols) -> dict:
    """``{(i, j): d exprs[i] / d symbols[j]}`` for the non-zero derivatives, in row-major order.

    Each expression is differentiated only with respect to the symbols it contains: the cost is that
    of the non-zeros (``sympy.Matrix.jacobian`` differentiates every pair, len(exprs) x len(symbols)).
    Derivatives of powers with a symbolic exponent are written ``p*x**(p - 1)``, not sympy's
    ``p*x**p/x``, which is 0/0 (NaN) at ``x = 0`` although the derivative is finite there for
    ``p >= 1`` (a Hill coefficient ``n`` in ``x**n/(K**n + x**n)``, say); see :func:`merge_symbolic_powers`.
    """
    col = {s: j for j, s in enumerate(symbols)}
    out = {}
    free: dict = {}  # free symbols of every subexpression, computed once (derivative)
    for i, e in enumerate(exprs):
        for j in sorted(col[s] for s in e.free_symbols if s in col):
            d = merge_symbolic_powers(derivative(e, symbols[j], free))
            if d != 0:
                out[(i, j)] = d
    return out


def _condition(e):
    """A number used as a condition: a 0/1 comparison gives back its relation, any other number ``e != 0``."""
    import sympy as sp

    if isinstance(e, sp.logic.boolalg.Boolean):
        return e
    if (isinstance(e, sp.Piecewise) and len(e.args) == 2 and e.args[0].expr == 1 and e.args[1].expr == 0
            and e.args[1].cond == sp.true):
        return e.args[0].cond
    return sp.Ne(e, 0)


def _number(cond):
    """A condition as the number 1 or 0."""
    import sympy as sp

    return sp.Piecewise((sp.Integer(1), cond), (sp.Integer(0), True))


def _piecewise(*args):
    import sympy as sp

    pairs = [(args[k], _condition(args[k + 1])) for k in range(0, len(args) - 1, 2)]
    otherwise = args[-1] if len(args) % 2 else sp.nan
    return sp.Piecewise(*pairs, (otherwise, True))


def _step_functions():
    """``floor`` and ``ceil`` with derivative zero (sympy leaves the derivative of its own unevaluated)."""
    import sympy as sp

    class bm_floor(sp.Function):  # noqa: N801 - printed by name in codegen
        nargs = 1
        _imp_ = staticmethod(lambda x: __import__("numpy").floor(x))  # for sympy.lambdify

        def fdiff(self, argindex=1):
            return sp.Integer(0)

        def _eval_evalf(self, prec):
            return sp.floor(self.args[0])._eval_evalf(prec)

        @classmethod
        def eval(cls, x):
            if x.is_Number:
                return sp.floor(x)

    class bm_ceil(sp.Function):  # noqa: N801
        nargs = 1
        _imp_ = staticmethod(lambda x: __import__("numpy").ceil(x))  # for sympy.lambdify

        def fdiff(self, argindex=1):
            return sp.Integer(0)

        @classmethod
        def eval(cls, x):
            if x.is_Number:
                return sp.ceiling(x)

    return bm_floor, bm_ceil


_STEP = None
_POW = None


def _pow_function():
    """``bm_pow(b, e)``: ``b**e`` for a symbolic exponent, with ``d/db = e*b**(e - 1)``.

    sympy differentiates ``b**e`` as ``e*b**e/b``, which is 0/0 (NaN) at ``b = 0`` where the true
    derivative is finite (a Hill term ``(x/K)**h`` at ``x = 0`` with ``h >= 1``)."""
    import sympy as sp

    class bm_pow(sp.Function):  # noqa: N801 - printed by name in codegen
        nargs = 2
        _imp_ = staticmethod(lambda b, e: b**e)  # for sympy.lambdify

        def fdiff(self, argindex=1):
            b, e = self.args
            if argindex == 1:
                return e * bm_pow(b, e - 1)
            return bm_pow(b, e) * sp.log(b)

        @classmethod
        def eval(cls, b, e):
            if e.is_Number:
                return b**e
            if b.is_Number and b == 1:
                return sp.Integer(1)

    return bm_pow


def symbolic_powers(expr):
    """``expr`` with every power whose exponent is not a number written as ``bm_pow`` (see :func:`_pow_function`)."""
    import sympy as sp

    global _POW
    if _POW is None:
        _POW = _pow_function()
    if not any(isinstance(a, sp.Pow) and not a.exp.is_Number for a in sp.preorder_traversal(expr)):
        return expr
    return expr.replace(lambda e: isinstance(e, sp.Pow) and not e.exp.is_Number, lambda e: _POW(e.base, e.exp))


def sympy_functions() -> dict[str, object]:
    """The sympy form of every function and constant of the expression language (``model.expressions``)."""
    import sympy as sp

    global _STEP
    if _STEP is None:
        _STEP = _step_functions()
    floor, ceil = _STEP
    rel = {"lt": sp.Lt, "le": sp.Le, "gt": sp.Gt, "ge": sp.Ge, "eq": sp.Eq, "ne": sp.Ne}
    out: dict[str, object] = {
        "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh, "abs": sp.Abs, "min": sp.Min,
        "max": sp.Max, "pi": sp.pi, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "asin": sp.asin,
        "acos": sp.acos, "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh, "asinh": sp.asinh,
        "acosh": sp.acosh, "atanh": sp.atanh, "floor": floor, "ceil": ceil,
        "factorial": lambda x: sp.gamma(x + 1),
        "logical_and": lambda *a: _number(sp.And(*map(_condition, a))),
        "logical_or": lambda *a: _number(sp.Or(*map(_condition, a))),
        "logical_xor": lambda *a: _number(sp.Xor(*map(_condition, a))),
        "logical_not": lambda a: _number(sp.Not(_condition(a))),
        "piecewise": _piecewise,
    }
    for name, cls in rel.items():
        out[name] = (lambda c: (lambda a, b: _number(c(a, b))))(cls)
    return out


def on_flag_name(term: str) -> str:
    """Name of the hidden on/off parameter of ``term``."""
    return f"__on_{term}"


class SymbolicModel:
    """The sympy form of a model's structure (values are not part of it).

    Attributes
    ----------
    y : list of sympy.Symbol
        State symbols, in state order.
    p : list of sympy.Symbol
        Parameter symbols followed by one on/off flag per term: the layout of
        :meth:`Model.parameter_vector`.
    rates : list of sympy.Expr
        Term rates times their flags, observables substituted.
    observables : list of sympy.Expr
        Observables in terms of states and parameters only.
    rhs : sympy.Matrix
        ``S @ rates``.
    """

    def __init__(self, model: Model) -> None:
        import sympy as sp
        from sympy.parsing.sympy_parser import parse_expr

        self.model = model
        self.y = [sp.Symbol(n, real=True) for n in model.state_names]
        user_p = [sp.Symbol(n, real=True) for n in model.parameter_names]
        self.on = [sp.Symbol(on_flag_name(t), real=True) for t in model.term_names]
        self.p = user_p + self.on
        local: dict[str, object] = dict(sympy_functions())
        local.update({s.name: s for s in self.y})
        local.update({s.name: s for s in user_p})

        def parse(text: str):
            try:
                # names as Python reads them (NFKC: a micro sign is the Greek mu), which sympy's tokenizer does not do
                text = re.sub(r"\w+", lambda m: unicodedata.normalize("NFKC", m.group()), text)
                return symbolic_powers(parse_expr(text.strip(), local_dict=dict(local), evaluate=True))
            except (RecursionError, MemoryError):
                raise too_deep(text, f"model {model.name!r}") from None

        obs = []
        for o in model.observables:  # dependency order
            e = parse(o.expr)
            obs.append(e)
            local[o.name] = e
        self.observables = obs
        self.rates = [parse(t.rate) * flag for t, flag in zip(model.terms, self.on)]
        index = {name: i for i, name in enumerate(model.state_names)}
        acc: list[list] = [[] for _ in self.y]
        for t, rate in zip(model.terms, self.rates):  # the stoichiometry's non-zeros only
            for state, c in t.effect_map.items():
                coef = sp.Integer(int(c)) if float(c).is_integer() else sp.Float(c)
                acc[index[state]].append(coef * rate)
        self.rhs = sp.Matrix([sp.Add(*a) for a in acc])
        self._local = local

    def parse(self, text: str):
        """A sympy expression of states, parameters, observables (substituted) and time ``t`` (events)."""
        import sympy as sp
        from sympy.parsing.sympy_parser import parse_expr

        local = dict(self._local)
        local["t"] = sp.Symbol("t", real=True)
        return parse_expr(text.strip(), local_dict=local, evaluate=True)

    @cached_property
    def jacobian_entries(self) -> dict:
        """The structural non-zeros of ``df/dx``: ``{(i, j): expr}`` in row-major order (see :func:`sparse_jacobian`).

        Row ``i`` is differentiated only with respect to the states that occur in ``f_i`` (the
        entries are those of :attr:`jacobian`, without forming the states x states matrix)."""
        return sparse_jacobian(list(self.rhs), self.y)

    @cached_property
    def jacobian(self):
        """``df/dx`` as a dense sympy Matrix (states x states; for small models and tests)."""
        import sympy as sp

        n = len(self.y)
        return sp.Matrix(n, n, lambda i, j: self.jacobian_entries.get((i, j), sp.Integer(0)))

    @cached_property
    def dfdp(self):
        """``df/dp`` as a sympy Matrix (states x parameters, flags included)."""
        return self.rhs.jacobian(self.p)

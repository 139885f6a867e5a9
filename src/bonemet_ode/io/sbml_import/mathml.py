"""SBML math (libsbml ASTNode trees) to bonemet_ode expression strings.

The target is the model expression language (Python syntax, the functions of
:mod:`bonemet_ode.model.expressions`): comparisons and logical operators
become the 0/1-valued functions ``lt``, ``logical_and``, ... and ``piecewise``
keeps its MathML argument order (value, condition, ..., otherwise).  Function
definitions are inlined (their arguments substituted), identifiers are
replaced by what the caller says they mean (a state, an observable, the
concentration ``amount/compartment``, ...).  Anything without an exact
counterpart is refused with :class:`~bonemet_ode.errors.UnsupportedFeatureError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ...errors import ModelError, UnsupportedFeatureError

__all__ = ["MathConverter", "AVOGADRO"]

#: Avogadro's number as SBML Level 3 defines the csymbol ``avogadro`` (libsbml's value).
AVOGADRO = 6.02214179e23

_ATOM = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d*)?(?:e[+-]?\d+)?)$")


def _p(s: str) -> str:
    """``s`` in parentheses unless it is a name or an unsigned number."""
    return s if _ATOM.match(s) else f"({s})"


def number(x: float) -> str:
    """A float as an expression (``inf`` and ``nan`` included)."""
    x = float(x)
    if math.isnan(x):
        return "piecewise(0, 0)"  # NaN (no piece applies, no otherwise), in Python and in sympy
    if math.isinf(x):
        return "1e309" if x > 0 else "(-1e309)"
    if x.is_integer() and abs(x) < 1e15:
        s = str(int(x))
    else:
        s = repr(x)
    return s if x >= 0 else f"({s})"


def _lib() -> Any:
    import libsbml

    return libsbml


class MathConverter:
    """Converts libsbml ASTNode trees to expression strings.

    Parameters
    ----------
    resolve : callable
        ``resolve(sbml_id, where) -> str``: the expression an identifier stands for.
    functions : mapping
        Function definition id -> its ``lambda`` ASTNode.
    time : callable
        ``time() -> str``: the expression of model time (the caller may add a clock state).
    rate_of : callable, optional
        ``rate_of(sbml_id, where) -> str``: the expression of the rate of change of a symbol; refused when absent.
    """

    def __init__(self, resolve: Callable[[str, str], str], functions: Mapping[str, Any], time: Callable[[], str],
                 rate_of: Callable[[str, str], str] | None = None) -> None:
        self._resolve = resolve
        self._functions = dict(functions)
        self._time = time
        self._rate_of = rate_of
        lib = _lib()
        self._unary = {
            lib.AST_FUNCTION_EXP: "exp({})", lib.AST_FUNCTION_LN: "log({})", lib.AST_FUNCTION_ABS: "abs({})",
            lib.AST_FUNCTION_SIN: "sin({})", lib.AST_FUNCTION_COS: "cos({})", lib.AST_FUNCTION_TAN: "tan({})",
            lib.AST_FUNCTION_SEC: "1/cos({})", lib.AST_FUNCTION_CSC: "1/sin({})", lib.AST_FUNCTION_COT: "1/tan({})",
            lib.AST_FUNCTION_SINH: "sinh({})", lib.AST_FUNCTION_COSH: "cosh({})", lib.AST_FUNCTION_TANH: "tanh({})",
            lib.AST_FUNCTION_SECH: "1/cosh({})", lib.AST_FUNCTION_CSCH: "1/sinh({})",
            lib.AST_FUNCTION_COTH: "1/tanh({})",
            lib.AST_FUNCTION_ARCSIN: "asin({})", lib.AST_FUNCTION_ARCCOS: "acos({})",
            lib.AST_FUNCTION_ARCTAN: "atan({})", lib.AST_FUNCTION_ARCSEC: "acos(1/{})",
            lib.AST_FUNCTION_ARCCSC: "asin(1/{})", lib.AST_FUNCTION_ARCCOT: "atan(1/{})",
            lib.AST_FUNCTION_ARCSINH: "asinh({})", lib.AST_FUNCTION_ARCCOSH: "acosh({})",
            lib.AST_FUNCTION_ARCTANH: "atanh({})", lib.AST_FUNCTION_ARCSECH: "acosh(1/{})",
            lib.AST_FUNCTION_ARCCSCH: "asinh(1/{})", lib.AST_FUNCTION_ARCCOTH: "atanh(1/{})",
            lib.AST_FUNCTION_FLOOR: "floor({})", lib.AST_FUNCTION_CEILING: "ceil({})",
            lib.AST_FUNCTION_FACTORIAL: "factorial({})", lib.AST_LOGICAL_NOT: "logical_not({})",
        }
        self._relational = {lib.AST_RELATIONAL_LT: "lt", lib.AST_RELATIONAL_LEQ: "le", lib.AST_RELATIONAL_GT: "gt",
                            lib.AST_RELATIONAL_GEQ: "ge", lib.AST_RELATIONAL_EQ: "eq", lib.AST_RELATIONAL_NEQ: "ne"}
        self._logical = {lib.AST_LOGICAL_AND: ("logical_and", "1"), lib.AST_LOGICAL_OR: ("logical_or", "0"),
                         lib.AST_LOGICAL_XOR: ("logical_xor", "0")}

    def __call__(self, node: Any, where: str) -> str:
        """The expression of ``node``; ``where`` names the owning element in errors."""
        if node is None:
            raise UnsupportedFeatureError("element without math", where)
        return self._convert(node, where, {})

    # ------------------------------------------------------------------ conversion
    def _convert(self, node: Any, where: str, local: Mapping[str, str]) -> str:
        lib = _lib()
        t = node.getType()
        kids = [node.getChild(i) for i in range(node.getNumChildren())]

        def conv(k: Any) -> str:
            return self._convert(k, where, local)

        if t == lib.AST_INTEGER:
            return number(node.getInteger())
        if t in (lib.AST_REAL, lib.AST_REAL_E, lib.AST_RATIONAL):
            return number(node.getReal())
        if t == lib.AST_CONSTANT_PI:
            return "pi"
        if t == lib.AST_CONSTANT_E:
            return "exp(1)"
        if t == lib.AST_CONSTANT_TRUE:
            return "1"
        if t == lib.AST_CONSTANT_FALSE:
            return "0"
        if t == lib.AST_NAME_TIME:
            return self._time()
        if t == lib.AST_NAME_AVOGADRO:
            return number(AVOGADRO)
        if t == lib.AST_NAME:
            name = node.getName()
            if name in local:
                return local[name]
            return self._resolve(name, where)
        if t == lib.AST_PLUS:
            return " + ".join(_p(conv(k)) for k in kids) if kids else "0"
        if t == lib.AST_TIMES:
            return "*".join(_p(conv(k)) for k in kids) if kids else "1"
        if t == lib.AST_MINUS:
            if len(kids) == 1:
                return f"-{_p(conv(kids[0]))}"
            self._arity(node, kids, 2, where)
            return f"{_p(conv(kids[0]))} - {_p(conv(kids[1]))}"
        if t == lib.AST_DIVIDE:
            self._arity(node, kids, 2, where)
            return f"{_p(conv(kids[0]))}/{_p(conv(kids[1]))}"
        if t in (lib.AST_POWER, lib.AST_FUNCTION_POWER):
            self._arity(node, kids, 2, where)
            return f"{_p(conv(kids[0]))}**{_p(conv(kids[1]))}"
        if t == lib.AST_FUNCTION_ROOT:
            if len(kids) == 1:
                return f"sqrt({conv(kids[0])})"
            self._arity(node, kids, 2, where)
            degree = conv(kids[0])
            if degree == "2":
                return f"sqrt({conv(kids[1])})"
            return f"{_p(conv(kids[1]))}**(1/{_p(degree)})"
        if t == lib.AST_FUNCTION_LOG:
            if len(kids) == 1:
                return f"log({conv(kids[0])})/log(10)"
            self._arity(node, kids, 2, where)
            return f"log({conv(kids[1])})/log({conv(kids[0])})"
        if t in self._unary:
            self._arity(node, kids, 1, where)
            fmt, arg = self._unary[t], conv(kids[0])
            return fmt.format(_p(arg) if "1/{}" in fmt else arg)
        if t in self._relational:
            fn = self._relational[t]
            args = [conv(k) for k in kids]
            if len(args) < 2:
                raise ModelError(f"{where}: relational operator {fn!r} needs two or more arguments")
            if fn == "ne" and len(args) != 2:
                raise ModelError(f"{where}: 'neq' takes exactly two arguments, got {len(args)}")
            pairs = [f"{fn}({a}, {b})" for a, b in zip(args, args[1:])]
            return pairs[0] if len(pairs) == 1 else f"logical_and({', '.join(pairs)})"
        if t in self._logical:
            fn, empty = self._logical[t]
            args = [conv(k) for k in kids]
            return f"{fn}({', '.join(args)})" if args else empty
        if t == lib.AST_LOGICAL_IMPLIES:
            self._arity(node, kids, 2, where)
            return f"logical_or(logical_not({conv(kids[0])}), {conv(kids[1])})"
        if t in (lib.AST_FUNCTION_MAX, lib.AST_FUNCTION_MIN):
            if not kids:
                raise ModelError(f"{where}: max/min without arguments")
            fn = "max" if t == lib.AST_FUNCTION_MAX else "min"
            args = [conv(k) for k in kids]
            return args[0] if len(args) == 1 else f"{fn}({', '.join(args)})"
        if t == lib.AST_FUNCTION_PIECEWISE:
            args = [conv(k) for k in kids]
            if not args:
                raise ModelError(f"{where}: piecewise without pieces")
            if len(args) == 1:  # only <otherwise>
                return args[0]
            return f"piecewise({', '.join(args)})"
        if t == lib.AST_FUNCTION:
            return self._call(node, kids, where, local)
        if t == lib.AST_FUNCTION_DELAY:
            raise UnsupportedFeatureError("delay (csymbol delay)", where)
        if t == lib.AST_FUNCTION_RATE_OF:
            if self._rate_of is None:
                raise UnsupportedFeatureError("rateOf (csymbol rateOf)", where)
            if len(kids) != 1 or kids[0].getType() != lib.AST_NAME:
                raise UnsupportedFeatureError("rateOf of an expression (not a symbol)", where)
            return self._rate_of(kids[0].getName(), where)
        if t in (lib.AST_FUNCTION_QUOTIENT, lib.AST_FUNCTION_REM):
            # integer division truncated toward zero; rem(a, b) = a - b*quotient(a, b) (the sign of a, as C fmod)
            self._arity(node, kids, 2, where)
            a, b = _p(conv(kids[0])), _p(conv(kids[1]))
            q = f"piecewise(floor({a}/{b}), ge({a}/{b}, 0), ceil({a}/{b}))"
            return q if t == lib.AST_FUNCTION_QUOTIENT else f"{a} - {b}*{q}"
        if t == lib.AST_LAMBDA:
            raise UnsupportedFeatureError("lambda outside a function definition", where)
        what = node.getName() or lib.formulaToL3String(node)
        raise UnsupportedFeatureError(f"MathML element {what!r}", where)

    def convert_local(self, node: Any, where: str, local: Mapping[str, str]) -> str:
        """Like calling the converter, with function arguments ``local`` (bvar name -> expression) bound."""
        return self._convert(node, where, local)

    def function_call(self, node: Any, where: str, local: Mapping[str, str]) -> tuple[Any, dict[str, str]]:
        """``(body, bindings)`` of a call of a function definition: its body and its arguments' expressions."""
        lib = _lib()
        name = node.getName()
        lam = self._functions.get(name)
        if lam is None:
            raise ModelError(f"{where}: call of undefined function {name!r}")
        nb = lam.getNumBvars()
        if nb != node.getNumChildren() or lam.getNumChildren() <= nb:
            raise ModelError(f"{where}: function {name!r} takes {nb} argument(s), called with {node.getNumChildren()}")
        args = [_p(self._convert(node.getChild(i), where, local)) for i in range(nb)]
        body = lam.getChild(lam.getNumChildren() - 1)
        if body.getType() == lib.AST_UNKNOWN:
            raise UnsupportedFeatureError("function definition without a body", name)
        return body, {lam.getChild(i).getName(): args[i] for i in range(nb)}

    @staticmethod
    def _arity(node: Any, kids: list, n: int, where: str) -> None:
        if len(kids) != n:
            lib = _lib()
            raise ModelError(f"{where}: {lib.formulaToL3String(node)!r} has {len(kids)} argument(s), expected {n}")

    def _call(self, node: Any, kids: list, where: str, local: Mapping[str, str]) -> str:
        lib = _lib()
        name = node.getName()
        lam = self._functions.get(name)
        if lam is None:
            raise ModelError(f"{where}: call of undefined function {name!r}")
        nb = lam.getNumBvars()
        if nb != len(kids):
            raise ModelError(f"{where}: function {name!r} takes {nb} argument(s), called with {len(kids)}")
        args = [_p(self._convert(k, where, local)) for k in kids]
        bind = {lam.getChild(i).getName(): args[i] for i in range(nb)}
        body = lam.getChild(lam.getNumChildren() - 1) if lam.getNumChildren() > nb else None
        if body is None or body.getType() == lib.AST_UNKNOWN:
            raise UnsupportedFeatureError("function definition without a body", name)
        # the body sees its arguments only; other names resolve globally (SBML forbids them, libsbml allows)
        return f"({self._convert(body, where + f' (in function {name!r})', bind)})"

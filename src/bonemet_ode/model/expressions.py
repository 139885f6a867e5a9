"""Parsing and checking expression strings without sympy.

Rate terms, observables and initial values are written in Python syntax
(``r*T*(1 - T/K)``, ``x**2``) with the functions in :data:`FUNCTIONS`.

Conditions are numbers: the comparisons ``lt, le, gt, ge, eq, ne`` give 1 or 0,
the logical functions ``logical_and, logical_or, logical_xor, logical_not``
read any nonzero number as true, and ``piecewise(v1, c1, v2, c2, ..., otherwise)``
is the first ``v_i`` whose ``c_i`` is nonzero (``otherwise``, or NaN when it
is left out, if none is).  So ``k*gt(T, 1e6)`` is a rate that switches on
above a threshold.
This module checks them with :mod:`ast` (fast, no sympy import) and
evaluates them with :mod:`math`, so a model is validated when it is built
and sympy is only imported when code is generated.
"""

from __future__ import annotations

import ast
import functools
import math
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping

from ..errors import ModelError

__all__ = ["FUNCTIONS", "symbols_in", "compile_expression", "parse_expression", "lookalike_note"]

def _piecewise(*args: float) -> float:
    """Eager reference form of ``piecewise`` (expressions are evaluated lazily, see :func:`_lazy_source`)."""
    for k in range(0, len(args) - 1, 2):
        if args[k + 1]:
            return args[k]
    return args[-1] if len(args) % 2 else math.nan


def _factorial(x: float) -> float:
    return math.gamma(x + 1.0)


#: Functions allowed in expressions, with their :mod:`math` implementation.
FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "tanh": math.tanh,
    "abs": abs,
    "min": min,
    "max": max,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "asinh": math.asinh,
    "acosh": math.acosh,
    "atanh": math.atanh,
    "floor": lambda x: float(math.floor(x)),
    "ceil": lambda x: float(math.ceil(x)),
    "factorial": _factorial,
    "lt": lambda a, b: float(a < b),
    "le": lambda a, b: float(a <= b),
    "gt": lambda a, b: float(a > b),
    "ge": lambda a, b: float(a >= b),
    "eq": lambda a, b: float(a == b),
    "ne": lambda a, b: float(a != b),
    "logical_and": lambda *a: float(all(a)),
    "logical_or": lambda *a: float(any(a)),
    "logical_xor": lambda *a: float(sum(bool(x) for x in a) % 2 == 1),
    "logical_not": lambda a: float(not a),
    "piecewise": _piecewise,
}
#: Number of arguments of each function (None: any number, at least one).
ARITY: dict[str, int | None] = {name: 1 for name in FUNCTIONS}
ARITY.update({"min": None, "max": None, "lt": 2, "le": 2, "gt": 2, "ge": 2, "eq": 2, "ne": 2,
              "logical_and": None, "logical_or": None, "logical_xor": None, "piecewise": None})
CONSTANTS = {"pi": math.pi}

_ALLOWED_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Load, ast.Constant,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd,
)


# CPython 3.11 keeps the depth counter of its AST-object constructor in
# interpreter-wide state (python/cpython#106905), so two threads calling
# ast.parse at once (Dask thread workers building perturbed models, say) can
# corrupt it and get "SystemError: AST constructor recursion depth mismatch".
# Every parse into AST objects in this package goes through this lock; code is
# compiled from source strings, which makes no AST objects.
_AST_LOCK = threading.Lock()


def parse_expression(expr: str) -> ast.Expression:
    """Parse ``expr`` (Python syntax) into an :class:`ast.Expression`, thread-safely.

    Raises
    ------
    SyntaxError
        When ``expr`` is not an expression.
    """
    with _AST_LOCK:
        return ast.parse(expr.strip(), mode="eval")


def symbols_in(expr: str, where: str) -> set[str]:
    """Return the names (other than functions and constants) used by ``expr``.

    Parameters
    ----------
    expr : str
        The expression, in Python syntax.
    where : str
        Description of the owner (``"term 'kill'"``), used in error messages.

    Raises
    ------
    ModelError
        On a syntax error or a construct outside arithmetic and :data:`FUNCTIONS`.
    """
    if not isinstance(expr, str):
        raise ModelError(f"{where}: expression must be a string, got {expr!r} ({type(expr).__name__})")
    try:
        tree = parse_expression(expr)
    except SyntaxError as exc:
        raise ModelError(f"{where}: cannot parse expression {short(expr)!r}: {exc.msg}{lookalike_note(expr)}") from None
    except (RecursionError, MemoryError):
        raise too_deep(expr, where) from None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BitXor):
            raise ModelError(f"{where}: '^' in {expr!r} is not a power; write '**'")
        if not isinstance(node, _ALLOWED_NODES):
            raise ModelError(
                f"{where}: expression {expr!r} uses {type(node).__name__}, "
                "only arithmetic (+ - * / **) and the functions " + ", ".join(sorted(FUNCTIONS)) + " are allowed"
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ModelError(f"{where}: constant {node.value!r} in {expr!r} is not a number")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                fname = getattr(node.func, "id", ast.unparse(node.func))
                raise ModelError(
                    f"{where}: unknown function {fname!r} in {expr!r}; allowed: {', '.join(sorted(FUNCTIONS))}"
                )
            if node.keywords:
                raise ModelError(f"{where}: keyword arguments are not allowed in {expr!r}")
            arity = ARITY[node.func.id]
            if (arity is not None and len(node.args) != arity) or not node.args:
                want = f"{arity} argument(s)" if arity is not None else "at least one argument"
                raise ModelError(f"{where}: {node.func.id}() in {expr!r} takes {want}, got {len(node.args)}")
        elif isinstance(node, ast.Name):
            names.add(node.id)
    # every call was checked above to name one of FUNCTIONS
    func_names = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {n for n in names if n not in CONSTANTS and not (n in FUNCTIONS and n in func_names)}


def short(expr: str, limit: int = 200) -> str:
    """``expr`` cut to ``limit`` characters for an error message."""
    return expr if len(expr) <= limit else expr[:limit] + f"... ({len(expr)} characters)"


def too_deep(expr: str, where: str) -> ModelError:
    """The error for an expression Python's parser cannot hold (a chain of thousands of operations)."""
    ops = sum(expr.count(c) for c in "+-*/")
    return ModelError(
        f"{where}: expression {short(expr, 80)!r} is too deeply nested for Python's parser ({ops} operators; "
        "a chain of more than about 2500 operations exceeds it): split it into several terms, or into observables "
        "that sum parts of it")


def lookalike_note(text: str) -> str:
    """A note on characters of ``text`` that Python's parser reads as other characters (NFKC normalisation:
    the micro sign U+00B5 becomes the Greek mu U+03BC, for example), or ''."""
    changed = sorted({c for c in text if unicodedata.normalize("NFKC", c) != c})
    if not changed:
        return ""
    parts = [f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, '?')}) is read as "
             f"{unicodedata.normalize('NFKC', c)!r} ("
             + ", ".join(f"U+{ord(d):04X} {unicodedata.name(d, '?')}" for d in unicodedata.normalize("NFKC", c)) + ")"
             for c in changed]
    return "; note: Python normalises names (NFKC), so " + "; ".join(parts)


@functools.lru_cache(maxsize=4096)
def compile_expression(expr: str, where: str) -> Callable[[Mapping[str, float]], float]:
    """Compile ``expr`` into a function of a name → value mapping (for checks, not speed; cached)."""
    symbols_in(expr, where)  # arithmetic and known functions only
    try:
        code = compile(_lazy_source(expr), f"<{where}>", "eval")
    except (RecursionError, MemoryError):
        raise too_deep(expr, where) from None
    base = {"__builtins__": {}, **FUNCTIONS, **CONSTANTS}

    def evaluate(values: Mapping[str, float]) -> float:
        return float(eval(code, base, dict(values)))  # noqa: S307 - checked AST, no builtins

    return evaluate


def _lazy_source(expr: str) -> str:
    """``expr`` with every ``piecewise(...)`` written as nested conditional expressions, so that only the
    chosen branch is evaluated (as in the compiled code): ``piecewise(1/x, gt(x, 0), 0)`` is 0 at x = 0."""
    if "piecewise" not in expr:
        return expr.strip()

    class _Lazy(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:  # noqa: N802 - ast protocol
            self.generic_visit(node)
            if not (isinstance(node.func, ast.Name) and node.func.id == "piecewise"):
                return node
            args = list(node.args)
            nan = ast.BinOp(left=ast.Constant(1e309), op=ast.Sub(), right=ast.Constant(1e309))
            out: ast.expr = args[-1] if len(args) % 2 else nan
            pairs = [(args[k], args[k + 1]) for k in range(0, len(args) - 1, 2)]
            for value, cond in reversed(pairs):
                out = ast.IfExp(test=cond, body=value, orelse=out)
            return out

    with _AST_LOCK:
        tree = _Lazy().visit(ast.parse(expr.strip(), mode="eval"))
        return ast.unparse(ast.fix_missing_locations(tree))


def closing_paren(text: str, open_at: int) -> int:
    """Index of the parenthesis that closes the one at ``text[open_at]``, or -1 when it is never closed.

    >>> closing_paren("f(a, g(b)) + c", 1)
    9
    """
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def split_arguments(inner: str) -> list[str]:
    """The arguments of a call (``inner``: the text between its parentheses), split at the commas outside
    parentheses, each stripped of surrounding blanks.

    >>> split_arguments("a, g(b, c),  d ")
    ['a', 'g(b, c)', 'd']
    """
    out, depth, last = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(inner[last:i].strip())
            last = i + 1
    return out + [inner[last:].strip()]


def topological_order(deps: Mapping[str, Iterable[str]], kind: str) -> list[str]:
    """Order names so each comes after the names it depends on; raise on a cycle."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: list[str]) -> None:
        mark = state.get(name, 0)
        if mark == 2:
            return
        if mark == 1:
            cycle = " -> ".join(chain[chain.index(name):] + [name])
            raise ModelError(f"{kind} definitions form a cycle: {cycle}")
        state[name] = 1
        for dep in deps[name]:
            if dep in deps:
                visit(dep, chain + [name])
        state[name] = 2
        order.append(name)

    for n in deps:
        visit(n, [])
    return order


# ------------------------------------------------------------------ event triggers
_COMPARE_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def parse_trigger(expr: str, where: str) -> tuple[list[tuple[str, str]], tuple]:
    """Split a trigger condition into comparison atoms and a boolean formula over them.

    A trigger is a comparison (``T < 1``, ``x > k*y``, ``0 < x <= 1``) or a combination of
    comparisons with ``and``, ``or`` and ``not``.  Each comparison ``a OP b`` becomes the atom
    ``(g, OP)`` with the root function ``g = (a) - (b)``: the atom is true when ``g OP 0``.

    Returns
    -------
    atoms : list of (str, str)
        ``(g, op)`` with ``g`` an arithmetic expression string and ``op`` one of ``< <= > >=``.
    formula : tuple
        ``("atom", i)``, ``("not", f)``, ``("and", f1, f2, ...)`` or ``("or", f1, f2, ...)``.

    Raises
    ------
    ModelError
        On a syntax error, ``==``/``!=`` (a condition that holds at isolated instants cannot be
        located by root finding), a bare number or name, or a non-arithmetic side.

    Examples
    --------
    >>> parse_trigger("T < 1 and not x >= 2", "event 'e'")
    ([('(T) - (1)', '<'), ('(x) - (2)', '>=')], ('and', ('atom', 0), ('not', ('atom', 1))))
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ModelError(f"{where}: trigger must be a non-empty condition string, got {expr!r}")
    try:
        tree = parse_expression(expr)
    except SyntaxError as exc:
        raise ModelError(f"{where}: cannot parse trigger {expr!r}: {exc.msg}") from None
    atoms: list[tuple[str, str]] = []

    def side(node: ast.AST) -> str:
        text = ast.unparse(node)
        symbols_in(text, where)  # arithmetic only
        return text

    def walk(node: ast.AST) -> tuple:
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return (op, *(walk(v) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ("not", walk(node.operand))
        if isinstance(node, ast.Compare):
            parts = []
            left = node.left
            for cmp, right in zip(node.ops, node.comparators):
                sym = _COMPARE_OPS.get(type(cmp))
                if sym is None:
                    raise ModelError(
                        f"{where}: trigger {expr!r} uses {type(cmp).__name__}; only < <= > >= comparisons "
                        "(an equality holds at isolated instants and cannot be located by root finding)"
                    )
                atoms.append((f"({side(left)}) - ({side(right)})", sym))
                parts.append(("atom", len(atoms) - 1))
                left = right
            return parts[0] if len(parts) == 1 else ("and", *parts)
        raise ModelError(
            f"{where}: trigger {expr!r} must be a comparison (e.g. 'T < 1') or comparisons joined by "
            f"and/or/not; found {ast.unparse(node)!r}"
        )

    formula = walk(tree.body)
    return atoms, formula


def formula_value(formula: tuple, atoms: Iterable[bool]) -> bool:
    """The truth of a trigger ``formula`` (from :func:`parse_trigger`) given its atoms' truth values."""
    a = list(atoms)

    def ev(f: tuple) -> bool:
        if f[0] == "atom":
            return bool(a[f[1]])
        if f[0] == "not":
            return not ev(f[1])
        if f[0] == "and":
            return all(ev(g) for g in f[1:])
        return any(ev(g) for g in f[1:])

    return ev(formula)


def atom_value(g: float, op: str) -> bool:
    """Whether the comparison atom ``g OP 0`` holds."""
    return {"<": g < 0, "<=": g <= 0, ">": g > 0, ">=": g >= 0}[op]

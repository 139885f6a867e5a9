"""Generate C source for a model's right-hand side, Jacobian and observables.

The generated functions are ``static`` with sizes known at compile time, so
the C compiler inlines them into the solver core (``solver_core.c``) that is
appended to them.  Common subexpressions are shared (sympy ``cse``) and small
integer powers are written as products.
"""

from __future__ import annotations

import functools
import hashlib
import re
from importlib import resources
from typing import Sequence

from .events import event_source
from .hoist import Hoister
from .lanes import DEFAULT_LANES, lane_functions
from .sparse_lu import inverse_source, layout, lu_source, padded, use_inverse
from .symbolic import SymbolicModel

__all__ = ["generate_source", "check_size", "MAX_STATES", "CODEGEN_VERSION", "solver_core_source", "generator_fingerprint"]

#: Bumped whenever generated code changes meaning (part of the cache key).
CODEGEN_VERSION = 10


#: Models with more states than this are solved one member at a time (the lanes' workspace
#: grows as states squared times lanes).
LANE_MAX_STATES = 64


@functools.lru_cache(maxsize=1)
def generator_fingerprint() -> str:
    """Hash of the code generator's own sources: part of the cache key, so that a changed generator
    never reuses a library built by an older one (CODEGEN_VERSION need not be bumped by hand)."""
    here = resources.files("bonemet_ode.compile")
    h = hashlib.sha256()
    for name in ("codegen.py", "hoist.py", "sparse_lu.py", "lanes.py", "symbolic.py", "sensitivity.py",
                 "events.py"):
        h.update(here.joinpath(name).read_bytes())
    return h.hexdigest()[:16]


def solver_core_source() -> str:
    """The text of the C solver core shipped with the package (the lane solver compiles where ``BM_L`` is set)."""
    here = resources.files("bonemet_ode.compile")
    lanes = here.joinpath("solver_lanes.c").read_text()
    return here.joinpath("solver_core.c").read_text() + "\n#ifdef BM_L\n" + lanes + "\n#endif /* BM_L */\n"


def _printer():
    import sympy as sp
    from sympy.printing.c import C99CodePrinter

    class _Printer(C99CodePrinter):
        def _print_Pow(self, expr):  # noqa: N802 - sympy printer protocol
            base, exp = expr.as_base_exp()
            if exp.is_Integer and 2 <= int(exp) <= 4:
                b = self.parenthesize(base, 100)
                return "(" + "*".join([b] * int(exp)) + ")"
            if exp.is_Integer and -4 <= int(exp) <= -1:
                b = self.parenthesize(base, 100)
                return "(1.0/(" + "*".join([b] * -int(exp)) + "))"
            if exp == sp.Rational(1, 2):
                return f"sqrt({self._print(base)})"
            return super()._print_Pow(expr)

        def _print_Max(self, expr):  # noqa: N802 - bm_fmax: fmax that the lane loops can vectorise
            return self._minmax("bm_fmax", expr.args)

        def _print_Min(self, expr):  # noqa: N802
            return self._minmax("bm_fmin", expr.args)

        def _minmax(self, name, args):
            out = self._print(args[0])
            for a in args[1:]:
                out = f"{name}({out}, {self._print(a)})"
            return out

        def _print_Heaviside(self, expr):  # noqa: N802
            return f"(({self._print(expr.args[0])}) > 0 ? 1.0 : 0.0)"

        def _print_bm_quot(self, expr):  # noqa: N802 - a single division (see _one_division)
            num, den = expr.args
            return f"(({self._print(num)})/({self._print(den)}))"

        def _print_DiracDelta(self, expr):  # noqa: N802 - derivative of a kink (max/min/abs): zero almost everywhere
            return "0.0"

        def _print_Float(self, expr):  # noqa: N802 - full double precision
            return repr(float(expr))

    return _Printer()


def _block(exprs: Sequence, targets: Sequence[str], sym: SymbolicModel, printer, derived: Hoister | None = None
           ) -> list[str]:
    import sympy as sp

    repl = {s: sp.Symbol(f"y[{i}]") for i, s in enumerate(sym.y)}
    repl.update({s: sp.Symbol(f"p[{j}]") for j, s in enumerate(sym.p)})
    if derived is not None:  # derived parameters follow the model's in the parameter array
        repl.update({s: sp.Symbol(f"p[{len(sym.p) + k}]") for k, s in enumerate(derived.symbols)})
    exprs = [sp.sympify(e).xreplace(repl) for e in exprs]
    subs, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("c_"), optimizations="basic")
    lines = [f"    const double {s} = {printer.doprint(e)};" for s, e in subs]
    lines += [f"    {t} = {printer.doprint(e)};" for t, e in zip(targets, reduced)]
    return lines


def _one_division(expr):
    """Each additive term over a single denominator (``a/(b*(c/d + 1))`` becomes ``a*d/(b*(c + d))``).

    Every step of the solver waits on the right-hand side several times over, and a division costs
    about four multiplications of latency; nested fractions put divisions in a chain.  Terms stay
    separate, so that their divisions run side by side."""
    import sympy as sp

    expr = sp.expand_mul(sp.sympify(expr), deep=False)
    terms = []
    for term in sp.Add.make_args(expr):
        num, den = sp.fraction(sp.together(term))
        terms.append(num if den == 1 else _quotient()(num, den))
    return sp.Add(*terms)


@functools.lru_cache(maxsize=1)
def _quotient():
    """``num/den`` kept whole (common-subexpression elimination shares parts of either side, but does
    not split the denominator into separate reciprocals)."""
    import sympy as sp

    class bm_quot(sp.Function):  # noqa: N801 - printed by name
        nargs = 2

    return bm_quot


def _is_call(e) -> bool:
    """A function call of the generated C (``pow`` with an exponent the printer does not expand, ``exp``,
    ``log``, ...): tens of cycles each, unlike the products, sums and divisions around it."""
    import sympy as sp

    if e.is_Pow:
        x = e.exp
        return not (x.is_Integer and -4 <= int(x) <= 4) and x != sp.Rational(1, 2)
    return isinstance(e, sp.Function)


def _hoist_calls(expr, hoist: Hoister, states: frozenset):
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


def _vector_rhs(n: int, rhs: list[str]) -> list[str]:
    """``bm_rhs_vec``: the right-hand side with the same arithmetic as ``bm_rhs``, its result packed into
    4-wide vectors (padding zero) so that the solver's stage arithmetic runs on vectors."""
    lines = ["static inline void bm_rhs_vec(const double *y, const double *p, bm_v4 *dv) {", "    (void)y; (void)p;"]
    for line in rhs:
        lines.append(re.sub(r"^    dy\[(\d+)\] = ", r"    const double d\1 = ", line))
    for h in range(padded(n) // 4):
        parts = ", ".join(f"d{i}" if i < n else "0.0" for i in range(4 * h, 4 * h + 4))
        lines.append(f"    dv[{h}] = (bm_v4){{{parts}}};")
    return lines + ["}", ""]


#: Largest number of equations (model states plus sensitivity equations) the generator accepts.
#: Code generation and the C compile took 178 s for 1000 equations of the Michaelis–Menten chain on
#: a 2-core machine (benchmarks/scaling.py), growing about linearly; larger models are refused with
#: a CompileError.
MAX_STATES = 2000

#: Largest number of stored entries of the sparse LU factors (fill included): the generated
#: factorisation is straight-line code of that many statements and more.
MAX_LU_ENTRIES = 200_000


#: Models with more states than :data:`LANE_MAX_STATES` have their generated model functions split into
#: parts of at most this many outputs each (separate functions, common subexpressions found per part):
#: sympy's elimination of common subexpressions and the C compiler's optimisation of one function both
#: grow faster than linearly with its size.
CHUNK = 400


def _function(header: str, void: str, exprs: Sequence, targets: Sequence[str], sym: SymbolicModel, printer,
              derived: Hoister | None, chunked: bool) -> list[str]:
    """A generated function ``header`` computing ``targets = exprs``: one body, or (``chunked`` and more
    than :data:`CHUNK` outputs) parts of :data:`CHUNK` outputs each, called in turn."""
    if not chunked or len(exprs) <= CHUNK:
        return [header, void] + _block(exprs, targets, sym, printer, derived) + ["}", ""]
    m = re.match(r"^static (?:inline )?void (bm_\w+)\((.*)\) \{$", header)
    name, args = m.group(1), m.group(2)
    call_args = ", ".join(a.split("*")[-1].strip() for a in args.split(","))
    out, calls = [], []
    for part, k in enumerate(range(0, len(exprs), CHUNK)):
        out += [f"static __attribute__((noinline)) void {name}_{part}({args}) {{", void]
        out += _block(exprs[k:k + CHUNK], targets[k:k + CHUNK], sym, printer, derived)
        out += ["}", ""]
        calls.append(f"    {name}_{part}({call_args});")
    return out + [header] + calls + ["}", ""]


def check_size(name: str, n: int) -> None:
    """Refuse, with a :class:`~bonemet_ode.errors.CompileError`, a system of more than :data:`MAX_STATES` states."""
    from ..errors import CompileError

    if n > MAX_STATES:
        raise CompileError(
            f"model {name!r} has {n} states (sensitivities included); the code generator handles at most {MAX_STATES} "
            f"(compile time grows about linearly: ~3 minutes for 1000 states on 2 cores)")


def generate_source(sym: SymbolicModel) -> str:
    """Full C source: generated model functions followed by the solver core.

    The Jacobian ``J`` and the factors ``E`` are stored packed (their structural non-zeros only,
    :func:`sparse_lu.layout`); ``bm_jrow``/``bm_jcol`` give the row and column of each stored
    Jacobian entry, for the solver core's dense fallback and products with ``J``."""
    from ..errors import CompileError

    printer = _printer()
    n, npar, no = len(sym.y), len(sym.p), len(sym.observables)
    check_size(sym.model.name, n)
    chunked = n > LANE_MAX_STATES
    hoist = Hoister(sym.y)
    rhs_exprs = [_one_division(_hoist_calls(e, hoist, frozenset(sym.y))) for e in sym.rhs]
    entries = sym.jacobian_entries
    nz = sorted(entries)
    pattern = set(nz)
    jslot, eslot = layout(n, pattern)
    if len(eslot) > MAX_LU_ENTRIES:
        raise CompileError(
            f"model {sym.model.name!r}: the sparse LU of its {n}-state Jacobian ({len(nz)} non-zeros) would store "
            f"{len(eslot)} entries after fill-in, more than the {MAX_LU_ENTRIES} the code generator handles")
    jac_exprs = [hoist(entries[e]) for e in nz]
    obs_exprs = [hoist(o) for o in sym.observables]
    nq = len(hoist)
    out = [
        f"/* generated by bonemet_ode codegen v{CODEGEN_VERSION} for model {sym.model.name!r} */",
        f"#define BM_N {n}",
        f"#define BM_NP {npar}",
        f"#define BM_NQ {nq}",
        f"#define BM_NO {no}",
        f"#define BM_NV {padded(n) // 4}",
        f"#define BM_NVP {padded(n)}",
        f"/* stored entries: {len(nz)} of the Jacobian (BM_NNZJ), {len(eslot)} of the LU factors (BM_NLU) */",
        f"#define BM_NNZJ {len(nz)}",
        f"#define BM_NJ {max(len(nz), 1)}",
        f"#define BM_NLU {len(eslot)}",
        "#include <math.h>",
        "#include <string.h>",
        "/* fmax/fmin as C99 defines them for numbers and NaN (a NaN argument gives the other one), written as",
        " * comparisons: a call to libm's fmax keeps the lane loops (lanes.py) from vectorising */",
        "static inline double bm_fmax(double a, double b) { return (a > b || b != b) ? a : b; }",
        "static inline double bm_fmin(double a, double b) { return (a < b || b != b) ? a : b; }",
        "/* 4 doubles: state vectors of the one-member solver are held as BM_NV of these */",
        "typedef double bm_v4 __attribute__((vector_size(32)));",
        "/* row and column of each stored Jacobian entry (J[k] = df_row/dy_col) */",
        f"static const int bm_jrow[BM_NJ] = {{{', '.join(str(i) for i, _ in nz) or '0'}}};",
        f"static const int bm_jcol[BM_NJ] = {{{', '.join(str(j) for _, j in nz) or '0'}}};",
        "",
        "/* derived parameters p[BM_NP + k] (parameter-only subexpressions, hoist.py) from p[0 .. BM_NP-1] */",
    ]
    out += _function("static void bm_derive(double *p) {", "    (void)p;", hoist.definitions,
                     [f"p[{npar + k}]" for k in range(nq)], sym, printer, None, chunked)
    rhs_header = "static void bm_rhs(const double *y, const double *p, double *dy) {"
    if not (chunked and n > CHUNK):
        rhs = _block(rhs_exprs, [f"dy[{i}]" for i in range(n)], sym, printer, hoist)
        out += [rhs_header, "    (void)y; (void)p;"] + rhs + ["}", ""]
        out += _vector_rhs(n, rhs)
    else:
        out += _function(rhs_header, "    (void)y; (void)p;", rhs_exprs, [f"dy[{i}]" for i in range(n)], sym,
                         printer, hoist, chunked)
        out += ["static inline void bm_rhs_vec(const double *y, const double *p, bm_v4 *dv) {",
                "    double d[BM_NVP];", "    bm_rhs(y, p, d);", "    for (int i = BM_N; i < BM_NVP; ++i) d[i] = 0.0;",
                "    memcpy(dv, d, sizeof d);", "}", ""]
    # bm_jac writes the structural nonzeros (every stored entry)
    out += _function("static void bm_jac(const double *y, const double *p, double *J) {", "    (void)y; (void)p;",
                     jac_exprs, [f"J[{jslot[e]}]" for e in nz], sym, printer, hoist, chunked)
    out.append(lu_source(n, pattern))
    inverse = use_inverse(n, pattern)
    if inverse:
        out += ["#define BM_HAVE_INV 1", inverse_source(n, pattern)]
    out += _function("static void bm_obs(const double *y, const double *p, double *o) {",
                     "    (void)y; (void)p; (void)o;", obs_exprs, [f"o[{k}]" for k in range(no)], sym, printer, hoist,
                     chunked)
    out += event_source(sym, lambda exprs, targets: _block(exprs, targets, sym, printer), printer)
    if n <= LANE_MAX_STATES:
        solve = ("bm_inv_fast", "bm_matvec") if inverse else ("bm_solve_fast",)
        out += [f"#define BM_L {DEFAULT_LANES}",
                lane_functions("\n".join(out), ("bm_rhs", "bm_jac", "bm_build_E", "bm_lu_fast") + solve)]
    return "\n".join(out) + "\n" + solver_core_source()

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
from .sparse_lu import inverse_source, lu_source, padded, use_inverse
from .symbolic import SymbolicModel

__all__ = ["generate_source", "CODEGEN_VERSION", "solver_core_source", "generator_fingerprint"]

#: Bumped whenever generated code changes meaning (part of the cache key).
CODEGEN_VERSION = 9


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

        def _print_Heaviside(self, expr):  # noqa: N802
            return f"(({self._print(expr.args[0])}) > 0 ? 1.0 : 0.0)"

        def _print_bm_quot(self, expr):  # noqa: N802 - a single division (see _one_division)
            num, den = expr.args
            return f"(({self._print(num)})/({self._print(den)}))"

        def _print_bm_pow(self, expr):  # noqa: N802 - a power with a symbolic exponent (symbolic.py)
            return f"pow({self._print(expr.args[0])}, {self._print(expr.args[1])})"

        def _print_bm_floor(self, expr):  # noqa: N802 - floor with derivative zero (symbolic.py)
            return f"floor({self._print(expr.args[0])})"

        def _print_bm_ceil(self, expr):  # noqa: N802
            return f"ceil({self._print(expr.args[0])})"

        def _print_DiracDelta(self, expr):  # noqa: N802 - derivative of a kink (max/min/abs): zero almost everywhere
            return "0.0"

        def _print_Float(self, expr):  # noqa: N802 - full double precision
            x = float(expr)
            if x != x:
                return "NAN"
            if x in (float("inf"), float("-inf")):  # e.g. 1e309, the model language's infinity
                return "HUGE_VAL" if x > 0 else "(-HUGE_VAL)"
            return repr(x)

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


def generate_source(sym: SymbolicModel, lanes: bool = True) -> str:
    """Full C source: generated model functions followed by the solver core (``lanes=False``: no lane solver)."""
    printer = _printer()
    n, npar, no = len(sym.y), len(sym.p), len(sym.observables)
    hoist = Hoister(sym.y)
    rhs_exprs = [_one_division(e) for e in sym.rhs]
    J = sym.jacobian
    nz = [(i, j) for i in range(n) for j in range(n) if J[i, j] != 0]
    jac_exprs = [hoist(J[i, j]) for i, j in nz]
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
        "#include <math.h>",
        "#include <string.h>",
        "/* 4 doubles: state vectors of the one-member solver are held as BM_NV of these */",
        "typedef double bm_v4 __attribute__((vector_size(32)));",
        "",
        "/* derived parameters p[BM_NP + k] (parameter-only subexpressions, hoist.py) from p[0 .. BM_NP-1] */",
        "static void bm_derive(double *p) {",
        "    (void)p;",
    ]
    out += _block(hoist.definitions, [f"p[{npar + k}]" for k in range(nq)], sym, printer)
    out += ["}", "", "static void bm_rhs(const double *y, const double *p, double *dy) {", "    (void)y; (void)p;"]
    rhs = _block(rhs_exprs, [f"dy[{i}]" for i in range(n)], sym, printer, hoist)
    out += rhs
    out += ["}", ""]
    out += _vector_rhs(n, rhs)
    # bm_jac writes the structural nonzeros only: callers clear J once (a step's Jacobian lands on the same entries)
    out += ["static void bm_jac(const double *y, const double *p, double *J) {", "    (void)y; (void)p;"]
    out += _block(jac_exprs, [f"J[{i * n + j}]" for i, j in nz], sym, printer, hoist)
    out += ["}", ""]
    out.append(lu_source(n, set(nz)))
    inverse = use_inverse(n, set(nz))
    if inverse:
        out += ["#define BM_HAVE_INV 1", inverse_source(n, set(nz))]
    out += ["static void bm_obs(const double *y, const double *p, double *o) {", "    (void)y; (void)p; (void)o;"]
    out += _block(obs_exprs, [f"o[{k}]" for k in range(no)], sym, printer, hoist)
    out += ["}", ""]
    out += event_source(sym, lambda exprs, targets: _block(exprs, targets, sym, printer), printer)
    if lanes and n <= LANE_MAX_STATES:
        solve = ("bm_inv_fast", "bm_matvec") if inverse else ("bm_solve_fast",)
        out += [f"#define BM_L {DEFAULT_LANES}",
                lane_functions("\n".join(out), ("bm_rhs", "bm_jac", "bm_build_E", "bm_lu_fast") + solve)]
    return "\n".join(out) + "\n" + solver_core_source()

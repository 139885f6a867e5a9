"""Generate C source for a model's right-hand side, Jacobian and observables.

The generated functions are ``static`` with sizes known at compile time, so
the C compiler inlines them into the solver core (``solver_core.c``) that is
appended to them.  Common subexpressions are shared (sympy ``cse``) and small
integer powers are written as products; the expressions are rewritten before
printing by ``rewrites.py`` (one division per term, shared reciprocals, powers
through logarithms) and specialised to exponent values by ``exponents.py``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

from . import rewrites, sparse_lu
from .c_helpers import helpers
from .events import event_source
from .exponents import MAX_SPECIAL_EXPONENT, dispatch, flag_line, lane_dispatch, specialised_exponents, substitution
from .hoist import Hoister
from .lanes import DEFAULT_LANES, lane_functions, pack_calls
from .rewrites import hoist_calls, one_division, shared_reciprocals
from .sparse_lu import inverse_source, layout, lu_operations, lu_source, lu_table_source, padded, use_inverse
from .symbolic import SymbolicModel

if TYPE_CHECKING:
    from .sensitivity import SensitivitySymbolic

__all__ = ["generate_source", "generate_units", "check_size", "MAX_STATES", "CODEGEN_VERSION", "solver_core_source",
           "generator_fingerprint", "generator_settings", "specialisation"]

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
                 "events.py", "c_helpers.py", "exponents.py", "rewrites.py"):
        h.update(here.joinpath(name).read_bytes())
    return h.hexdigest()[:16]


def generator_settings() -> str:
    """The rewrite switches of this module as text: part of the cache key (a library generated with
    another setting, by a test or a benchmark comparing the forms, is never reused)."""
    return (f"log_powers={LOG_POWERS},shared_reciprocals={SHARED_RECIPROCALS}:{rewrites.SHARED_RECIPROCALS_MAX_SHARE},"
            f"sensitivity_blocks={SENSITIVITY_BLOCKS},hoist_rhs={HOIST_RHS},specialise_exponents={SPECIALISE_EXPONENTS},"
            f"scaled_back_solve={sparse_lu.SCALED_BACK_SOLVE}")


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
            if exp.is_Rational and exp.q == 2 and abs(exp.p) <= 2 * MAX_SPECIAL_EXPONENT + 1:
                # b**(n/2) = sqrt(b) * b**((|n| - 1)/2), inverted for n < 0 (specialised exponents' Jacobians)
                b = self.parenthesize(base, 100)
                prod = "*".join([f"sqrt({self._print(base)})"] + [b] * ((abs(exp.p) - 1) // 2))
                return f"({prod})" if exp.p > 0 else f"(1.0/({prod}))"
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

        def _print_bm_quot(self, expr):  # noqa: N802 - a single division (rewrites.one_division)
            num, den = expr.args
            return f"(({self._print(num)})/({self._print(den)}))"

        def _print_bm_log(self, expr):  # noqa: N802 - log of a power's base (rewrites.log_powers)
            return f"bm_log({self._print(expr.args[0])})"

        # exp and log of anything but a number: bm_exp/bm_log (c_helpers.helpers: libm's or libmvec's, lanes.py)
        def _print_exp(self, expr):  # noqa: N802
            if not expr.args[0].free_symbols:
                return super()._print_exp(expr)
            return f"bm_exp({self._print(expr.args[0])})"

        def _print_log(self, expr):  # noqa: N802
            if not expr.args[0].free_symbols:
                return super()._print_log(expr)
            return f"bm_log({self._print(expr.args[0])})"

        def _print_bm_powlog(self, expr):  # noqa: N802 - a product of powers through logarithms (rewrites.log_powers)
            a = expr.args
            bases = [self._print(a[k]) for k in range(0, len(a), 3)]
            exps = [self._print(a[k + 1]) for k in range(0, len(a), 3)]
            logs = [self._print(a[k + 2]) for k in range(0, len(a), 3)]
            test = " & ".join(f"bm_normal({b})" for b in bases)
            fast = " + ".join(f"({e})*({lg})" for e, lg in zip(exps, logs))
            slow = "*".join(f"bm_pow_c({b}, {e})" for b, e in zip(bases, exps))
            return f"BM_POWLOG({test}, {fast}, {slow})"

        def _print_bm_recip(self, expr):  # noqa: N802 - one reciprocal shared by its quotients (rewrites.shared_reciprocals)
            return f"(1.0/({self._print(expr.args[0])}))"

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


def _block(exprs: Sequence, targets: Sequence[str], sym: SymbolicModel | SensitivitySymbolic, printer,
           derived: Hoister | None = None, optimizations: str | None = "basic", log_powers: bool = False) -> list[str]:
    import sympy as sp

    repl = {s: sp.Symbol(f"y[{i}]") for i, s in enumerate(sym.y)}
    repl.update({s: sp.Symbol(f"p[{j}]") for j, s in enumerate(sym.p)})
    if derived is not None:  # derived parameters follow the model's in the parameter array
        repl.update({s: sp.Symbol(f"p[{len(sym.p) + k}]") for k, s in enumerate(derived.symbols)})
    exprs = [sp.sympify(e).xreplace(repl) for e in exprs]
    subs, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("c_"), optimizations=optimizations)
    if log_powers:
        subs, reduced = rewrites.log_powers(subs, reduced)
    lines = [f"    const double {s} = {printer.doprint(e)};" for s, e in subs]
    lines += [f"    {t} = {printer.doprint(e)};" for t, e in zip(targets, reduced)]
    return lines


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


#: Write the right-hand side's quotients with shared reciprocals (``rewrites.shared_reciprocals``).
SHARED_RECIPROCALS = True

#: Where the right-hand side is in the shared-reciprocal form, also replace its parameter-only products and sums
#: by derived parameters (``hoist.py``, as the Jacobian's and the observables' are): bone_metastasis's right-hand
#: side drops from 203 to 146 multiplications per evaluation, ~2800 evaluations per solve (one solve ~6 % faster,
#: benchmarks/rhs_forms.py).  Not in the quotient form: there the order in which the divisions reach the divider
#: matters more than the multiplications saved (perf_reference ~2 % slower, docs/backend.md).
HOIST_RHS = True

#: Solve a large forward-sensitivity system block by block with the LU of its states' block
#: (:func:`_sensitivity_blocks`, solver_core.c ``BM_SENS_N``); False: one sparse LU of the whole system, whose
#: dense fallback exists up to solver_core.c's BM_DENSE_MAX equations only (benchmarks/sensitivity_blocks.py).
SENSITIVITY_BLOCKS = True

#: Write products of powers of states through shared logarithms (``rewrites.log_powers``).
LOG_POWERS = True

#: Compile the right-hand side and Jacobian a second time with the exponent parameters at the model's values,
#: where those are small integers or half-integers (``exponents.py``; :func:`specialisation`): a bone_metastasis
#: solve loses its ``exp`` and ``log`` calls (0.327 -> 0.258 ms, docs/backend.md).
SPECIALISE_EXPONENTS = True

#: Largest number of equations (model states plus sensitivity equations) the generator accepts.
#: Code generation and the C compile took 39 s for 1000 equations of the Michaelis–Menten chain on a
#: shared 2-core machine at load average ~15 (benchmarks/scaling.py, docs/backend.md), growing about
#: linearly; larger models are refused with a CompileError.
MAX_STATES = 2000

#: Largest number of stored entries of the sparse LU factors (fill included): the generated
#: factorisation is straight-line code of that many statements and more.
MAX_LU_ENTRIES = 200_000


#: Models with more states than :data:`LANE_MAX_STATES` have their generated model functions split into
#: parts of at most this many outputs each (separate functions, common subexpressions found per part):
#: sympy's elimination of common subexpressions and the C compiler's optimisation of one function both
#: grow faster than linearly with its size.
CHUNK = 400

#: Attribute of the part functions of large models: external linkage (they are compiled as separate
#: units, in parallel, see :func:`generate_units`), not exported from the library.
PART_ATTR = '__attribute__((visibility("hidden")))'

#: The functions of ``sparse_lu.lu_source`` (a unit of their own in a large model).
_LU_FUNCTIONS = ("void bm_build_E(const double *J, double fac, double *E)",
                 "int bm_lu_fast(double *E, double *dinv, double tol)",
                 "void bm_solve_fast(const double *E, const double *dinv, double *b)")

#: A large model's sparse LU is straight-line code (a unit of its own) up to this many operations
#: (:func:`sparse_lu.lu_operations`), and loops over index tables beyond (:func:`sparse_lu.lu_table_source`).
#: Measured on the Michaelis–Menten chain (docs/backend.md): the tables make a solve 1.6x slower at 300
#: states (1.0 -> 1.6 ms), where the factorisation is a few hundred operations; straight-line code takes
#: ~80 bytes of C per operation (Chen_MSB2009's factors were 1.8 MB of C, most of its compile time).
LU_STRAIGHT_MAX_OPS = 5_000

#: First line of each separately compiled unit of a large model (:func:`generate_units`).
UNIT_MARK = "/* bm_unit "


def _function(header: str, void: str, exprs: Sequence, targets: Sequence[str],
              sym: SymbolicModel | SensitivitySymbolic, printer, derived: Hoister | None,
              parts: list[str] | None, log_powers: bool = False, mvec: int = 0) -> list[str]:
    """A generated function ``header`` computing ``targets = exprs``: one ``static`` body, or (``parts`` given
    and some outputs) parts of at most :data:`CHUNK` outputs each, called in turn.

    Each part is a function of its own with external linkage, its text appended to ``parts`` (it is
    compiled as a unit of its own, :func:`generate_units`); only its prototype and the call stay here.
    Common subexpressions are found per part, with sympy's ``cse`` without its ``"basic"``
    preprocessing (``factor_terms`` on every output: 75 % of the time of ``cse`` on a large model,
    with about the same subexpressions found on its simple rate laws)."""
    if parts is None or not exprs:
        return [header, void] + _block(exprs, targets, sym, printer, derived, log_powers=log_powers) + ["}", ""]
    m = re.match(r"^static (?:inline )?void (bm_\w+)\((.*)\) \{$", header)
    assert m is not None, header  # the headers are written in this module
    name, args = m.group(1), m.group(2)
    call_args = ", ".join(a.split("*")[-1].strip() for a in args.split(","))
    out: list[str] = []
    calls: list[str] = []
    for k in range(0, len(exprs), CHUNK):
        fname = f"{name}_{len(calls)}"
        body = [f"{UNIT_MARK}{fname} */", "#include <math.h>", "#include <string.h>", *helpers(mvec),
                f"{PART_ATTR} void {fname}({args});",
                f"void {fname}({args}) {{", void]
        body += _block(exprs[k:k + CHUNK], targets[k:k + CHUNK], sym, printer, derived, optimizations=None)
        parts.append("\n".join(body + ["}", ""]))
        out.append(f"{PART_ATTR} void {fname}({args});")
        calls.append(f"    {fname}({call_args});")
    return out + [header] + calls + ["}", ""]


def _sensitivity_blocks(sym: SymbolicModel | SensitivitySymbolic, pattern: set[tuple[int, int]]) -> int:
    """The number of model states ``n`` of a forward-sensitivity system whose Jacobian pattern is block lower
    triangular with every diagonal block the pattern of ``df/dx`` (the solver's dense fallback then factors
    one ``n x n`` block, solver_core.c ``BM_SENS_N``); 0 for a plain model or any other pattern."""
    base = getattr(sym, "base", None)
    if base is None:
        return 0
    n = len(base.y)
    if n == 0 or len(sym.y) % n or len(sym.y) == n:
        return 0
    inner = set(base.jacobian_entries)
    for i, j in pattern:
        bi, bj = divmod(i, n), divmod(j, n)
        if bj[0] == 0 and (bi[0] > 0 or (i, j) in inner):
            continue  # the states' block, or a sensitivity block's coupling to the states
        if bi[0] != bj[0] or (bi[1], bj[1]) not in inner:
            return 0
    blocks = len(sym.y) // n
    if sum(1 for i, j in pattern if i // n == j // n) != blocks * len(inner):
        return 0  # a diagonal block lacks an entry of df/dx
    return n


def check_size(name: str, n: int) -> None:
    """Refuse, with a :class:`~bonemet_ode.errors.CompileError`, a system of more than :data:`MAX_STATES` states."""
    from ..errors import CompileError

    if n > MAX_STATES:
        raise CompileError(
            f"model {name!r} has {n} states (sensitivities included); the code generator handles at most {MAX_STATES} "
            f"(compile time grows about linearly: ~40 s for 1000 states on 2 busy cores)")


def specialisation(model) -> dict[str, float]:
    """``{parameter: value}`` the generated code of ``model`` is specialised to (``exponents.py``): the
    exponent parameters at small integer or half-integer values, for a model of at most
    :data:`LANE_MAX_STATES` states with :data:`SPECIALISE_EXPONENTS` on; else empty.  Part of the cache key."""
    if not SPECIALISE_EXPONENTS or len(model.state_names) > LANE_MAX_STATES:
        return {}
    return specialised_exponents(model)


def generate_source(sym: SymbolicModel | SensitivitySymbolic, lanes: bool = True, mvec: int = 0) -> str:
    """Full C source: generated model functions followed by the solver core, in one text (``lanes=False``:
    no lane solver).

    For a model of more than :data:`LANE_MAX_STATES` states, the part units of :func:`generate_units`
    come first (each begins with a line starting :data:`UNIT_MARK`), then the main unit; the text
    compiles as one file as well as unit by unit."""
    units = generate_units(sym, lanes, mvec)
    return "\n".join(units[1:] + units[:1])


def generate_units(sym: SymbolicModel | SensitivitySymbolic, lanes: bool = True, mvec: int = 0) -> list[str]:
    """C sources of one library: the main unit (model functions and the solver core), then the part
    units of a large model, each compiled on its own (in parallel) and linked with the main unit.

    A model of at most :data:`LANE_MAX_STATES` states has one unit, whose model functions are
    ``static`` so that the C compiler inlines them into the solver core.  A larger model has its
    right-hand side, Jacobian, observables and derived parameters in parts of :data:`CHUNK` outputs
    (:func:`_function`), each a unit: the C compiler's time on one huge function grows faster than
    linearly with its size, and units compile side by side.

    The Jacobian ``J`` and the factors ``E`` are stored packed (their structural non-zeros only,
    :func:`sparse_lu.layout`); ``bm_jrow``/``bm_jcol`` give the row and column of each stored
    Jacobian entry, for the solver core's dense fallback and products with ``J``.

    ``mvec``: the width of libmvec's vector ``exp``/``log`` to call (``toolchain.mvec_width``; the library is
    linked with ``-lmvec``), or 0 for C's ``exp``/``log``; a model without lanes (``lanes=False``, or more than
    :data:`LANE_MAX_STATES` states) always calls C's."""
    from ..errors import CompileError

    printer = _printer()
    n, npar, no = len(sym.y), len(sym.p), len(sym.observables)
    check_size(sym.model.name, n)
    chunked = n > LANE_MAX_STATES
    parts: list[str] | None = [] if chunked else None
    if chunked or not lanes:
        mvec = 0  # no lanes: a vector call per exp/log would only cost (one member's calls are not packed in parts)
    hoist = Hoister(sym.y)
    # a large model's right-hand side keeps its own form: bringing each term over one denominator costs
    # sympy ~5 ms a term (Chen_MSB2009: 20 s), for a few divisions fewer per evaluation
    ys = frozenset(sym.y)

    def rhs_form(exprs: Sequence) -> list:
        out = [hoist_calls(e, hoist, ys) if chunked else one_division(hoist_calls(e, hoist, ys)) for e in exprs]
        if not chunked and SHARED_RECIPROCALS:
            out, reciprocal_form = shared_reciprocals(out, hoist, ys)
            if reciprocal_form and HOIST_RHS:
                out = [hoist(e) for e in out]
        return out

    rhs_exprs = rhs_form(sym.rhs)
    # the exponent parameters at the model's values (exponents.py): a second right-hand side and Jacobian
    spec = {} if chunked or not isinstance(sym, SymbolicModel) else substitution(sym, specialisation(sym.model))
    spec_rhs = [e.xreplace(spec) for e in sym.rhs] if spec else []
    if spec and all(a == b for a, b in zip(spec_rhs, sym.rhs)):
        spec = {}
    spec_rhs = rhs_form(spec_rhs) if spec else []
    entries = sym.jacobian_entries
    nz = sorted(entries)
    pattern = set(nz)
    # a large forward-sensitivity system solves with the sparse LU of its states' block (BM_SENS_N)
    sens_n = _sensitivity_blocks(sym, pattern) if chunked and SENSITIVITY_BLOCKS else 0
    if sens_n:
        inner = set(sym.base.jacobian_entries)  # type: ignore[union-attr]
        if lu_operations(sens_n, inner) > LU_STRAIGHT_MAX_OPS:
            sens_n = 0
    if sens_n:
        jslot = {e: k for k, e in enumerate(nz)}
        eslot = layout(sens_n, inner)[1]
        coupling = [(i, j, jslot[(i, j)]) for i, j in nz if i >= sens_n and j < sens_n]
    else:
        jslot, eslot = layout(n, pattern)
    if len(eslot) > MAX_LU_ENTRIES:
        raise CompileError(
            f"model {sym.model.name!r}: the sparse LU of its {n}-state Jacobian ({len(nz)} non-zeros) would store "
            f"{len(eslot)} entries after fill-in, more than the {MAX_LU_ENTRIES} the code generator handles")
    jac_exprs = [hoist(entries[e]) for e in nz]
    spec_jac = [hoist(entries[e].xreplace(spec)) for e in nz] if spec else []
    obs_exprs = [hoist(o) for o in sym.observables]
    nq = len(hoist) + (1 if spec else 0)  # the last derived parameter: the specialised form's flag
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
        *([f"#define BM_NLU_X {len(eslot)}", f"#define BM_NSC {len(coupling)}",
            "#define BM_NLU (BM_NLU_X + BM_NSC)"] if sens_n else [f"#define BM_NLU {len(eslot)}"]),
        *([f"/* forward sensitivities of {sens_n} states: block lower-triangular Jacobian (solver_core.c) */",
            f"#define BM_SENS_N {sens_n}"] if sens_n else []),
        "#include <math.h>",
        "#include <string.h>",
        *helpers(mvec),
        "/* 4 doubles: state vectors of the one-member solver are held as BM_NV of these */",
        "typedef double bm_v4 __attribute__((vector_size(32)));",
        "/* row and column of each stored Jacobian entry (J[k] = df_row/dy_col) */",
        f"static const int bm_jrow[BM_NJ] = {{{', '.join(str(i) for i, _ in nz) or '0'}}};",
        f"static const int bm_jcol[BM_NJ] = {{{', '.join(str(j) for _, j in nz) or '0'}}};",
        *(["/* coupling of the sensitivities to the states: J[bm_sc_k[s]] = df_bm_sc_row/dy_bm_sc_col, "
            "row >= BM_SENS_N, col < BM_SENS_N */",
            f"static const int bm_sc_row[BM_NSC] = {{{', '.join(str(i) for i, _, _ in coupling)}}};",
            f"static const int bm_sc_col[BM_NSC] = {{{', '.join(str(j) for _, j, _ in coupling)}}};",
            f"static const int bm_sc_k[BM_NSC] = {{{', '.join(str(k) for _, _, k in coupling)}}};"]
          if sens_n else []),
        "",
        "/* derived parameters p[BM_NP + k] (parameter-only subexpressions, hoist.py) from p[0 .. BM_NP-1] */",
    ]
    derive = _function("static void bm_derive(double *p) {", "    (void)p;", hoist.definitions,
                       [f"p[{npar + k}]" for k in range(len(hoist))], sym, printer, None, parts, mvec=mvec)
    if spec:
        assert derive[-2:] == ["}", ""], derive[-2:]
        out += [f"#define BM_SPEC {npar + nq - 1}", *derive[:-2], flag_line(sym, spec, npar + nq - 1), "}", ""]
    else:
        out += derive
    rhs_header = "static void bm_rhs(const double *y, const double *p, double *dy) {"
    vec_header = "static inline void bm_rhs_vec(const double *y, const double *p, bm_v4 *dv) {"
    jac_header = "static void bm_jac(const double *y, const double *p, double *J) {"
    if spec:  # both forms, and bm_rhs, bm_rhs_vec, bm_jac choosing between them by BM_SPEC
        for form, exprs in (("g", rhs_exprs), ("s", spec_rhs)):
            rhs = _block(exprs, [f"dy[{i}]" for i in range(n)], sym, printer, hoist, log_powers=LOG_POWERS)
            out += [rhs_header.replace("bm_rhs(", f"bm_rhs_{form}("), "    (void)y; (void)p;"] + rhs + ["}", ""]
            out += [line.replace("bm_rhs_vec(", f"bm_rhs_vec_{form}(") for line in _vector_rhs(n, rhs)]
        for form, exprs in (("g", jac_exprs), ("s", spec_jac)):
            out += _function(jac_header.replace("bm_jac(", f"bm_jac_{form}("), "    (void)y; (void)p;", exprs,
                             [f"J[{jslot[e]}]" for e in nz], sym, printer, hoist, None, log_powers=LOG_POWERS)
        out += dispatch(rhs_header, "bm_rhs", "y, p, dy") + dispatch(vec_header, "bm_rhs_vec", "y, p, dv")
        out += dispatch(jac_header, "bm_jac", "y, p, J")
    elif not chunked:
        rhs = _block(rhs_exprs, [f"dy[{i}]" for i in range(n)], sym, printer, hoist, log_powers=LOG_POWERS)
        out += [rhs_header, "    (void)y; (void)p;"] + rhs + ["}", ""]
        out += _vector_rhs(n, rhs)
    else:
        out += _function(rhs_header, "    (void)y; (void)p;", rhs_exprs, [f"dy[{i}]" for i in range(n)], sym,
                         printer, hoist, parts, mvec=mvec)
        out += ["static inline void bm_rhs_vec(const double *y, const double *p, bm_v4 *dv) {",
                "    double d[BM_NVP];", "    bm_rhs(y, p, d);", "    for (int i = BM_N; i < BM_NVP; ++i) d[i] = 0.0;",
                "    memcpy(dv, d, sizeof d);", "}", ""]
    # bm_jac writes the structural nonzeros (every stored entry)
    if not spec:
        out += _function(jac_header, "    (void)y; (void)p;", jac_exprs, [f"J[{jslot[e]}]" for e in nz], sym,
                         printer, hoist, parts, log_powers=LOG_POWERS, mvec=mvec)
    if sens_n:  # straight-line code of the states' block (solver_core.c solves block by block)
        out.append(lu_source(sens_n, inner))
    elif parts is None:
        out.append(lu_source(n, pattern))
    elif lu_operations(n, pattern) > LU_STRAIGHT_MAX_OPS:
        # index tables: straight-line code of this many operations would dominate the compile
        out.append(lu_table_source(n, pattern))
    else:  # straight-line code, a unit of its own
        lu = lu_source(n, pattern)
        for decl in _LU_FUNCTIONS:
            assert f"static {decl} {{" in lu, decl
            lu = lu.replace(f"static {decl} {{", f"{decl} {{")
            out.append(f"{PART_ATTR} {decl};")
        parts.append(f"{UNIT_MARK}bm_lu */\n#include <math.h>\n" + "\n".join(f"{PART_ATTR} {d};" for d in _LU_FUNCTIONS)
                     + "\n" + lu)
    inverse = not sens_n and use_inverse(n, pattern)
    if inverse:
        out += ["#define BM_HAVE_INV 1", inverse_source(n, pattern)]
    out += _function("static void bm_obs(const double *y, const double *p, double *o) {",
                     "    (void)y; (void)p; (void)o;", obs_exprs, [f"o[{k}]" for k in range(no)], sym, printer, hoist,
                     parts, mvec=mvec)
    out += event_source(sym, lambda exprs, targets: _block(exprs, targets, sym, printer), printer)
    if lanes and n <= LANE_MAX_STATES:
        solve = ("bm_inv_fast", "bm_matvec") if inverse else ("bm_solve_fast",)
        model_functions = ("bm_rhs_g", "bm_rhs_s", "bm_jac_g", "bm_jac_s") if spec else ("bm_rhs", "bm_jac")
        out += [f"#define BM_L {DEFAULT_LANES}",
                lane_functions("\n".join(out), model_functions + ("bm_build_E", "bm_lu_fast") + solve, mvec)]
        if spec:
            out += lane_dispatch("bm_rhs", "const double *restrict y, const double *restrict p, double *restrict dy",
                                  "dy", "BM_N")
            out += lane_dispatch("bm_jac", "const double *restrict y, const double *restrict p, double *restrict J",
                                  "J", "BM_NJ")
    text = "\n".join(out)
    if mvec and not chunked:  # the one-member solver's calls, up to mvec in one (the lanes' text is made above)
        names = ("bm_rhs", "bm_rhs_vec", "bm_jac")
        text = pack_calls(text, tuple(f"{f}_{form}" for f in names for form in "gs") if spec else names, mvec)
    return [text + "\n" + solver_core_source()] + (parts or [])

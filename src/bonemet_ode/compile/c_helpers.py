"""The C helpers that generated model code calls: ``bm_fmax``/``bm_fmin``, powers through logarithms, and
``bm_exp``/``bm_log`` (C's ``exp``/``log``, or glibc libmvec's vector functions: docs/backend.md).

Every unit of generated code (:mod:`~bonemet_ode.compile.codegen`) starts with :func:`helpers`; the lane solver
(:mod:`~bonemet_ode.compile.lanes`) writes calls of the vector forms ``bm_exp_n``/``bm_log_n``.
"""

from __future__ import annotations

from ..errors import CompileError
from .toolchain import MVEC_NAMES

__all__ = ["HELPERS", "helpers"]

#: Helper functions the printed expressions may call (in every unit), before those of :func:`helpers`.
HELPERS = (
    "/* fmax/fmin as C99 defines them for numbers and NaN (a NaN argument gives the other one), written as",
    " * comparisons: a call to libm's fmax keeps the lane loops (lanes.py) from vectorising */",
    "static inline double bm_fmax(double a, double b) { return (a > b || b != b) ? a : b; }",
    "static inline double bm_fmin(double a, double b) { return (a < b || b != b) ? a : b; }",
    "/* a normal, positive, finite number (NaN: no): a power of it may be computed as exp(e log x) */",
    "static inline int bm_normal(double x) { return x >= 2.2250738585072014e-308 && x <= 1.7976931348623157e308; }",
    "/* C's pow, where a power through logarithms does not apply (a name of its own: the lane solver",
    " * computes the plain pow calls before its loop, lanes.py, and these are needed on rare lanes only) */",
    "static inline double bm_pow_c(double x, double e) { return pow(x, e); }",
    "/* a product of powers through logarithms (rewrites.log_powers): exp of the sum of exponents times logs where",
    " * every base is normal, else the product of C's pow (the lane solver writes this out, lanes.py) */",
    "#define BM_POWLOG(test, fast, slow) ((test) ? bm_exp(fast) : (slow))",
)


def helpers(mvec: int) -> tuple[str, ...]:
    """:data:`HELPERS` and ``bm_exp``/``bm_log``: C's ``exp``/``log`` (``mvec`` 0), or libmvec's vector function
    of ``mvec`` doubles (``toolchain.mvec_width``) with the argument in every element, element 0 taken (the lane
    solver calls the same function on the arguments of all its lanes, lanes.py: the same numbers)."""
    if not mvec:
        return HELPERS + ("static inline double bm_exp(double x) { return exp(x); }",
                           "static inline double bm_log(double x) { return log(x); }")
    if mvec not in MVEC_NAMES:
        raise CompileError(f"libmvec width must be 0 or one of {sorted(MVEC_NAMES)} doubles, got {mvec!r}")
    exp_name, log_name = MVEC_NAMES[mvec]
    every = ", ".join(["x"] * mvec)
    return HELPERS + (
        f"/* libmvec's exp and log of {mvec} doubles (each element on its own: element 0 of a call with x in",
        " * every element is the value the lane solver's call gives a lane with argument x) */",
        f"#define BM_MVEC {mvec}",
        f"typedef double bm_vm __attribute__((vector_size({8 * mvec})));",
        f"bm_vm {exp_name}(bm_vm);",
        f"bm_vm {log_name}(bm_vm);",
        f"#define BM_EXPV {exp_name}",
        f"#define BM_LOGV {log_name}",
        f"static inline double bm_exp(double x) {{ return {exp_name}((bm_vm){{{every}}})[0]; }}",
        f"static inline double bm_log(double x) {{ return {log_name}((bm_vm){{{every}}})[0]; }}",
        "/* r[k] = exp(a[k]) or log(a[k]) for the n (a multiple of BM_MVEC) elements of a */",
        "static inline void bm_exp_n(const double *restrict a, double *restrict r, int n) {",
        f"    for (int k = 0; k < n; k += {mvec}) {{ bm_vm v; memcpy(&v, a + k, sizeof v); v = {exp_name}(v); "
        "memcpy(r + k, &v, sizeof v); }",
        "}",
        "static inline void bm_log_n(const double *restrict a, double *restrict r, int n) {",
        f"    for (int k = 0; k < n; k += {mvec}) {{ bm_vm v; memcpy(&v, a + k, sizeof v); v = {log_name}(v); "
        "memcpy(r + k, &v, sizeof v); }",
        "}",
    )

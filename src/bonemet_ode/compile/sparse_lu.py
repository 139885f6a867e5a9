"""Generated sparse LU for the solver's iteration matrix ``E = I/(h*gamma) - J``.

The sparsity of ``J`` is known when code is generated, so the factorisation
and the triangular solves are emitted as straight-line C for that pattern: a
symmetric minimum-degree elimination order (which keeps the diagonal — the
dominant ``1/(h*gamma)`` term — as pivots), the fill-in computed
symbolically, reciprocal pivots stored so the solves only multiply.  When a
pivot is tiny relative to ``1/(h*gamma)`` the solver falls back to the dense
LU with partial pivoting for that step (see ``solver_core.c``).
"""

from __future__ import annotations

__all__ = ["elimination_plan", "lu_source"]


def elimination_plan(n: int, pattern: set[tuple[int, int]]) -> tuple[list[int], list[tuple[int, list[int], list[int]]], set[tuple[int, int]]]:
    """Minimum-degree order, the per-pivot rows/columns to update, and the filled pattern."""
    pat = set(pattern) | {(i, i) for i in range(n)}
    remaining = set(range(n))
    order: list[int] = []
    steps = []
    while remaining:
        def degree(k: int) -> tuple[int, int]:
            r = sum(1 for i in remaining if i != k and ((i, k) in pat or (k, i) in pat))
            return (r, k)

        k = min(remaining, key=degree)
        remaining.discard(k)
        rows = sorted(i for i in remaining if (i, k) in pat)
        cols = sorted(j for j in remaining if (k, j) in pat)
        for i in rows:
            for j in cols:
                pat.add((i, j))
        order.append(k)
        steps.append((k, rows, cols))
    return order, steps, pat


def lu_source(n: int, pattern: set[tuple[int, int]]) -> str:
    """C functions ``bm_build_E``, ``bm_lu_fast`` and ``bm_solve_fast`` for the pattern of ``J``."""
    order, steps, filled = elimination_plan(n, pattern)
    jpat = sorted(pattern)
    lines = [
        f"/* sparse LU: elimination order {order}, {len(filled)} stored entries of {n * n} */",
        "static void bm_build_E(const double *J, double fac, double *E) {",
    ]
    for i, j in sorted(filled):
        src = f"-J[{i * n + j}]" if (i, j) in pattern else "0.0"
        if i == j:
            src = f"fac {src[0] if src != '0.0' else '+'} {src[1:] if src != '0.0' else '0.0'}"
        lines.append(f"    E[{i * n + j}] = {src};")
    lines += ["}", "", "static int bm_lu_fast(double *E, double *dinv, double tol) {", "    double l;"]
    for k, rows, cols in steps:
        lines.append(f"    if (!(fabs(E[{k * n + k}]) > tol)) return 1;")
        lines.append(f"    dinv[{k}] = 1.0 / E[{k * n + k}];")
        for i in rows:
            lines.append(f"    l = E[{i * n + k}] * dinv[{k}]; E[{i * n + k}] = l;")
            for j in cols:
                lines.append(f"    E[{i * n + j}] -= l * E[{k * n + j}];")
    lines += ["    return 0;", "}", "", "static void bm_solve_fast(const double *E, const double *dinv, double *b) {"]
    for k, rows, _ in steps:
        for i in rows:
            lines.append(f"    b[{i}] -= E[{i * n + k}] * b[{k}];")
    for k, _, cols in reversed(steps):
        terms = "".join(f" - E[{k * n + j}] * b[{j}]" for j in cols)
        lines.append(f"    b[{k}] = (b[{k}]{terms}) * dinv[{k}];")
    lines += ["}", ""]
    _ = jpat
    return "\n".join(lines)

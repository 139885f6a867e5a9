"""Generated sparse LU for the solver's iteration matrix ``E = I/(h*gamma) - J``.

The sparsity of ``J`` is known when code is generated, so the factorisation
and the triangular solves are emitted as straight-line C for that pattern: a
symmetric minimum-degree elimination order (which keeps the diagonal — the
dominant ``1/(h*gamma)`` term — as pivots), the fill-in computed
symbolically, reciprocal pivots stored so the solves only multiply.  Only the
filled pattern is stored (``layout``: entry ``(i, j)`` at a slot of a packed
array), so memory and code grow with the non-zeros, not with ``n**2``.  The
static pivots are checked as threshold partial pivoting would check them: when
a pivot is tiny relative to ``1/(h*gamma)`` or elimination moved it more than
:data:`PIVOT_GROWTH`-fold from its diagonal entry, the step factors with
partial pivoting instead
(dense LU, see ``solver_core.c``).  Where the
products stay of low degree, the factorisation defers its divisions: entries
are carried as numerators over products of earlier pivots, so no division
waits on another (``_deferred_lu``; 5 % of a reference solve).

A Rosenbrock step solves with the same matrix once per stage, and each
triangular solve is a chain of dependent multiply-adds.  When the explicit
inverse is not much larger than the factors (small or loosely coupled
systems), it is formed once per step from the factors (its columns are
independent solves, which run side by side) and each stage solve becomes a
matrix-vector product with a shallow dependency tree (``bm_inv_fast``,
``bm_matvec``; ``BM_HAVE_INV``).  Entries that are structurally zero are
neither stored nor multiplied.
"""

from __future__ import annotations

import functools

__all__ = ["elimination_plan", "layout", "lu_source", "lu_table_source", "lu_operations",
           "inverse_source", "inverse_pattern", "padded", "use_inverse"]

#: The inverse is used when its structural non-zeros are at most this many times the multiply-adds of one
#: triangular solve pair (measured on perf_reference and bone_metastasis, docs/backend.md).
INVERSE_MAX_RATIO = 3.0


#: Bound on how far elimination may move a static pivot: the pivot ``u_kk`` must stay within a factor
#: ``1/PIVOT_GROWTH .. PIVOT_GROWTH`` of the diagonal entry ``a_kk`` it started from, otherwise the step
#: factors with partial pivoting instead (solver_core.c).  A pivot that grew or shrank that much carries a
#: rounding error of about PIVOT_GROWTH ulps of ``a_kk`` (``|L||U|`` against ``|A|`` on the diagonal):
#: static pivoting on ``[[1e-6, 1], [1, 1]]`` grows the second pivot 1e6-fold and loses six digits.  The
#: ratio is unchanged by a change of the states' units (a similarity scaling of ``J``), unlike the size
#: of the multipliers, which on the built-in models reaches 1e5 at ordinary step sizes only because
#: their states differ by many orders of magnitude.  Measured there over whole solves: ratios 0.2-4.5
#: at h = 30 days, 1.0 at h <= 1 day (the check never fires).
PIVOT_GROWTH = 10.0

#: The explicit inverse is considered only for systems of at most this many states (it is stored dense).
INVERSE_MAX_STATES = 128


def _plan(n: int, pattern: frozenset) -> tuple[list[int], list[tuple[int, list[int], list[int]]], set[tuple[int, int]]]:
    """Minimum-degree elimination on the (unsymmetric) pattern with the diagonal, filling as it goes.

    The degree of a remaining index is its number of remaining neighbours in the symmetrised filled
    pattern; ties go to the lower index.  Degrees are kept in a heap and updated for the neighbours of
    each pivot only, so the cost grows with the fill, not with ``n**2`` (or ``n**3``) as a scan of all
    remaining indices at every pivot would."""
    import heapq

    rows_of: list[set[int]] = [{i} for i in range(n)]  # row k of the filled pattern: its column indices
    cols_of: list[set[int]] = [{j} for j in range(n)]  # column k: its row indices
    for i, j in pattern:
        rows_of[i].add(j)
        cols_of[j].add(i)
    filled = {(i, i) for i in range(n)} | set(pattern)
    adj = [(rows_of[k] | cols_of[k]) - {k} for k in range(n)]  # remaining neighbours
    heap = [(len(adj[k]), k) for k in range(n)]
    heapq.heapify(heap)
    done = [False] * n
    order: list[int] = []
    steps = []
    while heap:
        d, k = heapq.heappop(heap)
        if done[k] or d != len(adj[k]):
            continue
        done[k] = True
        rows = sorted(i for i in cols_of[k] if not done[i])
        cols = sorted(j for j in rows_of[k] if not done[j])
        for i in rows:
            for j in cols:
                if (i, j) not in filled:
                    filled.add((i, j))
                    rows_of[i].add(j)
                    cols_of[j].add(i)
                    if i != j:
                        adj[i].add(j)
                        adj[j].add(i)
        for m in adj[k]:
            adj[m].discard(k)
            heapq.heappush(heap, (len(adj[m]), m))
        adj[k] = set()
        order.append(k)
        steps.append((k, rows, cols))
    return order, steps, filled


def elimination_plan(
    n: int, pattern: set[tuple[int, int]],
) -> tuple[list[int], list[tuple[int, list[int], list[int]]], set[tuple[int, int]]]:
    """Minimum-degree order, the per-pivot rows/columns to update, and the filled pattern (with the diagonal).

    Cached per pattern (code generation asks several times); callers must not modify the result."""
    return _plan_cached(n, frozenset(pattern))


@functools.lru_cache(maxsize=8)
def _plan_cached(n: int, pattern: frozenset):
    return _plan(n, pattern)


def layout(n: int, pattern: set[tuple[int, int]]) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    """Where entries are stored: ``J[jslot[(i, j)]]`` for the Jacobian's non-zeros (row-major order) and
    ``E[eslot[(i, j)]]`` for the filled pattern of the factors (row-major order).  Only structural
    non-zeros are stored, so the arrays grow with the model's non-zeros, not with ``n**2``."""
    _, _, filled = elimination_plan(n, pattern)
    return {e: k for k, e in enumerate(sorted(pattern))}, {e: k for k, e in enumerate(sorted(filled))}


def _pivot_check(pivot: str, start: str) -> str:
    """The test that pivot ``pivot`` stayed within :data:`PIVOT_GROWTH` of its starting value ``start``
    (NaN fails it): the step takes the pivoting LU when it fails."""
    g = repr(PIVOT_GROWTH)
    return f"    if (!(fabs({pivot}) * {g} >= fabs({start}) && fabs({pivot}) <= {g} * fabs({start}))) return 1;"


def _updated_pivots(steps: list[tuple[int, list[int], list[int]]]) -> set[int]:
    """Indices whose diagonal entry is changed by the elimination of an earlier pivot."""
    return {i for _, rows, cols in steps for i in rows if i in cols}


def lu_source(n: int, pattern: set[tuple[int, int]]) -> str:
    """C functions ``bm_build_E``, ``bm_lu_fast`` and ``bm_solve_fast`` for the pattern of ``J``.

    ``bm_lu_fast`` returns 1 when a pivot is below ``tol`` or moved more than :data:`PIVOT_GROWTH`-fold
    from its starting value (the static order is then unsafe for this matrix)."""
    order, steps, filled = elimination_plan(n, pattern)
    js, es = layout(n, pattern)
    lines = [
        f"/* sparse LU: {len(filled)} stored entries of {n * n}, minimum-degree order"
        + (f" {order}" if n <= 64 else "") + " */",
        "static void bm_build_E(const double *J, double fac, double *E) {",
    ]
    for i, j in sorted(filled):
        src = f"-J[{js[(i, j)]}]" if (i, j) in pattern else "0.0"
        if i == j:
            src = f"fac {src[0] if src != '0.0' else '+'} {src[1:] if src != '0.0' else '0.0'}"
        lines.append(f"    E[{es[(i, j)]}] = {src};")
    lines += ["}", ""]
    deferred = _deferred_lu(n, steps, es)
    if deferred is not None:
        lines += deferred
    else:
        lines += ["static int bm_lu_fast(double *E, double *dinv, double tol) {", "    double l;"]
        updated = _updated_pivots(steps)
        lines += [f"    const double a{k} = E[{es[(k, k)]}];" for k, _, _ in steps if k in updated]
        for k, rows, cols in steps:
            lines.append(f"    if (!(fabs(E[{es[(k, k)]}]) > tol)) return 1;")
            if k in updated:
                lines.append(_pivot_check(f"E[{es[(k, k)]}]", f"a{k}"))
            lines.append(f"    dinv[{k}] = 1.0 / E[{es[(k, k)]}];")
            for i in rows:
                lines.append(f"    l = E[{es[(i, k)]}] * dinv[{k}]; E[{es[(i, k)]}] = l;")
                for j in cols:
                    lines.append(f"    E[{es[(i, j)]}] -= l * E[{es[(k, j)]}];")
        lines += ["    return 0;", "}"]
    lines += ["", "static void bm_solve_fast(const double *E, const double *dinv, double *b) {"]
    for k, rows, _ in steps:
        for i in rows:
            lines.append(f"    b[{i}] -= E[{es[(i, k)]}] * b[{k}];")
    solved = {k: t for t, (k, _, _) in enumerate(reversed(steps))}  # when each unknown is solved going back
    for k, _, cols in reversed(steps):
        lines.append(_back_row(f"b[{k}]", f"dinv[{k}]",
                               [(f"E[{es[(k, j)]}]", f"b[{j}]") for j in sorted(cols, key=lambda j: solved[j])]))
    lines += ["}", ""]
    return "\n".join(lines)


#: Write the backward solve's rows as ``b_k dinv_k - (u_kj dinv_k) b_j - ...`` (:func:`_back_row`).
SCALED_BACK_SOLVE = True


def _back_row(bk: str, dk: str, terms: list[tuple[str, str]]) -> str:
    """One row of the backward solve, ``b_k = (b_k - sum_j u_kj b_j) / u_kk``.

    With :data:`SCALED_BACK_SOLVE` the row is ``b_k dinv_k - (u_kj dinv_k) b_j - ...``: the products
    ``u_kj dinv_k`` do not depend on the solution, so the chain from one solved unknown to the next is a
    multiplication and a subtraction (~7 cycles) instead of a multiplication, a subtraction and the
    scaling (~11): the solves are on the Rosenbrock stages' critical path (8 per step)."""
    if not SCALED_BACK_SOLVE or not terms:
        return f"    {bk} = ({bk}{''.join(f' - {u} * {x}' for u, x in terms)}) * {dk};"
    return f"    {bk} = {bk} * {dk}{''.join(f' - ({u} * {dk}) * {x}' for u, x in terms)};"


def lu_operations(n: int, pattern: set[tuple[int, int]]) -> int:
    """Multiply-adds of one factorisation and one solve in the elimination order: the size of the
    straight-line code of :func:`lu_source` (one statement each)."""
    _, steps, _ = elimination_plan(n, pattern)
    return sum(len(rows) * (2 + len(cols)) + len(cols) for _, rows, cols in steps)


def _int_table(name: str, values: list[int]) -> str:
    rows = [", ".join(map(str, values[k:k + 32])) for k in range(0, len(values), 32)]
    return f"static const int {name}[{max(len(values), 1)}] = {{\n" + (",\n".join(rows) or "0") + "\n};"


def lu_table_source(n: int, pattern: set[tuple[int, int]]) -> str:
    """``bm_build_E``, ``bm_lu_fast`` and ``bm_solve_fast`` as loops over index tables, for large models.

    The same factorisation, pivot checks and solves as :func:`lu_source` in its classic form (the
    same operations on the same packed entries in the same order, so the same roundings), but the
    elimination is data (``bm_lu_tab``), not straight-line code: the C compiler's time no longer grows
    with the factors' entries (the straight-line form of a 500-state model's factors was 1.8 MB of C,
    most of its compile time), and the code a step runs fits in the instruction cache.

    ``bm_lu_tab`` holds, per pivot in elimination order: ``k``, the slot of ``E_kk``, 1 if earlier
    pivots update ``E_kk`` (its growth is checked), the numbers of rows ``r`` and columns ``c`` below
    and right of the pivot, ``c`` pairs ``(j, slot of E_kj)``, then per row ``(i, slot of E_ik)``
    followed by the ``c`` slots of ``E_ij``.  ``bm_lu_step[s]`` is where pivot ``s`` starts."""
    order, steps, filled = elimination_plan(n, pattern)
    js, es = layout(n, pattern)
    updated = _updated_pivots(steps)
    tab: list[int] = []
    starts: list[int] = []
    for k, rows, cols in steps:
        starts.append(len(tab))
        tab += [k, es[(k, k)], int(k in updated), len(rows), len(cols)]
        for j in cols:
            tab += [j, es[(k, j)]]
        for i in rows:
            tab += [i, es[(i, k)]] + [es[(i, j)] for j in cols]
    src = [-1] * len(es)
    diag = [0] * len(es)
    for (i, j), slot in es.items():
        if (i, j) in pattern:
            src[slot] = js[(i, j)]
        diag[slot] = int(i == j)
    g = repr(PIVOT_GROWTH)
    lines = [
        f"/* sparse LU (index tables): {len(filled)} stored entries of {n * n}, minimum-degree order */",
        _int_table("bm_lu_tab", tab), _int_table("bm_lu_step", starts), _int_table("bm_E_src", src),
        _int_table("bm_E_diag", diag),
        "static void bm_build_E(const double *J, double fac, double *E) {",
        "    for (int s = 0; s < BM_NLU; ++s) {",
        "        const double v = bm_E_src[s] >= 0 ? -J[bm_E_src[s]] : 0.0;",
        "        E[s] = bm_E_diag[s] ? fac + v : v;",
        "    }",
        "}",
        "",
        "static int bm_lu_fast(double *E, double *dinv, double tol) {",
        "    /* the starting values of the pivots that elimination updates, kept in dinv until their turn */",
        "    for (int s = 0; s < BM_N; ++s) {",
        "        const int *h = bm_lu_tab + bm_lu_step[s];",
        "        if (h[2]) dinv[h[0]] = E[h[1]];",
        "    }",
        "    for (int s = 0; s < BM_N; ++s) {",
        "        const int *h = bm_lu_tab + bm_lu_step[s];",
        "        const int k = h[0], nr = h[3], nc = h[4];",
        "        const double piv = E[h[1]];",
        "        if (!(fabs(piv) > tol)) return 1;",
        f"        if (h[2] && !(fabs(piv) * {g} >= fabs(dinv[k]) && fabs(piv) <= {g} * fabs(dinv[k]))) return 1;",
        "        dinv[k] = 1.0 / piv;",
        "        const int *kj = h + 5, *t = h + 5 + 2 * nc;",
        "        for (int r = 0; r < nr; ++r, t += 2 + nc) {",
        "            const double l = E[t[1]] * dinv[k];",
        "            E[t[1]] = l;",
        "            for (int c = 0; c < nc; ++c) E[t[2 + c]] -= l * E[kj[2 * c + 1]];",
        "        }",
        "    }",
        "    return 0;",
        "}",
        "",
        "static void bm_solve_fast(const double *E, const double *dinv, double *b) {",
        "    for (int s = 0; s < BM_N; ++s) {",
        "        const int *h = bm_lu_tab + bm_lu_step[s];",
        "        const int k = h[0], nr = h[3], nc = h[4];",
        "        const int *t = h + 5 + 2 * nc;",
        "        for (int r = 0; r < nr; ++r, t += 2 + nc) b[t[0]] -= E[t[1]] * b[k];",
        "    }",
        "    for (int s = BM_N - 1; s >= 0; --s) {",
        "        const int *h = bm_lu_tab + bm_lu_step[s];",
        "        const int k = h[0], nc = h[4];",
        "        double acc = b[k];",
        "        for (int c = 0; c < nc; ++c) acc -= E[h[6 + 2 * c]] * b[h[5 + 2 * c]];",
        "        b[k] = acc * dinv[k];",
        "    }",
        "}",
        "",
    ]
    return "\n".join(lines)


#: Largest degree (number of factors of E's entries in one product) the division-deferred factorisation
#: may reach; beyond it the classic form is generated.  Entries are at most ~1e14 (1/(h gamma) at the
#: smallest step), so products of 6 stay far inside the double range; an overflow would show as a
#: non-finite pivot, which sends the step to the dense LU.
DEFERRED_MAX_DEGREE = 6


def _product(names: list[str]) -> str:
    """``a * b * ...`` multiplied pairwise (shallow dependency tree); "1.0" when empty."""
    return _pairwise(list(names), "*") or "1.0"


def _deferred_lu(n: int, steps: list[tuple[int, list[int], list[int]]], es: dict | None = None) -> list[str] | None:
    """``bm_lu_fast`` with the pivots' divisions taken off the elimination's dependency chain.

    The classic form divides by each pivot before the entries that depend on it can be updated, so a
    pivot that depends on earlier pivots waits for their divisions one after another (three in a
    row on perf_reference: about 40 of a step's ~800 cycles).  Here every updated entry is carried as
    a numerator N over a product D of earlier pivots' numerators q (``E_ij = N_ij / D_ij``):
    ``E_ij - E_ik E_kj / p_k`` becomes one numerator over a common denominator with multiplications
    only.  When the elimination is done, each pivot numerator gets one division (``r_k = 1/q_k``; they
    are independent of one another) and the factors are formed from N, D and r as the classic form
    stores them (multipliers in L, U, reciprocal pivots), so the solves and the inverse are unchanged.
    Returns None (use the classic form) when a numerator would exceed :data:`DEFERRED_MAX_DEGREE`.
    """
    from collections import Counter

    if es is None:  # dense row-major storage
        es = {(i, j): i * n + j for i in range(n) for j in range(n)}
    num: dict[tuple[int, int], str] = {}         # (i, j) -> C expression of N_ij (an E entry or a local)
    den: dict[tuple[int, int], Counter[int]] = {}  # (i, j) -> Counter of pivot indices in D_ij
    deg: dict[tuple[int, int], int] = {}         # (i, j) -> degree of N_ij in E's entries
    qdeg: dict[int, int] = {}  # pivot k -> degree of q_k
    body: list[str] = []

    def get(i: int, j: int) -> tuple[str, Counter[int], int]:
        return num.get((i, j), f"E[{es[(i, j)]}]"), den.get((i, j), Counter()), deg.get((i, j), 1)

    def cdeg(c: Counter[int]) -> int:
        return sum(qdeg[m] * c[m] for m in c)

    def qs(c: Counter[int]) -> list[str]:
        return [f"q{m}" for m in sorted(c.elements())]

    for k, rows, cols in steps:
        nk, dk, gk = get(k, k)
        body.append(f"    const double q{k} = {nk};")
        qdeg[k] = gk
        for i in rows:
            ni, di, gi = get(i, k)
            for j in cols:
                nij, dij, gij = get(i, j)
                nkj, dkj, gkj = get(k, j)
                t = di + dkj + Counter({k: 1})       # denominator of E_ik E_kj / p_k before cancelling D_kk
                extra: Counter[int] = Counter()      # D_kk factors that do not cancel: numerator multipliers
                for m, c in dk.items():
                    cancel = min(c, t[m])
                    t[m] -= cancel
                    if c - cancel:
                        extra[m] += c - cancel
                t = +t
                common = dij | t
                m1, m2 = common - dij, (common - t) + extra
                d_new = max(gij + cdeg(m1), gi + gkj + cdeg(m2))
                if d_new > DEFERRED_MAX_DEGREE:
                    return None
                a = _product([nij] + qs(m1))
                b = _product([f"({ni} * {nkj})"] + qs(m2))
                var = f"n{i}_{j}_{k}"
                body.append(f"    const double {var} = {a} - {b};")
                num[(i, j)], den[(i, j)], deg[(i, j)] = var, common, d_new
    out = ["static int bm_lu_fast(double *E, double *dinv, double tol) {"]
    out += body
    order = [k for k, _, _ in steps]
    out += [f"    const double r{k} = 1.0 / q{k};" for k in order]

    def rs(c: Counter) -> list[str]:
        return [f"r{m}" for m in sorted(c.elements())]

    updated = _updated_pivots(steps)
    for k, rows, cols in steps:
        _, dk, _ = get(k, k)
        # pivot p_k = q_k / D_kk; 1/p_k = D_kk r_k
        out.append(f"    if (!(fabs({_product([f'q{k}'] + rs(dk))}) > tol)) return 1;")
        if k in updated:  # E's diagonal still holds the starting value (only off-diagonal factors are stored)
            out.append(_pivot_check(_product([f'q{k}'] + rs(dk)), f"E[{es[(k, k)]}]"))
        out.append(f"    dinv[{k}] = {_product(qs(dk) + [f'r{k}'])};")
        for i in rows:
            ni, di, _ = get(i, k)
            out.append(f"    E[{es[(i, k)]}] = {_product([ni] + rs(di) + [f'dinv[{k}]'])};")

        for j in cols:
            nkj, dkj, _ = get(k, j)
            if dkj:
                out.append(f"    E[{es[(k, j)]}] = {_product([nkj] + rs(dkj))};")
            elif nkj != f"E[{es[(k, j)]}]":
                out.append(f"    E[{es[(k, j)]}] = {nkj};")
    out += ["    return 0;", "}"]
    return out


def _column_solve(n: int, steps: list[tuple[int, list[int], list[int]]], c: int, es: dict | None = None
                  ) -> tuple[list[str], set[int]]:
    """Straight-line solve of ``E x = e_c`` with the factors, skipping structural zeros."""
    if es is None:
        es = {(i, j): i * n + j for i in range(n) for j in range(n)}
    nz = {c}
    code = [f"x{c} = 1.0;"]
    for k, rows, _ in steps:
        if k in nz:
            for i in rows:
                code.append(f"x{i} -= E[{es[(i, k)]}] * x{k};" if i in nz else f"x{i} = -E[{es[(i, k)]}] * x{k};")
                nz.add(i)
    for k, _, cols in reversed(steps):
        terms = "".join(f" - E[{es[(k, j)]}] * x{j}" for j in cols if j in nz)
        if k in nz:
            code.append(f"x{k} = (x{k}{terms}) * dinv[{k}];")
        elif terms:
            code.append(f"x{k} = (0.0{terms}) * dinv[{k}];")
            nz.add(k)
    return code, nz


def inverse_pattern(n: int, pattern: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Structural non-zeros ``(i, j)`` of ``E^-1`` for the Jacobian pattern (with the diagonal)."""
    _, steps, _ = elimination_plan(n, pattern)
    _, es = layout(n, pattern)
    return {(i, c) for c in range(n) for i in _column_solve(n, steps, c, es)[1]}


def solve_cost(n: int, pattern: set[tuple[int, int]]) -> int:
    """Multiply-adds of one forward + backward solve with the sparse factors (diagonal scalings included)."""
    _, steps, _ = elimination_plan(n, pattern)
    return sum(len(rows) + len(cols) + 1 for _, rows, cols in steps)


def use_inverse(n: int, pattern: set[tuple[int, int]]) -> bool:
    """Whether the explicit inverse pays: few enough non-zeros relative to a triangular solve pair
    (and at most :data:`INVERSE_MAX_STATES` states).  Stops counting once the budget is exceeded."""
    if n > INVERSE_MAX_STATES:
        return False
    _, steps, _ = elimination_plan(n, pattern)
    _, es = layout(n, pattern)
    budget = INVERSE_MAX_RATIO * solve_cost(n, pattern)
    count = 0
    for c in range(n):
        count += len(_column_solve(n, steps, c, es)[1])
        if count > budget:
            return False
    return True


def _pairwise(terms: list[str | None], op: str) -> str | None:
    """``a op b op ...`` combined pairwise (dependency depth log2 of the count) with the absent terms
    (None) left out of their pairs; None when every term is absent."""
    if not terms:
        return None
    while len(terms) > 1:
        paired: list[str | None] = []
        for k in range(0, len(terms) - 1, 2):
            a, b = terms[k], terms[k + 1]
            paired.append(f"({a} {op} {b})" if a is not None and b is not None else (a if b is None else b))
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
    return terms[0]


def _pruned_tree_sum(terms: list[str | None]) -> str | None:
    """``a + b + ...`` summed pairwise with the absent terms (None) left out of their pairs, so that a
    row summed over its non-zeros adds in the order of the block sum it is part of (:func:`_pairwise`)."""
    return _pairwise(terms, "+")


def padded(n: int) -> int:
    """``n`` rounded up to whole 4-wide vectors: the length of a column of the stored inverse."""
    return 4 * ((n + 3) // 4)


def inverse_source(n: int, pattern: set[tuple[int, int]]) -> str:
    """C functions ``bm_inv_fast`` (``X = E^-1`` from the factors), ``bm_matvec`` (``b <- X b``, one row
    at a time, for the lane solver) and ``bm_matvec_vec`` (the same product on 4-wide vectors, for the
    one-member solver).

    ``X`` is stored by columns, each padded to whole vectors: entry ``(i, j)`` at ``X[j*BM_NVP + i]``;
    entries that are structurally zero are never written (the solver clears ``X`` once).  The vector
    product sums, for each block of four rows, the columns with a non-zero in that block in a pairwise
    tree; ``bm_matvec`` sums each row in the same tree with its structural zeros left out, so both give
    the same numbers (the lane solver relies on this to match the one-member solver bit for bit).
    """
    _, steps, _ = elimination_plan(n, pattern)
    _, es = layout(n, pattern)
    ld = padded(n)
    lines = ["static void bm_inv_fast(const double *E, const double *dinv, double *X) {"]
    inv = set()
    for c in range(n):
        code, nz = _column_solve(n, steps, c, es)
        lines.append("    {")
        lines.append(f"        double {', '.join(f'x{i}' for i in sorted(nz))};")
        lines += [f"        {line}" for line in code]
        lines += [f"        X[{c * ld + i}] = x{i};" for i in sorted(nz)]
        lines.append("    }")
        inv |= {(i, c) for i in nz}
    blocks = [[j for j in range(n) if any((i, j) in inv for i in range(4 * h, min(4 * h + 4, n)))]
              for h in range(ld // 4)]
    lines += ["}", "", "static inline void bm_matvec(const double *X, double *b) {"]
    lines.append("    double " + ", ".join(f"x{i} = b[{i}]" for i in range(n)) + ";")
    for i in range(n):
        terms = [f"X[{j * ld + i}] * x{j}" if (i, j) in inv else None for j in blocks[i // 4]]
        lines.append(f"    b[{i}] = {_pruned_tree_sum(terms) or '0.0'};")
    lines += ["}", "", "static inline void bm_matvec_vec(const bm_v4 *X, bm_v4 *b) {"]
    lines.append("    const double " + ", ".join(f"x{i} = b[{i // 4}][{i % 4}]" for i in range(n)) + ";")
    for h, cols in enumerate(blocks):
        terms = [f"X[{j * (ld // 4) + h}] * x{j}" for j in cols]
        lines.append(f"    b[{h}] = {_pruned_tree_sum(terms) or '(bm_v4){0.0, 0.0, 0.0, 0.0}'};")
    lines += ["}", ""]
    return "\n".join(lines)

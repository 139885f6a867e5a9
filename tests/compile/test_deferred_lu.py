"""The division-deferred sparse LU (``sparse_lu._deferred_lu``) against numpy, on random patterns.

The generated ``bm_lu_fast`` and ``bm_solve_fast`` are straight-line C made of declarations,
assignments and pivot checks; they are run here as Python (the same statements, ``fabs`` -> ``abs``)
on random sparse patterns and random values, in both forms (deferred and classic), and the solve
of ``(fac*I - J) x = b`` is compared with ``numpy.linalg.solve``.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bonemet_ode.compile import sparse_lu
from bonemet_ode.compile.sparse_lu import elimination_plan, layout, lu_source


def _functions(src: str) -> dict[str, list[str]]:
    out, name, body = {}, None, []
    for line in src.splitlines():
        m = re.match(r"^static \w+ (bm_\w+)\(", line)
        if m:
            name, body = m.group(1), []
        elif line == "}" and name:
            out[name] = body
            name = None
        elif name:
            body.append(line.strip())
    return out


def _as_python(body: list[str]) -> str:
    py = []
    for s in body:
        if s in ("double l;", "return 0;"):
            continue
        m = re.match(r"^if \(!\((.*)\)\) return 1;$", s)
        if m:
            py.append(f"if not ({m.group(1).replace('fabs(', 'abs(').replace('&&', 'and')}): return 1")
            continue
        s = re.sub(r"^const double ", "", s)
        s = s.replace("fabs(", "abs(").rstrip(";")
        py.extend(part.strip() for part in s.split(";") if part.strip())
    return "\n".join("    " + line for line in py)


def _run(src: str, n: int, J: np.ndarray, fac: float, b: np.ndarray) -> tuple[int, np.ndarray]:
    f = _functions(src)
    ns: dict = {}
    exec("def build(J, fac, E):\n" + _as_python(f["bm_build_E"]) + "\n    return 0", ns)  # noqa: S102
    exec("def lu(E, dinv, tol):\n" + _as_python(f["bm_lu_fast"]) + "\n    return 0", ns)  # noqa: S102
    exec("def solve(E, dinv, b):\n" + _as_python(f["bm_solve_fast"]) + "\n    return 0", ns)  # noqa: S102
    pattern = {(i, j) for i in range(n) for j in range(n) if J[i, j] != 0.0}
    jslot, eslot = layout(n, pattern)
    Jp = [0.0] * max(len(jslot), 1)
    for (i, j), k in jslot.items():
        Jp[k] = J[i, j]
    E, dinv, x = [0.0] * len(eslot), [0.0] * n, list(b)
    ns["build"](Jp, fac, E)
    rc = ns["lu"](E, dinv, 1e-10 * fac)
    if rc == 0:
        ns["solve"](E, dinv, x)
    return rc, np.array(x)


@st.composite
def systems(draw):
    n = draw(st.integers(2, 9))
    density = draw(st.floats(0.1, 0.6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < density
    np.fill_diagonal(mask, rng.random(n) < 0.5)
    J = np.where(mask, rng.normal(size=(n, n)) * 10.0 ** rng.uniform(-3, 3, size=(n, n)), 0.0)
    log_h = draw(st.floats(-10.0, 2.0))
    return n, J, 1.0 / (10.0**log_h * 0.21193756319429014), rng.normal(size=n)


@settings(max_examples=150, deadline=None)
@given(systems())
def test_both_forms_solve_like_lapack(system):
    n, J, fac, b = system
    pattern = {(i, j) for i in range(n) for j in range(n) if J[i, j] != 0.0}
    A = fac * np.eye(n) - J
    cond = np.linalg.cond(A)
    if cond > 1e8:
        return
    ref = np.linalg.solve(A, b)
    deferred_src = lu_source(n, pattern)
    saved = sparse_lu.DEFERRED_MAX_DEGREE
    try:
        sparse_lu.DEFERRED_MAX_DEGREE = 0  # forces the classic form
        classic_src = lu_source(n, pattern)
    finally:
        sparse_lu.DEFERRED_MAX_DEGREE = saved
    for src in (deferred_src, classic_src):
        rc, x = _run(src, n, J, fac, b)
        if rc:  # an unsafe static pivot: the solver takes the dense pivoting LU instead (tested below)
            continue
        err = np.max(np.abs(x - ref)) / np.max(np.abs(ref))
        # 16 eps * cond: the static order must be as accurate as a pivoting solve.  Without the pivot-growth
        # check (only pivots below 1e-10*fac refused) 600 such systems reached 78 eps * cond; with it, 3.5.
        assert err <= 16 * 2.2e-16 * cond, (err, cond)


def test_deferred_form_is_used_for_the_reference_problem_only_within_its_degree():
    """perf_reference's factorisation needs degree 5 (deferred); a long chain exceeds 6 (classic)."""
    from bonemet_ode.compile.symbolic import SymbolicModel
    from bonemet_ode.models.registry import get

    J = SymbolicModel(get("perf_reference")).jacobian
    pat = {(i, j) for i in range(8) for j in range(8) if J[i, j] != 0}
    _, steps, _ = elimination_plan(8, pat)
    assert sparse_lu._deferred_lu(8, steps) is not None
    n = 12  # a dense lower Hessenberg-like chain: every pivot depends on the previous one
    chain = {(i, j) for i in range(n) for j in range(n) if abs(i - j) <= 1} | {(i, 0) for i in range(n)} | \
        {(0, j) for j in range(n)}
    _, steps, _ = elimination_plan(n, chain)
    assert sparse_lu._deferred_lu(n, steps) is None
    assert "1.0 / E[" in lu_source(n, chain)  # classic: a division per pivot in place


def test_static_pivot_that_grows_is_refused_on_a_well_conditioned_2x2():
    """``[[1e-6, 1], [1, 1]]`` (condition 2.6): eliminating in the static order grows the second pivot
    to 1 - 1e6 and loses six digits; the generated factorisation must hand it to the pivoting LU."""
    J = np.array([[1.0 - 1e-6, -1.0], [-1.0, 0.0]])  # fac*I - J with fac = 1
    pattern = {(i, j) for i in range(2) for j in range(2) if J[i, j] != 0.0}
    for degree in (sparse_lu.DEFERRED_MAX_DEGREE, 0):
        saved = sparse_lu.DEFERRED_MAX_DEGREE
        try:
            sparse_lu.DEFERRED_MAX_DEGREE = degree
            src = lu_source(2, pattern)
        finally:
            sparse_lu.DEFERRED_MAX_DEGREE = saved
        rc, _ = _run(src, 2, J, 1.0, np.array([1.0, 2.0]))
        assert rc == 1

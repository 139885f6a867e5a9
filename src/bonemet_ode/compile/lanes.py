"""Lane versions of the generated model functions, for solving several cohort members at once.

A batch of members is integrated in lock-step lanes (``solver_lanes.c``, ``bm_solve_lanes``):
every array holds ``BM_L`` members side by side (element ``k`` of member ``ln`` at
``a[k*BM_L + ln]``), and each generated function becomes a loop over the lanes around the
unchanged scalar body.  The C compiler turns the loop into SIMD instructions, and the lanes'
independent dependency chains fill the gaps that one solve leaves (a single solve is bound by
the latency of its chains, not by arithmetic).  The body is the scalar text with only its array
subscripts rewritten, so each lane performs the same floating-point operations in the same
order as the scalar solver: a member gives bit-identical results in a cohort and alone.

Transformations (on the text of ``static`` functions emitted by ``codegen`` and ``sparse_lu``)
    * ``name(`` becomes ``name_v(``; scalar ``double fac``/``double tol`` arguments become
      per-lane arrays;
    * ``a[k]`` for the arrays ``y p dy J E dinv X b`` becomes ``a[k*BM_L+ln]``;
    * a ``memset`` of ``J`` (older generated code) clears all lanes, before the loop;
    * in ``bm_lu_fast`` the early ``return 1`` on a tiny pivot becomes a per-lane flag
      ``bad[ln]`` (the solver re-runs such a member with the scalar solver's pivoting path).
"""

from __future__ import annotations

import re

__all__ = ["lane_functions", "DEFAULT_LANES"]

#: Members per lane group: two AVX2 vectors of doubles (measured against 4 and 16 in docs/backend.md).
DEFAULT_LANES = 8

_ARRAYS = ("y", "p", "dy", "J", "E", "dinv", "X", "b")
_SUBSCRIPT = re.compile(r"\b(" + "|".join(_ARRAYS) + r")\[(\d+)\]")
_HEADER = re.compile(r"^static (?:inline )?(void|int) (bm_\w+)\((.*)\) \{$")


def _functions(text: str) -> list[tuple[str, list[str]]]:
    """Split generated C into ``(header, body lines)`` per top-level ``static`` function."""
    out: list[tuple[str, list[str]]] = []
    header: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if header is None:
            if _HEADER.match(line):
                header, body = line, []
        elif line == "}":
            out.append((header, body))
            header = None
        else:
            body.append(line)
    return out


def _lane_header(name: str, args: str) -> str:
    args = args.replace("double fac", "const double *fac").replace("double tol", "const double *tol")
    args = re.sub(r"(const )?double \*(\w+)", lambda a: f"{a.group(1) or ''}double *restrict {a.group(2)}", args)
    if name == "bm_lu_fast":
        return f"static void bm_lu_fast_v({args}, int *restrict bad) {{"
    return f"static void {name}_v({args}) {{"


def _lane_body(name: str, body: list[str]) -> list[str]:
    pre: list[str] = []
    inner: list[str] = []
    for line in body:
        s = line.strip()
        if s.startswith("(void)"):
            continue
        if s.startswith("memset(J, 0,"):
            pre.append(line.replace(");", " * BM_L);"))
            continue
        if s == "double l;":
            inner.append(line)
            continue
        if s == "return 0;":
            continue
        line = _SUBSCRIPT.sub(lambda m: f"{m.group(1)}[{m.group(2)}*BM_L+ln]", line)
        line = re.sub(r"\bfac\b", "fac[ln]", line)
        line = re.sub(r"\btol\b", "tol[ln]", line)
        ret = re.match(r"^(\s*)if \(!\((.*)\)\) return 1;$", line)
        if ret:
            line = f"{ret.group(1)}bad[ln] |= !({ret.group(2)});"
        inner.append("    " + line)
    calls, inner = _hoist_lane_calls(inner)
    lines = list(pre) + calls
    if name == "bm_lu_fast":
        lines.append("    for (int ln = 0; ln < BM_L; ++ln) bad[ln] = 0;")
    lines.append("    for (int ln = 0; ln < BM_L; ++ln) {")
    lines += inner
    lines.append("    }")
    return lines


#: ``pow(a, b)`` whose arguments are array elements of the lane (or numbers): computed before the lane loop.
_LANE_POW = re.compile(r"\bpow\(((?:[a-z]+\[\d+\*BM_L\+ln\])|[-+0-9.e]+), ((?:[a-z]+\[\d+\*BM_L\+ln\])|[-+0-9.e]+)\)")


def _hoist_lane_calls(inner: list[str]) -> tuple[list[str], list[str]]:
    """Move each ``pow`` of lane array elements into a loop of its own before the lane loop.

    A call to libm inside the lane loop keeps the compiler from turning the loop into SIMD
    instructions; computed beforehand into a per-lane array (``bm_pw<k>[ln]``), the same calls give
    the same values, and the loop around the remaining arithmetic vectorises.  The arrays the
    arguments read are inputs of the function, never written before the calls.
    """
    seen: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        call = m.group(0)
        if call not in seen:
            seen[call] = f"bm_pw{len(seen)}"
        return f"{seen[call]}[ln]"

    body = [_LANE_POW.sub(sub, line) for line in inner]
    if not seen:
        return [], inner
    pre = [f"    double {v}[BM_L];" for v in seen.values()]
    pre.append("    for (int ln = 0; ln < BM_L; ++ln) {")
    pre += [f"        {v}[ln] = {call};" for call, v in seen.items()]
    pre.append("    }")
    return pre, body


def lane_functions(text: str, names: tuple[str, ...]) -> str:
    """Lane (``_v``) versions of the functions ``names`` found in generated C ``text``."""
    out = []
    found = set()
    for header, body in _functions(text):
        _, name, args = _HEADER.match(header).groups()  # type: ignore[union-attr]
        if name not in names:
            continue
        found.add(name)
        out.append(_lane_header(name, args))
        out += _lane_body(name, body)
        out += ["}", ""]
    missing = set(names) - found
    if missing:
        raise ValueError(f"generated code lacks the functions {sorted(missing)}")
    return "\n".join(out)

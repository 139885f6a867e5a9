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

from ..model.expressions import closing_paren, split_arguments

__all__ = ["lane_functions", "pack_calls", "DEFAULT_LANES"]

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


def _lane_body(name: str, body: list[str], mvec: int = 0) -> list[str]:
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
    vector = _vector_calls(inner) if mvec and name in ("bm_rhs", "bm_jac", "bm_rhs_g", "bm_rhs_s", "bm_jac_g",
                                                        "bm_jac_s") else None
    if vector is not None:
        return lines + vector
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


#: A statement of a lane body: ``const double NAME = EXPR;`` or ``TARGET = EXPR;``; of a scalar body (one member).
_STATEMENT = re.compile(r"^\s*(?:const double (\w+)|(\w+\[\d+\*BM_L\+ln\])) = (.*);$")
_SCALAR_STATEMENT = re.compile(r"^\s*(?:const double (\w+)|(\w+\[\d+\])) = (.*);$")
_CALL = re.compile(r"\b(bm_exp|bm_log|BM_POWLOG)\(")
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")


class _Schedule:
    """The statements of a body with their ``exp``/``log`` calls taken out, by level.

    Each call ``bm_exp(a)``/``bm_log(a)``, and each power through logarithms ``BM_POWLOG(test, fast, slow)``
    (``c_helpers.helpers``: ``test ? bm_exp(fast) : slow``), becomes a result ``bm_r<k>`` (``ref`` appended:
    ``[ln]`` in a lane body), innermost calls first.  A call's level is one above the highest level of what it
    reads, a statement's the highest level of what it reads (0 for none): the calls of level ``L + 1`` can all
    be made at once after the statements of level ``L``."""

    def __init__(self, lines: list[str], statement: re.Pattern, ref: str) -> None:
        self.names: list[str | None] = []  # the local a statement defines, or None
        self.targets: list[str] = []  # what a statement assigns (an output array element, or the local)
        self.exprs: list[str] = []
        self.calls: list[tuple[str, list[str]]] = []  # (kind, arguments with inner calls replaced by results)
        self.ok = True
        for line in lines:
            m = statement.match(line)
            if m is None:
                self.ok = False
                return
            self.names.append(m.group(1))
            self.targets.append(m.group(2) or m.group(1))
            self.exprs.append(m.group(3))
        result = re.compile(r"\bbm_r(\d+)" + re.escape(ref))
        try:
            self.exprs = [self._replace_calls(e, ref) for e in self.exprs]
        except ValueError:
            self.ok = False
            return
        self.local = {nm for nm in self.names if nm}
        self.level: dict[str, int] = {}  # of the locals and the call results (bm_r<k>)
        done = 0
        self.levels: list[int] = []
        for nm, e in zip(self.names, self.exprs):
            last = max((int(j) for j in result.findall(e)), default=-1)
            while done <= last:
                self.level[f"bm_r{done}"] = 1 + max(self.depth(a) for a in self.calls[done][1])
                done += 1
            self.levels.append(self.depth(e))
            if nm:
                self.level[nm] = self.levels[-1]

    def _replace_calls(self, expr: str, ref: str) -> str:
        while True:
            found = None
            for m in _CALL.finditer(expr):
                end = closing_paren(expr, m.end() - 1)
                if end < 0:
                    raise ValueError(f"unbalanced parentheses in {expr!r}")
                if _CALL.search(expr, m.end(), end) is None:  # innermost first
                    found = (m, end)
                    break
            if found is None:
                return expr
            m, end = found
            args = split_arguments(expr[m.end():end])
            if (m.group(1) == "BM_POWLOG") != (len(args) == 3) or any(not a for a in args):
                raise ValueError(f"unexpected call in {expr!r}")
            self.calls.append((m.group(1), args))
            expr = f"{expr[:m.start()]}bm_r{len(self.calls) - 1}{ref}{expr[end + 1:]}"

    def deps(self, expr: str) -> list[str]:
        return [w for w in _NAME.findall(expr) if w in self.local or w in self.level]

    def depth(self, expr: str) -> int:
        return max((self.level[d] for d in self.deps(expr)), default=0)

    def batch(self, lv: int) -> list[int]:
        """The calls made after the statements of level ``lv``."""
        return [c for c in range(len(self.calls)) if self.level[f"bm_r{c}"] == lv + 1]

    @staticmethod
    def argument(kind: str, args: list[str]) -> str:
        return args[1] if kind == "BM_POWLOG" else args[0]


def _vector_calls(inner: list[str]) -> list[str] | None:
    """The body of a lane loop (``inner``: the scalar statements with lane subscripts) with its ``exp`` and ``log``
    computed by libmvec's vector functions over all lanes at once (``bm_exp_n``/``bm_log_n``), or None where the
    body has no such call or is not a sequence of plain statements.

    Each call becomes a per-lane array ``bm_r<k>[ln]`` (:class:`_Schedule`), its argument an array
    ``bm_a<k>[ln]`` filled in the lane loop that computes what it reads; a power through logarithms
    ``BM_POWLOG(test, fast, slow)`` becomes ``bm_r<k>[ln]`` with ``r = exp(fast)`` and a fix-up loop
    ``if (!(test)) r[ln] = slow;`` (the rare lanes with a base that is not a normal number take C's ``pow``,
    as the scalar code does).  One loop over the lanes per level, the vector calls of the next level between
    loops; a value used in a later loop (or a fix-up) is kept per lane in an array.  Every element has the
    operations of the scalar code in its order, and the vector function computes each element on its own, so
    each lane gets the numbers of the one-member solver, whose ``bm_exp``/``bm_log`` call the same function
    (``c_helpers.helpers``, :func:`pack_calls`).  The loops hold no call (but ``pow``'s, hoisted before) and
    vectorise."""
    sc = _Schedule(inner, _STATEMENT, "[ln]")
    if not sc.ok or not sc.calls:
        return None
    # the latest loop that reads each name (a fix-up between loops L and L + 1 reads at L + 0.5)
    readers: dict[str, float] = {}

    def read(expr: str, at: float) -> None:
        for d in sc.deps(expr):
            readers[d] = max(readers.get(d, -1.0), at)

    for e, lv in zip(sc.exprs, sc.levels):
        read(e, lv)
    for c, (kind, args) in enumerate(sc.calls):
        at = sc.level[f"bm_r{c}"] - 1
        read(sc.argument(kind, args), at)
        if kind == "BM_POWLOG":
            read(args[0], at + 0.5)
            read(args[2], at + 0.5)
    arrays = [nm for nm in sc.names if nm and readers.get(nm, -1.0) > sc.level[nm]]
    in_arrays = set(arrays)

    def lane(expr: str) -> str:
        return _NAME.sub(lambda m: f"{m.group(0)}[ln]" if m.group(0) in in_arrays else m.group(0), expr)

    out = [f"    double {nm}[BM_L];" for nm in arrays]
    out += [f"    double bm_a{c}[BM_L], bm_r{c}[BM_L];" for c in range(len(sc.calls))]
    for lv in range(max(sc.levels) + 1):
        out.append("    for (int ln = 0; ln < BM_L; ++ln) {")
        for nm, tgt, e, at in zip(sc.names, sc.targets, sc.exprs, sc.levels):
            if at != lv:
                continue
            if nm in in_arrays:
                out.append(f"        {nm}[ln] = {lane(e)};")
            elif nm:
                out.append(f"        const double {nm} = {lane(e)};")
            else:
                out.append(f"        {tgt} = {lane(e)};")
        batch = sc.batch(lv)
        for c in batch:
            out.append(f"        bm_a{c}[ln] = {lane(sc.argument(*sc.calls[c]))};")
        out.append("    }")
        for c in batch:
            out.append(f"    {'bm_log_n' if sc.calls[c][0] == 'bm_log' else 'bm_exp_n'}(bm_a{c}, bm_r{c}, BM_L);")
        for c in batch:
            kind, args = sc.calls[c]
            if kind == "BM_POWLOG":
                out.append(f"    for (int ln = 0; ln < BM_L; ++ln) if (!({lane(args[0])})) "
                           f"bm_r{c}[ln] = {lane(args[2])};")
    return out


def _pack_body(body: list[str], mvec: int) -> list[str] | None:
    """A scalar body with its ``exp``/``log`` calls packed ``mvec`` to a vector call (:func:`pack_calls`)."""
    head = [ln for ln in body if ln.strip().startswith("(void)")]
    sc = _Schedule([ln for ln in body if not ln.strip().startswith("(void)")], _SCALAR_STATEMENT, "")
    if not sc.ok or not sc.calls:
        return None
    out = list(head)
    group = 0
    for lv in range(max(sc.levels) + 1):
        for nm, tgt, e, at in zip(sc.names, sc.targets, sc.exprs, sc.levels):
            if at == lv:
                out.append(f"    const double {nm} = {e};" if nm else f"    {tgt} = {e};")
        batch = sc.batch(lv)
        for kind in ("bm_log", "bm_exp"):
            mine = [c for c in batch if (sc.calls[c][0] == "bm_log") == (kind == "bm_log")]
            for k in range(0, len(mine), mvec):
                chunk = mine[k:k + mvec]
                args = [sc.argument(*sc.calls[c]) for c in chunk]
                args += ["1.0" if kind == "bm_log" else "0.0"] * (mvec - len(args))  # padding
                v = f"bm_v{group}"
                group += 1
                out.append(f"    const bm_vm {v} = {'BM_LOGV' if kind == 'bm_log' else 'BM_EXPV'}"
                           f"((bm_vm){{{', '.join(args)}}});")
                for i, c in enumerate(chunk):
                    ck, cargs = sc.calls[c]
                    if ck == "BM_POWLOG":
                        out.append(f"    const double bm_r{c} = ({cargs[0]}) ? {v}[{i}] : ({cargs[2]});")
                    else:
                        out.append(f"    const double bm_r{c} = {v}[{i}];")
    return out


def pack_calls(text: str, names: tuple[str, ...], mvec: int) -> str:
    """``text`` (generated C) with the bodies of the functions ``names`` computing their ``exp`` and ``log`` by
    libmvec's vector functions of ``mvec`` doubles, up to ``mvec`` independent calls in one.

    The one-member solver's counterpart of the lanes' vector calls (:func:`_vector_calls`): the calls of one
    level (:class:`_Schedule`) are gathered into vectors (padded with log(1), exp(0)), so that a
    right-hand side with three logs and three exps makes two vector calls.  The vector functions compute each
    element on its own, so each value is that of ``bm_exp``/``bm_log`` (the same function, the argument in every
    element) and of the lanes.  Bodies that are not plain statements stay as they are."""
    lines = text.split("\n")
    out: list[str] = []
    k = 0
    while k < len(lines):
        m = _HEADER.match(lines[k])
        if m is None or m.group(2) not in names:
            out.append(lines[k])
            k += 1
            continue
        end = lines.index("}", k)
        packed = _pack_body(lines[k + 1:end], mvec)
        out += [lines[k]] + (packed if packed is not None else lines[k + 1:end]) + ["}"]
        k = end + 1
    return "\n".join(out)


def lane_functions(text: str, names: tuple[str, ...], mvec: int = 0) -> str:
    """Lane (``_v``) versions of the functions ``names`` found in generated C ``text``; with ``mvec`` (the width
    of libmvec's vector functions, ``c_helpers.helpers``) the ``exp`` and ``log`` of the lanes are computed by
    vector calls (:func:`_vector_calls`)."""
    out = []
    found = set()
    for header, body in _functions(text):
        _, name, args = _HEADER.match(header).groups()  # type: ignore[union-attr]
        if name not in names:
            continue
        found.add(name)
        out.append(_lane_header(name, args))
        out += _lane_body(name, body, mvec)
        out += ["}", ""]
    missing = set(names) - found
    if missing:
        raise ValueError(f"generated code lacks the functions {sorted(missing)}")
    return "\n".join(out)

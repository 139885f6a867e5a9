"""The text syntax of the outcome language (see ``docs/outcome_language.md``).

A hand-written recursive-descent parser over characters (arm names follow
other lexical rules than expressions, so there is no separate tokenizer).
Errors are :class:`~bonemet_ode.errors.OutcomeError` with the column of
the offending token and a caret under it.

Grammar (``ARM``: a bare name such as ``KO``, ``A+B``, ``anti-PD-1`` or a
quoted string ``'ERα KO'``)::

    outcome   := [ID] ["(" SOURCE ")"] ":" statement ["#" DESCRIPTION]   (header optional)
    statement := clause ("and" clause)*
    clause    := expr OP expr | expr "between" NUMBER "and" NUMBER
    expr      := product ("-" product)*
    product   := unary (("*" | "/") unary)*
    unary     := "-" unary | NUMBER | "(" expr ")" | quantity
    quantity  := member "[" ARM "]"
               | ("largest" | "smallest") "(" expr ("," expr)* ")"
               | ("bliss" | "hsa") "(" NAME "@" NUMBER ";" ARM "," ARM "," ARM "," ARM ")"
               | "fraction" "(" cohort ":" member OP NUMBER ")"
               | "spearman" "(" cohort ":" member "," member ")"
    member    := NAME "@" NUMBER
               | "integral" "(" NAME "," NUMBER "," NUMBER ")"
               | "time_to" "(" NAME (">=" | "<=") NUMBER ["," "until" "=" NUMBER] ")"
               | ("max" | "min") "(" NAME "," NUMBER "," NUMBER ")"
    cohort    := "cohort" "[" ARM ("," option)* "]"
    option    := "n" "=" INT | "seed" "=" INT | NAME "~" DIST "(" NUMBER ("," [NAME "="] NUMBER)* ")"
    OP        := ">=" | "<=" | ">" | "<" | "≥" | "≤"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..errors import OutcomeError
from ..simulate.cohort import Distribution, LogNormal, Normal, Uniform
from .arithmetic import Constant, Difference, Extreme, Ratio, Scaled
from .base import Quantity, Statement
from .cohort import CohortSpec, Fraction, Spearman
from .combination import HSA, Bliss
from .scanner import NAME, NUMBER, Scanner
from .statements import ID_PATTERN, AllOf, Between, Compare, Outcome
from .trajectory import Extremum, Integral, TimeTo, TrajectoryQuantity, Value

__all__ = ["parse", "parse_statement", "parse_quantity", "parse_catalogue", "format_catalogue"]

#: what a parser builder makes (a quantity, a cohort spec, ...)
_Built = TypeVar("_Built")

_FUNCTIONS = ("integral", "time_to", "max", "min", "bliss", "hsa", "fraction", "spearman", "largest", "smallest")


class _Parser(Scanner):
    # ---------------------------------------------------------------- grammar
    def outcome(self) -> Outcome:
        oid, source = self.header()
        statement = self.statement()
        self.ws()
        description = ""
        if self.i < len(self.s) and self.s[self.i] == "#":
            description = self.s[self.i + 1:].strip()
            self.i = len(self.s)
        self.end("the outcome")
        return Outcome(oid, statement, source, description)

    def header(self) -> tuple[str | None, str]:
        self.ws()
        start = self.i
        m = ID_PATTERN.match(self.s, self.i)
        oid = None
        if m:
            oid, self.i = m.group(), m.end()
        source = ""
        if self.accept("("):
            self.ws()
            if self.i < len(self.s) and self.s[self.i] in "'\"":
                source = self.quoted()
            else:
                close = self.s.find(")", self.i)
                if close < 0:
                    self.i = start
                    return None, ""
                source, self.i = self.s[self.i:close], close
            if not self.accept(")"):
                self.i = start
                return None, ""
        if (oid is not None or self.s[start:self.i].strip()) and self.accept(":"):
            return oid, source
        self.i = start
        return None, ""

    def end(self, what: str) -> None:
        self.ws()
        if self.i != len(self.s):
            raise self.error(f"unexpected text after {what}")

    def statement(self) -> Statement:
        clauses = [self.clause()]
        while self.keyword("and"):
            clauses.append(self.clause())
        return clauses[0] if len(clauses) == 1 else AllOf(tuple(clauses))

    def clause(self) -> Statement:
        lhs = self.expr()
        at = self.i
        if self.keyword("between"):
            low = self.number("the low bound of 'between'")
            if not self.keyword("and"):
                raise self.error("expected 'and' between the bounds of 'between'")
            high = self.number("the high bound of 'between'")
            try:
                return Between(lhs, low, high)
            except OutcomeError as exc:
                raise self.error(str(exc), at) from None
        op = self.op()
        if op is None:
            raise self.error("expected a comparison (>=, <=, >, <) or 'between'")
        return Compare(lhs, op, self.expr())

    def expr(self) -> Quantity:
        q = self.product()
        while self.accept("-"):
            q = Difference(q, self.product())
        return q

    def product(self) -> Quantity:
        q = self.unary()
        while True:
            at = self.i
            if self.accept("*"):
                q = self._multiply(q, self.unary(), at)
            elif self.accept("/"):
                q = Ratio(q, self.unary())
            else:
                return q

    def _multiply(self, a: Quantity, b: Quantity, at: int) -> Quantity:
        if isinstance(a, Constant) and isinstance(b, Constant):
            return self._build(lambda: Constant(a.value * b.value), at)
        if isinstance(a, Constant):
            return Scaled(a.value, b)
        if isinstance(b, Constant):
            return Scaled(b.value, a)
        raise self.error("cannot multiply two simulated quantities; write a number times a quantity, or a ratio", at)

    def unary(self) -> Quantity:
        if self.accept("-"):
            q = self.unary()
            return Constant(-q.value) if isinstance(q, Constant) else Scaled(-1.0, q)
        self.ws()
        if self.accept("("):
            q = self.expr()
            self.expect(")", "to close '('")
            return q
        if NUMBER.match(self.s, self.i):
            return Constant(self.number("a constant", signed=False))
        return self.quantity()

    def quantity(self) -> Quantity:
        self.ws()
        at = self.i
        word = self.regex(NAME)
        if word is None:
            raise self.error("expected a quantity (like tumor@28[control]), a number or '('")
        if self.peek("(") and word in ("bliss", "hsa"):
            return self.combination(word)
        if self.peek("(") and word in ("fraction", "spearman"):
            return self.cohort_quantity(word)
        if self.peek("(") and word in ("largest", "smallest"):
            return self.extreme(word)
        self.i = at
        member = self.member()
        if not self.accept("["):
            raise self.error(f"expected '[ARM]' after {member.member_text()} (e.g. {member.member_text()}[control])")
        arm = self.arm()
        self.expect("]", "after the arm name")
        return member.for_arm(arm)

    def member(self) -> TrajectoryQuantity:
        self.ws()
        at = self.i
        word = self.name("a variable name or a function")
        if self.peek("("):
            if word == "integral":
                return self.integral()
            if word == "time_to":
                return self.time_to()
            if word in ("max", "min"):
                return self.extremum(word)
            raise self.error(f"unknown function '{word}'; expected one of {', '.join(_FUNCTIONS)}", at)
        if not self.accept("@"):
            raise self.error(f"expected '@DAY' after variable '{word}' (e.g. {word}@28)")
        return self._build(lambda: Value(word, self.number("the read-out day", signed=False)), at)

    def _build(self, make: Callable[[], _Built], at: int) -> _Built:
        try:
            return make()
        except OutcomeError as exc:
            if "column" in str(exc):
                raise
            raise self.error(str(exc), at) from None

    def integral(self) -> Integral:
        at = self.i
        self.expect("(", "after 'integral'")
        name = self.name("the variable to integrate")
        self.expect(",", "after the variable of integral(...)")
        a = self.number("the start day of integral(...)", signed=False)
        self.expect(",", "after the start day of integral(...)")
        b = self.number("the end day of integral(...)", signed=False)
        self.expect(")", "to close integral(...)")
        return self._build(lambda: Integral(name, a, b), at)

    def extremum(self, word: str) -> Extremum:
        at = self.i
        self.expect("(", f"after '{word}'")
        name = self.name(f"the variable of {word}(...)")
        self.expect(",", f"after the variable of {word}(...) (e.g. {word}(bone_mass, 0, 365))")
        a = self.number(f"the start day of {word}(...)", signed=False)
        self.expect(",", f"after the start day of {word}(...)")
        b = self.number(f"the end day of {word}(...)", signed=False)
        self.expect(")", f"to close {word}(...)")
        return self._build(lambda: Extremum(name, word, a, b), at)

    def extreme(self, word: str) -> Quantity:
        at = self.i
        self.expect("(", f"after '{word}'")
        terms = [self.expr()]
        while self.accept(","):
            terms.append(self.expr())
        self.expect(")", f"to close {word}(...)")
        return self._build(lambda: Extreme(word, tuple(terms)), at)

    def time_to(self) -> TimeTo:
        at = self.i
        self.expect("(", "after 'time_to'")
        name = self.name("the variable of time_to(...)")
        op = self.op((">=", "<="))
        if op is None:
            raise self.error("expected '>=' or '<=' in time_to(...)")
        level = self.number("the level of time_to(...)")
        until = None
        if self.accept(","):
            if not self.keyword("until"):
                raise self.error("expected 'until=DAY' in time_to(...)")
            self.expect("=", "after 'until'")
            until = self.number("the last day searched", signed=False)
        self.expect(")", "to close time_to(...)")
        return self._build(lambda: TimeTo(name, op, level, None, until), at)

    def combination(self, word: str) -> Quantity:
        at = self.i
        self.expect("(", f"after '{word}'")
        name = self.name(f"the variable of {word}(...)")
        self.expect("@", f"after the variable of {word}(...) (e.g. {word}(tumor@28; control, A, B, A+B))")
        day = self.number("the read-out day", signed=False)
        self.expect(";", f"after the read-out of {word}(...) (before the arms)")
        arms = [self.arm("the control arm")]
        for role in ("the first drug's arm", "the second drug's arm", "the combination arm"):
            self.expect(",", f"before {role} in {word}(...)")
            arms.append(self.arm(role))
        self.expect(")", f"to close {word}(...) (it takes control, A, B, A+B)")
        cls = Bliss if word == "bliss" else HSA
        return self._build(lambda: cls(name, day, *arms), at)

    def cohort(self) -> CohortSpec:
        at = self.i
        if not self.keyword("cohort"):
            raise self.error("expected 'cohort[ARM, n=..., seed=...]'")
        self.expect("[", "after 'cohort'")
        arm = self.arm("the cohort's arm")
        opts: dict[str, int] = {}
        dists: list[tuple[str, Distribution]] = []
        while self.accept(","):
            key_at = self.i
            key = self.name("a cohort option (n=, seed= or PARAMETER~distribution)")
            if key in ("n", "seed") and self.accept("="):
                if key in opts:
                    raise self.error(f"cohort option '{key}' is given twice", key_at)
                opts[key] = self.integer(f"cohort option {key}")
            elif self.accept("~"):
                dists.append((key, self.distribution()))
            else:
                raise self.error("expected 'n=INT', 'seed=INT' or 'PARAMETER~distribution(...)'", key_at)
        self.expect("]", "to close cohort[...]")
        return self._build(lambda: CohortSpec(arm, opts.get("n", 200), opts.get("seed", 0), tuple(dists)), at)

    def distribution(self) -> Distribution:
        at = self.i
        kind = self.name("a distribution (lognormal, normal, uniform)")
        spec = {"lognormal": (LogNormal, ("sigma", "median")), "normal": (Normal, ("sd", "mean")),
                "uniform": (Uniform, ("low", "high"))}
        if kind not in spec:
            raise self.error(f"unknown distribution '{kind}'; expected lognormal, normal or uniform", at)
        cls, names = spec[kind]
        self.expect("(", f"after '{kind}'")
        args: dict[str, float] = {names[0]: self.number(f"{kind}: {names[0]}")}
        while self.accept(","):
            save = self.i
            key = self.regex(NAME)
            if key is not None and self.accept("="):
                if key not in names:
                    raise self.error(f"{kind}() has no argument '{key}' (arguments: {', '.join(names)})", save)
            else:
                self.i, key = save, names[len(args)] if len(args) < len(names) else None
                if key is None:
                    raise self.error(f"too many arguments to {kind}()")
            args[key] = self.number(f"{kind}: {key}")
        self.expect(")", f"to close {kind}(...)")
        if kind == "uniform" and len(args) != 2:
            raise self.error("uniform() needs low and high", at)
        return cls(**args)

    def cohort_quantity(self, word: str) -> Quantity:
        at = self.i
        self.expect("(", f"after '{word}'")
        cohort = self.cohort()
        self.expect(":", "after cohort[...] (then the per-mouse quantity)")
        first = self.member()
        if word == "fraction":
            op = self.op()
            if op is None:
                raise self.error("expected a comparison (>=, <=, >, <) in fraction(...)")
            level = self.number("the level of the per-mouse condition")
            self.expect(")", "to close fraction(...)")
            return self._build(lambda: Fraction(cohort, first, op, level), at)
        self.expect(",", "between the two per-mouse quantities of spearman(...)")
        second = self.member()
        self.expect(")", "to close spearman(...)")
        return self._build(lambda: Spearman(cohort, first, second), at)


def parse(text: str) -> Outcome:
    """Parse one outcome: ``[ID] [(SOURCE)]: statement [# description]`` (the header is optional).

    Raises
    ------
    OutcomeError
        On a syntax error (the message gives the column and points at it)
        or an invalid piece (a negative day, an empty arm name, ...).

    Examples
    --------
    >>> o = parse("O4 (ER): tumor@28[KO] <= 0.5 * tumor@28[control]")
    >>> o.id, o.source, o.statement.op
    ('O4', 'ER', '<=')
    """
    return _Parser(text).outcome()


def parse_statement(text: str) -> Statement:
    """Parse a statement without id (``tumor@28[A] <= 0.6 * tumor@28[control]``)."""
    p = _Parser(text)
    s = p.statement()
    p.end("the statement")
    return s


def parse_quantity(text: str) -> Quantity:
    """Parse a quantity (``bliss(tumor@28; control, A, B, A+B)``)."""
    p = _Parser(text)
    q = p.expr()
    p.end("the quantity")
    return q


def parse_catalogue(text: str) -> tuple[Outcome, ...]:
    """Parse one outcome per line.

    Blank lines and lines starting with ``#`` are skipped; a line that
    starts with whitespace continues the previous one.  Keys must be unique.

    Raises
    ------
    OutcomeError
        Naming the line of a syntax error or of a repeated id.
    """
    logical: list[tuple[int, str]] = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + " " + line.strip())
        else:
            logical.append((n, line.strip()))
    out: list[Outcome] = []
    seen: dict[str, int] = {}
    for n, line in logical:
        try:
            o = parse(line)
        except OutcomeError as exc:
            raise OutcomeError(f"line {n}: {exc}") from None
        if o.key in seen:
            raise OutcomeError(f"line {n}: outcome {o.key!r} is defined twice (first on line {seen[o.key]})")
        seen[o.key] = n
        out.append(o)
    return tuple(out)


def format_catalogue(outcomes: tuple[Outcome, ...] | list[Outcome]) -> str:
    """One :meth:`Outcome.to_text` per line (:func:`parse_catalogue` reads it back)."""
    return "\n".join(o.to_text() for o in outcomes) + "\n"

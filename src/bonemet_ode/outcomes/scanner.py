"""Lexical layer of the outcome text syntax: a cursor over characters with error reporting.

Arm names follow other rules than expressions (``A+B`` and ``anti-PD-1``
are single names inside ``[...]``), so the parser reads characters through
this scanner instead of a token list.  Every error is an
:class:`~bonemet_ode.errors.OutcomeError` giving the column of the offending
text with a caret under it.
"""

from __future__ import annotations

import re

from ..errors import OutcomeError
from .base import ARM_NAME_STOP

__all__ = ["Scanner", "NAME", "NUMBER", "INT", "OPS"]

NAME = re.compile(r"[^\W\d]\w*")
NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
INT = re.compile(r"\d+")
OPS = (">=", "<=", "≥", "≤", ">", "<")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


class Scanner:
    """A position in ``text`` and the primitives the grammar is built from."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise OutcomeError(f"outcome text must be a string, got {text!r}")
        self.s = text
        self.i = 0

    # ---------------------------------------------------------------- lexical helpers
    def error(self, message: str, at: int | None = None) -> OutcomeError:
        pos = self.i if at is None else at
        while pos < len(self.s) and self.s[pos].isspace():
            pos += 1
        found = self.s[pos:pos + 12]
        what = f"found {found!r}" if found else "found the end of the text"
        return OutcomeError(f"{message} at column {pos + 1} ({what}):\n  {self.s}\n  {' ' * pos}^")

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def peek(self, lit: str) -> bool:
        self.ws()
        return self.s.startswith(lit, self.i)

    def accept(self, lit: str) -> bool:
        if self.peek(lit):
            self.i += len(lit)
            return True
        return False

    def expect(self, lit: str, context: str) -> None:
        if not self.accept(lit):
            raise self.error(f"expected '{lit}' {context}")

    def regex(self, pattern: re.Pattern[str]) -> str | None:
        self.ws()
        m = pattern.match(self.s, self.i)
        if not m:
            return None
        self.i = m.end()
        return m.group()

    def keyword(self, word: str) -> bool:
        self.ws()
        m = NAME.match(self.s, self.i)
        if m and m.group() == word:
            self.i = m.end()
            return True
        return False

    def name(self, what: str) -> str:
        n = self.regex(NAME)
        if n is None:
            raise self.error(f"expected {what}")
        return n

    def number(self, what: str, signed: bool = True) -> float:
        start = self.i
        neg = signed and self.accept("-")
        text = self.regex(NUMBER)
        if text is None:
            raise self.error(f"expected a number ({what})", start if not neg else None)
        return -float(text) if neg else float(text)

    def integer(self, what: str) -> int:
        text = self.regex(INT)
        if text is None:
            raise self.error(f"expected a whole number ({what})")
        return int(text)

    def quoted(self) -> str:
        quote = self.s[self.i]
        start, self.i, out = self.i, self.i + 1, []
        while self.i < len(self.s) and self.s[self.i] != quote:
            c = self.s[self.i]
            if c == "\\":
                nxt = self.s[self.i + 1:self.i + 2]
                if nxt not in _ESCAPES:
                    raise self.error(f"unknown escape '\\{nxt}' in a quoted name")
                out.append(_ESCAPES[nxt])
                self.i += 2
            else:
                out.append(c)
                self.i += 1
        if self.i >= len(self.s):
            raise self.error("unterminated quoted name", start)
        self.i += 1
        return "".join(out)

    def arm(self, what: str = "an arm name") -> str:
        self.ws()
        if self.i < len(self.s) and self.s[self.i] in "'\"":
            name = self.quoted()
        else:
            start = self.i
            while self.i < len(self.s) and not self.s[self.i].isspace() and self.s[self.i] not in ARM_NAME_STOP:
                self.i += 1
            name = self.s[start:self.i]
        if not name.strip():
            raise self.error(f"expected {what}")
        return name

    def op(self, allowed: tuple[str, ...] = OPS) -> str | None:
        """Read a comparator (``≥``/``≤`` read as ``>=``/``<=``); ``None`` when there is none."""
        self.ws()
        for o in OPS:
            if self.s.startswith(o, self.i):
                ascii_op = {"≥": ">=", "≤": "<="}.get(o, o)
                if ascii_op not in allowed:
                    raise self.error(f"comparator '{o}' is not allowed here (use {' or '.join(allowed)})")
                self.i += len(o)
                return ascii_op
        return None

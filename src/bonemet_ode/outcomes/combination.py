"""Drug-combination excesses at a read-out day: Bliss and highest single agent (HSA).

With the fraction of control ``f_g = y_g(day) / y_control(day)`` of arm
``g`` (``y`` usually the tumour burden), the **Bliss excess** is
``f_A · f_B − f_AB`` and the **HSA excess** is ``min(f_A, f_B) − f_AB``;
both are positive when the combination does better than expected
(``shared/spec/biology.md``, section 3).  For two drugs that kill
independently (``dT/dt = (r − k_A a(t) − k_B b(t)) T``) the Bliss excess is
exactly 0.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

from ..errors import OutcomeError
from .base import Need, Quantity, Readout, fmt_number, quote_name
from .trajectory import Value, check_variable

__all__ = ["CombinationExcess", "Bliss", "HSA"]


@dataclass(frozen=True)
class CombinationExcess(Quantity):
    """Expected fraction of control minus observed fraction of control of a combination arm.

    Parameters
    ----------
    name : str
        Observable read (usually the tumour burden).
    day : float
        Read-out day, days.
    control, first, second, combination : str
        Arm names: untreated, drug A, drug B, A and B together.
    """

    function: ClassVar[str]
    label: ClassVar[str]
    name: str
    day: float
    control: str
    first: str
    second: str
    combination: str

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        check_variable(self.name, self.function)
        Value(self.name, self.day)  # validates the day
        object.__setattr__(self, "day", float(self.day))
        for role in ("control", "first", "second", "combination"):
            arm = getattr(self, role)
            if not isinstance(arm, str) or not arm.strip():
                raise OutcomeError(f"{self.function}({self.name}@{self.day:g}): {role} arm must be a non-empty name, got {arm!r}")

    @abc.abstractmethod
    def expected(self, f_first: float, f_second: float) -> float:
        """Expected fraction of control of the combination from the single agents."""

    @property
    def log_scale(self) -> bool:
        return False

    def _arms(self) -> tuple[str, str, str, str]:
        return (self.control, self.first, self.second, self.combination)

    def needs(self) -> tuple[Need, ...]:
        return tuple(Need(a, self.name, (self.day,), points=True) for a in self._arms())

    def fractions(self, data: Readout) -> tuple[float, float, float]:
        """``(f_A, f_B, f_AB)``: each arm's value over the control's at :attr:`day`."""
        vals = [Value(self.name, self.day, a).evaluate(data) for a in self._arms()]
        ctrl = vals[0]
        return tuple(v / ctrl if ctrl != 0 else float("nan") for v in vals[1:])  # type: ignore[return-value]

    def evaluate(self, data: Readout, censored: bool = False) -> float:
        fa, fb, fab = self.fractions(data)
        return self.expected(fa, fb) - fab

    def to_text(self) -> str:
        arms = ", ".join(quote_name(a) for a in self._arms())
        return f"{self.function}({self.name}@{fmt_number(self.day)}; {arms})"

    def sentence(self) -> str:
        return (f"{self.label} excess of {self.name} at day {self.day:g} "
                f"('{self.first}', '{self.second}', '{self.combination}' vs '{self.control}')")


@dataclass(frozen=True)
class Bliss(CombinationExcess):
    """Bliss excess ``f_A f_B − f_AB`` (text ``bliss(tumor@28; control, A, B, A+B)``)."""

    kind: ClassVar[str] = "bliss"
    function: ClassVar[str] = "bliss"
    label: ClassVar[str] = "Bliss"
    def expected(self, f_first: float, f_second: float) -> float:
        return f_first * f_second


@dataclass(frozen=True)
class HSA(CombinationExcess):
    """Highest-single-agent excess ``min(f_A, f_B) − f_AB`` (text ``hsa(tumor@28; control, A, B, A+B)``)."""

    kind: ClassVar[str] = "hsa"
    function: ClassVar[str] = "hsa"
    label: ClassVar[str] = "HSA"
    def expected(self, f_first: float, f_second: float) -> float:
        return min(f_first, f_second)

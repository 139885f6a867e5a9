"""Treatment arms: doses plus perturbations, with a name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ScheduleError
from ..model import Model
from .dosing import Dose
from .perturbations import Perturbation, perturbation_from_dict

__all__ = ["Arm", "CONTROL"]


@dataclass(frozen=True)
class Arm:
    """A treatment arm: a name, the doses given and the perturbations applied.

    Parameters
    ----------
    name : str
        Arm name shown in tables and legends.
    doses : sequence of Dose
        Every drug administration of the arm (several drugs allowed).
    perturbations : sequence of Perturbation
        Applied in order to the model (knockouts, depletions, overrides).
    description : str
        Free text.

    Examples
    --------
    >>> from bonemet_ode import Arm, Dose
    >>> Arm("anti-PD-1", doses=[Dose("P", 10.0, every=3, start=7)])
    Arm('anti-PD-1': 10 into P every 3 d from day 7)
    """

    name: str
    doses: tuple[Dose, ...] = field(default_factory=tuple)
    perturbations: tuple[Perturbation, ...] = field(default_factory=tuple)
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScheduleError(f"arm name must be a non-empty string, got {self.name!r}")
        if isinstance(self.doses, Dose) or not isinstance(self.doses, Iterable) or isinstance(self.doses, str):
            raise ScheduleError(f"arm {self.name!r}: doses must be a sequence of Dose objects, got {self.doses!r}"
                                + ("; wrap a single dose in a list" if isinstance(self.doses, Dose) else ""))
        if callable(self.perturbations) or not isinstance(self.perturbations, Iterable):
            raise ScheduleError(f"arm {self.name!r}: perturbations must be a sequence of callables Model -> Model, "
                                f"got {self.perturbations!r}")
        doses = tuple(self.doses)
        for d in doses:
            if not isinstance(d, Dose):
                raise ScheduleError(f"arm {self.name!r}: doses must be Dose objects, got {d!r}")
        perts = tuple(self.perturbations)
        for p in perts:
            if not callable(p):
                raise ScheduleError(f"arm {self.name!r}: perturbations must be callables Model -> Model, got {p!r}")
        object.__setattr__(self, "doses", doses)
        object.__setattr__(self, "perturbations", perts)

    def apply(self, model: Model) -> Model:
        """The model with this arm's perturbations applied, and its doses checked against it."""
        for p in self.perturbations:
            model = p(model)
        for d in self.doses:
            model.state_index(d.target)
        gates = [m for i, d in enumerate(self.doses) if (m := d.gate_module(model, i)) is not None]
        if gates:  # adaptive doses: their on/off flags and the events that switch them
            model = model.with_modules(*gates)
        return model

    def with_doses(self, *doses: Dose, name: str | None = None) -> Arm:
        """A copy with more doses."""
        return Arm(name or self.name, self.doses + doses, self.perturbations, self.description)

    def combine(self, other: Arm, name: str | None = None) -> Arm:
        """The combination of two arms (doses and perturbations of both)."""
        return Arm(name or f"{self.name} + {other.name}", self.doses + other.doses,
                   self.perturbations + other.perturbations)

    def __repr__(self) -> str:
        parts = [str(d) for d in self.doses] + [str(p) for p in self.perturbations]
        return f"Arm({self.name!r}: {'; '.join(parts) if parts else 'untreated'})"

    def to_dict(self) -> dict:
        """JSON-ready form."""
        from dataclasses import asdict

        return {
            "name": self.name,
            "description": self.description,
            "doses": [asdict(d) for d in self.doses],
            "perturbations": [p.to_dict() for p in self.perturbations if isinstance(p, Perturbation)],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Arm:
        """Rebuild an arm written by :meth:`to_dict`."""
        doses = []
        for d in data.get("doses", ()):
            d = dict(d)
            for key in ("times", "offsets", "while_above"):
                if d.get(key) is not None:
                    d[key] = tuple(d[key])
            doses.append(Dose(**d))
        return cls(data["name"], tuple(doses),
                   tuple(perturbation_from_dict(p) for p in data.get("perturbations", ())),
                   data.get("description", ""))


#: The untreated arm.
CONTROL = Arm("control")


def arms_by_name(arms: Iterable[Arm]) -> dict[str, Arm]:
    """Index arms by name; a repeated name is an error."""
    out: dict[str, Arm] = {}
    for a in arms:
        if a.name in out:
            raise ScheduleError(f"arm name {a.name!r} is used twice")
        out[a.name] = a
    return out

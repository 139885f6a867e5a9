"""Perturbations: pure, serialisable functions from a model to a model.

Each is a frozen dataclass whose call returns a new :class:`Model`; a
treatment arm applies its perturbations in order before simulating.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ModelError
from ..model import Model, Module, Parameter, Term

__all__ = ["Perturbation", "SetParameters", "Knockout", "Deplete", "SetInitial"]


class Perturbation(abc.ABC):
    """Base class: a callable ``Model -> Model`` with a readable ``str``."""

    @abc.abstractmethod
    def __call__(self, model: Model) -> Model:
        """Return the perturbed model (the argument is not changed)."""

    def to_dict(self) -> dict:
        """JSON-ready form (``{"kind": ..., ...}``)."""
        from dataclasses import asdict

        return {"kind": type(self).__name__, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class SetParameters(Perturbation):
    """Override parameter values (for example a genetic knockdown as a rate set to 0)."""

    values: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", dict(self.values))

    def __call__(self, model: Model) -> Model:
        return model.with_parameters(self.values)

    def __str__(self) -> str:
        return "set " + ", ".join(f"{k}={v:g}" for k, v in self.values.items())

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.values.items())))


@dataclass(frozen=True)
class Knockout(Perturbation):
    """Force named rate terms to zero from day 0 (a gene or pathway knockout)."""

    terms: tuple[str, ...]

    def __post_init__(self) -> None:
        terms = (self.terms,) if isinstance(self.terms, str) else tuple(self.terms)
        if not terms:
            raise ModelError("Knockout needs at least one term name")
        object.__setattr__(self, "terms", terms)

    def __call__(self, model: Model) -> Model:
        return model.with_knockout(*self.terms)

    def __str__(self) -> str:
        return "knock out " + ", ".join(self.terms)


@dataclass(frozen=True)
class SetInitial(Perturbation):
    """Override initial values (for example a larger seeding dose)."""

    values: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", dict(self.values))

    def __call__(self, model: Model) -> Model:
        return model.with_initial(self.values)

    def __str__(self) -> str:
        return "initial " + ", ".join(f"{k}={v}" for k, v in self.values.items())

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.values.items())))


@dataclass(frozen=True)
class Deplete(Perturbation):
    """Deplete a population from day ``from_day`` with a first-order rate (for example anti-CD8).

    Adds a term ``-k * state`` whose rate constant switches from 0 to
    ``rate_per_day`` at ``from_day``.
    """

    state: str
    rate_per_day: float = 5.0
    from_day: float = 0.0

    def __call__(self, model: Model) -> Model:
        model.state_index(self.state)
        k = f"k_deplete_{self.state}"
        module = Module(
            f"depletion_{self.state}",
            parameters=(Parameter(k, 0.0, "1/day", 0.0, max(1e3, self.rate_per_day),
                                  f"first-order depletion rate of {self.state}", "perturbation"),),
            terms=(Term(f"deplete_{self.state}", f"{k}*{self.state}", {self.state: -1},
                        f"antibody depletion of {self.state}"),),
        )
        return model.with_modules(module).with_switch(self.from_day, k, self.rate_per_day)

    def __str__(self) -> str:
        return f"deplete {self.state} at {self.rate_per_day:g}/day from day {self.from_day:g}"


def perturbation_from_dict(data: dict) -> Perturbation:
    """Rebuild a perturbation written by :meth:`Perturbation.to_dict`."""
    kinds = {c.__name__: c for c in (SetParameters, Knockout, Deplete, SetInitial)}
    data = dict(data)
    kind = data.pop("kind", None)
    if kind not in kinds:
        raise ModelError(f"unknown perturbation kind {kind!r}; expected one of {sorted(kinds)}")
    if kind == "Knockout":
        data["terms"] = tuple(data["terms"])
    return kinds[kind](**data)

"""Modules: named, composable groups of states, parameters, terms and observables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ModelError
from .components import Event, Observable, Parameter, State, Term

__all__ = ["Module"]


@dataclass(frozen=True)
class Module:
    """A named piece of biology that composes with others into a model.

    A module may use symbols that another module defines (a macrophage module
    may read the tumour state); the check that every symbol is defined happens
    when the modules are composed into a :class:`~bonemet_ode.model.Model`.

    Parameters
    ----------
    name : str
        Module name, reported in error messages and docs.
    states, parameters, terms, observables : iterables
        The blocks this module defines.
    description : str
        What the module models, with its source.
    events : iterable of Event
        State-triggered events (:class:`~bonemet_ode.model.Event`); their names are unique
        among the model's events.

    Examples
    --------
    Logistic tumour growth (cells, 1/day), alone and composed with a drug
    that kills the tumour at rate ``kd*drug`` (1/day per mg):

    >>> import bonemet_ode as bm
    >>> growth = bm.Module("growth",
    ...     states=(bm.State("T", 1e6, "cells", "tumour cells"),),
    ...     parameters=(bm.Parameter("r", 0.2, "1/day", 0.0, 5.0, "net growth rate"),
    ...                 bm.Parameter("K", 1e9, "cells", 1e6, 1e12, "carrying capacity")),
    ...     terms=(bm.Term("proliferation", "r*T*(1 - T/K)", {"T": 1}),))
    >>> drug = bm.Module("drug",
    ...     states=(bm.State("drug", 0.0, "mg"),),
    ...     parameters=(bm.Parameter("kd", 0.1, "1/(mg*day)", 0.0, 10.0),
    ...                 bm.Parameter("k_el", 1.0, "1/day", 0.0, 10.0)),
    ...     terms=(bm.Term("kill", "kd*drug*T", {"T": -1}),
    ...            bm.Term("elimination", "k_el*drug", {"drug": -1})))
    >>> model = bm.Model("logistic_kill", [growth, drug])
    >>> model.state_names, model.term_names
    (('T', 'drug'), ('proliferation', 'kill', 'elimination'))
    """

    name: str
    states: tuple[State, ...] = field(default_factory=tuple)
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    terms: tuple[Term, ...] = field(default_factory=tuple)
    observables: tuple[Observable, ...] = field(default_factory=tuple)
    description: str = ""
    events: tuple[Event, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for attr, kind in (("states", State), ("parameters", Parameter), ("terms", Term), ("observables", Observable),
                           ("events", Event)):
            items = tuple(getattr(self, attr))
            for it in items:
                if not isinstance(it, kind):
                    raise ModelError(f"module {self.name!r}: {attr} must hold {kind.__name__} objects, got {it!r}")
            object.__setattr__(self, attr, items)

    def names(self) -> Iterable[tuple[str, str]]:
        """Yield ``(kind, name)`` for every symbol the module defines."""
        for s in self.states:
            yield "state", s.name
        for p in self.parameters:
            yield "parameter", p.name
        for t in self.terms:
            yield "term", t.name
        for o in self.observables:
            yield "observable", o.name

    def __repr__(self) -> str:
        return (
            f"Module({self.name!r}: {len(self.states)} states, {len(self.parameters)} parameters, "
            f"{len(self.terms)} terms, {len(self.observables)} observables)"
        )

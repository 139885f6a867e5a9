"""The registry of built-in models: ``bonemet_ode.models.get(name)``."""

from __future__ import annotations

from collections.abc import Callable

from ..model import Model
from ..model.model import unknown_name

__all__ = ["register", "get", "available", "describe"]

_REGISTRY: dict[str, tuple[Callable[[], Model], str]] = {}


def register(name: str, summary: str) -> Callable[[Callable[[], Model]], Callable[[], Model]]:
    """Decorator registering a zero-argument model factory under ``name``."""

    def deco(factory: Callable[[], Model]) -> Callable[[], Model]:
        _REGISTRY[name] = (factory, summary)
        return factory

    return deco


def get(name: str) -> Model:
    """Build the built-in model ``name`` (see :func:`available`).

    Parameters
    ----------
    name : str
        A registered name, e.g. ``"bone_metastasis"`` or ``"gompertz"``.

    Returns
    -------
    Model
        A new model with its documented parameter values (time in days).

    Raises
    ------
    UnknownNameError
        For a name that is not registered (the message lists the names).

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> model = bm.models.get("pk_one_compartment")
    >>> model.state_names, model.parameter("k_el").unit
    (('central',), '1/day')
    >>> "gompertz" in bm.models.available()
    True
    """
    if name not in _REGISTRY:
        raise unknown_name(name, "model", sorted(_REGISTRY))
    return _REGISTRY[name][0]()


def available() -> list[str]:
    """Names of the built-in models, sorted (each one accepted by :func:`get`)."""
    return sorted(_REGISTRY)


def describe() -> dict[str, str]:
    """``{name: one-line summary}`` of every built-in model."""
    return {n: _REGISTRY[n][1] for n in sorted(_REGISTRY)}

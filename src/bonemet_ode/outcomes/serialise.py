"""JSON-ready dicts for every piece of the outcome language, and back.

Every quantity, statement, cohort and outcome is a frozen dataclass with a
class attribute ``kind``; :func:`encode` writes it as
``{"kind": kind, field: value, ...}`` (nested pieces encoded the same way,
tuples as lists, cohort distributions as ``{"dist": ...}``) and
:func:`decode` rebuilds it from the registry of kinds.  A user subclass that
is a frozen dataclass with its own ``kind`` is registered when the class is
defined, so it serialises with no extra code.

Floats are written as JSON numbers: Python writes the shortest ``repr``
that reads back to the same double, so a dict survives ``json.dumps`` /
``json.loads`` bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from typing import Any

from ..errors import OutcomeError
from ..simulate.cohort import Distribution, LogNormal, Normal, Uniform

__all__ = [
    "register_kind",
    "registered_kinds",
    "encode",
    "decode",
    "distribution_to_dict",
    "distribution_from_dict",
    "outcomes_to_json",
    "outcomes_from_json",
]

_KINDS: dict[str, type] = {}

#: Distribution classes that serialise, by the name used in dicts and in the text syntax.
DISTRIBUTIONS: dict[str, type[Distribution]] = {"lognormal": LogNormal, "normal": Normal, "uniform": Uniform}


def register_kind(cls: type) -> type:
    """Register ``cls`` under ``cls.kind`` so :func:`decode` can rebuild it.

    Called automatically for subclasses of
    :class:`~bonemet_ode.outcomes.base.Quantity` and
    :class:`~bonemet_ode.outcomes.base.Statement` that define ``kind``.

    Raises
    ------
    OutcomeError
        If another class already uses the same ``kind``.
    """
    kind = cls.__dict__.get("kind")
    if not isinstance(kind, str) or not kind:
        raise OutcomeError(f"class {cls.__name__} must define a non-empty string class attribute 'kind'")
    old = _KINDS.get(kind)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise OutcomeError(f"kind {kind!r} of {cls.__qualname__} is already used by {old.__qualname__}")
    _KINDS[kind] = cls
    return cls


def registered_kinds() -> dict[str, type]:
    """``{kind: class}`` of every registered piece of the language."""
    return dict(_KINDS)


def distribution_to_dict(dist: Distribution) -> dict[str, Any]:
    """``{"dist": "lognormal", "sigma": 0.3, "median": None}`` and so on."""
    for name, cls in DISTRIBUTIONS.items():
        # the registered distributions are dataclasses (is_dataclass only narrows the type)
        if type(dist) is cls and dataclasses.is_dataclass(dist) and not isinstance(dist, type):
            return {"dist": name, **dataclasses.asdict(dist)}
    raise OutcomeError(
        f"cannot serialise distribution {dist!r}: only "
        f"{', '.join(c.__name__ for c in DISTRIBUTIONS.values())} are supported"
    )


def distribution_from_dict(data: dict[str, Any]) -> Distribution:
    """Rebuild a distribution written by :func:`distribution_to_dict`."""
    data = dict(data)
    name = data.pop("dist", None)
    if name not in DISTRIBUTIONS:
        raise OutcomeError(f"unknown distribution {name!r}; expected one of {sorted(DISTRIBUTIONS)}")
    try:
        return DISTRIBUTIONS[name](**data)
    except TypeError as exc:
        raise OutcomeError(f"distribution {name!r}: {exc}") from None


def encode(obj: Any) -> Any:
    """The JSON-ready form of a piece of the outcome language (recursively).

    Raises
    ------
    OutcomeError
        On a value that has no JSON form (a custom distribution, a set, ...)
        or a non-finite float.
    """
    if isinstance(obj, Distribution):
        return distribution_to_dict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and isinstance(getattr(obj, "kind", None), str):
        out: dict[str, Any] = {"kind": getattr(obj, "kind")}  # noqa: B009 (kind is no field of DataclassInstance)
        for f in dataclasses.fields(obj):
            out[f.name] = encode(getattr(obj, f.name))
        return out
    if isinstance(obj, (tuple, list)):
        return [encode(x) for x in obj]
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise OutcomeError(f"cannot serialise the non-finite number {obj!r}")
        return float(obj)
    raise OutcomeError(f"cannot serialise {obj!r} ({type(obj).__name__}) in an outcome")


def decode(data: Any) -> Any:
    """Rebuild what :func:`encode` wrote (lists become tuples).

    Raises
    ------
    OutcomeError
        On an unknown ``kind`` or arguments the class does not accept.
    """
    if isinstance(data, dict):
        if "dist" in data:
            return distribution_from_dict(data)
        if "kind" not in data:
            raise OutcomeError(f"cannot decode {data!r}: it has no 'kind'")
        kind = data["kind"]
        cls = _KINDS.get(kind)
        if cls is None:
            raise OutcomeError(f"unknown outcome-language kind {kind!r}; known kinds: {', '.join(sorted(_KINDS))}")
        kwargs = {k: decode(v) for k, v in data.items() if k != "kind"}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise OutcomeError(f"cannot build {kind!r} from {sorted(kwargs)}: {exc}") from None
    if isinstance(data, list):
        return tuple(decode(x) for x in data)
    return data


def outcomes_to_json(outcomes: Iterable[Any], *, indent: int | None = 2) -> str:
    """A JSON document (a list) holding ``outcomes``."""
    return json.dumps([encode(o) for o in outcomes], indent=indent, ensure_ascii=False, allow_nan=False)


def outcomes_from_json(text: str) -> tuple[Any, ...]:
    """Outcomes from a document written by :func:`outcomes_to_json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutcomeError(f"outcome JSON is malformed: {exc}") from None
    if not isinstance(data, list):
        raise OutcomeError(f"outcome JSON must be a list of outcomes, got {type(data).__name__}")
    return tuple(decode(d) for d in data)

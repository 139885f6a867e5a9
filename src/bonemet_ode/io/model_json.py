"""Versioned JSON for models: save a model and load it back identical."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import SavedFileError
from ..model import Event, Model, Module, Observable, Parameter, State, Switch, Term
from .envelope import Fields, encode_value, envelope, open_document, read_document, write_document

__all__ = ["model_to_dict", "model_from_dict", "save_model", "load_model", "FORMAT_VERSION"]

#: Version of the payload written by :func:`save_model` (1: the 0.1 layout without envelope).
FORMAT_VERSION = 2


def _num(x: float) -> float | str:
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _module_to_dict(m: Module) -> dict[str, Any]:
    return {
        "name": m.name,
        "description": m.description,
        "states": [dict(name=s.name, initial=s.initial, unit=s.unit, description=s.description,
                        nonnegative=s.nonnegative) for s in m.states],
        "parameters": [dict(name=p.name, value=p.value, unit=p.unit, lower=_num(p.lower), upper=_num(p.upper),
                            description=p.description, source=p.source, log_scale=p.log_scale)
                       for p in m.parameters],
        "terms": [dict(name=t.name, rate=t.rate, effects=t.effect_map, description=t.description) for t in m.terms],
        "observables": [dict(name=o.name, expr=o.expr, unit=o.unit, description=o.description)
                        for o in m.observables],
        **({"events": [e.to_dict() for e in m.events]} if m.events else {}),
    }


def model_to_dict(model: Model) -> dict[str, Any]:
    """A JSON-ready envelope that :func:`model_from_dict` turns back into an equal model.

    The layout is ``{"format": "bonemet_ode.model", "version": 2, "payload":
    {name, description, modules, parameter_values, initial_values, knockouts,
    switches}}`` (see :mod:`bonemet_ode.io.envelope`).
    """
    payload = {
        "name": model.name,
        "description": model.description,
        "modules": [_module_to_dict(m) for m in model.modules],
        "parameter_values": model._param_overrides,  # noqa: SLF001 - same package
        "initial_values": model._initial_overrides,  # noqa: SLF001
        "knockouts": sorted(model.knockouts),
        "switches": [dict(time=s.time, parameter=s.parameter, value=s.value) for s in model.switches],
        **({"events": [e.to_dict() for e in model._extra_events]} if model._extra_events else {}),  # noqa: SLF001
    }
    return envelope("model", FORMAT_VERSION, encode_value(payload))


def _legacy(doc: Any) -> tuple[int, dict[str, Any]] | None:
    """The 0.1 layout: the model's fields at the top level beside ``format_version: 1``."""
    if doc.get("format") == "bonemet_ode.model" and doc.get("format_version") == 1:
        return 1, {k: v for k, v in doc.items() if k not in ("format", "format_version")}
    if doc.get("format") == "bonemet_ode.model" and "format_version" in doc:
        raise SavedFileError(f"model format version {doc.get('format_version')!r} is not supported "
                             f"(this release reads version 1 without an envelope, and {FORMAT_VERSION})")
    return None


def _initial(f: Fields, key: str) -> float | str:
    v = f.raw(key, 0.0)
    if isinstance(v, str) and v not in ("nan", "inf", "-inf", "NaN", "Infinity", "-Infinity"):
        return v  # an expression of parameters
    return f.number(key, 0.0)


def _module_from_fields(m: Fields) -> Module:
    states = tuple(State(s.str("name"), _initial(s, "initial"), s.str("unit", "1"), s.str("description", ""),
                         s.bool("nonnegative", True)) for s in m.objects("states", []))
    parameters = tuple(Parameter(p.str("name"), p.number("value"), p.str("unit", "1"),
                                 p.number("lower", 0.0, finite=False), p.number("upper", math.inf, finite=False),
                                 p.str("description", ""), p.str("source", ""), p.bool("log_scale", False))
                       for p in m.objects("parameters", []))
    terms = tuple(Term(t.str("name"), t.str("rate"), t.number_map("effects", {}), t.str("description", ""))
                  for t in m.objects("terms", []))
    observables = tuple(Observable(o.str("name"), o.str("expr"), o.str("unit", "1"), o.str("description", ""))
                        for o in m.objects("observables", []))
    events = tuple(Event.from_dict(e) for e in m.raw("events", []))
    return Module(m.str("name"), states=states, parameters=parameters, terms=terms, observables=observables,
                  description=m.str("description", ""), events=events)


def model_from_dict(data: Any, *, source: str = "<document>") -> Model:
    """Rebuild a model saved by :func:`model_to_dict` (or by bonemet_ode 0.1).

    Raises
    ------
    SavedFileError
        Not a model document, an unknown version, a missing field or a value of
        the wrong type or not finite (the field is named).
    ModelError, UnknownNameError
        The fields are well formed but do not make a valid model (an undefined
        symbol, a knockout naming no term, a parameter value out of bounds).
    """
    _, f = open_document(data, "model", versions=(1, FORMAT_VERSION), legacy=_legacy, source=source)
    modules = [_module_from_fields(m) for m in f.objects("modules")]
    switches = [Switch(s.number("time"), s.str("parameter"), s.number("value")) for s in f.objects("switches", [])]
    iv = f.obj("initial_values", {})
    initial = {k: _initial(iv, k) for k in iv.keys()}  # noqa: SIM118 (Fields, not a dict)
    return Model(
        f.str("name"), modules, description=f.str("description", ""),
        knockouts=f.str_list("knockouts", []),
        switches=switches,
        parameter_values=f.number_map("parameter_values", {}),
        initial_values=initial,
        events=[Event.from_dict(e) for e in f.raw("events", [])],
    )


def save_model(model: Model, path: str | Path) -> Path:
    """Write ``model`` as JSON to ``path`` (atomically); returns the path."""
    return write_document(path, model_to_dict(model))


def load_model(path: str | Path) -> Model:
    """Read a model written by :func:`save_model` (any supported version)."""
    return model_from_dict(read_document(path), source=Path(path).name)

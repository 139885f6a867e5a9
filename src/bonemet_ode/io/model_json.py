"""Versioned JSON for models: save a model and load it back identical."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..model import Event, Model, Module, Observable, Parameter, State, Switch, Term

__all__ = ["model_to_dict", "model_from_dict", "save_model", "load_model", "FORMAT_VERSION"]

FORMAT_VERSION = 1


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
    """A JSON-ready dict that :func:`model_from_dict` turns back into an equal model."""
    return {
        "format": "bonemet_ode.model",
        "format_version": FORMAT_VERSION,
        "name": model.name,
        "description": model.description,
        "modules": [_module_to_dict(m) for m in model.modules],
        "parameter_values": model._param_overrides,  # noqa: SLF001 - same package
        "initial_values": model._initial_overrides,  # noqa: SLF001
        "knockouts": sorted(model.knockouts),
        "switches": [dict(time=s.time, parameter=s.parameter, value=s.value) for s in model.switches],
        **({"events": [e.to_dict() for e in model._extra_events]} if model._extra_events else {}),  # noqa: SLF001
    }


def model_from_dict(data: dict[str, Any]) -> Model:
    """Rebuild a model saved by :func:`model_to_dict`."""
    if data.get("format") != "bonemet_ode.model":
        raise ModelError(f"not a bonemet_ode model document (format={data.get('format')!r})")
    if data.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"model format version {data.get('format_version')!r} is not supported (expected {FORMAT_VERSION})")
    modules = []
    for m in data["modules"]:
        modules.append(Module(
            m["name"],
            states=tuple(State(**s) for s in m["states"]),
            parameters=tuple(Parameter(**{**p, "lower": float(p["lower"]), "upper": float(p["upper"])})
                             for p in m["parameters"]),
            terms=tuple(Term(**t) for t in m["terms"]),
            observables=tuple(Observable(**o) for o in m["observables"]),
            description=m.get("description", ""),
            events=tuple(Event.from_dict(e) for e in m.get("events", ())),
        ))
    return Model(
        data["name"], modules, description=data.get("description", ""),
        knockouts=data.get("knockouts", ()),
        switches=[Switch(**s) for s in data.get("switches", ())],
        parameter_values=data.get("parameter_values"),
        initial_values=data.get("initial_values"),
        events=[Event.from_dict(e) for e in data.get("events", ())],
    )


def save_model(model: Model, path: str | Path) -> Path:
    """Write ``model`` as JSON to ``path``; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(model_to_dict(model), indent=1, sort_keys=True))
    return path


def load_model(path: str | Path) -> Model:
    """Read a model written by :func:`save_model`."""
    return model_from_dict(json.loads(Path(path).read_text()))

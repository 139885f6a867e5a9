"""Model JSON: save -> load gives an equal model with the same structure key and the same numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bonemet_ode as bm
from bonemet_ode.io.model_json import FORMAT_VERSION, load_model, model_from_dict, model_to_dict, save_model

PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def perturbed(model: bm.Model, seed: int) -> bm.Model:
    """The model with random parameter and initial overrides, knockouts and switches (all valid)."""
    rng = np.random.default_rng(seed)
    params = {}
    for p in model.parameters:
        if rng.random() < 0.3:
            hi = min(p.upper, max(p.value, 1.0) * 10.0)
            params[p.name] = float(rng.uniform(p.lower, hi))
    initial = {s.name: float(rng.uniform(0.0, 10.0)) for s in model.states if rng.random() < 0.3}
    knockouts = [t for t in model.term_names if rng.random() < 0.2]
    out = model.with_parameters(params).with_initial(initial)
    if knockouts:
        out = out.with_knockout(*knockouts)
    for _ in range(int(rng.integers(0, 3))):
        p = model.parameters[int(rng.integers(len(model.parameters)))]
        out = out.with_switch(float(rng.uniform(0, 30)), p.name, float(rng.uniform(p.lower, min(p.upper, p.lower + 5))))
    return out


def assert_same_model(a: bm.Model, b: bm.Model) -> None:
    assert a == b
    assert a.structure_key == b.structure_key
    assert model_to_dict(a) == model_to_dict(b)
    assert a.knockouts == b.knockouts and a.switches == b.switches
    assert a.parameters == b.parameters and a.states == b.states
    assert a.terms == b.terms and a.observables == b.observables
    np.testing.assert_array_equal(a.parameter_vector(), b.parameter_vector())
    np.testing.assert_array_equal(a.initial_values(), b.initial_values())


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1))
def test_save_load_round_trip(builtin_name, tmp_path, seed):
    model = perturbed(bm.models.get(builtin_name), seed)
    path = save_model(model, tmp_path / f"{builtin_name}.json")
    assert_same_model(load_model(path), model)


def test_round_trip_of_perturbation_modules_and_expression_initials(tmp_path):
    mod = bm.Module("m", states=(bm.State("x", "s/d", "cells", "x at steady state"),
                                 bm.State("y", 0.0, nonnegative=False)),
                    parameters=(bm.Parameter("s", 2.0, "cells/day", 0.0, math.inf, "supply", "guess", False),
                                bm.Parameter("d", 0.5, "1/day", 1e-3, 10.0, "death", "guess", True)),
                    terms=(bm.Term("supply", "s", {"x": 1}), bm.Term("death", "d*x", {"x": -1, "y": 0.5})),
                    observables=(bm.Observable("total", "x + y", "cells"), bm.Observable("share", "x/total")))
    model = bm.Deplete("x", 3.0, 2.0)(bm.Model("expr", [mod], description="round trip"))
    back = load_model(save_model(model, tmp_path / "m.json"))
    assert_same_model(back, model)
    a, b = bm.simulate(model, days=5.0), bm.simulate(back, days=5.0)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.observables, b.observables)


def test_loaded_model_simulates_identically(tmp_path, arms_for):
    model = perturbed(bm.models.get("perf_reference"), 7)
    back = load_model(save_model(model, tmp_path / "p.json"))
    arm = arms_for("perf_reference")[0]
    np.testing.assert_array_equal(bm.simulate(model, arm, days=20.0).states, bm.simulate(back, arm, days=20.0).states)


def test_document_is_plain_json_with_version(tmp_path):
    model = bm.models.get("kuznetsov1994").with_knockout("T_kill")
    doc = json.loads(save_model(model, tmp_path / "k.json").read_text())
    assert doc["format"] == "bonemet_ode.model" and doc["version"] == FORMAT_VERSION
    body = doc["payload"]
    assert body["knockouts"] == ["T_kill"]
    names = [p["name"] for m in body["modules"] for p in m["parameters"]]
    assert names == list(model.parameter_names)
    assert all(p["upper"] == "inf" for m in body["modules"] for p in m["parameters"])  # infinite bounds as text


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.update(format="something else"), "format"),
    (lambda d: d.update(version=FORMAT_VERSION + 1), "version"),
    (lambda d: d["payload"]["modules"][0]["terms"][0].update(rate="s^2"), "'^'"),
    (lambda d: d["payload"]["modules"][0]["parameters"][0].update(value=-1.0), "'s'"),
    (lambda d: d["payload"].update(knockouts=["no_such_term"]), "'no_such_term'"),
])
def test_malformed_documents_are_rejected(change, needle):
    doc = model_to_dict(bm.models.get("kuznetsov1994"))
    change(doc)
    with pytest.raises(bm.BonemetError) as info:
        model_from_dict(doc)
    assert needle in str(info.value)


def test_model_equality_sees_values():
    model = bm.models.get("kuznetsov1994")
    assert model == bm.models.get("kuznetsov1994")
    assert model != model.with_parameters(a=0.2)
    assert model != model.with_knockout("T_kill")
    assert model.with_parameters(a=0.2).structure_key == model.structure_key
    with pytest.raises(bm.BonemetError):
        model_from_dict({"format": "bonemet_ode.model"})

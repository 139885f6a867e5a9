"""Model-level event specification: validation, composition, identity and serialisation."""

import pytest

import bonemet_ode as bm
from bonemet_ode.errors import ModelError
from bonemet_ode.io.model_json import model_from_dict, model_to_dict
from bonemet_ode.model import Event, Model, Module, Observable, Parameter, State, Term
from bonemet_ode.model.expressions import atom_value, formula_value, parse_trigger


def _decay(**kw):
    mod = Module("d", states=(State("x", 1.0), State("y", 0.0)), parameters=(Parameter("k", 1.0),),
                 terms=(Term("loss", "k*x", {"x": -1, "y": 1}),), observables=(Observable("tot", "x + y"),), **kw)
    return Model("decay", [mod])


def test_event_exported_and_frozen():
    assert bm.Event is Event
    e = Event("reset", "x < 0.5", {"x": 1, "k": "2*k"})
    assert e.assignments == (("x", "1.0"), ("k", "2*k"))
    with pytest.raises(AttributeError):
        e.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="e", trigger="x == 1", assignments={"x": 1}), "only < <= > >="),
    (dict(name="e", trigger="x", assignments={"x": 1}), "must be a comparison"),
    (dict(name="e", trigger="x < 1", assignments={"x": 1}, delay=2.0), "delayed events are not supported"),
    (dict(name="e", trigger="x < 1", assignments={}), "assigns nothing"),
    (dict(name="e", trigger="x < 1", assignments={"x": "x^2"}), "not a power"),
    (dict(name="e", trigger="x < 1", assignments={"x": float("nan")}), "finite"),
    (dict(name="e", trigger="x < 1", assignments={"x": 1}, persistent=1), "True or False"),
    (dict(name="1e", trigger="x < 1", assignments={"x": 1}), "not a valid identifier"),
    (dict(name="e", trigger="x < foo(1)", assignments={"x": 1}), "unknown function"),
])
def test_event_refuses_bad_specs(kwargs, message):
    with pytest.raises(ModelError, match=message):
        Event(**kwargs)


def test_model_validates_event_names_and_targets():
    m = _decay()
    with pytest.raises(ModelError, match="undefined symbol 'z'"):
        m.with_events(Event("e", "z < 1", {"x": 1}))
    with pytest.raises(ModelError, match="which is a term"):
        m.with_events(Event("e", "x < 1", {"loss": 1}))
    with pytest.raises(ModelError, match="which is a observable|which is an observable|observable"):
        m.with_events(Event("e", "x < 1", {"tot": 1}))
    with pytest.raises(ModelError, match="used twice"):
        m.with_events(Event("e", "x < 1", {"x": 1}), Event("e", "x > 2", {"x": 1}))
    # time and observables are allowed in triggers, assignments and priorities
    ok = m.with_events(Event("e", "tot > 0.5 and t >= 1", {"y": "t*k + tot"}, priority="x"))
    assert [e.name for e in ok.events] == ["e"]


def test_events_in_modules_and_order():
    m = _decay(events=(Event("a", "x < 0.5", {"x": 1}),))
    m2 = m.with_events(Event("b", "x < 0.2", {"x": 1}))
    assert [e.name for e in m2.events] == ["a", "b"]
    # perturbations keep the events
    assert [e.name for e in m2.with_parameters(k=2.0).events] == ["a", "b"]


def test_structure_key_and_equality_and_json():
    m = _decay()
    m2 = m.with_events(Event("a", "x < 0.5", {"x": 1}))
    assert m.structure_key != m2.structure_key
    assert "events" not in m.structure()  # keys of event-free models are unchanged
    assert m != m2
    back = model_from_dict(model_to_dict(m2))
    assert back == m2 and back.structure_key == m2.structure_key
    m3 = _decay(events=(Event("a", "x < 0.5", {"x": 1}, priority=2.0, persistent=False),))
    assert model_from_dict(model_to_dict(m3)) == m3
    # a damaged event in a saved model is a ModelError naming the field (TypeError from **kwargs before)
    doc = model_to_dict(m2)
    events = doc["payload"]["events"]
    good = dict(events[0])
    renamed = {("prio}rity" if k == "priority" else k): v for k, v in good.items()}
    without_trigger = {k: v for k, v in good.items() if k != "trigger"}
    for bad, named in ((renamed, r"unknown field\(s\) \['prio}rity'\]"),
                       (without_trigger, r"missing field\(s\) \['trigger'\]")):
        events[0] = bad
        with pytest.raises(ModelError, match=named):
            model_from_dict(doc)
    with pytest.raises(ModelError, match="expected a JSON object of event fields, got list"):
        Event.from_dict(["a", "x < 0.5"])


def test_trigger_parser():
    atoms, f = parse_trigger("0 < x <= 1 or not y > 2", "t")
    assert atoms == [("(0) - (x)", "<"), ("(x) - (1)", "<="), ("(y) - (2)", ">")]
    assert f == ("or", ("and", ("atom", 0), ("atom", 1)), ("not", ("atom", 2)))

    def vals(x, y):
        return [atom_value(eval(g, {}, {"x": x, "y": y}), op) for g, op in atoms]  # noqa: S307

    assert formula_value(f, vals(0.5, 3.0)) is True
    assert formula_value(f, vals(1.5, 3.0)) is False
    assert formula_value(f, vals(1.5, 1.0)) is True


def test_extinction_helper_refuses_non_absorbing_zero():
    mod = Module("g", states=(State("T", 10.0),), parameters=(Parameter("k", 1.0), Parameter("s", 0.5)),
                 terms=(Term("kill", "k*T", {"T": -1}), Term("seed", "s", {"T": 1})))
    m = Model("seeded", [mod])
    with pytest.raises(ModelError, match="term 'seed' adds to 'T'"):
        m.with_extinction("T")
    ev = m.with_knockout("seed").with_extinction("T", below=1.0).events[0]
    assert (ev.trigger, ev.assignments, ev.initial_value) == ("T < 1.0", (("T", "0.0"),), False)
    with pytest.raises(ModelError, match="> 0"):
        m.with_knockout("seed").with_extinction("T", below=0.0)
    assert m.with_extinction("T", absorbing=False).events[0].name == "extinction_T"

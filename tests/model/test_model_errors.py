"""Bad model definitions raise the error class of ``bonemet_ode.errors`` with a message naming the culprit."""

from __future__ import annotations

import math

import pytest

import bonemet_ode as bm
from bonemet_ode import Model, Module, Observable, Parameter, State, Term
from bonemet_ode.errors import BonemetError, ModelError, ParameterError, UnknownNameError


def decay_module(name="decay", state="x", param="k", term="loss", rate=None, observables=()):
    return Module(name, states=(State(state, 1.0),), parameters=(Parameter(param, 0.5),),
                  terms=(Term(term, rate or f"{param}*{state}", {state: -1}),), observables=observables)


def build(rate: str, observables=()):
    return Model("m", [decay_module(rate=rate, observables=observables)])


# ------------------------------------------------------------------------------------------------ expressions
@pytest.mark.parametrize("rate, needles", [
    ("k*x + kk", ["'loss'", "'kk'", "undefined"]),
    ("x^2", ["'loss'", "'^'", "**"]),
    ("sinc(x)*k", ["'loss'", "'sinc'", "unknown function"]),
    ("piecewise()*k", ["'loss'", "piecewise", "at least one argument"]),
    ("lt(x)*k", ["'loss'", "lt()", "2 argument"]),
    ("k*x*t", ["'loss'", "time"]),
    ("k*x*time", ["'loss'", "time"]),
    ("k*x +", ["'loss'", "parse"]),
    ("k*x if x > 0 else 0", ["'loss'"]),
    ("k*'x'", ["'loss'"]),
    ("exp(x, base=2)", ["'loss'", "keyword"]),
])
def test_bad_rate_expression(rate, needles):
    with pytest.raises(ModelError) as info:
        build(rate)
    for needle in needles:
        assert needle in str(info.value), f"{needle!r} missing from: {info.value}"


def test_undefined_symbol_suggests_close_names():
    with pytest.raises(ModelError, match=r"undefined symbol 'kx'.*did you mean"):
        build("kx*x")


def test_cyclic_observables_name_the_cycle():
    obs = (Observable("a", "b + x"), Observable("b", "2*a"))
    with pytest.raises(ModelError, match=r"cycle") as info:
        build("k*x*a", observables=obs)
    assert "a" in str(info.value) and "b" in str(info.value)


def test_self_referencing_observable():
    with pytest.raises(ModelError, match=r"cycle.*'?a'? -> a"):
        build("k*x", observables=(Observable("a", "a + x"),))


def test_observable_with_undefined_symbol():
    with pytest.raises(ModelError, match=r"observable 'o'.*'zz'"):
        build("k*x", observables=(Observable("o", "zz*x"),))


def test_term_changing_an_unknown_state():
    bad = Module("m", states=(State("x", 1.0),), terms=(Term("flow", "x", {"x": -1, "y": 1}),))
    with pytest.raises(ModelError, match=r"'flow'.*'y'"):
        Model("m", [bad])


def test_rate_not_finite_at_the_initial_state():
    with pytest.raises(ModelError, match=r"'loss'"):
        Model("m", [Module("m", states=(State("x", 0.0),), terms=(Term("loss", "log(x)", {"x": -1}),))])


def test_initial_expression_may_only_use_parameters():
    mod = Module("m", states=(State("x", "k*y"), State("y", 1.0)), parameters=(Parameter("k", 1.0),),
                 terms=(Term("loss", "k*x", {"x": -1}),))
    with pytest.raises(ModelError, match=r"state 'x'.*initial.*'y'"):
        Model("m", [mod])


# ------------------------------------------------------------------------------------------------ names
def test_duplicate_names_across_modules_name_both_modules():
    with pytest.raises(ModelError) as info:
        Model("m", [decay_module("first"), decay_module("second", state="y", term="loss2")])
    msg = str(info.value)
    assert "'k'" in msg and "'first'" in msg and "'second'" in msg


def test_duplicate_name_of_different_kinds():
    with pytest.raises(ModelError, match=r"'x'.*state.*parameter"):
        Model("m", [decay_module("a"), decay_module("b", state="z", param="x", term="loss2")])


@pytest.mark.parametrize("name", ["t", "time", "exp", "pi", "1x", "lambda", "__hidden", "a-b", ""])
def test_invalid_or_reserved_names(name):
    with pytest.raises(ModelError) as info:
        State(name, 1.0)
    assert repr(name) in str(info.value)


def test_terms_need_effects():
    with pytest.raises(ModelError, match=r"'t1'"):
        Term("t1", "x", {})
    with pytest.raises(ModelError, match=r"'t1'.*'x'.*zero"):
        Term("t1", "x", {"x": 0})


# ------------------------------------------------------------------------------------------------ values
@pytest.mark.parametrize("value, needle", [(-1.0, "bounds"), (math.nan, "finite"), (math.inf, "finite"),
                                           ("1.0", "real number"), (True, "real number")])
def test_bad_parameter_values(value, needle):
    with pytest.raises(ParameterError, match=needle) as info:
        Parameter("k_bad", value)
    assert "'k_bad'" in str(info.value)


def test_parameter_value_outside_bounds():
    with pytest.raises(ParameterError, match=r"'k'.*5\.0.*\[0\.0, 1\.0\]"):
        Parameter("k", 5.0, lower=0.0, upper=1.0)
    with pytest.raises(ParameterError, match=r"bounds.*'k'.*lower=2.0, upper=1.0"):
        Parameter("k", 1.0, lower=2.0, upper=1.0)
    with pytest.raises(ParameterError, match=r"'k'.*log"):
        Parameter("k", 1.0, lower=0.0, log_scale=True)


@pytest.mark.parametrize("override, exc, needle", [
    ({"k_el": -1.0}, ParameterError, "'k_el'"),
    ({"k_el": math.nan}, ParameterError, "'k_el'"),
    ({"k_el": 1e5}, ParameterError, "'k_el'"),
    ({"kel": 1.0}, UnknownNameError, "'kel'"),
])
def test_bad_overrides_everywhere(override, exc, needle):
    pk = bm.models.get("pk_one_compartment")
    for attempt in (lambda: pk.with_parameters(override),
                    lambda: bm.simulate(pk, days=1, params=override),
                    lambda: bm.Simulator(pk, days=1).run(override),
                    lambda: pk.with_switch(1.0, *next(iter(override.items())))):
        with pytest.raises(exc) as info:
            attempt()
        assert needle in str(info.value)
        assert isinstance(info.value, BonemetError)


def test_negative_initial_value_of_a_nonnegative_state():
    with pytest.raises(ParameterError, match=r"'x'.*-1"):
        State("x", -1.0)
    pk = bm.models.get("pk_one_compartment")
    with pytest.raises(ParameterError, match=r"'central'"):
        pk.with_initial(central=-2.0)
    with pytest.raises(UnknownNameError, match=r"'centre'"):
        pk.with_initial(centre=2.0)


def test_knockout_of_an_unknown_term():
    with pytest.raises(UnknownNameError, match=r"'elim'.*known terms: elimination"):
        bm.models.get("pk_one_compartment").with_knockout("elim")
    with pytest.raises(UnknownNameError, match=r"'eliminaton'.*did you mean 'elimination'"):
        bm.models.get("pk_one_compartment").with_knockout("eliminaton")

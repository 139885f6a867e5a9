"""Composing modules into models: layout of the numeric vectors, ordering, immutability.

Expected values are written out by hand from the small models defined here.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode import Model, Module, Observable, Parameter, State, Term
from bonemet_ode.model.expressions import symbols_in


@pytest.fixture()
def two_modules() -> Model:
    prey = Module("prey", states=(State("x", 10.0),), parameters=(Parameter("r", 1.0), Parameter("c", 0.1)),
                  terms=(Term("birth", "r*x", {"x": 1}), Term("eaten", "c*x*y", {"x": -1, "y": 0.5})),
                  observables=(Observable("ratio", "x/total"),))
    # the predator module uses 'x' and 'c' defined by the prey module
    predator = Module("predator", states=(State("y", 2.0),), parameters=(Parameter("m", 0.3),),
                      terms=(Term("death", "m*y", {"y": -1}),),
                      observables=(Observable("total", "x + y"),))
    return Model("lv", [prey, predator])


def test_layout_of_vectors(two_modules):
    m = two_modules
    assert m.state_names == ("x", "y")
    assert m.parameter_names == ("r", "c", "m")
    assert m.term_names == ("birth", "eaten", "death")
    np.testing.assert_array_equal(m.initial_values(), [10.0, 2.0])
    # parameter values, then one on/off flag per term
    np.testing.assert_array_equal(m.parameter_vector(), [1.0, 0.1, 0.3, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(m.with_knockout("eaten").parameter_vector(), [1.0, 0.1, 0.3, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(m.stoichiometry(), [[1.0, -1.0, 0.0], [0.0, 0.5, -1.0]])


def test_observables_are_put_in_dependency_order(two_modules):
    assert two_modules.observable_names == ("total", "ratio")
    assert two_modules.owner("total") == ("observable", "predator")
    assert two_modules.owner("c") == ("parameter", "prey")


def test_compiled_rhs_of_the_composed_model(two_modules):
    from bonemet_ode.compile.backend import compile_model

    cm = compile_model(two_modules)
    y = np.array([4.0, 3.0])
    p = two_modules.parameter_vector()
    x_, y_ = y
    np.testing.assert_allclose(cm.rhs(y, p), [1.0 * x_ - 0.1 * x_ * y_, 0.5 * 0.1 * x_ * y_ - 0.3 * y_], rtol=1e-15)
    np.testing.assert_allclose(cm.jacobian(y, p), [[1.0 - 0.1 * y_, -0.1 * x_], [0.05 * y_, 0.05 * x_ - 0.3]],
                               rtol=1e-15)
    np.testing.assert_allclose(cm.observables(y, p), [7.0, 4.0 / 7.0], rtol=1e-15)


def test_perturbations_return_new_models(two_modules):
    m = two_modules
    changed = m.with_parameters(r=2.0).with_initial(x=5.0).with_knockout("death").with_switch(3.0, "m", 0.0)
    assert m.parameter("r").value == 1.0 and m.state("x").initial == 10.0
    assert not m.knockouts and not m.switches
    assert changed.parameter("r").value == 2.0 and changed.state("x").initial == 5.0
    assert changed.knockouts == frozenset({"death"}) and changed.switches[0].time == 3.0
    assert changed.structure_key == m.structure_key
    assert m.renamed("other").name == "other"


def test_switches_are_sorted_by_time(two_modules):
    m = two_modules.with_switch(5.0, "m", 0.1).with_switch(2.0, "r", 0.5)
    assert [s.time for s in m.switches] == [2.0, 5.0]


def test_expression_initial_values_follow_parameters():
    mod = Module("m", states=(State("x", "s/d"),), parameters=(Parameter("s", 2.0), Parameter("d", 0.5)),
                 terms=(Term("supply", "s", {"x": 1}), Term("loss", "d*x", {"x": -1})))
    m = Model("steady", [mod])
    assert m.initial_values()[0] == 4.0
    assert m.initial_values({"s": 3.0})[0] == 6.0
    res = bm.simulate(m, days=5.0, params={"s": 3.0})
    np.testing.assert_allclose(res["x"], 6.0, rtol=1e-9)  # starts at, and stays in, the steady state


def test_symbols_in_ignores_functions_and_constants():
    assert symbols_in("exp(-k*t0)*sqrt(x) + pi*max(a, b)", "test") == {"k", "t0", "x", "a", "b"}
    assert symbols_in("exp*2", "test") == {"exp"}  # a function name used as a value is a symbol


def test_model_accepts_a_single_module_and_rejects_empty_models():
    mod = Module("m", states=(State("x", 1.0),), terms=(Term("loss", "x", {"x": -1}),))
    assert Model("one", mod).state_names == ("x",)
    with pytest.raises(bm.ModelError, match="no modules"):
        Model("none", [])
    with pytest.raises(bm.ModelError, match="no states"):
        Model("stateless", [Module("p", parameters=(Parameter("k", 1.0),))])
    with pytest.raises(bm.ModelError, match="Module objects"):
        Model("bad", [mod, "not a module"])

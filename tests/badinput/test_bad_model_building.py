"""Bad inputs when building a model (issue 15): each gets the library's own error naming the bad item.

Every case builds something that is wrong in one way, and expects a subclass of
:class:`~bonemet_ode.errors.BonemetError` whose message contains the bad item.  The last part
checks behaviour the issue found wrong: a 3000-term rate, a micro sign in a name, and the
Jacobian of ``x**n`` at ``x = 0`` (against a tight scipy solve).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode import Model, Module, Observable, Parameter, State, Term
from bonemet_ode.compile.backend import compile_model
from bonemet_ode.errors import BonemetError, ModelError, ParameterError, UnknownNameError
from bonemet_ode.model.components import Switch

_X = State("x", 1.0)
_K = Parameter("k", 0.5)


def mod(states=(_X,), parameters=(_K,), terms=None, observables=(), name="m"):
    if terms is None:
        terms = (Term("decay", "k*x", {"x": -1}),)
    return Module(name, states=tuple(states), parameters=tuple(parameters), terms=tuple(terms),
                  observables=tuple(observables))


def model(**kw):
    return Model("bad", [mod(**kw)])


def base():
    return model()


CASES = [
    # names
    ("state name with a space", lambda: State("tumour cells", 1.0), ModelError, "tumour cells"),
    ("state name a keyword", lambda: State("lambda", 1.0), ModelError, "lambda"),
    ("state name starting with a digit", lambda: State("1x", 1.0), ModelError, "1x"),
    ("state name reserved 't'", lambda: State("t", 1.0), ModelError, "'t'"),
    ("parameter name reserved 'exp'", lambda: Parameter("exp", 1.0), ModelError, "exp"),
    ("name with dunder", lambda: Parameter("__on_x", 1.0), ModelError, "__on_x"),
    ("name not a string", lambda: State(3, 1.0), ModelError, "3"),
    ("empty name", lambda: Parameter("", 1.0), ModelError, "''"),
    ("micro sign in a parameter name", lambda: Parameter("\u00b5", 1.0), ModelError, "MICRO SIGN"),
    ("ligature in a state name", lambda: State("\ufb01t", 1.0), ModelError, "U+FB01"),
    ("full-width letter in a term name", lambda: Term("\uff4b", "x", {"x": -1}), ModelError, "U+FF4B"),
    # values
    ("initial value NaN", lambda: State("x", math.nan), ParameterError, "'x'"),
    ("initial value inf", lambda: State("x", math.inf), ParameterError, "'x'"),
    ("initial value a string list", lambda: State("x", [1.0]), ParameterError, "'x'"),
    ("negative initial of nonnegative state", lambda: State("x", -1.0), ParameterError, "'x'"),
    ("initial value boolean", lambda: State("x", True), ParameterError, "'x'"),
    ("parameter value NaN", lambda: Parameter("k", math.nan), ParameterError, "'k'"),
    ("parameter value a string", lambda: Parameter("k", "0.5"), ParameterError, "'k'"),
    ("parameter value None", lambda: Parameter("k", None), ParameterError, "'k'"),
    ("parameter value outside bounds", lambda: Parameter("k", 5.0, upper=1.0), ParameterError, "'k'"),
    ("parameter lower > upper", lambda: Parameter("k", 0.5, lower=1.0, upper=0.1), ParameterError, "'k'"),
    ("parameter bound NaN", lambda: Parameter("k", 0.5, upper=math.nan), ParameterError, "'k'"),
    ("log-scaled parameter with lower 0", lambda: Parameter("k", 0.5, log_scale=True), ParameterError, "'k'"),
    # terms
    ("term with empty rate", lambda: Term("decay", "  ", {"x": -1}), ModelError, "decay"),
    ("term rate not a string", lambda: Term("decay", 0.5, {"x": -1}), ModelError, "decay"),
    ("term without effects", lambda: Term("decay", "k*x", {}), ModelError, "decay"),
    ("term with zero coefficient", lambda: Term("decay", "k*x", {"x": 0}), ModelError, "'x'"),
    ("term with NaN coefficient", lambda: Term("decay", "k*x", {"x": math.nan}), ParameterError, "'x'"),
    ("term with string coefficient", lambda: Term("decay", "k*x", {"x": "-1"}), ParameterError, "'x'"),
    ("rate with caret", lambda: model(terms=(Term("decay", "k*x^2", {"x": -1}),)), ModelError, "'^'"),
    ("rate with syntax error", lambda: model(terms=(Term("decay", "k*(x", {"x": -1}),)), ModelError, "decay"),
    ("rate with unknown function", lambda: model(terms=(Term("decay", "frob(x)", {"x": -1}),)), ModelError, "'frob'"),
    ("rate with attribute access", lambda: model(terms=(Term("decay", "x.real", {"x": -1}),)), ModelError, "Attribute"),
    ("rate with comparison", lambda: model(terms=(Term("decay", "k*(x > 1)", {"x": -1}),)), ModelError, "Compare"),
    ("rate with a string constant", lambda: model(terms=(Term("decay", "'x'", {"x": -1}),)), ModelError, "'x'"),
    ("rate with keyword argument", lambda: model(terms=(Term("decay", "max(x, k=1)", {"x": -1}),)), ModelError,
     "keyword"),
    ("rate uses undefined symbol", lambda: model(terms=(Term("decay", "kk*x", {"x": -1}),)), ModelError, "'kk'"),
    ("rate uses time", lambda: model(terms=(Term("decay", "k*x*t", {"x": -1}),)), ModelError, "time"),
    ("rate uses micro sign for an undefined mu", lambda: model(terms=(Term("decay", "\u00b5*x", {"x": -1}),)),
     ModelError, "MICRO SIGN"),
    ("rate with 3000 terms", lambda: model(terms=(Term("decay", "+".join(["k*x"] * 3000), {"x": -1}),)),
     ModelError, "too deeply nested"),
    ("term changes an unknown state", lambda: model(terms=(Term("decay", "k*x", {"y": -1}),)), ModelError, "'y'"),
    ("rate not finite at the initial state", lambda: model(terms=(Term("decay", "k/(x - 1)", {"x": -1}),)),
     ModelError, "decay"),
    # observables and composition
    ("observable with empty expression", lambda: Observable("total", ""), ModelError, "total"),
    ("observable cycle", lambda: model(observables=(Observable("a", "b"), Observable("b", "a"))), ModelError, "cycle"),
    ("observable uses undefined symbol", lambda: model(observables=(Observable("a", "x + zz"),)), ModelError, "'zz'"),
    ("name defined twice across modules", lambda: Model("bad", [mod(), mod(name="m2")]), ModelError, "'x'"),
    ("model without modules", lambda: Model("bad", []), ModelError, "no modules"),
    ("model with a non-module", lambda: Model("bad", [mod(), "module"]), ModelError, "'module'"),
    ("initial expression uses a state", lambda: Model("bad", [mod(states=(State("x", 1.0), State("y", "x*2")))]),
     ModelError, "'x'"),
    # perturbations of a built model
    ("with_parameters unknown name", lambda: base().with_parameters(kk=1.0), UnknownNameError, "'kk'"),
    ("with_parameters out of bounds", lambda: base().with_parameters(k=-1.0), ParameterError, "'k'"),
    ("with_parameters NaN", lambda: base().with_parameters(k=math.nan), ParameterError, "'k'"),
    ("with_initial unknown state", lambda: base().with_initial(y=1.0), UnknownNameError, "'y'"),
    ("with_initial negative", lambda: base().with_initial(x=-2.0), ParameterError, "'x'"),
    ("with_knockout unknown term", lambda: base().with_knockout("decy"), UnknownNameError, "'decy'"),
    ("switch of unknown parameter", lambda: base().with_switch(1.0, "kk", 0.1), UnknownNameError, "'kk'"),
    ("switch at negative time", lambda: base().with_switch(-1.0, "k", 0.1), ParameterError, "'k'"),
    ("switch value outside bounds", lambda: base().with_switch(1.0, "k", -0.1), ParameterError, "'k'"),
    ("switch not a Switch", lambda: Model("bad", [mod()], switches=[(1.0, "k", 0.1)]), ModelError, "Switch"),
    ("switch time NaN", lambda: Switch(math.nan, "k", 0.1), ParameterError, "'k'"),
]


@pytest.mark.parametrize("build, error, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_model_input_is_refused_by_name(build, error, fragment):
    assert issubclass(error, BonemetError)
    with pytest.raises(error) as info:
        build()
    assert fragment in str(info.value), str(info.value)


# ------------------------------------------------------------------------------- documented acceptance
def test_greek_mu_name_is_accepted_and_the_micro_sign_in_a_rate_refers_to_it():
    """Accepted: Python reads the micro sign in an expression as Greek mu, so it names the same parameter."""
    m = model(parameters=(Parameter("\u03bc", 0.5),), terms=(Term("decay", "\u00b5*x", {"x": -1}),))
    res = bm.simulate(m, days=1.0, rtol=1e-10, atol=1e-12)
    assert res["x"][-1] == pytest.approx(math.exp(-0.5), rel=1e-8)


def test_2000_term_rate_works():
    """Accepted: a long but parseable rate (2000 terms of k*x/2000) simulates exactly like k*x."""
    rate = "+".join(["k*x/2000"] * 2000)
    m = model(terms=(Term("decay", rate, {"x": -1}),))
    res = bm.simulate(m, days=2.0, rtol=1e-10, atol=1e-12)
    assert res["x"][-1] == pytest.approx(math.exp(-1.0), rel=1e-8)


# ------------------------------------------------------------------------------- x**p at x = 0
def hill_model(n: float):
    # x starts at 0 and grows at rate 1; y is activated by x**n/(K**n + x**n); n is a parameter
    return Model("hill_probe", [Module("m", states=(State("x", 0.0), State("y", 0.0)),
                                       parameters=(Parameter("n", n), Parameter("K", 0.5), Parameter("s", 1.0)),
                                       terms=(Term("inflow", "s", {"x": 1}),
                                              Term("act", "x**n/(K**n + x**n)", {"y": 1})))])


@pytest.mark.parametrize("n", [1.0, 2.0, 3.5])
def test_jacobian_of_a_parameter_power_is_finite_at_zero(n, reference_solve):
    m = hill_model(n)
    cm = compile_model(m)
    J = cm.jacobian(np.zeros(2), m.parameter_vector())
    assert np.all(np.isfinite(J)), J  # was NaN: n*x**n/x at x = 0
    expected = 1.0 / 0.5 if n == 1.0 else 0.0  # d/dx x**n/(K**n + x**n) at 0
    assert J[1, 0] == pytest.approx(expected)
    times = np.linspace(0.0, 3.0, 13)
    res = bm.simulate(m, times=times, rtol=1e-9, atol=1e-12)
    ref = reference_solve(m, None, times, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(res.states, ref, rtol=1e-6, atol=1e-9)

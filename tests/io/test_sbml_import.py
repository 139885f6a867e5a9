"""SBML and Antimony import: small models against closed forms and tight scipy solves; refusals by name."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("libsbml")

import bonemet_ode as bm  # noqa: E402
from bonemet_ode.errors import ModelError, UnsupportedFeatureError  # noqa: E402
from bonemet_ode.io.sbml_import import antimony_to_sbml, import_sbml  # noqa: E402

TIGHT = bm.SolverOptions(rtol=1e-10, atol=1e-13)


def sbml(body: str, level: int = 3, version: int = 2, extra_ns: str = "") -> str:
    ns = f"http://www.sbml.org/sbml/level{level}/version{version}" + ("/core" if level == 3 else "")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="{ns}" level="{level}" version="{version}"{extra_ns}>'
            f'<model id="m">{body}</model></sbml>')


def mathml(expr: str) -> str:
    """Content MathML of an infix formula (libsbml's L3 parser)."""
    import libsbml

    node = libsbml.parseL3Formula(expr)
    assert node is not None, libsbml.getLastParseL3Error()
    text = libsbml.writeMathMLToString(node)
    return text[text.index("<math"):]


def run(model, days, n=11):
    times = np.linspace(0.0, days, n)
    return bm.simulate(model, days=days, times=times, options=TIGHT), times


# ----------------------------------------------------------------------------- reactions and compartments
def test_mass_action_in_non_unit_compartment_concentrations_and_amounts():
    """A -> B at rate k*A*V (concentration units) in V = 2: A(t) = A0 exp(-k t) as a concentration."""
    doc = sbml(f"""
      <listOfCompartments><compartment id="V" size="2" constant="true"/></listOfCompartments>
      <listOfSpecies>
        <species id="A" compartment="V" initialConcentration="3" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>
        <species id="B" compartment="V" initialAmount="0" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>
      </listOfSpecies>
      <listOfParameters><parameter id="k" value="0.7" constant="true"/></listOfParameters>
      <listOfReactions><reaction id="R" reversible="false">
        <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
        <listOfProducts><speciesReference species="B" stoichiometry="2" constant="true"/></listOfProducts>
        <kineticLaw>{mathml("k*A*V")}</kineticLaw></reaction></listOfReactions>""")
    imp = import_sbml(doc)
    res, t = run(imp.model, 3.0)
    A = 3 * np.exp(-0.7 * t)
    np.testing.assert_allclose(imp.evaluate(res, "A"), A, rtol=1e-8)
    np.testing.assert_allclose(imp.evaluate(res, "A", "amount"), 2 * A, rtol=1e-8)
    np.testing.assert_allclose(imp.evaluate(res, "B", "concentration"), 2 * (3 - A), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res["B"], 2 * (3 - A), rtol=1e-8, atol=1e-12)  # observable under the SBML id


def test_variable_compartment_keeps_amounts_and_dilutes_concentration():
    """V grows at rate 1 (rate rule); S has no reactions: amount constant, concentration S0*V0/V."""
    doc = sbml(f"""
      <listOfCompartments><compartment id="V" size="1" constant="false"/></listOfCompartments>
      <listOfSpecies><species id="S" compartment="V" initialConcentration="4" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/></listOfSpecies>
      <listOfRules><rateRule variable="V">{mathml("1")}</rateRule></listOfRules>""")
    imp = import_sbml(doc)
    res, t = run(imp.model, 2.0)
    np.testing.assert_allclose(imp.evaluate(res, "S"), 4 / (1 + t), rtol=1e-9)
    np.testing.assert_allclose(imp.evaluate(res, "S", "amount"), 4.0, rtol=1e-12)


def test_local_parameters_boundary_species_and_conversion_factor():
    """X (boundary, fixed at 5) -> Y at rate k*X with local k = 0.2; Y's conversion factor 3: dY/dt = 3."""
    doc = sbml(f"""
      <listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
      <listOfSpecies>
        <species id="X" compartment="c" initialAmount="5" hasOnlySubstanceUnits="true" boundaryCondition="true" constant="false"/>
        <species id="Y" compartment="c" initialAmount="1" hasOnlySubstanceUnits="true" boundaryCondition="false" constant="false" conversionFactor="cf"/>
      </listOfSpecies>
      <listOfParameters><parameter id="k" value="100" constant="true"/><parameter id="cf" value="3" constant="true"/></listOfParameters>
      <listOfReactions><reaction id="R" reversible="false">
        <listOfReactants><speciesReference species="X" stoichiometry="1" constant="true"/></listOfReactants>
        <listOfProducts><speciesReference species="Y" stoichiometry="1" constant="true"/></listOfProducts>
        <kineticLaw>{mathml("k*X")}<listOfLocalParameters><localParameter id="k" value="0.2"/></listOfLocalParameters></kineticLaw>
      </reaction></listOfReactions>""")
    m = bm.read_sbml(doc)
    assert "R_k" in m.parameter_names and m.parameter("R_k").value == 0.2
    res, t = run(m, 2.0)
    np.testing.assert_allclose(res["Y"], 1 + 3 * 0.2 * 5 * t, rtol=1e-10)
    np.testing.assert_allclose(res["X"], 5.0)


# ----------------------------------------------------------------------------- rules, functions, math
def test_rules_initial_assignment_function_definition_and_piecewise():
    """x' = f(k, time) with f(a, s) = a*piecewise(1, s < 1, 0.5); y := 2*x; k from an initial assignment."""
    doc = sbml(f"""
      <listOfFunctionDefinitions><functionDefinition id="f"><math xmlns="http://www.w3.org/1998/Math/MathML">
        <lambda><bvar><ci>a</ci></bvar><bvar><ci>s</ci></bvar>
        <apply><times/><ci>a</ci><piecewise><piece><cn>1</cn><apply><lt/><ci>s</ci><cn>1</cn></apply></piece>
        <otherwise><cn>0.5</cn></otherwise></piecewise></apply></lambda></math></functionDefinition></listOfFunctionDefinitions>
      <listOfParameters>
        <parameter id="k" value="1" constant="true"/><parameter id="x" value="0" constant="false"/>
        <parameter id="y" constant="false"/></listOfParameters>
      <listOfInitialAssignments><initialAssignment symbol="k">{mathml("3*2")}</initialAssignment></listOfInitialAssignments>
      <listOfRules><rateRule variable="x"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><ci>f</ci><ci>k</ci>
        <csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/time">t</csymbol></apply></math></rateRule>
        <assignmentRule variable="y">{mathml("2*x")}</assignmentRule></listOfRules>""")
    imp = import_sbml(doc)
    assert imp.time_state is not None
    res, t = run(imp.model, 2.0, n=21)
    x = np.where(t < 1, 6 * t, 6 + 3 * (t - 1))
    np.testing.assert_allclose(imp.evaluate(res, "x"), x, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(imp.evaluate(res, "y"), 2 * x, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("formula, expected", [
    ("sin(p)^2 + cos(p)^2", 1.0),
    ("sec(p)", 1 / math.cos(0.3)),
    ("arccot(p)", math.atan(1 / 0.3)),
    ("log(10, 1000)", 3.0),
    ("root(3, 27)", 3.0),
    ("floor(2.7) + ceil(p)", 3.0),
    ("factorial(4)", 24.0),
    ("piecewise(1, p > 1, 2, p < 0.5 && p > 0.1, 3)", 2.0),
    ("piecewise(1, xor(p > 0, p > 1, p > 2), 0)", 1.0),
    ("exp(1) - exponentiale", 0.0),
    ("max(p, 2, -1) + min(p, 0.1)", 2.1),
    ("asinh(sinh(p)) + acosh(cosh(p)) + atanh(tanh(p))", 0.9),
    ("piecewise(1, p < INF, 0) + piecewise(1, -INF < p, 0)", 2.0),
    ("quotient(7, 2) + rem(7, 2)", 4.0),
])
def test_mathml_function_set(formula, expected):
    """Each MathML function as an assignment rule, compiled: value at time 0 and through the solve."""
    doc = sbml(f"""<listOfParameters><parameter id="p" value="0.3" constant="true"/>
      <parameter id="q" constant="false"/></listOfParameters>
      <listOfRules><assignmentRule variable="q">{mathml(formula)}</assignmentRule></listOfRules>""")
    imp = import_sbml(doc)
    res, _ = run(imp.model, 1.0, n=3)
    np.testing.assert_allclose(imp.evaluate(res, "q"), expected, rtol=1e-12, atol=1e-12)


def test_time_dependent_rate_against_scipy():
    """A rate with trig functions of time and a state-dependent piecewise, against scipy Radau at rtol 1e-11."""
    from scipy.integrate import solve_ivp

    m = bm.read_antimony("""
        model osc
          J1: -> X; a*(1 + sin(2*time)) ;
          J2: X -> ; piecewise(b*X, time > 3, 0.1*X)
          X = 0.5; a = 1.2; b = 0.9
        end""")
    res, t = run(m, 6.0, n=13)

    def f(tt, y):
        x = y[0]
        return [1.2 * (1 + math.sin(2 * tt)) - (0.9 * x if tt > 3 else 0.1 * x)]

    a = solve_ivp(f, (0, 3), [0.5], method="Radau", t_eval=t[t <= 3], rtol=1e-11, atol=1e-13)
    b = solve_ivp(f, (3, 6), [a.y[0, -1]], method="Radau", t_eval=t[t > 3], rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(res["X"], np.concatenate([a.y[0], b.y[0]]), rtol=2e-7)


# ----------------------------------------------------------------------------- events
def test_event_resets_state_at_threshold():
    """Exponential growth x' = x reset to 1 each time x reaches 2: x(t) = 2**frac(t/ln 2)."""
    m = bm.read_antimony("""
        model reset
          x' = x
          x = 1
          E1: at (x >= 2): x = 1
        end""")
    assert len(m.events) == 1
    res, t = run(m, 3.0, n=31)
    phase = np.mod(t / math.log(2), 1.0)
    expected = 2.0 ** phase
    near_reset = np.minimum(phase, 1 - phase) < 1e-6
    np.testing.assert_allclose(res["x"][~near_reset], expected[~near_reset], rtol=1e-6)


def test_event_sets_concentration_in_non_unit_compartment():
    """At time 1 the concentration of S is set to 10 in a compartment of size 4: amount 40, then decay."""
    m = bm.read_antimony("""
        model ev
          compartment C = 4
          species S in C = 1
          J: S -> ; k*S*C
          k = 0.5
          E: at (time >= 1): S = 10
        end""")
    res, t = run(m, 3.0, n=31)
    S = np.where(t < 1, np.exp(-0.5 * t), 10 * np.exp(-0.5 * (t - 1)))
    ok = np.abs(t - 1) > 1e-9
    np.testing.assert_allclose(res["S"][ok], S[ok], rtol=1e-7)


def test_algebraic_rule_solved_for_its_free_variable():
    """A -> B (k) with the algebraic rule T - A - B - c = 0: T is determined, T = A0 + B0 + c for all t."""
    doc = sbml(f"""
      <listOfCompartments><compartment id="V" size="1" constant="true"/></listOfCompartments>
      <listOfSpecies>
        <species id="A" compartment="V" initialAmount="2" hasOnlySubstanceUnits="true" boundaryCondition="false" constant="false"/>
        <species id="B" compartment="V" initialAmount="1" hasOnlySubstanceUnits="true" boundaryCondition="false" constant="false"/>
      </listOfSpecies>
      <listOfParameters><parameter id="k" value="0.4" constant="true"/><parameter id="c" value="0.5" constant="true"/>
        <parameter id="T" value="0" constant="false"/></listOfParameters>
      <listOfRules><algebraicRule>{mathml("2*T - 2*(A + B + c)")}</algebraicRule></listOfRules>
      <listOfReactions><reaction id="R" reversible="false">
        <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
        <listOfProducts><speciesReference species="B" stoichiometry="1" constant="true"/></listOfProducts>
        <kineticLaw>{mathml("k*A")}</kineticLaw></reaction></listOfReactions>""")
    imp = import_sbml(doc)
    assert "T" in imp.model.observable_names
    res, t = run(imp.model, 2.0)
    np.testing.assert_allclose(imp.evaluate(res, "T"), 3.5, rtol=1e-10)
    np.testing.assert_allclose(res["A"], 2 * np.exp(-0.4 * t), rtol=1e-8)


# ----------------------------------------------------------------------------- refusals
def test_refusals_name_feature_and_element():
    alg = sbml(f"""<listOfParameters><parameter id="x" value="2" constant="false"/></listOfParameters>
      <listOfRules><algebraicRule>{mathml("x^2 - 4")}</algebraicRule></listOfRules>""")
    with pytest.raises(UnsupportedFeatureError, match="algebraic rule without a unique closed-form solution"):
        bm.read_sbml(alg)
    delay = sbml("""<listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>
      <listOfRules><rateRule variable="x"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply>
      <csymbol encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/delay">delay</csymbol>
      <ci>x</ci><cn>1</cn></apply></math></rateRule></listOfRules>""")
    with pytest.raises(UnsupportedFeatureError, match=r"delay.*rate rule for 'x'") as info:
        bm.read_sbml(delay)
    assert info.value.feature == "delay (csymbol delay)"
    with pytest.raises(UnsupportedFeatureError, match="equal priority.*'E1, E2'"):
        bm.read_antimony("x' = 1; x = 0; y = 0; E1: at (x > 1), priority = 2: x = 0; "
                         "E2: at (x > 1), priority = 2: y = 1")
    with pytest.raises(UnsupportedFeatureError, match="eq/neq"):
        bm.read_antimony("x' = 1; x = 0; E1: at (x == 1): x = 0")


def test_bad_input_is_a_model_error():
    with pytest.raises(ModelError, match="does not exist"):
        bm.read_sbml("/no/such/file.xml")
    with pytest.raises(ModelError, match="libsbml reports"):
        bm.read_sbml("<sbml>not sbml")
    with pytest.raises(ModelError, match="no initial value"):
        bm.read_antimony("J0: A -> B; k*A; A = 1; k = 0.1")
    with pytest.raises(ModelError, match="antimony cannot read"):
        bm.read_antimony("J0: A -> ; k*")


def test_bad_paths_texts_and_kinds_are_refused_by_name(tmp_path):
    """A directory, an empty string or empty Antimony text, a non-ASCII name (antimony's own message cannot be
    decoded then) and an unknown ``kind`` of evaluate: each a ModelError naming it, none a stray exception."""
    with pytest.raises(ModelError, match="is a directory"):
        bm.read_sbml(tmp_path)
    with pytest.raises(ModelError, match="empty string"):
        bm.read_sbml("")
    for text in ("", "  \n# a comment only\n// another\n"):
        with pytest.raises(ModelError, match="defines no model"):
            bm.read_antimony(text)
    with pytest.raises(ModelError, match="line 2, column 16: 'é' is not an ASCII character"):
        bm.read_antimony("# a comment may say é\nJ0: S -> P; k*Sé\nS = 10; P = 0; k = 0.3")
    imp = import_sbml(antimony_to_sbml("compartment C = 2; species S in C; S = 10; J0: S -> ; k*S; k = 0"))
    res = bm.simulate(imp.model, days=1.0)
    assert imp.evaluate(res, "S", "amount")[-1] == pytest.approx(20.0)
    for kind in ("Amount", "amounts", "foo"):
        with pytest.raises(ModelError, match=f"kind of 'S' must be 'amount', 'concentration' or None.*{kind!r}"):
            imp.evaluate(res, "S", kind)


def test_ids_that_clash_with_model_names_are_renamed():
    """SBML ids 'time', 'lambda' and 'sin' are legal in SBML; the model gets valid names and results map back."""
    doc = sbml("""<listOfParameters><parameter id="lambda" value="2" constant="true"/>
      <parameter id="sin" value="0" constant="false"/><parameter id="time" value="3" constant="true"/></listOfParameters>
      <listOfRules><rateRule variable="sin"><math xmlns="http://www.w3.org/1998/Math/MathML">
      <apply><times/><ci>lambda</ci><ci>time</ci></apply></math></rateRule></listOfRules>""")
    imp = import_sbml(doc)
    assert not {"lambda", "sin", "time"} & set(imp.model.parameter_names + imp.model.state_names)
    res, t = run(imp.model, 1.0)
    np.testing.assert_allclose(imp.evaluate(res, "sin"), 6 * t, rtol=1e-12)


# ----------------------------------------------------------------------------- round trip
def test_round_trip_of_bone_metastasis_control_arm():
    """read_sbml(to_sbml(bone_metastasis)) reproduces bm.simulate on the control arm to 1e-8."""
    model = bm.models.get("bone_metastasis")
    back = bm.read_sbml(bm.to_sbml(model))
    opts = bm.SolverOptions(rtol=1e-11, atol=1e-12)
    times = np.linspace(0, 60, 13)
    a = bm.simulate(model, days=60, times=times, options=opts)
    b = bm.simulate(back, days=60, times=times, options=opts)
    for name in model.state_names:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-8, atol=1e-8 * np.abs(a[name]).max(), err_msg=name)
    for name in model.observable_names:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-8, atol=1e-8 * np.abs(a[name]).max() + 1e-300,
                                   err_msg=name)


def test_round_trip_of_bone_metastasis_dosed_arm():
    """The combination arm exported with its doses as SBML events and read back reproduces bm.simulate to 1e-8."""
    from bonemet_ode.models.bone_metastasis import default_arms

    model = bm.models.get("bone_metastasis")
    arm = default_arms()[-1]
    back = bm.read_sbml(bm.to_sbml(model, arm, days=60))
    assert len(back.events) > 0
    opts = bm.SolverOptions(rtol=1e-11, atol=1e-12)
    times = np.linspace(0, 60, 13)  # days 0, 5, ..., 60 (some are dose days: the post-dose state)
    a = bm.simulate(model, arm, days=60, times=times, options=opts)
    b = bm.simulate(back, days=60, times=times, options=opts)
    for name in model.state_names:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-8, atol=1e-8 * np.abs(a[name]).max(), err_msg=name)


def test_delayed_event_with_values_from_trigger_time():
    """x' = 1 from 0; when x >= 1 the event records 10*x (= 10) and assigns it 0.5 days later: x jumps to 10 at 1.5."""
    m = bm.read_antimony("""
        x' = 1; x = 0
        E1: at 0.5 after (x >= 1): x = 10*x
    """)
    res, t = run(m, 3.0, n=13)
    expected = np.where(t < 1.5, t, 10 + (t - 1.5))
    np.testing.assert_allclose(res["x"], expected, rtol=1e-9, atol=1e-9)


def test_delayed_event_pending_overflow_stops_the_solve():
    """A trigger that fires more often than the pending executions can hold stops with a SolverError, not silently."""
    m = bm.read_antimony("""
        x := sin(10*time); y = 0
        E1: at 5 after (x > 0.5): y = y + 1
    """)
    with pytest.raises(bm.SolverError, match="overflow"):
        bm.simulate(m, days=4, times=np.linspace(0, 4, 5), options=bm.SolverOptions(hmax=0.05))


@pytest.mark.parametrize("steps, named", [("inf", "cannot convert float infinity"), ("ten", "could not convert")])
def test_malformed_suite_settings_are_a_model_error(tmp_path, steps, named):
    """A settings file whose numbers do not parse is a ModelError naming the file (steps: inf raised OverflowError)."""
    from bonemet_ode.io.sbml_import.testsuite import read_settings

    (tmp_path / "00001-settings.txt").write_text(f"start: 0\nduration: 5\nsteps: {steps}\nvariables: S1\n"
                                                 "absolute: 1e-7\nrelative: 0.0001\namount: S1\nconcentration:\n")
    with pytest.raises(ModelError, match=f"malformed settings file .*00001-settings.txt.*{named}"):
        read_settings(tmp_path)

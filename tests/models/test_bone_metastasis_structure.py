"""Structure of the bone-metastasis model: modules, documentation, Komarova bone, knockouts.

References are independent of the compiled code: the Komarova steady state and
Jacobian are derived by hand from the published parameters (Komarova et al.
2003, Bone 33:206); knocked-out fluxes are evaluated with ``sympy.lambdify``
of the symbolic rates.

Tolerances: steady-state values to 1e-9 relative (closed forms); compiled
right-hand sides to 1e-10 relative + 1e-12 absolute (double rounding only).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.compile.backend import compile_model
from bonemet_ode.model import Model
from bonemet_ode.models.bone_metastasis import arms as bm_arms
from bonemet_ode.models.bone_metastasis.bone import bone_remodelling
from bonemet_ode.models.bone_metastasis.docs import parameter_table_markdown
from bonemet_ode.models.bone_metastasis.model import AXES, MODULE_FACTORIES

KOMAROVA = dict(alpha1=3.0, alpha2=4.0, beta1=0.2, beta2=0.02, g11=0.5, g21=-0.5, g12=1.0, g22=0.0,
                k1=0.24, k2=0.0017)


@pytest.fixture(scope="module")
def model() -> Model:
    return bm.models.get("bone_metastasis")


def test_size_and_modules(model):
    assert 20 <= len(model.state_names) <= 30
    assert len(model.modules) == len(MODULE_FACTORIES)
    assert sorted(n for names in AXES.values() for n in names) == sorted(m.name for m in model.modules)


def test_every_parameter_documented(model):
    for p in model.parameters:
        assert p.unit and p.description and p.source, f"parameter {p.name!r} lacks unit, meaning or source"
        assert p.lower <= p.value <= p.upper
    table = parameter_table_markdown(model)
    for p in model.parameters:
        assert f"`{p.name}`" in table


def test_outcome_observables_exist(model):
    names = set(model.state_names) | set(model.observable_names)
    for name in ("tumor", "cd8", "macrophages", "er_fraction", "mac_er", "immature_fraction", "dkk1_serum",
                 "chi3l3", "tams", "bone_mass", "dissemination", "primary_tumor", "lesion_probability"):
        assert name in names


def test_komarova_values_are_the_published_ones(model):
    for name, value in KOMAROVA.items():
        assert model.parameter(name).value == value


def test_komarova_nontrivial_steady_state(model):
    """C·B = (α1/β1)^2 (from dC/dt = 0 with g11 = 1/2, g21 = −1/2) and B = α2 C/β2 (dB/dt = 0)."""
    a1, a2, b1, b2 = (KOMAROVA[k] for k in ("alpha1", "alpha2", "beta1", "beta2"))
    c_bar = math.sqrt((a1 / b1) ** 2 * b2 / a2)
    b_bar = a2 * c_bar / b2
    assert b_bar == pytest.approx(212.132, abs=1e-3)
    assert c_bar == pytest.approx(1.06066, abs=1e-5)
    y0 = dict(zip(model.state_names, model.initial_values()))
    assert y0["osteoblasts"] == pytest.approx(b_bar, rel=1e-9)
    assert y0["osteoclasts"] == pytest.approx(c_bar, rel=1e-9)


def test_komarova_steady_state_is_a_stable_focus():
    """Hand-derived Jacobian at (C̄, B̄): [[-β1/2, -β1 C̄/(2 B̄)], [α2, -β2]] -> eigenvalues -0.06 ± 0.02i."""
    alone = Model("komarova", [bone_remodelling()])
    cm = compile_model(alone)
    y = alone.initial_values()
    J = cm.jacobian(y, alone.parameter_vector())
    i, j = alone.state_index("osteoclasts"), alone.state_index("osteoblasts")
    sub = J[np.ix_([i, j], [i, j])]
    ev = np.sort_complex(np.linalg.eigvals(sub))
    np.testing.assert_allclose(ev, [-0.06 - 0.02j, -0.06 + 0.02j], atol=1e-10)
    np.testing.assert_allclose(cm.rhs(y, alone.parameter_vector()), 0.0, atol=1e-12)


def test_komarova_remodelling_cycle_returns_to_steady_state():
    """A burst of osteoclasts (C̄ + 10, Komarova's initial condition) resorbs bone, then cells return to C̄, B̄."""
    alone = Model("komarova", [bone_remodelling()])
    c_bar = alone.initial_values()[alone.state_index("osteoclasts")]
    res = bm.simulate(alone.with_initial(osteoclasts=c_bar + 10.0), times=[0, 5, 400], rtol=1e-8)
    assert res.at(5, "bone_mass") < 100.0
    assert res.at(400, "osteoclasts") == pytest.approx(c_bar, rel=1e-3)


def test_tumour_free_bone_stays_at_steady_state(model):
    arm = bm_arms.scenario_arms()["tumour-free"]
    res = bm.simulate(model, arm, times=[0, 28, 120])
    for name in ("osteoclasts", "osteoblasts", "bone_mass", "dkk1", "neut_immature", "chi3l3", "er_fraction"):
        np.testing.assert_allclose(res[name], res[name][0], rtol=1e-9, err_msg=name)
    assert res.at(120, "bone_mass") == pytest.approx(100.0, rel=1e-12)  # unchanged up to roundoff


def test_tumour_erodes_bone(model):
    res = bm.simulate(model, times=[0, 28])
    assert res.at(28, "bone_mass") < 95.0


@pytest.mark.parametrize("arm_name", ["ERa-KO", "EV-FA-KO", "Notch-KO"])
def test_knockout_zeroes_exactly_its_terms(model, arm_name):
    """rhs(WT) − rhs(KO) = S[:, ko] · v_ko at random positive states; nothing else changes."""
    import sympy as sp

    from bonemet_ode.compile.symbolic import SymbolicModel

    arm = bm_arms.scenario_arms()[arm_name]
    ko_model = arm.apply(model)
    terms = arm.perturbations[0].terms
    assert set(ko_model.knockouts) == set(terms)
    sym = SymbolicModel(model)
    idx = [model.term_names.index(t) for t in terms]
    rates = sp.lambdify([sym.y, sym.p], [sym.rates[j] for j in idx], "numpy")
    S = model.stoichiometry()
    cm = compile_model(model)
    assert compile_model(ko_model) is cm  # a knockout does not recompile
    rng = np.random.default_rng(3)
    y0 = model.initial_values()
    for _ in range(5):
        y = (y0 + 1.0) * rng.uniform(0.5, 2.0, len(y0))
        y[model.state_index("er_fraction")] = rng.uniform(0.05, 0.9)
        y[model.state_index("cd8_priming")] = rng.uniform(0.05, 0.9)
        p_wt, p_ko = model.parameter_vector(), ko_model.parameter_vector()
        expected = S[:, idx] @ np.array(rates(y, p_wt), dtype=float)
        diff = cm.rhs(y, p_wt) - cm.rhs(y, p_ko)
        np.testing.assert_allclose(diff, expected, rtol=1e-10, atol=1e-12)
        assert np.count_nonzero(expected) >= 1


def test_er_knockout_spares_tumour_free_bone(model):
    arms = bm_arms.scenario_arms()
    wt = bm.simulate(model, arms["tumour-free"], times=[0, 28])
    ko = bm.simulate(model, arms["tumour-free ERa-KO"], times=[0, 28])
    assert ko.at(28, "bone_mass") == wt.at(28, "bone_mass")
    assert ko.at(28, "er_fraction") < wt.at(28, "er_fraction")

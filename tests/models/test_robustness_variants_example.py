"""The model variants of examples/robustness_variants.py are the shipped model plus exactly one change."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bonemet_ode.models import get
from bonemet_ode.simulate import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "robustness_variants.py"


@pytest.fixture(scope="module")
def variants():
    spec = importlib.util.spec_from_file_location("robustness_variants", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _arm():
    from bonemet_ode.models.bone_metastasis.arms import scenario_arms

    return scenario_arms()["anti-DKK1 + anti-PD-1"]


@pytest.mark.parametrize("build, neutral", [("crowding", 1e12), ("sublinear_kill", 1.0)])
def test_variant_reduces_to_the_shipped_model_at_its_neutral_value(variants, build, neutral):
    shipped = Simulator(get("bone_metastasis"), _arm(), days=42).run()
    variant = Simulator(getattr(variants, build)(neutral), _arm(), days=42).run()
    for state in ("tumor", "cd8_eff", "cd8_exh"):
        np.testing.assert_allclose(variant[state], shipped[state], rtol=1e-5, atol=1e-6)


def test_variant_changes_the_cd8_response(variants):
    shipped = Simulator(get("bone_metastasis"), _arm(), days=28).run()
    crowded = Simulator(variants.crowding(3e3), _arm(), days=28).run()
    # crowding caps expansion: fewer functional CD8 cells at the combination arm's peak (~1e4 when shipped)
    assert crowded["cd8_eff"].max() < 0.8 * shipped["cd8_eff"].max()


def test_wide_variability_reaches_the_cohort_statements(variants):
    ctx = variants.variant_context(get("bone_metastasis"), {}, variants.WIDE, 1)
    o16 = next(o for o in ctx.outcomes if o.id == "O16").to_text()
    assert "k_kill~lognormal(0.6)" in o16 and "s_C~lognormal(0.6)" in o16 and "r_T~lognormal(0.15)" in o16
    p4 = next(o for o in ctx.outcomes if o.id == "P4").to_text()
    assert "k_kill~lognormal(0.6)" in p4


def test_ratio_kill_changes_only_the_kill_term(variants):
    """The ratio-dependent variant swaps the rate of ``tumor_kill`` and adds ``D_kill``, ``s_R``; nothing else."""
    shipped, variant = get("bone_metastasis"), variants.ratio_kill(1.0)
    rates = {m.name: {t.name: t.rate for t in m.terms} for m in shipped.modules}
    changed = [(m.name, t.name) for m in variant.modules for t in m.terms if rates[m.name][t.name] != t.rate]
    assert changed == [("cd8_killing", "tumor_kill")]
    assert set(variant.parameter_names) - set(shipped.parameter_names) == {"D_kill", "s_R"}
    assert variant.parameter("s_R").value == 1.0
    # the parameter acts: a high maximal kill (5 per cancer cell and day) leaves the combination arm's
    # lesion smaller at day 28 than the shipped mass-action kill does
    res = Simulator(variant, _arm(), days=28).run({"D_kill": 5.0})
    assert res["tumor"][-1] < Simulator(get("bone_metastasis"), _arm(), days=28).run()["tumor"][-1]

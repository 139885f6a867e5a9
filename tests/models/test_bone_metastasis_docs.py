"""Rendered documentation and source figures of the bone-metastasis model."""

from __future__ import annotations

import pytest

import bonemet_ode as bm
from bonemet_ode.models.bone_metastasis.docs import (
    arms_markdown,
    module_equations_markdown,
    parameter_table_markdown,
    render_markdown,
)


def test_parameter_table_has_one_row_per_parameter():
    model = bm.models.get("kuznetsov1994")
    lines = parameter_table_markdown(model).splitlines()
    assert lines[0].startswith("| parameter | value | unit | bounds")
    assert len(lines) == 2 + len(model.parameter_names)


def test_parameter_table_module_filter():
    model = bm.models.get("bone_metastasis")
    text = parameter_table_markdown(model, ["bone_remodelling"])
    assert "`alpha1`" in text and "`r_T`" not in text


def test_equations_name_every_term():
    model = bm.models.get("bone_metastasis")
    for module in model.modules:
        text = module_equations_markdown(model, module)
        for term in module.terms:
            assert f"`{term.name}`" in text


def test_arms_table_lists_every_arm():
    from bonemet_ode.models.bone_metastasis.arms import scenario_arms

    text = arms_markdown()
    for name in scenario_arms():
        assert f"`{name}`" in text


def test_render_markdown_covers_modules(monkeypatch):
    import bonemet_ode.models.bone_metastasis.docs as docs

    monkeypatch.setattr(docs, "outcomes_markdown", lambda cohort_size=200: "(outcomes)")
    text = render_markdown()
    for module in bm.models.get("bone_metastasis").modules:
        assert f"#### `{module.name}`" in text


@pytest.mark.parametrize("which", ["er", "dkk1", "tam", "srs"])
def test_source_figures_are_written(tmp_path, which):
    from bonemet_ode.models.bone_metastasis import figures as source_figures

    fn = getattr(source_figures, f"figure_{which}")
    kwargs = {"cohort_size": 10} if which == "dkk1" else {}
    path = fn(tmp_path, days=30, **kwargs)
    assert path.exists() and path.stat().st_size > 20_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""``bonemet-ode outcomes`` and ``bonemet-ode calibrate`` with a stand-in catalogue on the toy model.

The real catalogue (``bonemet_ode.models.bone_metastasis.catalogue``) and scenario arms are
written elsewhere; these tests install stand-ins so they check the command
plumbing only, whatever state the real model is in.
"""

from __future__ import annotations

import json
import sys
import types

import pandas as pd
import pytest
from conftest import TIGHT, drug_arms, make_drug_model

import bonemet_ode.models
import bonemet_ode.models.bone_metastasis as bone_metastasis
import bonemet_ode.outcomes
from bonemet_ode.calibration.calibrator import CalibrationResult
from bonemet_ode.cli import main

CATALOGUE = [
    "O1 (toy): T@28[control] >= 300  # grows",
    "O2 (toy): T@28[control] <= 400",
    "O3 (toy): T@28[A] <= 0.2 * T@28[control]",
]


@pytest.fixture()
def stand_in(monkeypatch):
    """A catalogue module, scenario arms and model for the commands."""
    cat = types.ModuleType("bonemet_ode.models.bone_metastasis.catalogue")
    cat.default_catalogue = lambda: list(CATALOGUE)
    cat.context_options = lambda: {"options": TIGHT}
    cat.free_parameters = lambda: ["r", "kA"]
    monkeypatch.setitem(sys.modules, "bonemet_ode.models.bone_metastasis.catalogue", cat)
    monkeypatch.setattr(bone_metastasis, "catalogue", cat, raising=False)
    monkeypatch.setattr(bone_metastasis, "scenario_arms", drug_arms, raising=False)
    model = make_drug_model()
    monkeypatch.setattr(bonemet_ode.models, "get", lambda name: model)
    return cat


def test_commands_fail_clearly_without_catalogue(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "bonemet_ode.models.bone_metastasis.catalogue", None)
    monkeypatch.delattr(bone_metastasis, "catalogue", raising=False)
    assert main(["outcomes"]) == 2
    err = capsys.readouterr().err
    assert "bonemet_ode.models.bone_metastasis.catalogue.default_catalogue() cannot be imported" in err
    assert main(["calibrate", "--out", str(tmp_path / "c.json")]) == 2
    assert "default_catalogue()" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()


def test_outcomes_fail_clearly_without_scenario_arms(stand_in, monkeypatch, capsys):
    monkeypatch.delattr(bone_metastasis, "scenario_arms", raising=False)
    assert main(["outcomes"]) == 2
    assert "scenario_arms() cannot be imported" in capsys.readouterr().err


def test_outcomes_table_json_and_exit_status(stand_in, capsys, tmp_path):
    assert main(["outcomes"]) == 1  # default r = 0.2: T(28) = 270 < 300
    out = capsys.readouterr().out
    assert "O1  ✗" in out and "2 of 3 outcomes satisfied" in out
    assert main(["outcomes", "--json"]) == 1
    records = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in records] == ["O1", "O2", "O3"]
    assert {"id", "satisfied", "margin", "value", "source", "description"} <= set(records[0])
    assert records[0]["source"] == "toy" and records[0]["satisfied"] is False
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"r": 0.21}))
    assert main(["outcomes", "--params", str(params)]) == 0


def test_calibrate_writes_a_result_that_outcomes_accepts(stand_in, capsys, tmp_path):
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--seed", "2", "--starts", "8", "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 of 3 outcomes satisfied ✓" in text and "wrote" in text
    res = CalibrationResult.load(out)
    assert res.satisfied and set(res.parameters) == {"r", "kA"} and res.seed == 2
    assert main(["outcomes", "--params", str(out)]) == 0


def test_ablation_flag(stand_in, monkeypatch, capsys):
    abl = types.ModuleType("bonemet_ode.models.bone_metastasis.ablation")

    def ablation_matrix(context):
        return pd.DataFrame({"outcome": [o.key for o in context.outcomes], "without_drug": [True, True, False]})

    abl.ablation_matrix = ablation_matrix
    monkeypatch.setitem(sys.modules, "bonemet_ode.models.bone_metastasis.ablation", abl)
    monkeypatch.setattr(bone_metastasis, "ablation", abl, raising=False)
    main(["outcomes", "--ablation"])
    assert "without_drug" in capsys.readouterr().out
    main(["outcomes", "--ablation", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["ablation"][2] == {"outcome": "O3", "without_drug": False}


def test_robustness_counts_match_the_analytic_window(stand_in, capsys, tmp_path):
    """Toy control: T(28) = exp(28 r), so O1 (T >= 300) holds iff r >= ln(300)/28 and O2 (T <= 400) iff
    r <= ln(400)/28, whatever the solver; the draws failing each follow from the jitter factors alone."""
    import numpy as np

    from bonemet_ode.calibration.robustness import jitter_factors

    r0 = 0.2088
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"r": r0}), encoding="utf-8")
    assert main(["outcomes", "--params", str(path), "--robustness", "0", "0.03", "--draws", "60", "--jitter", "r",
                 "--json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["names"] == ["r"] and doc["seed"] == 1
    zero, wide = doc["results"]
    lo, hi = np.log(300) / 28, np.log(400) / 28
    assert lo < r0 < hi
    o3 = zero["failing"].get("O3", 0)  # O3 does not depend on r: it holds in every draw or in none
    assert zero["kept"] == (60 if o3 == 0 else 0) and o3 in (0, 60)
    r = r0 * jitter_factors(1, 0.03, 60, 1)[:, 0]
    assert wide["failing"].get("O1", 0) == int(np.sum(r < lo)) > 0
    assert wide["failing"].get("O2", 0) == int(np.sum(r > hi)) > 0
    expected_kept = int(np.sum((r >= lo) & (r <= hi))) if o3 == 0 else 0
    assert wide["kept"] == expected_kept and wide["share"] == expected_kept / 60


def test_robustness_default_names_table_and_bad_input(stand_in, capsys):
    assert main(["outcomes", "--robustness", "0.01", "--draws", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Joint log-normal jitters of 2 parameters (seed 1)" in out  # the stand-in's free_parameters(): r, kA
    assert "sigma 0.01:" in out and "of 3 draws keep every outcome" in out
    for argv, needle in ((["--robustness", "-0.1"], "finite number >= 0"),
                         (["--robustness", "nan"], "finite number >= 0"),
                         (["--robustness", "0.1", "--draws", "0"], "--draws must be an integer >= 1"),
                         (["--robustness", "0.1", "--jitter", "nope"], "'nope': not a parameter"),
                         (["--robustness", "0.1", "--ablation"], "cannot be combined with --ablation"),
                         (["--robustness", "0.1", "--explain"], "cannot be combined with --explain")):
        assert main(["outcomes", *argv]) == 2, argv
        assert needle in capsys.readouterr().err, argv


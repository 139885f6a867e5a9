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



def test_robustness_clauses_match_a_regression_on_the_analytic_margins(stand_in, capsys, tmp_path):
    """``--clauses``: O1's margin is ln T(28) - ln 300 = 28 r - ln 300 (toy control, T(0) = 1), so its spread, z
    and drivers follow from the jitter factors alone: least squares of the closed-form margins on the log-factors
    gives the coefficients the command must print."""
    import numpy as np

    from bonemet_ode.calibration.robustness import jitter_factors

    r0, sigma, n = 0.2088, 0.03, 60
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"r": r0}), encoding="utf-8")
    assert main(["outcomes", "--params", str(path), "--robustness", str(sigma), "--draws", str(n), "--jitter", "r",
                 "--jitter", "kA", "--clauses", "--json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {row["clause"]: row for row in doc["results"][0]["clauses"]}
    assert "O1" in rows and "O2" in rows  # both fail in some draws (as in the window test above)
    F = jitter_factors(2, sigma, n, 1)
    m = 28 * r0 * F[:, 0] - np.log(300)
    A = np.column_stack([np.ones(n), np.log(F) / sigma])
    beta = np.linalg.lstsq(A, m, rcond=None)[0]
    o1 = rows["O1"]
    assert o1["centre"] == pytest.approx(28 * r0 - np.log(300), rel=1e-5)
    assert o1["sd"] == pytest.approx(np.std(m), rel=1e-4)
    assert o1["z"] == pytest.approx((28 * r0 - np.log(300)) / np.std(m), rel=1e-4)
    assert o1["failing"] == pytest.approx(np.mean(m < 0))
    assert list(o1["drivers"]) == ["r", "kA"]
    assert o1["drivers"]["r"] == pytest.approx(beta[1], rel=1e-4)
    # kA's coefficient is the sample's chance correlation, as in the reference fit; r explains all but rounding
    assert o1["drivers"]["kA"] == pytest.approx(beta[2], rel=1e-3, abs=1e-7) and abs(beta[2]) < 0.1 * abs(beta[1])
    assert o1["r2"] > 0.999
    # text form, and --clauses alone is refused
    assert main(["outcomes", "--params", str(path), "--robustness", str(sigma), "--draws", "10", "--jitter", "r",
                 "--clauses", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "clause" in out and "drivers" in out and "n/a (too few draws)" not in out.split("O1", 1)[1].split("\n")[0]
    assert main(["outcomes", "--clauses"]) == 2
    assert "give --robustness SIGMA too" in capsys.readouterr().err


def test_jitter_margins_refuses_bad_factors_and_unknown_clauses(stand_in):
    import numpy as np

    from bonemet_ode.calibration import jitter_margins
    from bonemet_ode.errors import FitError
    from bonemet_ode.outcomes import EvaluationContext

    ctx = EvaluationContext(make_drug_model(), drug_arms(), list(CATALOGUE), options=TIGHT)
    with pytest.raises(FitError, match=r"\(draws x 2\) array"):
        jitter_margins(ctx, {}, ["r", "kA"], np.ones((3, 1)))
    with pytest.raises(FitError, match="finite number > 0"):
        jitter_margins(ctx, {}, ["r"], np.array([[1.0], [0.0]]))
    jm = jitter_margins(ctx, {}, ["r"], np.ones((2, 1)), sigma=0.0)
    assert jm.share_kept in (0.0, 1.0) and jm.drivers("O1") is None  # sigma 0: nothing to attribute
    with pytest.raises(FitError, match="unknown clause 'O9'"):
        jm.drivers("O9")

"""CLI of the ensemble: ``calibrate --ensemble``, ``outcomes --member/--explain``, ``compare --ensemble``;
and the shipped ensemble of bone_metastasis with its default member.

References: ``compare --ensemble`` against direct simulations of the same members (``bm.simulate``);
``outcomes --params FILE --member K`` against ``EvaluationContext.evaluate`` of the member.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bonemet_ode as bm
from bonemet_ode.calibration.ensemble_result import Ensemble
from bonemet_ode.calibration.explain import Explanation, OutcomeExplanation
from bonemet_ode.cli import main
from bonemet_ode.models import get
from bonemet_ode.models.bone_metastasis import default_arms
from bonemet_ode.models.bone_metastasis.catalogue import ensemble_prior
from bonemet_ode.models.bone_metastasis.data import (
    DEFAULT_MEMBER,
    MOST_ROBUST_MEMBER,
    ensemble_path,
    explanation_path,
    shipped_ensemble,
)


def test_shipped_ensemble_and_defaults():
    ens = shipped_ensemble()
    model = get("bone_metastasis")
    assert ens.model == "bone_metastasis" and len(ens) >= 100
    assert ens.free == tuple(f.resolve(model) for f in ensemble_prior())
    assert len(np.unique(ens.values(), axis=0)) == len(ens)  # distinct members
    assert np.all(ens.margins[:, [ens.outcome_ids.index(o) for o in ens.required]] >= 0)
    if DEFAULT_MEMBER is not None:
        for name, value in ens.member(DEFAULT_MEMBER).items():
            # the model files hold the member rounded to 4 significant figures
            assert model.parameter(name).value == pytest.approx(value, rel=5.01e-4), name
    else:  # the defaults are the chains' common start: inside the prior box of the ensemble
        for f in ens.free:
            assert f.lower <= model.parameter(f.name).value <= f.upper
    assert 0 <= MOST_ROBUST_MEMBER < len(ens)



def test_shipped_ensemble_cannot_be_changed_through_a_callers_reference():
    """shipped_ensemble() is read once and shared: its members, fixed values and margins are read-only."""
    ens = shipped_ensemble()
    name = ens.names[0]
    before = ens.members[0][name]
    with pytest.raises(TypeError):
        ens.members[0][name] = 2 * before  # type: ignore[index]
    with pytest.raises(TypeError):
        ens.fixed["r_T"] = 1.0  # type: ignore[index]
    with pytest.raises(ValueError):
        ens.margins[0, 0] = -1.0
    editable = ens.member(0)  # a copy the caller may edit
    editable[name] = 2 * before
    assert shipped_ensemble().members[0][name] == before
    assert Ensemble.from_dict(ens.to_dict()).to_dict() == ens.to_dict()

def test_explain_prints_the_shipped_and_a_saved_table(tmp_path, capsys):
    assert main(["outcomes", "--explain"]) == 0
    shipped = Explanation.load(explanation_path())
    out = capsys.readouterr().out
    assert all(r.id in out for r in shipped.rows) and len(shipped.rows) == 21
    assert {r.classification for r in shipped.rows} <= {"structural", "predicted", "fitted", "in tension"}
    ex = Explanation((OutcomeExplanation("X1", 0.25, 0.95, "predicted", (), 10),), n_prior=8)
    path = ex.save(tmp_path / "ex.json")
    assert main(["outcomes", "--explain", str(path)]) == 0
    assert "X1" in capsys.readouterr().out


def test_member_flags_are_checked(capsys):
    for argv, message in ((["outcomes", "--member", "3"], "--member K needs --params"),
                          (["outcomes", "--params", str(ensemble_path())], "choose one with --member K"),
                          (["outcomes", "--params", str(ensemble_path()), "--member", "100000"], "--member 100000"),
                          (["calibrate", "--ensemble", "3", "--start", str(ensemble_path()), "--out", "/tmp/x.json"],
                           "write one member to its own file first")):
        assert main(argv) != 0
        assert message in capsys.readouterr().err


def test_compare_ensemble_bands_equal_direct_simulations(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--ensemble", str(ensemble_path()), "--members", "20", "--days", "7", "--out",
                 str(out)]) == 0
    table = pd.read_csv(out / "endpoint_table_ensemble.csv").set_index("arm")
    assert (out / "treatment_comparison_ensemble.png").stat().st_size > 0
    ens = shipped_ensemble()
    picks = np.unique(np.linspace(0, len(ens) - 1, 20).round().astype(int))
    model = get("bone_metastasis")
    arms = default_arms()
    ref = {a.name: np.array([bm.simulate(model, a, days=7, params=ens.member(int(k))).at(7.0, "tumor")
                             for k in picks]) for a in arms}
    for a in arms:
        pct = 100 * ref[a.name] / ref["control"]
        assert table.loc[a.name, "tumor"] == pytest.approx(np.median(ref[a.name]), rel=1e-5)  # CSV: 6 digits
        assert table.loc[a.name, "tumor_pct_control_lo"] == pytest.approx(np.quantile(pct, 0.05), rel=1e-5)
        assert table.loc[a.name, "tumor_pct_control_hi"] == pytest.approx(np.quantile(pct, 0.95), rel=1e-5)
    assert "90% interval" in capsys.readouterr().out
    # fewer members than a 90 % interval needs, or more than the file holds: refused by name
    for members, message in (("19", "needs at least 20 members"), (str(len(ens) + 1), "more than the")):
        assert main(["compare", "--ensemble", str(ensemble_path()), "--members", members, "--days", "7", "--out",
                     str(out)]) != 0
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_calibrate_ensemble_cli_members_pass_outcomes(tmp_path):
    out = tmp_path / "e.json"
    assert main(["calibrate", "--ensemble", "4", "--chains", "2", "--burn", "1", "--thin", "1", "--seed", "3",
                 "--out", str(out)]) == 0
    ens = Ensemble.load(out)
    assert len(ens) == 4 and ens.complete
    for k in range(len(ens)):
        assert main(["outcomes", "--params", str(out), "--member", str(k)]) == 0

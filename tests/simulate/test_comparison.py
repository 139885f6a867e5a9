"""compare_arms and Comparison against the closed-form solution of a one-bolus kill model.

Model: ``drug' = -k*drug``, ``tumor' = r*tumor - kd*drug*tumor``.  After a bolus ``D`` at ``t0``
``drug = D exp(-k (t - t0))`` and ``tumor = T0 exp(r t - (kd D / k)(1 - exp(-k (t - t0))))``.
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.errors import ScheduleError
from bonemet_ode.simulate.comparison import Comparison, compare_arms

T0, R, K, KD, DOSE, START = 1e3, 0.3, 0.8, 0.05, 20.0, 3.0


def kill_model() -> bm.Model:
    return bm.Model("kill", [bm.Module(
        "kill",
        states=(bm.State("tumor", T0, "cells"), bm.State("drug", 0.0, "mg")),
        parameters=(bm.Parameter("r", R, "1/day", 0.0, 5.0), bm.Parameter("k", K, "1/day", 0.0, 10.0),
                    bm.Parameter("kd", KD, "1/(mg*day)", 0.0, 10.0)),
        terms=(bm.Term("growth", "r*tumor", {"tumor": 1}), bm.Term("kill", "kd*drug*tumor", {"tumor": -1}),
               bm.Term("elimination", "k*drug", {"drug": -1})),
    )])


def closed_form(t, dose: float = 0.0, r: float = R):
    t = np.asarray(t, dtype=float)
    after = np.clip(t - START, 0.0, None)
    exposure = np.where(t >= START, KD * dose / K * (1 - np.exp(-K * after)), 0.0)
    return T0 * np.exp(r * t - exposure)


ARMS = [bm.CONTROL, bm.Arm("one bolus", [bm.Dose("drug", DOSE, start=START)]),
        bm.Arm("two boluses", [bm.Dose("drug", DOSE / 2, start=START), bm.Dose("drug", DOSE / 2, start=START)])]


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    return compare_arms(kill_model(), ARMS, days=12)


def test_every_arm_matches_the_closed_form(comparison: Comparison) -> None:
    assert comparison.arm_names == ["control", "one bolus", "two boluses"]
    for name, dose in (("control", 0.0), ("one bolus", DOSE), ("two boluses", DOSE)):
        res = comparison[name]
        np.testing.assert_allclose(res.times, np.linspace(0, 12, 49))  # default: 4 outputs per day
        np.testing.assert_allclose(res["tumor"], closed_form(res.times, dose), rtol=2e-5)


def test_parameter_overrides_apply_to_every_arm() -> None:
    comp = compare_arms(kill_model(), ARMS[:2], days=8, times=[0, 2, 4, 8], params={"r": 0.1})
    for name, dose in (("control", 0.0), ("one bolus", DOSE)):
        np.testing.assert_allclose(comp[name]["tumor"], closed_form([0, 2, 4, 8], dose, r=0.1), rtol=2e-5)


def test_endpoint_table(comparison: Comparison) -> None:
    table = comparison.endpoint_table(["tumor", "drug"], day=10)
    assert table.attrs["day"] == 10.0
    assert list(table.columns) == ["arm", "tumor", "drug", "tumor_pct_control", "drug_pct_control"]
    expected = {"control": closed_form(10.0), "one bolus": closed_form(10.0, DOSE)}
    for arm, value in expected.items():
        row = table[table["arm"] == arm].iloc[0]
        assert row["tumor"] == pytest.approx(float(value), rel=2e-5)
        assert row["tumor_pct_control"] == pytest.approx(100 * float(value / expected["control"]), rel=4e-5)
    assert table.loc[table["arm"] == "one bolus", "drug"].item() == pytest.approx(DOSE * np.exp(-K * 7), rel=1e-5)
    assert np.isnan(table.loc[table["arm"] == "control", "drug_pct_control"].item())  # 0 drug in control: no %
    last = comparison.endpoint_table(["tumor"])  # default: the last output time
    assert last.attrs["day"] == 12.0
    assert last["tumor"].tolist() == [comparison[a].final("tumor") for a in comparison.arm_names]


def test_endpoint_table_without_control_has_no_percentages() -> None:
    comp = compare_arms(kill_model(), ARMS[1:2], days=4)
    assert list(comp.endpoint_table(["tumor"]).columns) == ["arm", "tumor"]


def test_to_frame_is_every_arm_tidy(comparison: Comparison) -> None:
    frame = comparison.to_frame(["tumor"])
    assert list(frame.columns) == ["time", "variable", "value", "arm"]
    assert len(frame) == 3 * 49
    rows = frame[frame["arm"] == "one bolus"]
    np.testing.assert_array_equal(rows["value"], comparison["one bolus"]["tumor"])


def test_bad_input_is_refused_by_name(comparison: Comparison) -> None:
    with pytest.raises(ScheduleError, match="'control' is used twice"):
        compare_arms(kill_model(), [bm.CONTROL, bm.CONTROL])
    with pytest.raises(ScheduleError, match="at least one arm"):
        compare_arms(kill_model(), [])
    with pytest.raises(KeyError, match="no arm 'placebo'.*control, one bolus, two boluses"):
        comparison["placebo"]

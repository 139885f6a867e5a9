"""The SynergyLMM-style mixed-model test against statsmodels' MixedLM and against simulated truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from shared_data import SHARED_DATA, needs_shared_data

from bonemet_ode.analysis.synergy import expected_fraction, synergy
from bonemet_ode.analysis.synergy_lmm import fit_growth_lmm, synergy_lmm
from bonemet_ode.data.readers import read_long, read_wide
from bonemet_ode.errors import DataError


def simulate(rates: dict[str, float], n: int = 8, sd_slope: float = 0.01, sd_res: float = 0.1, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for arm, r in rates.items():
        for k in range(n):
            slope = r + sd_slope * rng.standard_normal()
            for t in (0, 3, 7, 10, 14, 17, 21):
                v = 100.0 * np.exp(slope * t + (sd_res * rng.standard_normal() if t else 0.0))
                rows.append({"subject": f"{arm}-{k}", "arm": arm, "time": t, "value": v})
    return read_long(pd.DataFrame(rows))


def test_reml_fit_matches_statsmodels_mixedlm():
    sm = pytest.importorskip("statsmodels.formula.api")
    data = simulate({"C": 0.12, "A": 0.08, "B": 0.09, "AB": 0.02}, seed=3)
    fit = fit_growth_lmm(data, ["C", "A", "B", "AB"])
    f = data.frame
    f["tt"] = f["time"] - f.groupby("subject")["time"].transform("min")
    f["y"] = np.log(f["value"] / f.groupby("subject")["value"].transform("first"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.mixedlm("y ~ 0 + tt:C(arm)", f, groups=f["subject"], re_formula="0 + tt").fit(reml=True)
    for arm in ("C", "A", "B", "AB"):
        assert fit.rate(arm) == pytest.approx(ref.fe_params[f"tt:C(arm)[{arm}]"], rel=1e-5)
        se_ref = float(np.sqrt(ref.cov_params().loc[f"tt:C(arm)[{arm}]", f"tt:C(arm)[{arm}]"]))
        assert np.sqrt(fit.covariance[fit.arms.index(arm)] @ np.eye(4)[fit.arms.index(arm)]) == pytest.approx(
            se_ref, rel=1e-3)
    assert fit.sd_residual == pytest.approx(np.sqrt(ref.scale), rel=1e-5)
    assert fit.sd_random == pytest.approx(float(np.sqrt(ref.cov_re.values[0, 0])), rel=1e-3)


def test_bliss_contrast_for_three_drugs_and_calls():
    # rates chosen so that Bliss-additive r_ABC = rA + rB + rC - 2 rCtl = 0.08+0.09+0.10-0.24 = 0.03
    rates = {"Ctl": 0.12, "A": 0.08, "B": 0.09, "C": 0.10}
    additive = simulate({**rates, "ABC": 0.03}, n=10, seed=1)
    res = synergy_lmm(additive, control="Ctl", drugs=["A", "B", "C"], combination="ABC")
    o = res.overall
    assert o["expected"] == pytest.approx(sum(res.fit.rate(d) for d in "ABC") - 2 * res.fit.rate("Ctl"))
    assert o["score"] == pytest.approx(o["expected"] - o["observed"])
    assert res.verdict == "additivity" and o["ci_low"] < 0 < o["ci_high"]
    strong = simulate({**rates, "ABC": -0.05}, n=10, seed=1)
    assert synergy_lmm(strong, control="Ctl", drugs=["A", "B", "C"], combination="ABC").verdict == "synergy"
    weak = simulate({**rates, "ABC": 0.10}, n=10, seed=1)
    assert synergy_lmm(weak, control="Ctl", drugs=["A", "B", "C"], combination="ABC").verdict == "antagonism"
    hsa = synergy_lmm(strong, control="Ctl", drugs=["A", "B", "C"], combination="ABC", metric="hsa")
    assert hsa.overall["expected"] == pytest.approx(min(hsa.fit.rate(d) for d in "ABC"))
    # the bootstrap analysis takes the same three drugs; Bliss expected fraction is the product
    boot = synergy(strong, control="Ctl", drugs=["A", "B", "C"], combination="ABC", n_boot=200)
    assert boot.verdict == "synergy" and boot.drugs == ("A", "B", "C") and len(boot.growth_rates) == 5
    assert float(expected_fraction("bliss", 0.5, 0.4, 0.5)) == pytest.approx(0.1)


@pytest.mark.parametrize("kwargs, needle", [
    (dict(metric="ra"), "metric"),
    (dict(ci_level=1.5), "ci_level"),
    (dict(combination="nope"), "nope"),
    (dict(drugs=["A"]), "two or more"),
    (dict(drugs="AB"), "string"),
    (dict(min_time=float("nan")), "min_time"),
])
def test_lmm_argument_errors(kwargs, needle):
    data = simulate({"C": 0.1, "A": 0.08, "B": 0.07, "AB": 0.03}, n=3)
    args = dict(control="C", drugs=["A", "B"], combination="AB") | kwargs
    with pytest.raises(DataError, match=needle):
        synergy_lmm(data, **args)


@needs_shared_data
def test_cr1197_both_tests_reported():
    """invivoSyn's one-sided bootstrap p (0.0344 published) against SynergyLMM's two-sided Wald test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = read_wide(SHARED_DATA / "invivosyn" / "CR1197.csv", lloq=1.0)
    arms = dict(control="Vehicle", drugs=["Cetuximab", "Palbociclib"], combination="Palbociclib+Cetuximab")
    boot = synergy(data, metric="bliss", n_boot=2000, seed=0, **arms)
    lmm = synergy_lmm(data, metric="bliss", **arms)
    p_boot = float(boot.by_time["p_synergy"].iloc[0])
    assert abs(p_boot - 0.0344) < 0.02  # invivoSyn's published p.val for this set
    assert p_boot < 0.05 < float(lmm.overall["p_value"])  # the two disagree at the 5% level
    assert lmm.fit.rate("Vehicle") == pytest.approx(0.131, abs=2e-3)


@needs_shared_data
def test_u87mg_triple_combination_loads_and_analyses():
    with pytest.warns(Warning, match="dropped 1 row"):
        data = read_long(SHARED_DATA / "synergylmm" / "U87MG_Triple_long.csv", subject_col="MOUSE",
                         arm_col="Treatment", time_col="Day", value_col="RLU")
    assert data.dropped["subject"].tolist() == ["515_1_Tagrisso"] and data.dropped["cell"].tolist() == ["NA"]
    res = synergy_lmm(data, control="None", drugs=["Tagrisso", "AZD2014", "DOC"], combination="Triple")
    assert set(res.fit.arms) == {"None", "Tagrisso", "AZD2014", "DOC", "Triple"} and np.isfinite(res.overall["score"])

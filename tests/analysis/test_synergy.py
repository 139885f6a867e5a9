"""Tests of growth rates, combination synergy and its plots.

Synthetic trials are generated with known per-arm exponential growth rates
(seeded), so expected scores follow from the definitions independently of
the implementation.  Tests on the published datasets run only when
``../shared/data`` (beside the checkout) exists.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from bonemet_ode.analysis.growth import subject_growth_rates  # noqa: E402
from bonemet_ode.analysis.synergy import expected_fraction, synergy  # noqa: E402
from bonemet_ode.data.readers import DataTable, read_long, read_wide  # noqa: E402
from bonemet_ode.errors import BonemetWarning, DataError  # noqa: E402
from bonemet_ode.plotting.synergy import (  # noqa: E402
    ROLE_COLORS,
    arm_colors,
    plot_arm_growth,
    plot_synergy,
    plot_synergy_scores,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data (public datasets) not present")

ARMS = dict(control="C", drug_a="A", drug_b="B", combination="AB")
DAYS = np.array([0.0, 3.0, 7.0, 10.0, 14.0])


def make_trial(
    rates: dict[str, float],
    *,
    n: int = 8,
    sd_rate: float = 0.02,
    noise: float = 0.05,
    seed: int = 0,
    days: np.ndarray = DAYS,
) -> DataTable:
    """Exponential growth V = V0 exp(r_i t) with r_i ~ N(rate_arm, sd_rate), lognormal noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for arm, rate in rates.items():
        for i in range(n):
            r_i = rate + sd_rate * rng.standard_normal()
            v0 = 100.0 * np.exp(0.3 * rng.standard_normal())
            eps = noise * rng.standard_normal(days.size)
            eps[0] = 0.0
            for t, e in zip(days, eps):
                rows.append((f"{arm}-{i}", arm, t, v0 * np.exp(r_i * t + e)))
    df = pd.DataFrame(rows, columns=["subject", "arm", "time", "value"])
    return read_long(df)


def additive_rates(r_c: float = 0.20, r_a: float = 0.15, r_b: float = 0.12, delta: float = 0.0) -> dict[str, float]:
    """Rates with the combination at the Bliss (rate-additive) expectation minus ``delta``."""
    return {"C": r_c, "A": r_a, "B": r_b, "AB": r_a + r_b - r_c - delta}


# ---------------------------------------------------------------- growth rates
def test_noiseless_rates_are_exact_for_both_estimators() -> None:
    true = {"C": 0.2, "A": 0.1, "B": 0.05, "AB": -0.02}
    data = make_trial(true, n=3, sd_rate=0.0, noise=0.0)
    for method in ("ols", "auc"):
        rates = subject_growth_rates(data, method=method)
        expected = rates["arm"].map(true).to_numpy()
        np.testing.assert_allclose(rates["rate"].to_numpy(), expected, atol=1e-12)


def test_ols_rate_matches_an_independent_least_squares_fit() -> None:
    data = make_trial(additive_rates(), n=4, noise=0.2, seed=3)
    rates = subject_growth_rates(data).set_index("subject")["rate"]
    for subject, sub in data.frame.groupby("subject"):
        tau = sub["time"].to_numpy() - sub["time"].min()
        y = np.log(sub["value"].to_numpy() / sub["value"].iloc[0])
        slope, *_ = np.linalg.lstsq(tau[:, None], y, rcond=None)
        assert rates[subject] == pytest.approx(slope[0], rel=1e-10)


def test_zero_volume_needs_lloq_and_single_points_are_left_out() -> None:
    df = pd.DataFrame(
        {"subject": ["a", "a", "b", "b", "c"], "arm": ["x"] * 5, "time": [0, 5, 0, 5, 0],
         "value": [10.0, 0.0, 10.0, 20.0, 7.0]}
    )
    with pytest.warns(BonemetWarning):
        data = read_long(df)
    with pytest.raises(DataError, match=r"subject 'a' at day 5.*lloq"):
        subject_growth_rates(data)
    censored = read_long(df, lloq=1.0)
    with pytest.warns(BonemetWarning) as record:
        rates = subject_growth_rates(censored)
    messages = " | ".join(str(w.message) for w in record)
    assert "['c'] have a single measurement" in messages
    assert "1 left-censored value(s)" in messages
    assert rates["subject"].tolist() == ["a", "b"]
    assert rates.loc[0, "rate"] == pytest.approx(np.log(0.1) / 5) and rates.loc[0, "n_censored"] == 1


# -------------------------------------------------------------- synergy scores
def test_noiseless_scores_follow_the_definitions() -> None:
    true = {"C": 0.20, "A": 0.15, "B": 0.10, "AB": 0.02}
    data = make_trial(true, n=3, sd_rate=0.0, noise=0.0)
    tau = DAYS[1:]
    f = {k: np.exp((v - true["C"]) * tau) for k, v in true.items()}
    refs = {
        "bliss": (f["A"] * f["B"], (true["A"] + true["B"] - true["C"]) - true["AB"]),
        "hsa": (np.minimum(f["A"], f["B"]), min(true["A"], true["B"]) - true["AB"]),
        "ra": (f["A"] + f["B"] - 1.0, None),
    }
    for metric, (expected, overall) in refs.items():
        res = synergy(data, **ARMS, metric=metric, n_boot=200)
        rows = res.by_time
        np.testing.assert_allclose(rows["time"], tau)
        np.testing.assert_allclose(rows["expected"], 100 * expected, rtol=1e-10)
        np.testing.assert_allclose(rows["observed"], 100 * f["AB"], rtol=1e-10)
        np.testing.assert_allclose(rows["score"], 100 * (expected - f["AB"]), rtol=1e-10)
        ref_overall = overall if overall is not None else np.mean(100 * (expected - f["AB"]))
        assert res.overall["score"] == pytest.approx(ref_overall, rel=1e-10)
        # without between-subject variation every bootstrap replicate is identical
        assert res.overall["ci_low"] == pytest.approx(res.overall["ci_high"], rel=1e-9)
        # Bliss and HSA see synergy; RA's expectation f_A + f_B - 1 is far stricter here
        assert res.verdict == ("synergy" if ref_overall > 0 else "antagonism")
        assert res.verdict == {"bliss": "synergy", "hsa": "synergy", "ra": "antagonism"}[metric]


def test_expected_fraction_formulas() -> None:
    fa, fb = np.array([0.5, 0.9]), np.array([0.4, 0.95])
    np.testing.assert_allclose(expected_fraction("bliss", fa, fb), [0.2, 0.855])
    np.testing.assert_allclose(expected_fraction("hsa", fa, fb), [0.4, 0.9])
    np.testing.assert_allclose(expected_fraction("ra", fa, fb), [-0.1, 0.85])


def test_bliss_ci_covers_zero_for_independent_drugs() -> None:
    replicates = 40
    covered, scores = 0, []
    for rep in range(replicates):
        res = synergy(make_trial(additive_rates(), seed=100 + rep), **ARMS, n_boot=400, seed=rep)
        row = res.overall
        covered += row["ci_low"] <= 0 <= row["ci_high"]
        scores.append(row["score"])
    # nominal 95%; a percentile bootstrap with 8 mice per arm covers ~90-95%
    assert 33 <= covered <= replicates
    # the estimator is unbiased: mean over replicates within ~3 standard errors of 0
    scores_arr = np.asarray(scores)
    assert abs(scores_arr.mean()) < 3 * scores_arr.std(ddof=1) / np.sqrt(replicates)


def test_bootstrap_ci_width_matches_the_analytic_standard_error() -> None:
    n, sd_rate = 30, 0.03
    res = synergy(make_trial(additive_rates(), n=n, sd_rate=sd_rate, seed=7), **ARMS, n_boot=2000, seed=1)
    rates = res.subject_rates.groupby("arm")["rate"]
    se = np.sqrt((rates.var(ddof=1) / rates.count()).sum())
    half_width = (res.overall["ci_high"] - res.overall["ci_low"]) / 2
    assert half_width == pytest.approx(1.96 * se, rel=0.15)


def test_planted_synergy_and_antagonism_are_detected() -> None:
    syn = synergy(make_trial(additive_rates(delta=0.06), seed=11), **ARMS, seed=0)
    assert syn.verdict == "synergy"
    assert (syn.by_time["verdict"] == "synergy").all() and syn.overall["ci_low"] > 0
    ant = synergy(make_trial(additive_rates(delta=-0.06), seed=12), **ARMS, seed=0)
    assert ant.verdict == "antagonism" and ant.overall["ci_high"] < 0


def test_hsa_uses_the_better_single_agent() -> None:
    # combination equal to the best single agent (B): no HSA synergy; Bliss sees antagonism
    rates = {"C": 0.20, "A": 0.15, "B": 0.10, "AB": 0.10}
    data = make_trial(rates, n=10, seed=5)
    hsa = synergy(data, **ARMS, metric="hsa")
    assert hsa.verdict == "additivity"
    assert hsa.overall["expected"] == pytest.approx(hsa.growth_rates.set_index("arm").loc["B", "rate"])
    assert synergy(data, **ARMS, metric="bliss").verdict == "antagonism"


def test_result_is_reproducible_and_well_formed() -> None:
    data = make_trial(additive_rates(delta=0.03), seed=2)
    a = synergy(data, **ARMS, seed=4, n_boot=300)
    b = synergy(data, **ARMS, seed=4, n_boot=300)
    c = synergy(data, **ARMS, seed=5, n_boot=300)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not np.allclose(a.table["ci_low"], c.table["ci_low"])
    assert list(a.table.columns) == [
        "scope", "time", "metric", "unit", "expected", "observed", "score",
        "ci_low", "ci_high", "p_synergy", "p_antagonism", "verdict",
    ]
    assert a.overall["unit"] == "1/day" and a.by_time["unit"].eq("% of control").all()
    assert list(a.growth_rates["role"]) == ["control", "drug_a", "drug_b", "combination"]
    assert (a.growth_rates["ci_low"] < a.growth_rates["rate"]).all()
    assert a.verdict in repr(a) and "'AB' from 'A' + 'B'" in repr(a)
    text = a.to_text()
    assert "Bliss independence" in text and f"Verdict: {a.verdict}" in text and "n_boot=300, seed=4" in text
    explicit = synergy(data, **ARMS, times=[14, 2.5], n_boot=100)
    np.testing.assert_allclose(explicit.by_time["time"], [2.5, 14.0])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(ARMS, control="Vehicle"), r"control: unknown arm 'Vehicle'.*\['C', 'A', 'B', 'AB'\]"),
        (dict(ARMS, drug_b="A"), "must be different arms"),
        (dict(ARMS, metric="loewe"), r"metric: expected one of \['bliss', 'hsa', 'ra'\]"),
        (dict(ARMS, n_boot=10), "n_boot: expected an integer >= 100"),
        (dict(ARMS, ci_level=95), "ci_level"),
        (dict(ARMS, rate_method="gompertz"), "rate_method"),
        (dict(ARMS, times=[-1.0, 7.0]), "times: expected positive"),
        (dict(ARMS, seed=-3), "seed"),
        (dict(ARMS, observable="bioluminescence"), "unknown observable 'bioluminescence'"),
    ],
)
def test_synergy_argument_errors_name_the_argument(kwargs: dict[str, object], pattern: str) -> None:
    data = make_trial(additive_rates(), n=3, seed=1)
    with pytest.raises(DataError, match=pattern):
        synergy(data, **kwargs)  # type: ignore[arg-type]


def test_synergy_rejects_tiny_arms_and_non_tables() -> None:
    data = make_trial(additive_rates(), n=3, seed=1)
    small = data.subset(subject=[s for s in data.subjects if s != "AB-1" and s != "AB-2"])
    with pytest.raises(DataError, match="combination: arm 'AB' has 1 subject"):
        synergy(small, **ARMS)
    with pytest.raises(DataError, match="data: expected a DataTable"):
        synergy(data.frame, **ARMS)  # type: ignore[arg-type]


# ----------------------------------------------------------------------- plots
def test_plots_label_axes_and_keep_arm_colours() -> None:
    res = synergy(make_trial(additive_rates(delta=0.04), seed=9), **ARMS, n_boot=200)
    ax = plot_arm_growth(res, log_y=True)
    assert ax.get_yscale() == "log" and "days" in ax.get_xlabel() and "mm³" in ax.get_ylabel()
    colours = [container.lines[0].get_color() for container in ax.containers]
    assert colours == [ROLE_COLORS[r] for r in ("control", "drug_a", "drug_b", "combination")]
    assert arm_colors(res)["AB"] == ROLE_COLORS["combination"]
    ax2 = plot_synergy_scores(res)
    assert "days" in ax2.get_xlabel() and "% of control" in ax2.get_ylabel()
    scattered = np.vstack([c.get_offsets() for c in ax2.collections if isinstance(c, PathCollection)])
    np.testing.assert_allclose(np.sort(scattered[:, 0]), res.by_time["time"])
    g, s = plot_synergy(res)
    assert g.figure is s.figure
    plt.close("all")
    with pytest.raises(DataError, match="result"):
        plot_arm_growth(res.table)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="ax"):
        plot_synergy_scores(res, ax="left")  # type: ignore[arg-type]


# ------------------------------------------------------------ published data
def _gaba() -> DataTable:
    return read_long(
        SHARED / "synergylmm" / "GABA_antiPD1_long.csv",
        subject_col="MouseID", arm_col="Treatment", time_col="Day", value_col="TumVol",
    )


GABA_ARMS = dict(control="Ctrl", drug_a="GABA", drug_b="Anti-PD1", combination="GABA+anti-PD1")
SW837_ARMS = dict(control="Vehicle", drug_a="Rabusertib", drug_b="Irinotecan", combination="Irinotecan + Rabusertib")


@needs_shared
def test_gaba_anti_pd1_is_antagonistic() -> None:
    res = synergy(_gaba(), **GABA_ARMS, metric="hsa")
    assert res.verdict == "antagonism"
    assert (res.by_time["verdict"] == "antagonism").all()
    np.testing.assert_allclose(res.by_time["time"], [5, 7, 10, 12])
    # Bliss points the same way (the combination grows faster than expected)
    assert synergy(_gaba(), **GABA_ARMS, metric="bliss").overall["score"] < 0


@needs_shared
def test_gaba_hsa_scores_agree_with_published_invivosyn() -> None:
    published = pd.read_csv(SHARED / "synergylmm" / "GABA_invivoSyn_hsa_byT.csv")
    published = published[(published["Metric"] == "Synergy_score") & (published["Time"] > 0)]
    res = synergy(_gaba(), **GABA_ARMS, metric="hsa", rate_method="auc")
    ours = res.by_time.set_index("time")["score"]
    for t, value in zip(published["Time"], published["Value"]):
        # invivoSyn integrates log(V + 1) instead of log V: small differences remain
        assert ours[t] == pytest.approx(value, abs=1.5)


@needs_shared
def test_sw837_is_synergistic_by_bliss() -> None:
    data = read_wide(SHARED / "invivosyn" / "SW837.csv", time_shift=1)
    res = synergy(data, **SW837_ARMS, metric="bliss")
    assert res.verdict == "synergy"
    assert (res.by_time["verdict"] == "synergy").all()
    # arm rates equal the SynergyLMM mixed-model estimates (same design in every arm)
    est = pd.read_csv(SHARED / "synergylmm" / "SW837_model_estimates.csv")
    ours = res.growth_rates.set_index("role")["rate"]
    for role, col in (("control", "Ctrl"), ("drug_a", "Rabusertib"), ("drug_b", "Irinotecan"),
                      ("combination", "Combination")):
        assert ours[role] == pytest.approx(est[col].iloc[0], abs=5e-4)


@needs_shared
def test_sw837_auc_scores_agree_with_published_invivosyn() -> None:
    data = read_wide(SHARED / "invivosyn" / "SW837.csv", time_shift=1)
    published = pd.read_csv(SHARED / "synergylmm" / "SW837_invivoSyn_bliss_byT.csv")
    published = published[(published["Metric"] == "Synergy_score") & (published["Time"] > 0)]
    res = synergy(data, **SW837_ARMS, metric="bliss", rate_method="auc", n_boot=4000)
    ours = res.by_time.set_index("time")
    for t, value, p in zip(published["Time"], published["Value"], published["p.val"]):
        assert ours.loc[t, "score"] == pytest.approx(value, abs=0.5)
        assert ours.loc[t, "p_synergy"] == pytest.approx(p, abs=0.015)

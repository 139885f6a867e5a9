"""Ensemble calibration: the sampler recovers feasible regions known in closed form.

Toys:

* the sampler alone on the triangle ``u0 + u1 <= 1`` (marginal density
  ``2 (1 - x)``), an ellipsoid in 3-D (the inner ellipsoid of half the radii
  holds 1/8 of the volume) and a thin box;
* the whole calibration on the ODE toy of ``test_calibration.py``, whose
  outcomes hold exactly on the box ``ln 300 <= 28 r <= ln 400``,
  ``kA >= ln 5 / AUC``: ``r`` is searched on log scale, so ``ln r`` is uniform
  on its interval, and ``kA`` (linear) is uniform on ``[ln 5 / AUC, 5]``.

Members are checked again, and runs are reproducible, resumable and
round-trip through the file bit for bit.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from calibration.test_calibration import AUC, FEASIBLE, context
from scipy import stats

import bonemet_ode as bm
from bonemet_ode.calibration.ensemble import calibrate_ensemble
from bonemet_ode.calibration.ensemble_result import Ensemble, EnsembleSettings
from bonemet_ode.calibration.sampler import SamplerSettings, SliceChains, chord
from bonemet_ode.calibration.space import FreeParameter
from bonemet_ode.errors import BonemetError, FitError, SavedFileError


def triangle(u):
    return bool(u[0] + u[1] <= 1.0), None


def test_chord_is_the_segment_inside_the_cube():
    lo, hi = chord(np.array([0.2, 0.5]), np.array([1.0, -0.5]))
    assert lo == pytest.approx(-0.2) and hi == pytest.approx(0.8)


def test_sampler_is_uniform_on_a_triangle():
    s = SliceChains(triangle, [np.array([0.1, 0.1])], seed=3, settings=SamplerSettings(n_chains=4, n_burn=100, thin=5))
    U = np.array([m[1] for m in s.run(3000)])
    assert np.all(U.sum(axis=1) <= 1.0) and np.all(U >= 0)
    def cdf(x):
        return 1.0 - (1.0 - x) ** 2

    for j in range(2):
        assert stats.kstest(U[:, j], cdf).pvalue > 0.01
        assert U[:, j].mean() == pytest.approx(1 / 3, abs=0.015)
    assert len(np.unique(U, axis=0)) == len(U)  # distinct members


def test_sampler_fills_an_ellipsoid_by_volume():
    c, radii = np.array([0.5, 0.4, 0.6]), np.array([0.45, 0.1, 0.3])

    def ellipsoid(u):
        return bool(np.sum(((u - c) / radii) ** 2) <= 1.0), None

    s = SliceChains(ellipsoid, [c], seed=5, settings=SamplerSettings(n_chains=4, n_burn=150, thin=5))
    U = np.array([m[1] for m in s.run(4000)])
    rho = np.sqrt(np.sum(((U - c) / radii) ** 2, axis=1))
    assert rho.max() <= 1.0
    # uniform in a 3-D ellipsoid: P(rho <= x) = x**3; inner half holds 1/8 of the volume
    assert stats.kstest(rho, lambda x: np.clip(x, 0, 1) ** 3).pvalue > 0.01
    assert np.mean(rho <= 0.5) == pytest.approx(1 / 8, abs=0.02)
    # the spread follows the shape: standard deviations radius / sqrt(5) per axis
    assert U.std(axis=0) == pytest.approx(radii / math.sqrt(5), rel=0.1)


def test_sampler_rejects_an_infeasible_start_and_is_resumable_bit_for_bit():
    with pytest.raises(FitError, match="start 0 is not feasible"):
        SliceChains(triangle, [np.array([0.9, 0.9])], seed=0)
    settings = SamplerSettings(n_chains=3, n_burn=20, thin=2)
    whole = SliceChains(triangle, [np.array([0.2, 0.2])], seed=7, settings=settings).run(60)
    first = SliceChains(triangle, [np.array([0.2, 0.2])], seed=7, settings=settings)
    part = first.run(25)
    state = json.loads(json.dumps(first.state_dict()))
    rest = SliceChains(triangle, [np.array([0.5, 0.5])], seed=7, settings=settings, state=state).run(60)
    got = [m[1] for m in part + rest]
    assert all(np.array_equal(a[1], b) for a, b in zip(whole, got)) and len(got) == 60
    other = SliceChains(triangle, [np.array([0.2, 0.2])], seed=8, settings=settings).run(60)
    assert not np.array_equal(other[0][1], whole[0][1])


# ---------------------------------------------------------------------- the ODE toy
R_LO, R_HI = math.log(300) / 28, math.log(400) / 28
KA_LO = math.log(5) / AUC
FREE = [FreeParameter("r", 0.01, 2.0, log_scale=True), FreeParameter("kA", 0.0, 5.0)]
START = [{"r": math.sqrt(R_LO * R_HI), "kA": 2.0}]
SETTINGS = EnsembleSettings(n_chains=3, n_burn=30, thin=3, save_every=10)


@pytest.fixture(scope="module")
def toy_ensemble(tmp_path_factory):
    out = tmp_path_factory.mktemp("ens") / "toy.json"
    ens = calibrate_ensemble(context(FEASIBLE), FREE, n=300, seed=11, out=out, starts=START, settings=SETTINGS,
                             progress=False)
    return ens, out


def test_ensemble_recovers_the_closed_form_region(toy_ensemble):
    ens, _ = toy_ensemble
    X = ens.values()
    assert len(ens) == 300 and ens.complete and len(np.unique(X, axis=0)) == 300
    r, ka = X[:, 0], X[:, 1]
    assert np.all((28 * r >= math.log(300) * (1 - 1e-9)) & (28 * r <= math.log(400) * (1 + 1e-9)))
    assert np.all(ka >= KA_LO * (1 - 1e-9))
    # uniform in ln r on [ln R_LO, ln R_HI] and in kA on [KA_LO, 5]
    a, b = math.log(R_LO), math.log(R_HI)
    assert stats.kstest((np.log(r) - a) / (b - a), "uniform").pvalue > 0.01
    assert stats.kstest((ka - KA_LO) / (5.0 - KA_LO), "uniform").pvalue > 0.01
    assert (np.log(r).min() - a) / (b - a) < 0.05 and (b - np.log(r).max()) / (b - a) < 0.05  # reaches both edges
    summary = ens.parameter_summary().set_index("name")
    assert summary.loc["kA", "flag"] == "unconstrained"  # 5-95 % of [0, 5] minus the excluded corner
    assert summary.loc["r", "flag"] == "constrained"


def test_every_member_satisfies_every_outcome_again(toy_ensemble):
    ens, _ = toy_ensemble
    assert ens.check(context(FEASIBLE)) == {}
    assert np.all(ens.margins >= 0) and all(not f for f in ens.failing)


def test_save_load_identical_and_member_usable_as_params(toy_ensemble, tmp_path):
    ens, out = toy_ensemble
    back = Ensemble.load(out)
    assert back.to_json() == ens.to_json()
    assert back.members == ens.members and np.array_equal(back.margins, ens.margins)
    path = ens.save_member(17, tmp_path / "m17.json")
    from bonemet_ode.cli.outcomes_cmd import read_params

    assert read_params(path) == ens.member(17)
    assert read_params(out, member=17) == ens.member(17)
    with pytest.raises(Exception, match="--member"):
        read_params(out)


def test_reproducible_and_resumable(toy_ensemble, tmp_path):
    ens, _ = toy_ensemble
    again = calibrate_ensemble(context(FEASIBLE), FREE, n=300, seed=11, starts=START, settings=SETTINGS, progress=False)
    assert again.members == ens.members
    part = tmp_path / "part.json"
    calibrate_ensemble(context(FEASIBLE), FREE, n=120, seed=11, out=part, starts=START, settings=SETTINGS,
                       progress=False)
    assert not Ensemble.load(part).complete or len(Ensemble.load(part)) == 120
    resumed = calibrate_ensemble(context(FEASIBLE), FREE, n=300, seed=11, out=part, starts=START, settings=SETTINGS,
                                 progress=False)
    assert resumed.members == ens.members
    with pytest.raises(FitError, match="seed"):
        calibrate_ensemble(context(FEASIBLE), FREE, n=300, seed=12, out=part, starts=START, settings=SETTINGS,
                           progress=False)


def test_leaving_an_outcome_out_widens_the_region():
    ens = calibrate_ensemble(context(FEASIBLE), FREE, n=200, seed=2, starts=START, settings=SETTINGS,
                             exclude=["O3"], progress=False)
    ka = ens.values()[:, 1]
    assert ka.min() < KA_LO  # kA below ln 5 / AUC now allowed
    held = np.mean([("O3" not in f) for f in ens.failing])
    # O3 holds on (5 - KA_LO) / 5 of the kA range
    assert held == pytest.approx((5.0 - KA_LO) / 5.0, abs=0.08)


def test_bad_input_is_refused_by_name(tmp_path):
    # r = 0.5: T(28) = exp(14), far above the bound of the outcome on the control tumour; named with its margin
    with pytest.raises(FitError, match=r"start 0 \(given\) is not feasible: required outcome\(s\) O\w+ "
                                       r"\(margin -\d"):
        calibrate_ensemble(context(FEASIBLE), FREE, n=5, starts=[{"r": 0.5, "kA": 2.0}], settings=SETTINGS)
    with pytest.raises(FitError, match="unknown outcomes: O9"):
        calibrate_ensemble(context(FEASIBLE), FREE, n=5, starts=START, exclude=["O9"])
    with pytest.raises(FitError, match="n must be"):
        calibrate_ensemble(context(FEASIBLE), FREE, n=0, starts=START)
    with pytest.raises(FitError, match="start 0 names parameters that are not free: nope"):
        calibrate_ensemble(context(FEASIBLE), FREE, n=3, starts=[{**START[0], "nope": 1.0}], settings=SETTINGS)
    with pytest.raises(FitError, match="both required and excluded: O1"):
        calibrate_ensemble(context(FEASIBLE), FREE, n=3, starts=START, require=["O1", "O2"], exclude=["O1"])
    with pytest.raises(FitError, match="positive definite"):
        calibrate_ensemble(context(FEASIBLE), FREE, n=3, starts=START, settings=SETTINGS, covariance=-np.eye(2))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "bonemet_ode.ensemble", "version": 1, "payload": {"model": "x"}}))
    with pytest.raises(SavedFileError, match="free"):
        Ensemble.load(bad)


@pytest.mark.parametrize("args, named", [((0, 0.05, 10, 1), "n_params"), ((3, 0.05, 0, 1), "n must"),
                                         ((3, 0.05, 5, -1), "seed"), ((3, 0.05, 5, 1.5), "seed"),
                                         ((3, float("nan"), 5, 1), "sigma"), ((3, 0.05, True, 1), "n must")])
def test_jitter_factors_refuse_bad_input_by_name(args, named):
    from bonemet_ode.calibration.robustness import jitter_factors

    with pytest.raises(FitError, match=named):
        jitter_factors(*args)


def test_jitter_factors_are_log_normal_and_seeded():
    from bonemet_ode.calibration.robustness import jitter_factors

    f = jitter_factors(4, 0.1, 20000, 7)
    assert np.array_equal(f, jitter_factors(4, 0.1, 20000, 7))
    logs = np.log(f)
    assert abs(logs.mean()) < 4 * 0.1 / np.sqrt(logs.size) and abs(logs.std() - 0.1) < 0.002


def test_member_index_range_is_stated(toy_ensemble):
    ens, _ = toy_ensemble
    n = len(ens)
    assert ens.member(-1) == ens.member(n - 1)
    with pytest.raises(FitError, match=rf"\[{-n}, {n}\)"):
        ens.member(n)


# ---------------------------------------------------------------------- explain
def test_explain_classifies_closed_form_cases():
    from bonemet_ode.calibration.explain import Explanation, classify, explain_outcomes

    outcomes = FEASIBLE + ["O4: T@28[control] >= 100",        # implied by O1: predicted
                           "O5: T@28[A] <= T@28[control]"]     # kA >= 0 everywhere: structural
    ctx = context(outcomes)
    free = [FREE[0], FreeParameter("kA", 0.0, 0.5)]
    full = calibrate_ensemble(ctx, free, n=40, seed=1, starts=[{**START[0], "kA": 0.3}], settings=SETTINGS,
                              progress=False)
    lines: list[str] = []
    ex = explain_outcomes(ctx, full, n_prior=400, n_left_out=150, seed=2,
                          settings=EnsembleSettings(n_chains=3, n_burn=30, thin=3), progress=False, log=lines.append)
    prior_lines = [x for x in lines if x.startswith("prior box:")]
    assert [x.split(";")[0] for x in prior_lines] == [f"prior box: {k}/400 points" for k in [*range(32, 400, 32), 400]]
    assert sum(x.startswith(f"{k + 1}/") for k, x in enumerate(lines[len(prior_lines):])) == len(ex.rows)
    # prior box: ln r uniform on [ln 0.01, ln 2], kA uniform on [0, 5]
    def u(r):
        return math.log(r / 0.01) / math.log(200)

    assert ex["O1"].prior_fraction == pytest.approx(1 - u(R_LO), abs=0.01)
    assert ex["O2"].prior_fraction == pytest.approx(u(R_HI), abs=0.01)
    assert ex["O3"].prior_fraction == pytest.approx(1 - KA_LO / 0.5, abs=0.01)
    assert ex["O5"].prior_fraction == 1.0 and ex["O5"].classification == "structural"
    assert ex["O4"].left_out_fraction == 1.0 and ex["O4"].classification == "predicted"
    # without O3 nothing else constrains kA: it holds as often as in the prior box
    assert ex["O3"].left_out_fraction == pytest.approx(1 - KA_LO / 0.5, abs=0.1)
    assert ex["O3"].classification == "fitted"
    # without O1, O2 (and O4) leave ln r on [ln 100/28 e^.., ln R_HI]: O1 holds on the top part only
    lo = math.log(100) / 28
    assert ex["O1"].left_out_fraction == pytest.approx(math.log(R_HI / R_LO) / math.log(R_HI / lo), abs=0.12)
    assert ex["O1"].classification == "in tension"  # O2 (T <= 400) pushes r down, against O1 (T >= 300)
    assert classify(0.95, 0.0) == "structural" and classify(0.5, 0.3) == "in tension"
    assert classify(0.5, 0.45) == "fitted" and classify(0.5, 0.95) == "predicted"
    assert Explanation.from_dict(json.loads(ex.to_json())).to_json() == ex.to_json()
    assert "structural" in ex.report()


def test_explain_refuses_bad_sizes_and_prior_by_name(toy_ensemble):
    from bonemet_ode.calibration.explain import explain_outcomes

    ens, _ = toy_ensemble
    ctx = context(FEASIBLE)
    for kwargs, named in ((dict(n_prior=0), "n_prior must be an integer >= 1"),
                          (dict(n_left_out=-1), "n_left_out must be"), (dict(seed=-2), "seed must be"),
                          (dict(outcomes=["O1", "O1"]), "more than once: O1"),
                          (dict(prior=(("O1", "O2", "O3"), np.ones((4, 2), bool))), r"\(points x 3\)")):
        with pytest.raises(FitError, match=named):
            explain_outcomes(ctx, ens, progress=False, **kwargs)
    # a prior passed in is used as it is: O1 held at 3 of 4 points
    ex = explain_outcomes(ctx, ens, n_left_out=0, progress=False,
                          prior=(("O1", "O2", "O3"), np.array([[1, 1, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]], bool)))
    assert ex["O1"].prior_fraction == 0.75 and ex["O3"].prior_fraction == 1.0


# ---------------------------------------------------------------------- predictions and figures
def test_prediction_bands_match_the_closed_form(toy_ensemble):
    from calibration.test_calibration import ARMS, toy

    from bonemet_ode.calibration.predict import predict_arms

    ens, _ = toy_ensemble
    pred = predict_arms(toy(), list(ARMS.values()), ens, days=28, n_members=None, progress=False)
    assert pred.members == tuple(range(len(ens))) and not pred.failed
    truth = np.exp(28 * ens.values()[:, 0])  # T_control(28) = exp(28 r)
    med, lo, hi = pred.band("control", "T")
    assert med[-1] == pytest.approx(np.quantile(truth, 0.5), rel=1e-5)
    assert (lo[-1], hi[-1]) == pytest.approx((np.quantile(truth, 0.05), np.quantile(truth, 0.95)), rel=1e-5)
    table = pred.endpoint_table(["T"]).set_index("arm")
    assert table.loc["control", "T_pct_control"] == pytest.approx(100.0)
    assert table.loc["A", "T_pct_control_hi"] <= 20.0 + 1e-6  # O3 holds in every member
    assert table.loc["A", "T_lo"] <= table.loc["A", "T"] <= table.loc["A", "T_hi"]


def test_prediction_input_is_checked_and_never_extrapolated(toy_ensemble):
    from calibration.test_calibration import ARMS, toy

    from bonemet_ode.calibration.predict import predict_arms

    ens, _ = toy_ensemble
    arms = list(ARMS.values())
    for bad, named in ((dict(days=float("nan")), "days"), (dict(arms=[]), "at least one Arm"),
                       (dict(arms="control"), "sequence of Arm"), (dict(arms=[arms[0], arms[0]]), "repeated"),
                       (dict(days=2.0, times=[0.0, 3.0]), "after the end")):
        kwargs = dict(arms=arms, days=28.0, n_members=3, progress=False) | bad
        with pytest.raises(BonemetError, match=named):
            predict_arms(toy(), kwargs.pop("arms"), ens, **kwargs)
    pred = predict_arms(toy(), arms, ens, times=[0.0, 7.0, 14.0], n_members=3, progress=False)
    assert pred.times[-1] == 14.0  # the span follows the times when days is not given
    # exp(r t) between outputs: linear interpolation inside the span, a refusal outside it
    r = ens.values()[list(pred.members), 0]
    mid = pred.at(10.5, "control", "T")
    assert np.all((np.exp(7 * r) < mid) & (mid < np.exp(14 * r)))
    for day in (14.5, -1.0, float("nan")):
        with pytest.raises(FitError, match="outside the predicted span"):
            pred.at(day, "control", "T")
    with pytest.raises(FitError, match="level"):
        pred.endpoint_table(["T"], level=1.0)


def test_robustness_helpers_refuse_bad_sizes(toy_ensemble):
    from bonemet_ode.calibration.jitter_margins import jitter_margins
    from bonemet_ode.calibration.robustness import candidate_members, most_robust_member

    ens, _ = toy_ensemble
    with pytest.raises(FitError, match="candidates"):
        candidate_members(ens, 0)
    assert sorted(candidate_members(ens, 10**6)) == list(range(len(ens)))  # more than there are: every member
    with pytest.raises(FitError, match="n_candidates"):
        most_robust_member(context(FEASIBLE), ens, n_candidates=0)
    with pytest.raises(FitError, match="sigma"):
        jitter_margins(context(FEASIBLE), ens.member(0), ["r", "kA"], np.ones((2, 2)), sigma=-0.1)


def test_figures_take_and_return_axes(toy_ensemble):
    from matplotlib.figure import Figure

    from bonemet_ode.plotting.ensemble import correlation_heatmap, marginal_histograms

    ens, _ = toy_ensemble
    corr = ens.correlations()
    ax = Figure().add_subplot()
    assert correlation_heatmap(corr, ax) is ax
    assert np.allclose(ax.images[0].get_array(), corr.to_numpy())
    axes = Figure().subplots(1, 2)
    out = marginal_histograms(ens.unit(), ens.names, axes, bins=10)
    assert list(out) == list(axes)
    heights = [p.get_height() for p in axes[0].patches]
    assert sum(heights) == len(ens)


def test_figures_refuse_mismatched_input_by_name(toy_ensemble):
    """A label list of the wrong length used to be cut to the data silently (or fail inside matplotlib)."""
    from calibration.test_calibration import ARMS, toy
    from matplotlib.figure import Figure

    from bonemet_ode.calibration.predict import predict_arms
    from bonemet_ode.plotting.ensemble import (
        correlation_heatmap,
        ensemble_comparison_figure,
        marginal_histograms,
        plot_band,
    )

    ens, _ = toy_ensemble
    ax = Figure().add_subplot()
    cases = [(lambda: correlation_heatmap(None, ax), "square"),
             (lambda: correlation_heatmap(np.ones((2, 3)), ax), "square"),
             (lambda: correlation_heatmap(ens.correlations(), ax, names=["r"]), "names: expected 2"),
             (lambda: marginal_histograms(ens.unit(), ["r", "kA", "x"]), "names: expected 2"),
             (lambda: marginal_histograms(ens.unit(), ens.names, flags=["constrained"]), "flags: expected 2"),
             (lambda: marginal_histograms(ens.unit(), ens.names, bins=0), "bins"),
             (lambda: plot_band(np.arange(3), np.arange(4), np.arange(3), np.arange(3), ax), "median: expected 3"),
             (lambda: ens.strongest_correlations(0), "k must be")]
    for call, named in cases:
        with pytest.raises(FitError, match=named):
            call()
    combo = bm.Arm("A + A", ARMS["A"].doses)  # a combination by name: drawn dashed
    pred = predict_arms(toy(), [*ARMS.values(), combo], ens, days=7, n_members=20, progress=False)
    with pytest.raises(FitError, match="'cd8' not predicted"):
        ensemble_comparison_figure(pred, panels=[("T", "T", True), ("cd8", "CD8", True)])
    fig = ensemble_comparison_figure(pred, panels=[("T", "tumour", True)], treatment_start=3.0)
    assert len(fig.axes) == 1
    medians = [ln for ln in fig.axes[0].lines if not ln.get_label().startswith("_")]
    assert [ln.get_label() for ln in medians] == list(pred.arms) == [*ARMS, "A + A"]
    for ln in medians:  # combinations dashed, as in the treatment comparison; the median drawn is the band's
        assert ln.get_linestyle() == ("--" if ln.get_label() == "A + A" else "-")
        np.testing.assert_array_equal(ln.get_ydata(), pred.band(ln.get_label(), "T")[0])
    assert any(tuple(ln.get_xdata()) == (3.0, 3.0) for ln in fig.axes[0].lines)  # the treatment-start line


def test_intervals_need_enough_members_and_members_are_not_capped(toy_ensemble):
    """A central 90 % interval needs 20 members (one in each tail beyond it); asking for more members than the
    ensemble holds is refused, not cut to its size."""
    from calibration.test_calibration import ARMS, toy

    from bonemet_ode.calibration.predict import predict_arms

    ens, _ = toy_ensemble
    arms = list(ARMS.values())
    with pytest.raises(FitError, match=f"more than the ensemble's {len(ens)} members"):
        predict_arms(toy(), arms, ens, days=7, n_members=len(ens) + 1, progress=False)
    few = predict_arms(toy(), arms, ens, days=7, n_members=19, progress=False)
    assert repr(few).startswith(f"<EnsemblePrediction: {len(arms)} arms, ") and "19 members" in repr(few)
    for call in (lambda: few.band("control", "T"), lambda: few.endpoint_table(["T"])):
        with pytest.raises(FitError, match="needs at least 20 members with a solution, this prediction has 19"):
            call()
    med, lo, hi = few.band("control", "T", level=0.8)  # 0.8 needs 10
    truth = np.exp(7 * ens.values()[list(few.members), 0])
    assert (lo[-1], med[-1], hi[-1]) == pytest.approx(tuple(np.quantile(truth, [0.1, 0.5, 0.9])), rel=1e-5)
    enough = predict_arms(toy(), arms, ens, days=7, n_members=20, progress=False)
    assert enough.endpoint_table(["T"]).attrs["members"] == 20


@pytest.mark.parametrize("field, value, named", [
    ("piled", [["r_C"]], "piled[0]' must be a list of 2 items"),
    ("piled", [["r_C", 3]], "piled[0]'[1] must be a string"),
    ("bound_breaks", [["r_C", "O8", "half"]], "bound_breaks[0]"),
    ("bound_breaks", [["r_C", "O8"]], "must be a list of 3 items"),
])
def test_a_damaged_explanation_is_refused_by_field(field, value, named, tmp_path):
    """Fields of the saved explanation are checked as they are read (a short row used to raise ValueError)."""
    from bonemet_ode.calibration.explain import Explanation
    from bonemet_ode.models.bone_metastasis.data import explanation_path

    doc = json.loads(explanation_path().read_text())
    assert len(Explanation.from_dict(doc).rows) == 21  # the shipped document itself loads
    doc["payload"][field] = value
    path = tmp_path / "ex.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SavedFileError, match=re.escape(named)):
        Explanation.load(path)


@pytest.mark.parametrize("key, value, named", [("classification", "explained", "must be one of"),
                                               ("prior_fraction", 1.5, "share in [0, 1]"),
                                               ("left_out_fraction", -0.1, "share in [0, 1]")])
def test_an_explanation_row_out_of_range_is_refused(key, value, named, tmp_path):
    from bonemet_ode.calibration.explain import Explanation
    from bonemet_ode.models.bone_metastasis.data import explanation_path

    doc = json.loads(explanation_path().read_text())
    doc["payload"]["rows"][3][key] = value
    path = tmp_path / "ex.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SavedFileError, match=re.escape(named)):
        Explanation.load(path)

"""Tests of global sensitivity analysis against closed-form indices.

The ODEs have solutions that are simple functions of the parameters, so the
indices follow analytically (independently of SALib and of the solver):

* additive: dx/dt = a + b, x(0) = 0  =>  x(t) = (a + b) t.  With a ~ U(0, 1)
  and b ~ U(0, 2), Var(a) = 1/12 and Var(b) = 4/12, so S1 = ST = (0.2, 0.8).
  Morris effects per normalised range are exact: mu* = t*range = (t, 2t), sigma = 0.
* product: dx/dt = a b, x(0) = 0  =>  x(t) = a b t with a, b ~ U(0, 1):
  Var(ab) = 1/9 - 1/16 = 7/144, Var(E[ab | a]) = Var(a/2) = 3/144, so
  S1 = 3/7 and ST = 1 - S1(other) = 4/7 for each.

Tolerance: with n = 1024 base samples of a scrambled Sobol sequence the
estimates scatter with a standard deviation of about 2e-4 over seeds for the
additive case (30 seeds measured) and a few 1e-3 for the product case; the
plain Monte-Carlo standard error at this n would be ~1/sqrt(n) = 0.03.  We
allow 0.01 (0.02 for the product case): many standard deviations of the QMC
scatter, and still small against the indices' differences.  The exact values
must also lie inside SALib's 95 % bootstrap intervals.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import bonemet_ode as bm  # noqa: E402
from bonemet_ode.errors import BonemetError, ParameterError, ScheduleError, UnknownNameError  # noqa: E402

pytest.importorskip("SALib")
from bonemet_ode.analysis.gsa import GSAResult, gsa_problem, morris, sobol  # noqa: E402
from bonemet_ode.plotting.gsa import plot_gsa  # noqa: E402

DAY = 2.0
SEED = 7


def _model(rate: str, upper_b: float) -> bm.Model:
    params = (bm.Parameter("a", 0.5, "1/day", 0.0, 1.0), bm.Parameter("b", 0.5, "1/day", 0.0, upper_b))
    return bm.Model(f"gsa_{rate.replace(' ', '')}".replace("+", "plus").replace("*", "times"),
                    [bm.Module("source", states=(bm.State("x", 0.0, nonnegative=False),), parameters=params,
                               terms=(bm.Term("inflow", rate, {"x": 1}),))])


@pytest.fixture(scope="module")
def additive() -> bm.Model:
    return _model("a + b", 2.0)


@pytest.fixture(scope="module")
def additive_sobol(additive) -> GSAResult:
    return sobol(additive, ["a", "b"], "x", days=DAY, n=1024, seed=SEED)


def _assert_indices(res: GSAResult, index: str, exact: list[float], tol: float) -> None:
    table = res.to_frame().set_index(["index", "parameter"]).loc[index].loc[list(res.parameters)]
    np.testing.assert_allclose(table["estimate"], exact, rtol=0, atol=tol)
    assert np.all(table["ci_low"] <= exact) and np.all(np.asarray(exact) <= table["ci_high"])


def test_sobol_additive_matches_variance_shares(additive_sobol):
    _assert_indices(additive_sobol, "S1", [0.2, 0.8], 0.01)
    _assert_indices(additive_sobol, "ST", [0.2, 0.8], 0.01)
    assert additive_sobol.ranking() == ["b", "a"]
    assert len(additive_sobol.outputs) == 1024 * 4
    x = additive_sobol.samples
    np.testing.assert_allclose(additive_sobol.outputs, DAY * (x["a"] + x["b"]), rtol=1e-6)


def test_sobol_product_has_interaction():
    res = sobol(_model("a*b", 1.0), ["a", "b"], "x", days=DAY, n=1024, seed=SEED)
    _assert_indices(res, "S1", [3 / 7, 3 / 7], 0.02)
    _assert_indices(res, "ST", [4 / 7, 4 / 7], 0.02)


def test_morris_additive_effects_are_exact(additive):
    res = morris(additive, ["a", "b"], "x", days=DAY, trajectories=16, seed=SEED)
    # a constant right-hand side is integrated exactly up to round-off (rtol 1e-6 is an upper bound)
    np.testing.assert_allclose(res.table["mu_star"], [DAY * 1.0, DAY * 2.0], rtol=1e-6)
    np.testing.assert_allclose(res.table["mu"], [DAY * 1.0, DAY * 2.0], rtol=1e-6)
    np.testing.assert_allclose(res.table["sigma"], 0.0, atol=1e-6)
    assert len(res.outputs) == 16 * 3
    assert np.isnan(res.to_frame().query("index == 'sigma'")["ci_low"]).all()


def test_callable_output_and_second_order(additive):
    """An outcome margin (any function of the cohort) works; S1 + S2 sum to 1 for two parameters."""

    def margin(res: bm.CohortResult) -> np.ndarray:
        return 3.0 - 2.0 * res.at(DAY, "x")

    res = sobol(additive, ["a", "b"], margin, days=DAY, n=512, seed=SEED, second_order=True)
    _assert_indices(res, "S1", [0.2, 0.8], 0.01)
    s2 = res.to_frame().query("index == 'S2'")
    assert list(s2["parameter"]) == ["a:b"]
    assert abs(float(s2["estimate"].iloc[0])) <= 0.02  # additive: no interaction
    assert res.output == "margin"


def test_seeded_and_reproducible(additive):
    one = sobol(additive, ["a", "b"], "x", days=DAY, n=64, seed=3)
    two = sobol(additive, ["a", "b"], "x", days=DAY, n=64, seed=3)
    other = sobol(additive, ["a", "b"], "x", days=DAY, n=64, seed=4)
    assert one.to_frame().equals(two.to_frame())
    assert not np.array_equal(one.samples.to_numpy(), other.samples.to_numpy())
    # seed 0 (the default) too: the bootstrap intervals must not come from numpy's global state
    np.random.seed(1)
    zero = sobol(additive, ["a", "b"], "x", days=DAY, n=64, seed=0)
    np.random.seed(2)
    again = sobol(additive, ["a", "b"], "x", days=DAY, n=64)
    assert zero.to_frame().equals(again.to_frame())


def test_implausible_indices_warn_and_plausible_ones_do_not(additive):
    """x' = -a b x over 28 days with a, b in [0, 10]: x(28) spans hundreds of decades, a few samples hold all the
    variance and the bootstrap intervals are hundreds wide: a warning names it.  The additive model's indices
    are variance shares (checked against the closed form above): no warning."""
    import warnings

    params = (bm.Parameter("a", 1.0, "1/day", 0.0, 10.0), bm.Parameter("b", 1.0, "1/day", 0.0, 10.0))
    m = bm.Model("gsa_decay", [bm.Module("decay", states=(bm.State("x", 1.0),), parameters=params,
                                         terms=(bm.Term("loss", "a*b*x", {"x": -1}),))])
    with pytest.warns(bm.errors.BonemetWarning, match=r"far outside \[0, 1\].*decades.*log_scale=True"):
        sobol(m, ["a", "b"], "x", days=28, n=64, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bm.errors.BonemetWarning)
        sobol(additive, ["a", "b"], "x", days=DAY, n=256, seed=SEED)


def test_log_scale_sampling_and_bounds_from_model():
    params = (bm.Parameter("k", 1e-6, "1/day", 1e-9, 1e-3, log_scale=True), bm.Parameter("r", 0.3, "1/day", 0.0, 2.0))
    model = bm.Model("m", [bm.Module("m", states=(bm.State("x", 1.0),), parameters=params,
                                     terms=(bm.Term("g", "(r - k)*x", {"x": 1}),))])
    problem, bounds, log = gsa_problem(model, ["k", "r"], bounds={"r": (0.2, 0.5)})
    assert log == {"k": True, "r": False}
    assert bounds == {"k": (1e-9, 1e-3), "r": (0.2, 0.5)}
    np.testing.assert_allclose(problem["bounds"], [[-9.0, -3.0], [0.2, 0.5]])
    res = morris(bm.models.get("kuznetsov1994"), ["a", "n"], "T", days=4,
                 bounds={"a": (0.1, 0.3), "n": (1e-8, 1e-6)}, log_scale={"n": True}, trajectories=4, seed=1)
    n = res.samples["n"]
    assert n.min() >= 1e-8 * (1 - 1e-12) and n.max() <= 1e-6 * (1 + 1e-12)
    assert res.log_scale == {"a": False, "n": True}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(parameters=["a"]), ParameterError, "at least two"),
        (dict(n=1000), ParameterError, "power of two"),
        (dict(bounds={"a": (0.0, 5.0)}), ParameterError, "leave the model's bounds"),
        (dict(bounds={"c": (0.0, 1.0)}), ParameterError, "not among parameters"),
        (dict(day=1.3), ScheduleError, "not an output time"),
        (dict(output="y"), UnknownNameError, "unknown state or observable 'y'"),
        (dict(output=lambda res: res.states), BonemetError, "one number per cohort member"),
        # settings handed to SALib are checked here (SALib's own errors did not name them, or a typo was ignored)
        (dict(conf_level=2.0), ParameterError, "conf_level must be a number in"),
        (dict(num_resamples=0), ParameterError, "num_resamples"),
        (dict(seed=-1), ParameterError, "seed must be an integer >= 0"),
        (dict(log_scale={"c": True}), ParameterError, "log_scale given for"),
    ],
)
def test_argument_errors(additive, kwargs, error, match):
    args = dict(parameters=["a", "b"], output="x", n=16)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        sobol(additive, args.pop("parameters"), args.pop("output"), days=DAY, **args)


def test_unbounded_parameter_needs_bounds():
    with pytest.raises(ParameterError, match="finite bounds"):
        gsa_problem(bm.models.get("kuznetsov1994"), ["a", "b"])


def test_plot_draws_bars_with_intervals(additive_sobol):
    fig, ax = plt.subplots()
    out = plot_gsa(additive_sobol, ax)
    assert out is ax
    assert len(ax.patches) == 2 * 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]  # most influential on top
    m = morris(_model("a + b", 2.0), ["a", "b"], "x", days=DAY, trajectories=4, seed=1)
    ax2 = plot_gsa(m, indices=["mu_star"])
    assert len(ax2.patches) == 2
    with pytest.raises(BonemetError, match="indices"):
        plot_gsa(m, indices=["S1"])
    plt.close("all")

"""The plotting contract: functions take an optional Axes, return the Axes they drew on, and never
touch pyplot's global state; quick-look ``.plot()`` methods draw the simulated numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import bonemet_ode as bm  # noqa: E402
from bonemet_ode.plotting.comparison import (  # noqa: E402
    DEFAULT_PANELS,
    first_dose_day,
    plot_endpoint_bars,
    plot_trajectories,
    treatment_comparison_figure,
)


@pytest.fixture(scope="module")
def pk():
    return bm.models.get("pk_one_compartment")


def test_result_plot_draws_the_trajectory_without_pyplot(pk):
    res = bm.simulate(pk, bm.Arm("bolus", doses=[bm.Dose("central", amount=3.0, start=1.0)]), days=4)
    before = plt.get_fignums()
    ax = res.plot("central")
    assert plt.get_fignums() == before
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), res.times)
    np.testing.assert_array_equal(line.get_ydata(), res["central"])
    assert ax.get_xlabel() == "Time (days)"
    fig, given = plt.subplots()
    try:
        assert res.plot("central", ax=given) is given
    finally:
        plt.close(fig)


def test_result_plot_of_every_state_keeps_the_legend_whole():
    """The quick look of a 26-state model: one line per state, a legend beside the axes that lies inside the
    figure (it used to run off the bottom), a y label saying where the units are; a caller's figure keeps its
    size."""
    model = bm.models.get("bone_metastasis")
    res = bm.simulate(model, days=7)
    ax = res.plot(log=True)
    assert len(ax.get_lines()) == len(model.state_names) == 26
    legend = ax.get_legend()
    assert [t.get_text().split(" (")[0] for t in legend.get_texts()] == list(model.state_names)
    fig = ax.figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # lay out as savefig does
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    assert ax.get_ylabel() == "value (units in legend)"
    fig2, given = plt.subplots(figsize=(4.0, 3.0))
    try:
        res.plot(ax=given)
        assert tuple(fig2.get_size_inches()) == (4.0, 3.0)
    finally:
        plt.close(fig2)
    assert res.plot(["tumor", "osteoclasts"]).get_ylabel() == "value (cells)"
    assert res.at(2.5, "tumor") == res["tumor"][10]  # outputs every 0.25 day
    with pytest.raises(bm.errors.OutputTimeError, match=r"day 2.6 is not an output time .*nearest: 2.5, 2.75") as err:
        res.at(2.6, "tumor")
    for bad in (float("nan"), "2.5", None):
        with pytest.raises(bm.errors.OutputTimeError, match="day must be a finite number"):
            res.at(bad, "tumor")  # type: ignore[arg-type]
    assert isinstance(err.value, KeyError) and isinstance(err.value, bm.BonemetError)


def test_cohort_plot_band_is_the_member_percentiles(pk):
    cohort = bm.draw_cohort(pk, 40, {"k_el": bm.LogNormal(0.3)}, seed=3)
    arm = bm.Arm("bolus", doses=[bm.Dose("central", amount=3.0, start=0.5)])
    cres = bm.simulate_cohort(pk, cohort, arm, days=3)
    ax = cres.plot("central", band=(10, 90))
    median = [ln for ln in ax.get_lines() if ln.get_label().startswith("median")][0]
    np.testing.assert_allclose(median.get_ydata(), np.median(cres["central"][cres.ok], axis=0))
    with pytest.raises(ValueError, match="band"):
        cres.plot("central", band=(90, 10))


def test_comparison_functions_return_their_axes_and_mark_the_first_dose():
    model = bm.models.get("bone_metastasis")
    arms = [bm.CONTROL, bm.Arm("pd1", doses=[bm.Dose("anti_pd1", amount=10.0, every=3, start=5)])]
    comp = bm.compare_arms(model, arms, days=10)
    assert first_dose_day(comp) == 5.0
    before = plt.get_fignums()
    ax = plot_trajectories(comp, DEFAULT_PANELS[0])
    assert [ln.get_label() for ln in ax.get_lines()] == ["control", "pd1"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), comp["pd1"]["tumor"])
    assert not [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [5.0, 5.0]]  # no baked-in line
    bars = plot_endpoint_bars(comp)
    widths = [p.get_width() for p in bars.patches]
    expected = 100 * comp["pd1"]["tumor"][-1] / comp["control"]["tumor"][-1]
    assert widths == pytest.approx([100.0, expected])
    fig = treatment_comparison_figure(comp)
    assert "day 5" in fig._suptitle.get_text()
    assert plt.get_fignums() == before

"""The treatment-comparison figure draws the simulated data: lines, bars and labels read back from the Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import bonemet_ode as bm  # noqa: E402
from bonemet_ode.plotting.comparison import (  # noqa: E402
    Panel,
    plot_endpoint_bars,
    plot_trajectories,
    treatment_comparison_figure,
)
from bonemet_ode.plotting.style import CONTROL_COLOR, arm_colors  # noqa: E402
from bonemet_ode.simulate.comparison import compare_arms  # noqa: E402


def _model() -> bm.Model:
    return bm.Model("kill", [bm.Module(
        "kill",
        states=(bm.State("tumor", 1e3, "cells"), bm.State("drug", 0.0, "mg")),
        parameters=(bm.Parameter("r", 0.3, "1/day", 0.0, 5.0), bm.Parameter("k", 0.8, "1/day", 0.0, 10.0),
                    bm.Parameter("kd", 0.05, "1/(mg*day)", 0.0, 10.0)),
        terms=(bm.Term("growth", "r*tumor", {"tumor": 1}), bm.Term("kill", "kd*drug*tumor", {"tumor": -1}),
               bm.Term("elimination", "k*drug", {"drug": -1})),
        observables=(bm.Observable("drug_fraction", "drug/(drug + 1)", "1"),),
    )])


@pytest.fixture(scope="module")
def comparison():
    arms = [bm.CONTROL, bm.Arm("low", [bm.Dose("drug", 5.0, start=3.0)]),
            bm.Arm("low + high", [bm.Dose("drug", 20.0, start=3.0)])]
    return compare_arms(_model(), arms, days=10)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_trajectory_lines_are_the_simulation(comparison, ax) -> None:
    panel = Panel("drug_fraction", "Drug fraction (%)", scale=100.0)
    assert plot_trajectories(comparison, panel, ax, treatment_start=3.0) is ax
    lines = [ln for ln in ax.get_lines() if ln.get_label() in comparison.arm_names]
    assert [ln.get_label() for ln in lines] == comparison.arm_names
    colors = arm_colors(comparison.arm_names)
    for line in lines:
        res = comparison[line.get_label()]
        np.testing.assert_array_equal(line.get_xdata(), res.times)
        np.testing.assert_allclose(line.get_ydata(), 100.0 * res["drug_fraction"], rtol=1e-12)
        assert matplotlib.colors.same_color(line.get_color(), colors[line.get_label()])
    assert matplotlib.colors.same_color(lines[0].get_color(), CONTROL_COLOR)
    assert lines[2].get_linestyle() != "-"  # combinations are dashed
    (marker,) = [ln for ln in ax.get_lines() if ln not in lines]  # the treatment-start line
    assert list(marker.get_xdata()) == [3.0, 3.0]
    assert ax.get_ylabel() == "Drug fraction (%)" and "days" in ax.get_xlabel()
    assert ax.get_yscale() == "linear"


def test_log_panel_without_treatment_line(comparison, ax) -> None:
    plot_trajectories(comparison, Panel("tumor", "Tumour (cells)", log=True), ax, treatment_start=None)
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 3
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), comparison["low"]["tumor"])


def test_endpoint_bars_are_percent_of_control(comparison, ax) -> None:
    assert plot_endpoint_bars(comparison, "tumor", day=8, ax=ax) is ax
    bars = ax.patches
    control = comparison["control"].at(8.0, "tumor")
    expected = [100 * comparison[a].at(8.0, "tumor") / control for a in comparison.arm_names]
    np.testing.assert_allclose([b.get_width() for b in bars], expected, rtol=1e-12)
    assert expected[0] == pytest.approx(100.0) and expected[2] < expected[1] < 100.0
    assert [t.get_text() for t in ax.get_yticklabels()] == comparison.arm_names
    assert [t.get_text().strip() for t in ax.texts] == [f"{v:.0f}%" for v in expected]
    assert "day 8" in ax.get_xlabel()


def test_figure_panels_bars_and_legend(comparison) -> None:
    panels = [Panel("tumor", "Tumour (cells)", log=True), Panel("absent", "not in the model"),
              Panel("drug", "Drug (mg)")]
    fig = treatment_comparison_figure(comparison, panels=panels)
    try:
        tumour_ax, drug_ax, bar_ax = fig.axes  # the absent variable is skipped; no spare axes: figure legend
        np.testing.assert_array_equal(tumour_ax.get_lines()[2].get_ydata(), comparison["low + high"]["tumor"])
        np.testing.assert_array_equal(drug_ax.get_lines()[1].get_ydata(), comparison["low"]["drug"])
        assert tumour_ax.get_yscale() == "log" and drug_ax.get_ylabel() == "Drug (mg)"
        final = [comparison[a].final("tumor") for a in comparison.arm_names]
        np.testing.assert_allclose([b.get_width() for b in bar_ax.patches], 100 * np.array(final) / final[0])
        assert [t.get_text() for t in fig.legends[0].get_texts()] == comparison.arm_names
        assert "kill" in fig._suptitle.get_text()
    finally:
        plt.close(fig)


def test_figure_with_a_spare_panel_puts_the_legend_there(comparison) -> None:
    fig = treatment_comparison_figure(comparison, panels=[Panel("tumor", "Tumour (cells)", log=True)])
    try:
        tumour_ax, bar_ax, legend_ax = [a for a in fig.axes if a.get_visible()]
        assert not fig.legends
        assert [t.get_text() for t in legend_ax.get_legend().get_texts()] == comparison.arm_names
        assert len(bar_ax.patches) == 3 and len(tumour_ax.get_lines()) == 4  # 3 arms + day-7 line
    finally:
        plt.close(fig)

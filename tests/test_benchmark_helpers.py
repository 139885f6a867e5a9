"""The plain-scipy driver of benchmarks/run.py executes a model's state events (benchmarks/_scipy_user.py).

Its solves are the accuracy reference of the benchmark table, so they are checked here against
analytic solutions: exponential decay and constant growth with events whose firing times and
post-event trajectories are known in closed form.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from bonemet_ode.model import Event, Model, Module, Observable, Parameter, State, Term

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from _scipy_user import StateEvents, solve_with_doses, straight_line_rhs  # noqa: E402

TIGHT = dict(method="Radau", rtol=1e-10, atol=1e-12)


def _model(*events: Event, x0: float = 1.0, y0: float = 1.0) -> Model:
    """x' = -x, y' = -y + b (b = 0 unless changed), parameters thr = 0.5, b."""
    mod = Module("m", states=(State("x", x0), State("y", y0)),
                 parameters=(Parameter("thr", 0.5), Parameter("b", 0.0), Parameter("k", 1.0)),
                 terms=(Term("x_loss", "x", {"x": -1}), Term("y_loss", "y", {"y": -1}), Term("y_in", "b", {"y": 1})),
                 observables=(Observable("tot", "x + y"),))
    return Model("two", [mod]).with_events(*events)


def _solve(model: Model, times: np.ndarray, **params: float) -> tuple[np.ndarray, list[tuple[float, str]]]:
    rhs, names = straight_line_rhs(model)
    values = {**model.parameter_values(), **params}
    fired: list[tuple[float, str]] = []
    y, _ = solve_with_doses(rhs, model.initial_values(), [values[n] for n in names], times, [],
                            events=StateEvents(model, names), fired=fired, **TIGHT)
    return y, fired


def test_reset_event_fires_at_each_downward_crossing():
    # x = exp(-t) reset to 1 whenever it falls below 0.5: fires at n ln 2, x(t) = exp(-(t mod ln 2))
    times = np.linspace(0.0, 3.0, 31)
    y, fired = _solve(_model(Event("reset", "x < 0.5", {"x": 1.0})), times)
    period = math.log(2.0)
    assert [name for _, name in fired] == ["reset"] * 4
    np.testing.assert_allclose([t for t, _ in fired], period * np.arange(1, 5), rtol=1e-9)
    np.testing.assert_allclose(y[:, 0], np.exp(-np.mod(times, period)), rtol=1e-8)
    np.testing.assert_allclose(y[:, 1], np.exp(-times), rtol=1e-8)


def test_conjunction_fires_when_the_last_atom_turns_true_and_rearms():
    # x = exp(-t) < 0.5 from ln 2, y = exp(-t) < 0.25 from ln 4: first firing at ln 4 (x = 0.25) with
    # x -> 2x + k t; then x decays from 0.5 + ln 4 and falls below 0.5 again while y stays below 0.25
    times = np.linspace(0.0, 4.0, 41)
    ev = Event("both", "x < thr and y < 0.25", {"x": "2*x + k*t"})
    y, fired = _solve(_model(ev), times)
    t1 = math.log(4.0)
    x1 = 0.5 + t1
    t2 = t1 + math.log(x1 / 0.5)
    x2 = 1.0 + t2
    np.testing.assert_allclose([t for t, _ in fired], [t1, t2], rtol=1e-9)
    expect = np.where(times < t1, np.exp(-times),
                      np.where(times < t2, x1 * np.exp(-(times - t1)), x2 * np.exp(-(times - t2))))
    np.testing.assert_allclose(y[:, 0], expect, rtol=1e-8)


@pytest.mark.parametrize("initial_value, expect_fired", [(False, True), (True, False)])
def test_initial_value_decides_firing_at_t0(initial_value, expect_fired):
    # x starts at 0.4, already below 0.5: only initial_value=False fires at day 0 (x -> 0, stays 0)
    times = np.linspace(0.0, 2.0, 5)
    model = _model(Event("gone", "x < 0.5", {"x": 0.0}, initial_value=initial_value), x0=0.4)
    y, fired = _solve(model, times)
    assert fired == ([(0.0, "gone")] if expect_fired else [])
    np.testing.assert_allclose(y[:, 0], 0.0 if expect_fired else 0.4 * np.exp(-times), rtol=1e-8, atol=1e-15)


def test_upward_crossing_mirrored_comparison_and_parameter_threshold():
    # y' = -y + b from y0 = 0 with b = 1: y = 1 - exp(-t) exceeds thr = 0.5 at ln 2, set back to 0: period ln 2
    times = np.linspace(0.0, 2.0, 21)
    model = _model(Event("cap", "thr < y", {"y": 0.0}), y0=0.0)
    y, fired = _solve(model, times, b=1.0)
    period = math.log(2.0)
    np.testing.assert_allclose([t for t, _ in fired], period * np.arange(1, 3), rtol=1e-9)
    np.testing.assert_allclose(y[:, 1], 1.0 - np.exp(-np.mod(times, period)), rtol=1e-8, atol=1e-12)


def test_model_without_events_is_solved_as_before():
    times = np.linspace(0.0, 2.0, 5)
    model = _model()
    rhs, names = straight_line_rhs(model)
    args = [model.parameter_values()[n] for n in names]
    plain, n_plain = solve_with_doses(rhs, model.initial_values(), args, times, [], **TIGHT)
    with_none, n_none = solve_with_doses(rhs, model.initial_values(), args, times, [],
                                         events=StateEvents(model, names), **TIGHT)
    np.testing.assert_array_equal(plain, with_none)
    assert n_plain == n_none
    np.testing.assert_allclose(plain[:, 0], np.exp(-times), rtol=1e-8)


@pytest.mark.parametrize("event, words", [
    (Event("e_or", "x < 0.5 or y < 0.5", {"x": 1.0}), "is not a comparison"),
    (Event("e_not", "not x >= 0.5", {"x": 1.0}), "is not a comparison"),
    (Event("e_sum", "x + y < 1", {"x": 1.0}), "does not compare a state with a threshold"),
    (Event("e_two", "x < y", {"x": 1.0}), "is not a number or a parameter"),
    (Event("e_obs", "tot < 1", {"x": 1.0}), "does not compare a state"),
    (Event("e_time", "t >= 1", {"x": 1.0}), "does not compare a state"),
    (Event("e_prio", "x < 0.5", {"x": 1.0}, priority=1.0), "priority"),
    (Event("e_par", "x < 0.5", {"k": 2.0}), "'k', which is not a state"),
    (Event("e_readobs", "x < 0.5", {"x": "tot"}), "reads 'tot'"),
])
def test_untranslated_events_are_refused_by_name(event, words):
    model = _model(event)
    with pytest.raises(ValueError, match=rf"event {event.name!r}.*{words}"):
        StateEvents(model, model.parameter_names)

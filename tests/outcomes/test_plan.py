"""The batched evaluation engine (outcomes/plan.py) against the legacy one-source-at-a-time path.

Both paths read the same compiled solver; the batched one solves several sources per call in
SIMD lanes, on threads, and outputs only the days the outcomes read.  The solver's steps do not
depend on which output times it interpolates, and a member in lanes is solved exactly as alone,
so the results must agree bit for bit, failures included.  The toy model's values are also
checked against its closed form (conftest.tumour).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import A_DAYS, tumour

import bonemet_ode as bm
from bonemet_ode.errors import OutcomeError
from bonemet_ode.outcomes import EvaluationContext
from bonemet_ode.outcomes.plan import output_days

TOY_OUTCOMES = [
    "T1: T@28[A] < T@28[control]",
    "T2: integral(T, 5, 20)[A+B] < integral(T, 5, 20)[B]",
    "T3: time_to(T >= 50, until=28)[slow] > time_to(T >= 50, until=28)[control]",
    "T4: fraction(cohort[A+B, n=37, seed=3, r~lognormal(0.2)]: T@28 < 1) >= 0",
    "T5: spearman(cohort[control, n=20, seed=1, r~lognormal(0.2), ke~lognormal(0.1)]: T@14, burden@21) > 0.5",
    "T6: T@21[KO] <= T@21[A0]",
]


def _same(a, b) -> bool:
    return all((x.value == y.value or (math.isnan(x.value) and math.isnan(y.value)))
               and (x.margin == y.margin or (math.isnan(x.margin) and math.isnan(y.margin)))
               and x.satisfied == y.satisfied for x, y in zip(a.results, b.results))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_toy_batched_equals_legacy_bit_for_bit(drug_model, arms, n_jobs):
    new = EvaluationContext(drug_model, arms, TOY_OUTCOMES, n_jobs=n_jobs, cache_size=0)
    old = EvaluationContext(drug_model, arms, TOY_OUTCOMES, engine="legacy", cache_size=0)
    for params in ({}, {"r": 0.25, "ke": 0.4}, {"kA": 0.1, "kB": 0.9, "kAB": 0.2}):
        a, b = new.evaluate(params), old.evaluate(params)
        assert _same(a, b), (a.report(), b.report())
        assert dict(a.failures) == dict(b.failures)
        np.testing.assert_array_equal(a.margins(), b.margins())
    new.close()


def test_toy_values_match_closed_form(drug_model, arms):
    ctx = EvaluationContext(drug_model, arms, TOY_OUTCOMES, n_jobs=2)
    ev = ctx.evaluate()
    a28 = [d for d in A_DAYS if d <= 28]
    # log-scale comparisons report the ratio of the two sides
    assert ev["T1"].value == pytest.approx(tumour(28, a_days=a28) / tumour(28), rel=1e-5)
    a0 = math.exp(0.2 * 21 - 0.5 * (1 - math.exp(-0.3 * 21)) / 0.3)  # A = 1 at day 0, no doses
    assert ev["T6"].value == pytest.approx(1.0 / a0, rel=1e-5)         # KO: growth knocked out, T stays 1
    ctx.close()


def test_output_days_keeps_ranges_and_points(drug_model, arms):
    """Only read-out days, the last day, and whole ranges of integrals / threshold searches are kept."""
    ctx = EvaluationContext(drug_model, arms, TOY_OUTCOMES, engine="batched")
    plan = ctx._plan
    by = {str(s.key): s.times for b in plan.batches for s in b.sources}
    assert by["A"].tolist() == [28.0]                                  # one read-out, which is the end
    assert by["KO"].tolist() == [21.0] and by["A0"].tolist() == [21.0]
    grid = ctx.times
    # integral 5..20 reads the whole grid from 0 to day 20 (pre-dose points included), then its end
    b_times = by["B"]
    assert set(grid[grid <= 20 + 1e-9]) <= set(b_times.tolist())
    assert b_times[-1] == 20.0
    slow = by["slow"]                                                  # time_to until day 28
    assert set(grid[grid <= 28 + 1e-9]) <= set(slow.tolist())
    times = np.array([0.0, 1.0, 2.0, 3.0])
    need = bm.outcomes.base.Need("x", "T", (2.0,), points=True)
    assert output_days(times, [need], 3.0).tolist() == [2.0, 3.0]
    assert output_days(times, [bm.outcomes.base.Need("x", "T", (2.0,))], 3.0).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_failures_reported_alike(drug_model, arms):
    """A cohort whose draws leave the bounds fails the same way in both engines."""
    outcomes = ["F1: fraction(cohort[control, n=50, seed=2, ke~lognormal(3)]: T@10 < 5) >= 0", "F2: T@10[A] > 0"]
    new = EvaluationContext(drug_model, arms, outcomes)
    old = EvaluationContext(drug_model, arms, outcomes, engine="legacy")
    a, b = new.evaluate(), old.evaluate()
    assert a.failures and dict(a.failures) == dict(b.failures)
    assert _same(a, b)


def test_bad_engine_and_threads(drug_model, arms):
    with pytest.raises(OutcomeError, match="engine"):
        EvaluationContext(drug_model, arms, TOY_OUTCOMES[:1], engine="fast")
    with pytest.raises(OutcomeError, match="n_jobs"):
        EvaluationContext(drug_model, arms, TOY_OUTCOMES[:1], n_jobs=0)


@pytest.fixture(scope="module")
def catalogue_pair():
    from bonemet_ode.models.bone_metastasis.catalogue import catalogue_context

    new = catalogue_context(n_jobs=2, cache_size=0)
    old = catalogue_context(engine="legacy", cache_size=0)
    yield new, old
    new.close()


def test_catalogue_batched_equals_legacy(catalogue_pair):
    """O1-O21 with jittered free parameters: every value and margin identical in both engines."""
    from bonemet_ode.models.bone_metastasis.catalogue import free_parameters

    new, old = catalogue_pair
    model = new.model
    pars = {p.name: p for p in model.parameters}
    rng = np.random.default_rng(11)
    sets = [{}]
    while len(sets) < 3:
        d = {k: pars[k].value * float(np.exp(0.1 * rng.standard_normal())) for k in free_parameters()}
        if all(pars[k].lower <= v <= pars[k].upper for k, v in d.items()):
            sets.append(d)
    for params in sets:
        a, b = new.evaluate(params), old.evaluate(params)
        assert _same(a, b), (a.report(), b.report())
        assert dict(a.failures) == dict(b.failures)
    assert new._plan.n_members == len(new.arm_names) + sum(c.n for c in new.cohorts)


def test_cohort_options_change_only_the_cohorts(drug_model, arms):
    """cohort_options: cohorts solve at their own tolerance, arms keep theirs bit for bit."""
    loose = bm.SolverOptions(rtol=1e-3)
    ref = EvaluationContext(drug_model, arms, TOY_OUTCOMES, cache_size=0)
    ctx = EvaluationContext(drug_model, arms, TOY_OUTCOMES, cohort_options=loose, cache_size=0)
    assert ctx.cohort_options is loose and ctx.options == ref.options
    rtols = {str(s.key): float(b.sim.opts[0]) for b in ctx._plan.batches for s in b.sources}
    assert all(v == (1e-3 if "virtual" in k else 1e-6) for k, v in rtols.items()), rtols
    a, b = ctx.evaluate({"r": 0.25}), ref.evaluate({"r": 0.25})
    cohort = {"T4", "T5"}
    for x, y in zip(a.results, b.results):
        assert x.satisfied == y.satisfied
        if x.id in cohort:
            assert x.margin == pytest.approx(y.margin, abs=1e-2)
        else:
            assert x.margin == y.margin and x.value == y.value
    # the cohorts' trajectories moved (within the looser tolerance), the arms' did not
    ov = {"r": 0.25}
    runs_a, coh_a, _ = ctx._plan.run(ov)
    runs_b, coh_b, _ = ref._plan.run(ov)
    for k in runs_a:
        np.testing.assert_array_equal(runs_a[k].states, runs_b[k].states)
    for k in coh_a:
        assert not np.array_equal(coh_a[k].states, coh_b[k].states)
        np.testing.assert_allclose(coh_a[k].states, coh_b[k].states, rtol=1e-2, atol=1e-6)
    with pytest.raises(OutcomeError, match="cohort_options must be a SolverOptions"):
        EvaluationContext(drug_model, arms, TOY_OUTCOMES[:1], cohort_options={"rtol": 1e-3})


def test_cohort_options_of_one_outcome_change_only_its_cohort(drug_model, arms):
    """cohort_options_of: the cohort that T4 reads solves at its own tolerance; T5's cohort and the arms keep theirs."""
    loose, mid = bm.SolverOptions(rtol=1e-3), bm.SolverOptions(rtol=1e-4)
    ref = EvaluationContext(drug_model, arms, TOY_OUTCOMES, cohort_options=mid, cache_size=0)
    ctx = EvaluationContext(drug_model, arms, TOY_OUTCOMES, cohort_options=mid, cohort_options_of={"T4": loose},
                            cache_size=0)
    rtols = {s.key: float(b.sim.opts[0]) for b in ctx._plan.batches for s in b.sources}
    want = {k: 1e-6 if isinstance(k, str) else 1e-3 if k.n == 37 else 1e-4 for k in rtols}
    assert rtols == want and list(rtols.values()).count(1e-3) == 1, rtols
    ov = {"r": 0.25}
    runs_a, coh_a, _ = ctx._plan.run(ov)
    runs_b, coh_b, _ = ref._plan.run(ov)
    for k in runs_a:
        np.testing.assert_array_equal(runs_a[k].states, runs_b[k].states)
    for k in coh_a:
        if k.n == 37:
            assert not np.array_equal(coh_a[k].states, coh_b[k].states)
            np.testing.assert_allclose(coh_a[k].states, coh_b[k].states, rtol=1e-2, atol=1e-6)
        else:
            np.testing.assert_array_equal(coh_a[k].states, coh_b[k].states)
    # an id the context does not hold is passed over; one that reads no cohort, or bad options, are refused
    other = EvaluationContext(drug_model, arms, TOY_OUTCOMES[4:], cohort_options_of={"T4": loose}, cache_size=0)
    assert {float(b.sim.opts[0]) for b in other._plan.batches} == {1e-6}
    with pytest.raises(OutcomeError, match="outcome 'T1', which reads no cohort"):
        EvaluationContext(drug_model, arms, TOY_OUTCOMES, cohort_options_of={"T1": loose})
    with pytest.raises(OutcomeError, match=r"cohort_options_of\['T4'\] must be a SolverOptions"):
        EvaluationContext(drug_model, arms, TOY_OUTCOMES, cohort_options_of={"T4": 1e-3})


def test_shared_extremes_equal_one_series_reduction():
    """The readout's per-arm max/min of every column gives Extremum.reduce's number, NaN and inf included."""
    from bonemet_ode.outcomes.context import _ContextReadout
    from bonemet_ode.outcomes.runner import ArmTrajectory

    rng = np.random.default_rng(5)
    times = np.linspace(0.0, 10.0, 41)
    states = rng.standard_normal((41, 4))
    states[7, 1] = np.inf      # in the window: NaN result
    states[2, 2] = -np.inf     # before the window: ignored
    states[30, 3] = np.nan
    obs = rng.standard_normal((41, 2))
    columns = {"a": (0, 0), "b": (0, 1), "c": (0, 2), "d": (0, 3), "o": (1, 0), "q": (1, 1)}
    data = _ContextReadout(10.0, {"X": ArmTrajectory(times, states, obs, columns)}, {}, {})
    for name in columns:
        for stat in ("max", "min"):
            for start, end in ((0.0, 10.0), (1.0, 6.0), (2.5, 10.0)):
                q = bm.outcomes.Extremum(name, stat, start, end, "X")
                t, y = data.series("X", name)
                want = float(q.reduce(t, y, 10.0))
                got = q.evaluate(data)
                assert got == want or (math.isnan(got) and math.isnan(want)), (name, stat, start, end)
    assert math.isnan(bm.outcomes.Extremum("b", "max", 0, 10, "X").evaluate(data))
    assert not math.isnan(bm.outcomes.Extremum("c", "min", 2.5, 10, "X").evaluate(data))


def _initial_model() -> bm.Model:
    from bonemet_ode.model import Model, Module, Parameter, State, Term

    return Model("toy_initial", [Module(
        "m",
        states=(State("T", "T0", "cells"), State("S", "1/(c - 2)", "cells"), State("U", "2*ke + T0", "cells")),
        parameters=(Parameter("T0", 1.0, "cells", 0.0, 100.0), Parameter("c", 3.0, "1", 0.0, 10.0),
                    Parameter("ke", 0.3, "1/day", 0.01, 10.0), Parameter("r", 0.1, "1/day", 0.0, 1.0)),
        terms=(Term("grow", "r*T", {"T": 1}), Term("decay", "ke*S", {"S": -1}), Term("u", "ke*U", {"U": -1})),
    )])


def test_initial_rows_equal_initial_row_by_row():
    """Cohort initial states: only the expressions of varied parameters per member, same numbers and errors."""
    from bonemet_ode.outcomes.runner import ArmFailure, ArmRunner

    model = _initial_model()
    runner = ArmRunner(bm.Simulator(model, bm.Arm("x"), 5.0, np.linspace(0, 5, 6)))
    assert runner.initial_depends_on(["T0"]) and runner.initial_depends_on(["c"])
    assert not runner.initial_depends_on(["r"])
    rng = np.random.default_rng(1)
    P = np.repeat(runner.base[None, :], 9, axis=0)
    i0, ic = runner.index["T0"], runner.index["c"]
    P[:, i0] = rng.uniform(0.5, 5.0, 9)
    np.testing.assert_array_equal(runner.initial_rows(P, ["T0"]), np.array([runner.initial(p) for p in P]))
    # an error in member 4 only: the same ArmFailure as row by row
    P[:, ic] = 3.0
    P[4, ic] = 2.0
    with pytest.raises(ArmFailure) as row_by_row:
        [runner.initial(p) for p in P]
    with pytest.raises(ArmFailure) as rows:
        runner.initial_rows(P, ["T0", "c"])
    assert str(rows.value) == str(row_by_row.value) and "'S'" in str(rows.value)
    for bad_value_row, error_row in ((4, 6), (6, 4)):  # S = -1 < 0 in one member, 1/0 in another
        P[:, ic] = 3.0
        P[bad_value_row, ic], P[error_row, ic] = 1.0, 2.0
        with pytest.raises(ArmFailure) as row_by_row:
            [runner.initial(p) for p in P]
        with pytest.raises(ArmFailure) as rows:
            runner.initial_rows(P, ["T0", "c"])
        assert str(rows.value) == str(row_by_row.value)
        assert ("-1.0" in str(rows.value)) == (bad_value_row < error_row)


def test_solve_batch_out_arrays(drug_model, arms):
    """solve_batch(out=...) writes the same numbers into the caller's arrays; bad arrays are refused."""
    sim = bm.Simulator(drug_model, arms["A"], 28.0, np.linspace(0, 28, 57))
    cm = sim.compiled
    P = np.repeat(drug_model.parameter_vector()[None, :], 3, axis=0)
    P[:, drug_model.parameter_names.index("r")] = [0.1, 0.2, 0.3]
    Y0 = np.repeat(np.array([1.0, 0.0, 0.0])[None, :], 3, axis=0)
    ref = cm.solve_batch(Y0, P, sim.times, sim.events, sim.opts, sim.atol)
    Y = np.full((3, 57, cm.n_states), -1.0)
    O = np.full((3, 57, max(cm.n_observables, 1)), -1.0)
    got = cm.solve_batch(Y0, P, sim.times, sim.events, sim.opts, sim.atol, out=(Y, O))
    assert got[0] is Y and got[1] is O
    np.testing.assert_array_equal(Y, ref[0])
    np.testing.assert_array_equal(O, ref[1])
    with pytest.raises(ValueError, match="out arrays"):
        cm.solve_batch(Y0, P, sim.times, sim.events, sim.opts, sim.atol, out=(Y[:, :10], None))


def test_shared_extremes_over_arms_equal_term_by_term():
    """``largest``/``smallest`` over arms read through the context's one-call path (windows folded in blocks of
    rows) give the numbers of each term's own series reduction (Extremum.reduce), NaN and inf included, on
    windows of 1501 rows (not a multiple of the block) and of fewer rows than two blocks."""
    from bonemet_ode.outcomes.arithmetic import Extreme
    from bonemet_ode.outcomes.context import _ContextReadout
    from bonemet_ode.outcomes.runner import ArmTrajectory

    rng = np.random.default_rng(7)
    times = np.linspace(0.0, 375.0, 1501)
    columns = {"a": (0, 0), "b": (0, 1), "c": (0, 2), "o": (1, 0)}
    runs = {}
    for k, arm in enumerate("XYZ"):
        states = rng.standard_normal((1501, 3)) * 10.0 ** k
        if arm == "Y":
            states[1500, 1] = np.inf     # the last row, outside every block
            states[900, 2] = -np.inf
        if arm == "Z":
            states[40, 0] = np.nan
        runs[arm] = ArmTrajectory(times, states, rng.standard_normal((1501, 1)), columns)
    data = _ContextReadout(375.0, runs, {}, {})

    class Plain(bm.outcomes.Readout):  # no shared reductions: each term reads its own series
        horizon = 375.0

        def series(self, arm, name):
            return data.series(arm, name)

        def cohort_series(self, cohort, name):
            raise AssertionError

    seen_nan = 0
    for name in columns:
        for stat, over in (("max", "largest"), ("min", "smallest")):
            for start, end in ((0.0, 375.0), (3.0, 9.0), (10.25, 300.0)):
                q = Extreme.over_arms(over, bm.outcomes.Extremum(name, stat, start, end), ["X", "Y", "Z"])
                assert q._over_arms is not None
                for got, want in ((q.evaluate(data), q.evaluate(Plain())),
                                  (q.log_value(data), q.log_value(Plain()))):
                    seen_nan += math.isnan(want)
                    assert got == want or (math.isnan(got) and math.isnan(want)), (name, stat, start, end)
    assert seen_nan > 0

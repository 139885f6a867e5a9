"""The evaluation context: simulate every arm an outcome set needs once, then score every outcome.

Building an :class:`EvaluationContext` checks the outcomes against the
model and the arms, picks the output grid, and prepares (compiles) one
:class:`~bonemet_ode.simulate.Simulator` per arm.  :meth:`~EvaluationContext.evaluate`
then costs one compiled solve per arm (plus one cohort solve per cohort) and
is cached per parameter set, so calibration can call it thousands of times.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import OutcomeError, suggestion
from ..model import Model
from ..simulate._validate import MAX_OUTPUT_TIMES
from ..simulate.arm import Arm
from ..simulate.cohort import Distribution
from ..simulate.options import SolverOptions
from ..simulate.perturbations import SetParameters
from ..simulate.result import SimulationResult
from ..simulate.simulator import Simulator
from .base import Need, Readout, UnavailableError
from .cohort import CohortSpec
from .plan import EvaluationPlan
from .results import OutcomeResult, format_results
from .runner import ArmFailure, ArmRunner, ArmTrajectory, CohortRunner, CohortTrajectories
from .statements import Outcome
from .trajectory import day_index

__all__ = ["EvaluationContext", "Evaluation", "evaluate_outcomes", "PRE_DOSE_OFFSET"]


@dataclass(frozen=True)
class Evaluation:
    """Results of every outcome of a context for one parameter set.

    Attributes
    ----------
    results : tuple of OutcomeResult
        In the context's outcome order.
    params : dict
        Parameter overrides evaluated (context base overrides included).
    failures : dict
        ``{arm or cohort: message}`` of simulations that failed.
    """

    results: tuple[OutcomeResult, ...]
    params: Mapping[str, float] = field(default_factory=dict)
    failures: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> OutcomeResult:
        for r in self.results:
            if r.id == key:
                return r
        raise OutcomeError(f"no outcome {key!r} in this evaluation (outcomes: {', '.join(r.id for r in self.results)})")

    def __iter__(self) -> Iterator[OutcomeResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def all_satisfied(self) -> bool:
        """Whether every outcome holds."""
        return all(r.satisfied for r in self.results)

    def margins(self) -> np.ndarray:
        """Margins of every clause, outcome by outcome (see :meth:`EvaluationContext.leaf_ids`)."""
        return np.array([m for r in self.results for m in r.leaf_margins()], dtype=float)

    def report(self) -> str:
        """Text table of the results (and failed simulations)."""
        text = format_results(self.results)
        if self.failures:
            text += "\nfailed simulations:\n" + "\n".join(f"  {k}: {v}" for k, v in self.failures.items())
        return text

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per outcome (``id, satisfied, margin, value, threshold, statement, ...``)."""
        return [r.to_dict() for r in self.results]


def _column_reduce(f: np.ufunc, a: np.ndarray, k: int = 32) -> np.ndarray:
    """``f.reduce(a, axis=0)`` of a (rows x columns) array (``np.maximum``/``np.minimum``: exact, NaN
    propagating), folded first over blocks of ``k`` rows laid side by side so that the inner loop runs
    over ``k`` times more elements than one row: about 4x faster than ``a.max(axis=0)`` for the
    ~1500 x 26 windows of an evaluation."""
    rows, cols = a.shape
    q = rows // k
    if q < 2:
        return f.reduce(a, axis=0)
    m = f.reduce(f.reduce(a[:q * k].reshape(q, k * cols), axis=0).reshape(k, cols), axis=0)
    return m if q * k == rows else f(m, f.reduce(a[q * k:], axis=0))


class _ContextReadout(Readout):
    def __init__(self, horizon: float, runs: Mapping[str, ArmTrajectory],
                 cohorts: Mapping[CohortSpec, CohortTrajectories],
                 failures: Mapping[Any, str]) -> None:
        self.horizon = horizon
        self._runs, self._cohorts, self._failures = runs, cohorts, failures
        self._extremes: dict[tuple[str, float, float, int], tuple[np.ndarray, np.ndarray]] = {}

    def extreme(self, arm: str, name: str, stat: str, start: float, end: float) -> float | None:
        """``max``/``min`` of ``name`` over days ``[start, end]`` of ``arm``, as :class:`~.trajectory.Extremum`
        reduces it, from one reduction per arm, window and kind of column (states, observables) shared by
        every name; None when the arm failed (the caller then raises through :meth:`series`)."""
        res = self._runs.get(arm)
        if res is None:
            return None
        which, j = res.columns[name]
        key = (arm, start, end, which)
        cols = self._extremes.get(key)
        if cols is None:
            # max and min of every column at once; a column with a non-finite value anywhere in the
            # window gives NaN for both (np.max/np.min propagate NaN; +inf shows in the max, -inf in the
            # min), as Extremum.reduce's inf-to-NaN does, without copying the window
            i, k = day_index(res.times, start), day_index(res.times, end)
            window = np.asarray(res.states if which == 0 else res.observables, dtype=float)[i:k + 1]
            hi, lo = _column_reduce(np.maximum, window), _column_reduce(np.minimum, window)
            bad = ~(np.isfinite(hi) & np.isfinite(lo))
            if bad.any():
                hi, lo = np.where(bad, np.nan, hi), np.where(bad, np.nan, lo)
            cols = self._extremes[key] = (hi, lo)
        return float(cols[0][j] if stat == "max" else cols[1][j])

    def extremes(self, arms: tuple[str, ...], name: str, stat: str, start: float,
                 end: float) -> list[float] | None:
        """:meth:`extreme` of ``name`` in each of ``arms`` (one call for a ``largest``/``smallest`` over arms);
        None when an arm failed."""
        runs, ext, k = self._runs, self._extremes, 0 if stat == "max" else 1
        out = []
        for arm in arms:
            res = runs.get(arm)
            if res is None:
                return None
            which, j = res.columns[name]
            cols = ext.get((arm, start, end, which))
            if cols is None:
                self.extreme(arm, name, stat, start, end)
                cols = ext[(arm, start, end, which)]
            out.append(float(cols[k][j]))
        return out

    def series(self, arm: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        if arm not in self._runs:
            raise UnavailableError(f"arm {arm!r} failed: {self._failures.get(arm, 'not simulated')}")
        res = self._runs[arm]
        return res.times, res[name]

    def cohort_series(self, cohort: CohortSpec, name: str) -> tuple[np.ndarray, np.ndarray]:
        res = self._cohorts.get(cohort)
        if res is None:
            raise UnavailableError(f"{cohort.to_text()} failed: {self._failures.get(cohort, 'not simulated')}")
        return res.times, res[name]


def _pinned(model: Model, arm: Arm, simulated: Model) -> frozenset[str]:
    """Parameters the arm sets itself (calibration overrides must not undo a knockdown)."""
    names: set[str] = set()
    for p in arm.perturbations:
        if isinstance(p, SetParameters):
            names.update(p.values)
    base = model.parameter_values()
    for k, v in simulated.parameter_values().items():
        if k in base and base[k] != v:
            names.add(k)
    return frozenset(names)


#: Output points are added this many days before every bolus (integrals see both sides of the jump).
PRE_DOSE_OFFSET = 1e-6


def _with_pre_dose_times(times: np.ndarray, arm: Arm) -> np.ndarray:
    """``times`` plus ``t - PRE_DOSE_OFFSET`` for every bolus day ``t`` in ``(PRE_DOSE_OFFSET, times[-1]]``."""
    end = float(times[-1])
    pre = [t - PRE_DOSE_OFFSET for d in arm.doses if d.duration is None
           for t in d.administration_times(end) if t > PRE_DOSE_OFFSET]
    return np.unique(np.concatenate([times, np.array(pre, dtype=float)])) if pre else times


class EvaluationContext:
    """Arms, outcomes and a model prepared for repeated evaluation.

    Parameters
    ----------
    model : Model
        The model.
    arms : mapping of str to Arm, or iterable of Arm
        Named arms (an iterable is keyed by ``Arm.name``).  Outcomes refer to
        these keys.  A "model variant" (a knockout, a tumour-free mouse, a
        changed module) is an arm whose perturbations change the model.
    outcomes : sequence of Outcome or str
        The outcomes (strings are parsed); keys must be unique.
    params : mapping, optional
        Base parameter overrides (checked against the bounds).
    days : float, optional
        Simulated horizon, days (default: the last day any outcome reads).
    step : float
        Output grid spacing, days (default 0.1); read-out days and integral
        ends are added to the grid exactly, and so is a point
        :data:`PRE_DOSE_OFFSET` before every bolus, so an integral of a dosed
        state sees both sides of the jump.
    options : SolverOptions, optional
        Solver tolerances.
    cohort_options : SolverOptions, optional
        Solver tolerances of the virtual cohorts (default: ``options``).  Cohort statements read
        fractions and rank correlations of many members, which coarser steps leave unchanged
        where a single arm's value would move: a model's catalogue may solve its cohorts with a
        looser ``rtol`` once it has checked that the verdicts do not change (the bone-metastasis
        catalogue does, see :func:`~bonemet_ode.models.bone_metastasis.catalogue.context_options`).
    cohort_options_of : mapping of str to SolverOptions, optional
        Solver tolerances of the cohorts that an outcome reads, by outcome id (instead of
        ``cohort_options``), for a cohort whose statement a model's catalogue has checked at a
        tolerance of its own.  A key that is the id of an outcome of the context must be one
        that reads a cohort; ids of outcomes the context does not hold are passed over (a
        catalogue's options serve contexts of some of its statements).  A cohort read by several
        outcomes takes the options of those that name it, which must agree.
    variability : mapping of str to Distribution, optional
        Default inter-animal variability of cohorts that give none.
    n_jobs : int, optional
        Threads for the simulations (default: every core, ``os.cpu_count()``; the legacy engine
        uses one unless told).  Results do not depend on it.
    cache_size : int
        Parameter sets whose evaluations are kept (0: no cache).
    engine : {"batched", "legacy"}
        ``"batched"`` (default): every arm and cohort member of a parameter set in a few lane
        solves over ``n_jobs`` threads, with output only at the days the outcomes read
        (:class:`~bonemet_ode.outcomes.plan.EvaluationPlan`).  ``"legacy"``: one solve per arm and one
        batched solve per cohort on the whole output grid, as before; kept as the reference the
        batched engine is tested and benchmarked against.  Both give the same results bit for bit.

    Raises
    ------
    OutcomeError
        On an unknown arm, state or observable, a day after ``days``, a
        cohort without variability or repeated outcome ids.

    Notes
    -----
    Parameters that an arm sets itself (``SetParameters`` perturbations) are
    not overridden by ``params`` or by :meth:`evaluate` in that arm, so a
    knock-down arm stays knocked down during calibration.
    """

    def __init__(
        self,
        model: Model,
        arms: Mapping[str, Arm] | Iterable[Arm],
        outcomes: Sequence[Outcome | str],
        *,
        params: Mapping[str, float] | None = None,
        days: float | None = None,
        step: float = 0.1,
        options: SolverOptions | None = None,
        cohort_options: SolverOptions | None = None,
        cohort_options_of: Mapping[str, SolverOptions] | None = None,
        variability: Mapping[str, Distribution] | None = None,
        n_jobs: int | None = None,
        cache_size: int = 8,
        engine: str = "batched",
    ) -> None:
        from .parser import parse

        if not isinstance(model, Model):
            raise OutcomeError(f"model must be a Model, got {model!r}")
        self.model = model
        self.arms: dict[str, Arm] = dict(arms) if isinstance(arms, Mapping) else {a.name: a for a in arms}
        for k, a in self.arms.items():
            if not isinstance(a, Arm):
                raise OutcomeError(f"arm {k!r} must be an Arm, got {a!r}")
        self.outcomes: tuple[Outcome, ...] = tuple(parse(o) if isinstance(o, str) else o for o in outcomes)
        self._check_outcomes()
        if params:
            model.resolve_parameters(params)
        self.params = {k: float(v) for k, v in (params or {}).items()}
        if isinstance(step, bool) or not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
            raise OutcomeError(f"step must be a positive number of days, got {step!r}")
        self.step = float(step)
        self.options = options or SolverOptions()
        for what, o in (("options", self.options), ("cohort_options", cohort_options)):
            if o is not None and not isinstance(o, SolverOptions):
                raise OutcomeError(f"{what} must be a SolverOptions, got {o!r}")
        self.cohort_options = cohort_options or self.options
        self.cohort_options_of: dict[str, SolverOptions] = dict(cohort_options_of or {})
        for key, o in self.cohort_options_of.items():
            if not isinstance(o, SolverOptions):
                raise OutcomeError(f"cohort_options_of[{key!r}] must be a SolverOptions, got {o!r}")
        self.variability = dict(variability or {})
        if engine not in ("batched", "legacy"):
            raise OutcomeError(f"engine must be 'batched' or 'legacy', got {engine!r}")
        if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1):
            raise OutcomeError(f"n_jobs must be an integer >= 1 (threads) or None (every core), got {n_jobs!r}")
        self.engine = engine
        self.n_jobs = int(n_jobs) if n_jobs is not None else (1 if engine == "legacy" else (os.cpu_count() or 1))
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[tuple, Evaluation] = OrderedDict()
        self.n_evaluations = 0
        self.n_cache_hits = 0
        self._prepare(days)

    # ------------------------------------------------------------------ set-up
    def _check_outcomes(self) -> None:
        seen: set[str] = set()
        for o in self.outcomes:
            if not isinstance(o, Outcome):
                raise OutcomeError(f"outcomes must be Outcome objects or text, got {o!r}")
            if o.key in seen:
                raise OutcomeError(f"outcome {o.key!r} appears twice")
            seen.add(o.key)

    def _needs(self) -> list[tuple[Outcome, Need]]:
        return [(o, n) for o in self.outcomes for n in o.needs()]

    def _arm(self, name: str, who: str) -> Arm:
        if name not in self.arms:
            known = ", ".join(repr(a) for a in self.arms) or "none"
            hint = f"; {s}" if (s := suggestion(name, self.arms)) else ""
            raise OutcomeError(f"outcome {who!r} uses arm {name!r}, which the context does not define{hint} "
                               f"(arms: {known})")
        return self.arms[name]

    def _prepare(self, days: float | None) -> None:
        needs = self._needs()
        specific = sorted({d for _, n in needs for d in n.days} | {0.0})
        last = max(specific)
        if days is None:
            if last <= 0:
                raise OutcomeError("no outcome reads a day after 0: give the horizon 'days'")
            days = last
        horizon = float(days)
        for o, n in needs:
            if n.days and max(n.days) > horizon + 1e-9:
                raise OutcomeError(f"outcome {o.key!r} reads day {max(n.days):g}, after the horizon days={horizon:g}")
        n_grid = horizon / self.step
        if not (math.isfinite(horizon) and n_grid <= MAX_OUTPUT_TIMES):
            raise OutcomeError(f"horizon {horizon:g} days at an output step of {self.step:g} days needs {n_grid:.3g} "
                               f"output times (at most {MAX_OUTPUT_TIMES:,}): read earlier days, or give a larger "
                               "step=")
        self.horizon = horizon
        grid = np.linspace(0.0, horizon, int(round(n_grid)) + 1)
        self.times = np.unique(np.concatenate([grid, np.array(specific)]))
        ends: dict[Any, float] = {}
        for o, n in needs:
            if n.source is None:
                raise OutcomeError(f"outcome {o.key!r} reads {n.name!r} without an arm (write {n.name}...[ARM])")
            self._arm(n.source if isinstance(n.source, str) else n.source.arm, o.key)
            end = horizon if n.to_horizon else max(n.days, default=0.0)
            ends[n.source] = max(ends.get(n.source, self.step), end)
        cohort_opts: dict[Any, SolverOptions] = {}
        held = {o.key for o in self.outcomes}
        for key, opt in self.cohort_options_of.items():
            if key not in held:
                continue
            read = [n.source for o, n in needs if o.key == key and n.source is not None
                    and not isinstance(n.source, str)]
            if not read:
                readers = sorted({o.key for o, n in needs if n.source is not None and not isinstance(n.source, str)})
                raise OutcomeError(f"cohort_options_of names outcome {key!r}, which reads no cohort "
                                   f"(those that do: {', '.join(readers) or 'none'})")
            for source in read:
                if cohort_opts.setdefault(source, opt) != opt:
                    raise OutcomeError(f"cohort_options_of gives {source.to_text()} two different options "
                                       f"(outcome {key!r} and another outcome that reads it)")
        self._sims: dict[str, Simulator] = {}
        self._runners: dict[str, ArmRunner] = {}
        self._cohorts: dict[CohortSpec, CohortRunner] = {}
        variants: dict[str, Model] = {}
        for source, end in ends.items():
            arm_name = source if isinstance(source, str) else source.arm
            times = _with_pre_dose_times(self.times[self.times <= end + 1e-9], self.arms[arm_name])
            if isinstance(source, str):
                arm = self.arms[source]
                sim = Simulator(self.model, arm, float(times[-1]), times, self.options)
                self._sims[source] = sim
                self._runners[source] = ArmRunner(sim, _pinned(self.model, arm, sim.model))
                variants[source] = sim.model
            else:
                var = dict(source.variability) or self.variability
                if not var:
                    raise OutcomeError(f"{source.to_text()} gives no variability and the context has no default "
                                       "(write cohort[arm, n=.., seed=.., PARAM~lognormal(0.3)] or pass variability=)")
                sim = Simulator(self.model, self.arms[arm_name], float(times[-1]), times,
                                cohort_opts.get(source, self.cohort_options))
                runner = ArmRunner(sim, _pinned(self.model, self.arms[arm_name], sim.model))
                self._cohorts[source] = CohortRunner(self.model, runner, source.n, source.seed, tuple(var.items()),
                                                     self.n_jobs)
        by_source: dict[Any, list[Need]] = {}
        for _, n in needs:
            by_source.setdefault(n.source, []).append(n)
        self._plan = EvaluationPlan({k: (r, by_source[k]) for k, r in self._runners.items()},
                                    {k: (c, by_source[k]) for k, c in self._cohorts.items()}, horizon, self.n_jobs)
        for o, n in needs:
            assert n.source is not None  # a need without an arm was refused above
            read_arm = n.source if isinstance(n.source, str) else n.source.arm
            if read_arm not in variants:
                variants[read_arm] = self.arms[read_arm].apply(self.model)
            where = n.source if isinstance(n.source, str) else n.source.to_text()
            self._check_name(variants[read_arm], n.name, o.key, where)

    @staticmethod
    def _check_name(model: Model, name: str, who: str, where: str) -> None:
        known = model.state_names + model.observable_names
        if name not in known:
            hint = f"; {s}" if (s := suggestion(name, known)) else ""
            shown = ", ".join(known[:40]) + (", ..." if len(known) > 40 else "")
            raise OutcomeError(f"outcome {who!r} reads {name!r} in {where!r}, which is not a state or observable"
                               f"{hint} (known: {shown})")

    # ------------------------------------------------------------------ public
    @property
    def arm_names(self) -> tuple[str, ...]:
        """Arms simulated per evaluation."""
        return tuple(self._sims)

    @property
    def cohorts(self) -> tuple[CohortSpec, ...]:
        """Cohorts simulated per evaluation."""
        return tuple(self._cohorts)

    def leaf_ids(self) -> tuple[str, ...]:
        """Ids of every separately scored clause (``O4.1``, ``O4.2`` for a conjunction), in margin order."""
        out = []
        for o in self.outcomes:
            n = o.n_leaves
            out += [o.key] if n == 1 else [f"{o.key}.{i + 1}" for i in range(n)]
        return tuple(out)

    def leaf_owners(self) -> np.ndarray:
        """Index of the outcome of every clause."""
        return np.array([i for i, o in enumerate(self.outcomes) for _ in range(o.n_leaves)], dtype=int)

    def evaluate(self, params: Mapping[str, float] | None = None) -> Evaluation:
        """Simulate every arm and cohort once with ``params`` and score every outcome.

        Parameters
        ----------
        params : mapping, optional
            Parameter overrides on top of the context's ``params``.

        Raises
        ------
        ParameterError
            On an unknown parameter or a value outside its bounds.  A failed
            solve does not raise: the outcomes that read it fail.
        """
        ov = dict(self.params)
        if params:
            ov.update({k: float(v) for k, v in params.items()})
        key = tuple(sorted(ov.items()))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            self.n_cache_hits += 1
            return hit
        self.model.resolve_parameters(ov)
        if self.engine == "batched":
            runs, cohorts, failures = self._plan.run(ov)
        else:
            runs, cohorts, failures = self._run_legacy(ov)
        data = _ContextReadout(self.horizon, runs, cohorts, failures)
        ev = Evaluation(tuple(o.evaluate(data) for o in self.outcomes), ov,
                        {(k if isinstance(k, str) else k.to_text()): v for k, v in failures.items()})
        self.n_evaluations += 1
        if self.cache_size > 0:
            self._cache[key] = ev
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return ev

    def _run_legacy(self, ov: Mapping[str, float]) -> tuple[dict, dict, dict]:
        """One solve per arm, one batched solve per cohort, on the whole output grid (``engine="legacy"``)."""
        runs: dict[str, ArmTrajectory] = {}
        failures: dict[Any, str] = {}
        for name, runner in self._runners.items():
            try:
                runs[name] = runner.run(ov)
            except ArmFailure as exc:
                failures[name] = str(exc)
        cohorts: dict[CohortSpec, CohortTrajectories] = {}
        for spec, cohort in self._cohorts.items():
            try:
                cohorts[spec] = cohort.run(ov)
            except ArmFailure as exc:
                failures[spec] = str(exc)
        return runs, cohorts, failures

    def close(self) -> None:
        """Stop the context's worker threads (they also stop when the context is collected)."""
        self._plan.close()

    def simulate(self, arm: str, params: Mapping[str, float] | None = None) -> SimulationResult:
        """The trajectory of one arm on the context's grid (for plots and checks)."""
        if arm not in self._sims:
            raise OutcomeError(f"arm {arm!r} is not simulated by this context (arms: {', '.join(self._sims)})")
        ov = dict(self.params)
        ov.update(params or {})
        pinned = self._runners[arm].pinned
        return self._sims[arm].run({k: v for k, v in ov.items() if k not in pinned})

    def __repr__(self) -> str:
        return (f"<EvaluationContext model={self.model.name!r}: {len(self.outcomes)} outcomes, "
                f"{len(self._sims)} arms, {len(self._cohorts)} cohorts, output every {self.step:g} d "
                f"to day {self.horizon:g} at most>")


def evaluate_outcomes(model: Model, arms: Mapping[str, Arm] | Iterable[Arm], outcomes: Sequence[Outcome | str],
                      params: Mapping[str, float] | None = None, **kwargs: Any) -> Evaluation:
    """One-off evaluation: build an :class:`EvaluationContext` and evaluate ``params``.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> from bonemet_ode.outcomes import evaluate_outcomes
    >>> m = bm.models.get("pk_one_compartment")
    >>> arms = [bm.Arm("q1d", [bm.Dose("central", 1.0, every=1.0)])]
    >>> ev = evaluate_outcomes(m, arms, ["central@3[q1d] >= 1"])
    >>> ev.all_satisfied
    True
    """
    return EvaluationContext(model, arms, outcomes, **kwargs).evaluate(params)

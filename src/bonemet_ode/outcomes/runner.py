"""Prepared arms and cohorts: one compiled solve per parameter set, with no per-call set-up.

:meth:`Simulator.run <bonemet_ode.simulate.Simulator.run>` re-validates
every parameter and re-compiles expression initial values on each call
(about a third of the cost of a solve of the bone-metastasis model).
:class:`ArmRunner` does that work once: it keeps the arm's parameter vector,
the index of every parameter and the compiled initial-value expressions,
and per call only writes the overrides into a copy of the vector and calls
the compiled solver.  :class:`CohortRunner` does the same for a virtual
cohort: the same draws as :func:`~bonemet_ode.simulate.draw_cohort` (one
generator seeded per evaluation, parameters drawn in order around their
current values, no clipping), one batched compiled solve, optional threads.
Parameter values must be checked by the caller
(:meth:`Model.resolve_parameters <bonemet_ode.model.Model.resolve_parameters>`).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..model import Model
from ..model.expressions import compile_expression
from ..simulate.cohort import Distribution
from ..simulate.simulator import Simulator, failure_message

__all__ = ["ArmRunner", "ArmTrajectory", "ArmFailure", "CohortRunner", "CohortTrajectories"]


def _names_in(expr: str, parameters: Mapping[str, int]) -> frozenset[str] | None:
    """The parameters (keys of ``parameters``) that expression ``expr`` reads; None if it cannot be parsed."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return None
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in parameters)


@dataclass(frozen=True)
class ArmTrajectory:
    """States and observables of one solve on the runner's output times (days)."""

    times: np.ndarray
    states: np.ndarray
    observables: np.ndarray
    columns: Mapping[str, tuple[int, int]]

    def __getitem__(self, name: str) -> np.ndarray:
        which, j = self.columns[name]
        return self.states[:, j] if which == 0 else self.observables[:, j]


class ArmFailure(Exception):
    """A solve of a prepared arm failed (the message says where)."""


class ArmRunner:
    """A :class:`~bonemet_ode.simulate.Simulator` prepared for cheap repeated solves.

    Parameters
    ----------
    simulator : Simulator
        The arm's simulator (model with the arm's perturbations applied).
    pinned : frozenset of str
        Parameters the arm sets itself; overrides of them are ignored.
    """

    def __init__(self, simulator: Simulator, pinned: frozenset[str] = frozenset()) -> None:
        self.sim = simulator
        model = simulator.model
        self.pinned = pinned
        self.base = model.parameter_vector()
        self.parameter_names = model.parameter_names
        self.index = {n: i for i, n in enumerate(self.parameter_names)}
        self.n_params = len(self.parameter_names)
        self.columns = {n: (0, j) for j, n in enumerate(model.state_names)}
        self.columns.update({n: (1, j) for j, n in enumerate(model.observable_names)})
        self.n_obs = len(model.observable_names)
        self.nonnegative = np.array([s.nonnegative for s in model.states])
        self._init: list[tuple[int, Callable[[Mapping[str, float]], float]]] = []
        #: parameter names each expression initial value reads (None: unknown, take all)
        self._init_names: list[frozenset[str] | None] = []
        y0 = np.empty(len(model.states))
        for i, s in enumerate(model.states):
            if isinstance(s.initial, str):
                self._init.append((i, compile_expression(s.initial, f"initial value of {s.name!r}")))
                self._init_names.append(_names_in(s.initial, self.index))
                y0[i] = np.nan
            else:
                y0[i] = s.initial
        self.y0 = y0
        #: the parameters the expression initial values read (all of them when one is unknown), and their indices
        known = [n for n in self._init_names if n is not None]
        read = sorted(set().union(*known)) if len(known) == len(self._init_names) else None
        self._env_names = tuple(self.parameter_names) if read is None else tuple(read)
        self._env_index = np.array([self.index[n] for n in self._env_names], dtype=int)

    def vector(self, params: Mapping[str, float]) -> np.ndarray:
        """The compiled parameter vector with ``params`` written in (pinned ones skipped)."""
        p = self.base.copy()
        for k, v in params.items():
            if k not in self.pinned:
                p[self.index[k]] = v
        return p

    @property
    def initial_depends_on_parameters(self) -> bool:
        """Whether some initial value is an expression of parameters."""
        return bool(self._init)

    def initial(self, p: np.ndarray) -> np.ndarray:
        """Day-0 state for parameter vector ``p``."""
        if not self._init:
            return self.y0
        y0 = self.y0.copy()
        env = dict(zip(self._env_names, p[self._env_index].tolist()))
        for i, f in self._init:
            try:
                y0[i] = f(env)
            except (ZeroDivisionError, ValueError, OverflowError) as exc:
                raise ArmFailure(f"arm {self.sim.arm.name!r}: initial value of state "
                                 f"{self.sim.model.state_names[i]!r} cannot be evaluated ({exc})") from None
        bad = ~np.isfinite(y0) | (self.nonnegative & (y0 < 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ArmFailure(f"arm {self.sim.arm.name!r}: initial value of state {self.sim.model.state_names[i]!r} "
                             f"is {y0[i]!r}")
        return y0

    def initial_depends_on(self, names: Iterable[str]) -> bool:
        """Whether some expression initial value reads one of the parameters ``names``."""
        names = frozenset(names)
        return any(n is None or n & names for n in self._init_names)

    def initial_rows(self, P: np.ndarray, varied: Iterable[str]) -> np.ndarray:
        """Day-0 states of the parameter vectors ``P`` (rows) that differ only in the parameters ``varied``.

        The same numbers and the same :class:`ArmFailure` (first failing row, first failing state) as
        :meth:`initial` row by row, but the initial values that read no parameter of ``varied`` are
        evaluated once, for the first row.
        """
        varied = frozenset(varied)
        first = self.initial(P[0])
        Y0 = np.repeat(first[None, :], len(P), axis=0)
        dep = [(i, f, names) for (i, f), names in zip(self._init, self._init_names) if names is None or names & varied]
        if not dep or len(P) == 1:
            return Y0
        if any(names is None for *_, names in dep):
            return np.array([self.initial(P[k]) for k in range(len(P))])
        exc_row = len(P)
        exc: tuple[int, Exception] | None = None
        for i, f, names in dep:
            assert names is not None  # unknown names were handled above
            expr = self.sim.model.states[i].initial
            if isinstance(expr, str) and expr.strip() in self.index:
                # a bare parameter name: float(eval(name)) is the parameter's value
                Y0[1:, i] = P[1:, self.index[expr.strip()]]
                continue
            order, idx = tuple(names), [self.index[n] for n in names]
            for k, row in enumerate(P[1:exc_row, idx].tolist(), start=1):
                try:
                    Y0[k, i] = f(dict(zip(order, row)))
                except (ZeroDivisionError, ValueError, OverflowError) as err:
                    # row by row, the first row with an error fails at its first failing expression
                    exc_row, exc = k, (i, err)
                    break
        rows = Y0[1:exc_row]
        bad = ~np.isfinite(rows) | (self.nonnegative & (rows < 0))
        if bad.any():  # a bad value in a row before the first error is reported first, as row by row
            k = int(np.flatnonzero(bad.any(axis=1))[0])
            i = int(np.flatnonzero(bad[k])[0])
            raise ArmFailure(f"arm {self.sim.arm.name!r}: initial value of state {self.sim.model.state_names[i]!r} "
                             f"is {rows[k, i]!r}")
        if exc is not None:
            i, first_error = exc
            raise ArmFailure(f"arm {self.sim.arm.name!r}: initial value of state "
                             f"{self.sim.model.state_names[i]!r} cannot be evaluated ({first_error})") from None
        return Y0

    def run(self, params: Mapping[str, float]) -> ArmTrajectory:
        """Solve with ``params`` (already checked against the bounds).

        Raises
        ------
        ArmFailure
            If the solver fails or an initial value is invalid.
        """
        p = self.vector(params)
        y0 = self.initial(p)
        Y, O, _stats, status, fail_t, fail_state = self.sim.solve(p[None, :], y0[None, :])
        if status[0] != 0:
            raise ArmFailure(failure_message(self.sim.model, int(status[0]), float(fail_t[0]), int(fail_state[0]),
                                             self.sim.arm.name))
        obs = O[0, :, : self.n_obs] if O is not None else np.empty((len(self.sim.times), 0))
        return ArmTrajectory(self.sim.times, Y[0], obs, self.columns)


@dataclass(frozen=True)
class CohortTrajectories:
    """States and observables of the members that solved: arrays (members x times)."""

    times: np.ndarray
    states: np.ndarray
    observables: np.ndarray
    columns: Mapping[str, tuple[int, int]]
    n: int

    def __getitem__(self, name: str) -> np.ndarray:
        which, j = self.columns[name]
        return self.states[:, :, j] if which == 0 else self.observables[:, :, j]


class CohortRunner:
    """A virtual cohort of one arm prepared for repeated evaluation.

    Parameters
    ----------
    model : Model
        The model without the arm (draws are centred on its parameter values
        updated with the evaluation's overrides, as
        :func:`~bonemet_ode.simulate.draw_cohort` does with
        ``model.with_parameters(overrides)``).
    runner : ArmRunner
        The arm, prepared on the cohort's output times.
    n, seed : int
        Cohort size and seed.
    variability : sequence of (str, Distribution)
        Parameter distributions, drawn in this order.
    n_jobs : int
        Threads for the solves (the compiled solver releases the GIL).
    """

    def __init__(self, model: Model, runner: ArmRunner, n: int, seed: int,
                 variability: Sequence[tuple[str, Distribution]], n_jobs: int = 1) -> None:
        self.runner, self.n, self.seed, self.n_jobs = runner, int(n), int(seed), max(1, int(n_jobs))
        self.variability = tuple(variability)
        self.params = [model.parameter(name) for name, _ in self.variability]
        self.index = [runner.index[name] for name, _ in self.variability]

    def draw(self, params: Mapping[str, float]) -> np.ndarray:
        """(members x varied parameters) values, as :func:`~bonemet_ode.simulate.draw_cohort` draws them."""
        rng = np.random.default_rng(self.seed)
        out = np.empty((self.n, len(self.variability)))
        for j, ((name, dist), p) in enumerate(zip(self.variability, self.params)):
            v = dist.sample(rng, float(params.get(name, p.value)), self.n)
            bad = ~np.isfinite(v) | (v < p.lower) | (v > p.upper)
            if bad.any():
                raise ArmFailure(f"{int(bad.sum())} of {self.n} draws of parameter {name!r} fall outside its bounds "
                                 f"[{p.lower}, {p.upper}] (first: {v[bad][0]:.4g})")
            out[:, j] = v
        return out

    def run(self, params: Mapping[str, float]) -> CohortTrajectories:
        """Draw and solve every member with overrides ``params``; members that fail are left out.

        Raises
        ------
        ArmFailure
            If a draw leaves its bounds or no member solves.
        """
        r = self.runner
        P = np.repeat(r.vector(params)[None, :], self.n, axis=0)
        P[:, self.index] = self.draw(params)
        if r.initial_depends_on_parameters:
            Y0 = np.array([r.initial(P[i]) for i in range(self.n)])
        else:
            Y0 = np.repeat(r.initial(P[0])[None, :], self.n, axis=0)
        nt, ns = len(r.sim.times), len(r.sim.model.state_names)
        Y = np.empty((self.n, nt, ns))
        O = np.empty((self.n, nt, r.n_obs))
        status = np.empty(self.n, dtype=np.int64)
        first_failure: list[str] = []
        size = max(1, math.ceil(self.n / (4 * self.n_jobs)))
        chunks = [(a, min(self.n, a + size)) for a in range(0, self.n, size)]

        def work(bounds: tuple[int, int]) -> None:
            a, b = bounds
            y, o, _st, ss, ft, fs = r.sim.solve(P[a:b], Y0[a:b])
            Y[a:b] = y
            if r.n_obs and o is not None:
                O[a:b] = o[:, :, : r.n_obs]
            status[a:b] = ss
            bad = np.flatnonzero(ss != 0)
            if bad.size and not first_failure:
                k = int(bad[0])
                first_failure.append(failure_message(r.sim.model, int(ss[k]), float(ft[k]), int(fs[k]), r.sim.arm.name))

        if self.n_jobs == 1 or len(chunks) == 1:
            for c in chunks:
                work(c)
        else:
            with ThreadPoolExecutor(self.n_jobs) as pool:
                list(pool.map(work, chunks))
        ok = status == 0
        if not ok.any():
            raise ArmFailure(f"no member of the cohort solved ({first_failure[0] if first_failure else 'unknown'})")
        return CohortTrajectories(r.sim.times, Y[ok], O[ok], r.columns, self.n)

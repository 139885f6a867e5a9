"""Per-subject predictions for many parameter vectors at once (one compiled solve per arm).

Used by the population fit: each member is a subject with its own values of
the random-effect parameters (given as logs, ``phi``); every other parameter
takes the shared value.  Members of the same arm are solved together with
:meth:`~bonemet_ode.simulate.Simulator.solve`.  When the problem uses forward
sensitivities, :meth:`SubjectBatch.predict_with_derivatives` also returns
the exact derivatives of the predictions with respect to ``phi`` from one
solve per member (sensitivities of the random-effect parameters only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FitError
from ..model.expressions import symbols_in
from ..simulate import Simulator
from .problem import FitProblem, sensitivity_simulator

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SubjectBatch", "dense_curves"]


class SubjectBatch:
    """Batched per-subject predictions of a :class:`FitProblem`.

    Parameters
    ----------
    problem : FitProblem
        The pooled problem (rows, arms, observation maps, noise models).
    random : sequence of str
        Model parameters that vary between subjects (columns of ``phi``, log values).
    """

    def __init__(self, problem: FitProblem, random: Sequence[str]) -> None:
        import pandas as pd
        self.pb = problem
        fr = problem.frame
        self.subjects: tuple[str, ...] = tuple(pd.unique(fr["subject"]))
        self.row_subject = fr["subject"].map({s: i for i, s in enumerate(self.subjects)}).to_numpy(int)
        self.rows = [np.flatnonzero(self.row_subject == i) for i in range(len(self.subjects))]
        self.subject_arm = np.array([problem.row_arm[r[0]] for r in self.rows], dtype=int)
        self.random = tuple(random)
        model = problem.model
        self.columns = np.array([model.parameter_index(n) for n in self.random], dtype=int)
        for o, m in problem.observations.items():
            used = symbols_in(m.target, f"observation {o!r}") & set(self.random)
            if used:
                raise FitError(f"observation {o!r}: target {m.target!r} uses random-effect parameter(s) "
                               f"{sorted(used)}; move them into a model observable")
        init_syms: set[str] = set()
        for s in model.states:
            if isinstance(s.initial, str):
                init_syms |= symbols_in(s.initial, f"initial value of {s.name!r}")
        self.init_depends = bool(init_syms & set(self.random))
        self.exact = False
        self.sensitivity_simulators: list[Simulator] = []
        if problem.uses_sensitivities:
            try:
                self.sensitivity_simulators = [sensitivity_simulator(model, sim, self.random, problem.options)
                                               for sim in problem.simulators]
                self.exact = True
            except FitError:  # the E-step keeps finite differences
                self.sensitivity_simulators = []

    def n_rows(self, i: int) -> int:
        """Number of data rows of subject ``i``."""
        return len(self.rows[i])

    def predict(self, subject: np.ndarray, phi: np.ndarray, values: Mapping[str, float]) -> list[np.ndarray]:
        """Predictions at each member's data rows.

        Parameters
        ----------
        subject : ndarray of int (m,)
            Subject index of each member.
        phi : ndarray (m, d)
            Log values of the random-effect parameters.
        values : mapping
            Every fit parameter's value (the random ones are overridden by ``phi``).

        Returns
        -------
        list of ndarray
            For member ``j``, predictions at the rows of ``subject[j]`` (NaN when its solve failed).
        """
        pb = self.pb
        out: list[np.ndarray] = [np.full(self.n_rows(int(s)), np.nan) for s in subject]
        arms = self.subject_arm[subject]
        for k, arm in enumerate(pb.arm_names):
            members = np.flatnonzero(arms == k)
            if members.size == 0:
                continue
            sim = pb.simulators[k]
            base_values = pb.model_values(values, arm)
            base = sim.model.parameter_vector(base_values)
            P = np.tile(base, (members.size, 1))
            P[:, self.columns] = np.exp(phi[members])
            if self.init_depends:
                Y0 = np.empty((members.size, len(sim.model.state_names)))
                for r, j in enumerate(members):
                    v = dict(base_values)
                    v.update(zip(self.random, np.exp(phi[j]).tolist()))
                    Y0[r] = sim.model.initial_values(v)
            else:
                Y0 = np.tile(sim.initial_state(base_values), (members.size, 1))
            Y, O, _, status, _, _ = sim.solve(P, Y0)
            O = O if O is not None else Y[:, :, :0]  # None: the model has no observables
            names = sim.model.state_names + sim.model.observable_names
            ns = len(sim.model.state_names)
            series = {n: (Y[:, :, i] if i < ns else O[:, :, i - ns]) for i, n in enumerate(names)}
            env = {**base_values, **{p.name: values[p.name] for p in pb.parameters if p.role == "observation"}}
            f_obs = {o: pb.observations[o].evaluate(series, env) for o in pb.obs_names}
            for r, j, o, sel, t in self._data_rows(members, subject, status):
                out[j][sel] = f_obs[o][r, t]
        return out

    def _data_rows(self, members: np.ndarray, subject: np.ndarray, status: np.ndarray):
        """Yield ``(member row r, member j, observable, row mask, time indices)`` for solved members."""
        pb = self.pb
        for r, j in enumerate(members):
            if status[r] != 0:
                continue
            rows = self.rows[int(subject[j])]
            obs_idx = pb.row_obs[rows]
            tidx = pb.row_tidx[rows]
            for q, o in enumerate(pb.obs_names):
                sel = obs_idx == q
                if np.any(sel):
                    yield r, j, o, sel, tidx[sel]

    def predict_with_derivatives(self, subject: np.ndarray, phi: np.ndarray, values: Mapping[str, float]
                                 ) -> list[np.ndarray]:
        """Predictions and their exact derivatives with respect to ``phi`` (needs :attr:`exact`).

        Parameters
        ----------
        subject, phi, values
            As for :meth:`predict`.

        Returns
        -------
        list of ndarray
            For member ``j`` a ``(1 + d, n_rows)`` array: the predictions at
            the rows of ``subject[j]``, then ``df/dphi_k = theta_k*df/dtheta_k``
            for each random-effect parameter (NaN when the solve failed).
        """
        if not self.exact:
            raise FitError("predict_with_derivatives: this batch has no sensitivity simulators")
        pb = self.pb
        d = len(self.random)
        out: list[np.ndarray] = [np.full((1 + d, self.n_rows(int(s))), np.nan) for s in subject]
        arms = self.subject_arm[subject]
        obs_values = {p.name: float(values[p.name]) for p in pb.parameters if p.role == "observation"}
        for k, arm in enumerate(pb.arm_names):
            members = np.flatnonzero(arms == k)
            if members.size == 0:
                continue
            sim = self.sensitivity_simulators[k]
            model = sim.model
            base_values = pb.model_values(values, arm)
            theta = np.exp(phi[members])
            P = np.tile(model.parameter_vector(base_values), (members.size, 1))
            P[:, self.columns] = theta
            # augmented initial states [x0, dx0/dtheta_1, ...], built as Simulator.run builds them
            if self.init_depends:
                rows0 = []
                for r in range(members.size):
                    v = dict(base_values)
                    v.update(zip(self.random, theta[r].tolist()))
                    rows0.append(sim._sensitivity_initial(model.initial_values(v), v))
                Y0 = np.array(rows0)
            else:
                y0 = sim._sensitivity_initial(sim.initial_state(base_values), base_values)
                Y0 = np.tile(y0, (members.size, 1))
            Y, O, _, status, _, _ = sim.solve(P, Y0)
            O = O if O is not None else Y[:, :, :0]  # None: the model has no observables
            ns, no = len(model.state_names), len(model.observable_names)
            series = {n: Y[:, :, i] for i, n in enumerate(model.state_names)}
            if no:
                series.update({n: O[:, :, i] for i, n in enumerate(model.observable_names)})
            dseries = []
            for q in range(d):
                ds = {n: Y[:, :, ns + q * ns + i] for i, n in enumerate(model.state_names)}
                if no:
                    ds.update({n: O[:, :, no + q * no + i] for i, n in enumerate(model.observable_names)})
                dseries.append(ds)
            env = {**base_values, **obs_values}
            f_obs, df_obs = {}, {}
            for o in pb.obs_names:
                g, scale, offset = pb.target_values(o, series, env)
                f_obs[o] = scale * g + offset
                df_obs[o] = [scale * theta[:, q, None] * pb.target_derivative(o, series, dseries[q], env, name)
                             for q, name in enumerate(self.random)]
            for r, j, o, sel, t in self._data_rows(members, subject, status):
                out[j][0, sel] = f_obs[o][r, t]
                for c in range(d):
                    out[j][1 + c, sel] = df_obs[o][c][r, t]
        return out

    def moments(self, i: int, f: np.ndarray, values: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, s)`` of subject ``i``'s rows on the likelihood scale."""
        pb = self.pb
        rows = self.rows[i]
        mu = np.empty_like(f)
        s = np.empty_like(f)
        for q, o in enumerate(pb.obs_names):
            sel = pb.row_obs[rows] == q
            if not np.any(sel):
                continue
            nm = pb.noise[o]
            mu[sel] = nm.location(f[sel])
            s[sel] = nm.sd(f[sel], pb.noise_values(values, o)) if not np.all(pb.has_sd[rows][sel]) else 1.0
        s = np.where(pb.has_sd[rows], pb.given_s[rows], s)
        return mu, s


def dense_curves(batch: SubjectBatch, phi: np.ndarray, values: Mapping[str, float], n_times: int = 121
                 ) -> pd.DataFrame:
    """Per-subject predictions on a dense grid from day 0 to the last datum.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject, arm, observable, time, value``.
    """
    import pandas as pd

    from ..simulate import Simulator

    pb = batch.pb
    t_end = float(pb.frame["time"].max()) or 1.0
    times = np.linspace(0.0, t_end, n_times)
    parts = []
    for k, arm in enumerate(pb.arm_names):
        members = np.flatnonzero(batch.subject_arm == k)
        if members.size == 0:
            continue
        sim = Simulator(pb.model, pb.simulators[k].arm, times=times, options=pb.options)
        base_values = pb.model_values(values, arm)
        P = np.tile(sim.model.parameter_vector(base_values), (members.size, 1))
        P[:, batch.columns] = np.exp(phi[members])
        Y0 = np.empty((members.size, len(sim.model.state_names)))
        for r, j in enumerate(members):
            v = dict(base_values)
            v.update(zip(batch.random, np.exp(phi[j]).tolist()))
            Y0[r] = sim.model.initial_values(sim.model.resolve_parameters(v))
        Y, O, _, status, _, _ = sim.solve(P, Y0)
        O = O if O is not None else Y[:, :, :0]  # None: the model has no observables
        ns = len(sim.model.state_names)
        names = sim.model.state_names + sim.model.observable_names
        series = {n: (Y[:, :, i] if i < ns else O[:, :, i - ns]) for i, n in enumerate(names)}
        env = {**base_values, **{p.name: values[p.name] for p in pb.parameters if p.role == "observation"}}
        for o in pb.obs_names:
            f = pb.observations[o].evaluate(series, env)
            for r, j in enumerate(members):
                if status[r] == 0:
                    parts.append(pd.DataFrame({"subject": batch.subjects[j], "arm": arm, "observable": o,
                                               "time": times, "value": f[r]}))
    if not parts:
        return pd.DataFrame(columns=["subject", "arm", "observable", "time", "value"])
    return pd.concat(parts, ignore_index=True)

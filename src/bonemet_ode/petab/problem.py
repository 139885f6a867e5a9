"""A PEtab v1 problem on the compiled engine: per-condition simulations and their derivatives.

The objective, its gradient and the residuals are computed from these by the scoring half
(``scoring.py``, :class:`~bonemet_ode.petab.scoring.ProblemScoring`).  :class:`PetabProblem`
holds the tables (``petab.Problem``), the imported SBML model and, per simulation condition (a
pre-equilibration and a simulation condition), how each model parameter, initial value and
formula symbol is set: a number or a parameter of the parameter table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import PetabError
from .model_import import SbmlModel
from .reading import LOG, LOG10
from .scoring import Evaluation, ProblemScoring
from .sources import _Condition, _ObsRows, _Vec

__all__ = ["Evaluation", "PetabProblem"]

#: Steady-state criterion of pre-equilibration (see :meth:`PetabProblem.steady_state`): the first
#: output time at which every state has ``|dx_i/dt| <= SS_RTOL * |x_i| + SS_ATOL`` (per model time
#: unit; AMICI's default steady-state tolerances are rtol 1e-8 with a weighted RMS norm).
SS_RTOL, SS_ATOL = 1e-8, 1e-12
#: Output times of the pre-equilibration run (model time units): 0, then 1e-2 ... 1e9.
SS_TIMES = np.concatenate([[0.0], np.logspace(-2, 9, 45)])


class PetabProblem(ProblemScoring):
    """A PEtab v1 parameter-estimation problem (use :func:`bonemet_ode.read_petab`).

    How the tables set the model (parameters, observables, conditions) is read by
    :class:`~bonemet_ode.petab.reading.TableReading`, and the simulations are scored by
    :class:`~bonemet_ode.petab.scoring.ProblemScoring`; this class simulates.

    Attributes
    ----------
    parameter_ids : tuple of str
        Every parameter of the parameter table.
    free : tuple of str
        The estimated ones (``estimate = 1``), the order of every parameter vector ``x``.
    scales : tuple of str
        Parameter scale of each free parameter (``x`` is on these scales).
    lower, upper : numpy.ndarray
        Bounds of the free parameters on their scales.
    x_nominal : numpy.ndarray
        Nominal values of the free parameters on their scales.
    priors : list of Prior or None
        Objective prior of each free parameter.
    gradient_method : str
        ``"forward sensitivities"`` or ``"finite differences"`` (events that assign parameters or have
        priorities, see :func:`~bonemet_ode.compile.events.check_event_sensitivities`; switch times that move
        with an estimated parameter).
    format_version : int
        1, or 2 for a PEtab v2 problem read by :func:`~bonemet_ode.petab.v2.read_petab_v2`.
    """

    format_version: int = 1

    def __init__(self, tables: Any, sbml: SbmlModel, yaml_path: str = "", rtol: float = 1e-8,
                 atol: float = 1e-10, measurement_files: Sequence[str] = ()) -> None:
        self.tables = tables
        self.measurement_files = tuple(str(f) for f in measurement_files)
        self.format_version = int(getattr(tables, "format_version", 1))
        self.sbml = sbml
        self.yaml_path = str(yaml_path)
        self.rtol, self.atol = float(rtol), float(atol)
        self.model = sbml.model
        self._on = self.model.parameter_vector()[len(self.model.parameter_names):]
        self._read_parameters()
        self._read_observables()
        self._read_conditions()
        self._sims: dict = {}
        self._sim_of: dict = {}  # (condition index, sensi) -> simulator of its output times
        self._overrides: dict = {}  # id of a condition's species-override dict -> (dict, states, _Vec, volumes)
        self.gradient_method = "forward sensitivities"
        self._prepare_sensitivities()
        if self.model.events:
            from ..compile.events import check_event_sensitivities
            from ..errors import ModelError

            try:  # the events whose sensitivity jumps the compiled solver applies (compile/events.py)
                check_event_sensitivities(self.model, self._targets)
            except ModelError:
                self.gradient_method = "finite differences"
        self._prepare_switches()
        self._prepare_fast()

    # ------------------------------------------------------------------ sensitivities
    def _prepare_sensitivities(self) -> None:
        """The compiled sensitivity targets: model parameters some estimated parameter sets, and states whose
        initial value an estimated parameter sets (all states when a condition pre-equilibrates)."""
        import sympy as sp

        pm = self.model.parameter_names
        est = {int(k) for k in self._est_rows}
        K: set[int] = set()
        Zov: set[str] = set()
        pre = False
        for c in self.conditions:
            pre |= bool(c.preeq)
            for srcs in (c.p_pre, c.p_sim):
                K |= {k for k, s in enumerate(srcs) if s.reads() & est}
            for xs in (c.x_pre, c.x_sim):
                for st, (s, vol) in xs.items():
                    if s is not None and (s.reads() & est or (vol >= 0 and any(
                            cc.p_sim[vol].reads() & est for cc in self.conditions))):
                        Zov.add(st)
        self._K = sorted(K)
        sn = self.model.state_names
        psyms = list(self.sbml.sym.p)
        self._x0_exprs = [sp.sympify(self.sbml.initial[n]) for n in sn]
        self._x0_f = sp.lambdify([psyms], self._x0_exprs, modules=["numpy"])
        jac = [[sp.diff(e, psyms[k]) for k in range(len(psyms))] for e in self._x0_exprs]
        self._x0_jac_f = sp.lambdify([psyms], jac, modules=["numpy"])
        for i, e in enumerate(self._x0_exprs):  # initial values that read a parameter an estimate sets
            if any(psyms[k] in e.free_symbols for k in self._K):
                Zov.add(sn[i])
        tstate = self.sbml.imp.time_state
        if pre:
            Z = [n for n in sn if n != tstate]
        else:
            Z = sorted(Zov, key=sn.index)
        self._Z = [sn.index(z) for z in Z]
        self._targets = tuple(pm[k] for k in self._K) + tuple(Z)

    def _prepare_switches(self) -> None:
        """Time switches (:mod:`.time_switches`): their flags' positions in the parameter vector and the
        switch times as a function of it."""
        import sympy as sp

        sw = self.sbml.switches
        self._sw_index = np.array([self.model.parameter_index(s.flag) for s in sw], dtype=np.int32)
        self._sw_before = np.array([s.before for s in sw], dtype=float)
        self._sw_after = np.array([s.after for s in sw], dtype=float)
        self._solvers: dict = {}
        if not sw:
            return
        psyms = list(self.sbml.sym.p)
        self._tau_f = sp.lambdify([psyms], [s.tau for s in sw], modules=["numpy"])
        flags = {psyms[int(i)] for i in self._sw_index}
        for o in self.observable_ids:  # observables that read a switched input: the flag's value per output row
            for f in (self.obs_f[o], self.noise_f[o]):
                f.rowwise = bool(flags & f.expr.free_symbols)
        moved = {psyms[k] for k in self._K}
        if any(moved & sp.sympify(s.tau).free_symbols for s in sw):
            # the sensitivities jump at a switch whose time moves with an estimated parameter; the compiled
            # forward sensitivities do not add that jump
            self.gradient_method = "finite differences"

    def _switched(self, p: np.ndarray, t_end: float, preeq: bool) -> tuple[np.ndarray, tuple | None]:
        """``p`` with each time-switch flag at its value at time 0, and the timed events that change the flags
        (None when the model has none).  Pre-equilibration holds the flags at their time-0 values (time does
        not advance in a steady state)."""
        if not len(self._sw_index):
            return p, None
        tau = np.atleast_1d(np.asarray(self._tau_f(list(p)), dtype=float))
        if not np.all(np.isfinite(tau)):
            bad = [self.sbml.switches[k].text for k in np.flatnonzero(~np.isfinite(tau))]
            raise PetabError(f"switch time of {', '.join(bad)} is not finite")
        p = p.copy()
        late = tau > 0.0
        p[self._sw_index] = np.where(late, self._sw_before, self._sw_after)
        if preeq:
            return p, None
        due = np.flatnonzero(late & (tau <= t_end))
        order = due[np.argsort(tau[due], kind="stable")]
        from ..simulate.dosing import EV_SETPAR

        ev = (np.ascontiguousarray(tau[order]), np.full(len(order), EV_SETPAR, dtype=np.int32),
              np.ascontiguousarray(self._sw_index[order]), np.ascontiguousarray(self._sw_after[order]))
        return p, ev

    def _single(self, sim: Any, ev: tuple | None):
        """A one-member solver of the simulator's times and options, with its events or (``ev``) the time
        switches' events; without the compiled model's observables (the states are all this class reads)."""
        key = (id(sim), None, None) if ev is None else (id(sim), ev[0].tobytes(), ev[2].tobytes())
        hit = self._solvers.get(key)
        if hit is None or hit[0] is not sim:
            hit = self._solvers[key] = (sim, sim.compiled.single_solver(sim.times, sim.events if ev is None else ev,
                                                                        sim.opts, sim.atol, observables=False))
        return hit[1]

    def _prepare_fast(self) -> None:
        """Everything :meth:`evaluate` needs that does not depend on the parameter values, built once: per
        condition its sources as :class:`_Vec`, per observable its rows over all conditions
        (:class:`_ObsRows`), and per row the transformation and noise model as index arrays."""
        nf = len(self.free)
        for c in self.conditions:
            c.fast = (_Vec(c.p_sim, self._col, nf, len(self._on), self._on),
                      _Vec(c.p_pre, self._col, nf, len(self._on), self._on) if c.preeq else None,
                      _Vec(c.extras, self._col, nf))
        off = np.cumsum([0] + [len(c.times) for c in self.conditions])
        self._obs_rows: list[_ObsRows] = []
        for o in self.observable_ids:
            rows, ci, gi = [], [], []
            for k, c in enumerate(self.conditions):
                sel = c.rows[self._obs_of_row[c.rows] == o]
                rows.append(sel)
                ci.append(np.full(len(sel), k, dtype=int))
                gi.append(off[k] + c.tindex[np.searchsorted(c.rows, sel)])
            sel = np.concatenate(rows).astype(int)
            if not len(sel):
                continue
            ci_, gi_ = np.concatenate(ci), np.concatenate(gi)
            t = np.concatenate([c.times for c in self.conditions])[gi_]
            nq = len(self._ph[o])
            qconst = np.zeros((len(sel), nq))
            qidx = np.full((len(sel), nq), -1, dtype=int)
            qexpr: list = []
            qr, qa, qj = [], [], []
            for r, row in enumerate(sel):
                for a_, src in enumerate(self._row_q[int(row)]):
                    if src.expr is not None:
                        qexpr.append((r, a_, src))
                    elif src.index >= 0:
                        qidx[r, a_] = src.index
                        if src.index in self._col:
                            qr.append(r)
                            qa.append(a_)
                            qj.append(self._col[src.index])
                    else:
                        qconst[r, a_] = src.value
            self._obs_rows.append(_ObsRows(o, sel, ci_, gi_, t, qconst, qidx, qidx >= 0, qexpr,
                                           np.array(qr, dtype=int), np.array(qa, dtype=int), np.array(qj, dtype=int)))
        tr = np.array([self.transform[o] for o in self._obs_of_row], dtype=object)
        self._rows_log = np.flatnonzero(tr == LOG)
        self._rows_log10 = np.flatnonzero(tr == LOG10)
        self._rows_of_obs = [r for r in (np.flatnonzero(self._obs_of_row == o) for o in self.observable_ids) if len(r)]
        self._laplace = np.array([self.distribution[o] != "normal" for o in self._obs_of_row], dtype=bool)
        self._slog = np.array([s_ == LOG for s_ in self.scales], dtype=bool)
        self._slog10 = np.array([s_ == LOG10 for s_ in self.scales], dtype=bool)
        psyms = list(self.sbml.sym.p)
        reads = set().union(*(e.free_symbols for e in self._x0_exprs)) if self._x0_exprs else set()
        self._x0_reads = np.array([k for k, s_ in enumerate(psyms) if s_ in reads], dtype=int)
        self._x0_cache: dict = {}
        self._K_idx, self._Z_idx = np.array(self._K, dtype=int), np.array(self._Z, dtype=int)
        n = len(self.model.state_names)  # d x_z(0) / d x_z(0) = 1 in the sensitivity block of each state target z
        self._y0_ones = n * (1 + len(self._K) + np.arange(len(self._Z))) + self._Z_idx
        # d (parameters, extras) / d free of every condition, when no (v2) expression makes them vary
        self._Dp_const = (np.stack([c.fast[0].D0 for c in self.conditions])
                          if not any(c.fast[0].exprs for c in self.conditions) else None)
        self._DE_const = (np.stack([c.fast[2].D0 for c in self.conditions])
                          if not any(c.fast[2].exprs for c in self.conditions) else None)
        self._state_names = list(self.model.state_names)

    # ------------------------------------------------------------------ simulation
    def _simulator(self, times: np.ndarray, sensi: bool):
        from ..simulate import Simulator, SolverOptions

        key = (tuple(times), sensi)
        if key not in self._sims:
            t = np.asarray(times, dtype=float)
            if t[-1] <= 0:  # measurements at time 0 only
                t = np.append(t, 1e-9) if len(t) else np.array([0.0, 1e-9])
            self._sims[key] = Simulator(self.model, times=t, options=SolverOptions(rtol=self.rtol, atol=self.atol),
                                        sensitivities=self._targets if (sensi and self._targets) else None)
        return self._sims[key]

    def _initial(self, p: np.ndarray, Dp: np.ndarray, xs: Mapping, plin: np.ndarray, base: tuple | None):
        """Initial state and its derivative (states x free): the model's initial values at ``p`` (or ``base``,
        the pre-equilibrated state), with the condition's species overrides."""
        sn = self._state_names
        if base is None:
            key = p[self._x0_reads].tobytes()  # the initial values and their Jacobian read only these entries
            hit = self._x0_cache.get(key)
            if hit is None:
                if len(self._x0_cache) > 64:
                    self._x0_cache.clear()
                hit = self._x0_cache[key] = (
                    np.asarray(self._x0_f(list(p)), dtype=float).reshape(-1),
                    np.asarray(self._x0_jac_f(list(p)), dtype=float).reshape(len(sn), len(p)))
            x0, J0 = hit[0].copy(), hit[1]
            V = J0 @ Dp
        else:
            x0, V = base[0].copy(), base[1].copy()
        ov = self._overrides.get(id(xs))
        if ov is None or ov[0] is not xs:  # the condition's species overrides as index arrays, built once
            set_ = [(sn.index(st), s_, vol) for st, (s_, vol) in xs.items() if s_ is not None]
            ov = self._overrides[id(xs)] = (xs, np.array([i for i, _, _ in set_], dtype=int),
                                            _Vec([s_ for _, s_, _ in set_], self._col, len(self.free)),
                                            np.array([vol for _, _, vol in set_], dtype=int))
        _xs, idx, vec, vol = ov
        if len(idx):
            v = vec.get(plin)
            has_vol = vol >= 0
            size = np.where(has_vol, p[np.maximum(vol, 0)], 1.0)
            x0[idx] = v * size
            V[idx] = size[:, None] * vec.d(plin)
            if has_vol.any():
                V[idx[has_vol]] += v[has_vol, None] * Dp[vol[has_vol]]
        if base is not None and self.sbml.imp.time_state is not None:
            i = sn.index(self.sbml.imp.time_state)
            x0[i], V[i] = 0.0, 0.0
        return x0, V

    def _solve(self, times: np.ndarray, p: np.ndarray, Dp: np.ndarray, x0: np.ndarray, V: np.ndarray, sensi: bool,
               preeq: bool = False, sim: Any = None):
        """States (times x n) and, with ``sensi``, their derivatives (times x n x free), or a failure message
        (``sim``: the simulator of ``times``, when the caller holds it)."""
        if sim is None:
            sim = self._simulator(times, sensi)
        p, ev = self._switched(p, float(sim.times[-1]), preeq)
        n = len(x0)
        use = sensi and bool(self._targets)
        if use:
            m = len(self._targets)
            y0 = np.zeros(n * (1 + m))
            y0[:n] = x0
            y0[self._y0_ones] = 1.0
        else:
            y0 = x0
        Y, _O, _stats, status, fail_t, fail_state = self._single(sim, ev).solve(np.ascontiguousarray(y0),
                                                                                np.ascontiguousarray(p))
        if status != 0:
            from ..simulate.simulator import failure_message

            return None, None, failure_message(self.model, status, fail_t, fail_state, "petab condition")
        nt = len(sim.times)
        X = Y[:, :n]
        if not sensi:
            return X[:len(times)], None, ""
        if not use:
            return X[:len(times)], np.zeros((len(times), n, len(self.free))), ""
        # d x / d free = sum over targets of d x / d target * d target / d free (model parameters K: Dp; initial
        # values Z: V), one matrix product over all output times
        nt = len(times)
        S = Y[:nt, n:].reshape(nt, m, n).transpose(0, 2, 1).reshape(nt * n, m)
        W = np.concatenate([Dp[self._K_idx], V[self._Z_idx]])
        return X[:nt], (S @ W).reshape(nt, n, len(self.free)), ""

    def steady_state(self, c: _Condition, plin: np.ndarray, sensi: bool):
        """Pre-equilibrate condition ``c``: integrate to the first output time at which the steady-state
        criterion holds (:data:`SS_RTOL`, :data:`SS_ATOL`); ``(x, dx/dfree, failure)``."""
        pre = c.fast[1]
        p, Dp = pre.get(plin), pre.d(plin)
        x0, V = self._initial(p, Dp, c.x_pre, plin, None)
        sim = self._simulator(SS_TIMES, False)
        p, _ev = self._switched(p, float(SS_TIMES[-1]), True)
        Y, _O, _stats, status, fail_t, _fail = self._single(sim, None).solve(np.ascontiguousarray(x0),
                                                                             np.ascontiguousarray(p))
        cm = sim.compiled
        reached = -1
        for k in range(1, len(SS_TIMES)):
            y = Y[k]
            if not np.all(np.isfinite(y)):
                break
            f = cm.rhs(y, p)
            if np.all(np.abs(f) <= SS_RTOL * np.abs(y) + SS_ATOL):
                reached = k
                break
        if reached < 0:
            why = f"the solver stopped at t = {fail_t:.3g}" if status != 0 else f"by t = {SS_TIMES[-1]:.0e}"
            return None, None, (f"pre-equilibration condition {c.preeq!r} did not reach a steady state ({why}; "
                                f"criterion |dx/dt| <= {SS_RTOL:g}*|x| + {SS_ATOL:g})")
        T = SS_TIMES[: reached + 1]
        X, G, fail = self._solve(T, p, Dp, x0, V, sensi, preeq=True)
        if fail:
            return None, None, f"pre-equilibration condition {c.preeq!r}: {fail}"
        return X[-1], (G[-1] if G is not None else None), ""

    def _plin(self, xs: np.ndarray) -> np.ndarray:
        """Linear values of every parameter-table entry, the free ones at ``xs`` (parameter scale)."""
        plin = self._nominal_all.astype(float).copy()
        xl = xs.copy()
        xl[self._slog] = np.exp(xs[self._slog])
        xl[self._slog10] = np.power(10.0, xs[self._slog10])
        plin[self._est_rows] = xl
        return plin

    def _simulate(self, xs: np.ndarray, sensi: bool):
        """Simulations and noise parameters per measurement row and (``sensi``) their derivatives w.r.t. the
        free parameters on linear scale (rows x free): ``(y, sigma, dy, dsigma, failure)``."""
        plin = self._plin(xs)
        nrow = len(self._meas)
        Xs, Gs, Ps, Dps, Es, DEs = [], [], [], [], [], []
        for k, c in enumerate(self.conditions):
            vp, _vpre, ve = c.fast
            p, Dp = vp.get(plin), vp.d(plin)
            base = None
            if c.preeq:
                xss, gss, fail = self.steady_state(c, plin, sensi)
                if fail:
                    return None, None, None, None, fail
                base = (xss, gss if gss is not None else np.zeros((len(xss), len(self.free))))
            x0, V = self._initial(p, Dp, c.x_sim, plin, base)
            sim = self._sim_of.get((k, sensi))
            if sim is None:
                sim = self._sim_of[(k, sensi)] = self._simulator(c.times, sensi)
            X, G, fail = self._solve(c.times, p, Dp, x0, V, sensi, sim=sim)
            if fail:
                return None, None, None, None, f"condition {c.sim!r}: {fail}"
            Xs.append(X)
            Gs.append(G)
            Ps.append(p)
            Dps.append(Dp)
            Es.append(ve.get(plin))
            DEs.append(ve.d(plin))
        Xall = np.concatenate(Xs)
        Pall, Eall = np.stack(Ps), np.stack(Es)
        ysim = np.full(nrow, np.nan)
        sigma = np.full(nrow, np.nan)
        dy = np.zeros((nrow, len(self.free))) if sensi else None
        ds = np.zeros((nrow, len(self.free))) if sensi else None
        if sensi:
            Gall = np.concatenate(Gs)
            Dpall = self._Dp_const if self._Dp_const is not None else np.stack(Dps)
            DEall = self._DE_const if self._DE_const is not None else np.stack(DEs)
        tau = (np.stack([np.atleast_1d(np.asarray(self._tau_f(list(p)), dtype=float)) for p in Ps])
               if len(self._sw_index) else None)
        for ob in self._obs_rows:
            P = Pall[ob.ci]
            if tau is not None:  # each time-switch flag at its value at the row's output time
                tr = tau[ob.ci]
                after = (tr <= 0.0) | (ob.t[:, None] >= tr)
                P[:, self._sw_index] = np.where(after, self._sw_after, self._sw_before)
            X, E, Q = Xall[ob.gi], Eall[ob.ci], ob.q(plin)
            for f, out, dout in ((self.obs_f[ob.o], ysim, dy), (self.noise_f[ob.o], sigma, ds)):
                if f.just_placeholder is not None:  # the formula is one placeholder: its values, d/dq = 1
                    out[ob.rows] = Q[:, f.just_placeholder]
                    if dout is None:
                        continue
                    d = np.zeros((len(ob.rows), len(self.free)))
                    fq = np.zeros(Q.shape)
                    fq[:, f.just_placeholder] = 1.0
                elif dout is None:
                    out[ob.rows] = f.value(ob.t, X, P, E, Q)
                    continue
                else:
                    out[ob.rows], fx, fp, fe, fq_used = f.value_and_derivatives(ob.t, X, P, E, Q)
                    d = np.zeros((len(ob.rows), len(self.free)))
                    xu, pu, eu = f.x_used, f.p_used, f.e_used
                    if len(xu):
                        d += np.einsum("rn,rnj->rj", fx, Gall[ob.gi[:, None], xu[None, :]])
                    if len(pu):
                        d += np.einsum("rp,rpj->rj", fp, Dpall[ob.ci[:, None], pu[None, :]])
                    if len(eu):
                        d += np.einsum("re,rej->rj", fe, DEall[ob.ci[:, None], eu[None, :]])
                    fq = np.zeros(Q.shape)
                    fq[:, f.q_used] = fq_used
                if len(ob.qr):
                    np.add.at(d, (ob.qr, ob.qj), fq[ob.qr, ob.qa])
                for r, a, src in ob.qexpr:
                    for prow, dq in src.partials(plin):
                        j = self._col.get(prow)
                        if j is not None:
                            d[r, j] += fq[r, a] * dq
                dout[ob.rows] = d
        return ysim, sigma, dy, ds, ""

    def __repr__(self) -> str:
        return (f"PetabProblem({self.yaml_path or 'tables'}: {len(self.free)} free parameters, "
                f"{len(self.conditions)} simulation conditions, {len(self._meas)} measurements)")

"""A plain reference for :meth:`bonemet_ode.petab.problem.PetabProblem.evaluate`: loops over conditions,
observables, rows and placeholders, every value read from the problem's per-row sources at each call, the
likelihood per observable with its transformation and noise model written out.  Only the compiled solves
(``_solve``, ``steady_state``) and the formulas are shared with the library; the tests hold the vectorised
evaluation against this one (tests/petab/test_petab_fast_eval.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bonemet_ode.petab.problem import Evaluation
from bonemet_ode.petab.reading import LIN, LOG, unscale


def _values(pp: Any, srcs, plin, flags=False):
    v = np.array([s.get(plin) for s in srcs], dtype=float)
    return np.concatenate([v, pp._on]) if flags else v


def _dvalues(pp: Any, srcs, plin, flags=False):
    D = np.zeros((len(srcs) + (len(pp._on) if flags else 0), len(pp.free)))
    for k, s in enumerate(srcs):
        for row, d in s.partials(plin):
            j = pp._col.get(row)
            if j is not None:
                D[k, j] += d
    return D


def _initial(pp: Any, p, Dp, xs, plin, base):
    sn = pp.model.state_names
    if base is None:
        x0 = np.asarray(pp._x0_f(list(p)), dtype=float).reshape(-1)
        V = np.asarray(pp._x0_jac_f(list(p)), dtype=float).reshape(len(sn), len(p)) @ Dp
    else:
        x0, V = base[0].copy(), base[1].copy()
    for st, (s, vol) in xs.items():
        if s is None:
            continue
        i = sn.index(st)
        v = s.get(plin)
        size = p[vol] if vol >= 0 else 1.0
        x0[i] = v * size
        V[i] = 0.0
        for row, d in s.partials(plin):
            j = pp._col.get(row)
            if j is not None:
                V[i, j] += size * d
        if vol >= 0:
            V[i] += v * Dp[vol]
    if base is not None and pp.sbml.imp.time_state is not None:
        i = sn.index(pp.sbml.imp.time_state)
        x0[i], V[i] = 0.0, 0.0
    return x0, V


def _flag_groups(pp: Any, p, t):
    if not len(pp._sw_index):
        return [(np.arange(len(t)), p)]
    tau = np.atleast_1d(np.asarray(pp._tau_f(list(p)), dtype=float))
    after = (tau[None, :] <= 0.0) | (t[:, None] >= tau[None, :])
    out = []
    for pattern in np.unique(after, axis=0):
        rows = np.flatnonzero((after == pattern).all(axis=1))
        pr = p.copy()
        pr[pp._sw_index] = np.where(pattern, pp._sw_after, pp._sw_before)
        out.append((rows, pr))
    return out


def _likelihood(pp: Any, y, sigma, dy, ds):
    m = pp._meas
    llh = np.zeros(len(m))
    res = np.zeros(len(m))
    g = np.zeros(len(pp.free)) if dy is not None else None
    gabs = np.zeros(len(pp.free))
    with np.errstate(all="ignore"):
        for o in pp.observable_ids:
            sel = pp._obs_of_row == o
            if not sel.any():
                continue
            tr, dist = pp.transform[o], pp.distribution[o]
            mo, yo, so = m[sel], y[sel], sigma[sel]
            if tr == LIN:
                mt, yt, dyt, const = mo, yo, np.ones_like(yo), 0.0
            elif tr == LOG:
                mt, yt, dyt, const = np.log(mo), np.log(yo), 1.0 / yo, np.log(mo)
            else:
                mt, yt, dyt, const = np.log10(mo), np.log10(yo), 1.0 / (yo * math.log(10)), \
                    np.log(mo * math.log(10))
            r = (mt - yt) / so
            res[sel] = r
            w = r if dist == "normal" else np.sign(r)
            if dist == "normal":
                llh[sel] = -0.5 * np.log(2 * np.pi * so ** 2) - const - 0.5 * r ** 2
            else:
                llh[sel] = -np.log(2 * so) - const - np.abs(r)
            if g is not None:
                dr = -(dyt / so)[:, None] * dy[sel] - (r / so)[:, None] * ds[sel]
                terms = -(1.0 / so)[:, None] * ds[sel] - w[:, None] * dr
                g += terms.sum(axis=0)
                gabs += np.abs(terms).sum(axis=0)
    total = float(llh.sum())
    return (total if np.isfinite(total) else math.nan), float((res ** 2).sum()), g, gabs


def evaluate_reference(pp: Any, x: Any = None, gradient: bool = False) -> Evaluation:
    """``pp.evaluate(x, gradient)`` computed row by row (the gradient: forward-sensitivity problems only); with
    ``gradient``, ``grad_scale`` holds per parameter the sum over rows of the absolute gradient terms (the size
    that rounding in a different summation order is relative to)."""
    xs = pp.x_nominal if x is None else np.asarray(x, dtype=float)
    sensi = gradient
    plin = pp._nominal_all.astype(float).copy()
    plin[pp._est_rows] = np.array([unscale(v, s) for v, s in zip(xs, pp.scales)], dtype=float)
    nrow = len(pp._meas)
    ysim, sigma = np.full(nrow, np.nan), np.full(nrow, np.nan)
    dy, ds = np.zeros((nrow, len(pp.free))), np.zeros((nrow, len(pp.free)))
    for c in pp.conditions:
        p = _values(pp, c.p_sim, plin, True)
        Dp = _dvalues(pp, c.p_sim, plin, True)
        base = None
        if c.preeq:
            pre, Dpre = _values(pp, c.p_pre, plin, True), _dvalues(pp, c.p_pre, plin, True)
            assert np.array_equal(pre, c.fast[1].get(plin)) and np.array_equal(Dpre, c.fast[1].d(plin))
            xss, gss, fail = pp.steady_state(c, plin, sensi)
            assert not fail, fail
            base = (xss, gss if gss is not None else np.zeros((len(xss), len(pp.free))))
        x0, V = _initial(pp, p, Dp, c.x_sim, plin, base)
        X, G, fail = pp._solve(c.times, p, Dp, x0, V, sensi)
        assert not fail, fail
        E, DE = _values(pp, c.extras, plin), _dvalues(pp, c.extras, plin)
        for o in pp.observable_ids:
            sel = c.rows[pp._obs_of_row[c.rows] == o]
            if not len(sel):
                continue
            ti = c.tindex[np.searchsorted(c.rows, sel)]
            t, Xr = c.times[ti], X[ti]
            qsrc = [pp._row_q[int(r)] for r in sel]
            Q = np.array([[s.get(plin) for s in q] for q in qsrc], dtype=float).reshape(len(sel), len(pp._ph[o]))
            for rows, pr in _flag_groups(pp, p, t):
                for f, out, dout in ((pp.obs_f[o], ysim, dy), (pp.noise_f[o], sigma, ds)):
                    out[sel[rows]] = f.value(t[rows], Xr[rows], pr, E, Q[rows])
                    if sensi:
                        fx, fp, fe, fq = f.derivatives(t[rows], Xr[rows], pr, E, Q[rows])
                        d = np.einsum("rn,rnj->rj", fx, G[ti[rows]]) + fp @ Dp + fe @ DE
                        for r_, row in enumerate(rows):
                            for a in range(Q.shape[1]):
                                for prow, dq in qsrc[row][a].partials(plin):
                                    j = pp._col.get(prow)
                                    if j is not None:
                                        d[r_, j] += fq[r_, a] * dq
                        dout[sel[rows]] = d
    llh, chi2, g, gabs = _likelihood(pp, ysim, sigma, dy if sensi else None, ds if sensi else None)
    if g is None:
        return Evaluation(llh, chi2, ysim, sigma)
    sc = np.array([1.0 if s == LIN else (math.exp(v) if s == LOG else 10.0 ** v * math.log(10.0))
                   for v, s in zip(xs, pp.scales)])
    ev = Evaluation(llh, chi2, ysim, sigma, g * sc, dsim=dy * sc, dsigma=ds * sc)
    ev.grad_scale = gabs * sc  # type: ignore[attr-defined]  # sum over rows of |each row's gradient term|
    return ev


def residuals_reference(pp: Any, x: Any) -> tuple[np.ndarray, np.ndarray]:
    """``pp.residuals(x)`` from :func:`evaluate_reference`, per observable."""
    xs = np.asarray(x, dtype=float)
    ev = evaluate_reference(pp, xs, gradient=True)
    m, y, s = pp._meas, ev.simulation, ev.sigma
    mt, yt, dyt = m.copy(), y.copy(), np.ones(len(m))
    for o in pp.observable_ids:
        sel = pp._obs_of_row == o
        if pp.transform[o] == LOG:
            mt[sel], yt[sel], dyt[sel] = np.log(m[sel]), np.log(y[sel]), 1.0 / y[sel]
        elif pp.transform[o] != LIN:
            mt[sel], yt[sel], dyt[sel] = np.log10(m[sel]), np.log10(y[sel]), 1.0 / (y[sel] * math.log(10))
    # the stacking of residual terms is shared (it did not change); what is compared is everything before it
    return pp.stack_residuals(xs, mt, yt, dyt, s, ev.dsim, ev.dsigma)

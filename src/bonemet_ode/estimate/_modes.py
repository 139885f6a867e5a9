"""Conditional modes of the random effects (the E-step of the population fit) and small numeric helpers.

For every subject ``i`` the mode of
``g_i(phi) = NLL_i(exp(phi)) + (phi - mu)' Omega^-1 (phi - mu)/2`` is found by
damped Fisher scoring (Levenberg-Marquardt), all subjects at once: each
iteration solves every subject's centre and ``+-h`` points in one batched
compiled call per arm - or, when the problem uses forward sensitivities,
each subject once with the sensitivities of its random-effect parameters
(exact derivatives; trial points come with their derivatives, so an
accepted step needs no further solve).  :meth:`ConditionalModes.laplace` gives the Laplace
approximation of ``-2 log L`` at the modes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ._batch import SubjectBatch
from .noise import nll_derivatives, point_nll

__all__ = ["ConditionalModes", "numeric_derivatives", "newton_step"]

_H = 1e-4  # central-difference step in log-parameter units


class ConditionalModes:
    """Batched per-subject likelihood terms and conditional modes.

    Parameters
    ----------
    batch : SubjectBatch
        Batched predictions of the subjects; ``batch.random`` are the columns of ``phi``.
    """

    def __init__(self, batch: SubjectBatch) -> None:
        self.batch = batch
        self.pb = batch.pb
        self.random = batch.random
        self.exact = batch.exact

    def subject_terms(self, i: int, F: np.ndarray, values: Mapping[str, float]
                      ) -> tuple[float, np.ndarray, np.ndarray]:
        """NLL, gradient and information of subject ``i``.

        ``F`` holds the predictions at ``phi`` and at ``phi +- h e_k``
        (finite differences), or - with sensitivities (:attr:`exact`) - the
        predictions and their derivatives ``df/dphi_k``.
        """
        pb, rows = self.pb, self.batch.rows[i]
        d = len(self.random)
        if not np.all(np.isfinite(F[0])):
            return math.inf, np.zeros(d), np.zeros((d, d))
        mu, s = self.batch.moments(i, F[0], values)
        if self.exact:
            dmu, dls = pb.slope_moments(F[0], values, lambda x: self.batch.moments(i, x, values), pb.row_obs[rows])
            jm = dmu[:, None] * F[1:].T
            jl = dls[:, None] * F[1:].T
        else:
            jm, jl = np.zeros((len(rows), d)), np.zeros((len(rows), d))
            for k in range(d):
                mp, sp = self.batch.moments(i, F[1 + 2 * k], values)
                mm, sm = self.batch.moments(i, F[2 + 2 * k], values)
                jm[:, k] = (mp - mm) / (2 * _H)
                jl[:, k] = (np.log(sp) - np.log(sm)) / (2 * _H)
        jm, jl = np.nan_to_num(jm), np.nan_to_num(jl)
        nll, grad, info = nll_derivatives(pb.ty[rows], mu, s, pb.censored[rows], jm, jl)
        return nll - float(pb.log_jac[rows].sum()), grad, info

    def nll_only(self, i: int, f: np.ndarray, values: Mapping[str, float]) -> float:
        """NLL of subject ``i`` at predictions ``f`` (inf when they are not finite)."""
        if not np.all(np.isfinite(f)):
            return math.inf
        pb, rows = self.pb, self.batch.rows[i]
        mu, s = self.batch.moments(i, f, values)
        if not np.all(s > 0):
            return math.inf
        return float(np.sum(point_nll(pb.ty[rows], mu, s, pb.censored[rows]) - pb.log_jac[rows]))

    def predictions(self, idx: np.ndarray, phi: np.ndarray, values: Mapping[str, float]) -> list[np.ndarray]:
        """Predictions at ``phi[i]`` and ``phi[i] +- h e_k`` for subjects ``idx``: one (2d+1, n_i) array each.

        With sensitivities (:attr:`exact`): the predictions at ``phi[i]`` and
        their derivatives, one (1+d, n_i) array each.
        """
        if self.exact:
            return self.batch.predict_with_derivatives(idx, phi[idx], values)
        d = len(self.random)
        offsets = np.zeros((2 * d + 1, d))
        for k in range(d):
            offsets[1 + 2 * k, k], offsets[2 + 2 * k, k] = _H, -_H
        subj = np.repeat(idx, 2 * d + 1)
        ph = (phi[idx][:, None, :] + offsets[None, :, :]).reshape(-1, d)
        preds = self.batch.predict(subj, ph, values)
        m = 2 * d + 1
        return [np.array(preds[j * m:(j + 1) * m]) for j in range(len(idx))]

    def e_step(self, phi: np.ndarray, mu: np.ndarray, omega_inv: np.ndarray, values: Mapping[str, float],
               max_iter: int = 60) -> dict:
        """Conditional modes by batched Levenberg-Marquardt Fisher scoring.

        Parameters
        ----------
        phi : ndarray (n, d)
            Starting log-parameters of every subject (warm start).
        mu, omega_inv : ndarray
            Population mean and inverse covariance of ``phi``.
        values : mapping
            Values of every fit parameter (shared ones used as they are).
        max_iter : int
            Maximum scoring iterations.

        Returns
        -------
        dict
            ``phi`` (modes), ``nll`` (per subject), ``info`` (Gauss-Newton
            information at the modes) and ``F`` (predictions at the modes and
            their ``+-h`` neighbours, or their derivatives with sensitivities;
            reused by the noise M-step).
        """
        n, d = phi.shape
        phi = phi.copy()
        lam = np.full(n, 1e-3)
        done = np.zeros(n, dtype=bool)
        nll, grad = np.zeros(n), np.zeros((n, d))
        info, F = np.zeros((n, d, d)), [None] * n
        stale = np.ones(n, dtype=bool)
        for _ in range(max_iter):
            idx = np.flatnonzero(stale)
            if idx.size:
                for i, Fi in zip(idx.tolist(), self.predictions(idx, phi, values)):
                    F[i] = Fi
                    nll[i], grad[i], info[i] = self.subject_terms(i, Fi, values)
                stale[:] = False
            act = np.flatnonzero(~done)
            if act.size == 0:
                break
            eta = phi[act] - mu
            g = nll[act] + 0.5 * np.einsum("ij,jk,ik->i", eta, omega_inv, eta)
            G = grad[act] + eta @ omega_inv
            H = info[act] + omega_inv
            steps = np.empty((act.size, d))
            for r in range(act.size):
                A = H[r] + lam[act[r]] * np.diag(np.diag(H[r]))
                steps[r] = -np.linalg.solve(A, G[r])
            big = np.max(np.abs(steps), axis=1)
            steps *= np.minimum(1.0, 1.0 / np.maximum(big, 1e-300))[:, None]
            predicted = -np.einsum("ij,ij->i", G, steps)  # first-order decrease of g along the step
            at_mode = (predicted < 1e-10) | (np.max(np.abs(steps), axis=1) < 1e-8)
            done[act[at_mode]] = True
            act, steps, g = act[~at_mode], steps[~at_mode], g[~at_mode]
            if act.size == 0:
                break
            trial = phi[act] + steps
            if self.exact:  # the same discretisation as the accepted points, derivatives included
                F_trial = self.batch.predict_with_derivatives(act, trial, values)
                f_trial = [Ft[0] for Ft in F_trial]
            else:
                f_trial = self.batch.predict(act, trial, values)
            for r, i in enumerate(act):
                et = trial[r] - mu
                g_new = self.nll_only(i, f_trial[r], values) + 0.5 * et @ omega_inv @ et
                if g_new <= g[r]:
                    phi[i] = trial[r]
                    lam[i] = max(lam[i] / 3.0, 1e-7)
                    if self.exact:
                        F[i] = F_trial[r]
                        nll[i], grad[i], info[i] = self.subject_terms(i, F[i], values)
                    else:
                        stale[i] = True
                    if np.max(np.abs(steps[r])) < 1e-6 or g[r] - g_new < 1e-10:
                        done[i] = True
                else:
                    lam[i] *= 4.0
                    if lam[i] > 1e8:
                        done[i] = True
        idx = np.flatnonzero(stale)
        if idx.size:
            for i, Fi in zip(idx.tolist(), self.predictions(idx, phi, values)):
                F[i] = Fi
                nll[i], grad[i], info[i] = self.subject_terms(i, Fi, values)
        return {"phi": phi, "nll": nll, "info": info, "F": F}

    @staticmethod
    def laplace(est: dict, mu: np.ndarray, omega: np.ndarray) -> float:
        """``-2 log L`` (Laplace) at the conditional modes."""
        oi = np.linalg.inv(omega)
        eta = est["phi"] - mu
        _, logdet_o = np.linalg.slogdet(omega)
        total = 0.0
        for i in range(len(eta)):
            _, logdet_h = np.linalg.slogdet(est["info"][i] + oi)
            total += 2 * est["nll"][i] + eta[i] @ oi @ eta[i] + logdet_o + logdet_h
        return float(total)


def numeric_derivatives(fun, x: np.ndarray, rel: float = 1e-3) -> tuple[float, np.ndarray, np.ndarray]:
    """Value, central-difference gradient and Hessian of a scalar function."""
    k = len(x)
    h = rel * np.maximum(np.abs(x), 1.0)
    H = np.zeros((k, k))
    g = np.zeros(k)
    f0 = fun(x)
    for a in range(k):
        e = np.zeros(k)
        e[a] = h[a]
        fp, fm = fun(x + e), fun(x - e)
        g[a] = (fp - fm) / (2 * h[a])
        H[a, a] = (fp - 2 * f0 + fm) / h[a] ** 2
        for b in range(a):
            eb = np.zeros(k)
            eb[b] = h[b]
            H[a, b] = H[b, a] = (fun(x + e + eb) - fun(x + e - eb) - fun(x - e + eb) + fun(x - e - eb)) / (
                4 * h[a] * h[b])
    return f0, g, H


def newton_step(fun, x: np.ndarray, bounds: Sequence[tuple[float, float]]) -> np.ndarray:
    """One Newton step on ``fun`` from ``x`` (finite-difference derivatives), halved until ``fun`` decreases."""
    f0, g, H = numeric_derivatives(fun, x)
    w = np.linalg.eigvalsh(H) if np.all(np.isfinite(H)) else np.array([-1.0])
    if np.all(w > 0):
        step = -np.linalg.solve(H, g)
    else:  # not convex here: a gradient step scaled by the curvature's magnitude
        step = -g / max(float(np.max(np.abs(w))), 1.0)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    for _ in range(8):
        trial = np.clip(x + step, lo, hi)
        if fun(trial) < f0:
            return trial
        step = step / 2.0
    return x

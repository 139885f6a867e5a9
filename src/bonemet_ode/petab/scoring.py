"""Scoring a PEtab problem's simulations: log-likelihood, chi-square, residuals, priors and the objective.

:class:`ProblemScoring` is the half of :class:`~bonemet_ode.petab.problem.PetabProblem` that turns the
simulated observables and noise parameters per measurement row (``_simulate``, the simulating half)
into what an optimiser or sampler reads; the tables are read by
:class:`~bonemet_ode.petab.reading.TableReading`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PetabError, SolverError
from .reading import TableReading

__all__ = ["Evaluation", "ProblemScoring"]


@dataclass
class Evaluation:
    """The objective's parts at one parameter vector.

    Attributes
    ----------
    llh, chi2 : float
        Log-likelihood and chi-square over all measurements (NaN when a simulation failed).
    simulation : numpy.ndarray
        Simulated observable per measurement row (linear, untransformed).
    sigma : numpy.ndarray
        Noise parameter per measurement row.
    grad_llh : numpy.ndarray or None
        Gradient of ``llh`` w.r.t. the estimated parameters on their parameter scale.
    failure : str
        Empty, or why a simulation failed, or (``invalid``) why the likelihood is undefined.
    invalid : bool
        The failure is a value the problem does not allow at a data point (a noise parameter that is not
        positive and finite, a simulated value that is not finite or is <= 0 under a log transformation);
        ``llh()``, ``chi2()`` and ``simulations()`` raise it as :class:`~bonemet_ode.errors.PetabError`.
    """

    llh: float
    chi2: float
    simulation: np.ndarray
    sigma: np.ndarray
    grad_llh: np.ndarray | None = None
    failure: str = ""
    dsim: np.ndarray | None = None  # d simulation / d x (rows x free, parameter scale)
    dsigma: np.ndarray | None = None
    invalid: bool = False  # the failure is a value the problem does not allow (a noise parameter <= 0, ...)


class ProblemScoring(TableReading, ABC):
    """llh, chi2, residuals, priors and the objective from the simulations of ``_simulate`` (mixed into
    :class:`~bonemet_ode.petab.problem.PetabProblem`, which simulates and sets the row tables below)."""

    gradient_method: str
    _laplace: np.ndarray  # per measurement row: Laplace (else normal) noise
    _rows_of_obs: list  # measurement rows of each observable, in the observable table's order
    _rows_log: np.ndarray  # rows on log / log10 transformation
    _rows_log10: np.ndarray
    _slog: np.ndarray  # free parameters on log / log10 scale
    _slog10: np.ndarray

    @abstractmethod
    def _simulate(self, xs: np.ndarray, sensi: bool) -> tuple:
        """``(y, sigma, dy, dsigma, failure)`` per measurement row: the simulating half's part of the interface
        (:class:`~bonemet_ode.petab.problem.PetabProblem` implements it)."""

    def _transformed(self, y: np.ndarray):
        """Measurements, simulations, d transformed simulation / d simulation and the density's constant, each on
        the row's observable transformation."""
        m = self._meas
        mt, yt, dyt, const = m.copy(), y.copy(), np.ones(len(m)), np.zeros(len(m))
        a, b = self._rows_log, self._rows_log10
        with np.errstate(all="ignore"):
            if len(a):
                mt[a], yt[a], dyt[a], const[a] = np.log(m[a]), np.log(y[a]), 1.0 / y[a], np.log(m[a])
            if len(b):
                mt[b], yt[b] = np.log10(m[b]), np.log10(y[b])
                dyt[b], const[b] = 1.0 / (y[b] * math.log(10)), np.log(m[b] * math.log(10))
        return mt, yt, dyt, const

    def evaluate(self, x: Sequence[float] | np.ndarray | None = None, gradient: bool = False) -> Evaluation:
        """Simulate every condition at free parameters ``x`` (parameter scale; default the nominal values) and
        compute llh, chi2, simulations and (``gradient=True``) the llh gradient on parameter scale."""
        xs = self.x_nominal if x is None else np.asarray(x, dtype=float)
        if xs.shape != (len(self.free),):
            raise PetabError(f"parameter vector has shape {xs.shape}; expected ({len(self.free)},) for {self.free}")
        sensi = gradient and self.gradient_method == "forward sensitivities"
        if gradient and not sensi:
            return self._evaluate_fd(xs)
        ysim, sigma, dy, ds, fail = self._simulate(xs, sensi)
        if fail:
            return self._failed(fail, len(self._meas))
        bad = self._invalid_rows(ysim, sigma)
        if bad:
            ev = self._failed(bad, len(self._meas))
            ev.invalid = True
            return ev
        llh, chi2, g = self._likelihood(ysim, sigma, dy, ds)
        if g is None:
            return Evaluation(llh, chi2, ysim, sigma)
        sc = self._dlin_dx(xs)
        return Evaluation(llh, chi2, ysim, sigma, g * sc, dsim=dy * sc, dsigma=ds * sc)

    def _invalid_rows(self, y: np.ndarray, sigma: np.ndarray) -> str:
        """Empty, or what is wrong at the first measurement row where the likelihood is undefined: a noise
        parameter (sigma) that is not positive and finite, a simulated value that is not finite, or one <= 0 on an
        observable with log / log10 transformation (and how many rows more)."""
        logged = np.zeros(len(y), dtype=bool)
        logged[self._rows_log] = True
        logged[self._rows_log10] = True
        with np.errstate(invalid="ignore"):
            bad_sigma = ~(np.isfinite(sigma) & (sigma > 0))
            bad_y = ~np.isfinite(y) | (logged & ~(y > 0))
        bad = np.flatnonzero(bad_sigma | bad_y)
        if not len(bad):
            return ""
        i = int(bad[0])
        o = str(self._obs_of_row[i])
        t = float(self.measurements["time"].iloc[i])
        if bad_sigma[i]:
            odf = self.tables.observable_df
            formula = str(odf.loc[o, "noiseFormula"]) if "noiseFormula" in odf else "1"
            what = (f"the noise formula {formula!r} gives sigma = {sigma[i]:g}; the noise parameter must be "
                    "positive and finite")
        elif not np.isfinite(y[i]):
            what = f"the simulated value is {y[i]:g}"
        else:
            what = (f"the simulated value {y[i]:g} is <= 0 and cannot be {self.transform[o]}-transformed "
                    f"(observableTransformation {self.transform[o]})")
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        return f"{self._row(i)}, observable {o!r} at time {t:g}: {what}{more}"

    #: Offset ``C`` of the noise residuals ``sqrt(log(2 pi sigma^2) + C)`` of :meth:`residuals`.
    SIGMA_OFFSET = 100.0

    def least_squares_form(self) -> bool:
        """Whether the −log-likelihood is a sum of squares (every noise model normal, no objective priors
        other than normal ones on the parameter scale), as :meth:`residuals` needs."""
        return (all(d == "normal" for d in self.distribution.values())
                and all(p is None or p.kind == "parameterScaleNormal" for p in self.priors)
                and self.gradient_method == "forward sensitivities")

    def residuals(self, x: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residuals ``r`` with ``0.5*|r|^2 = -llh - log prior + constant`` and their Jacobian (parameter scale).

        Per measurement ``(m - y)/sigma`` (transformed scale) and, when sigma depends on the parameters,
        ``sqrt(log(2 pi sigma^2) + C)`` (C = :attr:`SIGMA_OFFSET`); one ``(x - mean)/sd`` per
        parameter-scale normal prior.  Only for :meth:`least_squares_form` problems.
        """
        xs = np.asarray(x, dtype=float)
        n = len(self._meas)
        if xs.shape != (len(self.free),):
            raise PetabError(f"parameter vector has shape {xs.shape}; expected ({len(self.free)},) for {self.free}")
        y, s, dy, ds, fail = self._simulate(xs, True)
        if fail or dy is None or ds is None or self._invalid_rows(y, s):
            return np.full(n, np.nan), np.full((n, len(xs)), np.nan)
        sc = self._dlin_dx(xs)
        dsim, dsigma = dy * sc, ds * sc
        mt, yt, dyt, _const = self._transformed(y)
        return self.stack_residuals(xs, mt, yt, dyt, s, dsim, dsigma)

    def stack_residuals(self, xs: np.ndarray, mt: np.ndarray, yt: np.ndarray, dyt: np.ndarray, s: np.ndarray,
                        dsim: np.ndarray, dsigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residual vector and Jacobian from transformed measurements ``mt``, simulations ``yt`` (with
        ``dyt`` = d transformed / d simulated), sigmas ``s`` and the parameter-scale derivatives of the
        simulations and sigmas: weighted residuals, one sigma term per row where sigmas move, one term
        per normal prior (see :meth:`residuals`)."""
        with np.errstate(all="ignore"):
            r = (mt - yt) / s
            J = -(dyt / s)[:, None] * dsim - (r / s)[:, None] * dsigma
            parts, jacs = [r], [J]
            if np.any(dsigma != 0):
                rs = np.sqrt(np.log(2 * np.pi * s ** 2) + self.SIGMA_OFFSET)
                parts.append(rs)
                jacs.append((1.0 / (s * rs))[:, None] * dsigma)
            for j, pr in enumerate(self.priors):
                if pr is not None:
                    e = np.zeros((1, len(xs)))
                    e[0, j] = 1.0 / pr.b
                    parts.append(np.array([(xs[j] - pr.a) / pr.b]))
                    jacs.append(e)
        return np.concatenate(parts), np.vstack(jacs)

    def _dlin_dx(self, xs: np.ndarray) -> np.ndarray:
        """d linear value / d parameter-scale value of each free parameter."""
        out = np.ones(len(xs))
        out[self._slog] = np.exp(xs[self._slog])
        out[self._slog10] = np.power(10.0, xs[self._slog10]) * math.log(10.0)
        return out

    def _failed(self, why: str, nrow: int) -> Evaluation:
        return Evaluation(math.nan, math.nan, np.full(nrow, np.nan), np.full(nrow, np.nan),
                          np.full(len(self.free), np.nan), why)

    def _likelihood(self, y, sigma, dy, ds):
        """llh, chi2 and (``dy``, ``ds`` given) the llh gradient w.r.t. the free parameters on linear scale."""
        mt, yt, dyt, const = self._transformed(y)
        lap = self._laplace
        with np.errstate(all="ignore"):
            r = (mt - yt) / sigma
            llh = np.where(lap, -np.log(2 * sigma) - const - np.abs(r),
                           -0.5 * np.log(2 * np.pi * sigma ** 2) - const - 0.5 * r ** 2)
            g = None
            if dy is not None:
                # d llh = -dsigma/sigma - w dr,  dr = -dyt*dy/sigma - r dsigma/sigma; w = r (normal), sign(r) (laplace)
                dr = -(dyt / sigma)[:, None] * dy - (r / sigma)[:, None] * ds
                w = np.where(lap, np.sign(r), r)
                terms = -(1.0 / sigma)[:, None] * ds - w[:, None] * dr
                g = np.zeros(len(self.free))
                for rows in self._rows_of_obs:  # summed per observable, in the observable table's order
                    g += terms[rows].sum(axis=0)
        total = float(llh.sum())
        return (total if np.isfinite(total) else math.nan), float((r ** 2).sum()), g

    def _evaluate_fd(self, xs: np.ndarray, h: float = 1e-5) -> Evaluation:
        """Central finite differences of llh on parameter scale (models whose events or switches the compiled
        sensitivities do not handle); step ``h`` on parameter scale, kept inside the bounds."""
        ev = self.evaluate(xs)
        if ev.failure:
            return ev
        g = np.zeros(len(xs))
        for j in range(len(xs)):
            up, dn = xs.copy(), xs.copy()
            hj = h * max(1.0, abs(xs[j]))
            up[j] = min(xs[j] + hj, self.upper[j])
            dn[j] = max(xs[j] - hj, self.lower[j])
            a, b = self.evaluate(up), self.evaluate(dn)
            if a.failure or b.failure:
                return self._failed(a.failure or b.failure, len(self._meas))
            g[j] = (a.llh - b.llh) / (up[j] - dn[j])
        ev.grad_llh = g
        return ev

    # ------------------------------------------------------------------ public
    def _check(self, ev: Evaluation) -> Evaluation:
        if ev.invalid:
            raise PetabError(ev.failure)
        if ev.failure:
            raise SolverError(ev.failure)
        return ev

    def llh(self, x: Sequence[float] | np.ndarray | None = None) -> float:
        """Log-likelihood at free parameters ``x`` (parameter scale; default nominal), as PEtab defines it."""
        return self._check(self.evaluate(x)).llh

    def chi2(self, x: Sequence[float] | np.ndarray | None = None) -> float:
        """Chi-square (sum of squared residuals over sigma, on the observables' transformation scale)."""
        return self._check(self.evaluate(x)).chi2

    def simulations(self, x: Sequence[float] | np.ndarray | None = None):
        """PEtab simulation table: the measurement table with ``simulation`` in place of ``measurement``."""
        ev = self._check(self.evaluate(x))
        df = self.measurements.copy()
        df = df.rename(columns={"measurement": "simulation"})
        df["simulation"] = ev.simulation
        return df

    def log_prior(self, x: Sequence[float] | np.ndarray) -> tuple[float, np.ndarray]:
        """Sum of the objective priors' log densities at ``x`` and its gradient on parameter scale."""
        xs = np.asarray(x, dtype=float)
        v, g = 0.0, np.zeros(len(xs))
        for j, pr in enumerate(self.priors):
            if pr is not None:
                a, b = pr.log_density(xs[j])
                v += a
                g[j] += b
        return v, g

    def objective(self, x: Sequence[float] | np.ndarray, gradient: bool = True) -> Any:
        """Negative log-posterior (−llh − log prior) at ``x`` and, with ``gradient``, its gradient; ``inf`` (and a
        NaN gradient) when a simulation fails."""
        ev = self.evaluate(x, gradient=gradient)
        if ev.failure or not np.isfinite(ev.llh):
            return (math.inf, np.full(len(self.free), np.nan)) if gradient else math.inf
        lp, glp = self.log_prior(x)
        f = -(ev.llh + lp)
        if not gradient:
            return f
        return f, -(ev.grad_llh + glp)

"""Measurement-noise models and their negative log-likelihoods (censoring included).

A noise model says how a measurement ``y`` scatters around the model
prediction ``f``.  Every model is written as a Gaussian on a *likelihood
scale*: ``T(y) ~ N(mu(f), s(f)^2)`` with

================ =================== ================ ======================
class            ``T(y)``            ``mu``           ``s`` (sd)
================ =================== ================ ======================
AdditiveNoise    ``y``               ``f``            ``a``
ProportionalNoise ``y``              ``f``            ``b*|f|``
CombinedNoise    ``y``               ``f``            ``a + b*|f|``
LogNormalNoise   ``log y``           ``log f``        ``sigma``
================ =================== ================ ======================

Per point the negative log-likelihood (NLL) of an observed value is

.. math:: \\ell = \\tfrac12 z^2 + \\log s + \\tfrac12\\log 2\\pi + \\log|T'(y)|,
          \\qquad z = (T(y) - \\mu)/s,

the last term making log-normal densities comparable with the others (all
densities are on the scale of ``y``).  A left-censored point (``y`` below the
limit of quantification ``L``, Beal's M3 method) contributes
``-log Phi((T(L) - mu)/s)``: the probability that a measurement would have
fallen below ``L``.  Where the data give a measurement sd, it replaces ``s``
(on the log scale ``s = sqrt(log(1 + (sd/y)^2))``).

:func:`point_nll` gives the per-point NLL, :func:`nll_derivatives` its
gradient and Gauss-Newton (expected Fisher) information from Jacobians of
``mu`` and ``log s``, and :func:`residual_vector` a least-squares vector whose
squared norm is ``2*NLL`` up to a constant (the "sigma residual" device of
AMICI, so that a least-squares optimiser maximises the full likelihood,
variance terms included).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import FitError
from ..model import Parameter

__all__ = [
    "NoiseModel",
    "AdditiveNoise",
    "ProportionalNoise",
    "CombinedNoise",
    "LogNormalNoise",
    "NOISE_KINDS",
    "make_noise",
    "point_nll",
    "nll_derivatives",
    "residual_vector",
]

_LOG_2PI = math.log(2.0 * math.pi)
_TINY = 1e-300


@dataclass(frozen=True)
class NoiseModel(abc.ABC):
    """Base class: a Gaussian on a likelihood scale with a parameter-dependent sd.

    Subclasses define :attr:`kind`, :meth:`parameters` and :meth:`sd`;
    log-scale models override :attr:`log_scale`.
    """

    kind: ClassVar[str] = ""
    log_scale: ClassVar[bool] = False

    @abc.abstractmethod
    def parameters(self, data_scale: float) -> tuple[Parameter, ...]:
        """Noise parameters with initial values and bounds.

        Parameters
        ----------
        data_scale : float
            A typical magnitude of the data (median positive value), used to
            size additive sds.
        """

    @abc.abstractmethod
    def sd(self, f: np.ndarray, theta: Mapping[str, float]) -> np.ndarray:
        """Standard deviation on the likelihood scale at predictions ``f``.

        ``theta`` holds the noise parameters by their short names (``a``, ``b``, ``sigma``).
        """

    def transform(self, y: np.ndarray) -> np.ndarray:
        """``T(y)``: the data on the likelihood scale."""
        y = np.asarray(y, dtype=float)
        return np.log(np.maximum(y, _TINY)) if self.log_scale else y

    def location(self, f: np.ndarray) -> np.ndarray:
        """``mu(f)``: the prediction on the likelihood scale."""
        f = np.asarray(f, dtype=float)
        return np.log(np.maximum(f, _TINY)) if self.log_scale else f

    def given_sd(self, y: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """A measurement sd given in data units, converted to the likelihood scale."""
        if not self.log_scale:
            return np.asarray(sd, dtype=float)
        cv = np.asarray(sd, dtype=float) / np.maximum(np.asarray(y, dtype=float), _TINY)
        return np.sqrt(np.log1p(cv * cv))

    def log_jacobian(self, y: np.ndarray) -> np.ndarray:
        """``log|T'(y)|`` (so every density is on the scale of ``y``)."""
        y = np.asarray(y, dtype=float)
        return -np.log(np.maximum(y, _TINY)) if self.log_scale else np.zeros_like(y)

    def describe(self) -> str:
        """One-line formula of the model."""
        doc = type(self).__doc__
        return doc.splitlines()[0] if doc else self.kind


def _positive(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise FitError(f"noise parameter {name!r}: expected a positive finite initial value, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class AdditiveNoise(NoiseModel):
    """Additive Gaussian noise, sd = a (data units).

    Parameters
    ----------
    a : float, optional
        Initial sd in data units (default: 10 % of the median data value).
    """

    a: float | None = None
    kind: ClassVar[str] = "additive"

    def __post_init__(self) -> None:
        _positive(self.a, "a")

    def parameters(self, data_scale: float) -> tuple[Parameter, ...]:
        a0 = self.a if self.a is not None else 0.1 * data_scale
        return (Parameter("a", a0, "data unit", a0 * 1e-6, a0 * 1e6, "additive noise sd", log_scale=True),)

    def sd(self, f: np.ndarray, theta: Mapping[str, float]) -> np.ndarray:
        return np.full(np.shape(f), float(theta["a"]))


@dataclass(frozen=True)
class ProportionalNoise(NoiseModel):
    """Proportional Gaussian noise, sd = b*|f| (b is a coefficient of variation).

    Parameters
    ----------
    b : float
        Initial coefficient of variation (default 0.1).
    """

    b: float = 0.1
    kind: ClassVar[str] = "proportional"

    def __post_init__(self) -> None:
        _positive(self.b, "b")

    def parameters(self, data_scale: float) -> tuple[Parameter, ...]:
        return (Parameter("b", self.b, "1", 1e-6, 1e3, "proportional noise CV", log_scale=True),)

    def sd(self, f: np.ndarray, theta: Mapping[str, float]) -> np.ndarray:
        return float(theta["b"]) * np.maximum(np.abs(f), _TINY)


@dataclass(frozen=True)
class CombinedNoise(NoiseModel):
    """Combined Gaussian noise, sd = a + b*|f| (Monolix "combined1").

    Parameters
    ----------
    a : float, optional
        Initial additive part, data units (default: 1 % of the median data value).
    b : float
        Initial proportional part (default 0.1).
    """

    a: float | None = None
    b: float = 0.1
    kind: ClassVar[str] = "combined"

    def __post_init__(self) -> None:
        _positive(self.a, "a")
        _positive(self.b, "b")

    def parameters(self, data_scale: float) -> tuple[Parameter, ...]:
        a0 = self.a if self.a is not None else 0.01 * data_scale
        return (Parameter("a", a0, "data unit", a0 * 1e-6, a0 * 1e6, "additive part of the sd", log_scale=True),
                Parameter("b", self.b, "1", 1e-6, 1e3, "proportional part of the sd", log_scale=True))

    def sd(self, f: np.ndarray, theta: Mapping[str, float]) -> np.ndarray:
        return float(theta["a"]) + float(theta["b"]) * np.abs(f)


@dataclass(frozen=True)
class LogNormalNoise(NoiseModel):
    """Log-normal noise: log y ~ N(log f, sigma^2) (sigma ~ CV for small sigma).

    Parameters
    ----------
    sigma : float
        Initial sd of log y (default 0.1).
    """

    sigma: float = 0.1
    kind: ClassVar[str] = "lognormal"
    log_scale: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _positive(self.sigma, "sigma")

    def parameters(self, data_scale: float) -> tuple[Parameter, ...]:
        return (Parameter("sigma", self.sigma, "1", 1e-6, 20.0, "sd of log y", log_scale=True),)

    def sd(self, f: np.ndarray, theta: Mapping[str, float]) -> np.ndarray:
        return np.full(np.shape(f), float(theta["sigma"]))


#: Noise models by the name used on the command line and in :func:`make_noise`.
NOISE_KINDS: dict[str, type[NoiseModel]] = {
    "additive": AdditiveNoise,
    "proportional": ProportionalNoise,
    "combined": CombinedNoise,
    "lognormal": LogNormalNoise,
}


def make_noise(kind: str | NoiseModel) -> NoiseModel:
    """A noise model from its name (``additive``, ``proportional``, ``combined``, ``lognormal``)."""
    if isinstance(kind, NoiseModel):
        return kind
    if not isinstance(kind, str) or kind.lower() not in NOISE_KINDS:
        raise FitError(f"noise: unknown noise model {kind!r}; choose one of {sorted(NOISE_KINDS)}")
    return NOISE_KINDS[kind.lower()]()


def point_nll(ty: np.ndarray, mu: np.ndarray, s: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Per-point NLL on the likelihood scale (without the ``log|T'(y)|`` term).

    Parameters
    ----------
    ty : ndarray
        Data on the likelihood scale; for censored points the transformed limit.
    mu, s : ndarray
        Prediction and sd on the likelihood scale (``s > 0``).
    censored : ndarray of bool
        Left-censored points (M3: ``-log Phi((T(L) - mu)/s)``).
    """
    from scipy.special import log_ndtr
    z = (ty - mu) / s
    out = 0.5 * z * z + np.log(s) + 0.5 * _LOG_2PI
    if np.any(censored):
        out = np.where(censored, -log_ndtr(z), out)
    return out


def _mills(z: np.ndarray) -> np.ndarray:
    """Inverse Mills ratio ``phi(z)/Phi(z)``, stable for very negative ``z``."""
    from scipy.special import log_ndtr
    return np.exp(-0.5 * z * z - 0.5 * _LOG_2PI - log_ndtr(z))


def nll_derivatives(
    ty: np.ndarray, mu: np.ndarray, s: np.ndarray, censored: np.ndarray, jac_mu: np.ndarray, jac_logs: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """NLL, its gradient and its Gauss-Newton information from Jacobians of ``mu`` and ``log s``.

    Parameters
    ----------
    ty, mu, s, censored : ndarray (n,)
        As in :func:`point_nll`.
    jac_mu, jac_logs : ndarray (n, p)
        Derivatives of ``mu`` and ``log s`` with respect to ``p`` parameters.

    Returns
    -------
    nll : float
    grad : ndarray (p,)
    info : ndarray (p, p)
        Expected Fisher information for observed points,
        ``J_mu' diag(1/s^2) J_mu + 2 J_logs' J_logs``, plus
        ``lambda(lambda + z) grad(z) grad(z)'`` for censored points
        (``lambda`` the inverse Mills ratio): positive semi-definite.
    """
    z = (ty - mu) / s
    obs = ~censored
    nll = float(np.sum(point_nll(ty, mu, s, censored)))
    gz = -jac_mu / s[:, None] - z[:, None] * jac_logs  # d z / d theta
    grad = np.zeros(jac_mu.shape[1])
    info = np.zeros((jac_mu.shape[1], jac_mu.shape[1]))
    if np.any(obs):
        jm = jac_mu[obs] / s[obs, None]
        jl = jac_logs[obs]
        grad += (z[obs, None] * gz[obs] + jl).sum(axis=0)
        info += jm.T @ jm + 2.0 * jl.T @ jl
    if np.any(censored):
        zc = z[censored]
        lam = _mills(zc)
        g = gz[censored]
        grad += (-lam[:, None] * g).sum(axis=0)
        w = lam * (lam + zc)
        info += (g * w[:, None]).T @ g
    return nll, grad, info


def residual_vector(ty: np.ndarray, mu: np.ndarray, s: np.ndarray, censored: np.ndarray,
                    offset: float | np.ndarray) -> np.ndarray:
    """Least-squares residuals whose squared norm is ``2*NLL`` minus a constant.

    Observed points give ``z`` and ``sqrt(2*(log s + offset))`` (AMICI's
    sigma residuals; exact while ``log s > -offset``, clipped at zero below);
    censored points give ``sqrt(-2 log Phi(z))``.  ``offset`` is a number or
    one value per point.
    """
    from scipy.special import log_ndtr
    z = (ty - mu) / s
    obs = ~censored
    off = np.broadcast_to(np.asarray(offset, dtype=float), s.shape)[obs]
    sig = np.sqrt(np.maximum(2.0 * (np.log(s[obs]) + off), 0.0))
    parts = [z[obs], sig]
    if np.any(censored):
        parts.append(np.sqrt(np.maximum(-2.0 * log_ndtr(z[censored]), 0.0)))
    return np.concatenate(parts)

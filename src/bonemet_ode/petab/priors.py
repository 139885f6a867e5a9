"""PEtab v1 priors: objective priors (log densities added to the log-likelihood when fitting) and
initialization priors (where multistart draws its start points)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PetabError

__all__ = ["PRIOR_TYPES", "Prior", "read_priors"]

#: Prior types of PEtab v1 (``objectivePriorType`` / ``initializationPriorType``).
PRIOR_TYPES = ("uniform", "normal", "laplace", "logNormal", "logLaplace", "parameterScaleUniform",
               "parameterScaleNormal", "parameterScaleLaplace")


@dataclass(frozen=True)
class Prior:
    """One prior of a free parameter.

    ``kind`` is a PEtab prior type, ``a, b`` its two parameters (bounds for the uniform kinds; mean and
    standard deviation / scale otherwise), ``scale`` the parameter's scale (lin, log, log10).
    """

    kind: str
    a: float
    b: float
    scale: str

    def _lin(self, x: float) -> tuple[float, float]:
        """Linear value and d(linear)/dx at parameter-scale value ``x``."""
        if self.scale == "lin":
            return x, 1.0
        if self.scale == "log":
            v = math.exp(x)
            return v, v
        v = 10.0 ** x
        return v, v * math.log(10.0)

    def log_density(self, x: float) -> tuple[float, float]:
        """``(log density, d/dx)`` at parameter-scale value ``x`` (density of the linear value for the
        kinds without ``parameterScale``, as PEtab defines them; no Jacobian of the scale change)."""
        k, a, b = self.kind, self.a, self.b
        if k.startswith("parameterScale"):
            v, dv = x, 1.0
            k = k.removeprefix("parameterScale")
            k = k[0].lower() + k[1:]
        else:
            v, dv = self._lin(x)
        if k == "uniform":
            return (-math.log(b - a) if a <= v <= b else -math.inf), 0.0
        if k == "normal":
            z = (v - a) / b
            return -0.5 * math.log(2 * math.pi * b * b) - 0.5 * z * z, -z / b * dv
        if k == "laplace":
            return -math.log(2 * b) - abs(v - a) / b, -math.copysign(1.0, v - a) / b * dv
        if k == "logNormal":
            if v <= 0:
                return -math.inf, 0.0
            z = (math.log(v) - a) / b
            return (-math.log(v) - 0.5 * math.log(2 * math.pi * b * b) - 0.5 * z * z,
                    (-1.0 / v - z / (b * v)) * dv)
        if k == "logLaplace":
            if v <= 0:
                return -math.inf, 0.0
            u = math.log(v) - a
            return -math.log(2 * b * v) - abs(u) / b, (-1.0 / v - math.copysign(1.0, u) / (b * v)) * dv
        raise PetabError(f"prior type {self.kind!r} is not one of {', '.join(PRIOR_TYPES)}", "prior type")


def _prior(row: Any, col: str, scale: str, lo: float, hi: float, pid: str) -> Prior | None:
    kind = row.get(f"{col}Type", None)
    params = row.get(f"{col}Parameters", None)
    if kind is None or (isinstance(kind, float) and math.isnan(kind)) or str(kind) == "":
        return None
    kind = str(kind)
    if kind not in PRIOR_TYPES:
        raise PetabError(f"parameter {pid!r}: {col}Type {kind!r} is not one of {', '.join(PRIOR_TYPES)}",
                         f"{col}Type")
    if params is None or (isinstance(params, float) and math.isnan(params)) or str(params) == "":
        if kind == "parameterScaleUniform":
            return Prior(kind, lo, hi, scale)
        raise PetabError(f"parameter {pid!r}: {col}Type {kind!r} needs {col}Parameters")
    try:
        a, b = (float(v) for v in str(params).split(";"))
    except ValueError:
        raise PetabError(f"parameter {pid!r}: {col}Parameters {params!r} must be two numbers 'a;b'") from None
    return Prior(kind, a, b, scale)


def read_priors(df: Any, free: Sequence[str], scales: Sequence[str], lower: np.ndarray, upper: np.ndarray,
                col: str = "objectivePrior") -> list[Prior | None]:
    """The ``col`` priors (``objectivePrior`` or ``initializationPrior``) of the free parameters."""
    return [_prior(df.loc[p], col, s, lo, hi, p) for p, s, lo, hi in zip(free, scales, lower, upper)]

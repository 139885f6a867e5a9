"""Solver options."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..errors import ParameterError
from ..model import Model

__all__ = ["SolverOptions"]


@dataclass(frozen=True)
class SolverOptions:
    """Tolerances and limits of the compiled Rosenbrock solver.

    Parameters
    ----------
    rtol : float
        Relative tolerance (default 1e-6).
    atol : float or mapping of state name to float
        Absolute tolerance, in each state's unit (default 1e-9).
    max_steps : int
        Maximum number of steps per solve.
    hmax : float
        Largest step, days (default: unlimited).
    h0 : float
        First step, days (0: chosen automatically).
    """

    rtol: float = 1e-6
    atol: float | Mapping[str, float] = 1e-9
    max_steps: int = 200_000
    hmax: float = math.inf
    h0: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.rtol, (int, float)) and 1e-14 <= self.rtol < 1):
            raise ParameterError(f"rtol must be in [1e-14, 1), got {self.rtol!r}")
        if not (isinstance(self.max_steps, int) and self.max_steps > 0):
            raise ParameterError(f"max_steps must be a positive integer, got {self.max_steps!r}")
        if not self.hmax > 0:
            raise ParameterError(f"hmax must be > 0 days, got {self.hmax!r}")
        if not self.h0 >= 0:
            raise ParameterError(f"h0 must be >= 0 days, got {self.h0!r}")

    def atol_vector(self, model: Model) -> np.ndarray:
        """Per-state absolute tolerances."""
        if isinstance(self.atol, Mapping):
            out = np.full(len(model.state_names), 1e-9)
            for k, v in self.atol.items():
                out[model.state_index(k)] = v
        else:
            out = np.full(len(model.state_names), float(self.atol))
        if not np.all(np.isfinite(out)) or np.any(out <= 0):
            raise ParameterError(f"atol must be finite and > 0 for every state, got {self.atol!r}")
        return out

    def packed(self) -> np.ndarray:
        """``[rtol, hmax, h0, max_steps]`` for the compiled solver."""
        return np.array([self.rtol, self.hmax, self.h0, float(self.max_steps)])

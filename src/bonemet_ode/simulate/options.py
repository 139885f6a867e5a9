"""Solver options."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

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
        from ._validate import integer, number

        object.__setattr__(self, "rtol", number(self.rtol, "rtol", low=1e-14, high=1.0))
        if self.rtol >= 1:
            raise ParameterError(f"rtol must be in [1e-14, 1), got {self.rtol!r}")
        if isinstance(self.atol, Mapping):
            for k, v in self.atol.items():
                if not isinstance(k, str):
                    raise ParameterError(f"atol: keys must be state names, got {k!r}")
                number(v, f"atol[{k!r}]", low=0.0, low_open=True)
        else:
            number(self.atol, "atol", low=0.0, low_open=True)
        integer(self.max_steps, "max_steps", low=1)
        object.__setattr__(self, "hmax", number(self.hmax, "hmax (days)", low=0.0, low_open=True, finite=False))
        if self.hmax == -math.inf:
            raise ParameterError("hmax (days) must be > 0, got -inf")
        object.__setattr__(self, "h0", number(self.h0, "h0 (days)", low=0.0))

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

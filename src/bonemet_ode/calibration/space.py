"""The set-up of a qualitative calibration: settings, and free parameters mapped to the unit cube.

Every free parameter ``p`` in ``[lower, upper]`` is searched through
``u in [0, 1]``: ``p = lower + u (upper - lower)``, or on log scale
``p = lower (upper/lower)**u``.  Latin-hypercube screening samples the cube
and the local refinement's finite differences use steps in ``u``, so every
parameter moves by the same fraction of its range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import FitError
from ..model import Model
from ..outcomes.results import MARGIN_CLIP

__all__ = ["CalibrationSettings", "FreeParameter", "ParameterSpace", "residual_matrix"]


@dataclass(frozen=True)
class CalibrationSettings:
    """How a qualitative calibration searches.

    Parameters
    ----------
    n_starts : int
        Latin-hypercube screening points (the current parameter values are
        added as one more when ``include_current``).
    n_refine : int
        Best screening points refined locally (lmfit ``least_squares``).
    safety : float
        Margin every clause must exceed before the search stops early; also
        the target of the penalties (log-ratio or fraction units: 0.05 is
        5 % or five percentage points).
    penalty_scale : float
        Smoothing width of the softplus penalty, margin units.
    max_nfev : int
        Evaluations per local refinement (finite-difference ones included).
    diff_step : float
        Finite-difference step in the unit cube (a fraction of each range).
    include_current : bool
        Also screen the current parameter values.
    conflicts : bool
        Analyse conflicts when not every outcome holds.
    conflict_nfev : int
        Evaluations per pairwise co-satisfiability search.
    weights : tuple of (str, float)
        Penalty weight per outcome id (default 1).
    progress : bool, optional
        Show a tqdm progress bar (default: when stderr is a terminal).
    """

    n_starts: int = 64
    n_refine: int = 4
    safety: float = 0.05
    penalty_scale: float = 0.05
    max_nfev: int = 200
    diff_step: float = 1e-3
    include_current: bool = True
    conflicts: bool = True
    conflict_nfev: int = 60
    weights: tuple[tuple[str, float], ...] = ()
    progress: bool | None = None

    def __post_init__(self) -> None:
        for name, low in (("n_starts", 0), ("n_refine", 0), ("max_nfev", 1), ("conflict_nfev", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise FitError(f"calibration setting {name} must be an integer >= {low}, got {v!r}")
            object.__setattr__(self, name, int(v))
        for name in ("safety", "penalty_scale", "diff_step"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise FitError(f"calibration setting {name} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.penalty_scale <= 0 or self.diff_step <= 0:
            raise FitError("calibration settings penalty_scale and diff_step must be > 0")
        w = self.weights.items() if isinstance(self.weights, Mapping) else self.weights
        pairs = tuple((str(k), float(v)) for k, v in w)
        if any(not (math.isfinite(v) and v >= 0) for _, v in pairs):
            raise FitError(f"calibration weights must be finite and >= 0, got {dict(pairs)}")
        object.__setattr__(self, "weights", pairs)
        if self.n_starts == 0 and not self.include_current:
            raise FitError("n_starts=0 needs include_current=True (there would be no start)")


@dataclass(frozen=True)
class FreeParameter:
    """A parameter the calibration may change.

    Parameters
    ----------
    name : str
        Model parameter.
    lower, upper : float, optional
        Search bounds, within the model's bounds (default: the model's bounds,
        which must then be finite).
    log_scale : bool, optional
        Search on log scale (default: the parameter's ``log_scale``).
    """

    name: str
    lower: float | None = None
    upper: float | None = None
    log_scale: bool | None = None

    def resolve(self, model: Model) -> FreeParameter:
        """A copy with bounds and scale filled from ``model`` and checked.

        Raises
        ------
        FitError
            If a bound is infinite, outside the model's bounds, ``lower >= upper``,
            or a log-scale parameter has ``lower <= 0``.
        """
        p = model.parameter(self.name)
        lo = p.lower if self.lower is None else float(self.lower)
        hi = p.upper if self.upper is None else float(self.upper)
        log = p.log_scale if self.log_scale is None else bool(self.log_scale)
        where = f"free parameter {self.name!r}"
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise FitError(f"{where}: bounds [{lo}, {hi}] must be finite; give lower= and upper=")
        if lo < p.lower or hi > p.upper:
            raise FitError(f"{where}: bounds [{lo:g}, {hi:g}] leave the model's bounds [{p.lower:g}, {p.upper:g}]")
        if not lo < hi:
            raise FitError(f"{where}: lower bound {lo:g} must be below upper bound {hi:g}")
        if log and lo <= 0:
            raise FitError(f"{where}: log-scale search needs lower > 0, got {lo:g}")
        return FreeParameter(self.name, lo, hi, log)


class ParameterSpace:
    """Free parameters and the map between the unit cube and parameter values.

    Parameters
    ----------
    model : Model
        Supplies default bounds and scales.
    free : sequence of str or FreeParameter
        The free parameters (names use the model's bounds and scale).
    """

    def __init__(self, model: Model, free: Sequence[str | FreeParameter]) -> None:
        if isinstance(free, (str, FreeParameter)):
            free = [free]
        items = [FreeParameter(f) if isinstance(f, str) else f for f in free]
        if not items:
            raise FitError("give at least one free parameter")
        names = [f.name for f in items]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise FitError(f"free parameters repeated: {', '.join(dup)}")
        self.free: tuple[FreeParameter, ...] = tuple(f.resolve(model) for f in items)
        self.names = tuple(names)
        self.lower = np.array([f.lower for f in self.free], dtype=float)
        self.upper = np.array([f.upper for f in self.free], dtype=float)
        self.log = np.array([bool(f.log_scale) for f in self.free])
        self._a = np.where(self.log, np.log(np.where(self.log, self.lower, 1.0)), self.lower)
        self._b = np.where(self.log, np.log(np.where(self.log, self.upper, 1.0)), self.upper)

    def __len__(self) -> int:
        return len(self.free)

    def to_params(self, u: np.ndarray) -> dict[str, float]:
        """Parameter values at unit-cube point ``u`` (clipped to the bounds exactly)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        z = self._a + u * (self._b - self._a)
        x = z.copy()
        x[self.log] = np.exp(z[self.log])  # exponentiate the log-scaled columns only
        x = np.where(u <= 0.0, self.lower, np.where(u >= 1.0, self.upper, np.clip(x, self.lower, self.upper)))
        return {n: float(v) for n, v in zip(self.names, x)}

    def to_unit(self, values: Mapping[str, float]) -> np.ndarray:
        """Unit-cube point of ``values`` (clipped into the cube)."""
        x = np.array([float(values[n]) for n in self.names])
        z = np.where(self.log, np.log(np.maximum(x, np.where(self.log, self.lower, -np.inf))), x)
        return np.clip((z - self._a) / (self._b - self._a), 0.0, 1.0)


def residual_matrix(margins: np.ndarray, scale: float, safety: float) -> np.ndarray:
    """Vectorised :func:`~bonemet_ode.outcomes.results.residual` of an array of margins."""
    m = np.where(np.isnan(margins), -MARGIN_CLIP, margins)
    m = np.maximum(m, -MARGIN_CLIP) - safety
    return scale * np.logaddexp(0.0, -m / scale)

"""How a measured observable relates to the model: a target expression, a scale, an offset, a noise model.

A data observable (``"tumor_volume"`` in mm³) is predicted from the model
(which may count cells) as

.. math:: f = \\mathrm{scale}\\cdot g(x) + \\mathrm{offset},

where ``g`` is a model state, a model observable or an expression of states,
observables and model parameters (numpy functions ``exp``, ``log``, ...).
``scale`` and ``offset`` are numbers, or :class:`~bonemet_ode.model.Parameter`
objects to be estimated with the other parameters (e.g. mm³ per cell).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import CodeType

import numpy as np

from ..errors import FitError
from ..model import Model, Parameter
from ..model.expressions import symbols_in
from .noise import NoiseModel

__all__ = ["ObservationMap", "default_observations"]

_NUMPY_FUNCS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "abs": np.abs,
                "min": np.minimum, "max": np.maximum, "pi": np.pi}


@functools.lru_cache(maxsize=1024)
def _compiled_target(target: str, observable: str) -> CodeType:
    return compile(target.strip(), f"<observation {observable}>", "eval")


@dataclass(frozen=True)
class ObservationMap:
    """The prediction of one data observable.

    Parameters
    ----------
    observable : str
        Name of the observable in the data (the ``observable`` column).
    target : str
        A model state or observable name, or an expression of states,
        observables and model parameters (``"T*cell_volume"``).
    scale : float or Parameter
        Multiplies the target (data unit per model unit), or a parameter to estimate.
    offset : float or Parameter
        Added after scaling (data unit), or a parameter to estimate.
    noise : NoiseModel, optional
        The noise model of this observable; None uses the fitter's default.
    unit : str
        Unit of the data, for reports and axis labels.

    Examples
    --------
    >>> from bonemet_ode.model import Parameter
    >>> ObservationMap("tumor_volume", "T", scale=Parameter("mm3_per_cell", 1e-6, "mm^3/cell",
    ...                1e-9, 1e-3, log_scale=True), unit="mm^3").scale.name
    'mm3_per_cell'
    """

    observable: str
    target: str
    scale: float | Parameter = 1.0
    offset: float | Parameter = 0.0
    noise: NoiseModel | None = None
    unit: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.observable, str) or not self.observable:
            raise FitError(f"ObservationMap: observable must be a non-empty name, got {self.observable!r}")
        if not isinstance(self.target, str) or not self.target.strip():
            raise FitError(f"ObservationMap {self.observable!r}: target must be a non-empty expression")
        for what in ("scale", "offset"):
            v = getattr(self, what)
            if not isinstance(v, Parameter) and (isinstance(v, bool) or not isinstance(v, (int, float))
                                                 or not np.isfinite(v)):
                raise FitError(f"ObservationMap {self.observable!r}: {what} must be a finite number or a "
                               f"Parameter, got {v!r}")
        if self.noise is not None and not isinstance(self.noise, NoiseModel):
            raise FitError(f"ObservationMap {self.observable!r}: noise must be a NoiseModel, got {self.noise!r}")

    def estimated(self) -> tuple[Parameter, ...]:
        """The scale/offset parameters to estimate."""
        return tuple(v for v in (self.scale, self.offset) if isinstance(v, Parameter))

    def check(self, model: Model) -> None:
        """Raise :class:`FitError` when the target uses a name the model does not define."""
        known = set(model.state_names) | set(model.observable_names) | set(model.parameter_names)
        used = symbols_in(self.target, f"observation {self.observable!r}")
        missing = sorted(used - known)
        if missing:
            raise FitError(
                f"observation {self.observable!r}: target {self.target!r} uses {missing}, not a state, "
                f"observable or parameter of model {model.name!r} (states {list(model.state_names)}, "
                f"observables {list(model.observable_names)})"
            )

    def target_code(self) -> CodeType:
        """The target compiled for ``eval`` (checked by :meth:`check`; compiled once per target)."""
        return _compiled_target(self.target, self.observable)

    def evaluate(self, series: Mapping[str, np.ndarray], values: Mapping[str, float]) -> np.ndarray:
        """Predictions from model trajectories.

        Parameters
        ----------
        series : mapping
            State and observable arrays by name (same length).
        values : mapping
            Model parameter values and the scale/offset parameter values by name.
        """
        target = self.target.strip()
        if target in series:
            g = np.asarray(series[target], dtype=float)
        else:
            env = {**_NUMPY_FUNCS, **{k: float(v) for k, v in values.items()}, **series}
            g = np.asarray(eval(self.target_code(), {"__builtins__": {}}, env), dtype=float)  # noqa: S307 - checked AST
        scale = values[self.scale.name] if isinstance(self.scale, Parameter) else self.scale
        offset = values[self.offset.name] if isinstance(self.offset, Parameter) else self.offset
        return float(scale) * g + float(offset)


def default_observations(model: Model, observables: tuple[str, ...], unit: str = "") -> dict[str, ObservationMap]:
    """Map each data observable to the model quantity of the same name, or to the only state.

    Raises
    ------
    FitError
        When an observable matches no state or observable and the model has
        more than one state.
    """
    out = {}
    units = {s.name: s.unit for s in model.states} | {o.name: o.unit for o in model.observables}
    for obs in observables:
        if obs in units:
            out[obs] = ObservationMap(obs, obs, unit=unit or units[obs])
        elif len(model.state_names) == 1:
            out[obs] = ObservationMap(obs, model.state_names[0], unit=unit or model.states[0].unit)
        else:
            raise FitError(
                f"data observable {obs!r} is not a state or observable of model {model.name!r}; pass "
                f"observations={{'{obs}': ObservationMap('{obs}', target=...)}} (states {list(model.state_names)}, "
                f"observables {list(model.observable_names)})"
            )
    return out

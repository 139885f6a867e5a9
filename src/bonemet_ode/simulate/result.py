"""Simulation results: arrays by name, tidy tables, and what made them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..errors import OutputTimeError
from ..model import Model
from ..model.model import unknown_name
from .arm import Arm

__all__ = ["SimulationResult"]


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """The trajectory of one simulation.

    Index by any state or observable name: ``res["T"]`` is an array over
    :attr:`times` (days).

    Attributes
    ----------
    model : Model
        The model as simulated (arm perturbations applied).
    arm : Arm
        The treatment arm.
    params : dict
        Parameter values used (name → value).
    times : ndarray
        Output times, days.
    states : ndarray
        (times x states) values.
    observables : ndarray
        (times x observables) values.
    stats : dict
        Solver counters (steps, accepted, rejected, rhs_evals, ...).
    status, message : int, str
        0 and ``"ok"``, or the failure (only with ``Simulator.run(check=False)``;
        outputs after the failure are NaN).

    Examples
    --------
    One bolus of 2 mg into a compartment eliminated at 0.5/day decays as
    ``2 exp(-0.5 t)`` mg:

    >>> import numpy as np
    >>> import bonemet_ode as bm
    >>> res = bm.simulate(bm.models.get("pk_one_compartment"), bm.Arm("bolus", [bm.Dose("central", 2.0)]),
    ...                   days=4, times=[0, 1, 2, 4])
    >>> res.times
    array([0., 1., 2., 4.])
    >>> bool(np.allclose(res["central"], 2.0 * np.exp(-0.5 * res.times), rtol=1e-5))
    True
    >>> res.at(2.0, "central")
    0.7357...
    >>> res.to_frame().columns.tolist()
    ['time', 'variable', 'value', 'arm']
    """

    model: Model
    arm: Arm
    params: Mapping[str, float]
    times: np.ndarray
    states: np.ndarray
    observables: np.ndarray
    stats: Mapping[str, int] = field(default_factory=dict)
    status: int = 0
    message: str = "ok"
    sensitivity_targets: tuple[str, ...] = ()
    sens_states: np.ndarray | None = field(default=None, repr=False)
    sens_observables: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def _template(cls, model: Model, arm: Arm, times: np.ndarray) -> dict[str, Any]:
        """The fields a :class:`Simulator`'s results share, for :meth:`_of`."""
        return dict(_SENSITIVITY_DEFAULTS, model=model, arm=arm, times=times)

    @classmethod
    def _of(cls, template: Mapping[str, Any], params: Mapping[str, float], states: np.ndarray,
            observables: np.ndarray, stats: Mapping[str, int], status: int, message: str) -> SimulationResult:
        """A result without sensitivities from a :meth:`_template`, built without the dataclass ``__init__``:
        the same fields and defaults, at a fraction of the cost (a frozen dataclass sets each field through
        ``object.__setattr__``; :meth:`Simulator.run` builds one result per solve)."""
        obj = object.__new__(cls)
        d = obj.__dict__
        d.update(template)
        d["params"] = params
        d["states"] = states
        d["observables"] = observables
        d["stats"] = stats
        d["status"] = status
        d["message"] = message
        return obj

    def sensitivity(self, name: str, wrt: str) -> np.ndarray:
        """``d name / d wrt`` over :attr:`times` (``wrt``: a parameter, or a state for its initial value).

        Available when the simulation was run with ``sensitivities=[...]``.
        """
        if wrt not in self.sensitivity_targets:
            raise unknown_name(wrt, "sensitivity target", self.sensitivity_targets or ("(none computed)",))
        k = self.sensitivity_targets.index(wrt)
        sn, on = self.model.state_names, self.model.observable_names
        if name in sn:
            return self.sens_states[:, k, sn.index(name)]  # type: ignore[index]
        if name in on:
            return self.sens_observables[:, k, on.index(name)]  # type: ignore[index]
        raise unknown_name(name, "state or observable", self.names)

    @property
    def names(self) -> tuple[str, ...]:
        """State names followed by observable names."""
        return self.model.state_names + self.model.observable_names

    def __getitem__(self, name: str) -> np.ndarray:
        sn = self.model.state_names
        if name in sn:
            return self.states[:, sn.index(name)]
        on = self.model.observable_names
        if name in on:
            return self.observables[:, on.index(name)]
        raise unknown_name(name, "state or observable", self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def at(self, day: float, name: str | None = None) -> Any:
        """Value(s) at output time ``day``.

        ``day`` must be one of :attr:`times`; else :class:`~bonemet_ode.errors.OutputTimeError` (a
        KeyError) names the nearest output times.
        """
        t = self.times
        if isinstance(day, bool) or not isinstance(day, (int, float, np.number)) or not np.isfinite(day):
            raise OutputTimeError(f"day must be a finite number, one of the output times ({t[0]:g} to {t[-1]:g} "
                                  f"days), got {day!r}")
        idx = np.flatnonzero(np.isclose(t, day, rtol=0, atol=1e-9))
        if idx.size == 0:
            k = int(np.searchsorted(t, day))
            near = ", ".join(f"{x:g}" for x in t[max(k - 1, 0):k + 1])
            raise OutputTimeError(f"day {day} is not an output time (outputs: {len(t)} times, {t[0]:g} to {t[-1]:g} "
                                  f"days; nearest: {near}); simulate with times=[...] holding it")
        i = int(idx[-1])
        if name is not None:
            return float(self[name][i])
        return {n: float(self[n][i]) for n in self.names}

    def final(self, name: str) -> float:
        """Value of ``name`` at the last output time."""
        return float(self[name][-1])

    def to_frame(self, names: list[str] | None = None):
        """Tidy pandas DataFrame with columns ``time, variable, value, arm``."""
        import pandas as pd

        names = list(names) if names is not None else list(self.names)
        parts = [pd.DataFrame({"time": self.times, "variable": n, "value": self[n], "arm": self.arm.name})
                 for n in names]
        return pd.concat(parts, ignore_index=True)

    def to_wide(self):
        """pandas DataFrame indexed by time with one column per state and observable."""
        import pandas as pd

        data = {n: self[n] for n in self.names}
        return pd.DataFrame(data, index=pd.Index(self.times, name="time"))

    def plot(self, names: str | list[str] | None = None, ax: Any = None, *, log: bool = False) -> Any:
        """Quick look: ``names`` (default every state) against time; returns the matplotlib Axes.

        Without ``ax`` it draws on a new pyplot-free Figure (``ax.figure.savefig(path)`` saves it).

        Examples
        --------
        >>> import bonemet_ode as bm
        >>> res = bm.simulate(bm.models.get("pk_one_compartment"), days=2)
        >>> ax = res.plot()
        >>> ax.get_xlabel()
        'Time (days)'
        """
        from .plot import plot_result

        return plot_result(self, names, ax, log=log)

    def __repr__(self) -> str:
        t = self.times
        return (f"<SimulationResult model={self.model.name!r} arm={self.arm.name!r}: {len(t)} times "
                f"{t[0]:g}..{t[-1]:g} d, {len(self.model.state_names)} states, "
                f"{len(self.model.observable_names)} observables, {self.stats.get('steps', '?')} steps>")


#: The sensitivity fields' defaults, as the dataclass declares them (used by ``SimulationResult._of``).
_SENSITIVITY_DEFAULTS = {f.name: f.default for f in fields(SimulationResult) if f.name.startswith("sens")}

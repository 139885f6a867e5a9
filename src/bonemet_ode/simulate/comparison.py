"""Treatment comparison: several arms on one model, and their endpoint table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ScheduleError
from ..model import Model
from .arm import Arm, arms_by_name
from .options import SolverOptions
from .result import SimulationResult
from .simulator import Simulator

__all__ = ["Comparison", "compare_arms"]


@dataclass(frozen=True, eq=False)
class Comparison:
    """Results of several arms of one model, keyed by arm name (returned by :func:`compare_arms`).

    Attributes
    ----------
    model : Model
        The model every arm was simulated with.
    results : mapping of str to SimulationResult
        One result per arm, in the order the arms were given; times in days.
    """

    model: Model
    results: Mapping[str, SimulationResult]

    @property
    def arm_names(self) -> list[str]:
        """Names of the arms, in the order they were given."""
        return list(self.results)

    def __getitem__(self, arm: str) -> SimulationResult:
        if arm not in self.results:
            raise KeyError(f"no arm {arm!r} in this comparison (arms: {', '.join(self.results)})")
        return self.results[arm]

    def to_frame(self, names: Sequence[str] | None = None):
        """Tidy DataFrame (``time`` in days, ``variable``, ``value``, ``arm``) of every arm.

        Parameters
        ----------
        names : sequence of str, optional
            States or observables to include (default: all).
        """
        import pandas as pd

        return pd.concat([r.to_frame(list(names) if names else None) for r in self.results.values()],
                         ignore_index=True)

    def endpoint_table(self, names: Sequence[str], day: float | None = None, control: str = "control"):
        """Values of ``names`` at ``day`` (default: last output) per arm, with % of ``control``.

        Parameters
        ----------
        names : sequence of str
            States or observables (values in their own units).
        day : float, optional
            Time of the endpoint, days (default: the last output time).
        control : str
            Arm that 100 % refers to; without it there are no ``_pct_control`` columns.

        Returns
        -------
        pandas.DataFrame
            Columns ``arm``, then ``<name>`` for each name, then
            ``<name>_pct_control`` (NaN where the control value is 0);
            ``.attrs["day"]`` holds the day.
        """
        import pandas as pd

        first = next(iter(self.results.values()))
        day = float(first.times[-1]) if day is None else float(day)
        rows = []
        for arm, r in self.results.items():
            row = {"arm": arm}
            for n in names:
                row[n] = r.at(day, n)
            rows.append(row)
        df = pd.DataFrame(rows)
        if control in self.results:
            for n in names:
                ref = float(df.loc[df["arm"] == control, n].iloc[0])
                df[f"{n}_pct_control"] = 100.0 * df[n] / ref if ref != 0 else np.nan
        df.attrs["day"] = day
        return df

    def __repr__(self) -> str:
        return f"<Comparison model={self.model.name!r}: arms {', '.join(self.results)}>"


def compare_arms(
    model: Model,
    arms: Sequence[Arm],
    days: float = 28.0,
    times: Sequence[float] | np.ndarray | None = None,
    params: Mapping[str, float] | None = None,
    options: SolverOptions | None = None,
) -> Comparison:
    """Simulate ``model`` under each arm with the same parameters and output times.

    Parameters
    ----------
    model : Model
        The model.
    arms : sequence of Arm
        Arms to compare; names must be unique.
    days : float
        Simulation length, days.
    times : array_like, optional
        Output times (default: 4 per day).
    params : mapping, optional
        Parameter overrides applied to every arm.

    options : SolverOptions, optional
        Solver tolerances.

    Returns
    -------
    Comparison

    Raises
    ------
    ScheduleError
        If no arm is given or two arms share a name.

    Examples
    --------
    The tumour of the performance reference model at day 28 with and without
    its combination treatment, as % of control:

    >>> import bonemet_ode as bm
    >>> from bonemet_ode.models.reference import perf_reference_combination_arm
    >>> model = bm.models.get("perf_reference")
    >>> comparison = bm.compare_arms(model, [bm.CONTROL, perf_reference_combination_arm()], days=28)
    >>> comparison.arm_names
    ['control', 'combination']
    >>> table = comparison.endpoint_table(["T"])
    >>> list(table.columns), table.attrs["day"]
    (['arm', 'T', 'T_pct_control'], 28.0)
    >>> bool(table["T"][0] == bm.simulate(model, days=28).final("T"))
    True
    """
    named = arms_by_name(arms)
    if not named:
        raise ScheduleError("compare_arms needs at least one arm")
    results = {name: Simulator(model, arm, days, times, options).run(params) for name, arm in named.items()}
    return Comparison(model, results)

"""Predictions with bands: every arm simulated under members of an ensemble; median and central interval.

Examples
--------
>>> pred = predict_arms(model, arms, ensemble, days=28, n_members=100)     # doctest: +SKIP
>>> pred.band("anti-PD-1", "tumor")                                        # doctest: +SKIP
>>> pred.endpoint_table(["tumor", "cd8"])                                  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BonemetError, FitError
from ..model import Model
from ..simulate._validate import number
from ..simulate.arm import Arm
from ..simulate.simulator import Simulator
from .ensemble_result import Ensemble

__all__ = ["EnsemblePrediction", "predict_arms"]


@dataclass(frozen=True, eq=False)
class EnsemblePrediction:
    """Trajectories of every arm under a set of ensemble members.

    Attributes
    ----------
    times : ndarray
        Output times, days.
    arms : tuple of str
        Arm names, in order.
    variables : tuple of str
        States and observables kept.
    values : dict
        ``{(arm, variable): (members x times) array}``; NaN rows where a member's solve failed.
    members : tuple of int
        Ensemble indices simulated.
    failed : dict
        ``{(arm, member): message}`` of failed solves.
    """

    times: np.ndarray
    arms: tuple[str, ...]
    variables: tuple[str, ...]
    values: Mapping[tuple[str, str], np.ndarray]
    members: tuple[int, ...]
    failed: Mapping[tuple[str, int], str] = field(default_factory=dict)

    def __repr__(self) -> str:
        t = self.times
        return (f"<EnsemblePrediction: {len(self.arms)} arms, {len(self.variables)} variables, "
                f"{len(self.members)} members, {len(t)} times {t[0]:g}..{t[-1]:g} d, {len(self.failed)} failed solves>")

    def _check_level(self, level: float, Y: np.ndarray, what: str) -> None:
        """Refuse a level outside (0, 1), or one that the simulated members cannot resolve.

        A central ``level`` interval needs at least ``2 / (1 - level)`` members (20 for 90 %): one
        member in each tail beyond the interval.  With fewer, its ends are interpolated between the
        extreme members and would be reported as an interval they are not.
        """
        if isinstance(level, bool) or not isinstance(level, (int, float, np.number)) or not 0 < level < 1:
            raise FitError(f"level must be in (0, 1), got {level!r}")
        need = int(np.ceil(2.0 / (1.0 - level) - 1e-9))
        have = int(np.isfinite(Y).any(axis=-1).sum())
        if have < need:
            raise FitError(f"{what}: a central {100 * level:g} % interval needs at least {need} members with a "
                           f"solution, this prediction has {have}; predict with more members (n_members, "
                           "--members) or ask for a lower level")

    def _get(self, arm: str, variable: str) -> np.ndarray:
        if (arm, variable) not in self.values:
            raise FitError(f"no prediction of {variable!r} in arm {arm!r} (arms: {', '.join(self.arms)}; "
                           f"variables: {', '.join(self.variables)})")
        return self.values[(arm, variable)]

    def band(self, arm: str, variable: str, level: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(median, lower, upper)`` over members at every time: the central ``level`` interval."""
        Y = self._get(arm, variable)
        self._check_level(level, Y, f"{variable!r} in arm {arm!r}")
        a = (1 - level) / 2
        med, lo, hi = np.nanquantile(Y, [0.5, a, 1 - a], axis=0)
        return med, lo, hi

    def at(self, day: float, arm: str, variable: str) -> np.ndarray:
        """Per-member values at ``day`` (linear interpolation between outputs; ``day`` within the outputs' span)."""
        Y = self._get(arm, variable)
        lo, hi = float(self.times[0]), float(self.times[-1])
        if isinstance(day, bool) or not isinstance(day, (int, float, np.number)) or not lo <= day <= hi:
            raise FitError(f"day {day!r} is outside the predicted span ({lo:g} to {hi:g} days); values beyond it "
                           "would be extrapolated")
        return np.array([np.interp(day, self.times, y) for y in Y])

    def endpoint_table(self, names: Sequence[str], day: float | None = None, control: str = "control",
                       level: float = 0.9):
        """Median and central ``level`` interval of ``names`` at ``day`` per arm, and of % of control.

        The % of control is computed member by member (each member against
        its own control arm), then summarised.

        Returns
        -------
        pandas.DataFrame
            ``arm``, then per name ``<name>``, ``<name>_lo``, ``<name>_hi``
            and (with a control arm) ``<name>_pct_control``, ``..._lo``, ``..._hi``;
            ``.attrs`` holds ``day``, ``level`` and ``members``.
        """
        import pandas as pd

        day = float(self.times[-1]) if day is None else day
        a = (1 - level) / 2
        rows = []
        for arm in self.arms:
            row: dict[str, Any] = {"arm": arm}
            for n in names:
                v = self.at(day, arm, n)
                self._check_level(level, v[:, None], f"{n!r} in arm {arm!r}")
                row[n], row[n + "_lo"], row[n + "_hi"] = np.nanquantile(v, [0.5, a, 1 - a])
                if control in self.arms:
                    ref = self.at(day, control, n)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        pct = 100.0 * v / ref
                    q = np.nanquantile(pct, [0.5, a, 1 - a])
                    row[n + "_pct_control"], row[n + "_pct_control_lo"], row[n + "_pct_control_hi"] = q
            rows.append(row)
        df = pd.DataFrame(rows)
        df.attrs.update(day=day, level=level, members=len(self.members))
        return df


def predict_arms(model: Model, arms: Sequence[Arm], ensemble: Ensemble, days: float | None = None,
                 times: Sequence[float] | np.ndarray | None = None, n_members: int | None = 100,
                 variables: Sequence[str] | None = None, progress: bool | None = None) -> EnsemblePrediction:
    """Simulate every arm under ``n_members`` members evenly spaced through the ensemble.

    Parameters
    ----------
    model : Model
    arms : sequence of Arm
    ensemble : Ensemble
        Members (with its fixed overrides) are applied as parameter overrides.
    days : float, optional
        Simulation length, days (default: 28, or the last of ``times`` when they are given).
    times : array_like, optional
        Output times within ``[0, days]`` (default: 4 per day).
    n_members : int, optional
        Members simulated (default 100; ``None``: every member). More than the ensemble holds are
        refused. A central 90 % band or interval needs at least 20 of them
        (:meth:`EnsemblePrediction.band`).
    variables : sequence of str, optional
        States and observables kept (default: all).
    progress : bool, optional
        Progress bar on stderr.

    Returns
    -------
    EnsemblePrediction
    """
    if not len(ensemble):
        raise FitError("the ensemble has no members")
    if isinstance(arms, (str, Arm)):
        raise FitError(f"arms: expected a sequence of Arm objects, got {arms!r}")
    arms = list(arms)
    if not arms:
        raise FitError("arms: give at least one Arm")
    for a in arms:
        if not isinstance(a, Arm):
            raise FitError(f"arms: expected Arm objects, got {a!r} ({type(a).__name__})")
    dup = sorted({a.name for a in arms if sum(b.name == a.name for b in arms) > 1})
    if dup:
        raise FitError(f"arms: each arm needs its own name; repeated: {', '.join(dup)}")
    if days is None:
        days = 28.0 if times is None else float(np.asarray(times, dtype=float).max(initial=0.0))
    days = number(days, "days (simulation length)", low=0.0, low_open=True, error=FitError)
    if n_members is not None and (isinstance(n_members, bool) or not isinstance(n_members, (int, np.integer))
                                  or n_members < 1):
        raise FitError(f"n_members must be an integer >= 1 or None, got {n_members!r}")
    if n_members is not None and n_members > len(ensemble):
        raise FitError(f"n_members {n_members} is more than the ensemble's {len(ensemble)} members (None: all of them)")
    k = len(ensemble) if n_members is None else int(n_members)
    pick = tuple(int(i) for i in np.unique(np.linspace(0, len(ensemble) - 1, k).round().astype(int)))
    t = np.linspace(0.0, float(days), int(round(4 * days)) + 1) if times is None else np.asarray(times, float)
    names = tuple(variables) if variables else tuple(model.state_names + model.observable_names)
    sims = {a.name: Simulator(model, a, float(days), t) for a in arms}  # it checks the times against the span
    values = {(a, n): np.full((len(pick), len(t)), np.nan) for a in sims for n in names}
    failed: dict[tuple[str, int], str] = {}
    show = progress if progress is not None else sys.stderr.isatty()
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pick), unit="member", leave=False)
    for row, m in enumerate(pick):
        params = ensemble.member(m)
        for arm, sim in sims.items():
            try:
                res = sim.run(params)
            except BonemetError as exc:
                failed[(arm, m)] = str(exc)
                continue
            for n in names:
                values[(arm, n)][row] = res[n]
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return EnsemblePrediction(t, tuple(sims), names, values, pick, failed)

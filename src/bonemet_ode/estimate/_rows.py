"""The data rows of a fit on their likelihood scale: :class:`RowLayout` (built once per problem, no solves)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..data.readers import DataTable
from ..errors import DataError
from .noise import NoiseModel

__all__ = ["RowLayout", "check_row_values", "row_layout"]


@dataclass(frozen=True, eq=False)
class RowLayout:
    """Per-row arrays of a data table, transformed for the likelihood.

    Attributes
    ----------
    obs_names, arm_names : tuple of str
        Data observables and arms, in order of first appearance.
    y, ty : ndarray (n,)
        Values in data units and on the likelihood scale ``T(y)``.
    censored, has_sd : ndarray of bool (n,)
        Left-censored rows; rows with a given sd.
    given_s : ndarray (n,)
        Given sds on the likelihood scale (NaN where none).
    log_jac : ndarray (n,)
        ``log |dT/dy|`` of observed rows (0 for censored ones).
    offset : ndarray (n,)
        Constant of the sigma residuals, ``1 - log(floor)``.
    row_obs, row_arm, row_tidx : ndarray of int (n,)
        Index of each row's observable, arm, and time within :attr:`arm_times`.
    arm_times : tuple of ndarray
        Sorted unique measurement times of each arm, days.
    data_scale : dict of str to float
        Median positive value of each observable (scale of steps and bounds).
    """

    obs_names: tuple[str, ...]
    arm_names: tuple[str, ...]
    y: np.ndarray
    ty: np.ndarray
    censored: np.ndarray
    has_sd: np.ndarray
    given_s: np.ndarray
    log_jac: np.ndarray
    offset: np.ndarray
    row_obs: np.ndarray
    row_arm: np.ndarray
    row_tidx: np.ndarray
    arm_times: tuple[np.ndarray, ...]
    data_scale: dict[str, float]


def row_layout(data: DataTable, noise: Mapping[str, NoiseModel], *, check_values: bool = True) -> RowLayout:
    """The :class:`RowLayout` of ``data`` with the noise model of each observable.

    With ``check_values`` (the default) the values are checked too (:func:`check_row_values`, raises
    :class:`DataError`); without, the layout is built as it is (a non-positive value under log-normal
    noise is then transformed as a tiny positive one) so that the problem's configuration can be
    checked before its data values.
    """
    import pandas as pd
    fr = data.frame
    obs_names = tuple(noise)
    arm_names = tuple(str(a) for a in pd.unique(fr["arm"]))
    y = fr["value"].to_numpy(float)
    censored = fr["censored"].to_numpy(bool)
    sd = fr["sd"].to_numpy(float)
    has_sd = np.isfinite(sd)
    row_obs = fr["observable"].map({o: i for i, o in enumerate(obs_names)}).to_numpy(int)
    row_arm = fr["arm"].map({a: i for i, a in enumerate(arm_names)}).to_numpy(int)
    ty = np.empty_like(y)
    given_s = np.full_like(y, np.nan)
    log_jac = np.zeros_like(y)
    offset = np.zeros_like(y)
    data_scale: dict[str, float] = {}
    for k, o in enumerate(obs_names):
        rows = row_obs == k
        nm = noise[o]
        yk = y[rows]
        pos = yk[yk > 0]
        scale = float(np.median(pos)) if pos.size else 1.0
        data_scale[o] = scale
        ty[rows] = nm.transform(yk)
        log_jac[rows] = np.where(censored[rows], 0.0, nm.log_jacobian(yk))
        given = rows & has_sd
        given_s[given] = nm.given_sd(y[given], sd[given])
        floor = 1e-8 if nm.log_scale else 1e-8 * scale
        offset[rows] = 1.0 - math.log(floor)
    times = fr["time"].to_numpy(float)
    row_tidx = np.zeros(len(times), dtype=int)
    arm_times = []
    for k in range(len(arm_names)):
        rows = row_arm == k
        t_arm = np.unique(times[rows])
        arm_times.append(t_arm)
        row_tidx[rows] = np.searchsorted(t_arm, times[rows])
    layout = RowLayout(obs_names, arm_names, y, ty, censored, has_sd, given_s, log_jac, offset, row_obs, row_arm,
                       row_tidx, tuple(arm_times), data_scale)
    if check_values:
        check_row_values(data, layout, noise)
    return layout


def check_row_values(data: DataTable, rows: RowLayout, noise: Mapping[str, NoiseModel]) -> None:
    """Refuse data values the noise models cannot use: a value <= 0 under a log-scale model, a given sd <= 0.

    Raises
    ------
    DataError
        Naming the observable, subject and day (or row) of the first such value.
    """
    fr = data.frame
    y = rows.y
    for k, o in enumerate(rows.obs_names):
        if not noise[o].log_scale:
            continue
        bad = np.flatnonzero((rows.row_obs == k) & (y <= 0))
        if bad.size:
            r = bad[0]
            raise DataError(
                f"{data.source}: observable {o!r} has value {y[r]:g} <= 0 (subject "
                f"{fr['subject'].iat[r]!r}, day {fr['time'].iat[r]:g}); log-normal noise needs positive "
                "values: read the data with lloq=<detection limit> to censor them, or use another noise model")
    if np.any(rows.has_sd & (rows.given_s <= 0)):
        r = int(np.flatnonzero(rows.has_sd & (rows.given_s <= 0))[0])
        raise DataError(f"{data.source}: sd of row {r + 1} (subject {fr['subject'].iat[r]!r}) must be > 0")

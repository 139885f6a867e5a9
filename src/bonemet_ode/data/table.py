"""The :class:`DataTable` container (see :mod:`bonemet_ode.data.readers` for the layout)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from bonemet_ode.errors import BonemetWarning, DataError

from ._tabular import RawTable, numeric_column, text_column

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "DEFAULT_OBSERVABLE", "DROPPED_COLUMNS", "DataTable", "check_lloq"]

#: Columns of :attr:`DataTable.dropped`: the 1-based data row, the file line (NA for a
#: DataFrame), the subject and the time as written, the column, the cell, and why.
DROPPED_COLUMNS: tuple[str, ...] = ("row", "line", "subject", "time", "column", "cell", "reason")

#: Column order of :attr:`DataTable.frame`.
COLUMNS: tuple[str, ...] = ("subject", "arm", "time", "observable", "value", "sd", "censored")

#: Observable name used when the input does not say what was measured.
DEFAULT_OBSERVABLE = "tumor_volume"


def check_lloq(lloq: float | None) -> float | None:
    """Validate a lower limit of quantification (positive finite number or None)."""
    if lloq is None:
        return None
    if isinstance(lloq, bool) or not isinstance(lloq, (int, float, np.integer, np.floating)):
        raise DataError(f"lloq: expected a positive number or None, got {lloq!r}")
    if not np.isfinite(lloq) or lloq <= 0:
        raise DataError(f"lloq: expected a positive finite number (the detection limit), got {lloq!r}")
    return float(lloq)


def _row(frame: pd.DataFrame, position: int) -> str:
    return f"row {position + 1} (subject {frame['subject'].iat[position]!r}, time {frame['time'].iat[position]:g})"


class DataTable:
    """Measurements in long layout, validated and immutable.

    Parameters
    ----------
    frame
        DataFrame with columns ``subject, arm, time, observable, value`` and
        optionally ``sd`` (NaN allowed) and ``censored`` (bool); time in days.
    blanks_skipped
        Number of blank cells (not measured, e.g. after sacrifice) that the
        reader skipped; shown in the summary, never data.
    lloq
        Lower limit of quantification.  Values ``< lloq`` become
        ``value = lloq, censored = True``.
    source
        Where the data came from (file name), for messages.
    dropped
        Rows (or, for the wide layout, cells) the reader left out, with the
        reason: a DataFrame with columns :data:`DROPPED_COLUMNS`.  Empty when
        nothing was left out.

    Raises
    ------
    DataError
        Missing columns, NaN or non-numeric entries, negative times or values,
        negative ``sd``, duplicate ``(subject, time, observable)`` rows, or a
        subject listed in more than one arm.

    Warns
    -----
    BonemetWarning
        If ``lloq`` is None and some values are exactly zero.

    Notes
    -----
    Rows are ordered by subject (first appearance), observable, then time.
    :attr:`frame` returns a copy, so a table cannot be changed after
    validation.
    """

    __slots__ = ("_frame", "_blanks", "_lloq", "_source", "_dropped")
    _frame: pd.DataFrame
    _blanks: int
    _lloq: float | None
    _source: str
    _dropped: pd.DataFrame

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        blanks_skipped: int = 0,
        lloq: float | None = None,
        source: str = "<DataFrame>",
        dropped: pd.DataFrame | None = None,
    ) -> None:
        import pandas as pd
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
        if isinstance(blanks_skipped, bool) or not isinstance(blanks_skipped, (int, np.integer)) or blanks_skipped < 0:
            raise DataError(f"blanks_skipped: expected a non-negative integer, got {blanks_skipped!r}")
        lloq = check_lloq(lloq)
        required = ("subject", "arm", "time", "observable", "value")
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise DataError(
                f"{source}: missing column(s) {missing}; available columns are {list(frame.columns)}"
            )
        raw = RawTable(frame=frame.reset_index(drop=True), source=source, from_file=False)
        out = pd.DataFrame(
            {
                "subject": text_column(raw, "subject"),
                "arm": text_column(raw, "arm"),
                "time": numeric_column(raw, "time", allow_nan=False),
                "observable": text_column(raw, "observable"),
                "value": numeric_column(raw, "value", allow_nan=False),
                "sd": numeric_column(raw, "sd", allow_nan=True) if "sd" in frame.columns
                else np.full(len(frame), np.nan),
                "censored": self._censored(raw) if "censored" in frame.columns
                else np.zeros(len(frame), dtype=bool),
            }
        )
        self._validate(out, source)
        if lloq is not None:
            below = out["value"].to_numpy() < lloq
            out.loc[below, "value"] = lloq
            out.loc[below, "censored"] = True
        else:
            n_zero = int((out["value"] == 0).sum())
            if n_zero:
                warnings.warn(
                    f"{source}: {n_zero} value(s) are exactly 0; they are kept as zeros. "
                    "A log-scale fit or growth-rate analysis cannot use them: pass lloq=<detection "
                    "limit> to treat them as left-censored at that limit.",
                    BonemetWarning,
                    stacklevel=3,
                )
        order = pd.Categorical(out["subject"], categories=pd.unique(out["subject"]), ordered=True)
        out = out.assign(_o=order).sort_values(["_o", "observable", "time"], kind="stable").drop(columns="_o")
        out = out.reset_index(drop=True)
        for col in ("subject", "arm", "observable"):
            out[col] = out[col].astype(object)
        object.__setattr__(self, "_frame", out[list(COLUMNS)])
        object.__setattr__(self, "_blanks", int(blanks_skipped))
        object.__setattr__(self, "_lloq", lloq)
        object.__setattr__(self, "_source", str(source))
        if dropped is None:
            dropped = pd.DataFrame({c: pd.Series([], dtype=object) for c in DROPPED_COLUMNS})
        elif not isinstance(dropped, pd.DataFrame) or list(dropped.columns) != list(DROPPED_COLUMNS):
            raise DataError(f"dropped: expected a DataFrame with columns {list(DROPPED_COLUMNS)}")
        object.__setattr__(self, "_dropped", dropped.reset_index(drop=True))

    @staticmethod
    def _censored(raw: RawTable) -> np.ndarray:
        series = raw.frame["censored"]
        mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
        out = np.zeros(len(series), dtype=bool)
        for i, item in enumerate(series.tolist()):
            if isinstance(item, (bool, np.bool_)) or (
                isinstance(item, (int, float, np.integer, np.floating)) and item in (0, 1)
            ):
                out[i] = bool(item)
            elif isinstance(item, str) and item.strip().lower() in mapping:
                out[i] = mapping[item.strip().lower()]
            else:
                raise DataError(
                    f"{raw.source}: column 'censored' must be boolean (True/False/1/0); "
                    f"{raw.row_label(i)} has {item!r}"
                )
        return out

    @staticmethod
    def _validate(out: pd.DataFrame, source: str) -> None:
        for col, what in (("time", "times (days)"), ("value", "values"), ("sd", "sd values")):
            bad = np.flatnonzero(out[col].to_numpy() < 0)
            if bad.size:
                shown = "; ".join(f"{_row(out, i)}: {out[col].iat[i]:g}" for i in bad[:5])
                hint = " (use time_shift= in the reader to move the first day to 0)" if col == "time" else ""
                raise DataError(f"{source}: negative {what} in column {col!r} at {shown}{hint}")
        dup = out.duplicated(["subject", "time", "observable"], keep=False).to_numpy()
        if dup.any():
            rows = np.flatnonzero(dup)
            shown = ", ".join(
                f"row {i + 1} (subject {out['subject'].iat[i]!r}, time {out['time'].iat[i]:g}, "
                f"observable {out['observable'].iat[i]!r})"
                for i in rows[:6]
            )
            raise DataError(f"{source}: duplicate (subject, time, observable) rows: {shown}")
        arms_per_subject = out.groupby("subject", sort=False)["arm"].unique()
        multi = arms_per_subject[arms_per_subject.map(len) > 1]
        if len(multi):
            subject = multi.index[0]
            raise DataError(
                f"{source}: subject {subject!r} appears in more than one arm {list(multi.iloc[0])}; "
                "subject identifiers must be unique across arms"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"DataTable is immutable; cannot set {name!r}")

    # ------------------------------------------------------------------ access
    @property
    def frame(self) -> pd.DataFrame:
        """A copy of the long table (columns :data:`COLUMNS`)."""
        return self._frame.copy()

    @property
    def blanks_skipped(self) -> int:
        """Blank (not measured) cells that the reader skipped."""
        return self._blanks

    @property
    def dropped(self) -> pd.DataFrame:
        """What the reader left out and why (a copy; columns :data:`DROPPED_COLUMNS`).

        Long layout: one row per data row dropped because a required cell
        (subject, arm, time, value) was a missing-value marker.  Wide layout:
        one row per day cell not measured (blank or a marker).
        """
        return self._dropped.copy()

    @property
    def lloq(self) -> float | None:
        """Lower limit of quantification applied, or None."""
        return self._lloq

    @property
    def source(self) -> str:
        """Origin of the data (file name or ``"<DataFrame>"``)."""
        return self._source

    @property
    def arms(self) -> tuple[str, ...]:
        """Arm names in order of first appearance."""
        import pandas as pd
        return tuple(pd.unique(self._frame["arm"]))

    @property
    def subjects(self) -> tuple[str, ...]:
        """Subject identifiers in order of first appearance."""
        import pandas as pd
        return tuple(pd.unique(self._frame["subject"]))

    @property
    def observables(self) -> tuple[str, ...]:
        """Observable names in order of first appearance."""
        import pandas as pd
        return tuple(pd.unique(self._frame["observable"]))

    @property
    def times(self) -> np.ndarray:
        """Sorted distinct measurement times (days)."""
        return np.unique(self._frame["time"].to_numpy())

    @property
    def n_censored(self) -> int:
        """Number of left-censored values."""
        return int(self._frame["censored"].sum())

    def __len__(self) -> int:
        return len(self._frame)

    def subjects_in(self, arm: str) -> tuple[str, ...]:
        """Subjects of one arm, in order of first appearance.

        Parameters
        ----------
        arm
            Arm name; must be one of :attr:`arms`.

        Returns
        -------
        tuple of str
        """
        import pandas as pd
        self._check_names("arm", [arm], self.arms)
        return tuple(pd.unique(self._frame.loc[self._frame["arm"] == arm, "subject"]))

    # ------------------------------------------------------------ operations
    @staticmethod
    def _as_list(name: str, value: str | Iterable[str]) -> list[str]:
        if isinstance(value, str):
            return [value]
        try:
            items = list(value)
        except TypeError as exc:
            raise DataError(f"{name}: expected a name or a sequence of names, got {value!r}") from exc
        if not items or not all(isinstance(v, str) for v in items):
            raise DataError(f"{name}: expected a non-empty sequence of strings, got {value!r}")
        return items

    def _check_names(self, what: str, names: list[str], known: tuple[str, ...]) -> None:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DataError(f"{what}: unknown {what}(s) {unknown}; the table has {list(known)}")

    def subset(
        self,
        *,
        arm: str | Iterable[str] | None = None,
        subject: str | Iterable[str] | None = None,
        observable: str | Iterable[str] | None = None,
    ) -> DataTable:
        """Select rows by arm, subject and/or observable.

        Parameters
        ----------
        arm, subject, observable
            A name or a sequence of names; None keeps all.

        Returns
        -------
        DataTable
            The selected rows (same ``lloq``, ``source``; ``blanks_skipped`` is
            carried over unchanged since blanks are not attributed to rows).

        Raises
        ------
        DataError
            If a name is not in the table, or the selection is empty.
        """
        mask = np.ones(len(self._frame), dtype=bool)
        for col, value, known in (
            ("arm", arm, self.arms),
            ("subject", subject, self.subjects),
            ("observable", observable, self.observables),
        ):
            if value is None:
                continue
            names = self._as_list(col, value)
            self._check_names(col, names, known)
            mask &= self._frame[col].isin(names).to_numpy()
        if not mask.any():
            raise DataError(
                f"subset: no rows match arm={arm!r}, subject={subject!r}, observable={observable!r}"
            )
        return DataTable(
            self._frame.loc[mask], blanks_skipped=self._blanks, lloq=self._lloq, source=self._source,
            dropped=self._dropped,
        )

    def to_wide(self, observable: str | None = None) -> pd.DataFrame:
        """Pivot to the wide layout: one row per subject, one column per day.

        Parameters
        ----------
        observable
            Which observable to pivot; may be None when the table has only one.

        Returns
        -------
        pandas.DataFrame
            Columns ``arm, subject`` then one float column per time (days,
            sorted); NaN where a subject was not measured.

        Raises
        ------
        DataError
            If ``observable`` is None with several observables, or unknown.
        """
        import pandas as pd
        if observable is None:
            if len(self.observables) > 1:
                raise DataError(
                    f"observable: the table has several observables {list(self.observables)}; name one"
                )
            observable = self.observables[0]
        self._check_names("observable", [observable], self.observables)
        sub = self._frame[self._frame["observable"] == observable]
        wide = sub.pivot(index="subject", columns="time", values="value")
        order = list(pd.unique(sub["subject"]))
        wide = wide.loc[order].sort_index(axis=1)
        arm_of = sub.drop_duplicates("subject").set_index("subject")["arm"]
        wide.insert(0, "arm", arm_of.loc[order].to_numpy())
        wide = wide.reset_index()
        wide = wide[["arm", "subject", *[c for c in wide.columns if c not in ("arm", "subject")]]]
        wide.columns.name = None
        return wide

    def summary(self) -> pd.DataFrame:
        """Counts per arm.

        Returns
        -------
        pandas.DataFrame
            Index ``arm``; columns ``n_subjects, n_values, n_censored,
            time_min, time_max`` (days).
        """
        import pandas as pd
        grouped = self._frame.groupby("arm", sort=False)
        return pd.DataFrame(
            {
                "n_subjects": grouped["subject"].nunique(),
                "n_values": grouped.size(),
                "n_censored": grouped["censored"].sum().astype(int),
                "time_min": grouped["time"].min(),
                "time_max": grouped["time"].max(),
            }
        )

    def __repr__(self) -> str:
        summ = self.summary()
        lines = [
            f"DataTable from {self._source}: {len(self)} values, {len(self.subjects)} subjects, "
            f"{len(self.arms)} arms, observables {list(self.observables)}",
            f"  time {self.times.min():g}-{self.times.max():g} days; censored {self.n_censored}"
            + (f" (lloq {self._lloq:g})" if self._lloq is not None else "")
            + f"; blank cells skipped (not measured) {self._blanks}"
            + (f"; rows dropped {len(self._dropped)} (see .dropped)" if len(self._dropped) and not self._blanks
               else ""),
        ]
        for arm, n_subj, n_val, n_cens, t_min, t_max in summ.itertuples():
            lines.append(
                f"  {arm!s}: {n_subj} subjects, {n_val} values, {n_cens} censored, days {t_min:g}-{t_max:g}"
            )
        return "\n".join(lines)

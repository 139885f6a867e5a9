"""Tidy tables of users' measurements (tumour volumes, cell counts, ...).

A :class:`DataTable` holds measurements in **long** layout, one row per
measurement, with the columns

========== ======= =====================================================
column     dtype   meaning
========== ======= =====================================================
subject    str     animal / patient identifier (unique across arms)
arm        str     treatment arm
time       float   days (>= 0)
observable str     what was measured (e.g. ``"tumor_volume"``)
value      float   measured value (>= 0), in the user's unit (e.g. mm^3)
sd         float   measurement standard deviation, NaN where not given
censored   bool    True: left-censored, the true value is below ``value``
========== ======= =====================================================

Readers: :func:`read_long` (one measurement per row) and :func:`read_wide`
(invivoSyn's ``Treatment,Mouse,<one column per day>`` layout).

Missing values: a cell is "not measured" when it is blank or one of the
markers of :data:`MISSING_MARKERS` (``NA``, ``Not measured``, ``n.d.``, ``-``,
... compared without case; pass ``missing=`` to replace the set).  The long
reader drops a row whose subject, arm, time or value is missing, warns with
the count and lists every dropped row with its reason in
:attr:`DataTable.dropped`; a cell that is neither a number nor a marker is
still an error naming its row.  Nothing is dropped silently.

Zeros and values below a detection limit are never dropped.  With
``lloq=L`` every value ``< L`` (zeros included) is kept as ``value = L`` with
``censored = True``; without ``lloq`` zeros stay zeros and a
:class:`~bonemet_ode.errors.BonemetWarning` counts them, because a log-scale
fit cannot use them.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from bonemet_ode.errors import BonemetWarning, DataError

from ._tabular import MISSING_MARKERS, RawTable, check_missing, load_raw, numeric_column, require_columns, text_column
from .table import COLUMNS, DEFAULT_OBSERVABLE, DROPPED_COLUMNS, DataTable, check_lloq

#: Arm of every row when :func:`read_long` is given ``arm_col=None``.
DEFAULT_ARM = "all"

__all__ = ["COLUMNS", "DEFAULT_ARM", "DEFAULT_OBSERVABLE", "MISSING_MARKERS", "DataTable", "read_long", "read_wide"]

if TYPE_CHECKING:
    import pandas as pd

    PathOrFrame = str | os.PathLike[str] | pd.DataFrame


def _check_col_arg(name: str, value: Any, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        expected = "a column name or None" if optional else "a column name"
        raise DataError(f"{name}: expected {expected}, got {value!r}")


def _check_shift(time_shift: float) -> float:
    if isinstance(time_shift, bool) or not isinstance(time_shift, (int, float, np.integer, np.floating)):
        raise DataError(f"time_shift: expected a number of days, got {time_shift!r}")
    if not np.isfinite(time_shift):
        raise DataError(f"time_shift: expected a finite number of days, got {time_shift!r}")
    return float(time_shift)


def read_long(
    path_or_df: PathOrFrame,
    *,
    subject_col: str = "subject",
    arm_col: str | None = "arm",
    time_col: str = "time",
    value_col: str = "value",
    observable_col: str | None = None,
    observable: str = DEFAULT_OBSERVABLE,
    arm: str = DEFAULT_ARM,
    sd_col: str | None = None,
    censored_col: str | None = None,
    sep: str | None = None,
    lloq: float | None = None,
    time_shift: float = 0.0,
    missing: frozenset[str] | set[str] | tuple[str, ...] | None = None,
) -> DataTable:
    """Read measurements in long layout (one row per measurement).

    Parameters
    ----------
    path_or_df
        CSV/TSV file (delimiter detected unless ``sep``) or a DataFrame.
    subject_col, arm_col, time_col, value_col
        Names of the subject, arm, time (days) and value columns;
        ``arm_col=None``: the data have no arm column and every row is in
        arm ``arm``.
    observable_col
        Column naming the observable of each row; None means every row is
        ``observable``.
    observable
        Observable name used when ``observable_col`` is None.
    arm
        Arm name used when ``arm_col`` is None (default ``"all"``).
    sd_col
        Optional column of measurement standard deviations (blank allowed).
    censored_col
        Optional boolean column marking values already known to be
        left-censored.
    sep
        Delimiter of a text file; None detects tab/comma/semicolon.
    lloq
        Lower limit of quantification (value units): values ``< lloq``,
        zeros included, are kept as ``lloq`` with ``censored=True``.
    time_shift
        Days added to every time before validation (e.g. ``1`` when the
        baseline is recorded as day -1).
    missing
        Cell texts meaning "not measured" (compared stripped and without
        case); default :data:`MISSING_MARKERS`.

    Returns
    -------
    DataTable
        With :attr:`DataTable.dropped` listing each row left out and why.

    Raises
    ------
    DataError
        Missing columns (the available ones are listed), non-numeric values
        that are not missing-value markers (row, column and value named),
        negative times, duplicate ``(subject, time, observable)`` rows, every
        row missing.

    Warns
    -----
    BonemetWarning
        When rows were dropped (the count and the markers met), and when
        ``lloq`` is None and some values are zero.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"subject": ["a", "a", "b"], "arm": ["c", "c", "c"], "time": [0, 7, 0],
    ...                     "value": ["10", "Not measured", "12"]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     table = read_long(raw)
    >>> len(table), table.dropped[["row", "reason"]].values.tolist()
    (2, [[2, "value is 'Not measured' (a missing-value marker)"]])
    """
    import pandas as pd
    for name, value in (("subject_col", subject_col), ("time_col", time_col), ("value_col", value_col)):
        _check_col_arg(name, value)
    for name, optional_col in (("arm_col", arm_col), ("observable_col", observable_col), ("sd_col", sd_col),
                               ("censored_col", censored_col)):
        _check_col_arg(name, optional_col, optional=True)
    if not isinstance(observable, str) or not observable.strip():
        raise DataError(f"observable: expected a non-empty name, got {observable!r}")
    if not isinstance(arm, str) or not arm.strip():
        raise DataError(f"arm: expected a non-empty arm name, got {arm!r}")
    shift = _check_shift(time_shift)
    lloq = check_lloq(lloq)
    markers = check_missing(missing)
    raw = load_raw(path_or_df, sep, markers)
    wanted = {"subject_col": subject_col, "time_col": time_col, "value_col": value_col}
    for name, col in (("arm_col", arm_col), ("observable_col", observable_col), ("sd_col", sd_col),
                      ("censored_col", censored_col)):
        if col is not None:
            wanted[name] = col
    require_columns(raw, wanted)
    raw, dropped = _drop_missing(raw, [subject_col] + ([arm_col] if arm_col else []) + [time_col, value_col]
                                 + ([observable_col] if observable_col else []), subject_col, time_col)
    frame = pd.DataFrame(
        {
            "subject": text_column(raw, subject_col),
            "arm": text_column(raw, arm_col) if arm_col else arm.strip(),
            "time": numeric_column(raw, time_col, allow_nan=False) + shift,
            "observable": text_column(raw, observable_col) if observable_col else observable.strip(),
            "value": numeric_column(raw, value_col, allow_nan=False),
        }
    )
    if sd_col is not None:
        frame["sd"] = numeric_column(raw, sd_col, allow_nan=True)
    if censored_col is not None:
        frame["censored"] = raw.frame[censored_col].to_numpy()
    _prevalidate_rows(raw, frame, {"time": time_col, "value": value_col, "sd": sd_col})
    return DataTable(frame, lloq=lloq, source=raw.source, dropped=dropped)


def _drop_missing(raw: RawTable, columns: list[str], subject_col: str,
                  time_col: str) -> tuple[RawTable, pd.DataFrame]:
    """Drop rows with a missing required cell; return the rest and one report row per dropped row."""
    import pandas as pd
    frame = raw.frame
    na = {col: frame[col].isna().to_numpy() for col in columns}
    miss = np.zeros(len(frame), dtype=bool)
    for col in columns:
        miss |= na[col]
    records: list[dict[str, Any]] = []
    for i in np.flatnonzero(miss).tolist():
        why = [f"{col} is {raw.cell_text(int(i), col)!r} (a missing-value marker)"
               for col in columns if na[col][i]]
        records.append({"row": int(i) + 1 if not raw.from_file else int(frame.index[i]) + 1,
                        "line": raw.line_of(int(i)), "subject": raw.cell_text(int(i), subject_col),
                        "time": raw.cell_text(int(i), time_col), "column": ", ".join(
                            c for c in columns if na[c][i]),
                        "cell": "; ".join(raw.cell_text(int(i), c) for c in columns if na[c][i]),
                        "reason": "; ".join(why)})
    dropped = pd.DataFrame(records, columns=list(DROPPED_COLUMNS))
    if not records:
        return raw, dropped
    if miss.all():
        raise DataError(f"{raw.source}: every row has a missing subject, arm, time or value "
                        f"(e.g. {raw.row_label(0)}: {records[0]['reason']}); no measurements to read")
    texts = sorted({c for r in records for c in r["cell"].split("; ")})
    shown = ", ".join(f"{r['row']}" for r in records[:10]) + (" ..." if len(records) > 10 else "")
    warnings.warn(
        f"{raw.source}: dropped {len(records)} row(s) with a missing subject, arm, time or value "
        f"(cells {texts[:5]}; data rows {shown}); table.dropped lists each with its reason",
        BonemetWarning,
        stacklevel=3,
    )
    return raw.take(~miss), dropped

def _prevalidate_rows(raw: RawTable, frame: pd.DataFrame, cols: dict[str, str | None]) -> None:
    """Name negative numbers by their row in the user's file."""
    for key, col in cols.items():
        if col is None or key not in frame:
            continue
        bad = np.flatnonzero(frame[key].to_numpy() < 0)
        if bad.size:
            shown = "; ".join(f"{raw.row_label(i)}: {frame[key].iat[i]:g}" for i in bad[:5])
            hint = (" (times are days and must be >= 0; pass time_shift= (command line: --time-shift) "
                    "to move the first day to 0)" if key == "time" else " (must be >= 0)")
            raise DataError(f"{raw.source}: negative value(s) in column {col!r} at {shown}{hint}")


def read_wide(
    path_or_df: PathOrFrame,
    *,
    arm_col: str = "Treatment",
    subject_col: str = "Mouse",
    observable: str = DEFAULT_OBSERVABLE,
    sep: str | None = None,
    lloq: float | None = None,
    time_shift: float = 0.0,
    missing: frozenset[str] | set[str] | tuple[str, ...] | None = None,
) -> DataTable:
    """Read invivoSyn's wide layout: ``Treatment, Mouse, <one column per day>``.

    Parameters
    ----------
    path_or_df
        CSV/TSV file (delimiter detected unless ``sep``) or a DataFrame.
    arm_col, subject_col
        Names of the arm and subject columns; every other column must be a
        day number (days).
    observable
        Name given to the measured quantity.
    sep
        Delimiter of a text file; None detects tab/comma/semicolon.
    lloq
        Lower limit of quantification (value units), see :func:`read_long`.
    time_shift
        Days added to every day column (``1`` turns a day -1 baseline into 0).
    missing
        Cell texts meaning "not measured"; default :data:`MISSING_MARKERS`.

    Returns
    -------
    DataTable
        Blank / ``NA`` cells (not measured, e.g. after sacrifice) are not rows;
        their number is in :attr:`DataTable.blanks_skipped` and the repr, and
        each is listed in :attr:`DataTable.dropped`.

    Raises
    ------
    DataError
        Missing arm/subject column, a column that is not a day number,
        non-numeric cells (row, day column and value named), negative days,
        duplicate subjects.
    """
    import pandas as pd
    _check_col_arg("arm_col", arm_col)
    _check_col_arg("subject_col", subject_col)
    if not isinstance(observable, str) or not observable.strip():
        raise DataError(f"observable: expected a non-empty name, got {observable!r}")
    shift = _check_shift(time_shift)
    lloq = check_lloq(lloq)
    markers = check_missing(missing)
    raw = load_raw(path_or_df, sep, markers)
    require_columns(raw, {"arm_col": arm_col, "subject_col": subject_col})
    day_cols = [c for c in raw.frame.columns if c not in (arm_col, subject_col)]
    if not day_cols:
        raise DataError(f"{raw.source}: no day columns after {arm_col!r} and {subject_col!r}")
    days: list[float] = []
    for col in day_cols:
        try:
            day = float(col)
        except ValueError:
            raise DataError(
                f"{raw.source}: column {col!r} is not a day number; the wide layout is "
                f"{arm_col!r}, {subject_col!r}, then one column per day (e.g. '0', '7', '14')"
            ) from None
        if not np.isfinite(day):
            raise DataError(f"{raw.source}: column {col!r} is not a finite day number")
        days.append(day + shift)
    negative = [c for c, d in zip(day_cols, days) if d < 0]
    if negative:
        raise DataError(
            f"{raw.source}: negative day column(s) {negative} (times are days and must be >= 0); "
            "pass time_shift= (command line: --time-shift) to move the first day to 0"
        )
    if len(set(days)) != len(days):
        raise DataError(f"{raw.source}: repeated day columns {day_cols}")
    arms = text_column(raw, arm_col)
    subjects = text_column(raw, subject_col)
    seen: dict[str, int] = {}
    for i, subject in enumerate(subjects):
        if subject in seen:
            raise DataError(
                f"{raw.source}: subject {subject!r} appears twice ({raw.row_label(seen[subject])} and "
                f"{raw.row_label(i)}); the wide layout has one row per subject"
            )
        seen[subject] = i
    values = np.column_stack([numeric_column(raw, c, allow_nan=True) for c in day_cols])
    measured = ~np.isnan(values)
    negative_rows = np.argwhere(values < 0)
    if negative_rows.size:
        i, j = negative_rows[0]
        raise DataError(
            f"{raw.source}: negative value {values[i, j]:g} at {raw.row_label(int(i))}, "
            f"day column {day_cols[j]!r} (values must be >= 0)"
        )
    empty = [str(subjects[i]) for i in np.flatnonzero(~measured.any(axis=1))]
    if len(empty) == len(subjects):
        raise DataError(f"{raw.source}: every day cell is blank; no measurements to read")
    rows_i, cols_j = np.nonzero(measured)
    frame = pd.DataFrame(
        {
            "subject": subjects[rows_i],
            "arm": arms[rows_i],
            "time": np.asarray(days)[cols_j],
            "observable": observable.strip(),
            "value": values[rows_i, cols_j],
        }
    )
    skipped = []
    for i, j in zip(*np.nonzero(~measured)):
        cell = raw.cell_text(int(i), day_cols[j])
        skipped.append({"row": int(raw.frame.index[i]) + 1, "line": raw.line_of(int(i)), "subject": str(subjects[i]),
                        "time": str(day_cols[j]), "column": str(day_cols[j]), "cell": cell,
                        "reason": f"day cell is {cell!r}: not measured (a missing-value marker)"})
    table = DataTable(frame, blanks_skipped=int((~measured).sum()), lloq=lloq, source=raw.source,
                      dropped=pd.DataFrame(skipped, columns=list(DROPPED_COLUMNS)))
    if empty:
        warnings.warn(
            f"{raw.source}: subject(s) {empty} have no measurement at all and are not in the table",
            BonemetWarning,
            stacklevel=2,
        )
    return table

"""Low-level parsing helpers shared by the tidy-data readers.

These functions turn a user's file or DataFrame into raw columns and convert
them to numbers, raising :class:`~bonemet_ode.errors.DataError` with messages
that name the offending row, column and value.  They are private: the public
entry points are :func:`bonemet_ode.data.readers.read_long` and
:func:`bonemet_ode.data.readers.read_wide`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bonemet_ode.errors import DataError

__all__ = ["RawTable", "load_raw", "numeric_column", "text_column", "require_columns"]

#: Strings read as "not measured" (blank cells and R's ``NA``).
NA_STRINGS: tuple[str, ...] = ("", "NA", "N/A", "NaN", "nan", "na", "null", "NULL", "-")


@dataclass(frozen=True)
class RawTable:
    """A table as read, before any conversion.

    Attributes
    ----------
    frame
        All columns as read (strings from files, the user's dtypes from a
        DataFrame), with missing cells as NaN.
    source
        Human-readable origin: the file path, or ``"<DataFrame>"``.
    from_file
        Whether the rows came from a text file (row labels then quote file
        line numbers).
    """

    frame: pd.DataFrame
    source: str
    from_file: bool

    def row_label(self, position: int) -> str:
        """Name the data row at 0-based ``position`` for an error message.

        Parameters
        ----------
        position
            0-based position of the row in :attr:`frame`.

        Returns
        -------
        str
            ``"row 3 (line 4 of data.csv)"`` for files (line 1 is the header),
            ``"row 3 (index label 'x')"`` for DataFrames.
        """
        if self.from_file:
            return f"row {position + 1} (line {position + 2} of {self.source})"
        return f"row {position + 1} (index label {self.frame.index[position]!r})"


def _detect_sep(path: Path) -> str:
    """Guess the delimiter of a delimited text file from its extension and header."""
    if path.suffix.lower() in {".tsv", ".tab"}:
        return "\t"
    with path.open("r", encoding="utf-8-sig") as handle:
        header = handle.readline()
    counts = {sep: header.count(sep) for sep in ("\t", ",", ";")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def load_raw(path_or_df: str | os.PathLike[str] | pd.DataFrame, sep: str | None) -> RawTable:
    """Read a CSV/TSV file (delimiter detected unless ``sep``) or wrap a DataFrame.

    Parameters
    ----------
    path_or_df
        Path to a delimited text file, or a :class:`pandas.DataFrame`.
    sep
        Delimiter; ``None`` detects tab, comma or semicolon from the header
        (``.tsv``/``.tab`` files are always tab-separated).

    Returns
    -------
    RawTable
        The columns as read, with blank and ``NA`` cells as NaN.

    Raises
    ------
    DataError
        If the file does not exist, is empty, or ``path_or_df`` has the wrong type.
    """
    if isinstance(path_or_df, pd.DataFrame):
        if path_or_df.empty:
            raise DataError("path_or_df: the DataFrame has no rows; expected at least one measurement")
        frame = path_or_df.copy()
        frame.columns = [str(c).strip() for c in frame.columns]
        return RawTable(frame=frame, source="<DataFrame>", from_file=False)
    if not isinstance(path_or_df, (str, os.PathLike)):
        raise DataError(
            f"path_or_df: expected a file path or a pandas DataFrame, got {type(path_or_df).__name__}"
        )
    path = Path(path_or_df)
    if not path.is_file():
        raise DataError(f"path_or_df: file {str(path)!r} does not exist")
    if sep is not None and (not isinstance(sep, str) or sep == ""):
        raise DataError(f"sep: expected a non-empty delimiter string or None, got {sep!r}")
    delimiter = sep if sep is not None else _detect_sep(path)
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=list(NA_STRINGS),
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"path_or_df: file {str(path)!r} is empty") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"path_or_df: could not parse {str(path)!r} with sep={delimiter!r}: {exc}") from exc
    if frame.empty:
        raise DataError(f"path_or_df: file {str(path)!r} has a header but no data rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(frame=frame, source=path.name, from_file=True)


def require_columns(raw: RawTable, wanted: dict[str, str]) -> None:
    """Check that every requested column exists.

    Parameters
    ----------
    raw
        The table as read.
    wanted
        Mapping ``argument name -> column name`` (e.g. ``{"time_col": "Day"}``).

    Raises
    ------
    DataError
        Naming every missing column, the argument that asked for it and the
        available columns.
    """
    available = list(raw.frame.columns)
    missing = [f"{col!r} (from {arg})" for arg, col in wanted.items() if col not in available]
    if missing:
        raise DataError(
            f"{raw.source}: missing column(s) {', '.join(missing)}; "
            f"available columns are {available}"
        )


def numeric_column(raw: RawTable, column: str, *, allow_nan: bool) -> np.ndarray:
    """Convert one column to float, naming any non-numeric or missing cell.

    Parameters
    ----------
    raw
        The table as read.
    column
        Column name.
    allow_nan
        Whether missing cells are allowed (they stay NaN).

    Returns
    -------
    numpy.ndarray
        Float values, one per row.

    Raises
    ------
    DataError
        On a non-numeric or infinite cell (row, column and value are named), or
        a missing cell when ``allow_nan`` is false.
    """
    series = raw.frame[column]
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    was_missing = series.isna().to_numpy()
    bad = np.flatnonzero(np.isnan(values) & ~was_missing)
    if bad.size:
        shown = "; ".join(f"{raw.row_label(i)}: {series.iloc[i]!r}" for i in bad[:5])
        more = f" (and {bad.size - 5} more)" if bad.size > 5 else ""
        raise DataError(
            f"{raw.source}: column {column!r} must be numeric; non-numeric value(s) at {shown}{more}"
        )
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        shown = "; ".join(f"{raw.row_label(i)}: {series.iloc[i]!r}" for i in inf[:5])
        raise DataError(f"{raw.source}: column {column!r} must be finite; infinite value(s) at {shown}")
    if not allow_nan and was_missing.any():
        rows = np.flatnonzero(was_missing)
        shown = ", ".join(raw.row_label(i) for i in rows[:5])
        more = f" (and {rows.size - 5} more)" if rows.size > 5 else ""
        raise DataError(
            f"{raw.source}: column {column!r} is required but is blank/NaN at {shown}{more}"
        )
    return values


def text_column(raw: RawTable, column: str) -> np.ndarray:
    """Convert an identifier column (subject, arm, observable) to stripped strings.

    Parameters
    ----------
    raw
        The table as read.
    column
        Column name.

    Returns
    -------
    numpy.ndarray
        Object array of non-empty strings.  Whole numbers read as floats from a
        DataFrame (``3.0``) are written without the decimal (``"3"``).

    Raises
    ------
    DataError
        If a cell is blank/NaN (the row is named).
    """
    series = raw.frame[column]
    missing = series.isna().to_numpy()
    out = np.empty(len(series), dtype=object)
    for i, item in enumerate(series.tolist()):
        if missing[i]:
            continue
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        out[i] = str(item).strip()
        if out[i] == "":
            missing[i] = True
    if missing.any():
        rows = np.flatnonzero(missing)
        shown = ", ".join(raw.row_label(i) for i in rows[:5])
        more = f" (and {rows.size - 5} more)" if rows.size > 5 else ""
        raise DataError(f"{raw.source}: column {column!r} is required but is blank/NaN at {shown}{more}")
    return out

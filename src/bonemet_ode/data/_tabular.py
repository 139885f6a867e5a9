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
from typing import TYPE_CHECKING, Any

import numpy as np

from bonemet_ode.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RawTable", "load_raw", "numeric_column", "text_column", "require_columns", "MISSING_MARKERS",
           "check_missing", "is_marker"]

#: Cell texts read as "not measured", compared after stripping spaces and ignoring case: blank
#: cells, R's and Excel's ``NA``/``#N/A``, ``NaN``, ``null``, dashes, ``n.d.``/``nd`` (not
#: determined), ``Not measured`` and ``missing``.  ``None`` is *not* a marker: it names the
#: control arm of some files (SynergyLMM's U87MG set).  Readers take ``missing=`` to replace it.
MISSING_MARKERS: frozenset[str] = frozenset({
    "", "na", "n/a", "#n/a", "nan", "null", "-", "--", "—", ".", "n.d.", "nd", "n.d", "not measured",
    "not done", "not determined", "missing",
})

#: Kept for code written against 0.1 (the readers now use :data:`MISSING_MARKERS`).
NA_STRINGS: tuple[str, ...] = ("", "NA", "N/A", "NaN", "nan", "na", "null", "NULL", "-")


def check_missing(missing: object) -> frozenset[str]:
    """Validate a ``missing=`` argument: an iterable of marker strings (compared case-insensitively).

    Raises
    ------
    DataError
        When ``missing`` is a single string or holds something other than strings.
    """
    if missing is None:
        return MISSING_MARKERS
    if isinstance(missing, str):
        raise DataError(f"missing: expected a collection of marker strings (e.g. {{'NA', 'Not measured'}}), "
                        f"got the single string {missing!r}")
    try:
        items = list(missing)  # type: ignore[call-overload]
    except TypeError:
        raise DataError(f"missing: expected a collection of marker strings, got {missing!r}") from None
    bad = [m for m in items if not isinstance(m, str)]
    if bad:
        raise DataError(f"missing: markers must be strings, got {bad[:3]!r}")
    return frozenset(m.strip().casefold() for m in items)


def is_marker(item: Any, markers: frozenset[str]) -> bool:
    """Whether a cell is missing: NaN/None, or a string whose stripped, case-folded text is a marker."""
    import pandas as pd
    if item is None:
        return True
    if isinstance(item, float) and np.isnan(item):
        return True
    if isinstance(item, str):
        return item.strip().casefold() in markers
    try:
        return bool(pd.isna(item))
    except (TypeError, ValueError):
        return False


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
    cells: pd.DataFrame | None = None

    def cell_text(self, position: int, column: str) -> str:
        """The cell as it was written (a missing-value marker included)."""
        if self.cells is not None and column in self.cells:
            item = self.cells[column].iloc[position]
        else:
            item = self.frame[column].iloc[position]
        if item is None or (isinstance(item, float) and np.isnan(item)):
            return "" if self.from_file else "NaN"
        return str(item)

    def take(self, keep: np.ndarray) -> RawTable:
        """The rows where ``keep`` is true, keeping their original row labels."""
        return RawTable(self.frame.loc[keep], self.source, self.from_file,
                        None if self.cells is None else self.cells.loc[keep])

    def line_of(self, position: int) -> int | None:
        """1-based line of the file holding data row ``position`` (None for a DataFrame)."""
        return int(self.frame.index[position]) + 2 if self.from_file else None

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
            row = int(self.frame.index[position])
            return f"row {row + 1} (line {row + 2} of {self.source})"
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


def load_raw(path_or_df: str | os.PathLike[str] | pd.DataFrame, sep: str | None,
             missing: frozenset[str] = MISSING_MARKERS) -> RawTable:
    """Read a CSV/TSV file (delimiter detected unless ``sep``) or wrap a DataFrame.

    Parameters
    ----------
    path_or_df
        Path to a delimited text file, or a :class:`pandas.DataFrame`.
    sep
        Delimiter; ``None`` detects tab, comma or semicolon from the header
        (``.tsv``/``.tab`` files are always tab-separated).
    missing
        Case-folded missing-value markers (see :data:`MISSING_MARKERS`).

    Returns
    -------
    RawTable
        The columns as read, with missing cells (markers) as NaN; the cells
        as written in :attr:`RawTable.cells`.

    Raises
    ------
    DataError
        If the file does not exist, is a directory, is empty, or ``path_or_df`` has the wrong type.
    """
    import pandas as pd
    if isinstance(path_or_df, pd.DataFrame):
        if path_or_df.empty:
            raise DataError("path_or_df: the DataFrame has no rows; expected at least one measurement")
        cells = path_or_df.copy()
        cells.columns = [str(c).strip() for c in cells.columns]
        frame = cells.copy()
        for col in frame.columns:
            if not (pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col])):
                mask = np.array([is_marker(v, missing) for v in frame[col].tolist()], dtype=bool)
                if mask.any():
                    frame[col] = frame[col].where(~mask, np.nan)
        return RawTable(frame=frame, source="<DataFrame>", from_file=False, cells=cells)
    if not isinstance(path_or_df, (str, os.PathLike)):
        raise DataError(
            f"path_or_df: expected a file path or a pandas DataFrame, got {type(path_or_df).__name__}"
        )
    path = Path(path_or_df)
    if path.is_dir():
        raise DataError(f"path_or_df: {str(path)!r} is a directory; expected a data file (CSV/TSV)")
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a regular file"
        raise DataError(f"path_or_df: file {str(path)!r} {what}")
    if sep is not None and (not isinstance(sep, str) or sep == ""):
        raise DataError(f"sep: expected a non-empty delimiter string or None, got {sep!r}")
    try:
        delimiter = sep if sep is not None else _detect_sep(path)
    except UnicodeDecodeError as exc:
        raise DataError(f"path_or_df: {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        _check_field_counts(path, delimiter)
        cells = pd.read_csv(
            path,
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"path_or_df: file {str(path)!r} is empty") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"path_or_df: could not parse {str(path)!r} with sep={delimiter!r}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"path_or_df: {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if cells.empty:
        raise DataError(f"path_or_df: file {str(path)!r} has a header but no data rows")
    cells.columns = [str(c).strip() for c in cells.columns]
    frame = cells.copy()
    for col in frame.columns:
        mask = np.array([is_marker(v, missing) for v in frame[col].tolist()], dtype=bool)
        if mask.any():
            frame[col] = frame[col].where(~mask, np.nan)
    return RawTable(frame=frame, source=path.name, from_file=True, cells=cells)


def _check_field_counts(path: Path, delimiter: str) -> None:
    """Refuse a data line with more or fewer fields than the header.

    pandas would take extra leading fields as row labels, or pad a short line with missing values:
    either would shift or drop measurements without a word.  Blank lines are skipped, as pandas does.
    """
    import csv

    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, skipinitialspace=True) if len(delimiter) == 1 else None
        if reader is None:  # a regular-expression separator: pandas' own parser has checked the lines
            return
        try:
            header = next(reader, None)
            width = len(header or [])
            rows = [(reader.line_num, row) for row in reader]
        except csv.Error as exc:
            raise DataError(f"path_or_df: could not parse {path.name!r} with sep={delimiter!r}: {exc}") from None
        for line, row in rows:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                raise DataError(f"path_or_df: line {line} of {path.name!r} has {len(row)} fields, the "
                                f"header has {width} (sep={delimiter!r}): a missing or extra separator would shift "
                                "values into the wrong columns")


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
    import pandas as pd
    series = raw.frame[column]
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    was_missing = series.isna().to_numpy()
    bad = np.flatnonzero(np.isnan(values) & ~was_missing)
    if bad.size:
        shown = "; ".join(f"{raw.row_label(i)}: {series.iloc[i]!r}" for i in bad[:5])
        more = f" (and {bad.size - 5} more)" if bad.size > 5 else ""
        raise DataError(
            f"{raw.source}: column {column!r} must be numeric; non-numeric value(s) at {shown}{more} "
            "(a cell that means 'not measured' is dropped when it is one of the missing-value markers; "
            "pass missing= to name yours)"
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

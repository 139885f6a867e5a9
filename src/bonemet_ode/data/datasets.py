"""Example datasets shipped inside the package.

Two tumour-volume tables from the invivoSyn R package
(github.com/maobinchen/invivoSyn @ 7dcab78, ``inst/extdata``; Copyright (c)
2023 Binchen Mao; MIT licence, reproduced in ``bonemet_ode/data/LICENSE.md``)
are bundled verbatim:

* ``"SW837"`` -- SW837 colorectal xenograft; Vehicle, Rabusertib, Irinotecan,
  ``Irinotecan + Rabusertib``; days -1 (baseline), 6, 13, 20, 24.
* ``"CR1197"`` -- CR1197 colorectal PDX; Vehicle, Cetuximab, Palbociclib,
  ``Palbociclib+Cetuximab``; days 33-89, blanks after sacrifice, two zero
  volumes.

Volumes are in mm^3 and times in days.
"""

from __future__ import annotations

from importlib import resources

from bonemet_ode.errors import DataError

from .readers import read_wide
from .table import DataTable

__all__ = ["INVIVOSYN_DATASETS", "invivosyn_path", "load_invivosyn"]

#: Names accepted by :func:`load_invivosyn`.
INVIVOSYN_DATASETS: tuple[str, ...] = ("SW837", "CR1197")


def invivosyn_path(name: str) -> str:
    """Filesystem path of a bundled invivoSyn CSV.

    Parameters
    ----------
    name
        One of :data:`INVIVOSYN_DATASETS` (case-insensitive).

    Returns
    -------
    str
        Path to the wide CSV inside the installed package.

    Raises
    ------
    DataError
        If ``name`` is not a bundled dataset.
    """
    if not isinstance(name, str):
        raise DataError(f"name: expected one of {list(INVIVOSYN_DATASETS)}, got {name!r}")
    lookup = {n.lower(): n for n in INVIVOSYN_DATASETS}
    key = name.strip().lower()
    if key not in lookup:
        raise DataError(f"name: unknown invivoSyn dataset {name!r}; available: {list(INVIVOSYN_DATASETS)}")
    path = resources.files("bonemet_ode") / "data" / f"{lookup[key]}.csv"
    if not path.is_file():
        raise DataError(f"bundled file data/{lookup[key]}.csv is missing from the installed package")
    return str(path)


def load_invivosyn(name: str, *, lloq: float | None = None, time_shift: float | None = None) -> DataTable:
    """Load a bundled invivoSyn dataset as a :class:`~bonemet_ode.data.readers.DataTable`.

    Parameters
    ----------
    name
        ``"SW837"`` or ``"CR1197"`` (case-insensitive).
    lloq
        Lower limit of quantification (mm^3) passed to
        :func:`~bonemet_ode.data.readers.read_wide`; values below it are kept as
        left-censored.  CR1197 contains two zero volumes: without ``lloq`` a
        :class:`~bonemet_ode.errors.BonemetWarning` reports them.
    time_shift
        Days added to every day column.  None shifts the first day to 0 when
        it is negative (SW837's baseline day -1 becomes day 0, as in the
        SynergyLMM manuscript's reanalysis) and leaves other tables as they are.

    Returns
    -------
    DataTable
        Observable ``"tumor_volume"`` (mm^3), time in days.

    Raises
    ------
    DataError
        If ``name`` is unknown.
    """
    path = invivosyn_path(name)
    if time_shift is None:
        with open(path, encoding="utf-8-sig") as handle:
            header = handle.readline().strip().split(",")
        first_day = min(float(h) for h in header[2:])
        time_shift = -first_day if first_day < 0 else 0.0
    return read_wide(path, arm_col="Treatment", subject_col="Mouse", lloq=lloq, time_shift=time_shift)

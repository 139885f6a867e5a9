"""Data: the :class:`DataTable` of measurements, its readers, and the bundled datasets.

Lowest of the data-handling layers: imports nothing of bonemet_ode but :mod:`bonemet_ode.errors`.
Times are in days; values carry the unit named in the table.
"""

from .datasets import INVIVOSYN_DATASETS as INVIVOSYN_DATASETS
from .datasets import invivosyn_path as invivosyn_path
from .datasets import load_invivosyn as load_invivosyn
from .readers import read_long as read_long
from .readers import read_wide as read_wide
from .table import DataTable as DataTable

__all__ = ["DataTable", "read_long", "read_wide", "INVIVOSYN_DATASETS", "invivosyn_path", "load_invivosyn"]

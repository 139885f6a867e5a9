"""Argument checks at the public boundary of simulate/: type, finiteness and range, before any work.

Each check raises the library's own error naming the argument, the bad value and what was
expected (issue 15).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from ..errors import BonemetError, ParameterError

__all__ = ["number", "integer", "boolean", "instance", "MAX_OUTPUT_BYTES", "MAX_OUTPUT_TIMES"]

#: Largest output array (bytes) a simulation or cohort may allocate; a larger request is refused
#: before anything is allocated (``days=1e9`` at 4 outputs per day would need tens of GiB).
MAX_OUTPUT_BYTES = 4 * 2**30
#: Most output times a simulation may have (checked before the time grid is allocated).
MAX_OUTPUT_TIMES = 10_000_000


def number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, error: type[BonemetError] = ParameterError, finite: bool = True) -> float:
    """``value`` as a float; refuse booleans, non-numbers, NaN/inf (unless ``finite=False``) and values
    outside ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.floating, np.integer)):
        raise error(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    x = float(value)
    if math.isnan(x) or (finite and math.isinf(x)):
        raise error(f"{name} must be a finite number, got {x}")
    if low is not None and (x < low or (low_open and x == low)):
        raise error(f"{name} must be {'>' if low_open else '>='} {low:g}, got {x:g}")
    if high is not None and x > high:
        raise error(f"{name} must be <= {high:g}, got {x:g}")
    return x


def integer(value: Any, name: str, *, low: int | None = None, error: type[BonemetError] = ParameterError) -> int:
    """``value`` as an int; refuse booleans, floats (even 3.0), non-numbers and values below ``low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, np.integer)):
        raise error(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    v = int(value)
    if low is not None and v < low:
        raise error(f"{name} must be an integer >= {low}, got {v}")
    return v


def boolean(value: Any, name: str, *, error: type[BonemetError] = ParameterError) -> bool:
    """``value`` if it is True or False (numpy booleans too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def instance(value: Any, cls: type | tuple[type, ...], name: str, what: str, *,
             error: type[BonemetError] = ParameterError) -> Any:
    """``value`` if it is an instance of ``cls``; else ``error`` saying that ``what`` was expected."""
    if not isinstance(value, cls):
        raise error(f"{name} must be {what}, got {value!r} ({type(value).__name__})")
    return value

"""JSON helpers for fit results: exact floats, non-finite values, arrays and DataFrames.

Python writes floats with ``repr`` (the shortest string that reads back to
the same double), so every finite float round-trips bit for bit.  NaN and
infinities, which strict JSON lacks, are written as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` and restored on reading.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FitError

__all__ = ["encode", "decode_float", "frame_to_json", "frame_from_json", "array_to_json", "array_from_json",
           "write_json", "read_json"]

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode(x: Any) -> Any:
    """Plain JSON-able structure with non-finite floats as strings."""
    if isinstance(x, dict):
        return {str(k): encode(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [encode(v) for v in x]
    if isinstance(x, np.ndarray):
        return encode(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    return x


def decode_float(x: Any) -> float:
    """A float from its JSON form (number or one of the special strings)."""
    if isinstance(x, str):
        return _SPECIAL[x]
    return float(x)


def array_to_json(a: np.ndarray) -> dict[str, Any]:
    """A float array with its shape."""
    a = np.asarray(a, dtype=float)
    return {"shape": list(a.shape), "data": encode(a.ravel())}


def array_from_json(d: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`array_to_json`."""
    data = np.array([decode_float(v) for v in d["data"]], dtype=float)
    return data.reshape(d["shape"])


def frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """Columns with their kinds (``float``, ``int``, ``bool``, ``str``; text columns keep their pandas dtype)."""
    cols = {}
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s):
            kind, data = "bool", [bool(v) for v in s]
        elif pd.api.types.is_integer_dtype(s):
            kind, data = "int", [int(v) for v in s]
        elif pd.api.types.is_float_dtype(s):
            kind, data = "float", encode(s.to_numpy(float))
        else:
            kind, data = "str", [str(v) for v in s]
        cols[str(c)] = {"kind": kind, "data": data}
        if kind == "str":
            cols[str(c)]["dtype"] = "object" if s.dtype == object else str(s.dtype)
    return {"columns": cols}


def frame_from_json(d: dict[str, Any]) -> pd.DataFrame:
    """Inverse of :func:`frame_to_json`."""
    out = {}
    for c, spec in d["columns"].items():
        kind, data = spec["kind"], spec["data"]
        if kind == "float":
            out[c] = np.array([decode_float(v) for v in data], dtype=float)
        elif kind == "int":
            out[c] = np.array(data, dtype=np.int64)
        elif kind == "bool":
            out[c] = np.array(data, dtype=bool)
        else:
            dtype = spec.get("dtype", "object")
            out[c] = pd.Series(data, dtype=object if dtype == "object" else dtype)
    return pd.DataFrame(out)


def write_json(obj: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (already encoded) as indented, strict JSON."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, allow_nan=False)
        fh.write("\n")


def read_json(path: str | os.PathLike[str], kind: str) -> dict[str, Any]:
    """Read a saved fit and check that it is of ``kind``."""
    try:
        with open(path, encoding="utf-8") as fh:
            d = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise FitError(f"cannot read fit file {os.fspath(path)!r}: {exc}") from None
    if not isinstance(d, dict) or d.get("kind") != kind:
        got = d.get("kind") if isinstance(d, dict) else type(d).__name__
        raise FitError(f"{os.fspath(path)!r} holds {got!r}, not a saved {kind!r}")
    return d

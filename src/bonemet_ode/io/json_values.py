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
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FitError, SavedFileError
from .envelope import Fields

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["encode", "decode_float", "frame_to_json", "frame_from_json", "array_to_json", "array_from_json",
           "write_json", "read_json", "array_field", "frame_field"]

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
    import pandas as pd
    cols: dict[str, dict[str, Any]] = {}
    for c in frame.columns:
        s = frame[c]
        data: list[Any]
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
    import pandas as pd
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


def array_field(f: Fields, key: str, *, shape: tuple[int, ...] | None = None, finite: bool = False) -> np.ndarray:
    """Read and check an array written by :func:`array_to_json` from field ``key`` of ``f``.

    Raises
    ------
    SavedFileError
        A missing ``shape``/``data``, a shape that is not a list of
        non-negative integers or does not match the data (or ``shape``), a
        non-number, or (``finite``) a non-finite value; the field is named.
    """
    sub = f.obj(key)
    dims = sub.list("shape")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in dims):
        raise sub.error("shape", f"must be a list of non-negative integers, got {dims!r}")
    data = np.array(sub.numbers("data", finite=finite), dtype=float)
    if int(np.prod(dims)) != data.size:
        raise sub.error("data", f"holds {data.size} values but 'shape' is {dims}")
    if shape is not None and tuple(dims) != tuple(shape):
        raise sub.error("shape", f"must be {list(shape)}, got {dims}")
    return data.reshape(dims)


def frame_field(f: Fields, key: str, *, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read and check a table written by :func:`frame_to_json` from field ``key`` of ``f``.

    Every column needs ``kind`` (float, int, bool or str) and ``data`` of that
    kind; all columns the same length; ``required`` columns present.
    """
    import pandas as pd
    cols = f.obj(key).obj("columns")
    out: dict[str, Any] = {}
    length = None
    for name in cols.keys():  # noqa: SIM118 (Fields has keys(), no __iter__)
        spec = cols.obj(name)
        kind = spec.str("kind")
        if kind == "float":
            values: Any = np.array(spec.numbers("data", finite=False), dtype=float)
        elif kind == "int":
            data = spec.list("data")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in data):
                raise spec.error("data", "must hold integers only")
            values = np.array(data, dtype=np.int64)
        elif kind == "bool":
            data = spec.list("data")
            if not all(isinstance(v, bool) for v in data):
                raise spec.error("data", "must hold true/false only")
            values = np.array(data, dtype=bool)
        elif kind == "str":
            data = spec.str_list("data")
            dtype = spec.str("dtype", "object")
            try:
                values = pd.Series(data, dtype=object if dtype == "object" else dtype)
            except (TypeError, ValueError):
                raise spec.error("dtype", f"is not a pandas text dtype: {dtype!r}") from None
        else:
            raise spec.error("kind", f"must be one of 'float', 'int', 'bool', 'str', got {kind!r}")
        if length is None:
            length = len(values)
        elif len(values) != length:
            raise spec.error("data", f"has {len(values)} rows; the other columns have {length}")
        out[name] = values
    missing = [c for c in required if c not in out]
    if missing:
        raise cols.error(missing[0], "is missing (a required column)")
    return pd.DataFrame(out)


def legacy_fit(kind: str) -> Any:
    """Recogniser of the 0.1 fit layout ``{"kind": kind, "format": 1, ...fields}`` for :func:`open_document`."""

    def recognise(doc: Any) -> tuple[int, dict[str, Any]] | None:
        if doc.get("kind") == kind and doc.get("format") == 1:
            return 1, {k: v for k, v in doc.items() if k not in ("kind", "format")}
        if "kind" in doc and "payload" not in doc:
            raise SavedFileError(f"field 'kind' is {doc.get('kind')!r}; expected a saved {kind!r}")
        return None

    return recognise


def fit_parameters_field(f: Fields, key: str = "parameters") -> list[dict[str, Any]]:
    """Keyword arguments of each saved :class:`~bonemet_ode.estimate.parameters.FitParameter`, checked.

    Values must be finite; bounds may be infinite; names unique.
    """
    out = []
    for p in f.objects(key):
        kw = {"name": p.str("name"), "value": p.number("value"), "lower": p.number("lower", finite=False),
              "upper": p.number("upper", finite=False), "vary": p.bool("vary"),
              "log_scale": p.bool("log_scale", False), "unit": p.str("unit", "1"), "role": p.str("role", "model"),
              "source": p.str("source", ""), "arm": p.optional_str("arm"),
              "observable": p.optional_str("observable")}
        if not kw["lower"] <= kw["upper"]:
            raise p.error("lower", f"must not exceed 'upper' ({kw['lower']!r} > {kw['upper']!r})")
        out.append(kw)
    names = [kw["name"] for kw in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise f.error(key, f"repeats parameter name(s) {dup}")
    return out


def check_model_names(f: Fields, parameters: list[dict[str, Any]], model: Any) -> None:
    """With a model given, refuse a fit of another model or naming parameters it lacks."""
    if model is None:
        return
    saved = f.str("model")
    name = getattr(model, "name", model)
    if saved != name:
        raise f.error("model", f"is {saved!r}, but the model given is {name!r}")
    known = getattr(model, "parameter_names", None)
    if known is None:
        return
    own = [p["name"] for p in parameters if p["role"] == "model" and p["arm"] is None]
    f.check_names("parameters", own, known, f"parameter of model {name!r}")

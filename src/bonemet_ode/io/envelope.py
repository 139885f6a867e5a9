"""One JSON envelope for every object bonemet_ode saves.

Every saved file is one JSON object::

    {"format": "bonemet_ode.<kind>", "version": N, "payload": {...}}

``format`` says what the file holds (``bonemet_ode.model``,
``bonemet_ode.fit_result``, ``bonemet_ode.subject_fits``,
``bonemet_ode.population_result``, ``bonemet_ode.calibration``), ``version``
the layout of ``payload``.  Files are strict JSON (no ``NaN`` tokens): a
non-finite float is written as the string ``"nan"``, ``"inf"`` or ``"-inf"``,
and every finite float through ``repr``, so it reads back bit for bit.

Reading validates before anything is built: :func:`open_document` checks the
envelope (or recognises a layout written by bonemet_ode 0.1, which had no
``payload``), and :class:`Fields` reads the payload field by field, checking
type and finiteness.  Whatever is wrong raises
:class:`~bonemet_ode.errors.SavedFileError` naming the file and the field
(``payload.results[3].margin``) and what was expected; never a bare
``KeyError`` or ``TypeError``.

Examples
--------
>>> doc = envelope("fit_result", 2, {"nll": 1.5, "se": float("nan")})
>>> doc["format"], doc["version"]
('bonemet_ode.fit_result', 2)
>>> version, fields = open_document(doc, "fit_result", versions=(2,))
>>> fields.number("nll"), fields.number("se", finite=False)
(1.5, nan)
>>> fields.number("se")
Traceback (most recent call last):
...
bonemet_ode.errors.SavedFileError: <document>: field 'payload.se' must be a finite number, got nan
"""

from __future__ import annotations

import builtins
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import SavedFileError

__all__ = [
    "PREFIX",
    "envelope",
    "encode_value",
    "dumps",
    "write_document",
    "read_document",
    "open_document",
    "Fields",
]

#: Every ``format`` starts with this.
PREFIX = "bonemet_ode."

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf,
              # the spellings fit files of 0.1 used
              "NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

_MISSING = object()


def envelope(kind: str, version: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope ``{"format": "bonemet_ode.<kind>", "version": N, "payload": ...}``.

    Parameters
    ----------
    kind
        What is saved (``"model"``, ``"calibration"``, ...).
    version
        Layout version of ``payload`` (an integer >= 1).
    payload
        The object's fields, already JSON-able (see :func:`encode_value`).
    """
    if not isinstance(kind, str) or not kind or kind.startswith(PREFIX):
        raise SavedFileError(f"kind: expected a short name such as 'model', got {kind!r}")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SavedFileError(f"version: expected an integer >= 1, got {version!r}")
    return {"format": PREFIX + kind, "version": version, "payload": dict(payload)}


def encode_value(x: Any) -> Any:
    """A JSON-able copy of ``x``: non-finite floats as ``"nan"``/``"inf"``/``"-inf"``, tuples and arrays as lists."""
    if isinstance(x, Mapping):
        return {str(k): encode_value(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [encode_value(v) for v in x]
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        return encode_value(x.tolist())
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        if math.isfinite(x):
            return x
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    try:  # numpy scalars
        f = float(x)
    except (TypeError, ValueError):
        return x
    if float(f).is_integer() and "int" in type(x).__name__:
        return int(f)
    if "bool" in type(x).__name__:
        return bool(x)
    return encode_value(f)


def dumps(doc: Mapping[str, Any]) -> str:
    """Strict JSON text of ``doc`` (raises :class:`SavedFileError` on a NaN that was not encoded)."""
    try:
        return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SavedFileError(f"cannot write the document as strict JSON: {exc}") from None


def write_document(path: str | os.PathLike[str], doc: Mapping[str, Any]) -> Path:
    """Write ``doc`` to ``path`` atomically (a temporary file in the same folder, then a rename).

    The parent folder is created when missing.  A crash never leaves half a
    file under ``path``.  Returns the path.
    """
    path = Path(path)
    text = dumps(doc) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise SavedFileError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return path


def read_document(path: str | os.PathLike[str]) -> Any:
    """The JSON value in ``path``; :class:`SavedFileError` naming the file when it cannot be read or parsed."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SavedFileError(f"cannot read {os.fspath(path)!r}: {reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SavedFileError(f"{os.fspath(path)!r} is not a JSON document ({exc})") from None


def open_document(
    doc: Any,
    kind: str,
    *,
    versions: Sequence[int],
    legacy: Callable[[Mapping[str, Any]], tuple[int, Mapping[str, Any]] | None] | None = None,
    source: str = "<document>",
) -> tuple[int, Fields]:
    """Check the envelope of ``doc`` and return ``(version, payload fields)``.

    Parameters
    ----------
    doc
        The parsed JSON document.
    kind
        The kind expected (``"calibration"`` for ``bonemet_ode.calibration``).
    versions
        The payload versions this release reads.
    legacy
        Recognises a document written without the envelope (bonemet_ode 0.1):
        returns ``(version, payload)`` or None when ``doc`` is not of that layout.
    source
        Where the document came from (a file name), for messages.

    Raises
    ------
    SavedFileError
        ``doc`` is not an object, holds another kind, an unknown version, or
        no ``payload`` object.
    """
    expected = PREFIX + kind
    if not isinstance(doc, Mapping):
        raise SavedFileError(f"{source}: expected a JSON object with 'format' {expected!r}, "
                             f"got {type(doc).__name__}")
    if "payload" not in doc and legacy is not None:
        try:
            old = legacy(doc)
        except SavedFileError as exc:
            raise SavedFileError(f"{source}: {exc}") from None
        if old is not None:
            old_version, old_payload = old
            return old_version, Fields(old_payload, "payload", source)
    fmt = doc.get("format", _MISSING)
    if fmt is _MISSING:
        plain = bool(doc) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in doc.values())
        raise SavedFileError(f"{source}: not a {expected} file (it has no 'format' field)"
                             + ("; it looks like a parameter file {name: value}" if plain else ""))
    if fmt != expected:
        raise SavedFileError(f"{source}: field 'format' is {fmt!r}; expected {expected!r}"
                             + (" (a file of another kind)" if isinstance(fmt, str) and fmt.startswith(PREFIX) else ""))
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SavedFileError(f"{source}: field 'version' must be an integer, got {version!r}")
    if version not in versions:
        raise SavedFileError(f"{source}: {expected} version {version} is not supported by this release "
                             f"(it reads versions {sorted(versions)})")
    payload = doc.get("payload", _MISSING)
    if payload is _MISSING:
        raise SavedFileError(f"{source}: field 'payload' is missing")
    if not isinstance(payload, Mapping):
        raise SavedFileError(f"{source}: field 'payload' must be a JSON object, got {type(payload).__name__}")
    return version, Fields(payload, "payload", source)


class Fields:
    """Typed, path-aware reading of one JSON object of a saved document.

    Every accessor names the field by its path in the document when it is
    missing or of the wrong type, so an edited or foreign file is refused with
    a message such as ``calib.json: field 'payload.parameters.k' must be a
    finite number, got 'nan'``.

    Parameters
    ----------
    data
        The JSON object.
    path
        Its path in the document (``"payload"``, ``"payload.fits.s1"``).
    source
        File name (or ``"<document>"``) for messages.
    """

    __slots__ = ("data", "path", "source")

    def __init__(self, data: Any, path: str, source: str = "<document>") -> None:
        if not isinstance(data, Mapping):
            raise SavedFileError(f"{source}: field {path!r} must be a JSON object, got {_show(data)}")
        self.data = data
        self.path = path
        self.source = source

    # ---------------------------------------------------------------- plumbing
    def where(self, key: str | int) -> str:
        """The path of ``key`` below this object."""
        return f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}.{key}"

    def error(self, key: str | int, problem: str) -> SavedFileError:
        """A :class:`SavedFileError` naming field ``key`` and the problem."""
        return SavedFileError(f"{self.source}: field {self.where(key)!r} {problem}")

    def _raw(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise SavedFileError(f"{self.source}: field {self.where(key)!r} is missing")
        return default

    def has(self, key: str) -> bool:
        """Whether ``key`` is present."""
        return key in self.data

    def keys(self) -> list[str]:
        """The keys of this object, in file order."""
        return [str(k) for k in self.data]

    def unknown(self, allowed: Iterable[str]) -> None:
        """Refuse keys other than ``allowed`` (a misspelt field is not silently ignored)."""
        extra = [k for k in self.data if k not in set(allowed)]
        if extra:
            raise SavedFileError(f"{self.source}: unknown field(s) {extra} in {self.path!r}")

    # ---------------------------------------------------------------- scalars
    def raw(self, key: str, default: Any = _MISSING) -> Any:
        """The value as stored (no check)."""
        return self._raw(key, default)

    def str(self, key: str, default: Any = _MISSING) -> Any:
        """A string field."""
        v = self._raw(key, default)
        if v is default and default is not _MISSING:
            return v
        if not isinstance(v, str):
            raise self.error(key, f"must be a string, got {_show(v)}")
        return v

    def optional_str(self, key: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        """A string field that may be null."""
        v = self._raw(key, default)
        if v is None:
            return None
        if not isinstance(v, str):
            raise self.error(key, f"must be a string or null, got {_show(v)}")
        return v

    def bool(self, key: builtins.str, default: Any = _MISSING) -> Any:
        """A boolean field (``true``/``false``; not 0/1, not a string)."""
        v = self._raw(key, default)
        if v is default and default is not _MISSING:
            return v
        if not isinstance(v, bool):
            raise self.error(key, f"must be true or false, got {_show(v)}")
        return v

    def int(self, key: builtins.str, default: Any = _MISSING, *, minimum: builtins.int | None = None) -> Any:
        """An integer field (>= ``minimum`` when given)."""
        v = self._raw(key, default)
        if v is default and default is not _MISSING:
            return v
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                raise self.error(key, f"must be an integer, got {_show(v)}")
        if minimum is not None and v < minimum:
            raise self.error(key, f"must be an integer >= {minimum}, got {v}")
        return v

    def number(self, key: builtins.str | builtins.int, default: Any = _MISSING, *, finite: builtins.bool = True,
               minimum: float | None = None) -> Any:
        """A float field: a JSON number, or ``"nan"``/``"inf"``/``"-inf"`` when ``finite`` is false."""
        v = self._raw(key, default) if isinstance(key, str) else self.data[key]
        if v is default and default is not _MISSING:
            return v
        return self._to_float(key, v, finite, minimum)

    def _to_float(self, key: builtins.str | builtins.int, v: Any, finite: builtins.bool,
                  minimum: float | None) -> float:
        if isinstance(v, bool):
            raise self.error(key, f"must be a number, got {_show(v)}")
        if isinstance(v, (int, float)):
            x = float(v)
        elif isinstance(v, str) and v in _NONFINITE:
            x = _NONFINITE[v]
        else:
            raise self.error(key, f"must be a number{' (finite)' if finite else ''}, got {_show(v)}")
        if finite and not math.isfinite(x):
            raise self.error(key, f"must be a finite number, got {_show(v)}")
        if minimum is not None and not (x >= minimum):
            raise self.error(key, f"must be >= {minimum:g}, got {_show(v)}")
        return x

    # ---------------------------------------------------------------- containers
    def obj(self, key: builtins.str, default: Any = _MISSING) -> Fields:
        """A nested object as :class:`Fields`."""
        v = self._raw(key, default)
        if v is default and default is not _MISSING and not isinstance(v, Mapping):
            v = {}
        if not isinstance(v, Mapping):
            raise self.error(key, f"must be a JSON object, got {_show(v)}")
        return Fields(v, self.where(key), self.source)

    def list(self, key: builtins.str, default: Any = _MISSING) -> builtins.list[Any]:
        """A list field (items unchecked)."""
        v = self._raw(key, default)
        if v is default and default is not _MISSING:
            return list(v)
        if not isinstance(v, list):
            raise self.error(key, f"must be a list, got {_show(v)}")
        return v

    def objects(self, key: builtins.str, default: Any = _MISSING) -> builtins.list[Fields]:
        """A list of objects, each as :class:`Fields`."""
        items = self.list(key, default)
        base = self.where(key)
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise SavedFileError(f"{self.source}: field '{base}[{i}]' must be a JSON object, got {_show(item)}")
            out.append(Fields(item, f"{base}[{i}]", self.source))
        return out

    def str_list(self, key: builtins.str, default: Any = _MISSING) -> builtins.list[builtins.str]:
        """A list of strings."""
        items = self.list(key, default)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise SavedFileError(f"{self.source}: field '{self.where(key)}[{i}]' must be a string, "
                                     f"got {_show(item)}")
        return list(items)

    def tuples(self, key: builtins.str, kinds: builtins.str,
               default: Any = _MISSING) -> builtins.list[tuple[Any, ...]]:
        """A list of fixed-length rows, each a JSON list whose items are strings (``"s"``) or finite numbers
        (``"n"``) in the order of ``kinds``: ``tuples("piled", "ss")`` reads ``[["r_T", "upper bound"], ...]``."""
        items = self.list(key, default)
        out = []
        for i, item in enumerate(items):
            where = f"{self.source}: field '{self.where(key)}[{i}]'"
            if not isinstance(item, list) or len(item) != len(kinds):
                raise SavedFileError(f"{where} must be a list of {len(kinds)} items, got {_show(item)}")
            sub = Fields({"_": None}, f"{self.where(key)}[{i}]", self.source)
            row: builtins.list[Any] = []
            for j, (kind, v) in enumerate(zip(kinds, item)):
                if kind == "s":
                    if not isinstance(v, str):
                        raise SavedFileError(f"{where}[{j}] must be a string, got {_show(v)}")
                    row.append(v)
                else:
                    row.append(sub._to_float(j, v, True, None))
            out.append(tuple(row))
        return out

    def numbers(self, key: builtins.str, default: Any = _MISSING, *,
                finite: builtins.bool = True) -> builtins.list[float]:
        """A list of floats."""
        items = self.list(key, default)
        sub = Fields({"_": None}, self.where(key), self.source)
        return [sub._to_float(i, v, finite, None) for i, v in enumerate(items)]

    def number_map(self, key: builtins.str, default: Any = _MISSING, *, finite: builtins.bool = True,
                   names: Iterable[builtins.str] | None = None,
                   what: builtins.str = "name") -> dict[builtins.str, float]:
        """An object ``{name: number}``; with ``names``, every key must be one of them."""
        sub = self.obj(key, default)
        known = None if names is None else set(names)
        out = {}
        for k, v in sub.data.items():
            if known is not None and k not in known:
                raise sub.error(k, f"names unknown {what} {k!r}" + _known(known))
            out[str(k)] = sub._to_float(k, v, finite, None)
        return out

    def str_map(self, key: builtins.str, default: Any = _MISSING) -> dict[builtins.str, builtins.str]:
        """An object ``{name: string}``."""
        sub = self.obj(key, default)
        for k, v in sub.data.items():
            if not isinstance(v, str):
                raise sub.error(k, f"must be a string, got {_show(v)}")
        return {str(k): v for k, v in sub.data.items()}

    def check_names(self, key: builtins.str, names: Iterable[builtins.str], known: Iterable[builtins.str],
                    what: builtins.str) -> None:
        """Refuse any of ``names`` (read from field ``key``) that is not in ``known``."""
        known = set(known)
        bad = [n for n in names if n not in known]
        if bad:
            raise self.error(key, f"names unknown {what}(s) {bad}" + _known(known))


def _known(known: set[str]) -> str:
    shown = sorted(known)
    return f" (known: {', '.join(shown[:12])}{', ...' if len(shown) > 12 else ''})" if shown else ""


def _show(v: Any) -> str:
    if isinstance(v, (Mapping, list)):
        return f"a JSON {'object' if isinstance(v, Mapping) else 'list'}"
    if v is None:
        return "null"
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."

"""Reading a PEtab v1 problem (YAML and tables) into a :class:`PetabProblem`."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import PetabError
from .problem import PetabProblem

__all__ = ["REFUSED", "check_file", "check_tables", "listed_files", "read_petab", "required_columns"]

#: PEtab features refused by name (nothing is simulated in their place).
REFUSED = {
    "format_version": "PEtab format versions other than 1 and 2",
    "multiple models": "more than one SBML file in a problem",
    "time=inf": "steady-state measurements (time inf)",
    "non-SBML model": "models that are not SBML",
}


def read_petab(yaml_path: str | os.PathLike, *, rtol: float = 1e-8, atol: float = 1e-10) -> PetabProblem:
    """Read a PEtab problem from its YAML file: v1, or v2 where its experiments map onto one simulation each
    (:mod:`bonemet_ode.petab.v2`; other v2 problems are refused by name).

    Parameters
    ----------
    yaml_path : str or path
        The problem's YAML file (``format_version: 1`` or ``2.0.0``).
    rtol, atol : float
        Solver tolerances of every simulation (defaults as in AMICI's reference values).

    Returns
    -------
    PetabProblem
        ``.llh()``, ``.chi2()``, ``.simulations()`` at the nominal parameters, ``.objective(x)`` for fitting.

    Raises
    ------
    PetabError
        On an invalid problem or a refused feature (named in the message).
    UnsupportedFeatureError
        On SBML features the import refuses.

    Examples
    --------
    >>> import bonemet_ode as bm  # doctest: +SKIP
    >>> pp = bm.read_petab("Boehm_JProteomeRes2014.yaml")  # doctest: +SKIP
    >>> round(pp.llh(), 3)  # doctest: +SKIP
    -138.222
    """
    import yaml

    path = Path(yaml_path)
    check_file(path, "PEtab problem file (YAML)")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 - any YAML error is a bad file
        raise PetabError(f"{str(path)!r} is not a YAML file ({exc})") from None
    if not isinstance(spec, dict):
        raise PetabError(f"{str(path)!r} is not a PEtab problem file (not a YAML mapping)")
    version = str(spec.get("format_version", ""))
    if version.split(".")[0] == "2":
        from .v2 import read_petab_v2

        return read_petab_v2(path, rtol, atol)
    if version not in ("1", "1.0.0"):
        raise PetabError(f"{str(path)!r}: PEtab format_version {version!r} is not supported (only 1 and 2)",
                         "format_version")
    if "problems" not in spec:
        raise PetabError(f"{str(path)!r} is not a PEtab problem file (no 'problems' entry)")
    problems = spec["problems"]
    if len(problems) != 1:
        raise PetabError(f"{str(path)!r}: {len(problems)} problems in one file; only one is supported")
    for kind, name in listed_files(spec):
        check_file(path.parent / name, f"{kind} file", f"named in {path.name}")
    sbml_files = problems[0].get("sbml_files", [])
    if len(sbml_files) != 1:
        raise PetabError(f"{str(path)!r}: {len(sbml_files)} SBML files; exactly one is supported", "multiple models")
    import petab.v1 as petab

    try:
        tables = petab.Problem.from_yaml(str(path))
    except Exception as exc:  # noqa: BLE001 - the petab library raises many kinds
        raise PetabError(f"the petab library cannot read {str(path)!r}: {exc}") from None
    check_tables(tables, path.name)
    from .model_import import load_sbml_model

    sbml = load_sbml_model(str(path.parent / sbml_files[0]))
    measurement_files = problems[0].get("measurement_files", [])
    if isinstance(measurement_files, str):
        measurement_files = [measurement_files]
    return PetabProblem(tables, sbml, str(path), rtol=rtol, atol=atol, measurement_files=measurement_files)


def check_file(path: Path, what: str, where: str = "") -> None:
    """Refuse ``path`` unless it is an existing regular file; a directory is named as one (with the YAML files
    it holds, for a problem file).

    Raises
    ------
    PetabError
        Naming ``what`` the file should be, the path, and ``where`` it was named.
    """
    at = f" ({where})" if where else ""
    if path.is_dir():
        yamls = sorted(p.name for p in path.iterdir() if p.suffix in (".yaml", ".yml")) if "YAML" in what else []
        hint = f"; the directory holds {', '.join(yamls)}" if yamls else ""
        raise PetabError(f"{what} {str(path)!r}{at} is a directory, not a file{hint}")
    if not path.exists():
        raise PetabError(f"{what} {str(path)!r}{at} does not exist")
    if not path.is_file():
        raise PetabError(f"{what} {str(path)!r}{at} is not a regular file")


def listed_files(spec: dict) -> list[tuple[str, str]]:
    """``(kind, relative path)`` of every file a PEtab v1 or v2 YAML mapping names (entries of an unexpected
    shape are skipped: the petab library reports those)."""
    out: list[tuple[str, str]] = []

    def add(kind: str, value: Any) -> None:
        for v in ([value] if isinstance(value, str) else value if isinstance(value, list) else []):
            if isinstance(v, str) and v and not re.match(r"[a-z]+://", v):  # URLs are the petab library's
                out.append((kind, v))

    add("parameter", spec.get("parameter_file"))
    add("parameter", spec.get("parameter_files"))
    sections = [spec] + [p for p in spec.get("problems", []) or [] if isinstance(p, dict)]
    for sec in sections:
        for key, kind in (("sbml_files", "SBML"), ("condition_files", "condition"),
                          ("measurement_files", "measurement"), ("observable_files", "observable"),
                          ("visualization_files", "visualization"), ("experiment_files", "experiment"),
                          ("mapping_files", "mapping")):
            add(kind, sec.get(key))
        models = sec.get("model_files")
        if isinstance(models, dict):
            for m in models.values():
                if isinstance(m, dict):
                    add("model", m.get("location"))
    return out


def required_columns() -> dict[str, tuple[str, ...]]:
    """Columns each table needs besides the observable and parameter tables' id (their index): PEtab v1's
    required columns (the petab library's ``*_DF_REQUIRED_COLS``), and ``nominalValue``, optional in PEtab
    but read here (a problem is evaluated at its nominal values)."""
    import petab.v1.C as C

    return {"measurement": tuple(C.MEASUREMENT_DF_REQUIRED_COLS),
            "observable": tuple(c for c in C.OBSERVABLE_DF_REQUIRED_COLS if c != C.OBSERVABLE_ID),
            "parameter": tuple(c for c in C.PARAMETER_DF_REQUIRED_COLS if c != C.PARAMETER_ID) + (C.NOMINAL_VALUE,)}


def check_tables(tables: Any, source: str) -> None:
    """Check the PEtab v1 tables as the petab library read them: required columns, numbers, scales, flags.

    The petab library reads damaged tables without complaint; what it lets through would otherwise
    surface as a KeyError or a failed number conversion deep inside the problem.  Its lint functions
    (``petab.v1.lint.check_*_df``) are not used: they name no row, raise KeyError when called before
    the observable table is checked, and TypeError on an id that pandas read as a number.

    Raises
    ------
    PetabError
        Naming the table, the column and, for a bad value, the row.
    """
    import numpy as np
    import pandas as pd

    m = tables.measurement_df
    if m is None or len(m) == 0:
        raise PetabError(f"{source}: the measurement table has no rows")
    frames = {"measurement": m, "observable": tables.observable_df, "parameter": tables.parameter_df}
    for table, cols in required_columns().items():
        df = frames[table]
        if df is None:
            raise PetabError(f"{source}: the {table} table is missing")
        index = {"observable": "observableId", "parameter": "parameterId"}.get(table)
        if index is not None and df.index.name != index:
            raise PetabError(f"{source}: the {table} table has no {index!r} column (its first column is "
                             f"{df.index.name!r})")
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise PetabError(f"{source}: the {table} table lacks the required column(s) {missing} "
                             f"(columns: {list(df.columns)})")

    ident = re.compile(r"[A-Za-z_]\w*")
    ids = [("observable", tables.observable_df.index), ("parameter", tables.parameter_df.index)]
    if tables.condition_df is not None:
        ids.append(("condition", tables.condition_df.index))
    ids += [("measurement", m[c]) for c in ("observableId", "simulationConditionId")]
    for table, values in ids:
        for v in values:
            if not (isinstance(v, str) and ident.fullmatch(v)):
                raise PetabError(f"{source}: the {table} table holds the id {v!r}; PEtab ids are names (a letter or "
                                 "_ followed by letters, digits or _)")

    def numbers(table: str, df: Any, col: str, *, blank_ok: bool) -> None:
        raw = df[col]
        values = pd.to_numeric(raw, errors="coerce")
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        bad = values.isna() & ~(blank if blank_ok else np.zeros(len(raw), bool))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise PetabError(f"{source}: the {table} table's {col!r} is not a number in row {i + 1} "
                             f"({df.index[i]!r}): {str(raw.iloc[i])!r}")

    numbers("measurement", m, "measurement", blank_ok=False)
    numbers("measurement", m, "time", blank_ok=False)
    p = tables.parameter_df
    for col in ("lowerBound", "upperBound", "nominalValue"):
        numbers("parameter", p, col, blank_ok=True)
    scales = {"lin", "log", "log10"}
    bad_scale = [(pid, s) for pid, s in p["parameterScale"].items() if str(s) not in scales]
    if bad_scale:
        raise PetabError(f"{source}: parameterScale of {bad_scale[0][0]!r} is {bad_scale[0][1]!r}; expected one of "
                         f"{sorted(scales)}")
    flags = pd.to_numeric(p["estimate"], errors="coerce")
    bad_flag = [pid for pid, f in zip(p.index, flags) if f not in (0, 1)]
    if bad_flag:
        raise PetabError(f"{source}: estimate of {bad_flag[0]!r} is {str(p['estimate'][bad_flag[0]])!r}; "
                         "expected 0 or 1")

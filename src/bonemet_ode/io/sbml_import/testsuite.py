"""Run one case of the SBML Test Suite (semantic cases) and judge it with the suite's own criterion.

A case folder ``NNNNN/`` holds ``NNNNN-settings.txt`` (start, duration, steps,
variables, absolute and relative tolerance, which variables are amounts and
which concentrations), one SBML file per level/version and
``NNNNN-results.csv`` (the expected trajectory).  A point passes when
``|expected - actual| <= absolute + relative*|expected|``.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import BonemetError, ModelError, SolverError, UnsupportedFeatureError

__all__ = ["CaseSettings", "CaseRun", "read_settings", "sbml_file", "run_case", "judge", "write_csv"]

_FILE = re.compile(r"^(\d+)-sbml-l(\d)v(\d)\.xml$")


@dataclass(frozen=True)
class CaseSettings:
    """The ``NNNNN-settings.txt`` of a case."""

    start: float
    duration: float
    steps: int
    variables: tuple[str, ...]
    absolute: float
    relative: float
    amount: frozenset[str] = frozenset()
    concentration: frozenset[str] = frozenset()

    @property
    def times(self) -> np.ndarray:
        """The output grid: ``steps + 1`` equally spaced times from ``start`` to ``start + duration``."""
        return np.linspace(self.start, self.start + self.duration, self.steps + 1)


def read_settings(case_dir: str | Path) -> CaseSettings:
    """Parse the settings file of a case folder.

    Raises
    ------
    UnsupportedFeatureError
        For a case that is not a time course (flux-balance cases have no start, duration or steps).
    ModelError
        When the file is missing or malformed.
    """
    case_dir = Path(case_dir)
    files = sorted(case_dir.glob("*-settings.txt"))
    if not files:
        raise ModelError(f"no NNNNN-settings.txt in {str(case_dir)!r}")
    kv: dict[str, str] = {}
    for line in files[0].read_text().splitlines():
        if ":" in line:
            k, _, v = line.partition(":")
            kv[k.strip().lower()] = v.strip()

    def names(key: str) -> tuple[str, ...]:
        return tuple(x.strip() for x in kv.get(key, "").split(",") if x.strip())

    if not kv.get("duration") or not kv.get("steps"):
        raise UnsupportedFeatureError("test type other than a time course (flux balance, steady state)", case_dir.name)
    try:
        return CaseSettings(
            start=float(kv.get("start") or 0.0), duration=float(kv["duration"]), steps=int(float(kv["steps"])),
            variables=names("variables"), absolute=float(kv.get("absolute") or 0.0),
            relative=float(kv.get("relative") or 0.0), amount=frozenset(names("amount")),
            concentration=frozenset(names("concentration")))
    except (ValueError, OverflowError) as exc:  # OverflowError: steps: inf
        raise ModelError(f"malformed settings file {str(files[0])!r}: {exc}") from None


def sbml_file(case_dir: str | Path) -> Path:
    """The case's SBML file with the highest level and version."""
    case_dir = Path(case_dir)
    found = []
    for p in case_dir.iterdir():
        mt = _FILE.match(p.name)
        if mt:
            found.append(((int(mt.group(2)), int(mt.group(3))), p))
    if not found:
        raise ModelError(f"no NNNNN-sbml-lXvY.xml file in {str(case_dir)!r}")
    return max(found)[1]


@dataclass
class CaseRun:
    """What running a case gave.

    ``status`` is ``"ok"`` (simulated; ``values`` holds the trajectory),
    ``"refused"`` (an unsupported feature, named in ``reason``) or ``"error"``
    (import or solve failed for another reason, in ``reason``).
    """

    case: str
    status: str
    reason: str = ""
    header: tuple[str, ...] = ()
    values: np.ndarray | None = None
    import_seconds: float = 0.0
    compile_seconds: float = 0.0
    solve_seconds: float = 0.0
    built: bool = False
    extra: dict = field(default_factory=dict)


def run_case(case_dir: str | Path, rtol: float = 1e-10, atol_factor: float = 1e-5) -> CaseRun:
    """Import, simulate and sample one case (no judging; see :func:`judge`).

    The solver runs with relative tolerance ``rtol`` and absolute tolerance
    ``atol_factor`` times the case's absolute tolerance, its step bounded by the
    output interval (so a short pulse between output times is not stepped over).
    """
    import time

    from ...compile.backend import compile_model
    from ...simulate import Simulator, SolverOptions
    from . import import_sbml

    case_dir = Path(case_dir)
    name = case_dir.name
    try:
        settings = read_settings(case_dir)
        t0 = time.perf_counter()
        imp = import_sbml(sbml_file(case_dir))
        t1 = time.perf_counter()
        cm = compile_model(imp.model)
        t2 = time.perf_counter()
        if settings.start != 0:
            raise UnsupportedFeatureError("output grid not starting at time 0", name)
        dt = settings.duration / max(settings.steps, 1)
        atol = max(settings.absolute * atol_factor, 1e-300) if settings.absolute > 0 else 1e-15
        opts = SolverOptions(rtol=rtol, atol=atol, hmax=dt if dt > 0 else math.inf, max_steps=2_000_000)
        sim = Simulator(imp.model, times=settings.times, options=opts)
        try:
            res = sim.run()
        except SolverError as exc:
            if exc.state in imp.overflow_states:
                from .events import DELAY_SLOTS

                raise UnsupportedFeatureError(f"more than {DELAY_SLOTS} pending executions of a delayed event",
                                              exc.state) from None
            raise
        cols = []
        for v in settings.variables:
            kind = "amount" if v in settings.amount else ("concentration" if v in settings.concentration else None)
            if kind and v not in imp.amounts:
                kind = None
            cols.append(imp.evaluate(res, v, kind))
        t3 = time.perf_counter()
    except UnsupportedFeatureError as exc:
        return CaseRun(name, "refused", str(exc))
    except (BonemetError, SolverError) as exc:
        return CaseRun(name, "error", f"{type(exc).__name__}: {exc}")
    values = np.column_stack([settings.times] + cols) if cols else settings.times[:, None]
    return CaseRun(name, "ok", header=(_time_column(case_dir),) + settings.variables, values=values,
                   import_seconds=t1 - t0,
                   compile_seconds=t2 - t1, solve_seconds=t3 - t2, built=cm.was_built)


def _time_column(case_dir: Path) -> str:
    """Name of the time column: as the case's results file spells it (``time`` or ``Time``), else ``time``."""
    for f in case_dir.glob("*-results.csv"):
        with open(f, newline="") as fh:
            first = fh.readline().split(",")[0].strip()
        if first:
            return first
    return "time"


def write_csv(run: CaseRun, path: str | Path) -> None:
    """Write a simulated case in the layout of ``NNNNN-results.csv``."""
    assert run.values is not None
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(run.header)
        for row in run.values:
            w.writerow([repr(float(x)) for x in row])


def judge(run: CaseRun, case_dir: str | Path) -> tuple[bool, str]:
    """``(passed, why)``: every point within ``absolute + relative*|expected|`` of the expected results."""
    case_dir = Path(case_dir)
    settings = read_settings(case_dir)
    files = sorted(case_dir.glob("*-results.csv"))
    if not files:
        raise ModelError(f"no NNNNN-results.csv in {str(case_dir)!r}")
    with open(files[0], newline="") as fh:
        rows = list(csv.reader(fh))
    header = tuple(h.strip() for h in rows[0])
    if run.values is None:
        return False, "not simulated"
    if header != run.header:
        return False, f"header {run.header} differs from the expected {header}"
    expected = np.array([[float(x) if x.strip() else math.nan for x in r] for r in rows[1:] if r], dtype=float)
    if expected.shape != run.values.shape:
        return False, f"shape {run.values.shape} differs from the expected {expected.shape}"
    got = run.values
    tol = settings.absolute + settings.relative * np.abs(expected)
    both_nan = np.isnan(expected) & np.isnan(got)
    same_inf = np.isinf(expected) & (expected == got)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(expected - got) <= tol) | both_nan | same_inf
    if ok.all():
        return True, ""
    i, j = np.argwhere(~ok)[0]
    return False, (f"{header[j]} at time {expected[i, 0]:g}: expected {expected[i, j]!r}, got {got[i, j]!r} "
                   f"({int((~ok).sum())} of {ok.size} points off)")

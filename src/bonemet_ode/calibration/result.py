"""What a qualitative calibration returns: best parameters, per-outcome report, conflicts; JSON save/load.

Floats are written as JSON numbers through ``repr`` (the shortest text that
reads back to the same double), non-finite ones as ``"inf"``, ``"-inf"``,
``"nan"``, so :meth:`CalibrationResult.load` gives back every bit of what
:meth:`CalibrationResult.save` wrote.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FitError
from ..io.envelope import Fields, dumps, envelope, open_document, read_document, write_document
from ..outcomes.results import OutcomeResult, float_from_json, float_to_json, format_results
from .space import CalibrationSettings, FreeParameter

__all__ = ["Conflict", "CalibrationResult", "CONFLICT_METHOD", "FORMAT"]

#: Identifies calibration files.
FORMAT = "bonemet_ode.calibration"
#: Version of the payload written by ``save`` (1: the 0.1 layout without envelope).
_VERSION = 2

#: How conflicts are found (also written into every result).
CONFLICT_METHOD = (
    "pairwise co-satisfiability: for each failing outcome A and each other outcome B, A and B conflict when "
    "each can hold alone (some evaluation satisfied it, or a local search on its penalty alone found one) but "
    "no evaluation satisfied both and a local least-squares search on the penalties of A and B alone, started "
    "from the best joint point so far, found none; the gradients of the margins of A and B in the unit "
    "parameter cube at the best point (forward differences) say which parameters pull them apart"
)


@dataclass(frozen=True)
class Conflict:
    """Two outcomes that could not be satisfied together within the bounds.

    Attributes
    ----------
    first, second : str
        Outcome ids (``first`` fails at the best point).
    cosine : float
        Cosine between the margin gradients of the two outcomes at the best
        point (negative: improving one worsens the other locally; NaN when a
        gradient is zero).
    opposing : tuple of (str, float, float)
        Parameters whose increase helps one outcome and hurts the other, with
        ``d margin_first / du`` and ``d margin_second / du`` (per unit of the
        searched range), strongest first.
    nfev : int
        Evaluations of the pairwise search that failed to satisfy both.
    """

    first: str
    second: str
    cosine: float
    opposing: tuple[tuple[str, float, float], ...] = ()
    nfev: int = 0

    def explain(self) -> str:
        """One paragraph: what was tried and which parameters pull the two outcomes apart."""
        text = (f"{self.first} and {self.second} did not hold together: no evaluation satisfied both and a "
                f"search on their two penalties alone ({self.nfev} evaluations) failed")
        if math.isnan(self.cosine):
            return text + "; their margins do not change locally (flat or failed simulations)."
        text += f"; margin gradients at the best point: cos = {self.cosine:+.2f}"
        if self.opposing:
            pulls = []
            for name, ga, _gb in self.opposing[:3]:
                helps, hurts = (self.first, self.second) if ga > 0 else (self.second, self.first)
                pulls.append(f"raising {name} helps {helps} and hurts {hurts}")
            text += " (" + "; ".join(pulls) + ")"
        elif self.cosine > 0:
            text += " (locally aligned: the conflict lies beyond the neighbourhood of the best point)"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"first": self.first, "second": self.second, "cosine": float_to_json(self.cosine),
                "opposing": [[n, float_to_json(a), float_to_json(b)] for n, a, b in self.opposing],
                "nfev": self.nfev}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Conflict:
        """Rebuild from :meth:`to_dict`."""
        return cls(d["first"], d["second"], float_from_json(d["cosine"]),
                   tuple((n, float_from_json(a), float_from_json(b)) for n, a, b in d.get("opposing", ())),
                   int(d.get("nfev", 0)))


@dataclass(frozen=True)
class CalibrationResult:
    """The outcome of :func:`~bonemet_ode.calibration.calibrator.calibrate`.

    Attributes
    ----------
    parameters : dict
        Best values of the free parameters.
    fixed : dict
        Parameter overrides held fixed (the evaluation context's base overrides).
    free : tuple of FreeParameter
        Free parameters with their searched bounds and scales.
    results : tuple of OutcomeResult
        Every outcome at the best parameters.
    objective : float
        Sum of squared penalties (with the safety margin) at the best parameters.
    satisfied : bool
        Whether every outcome holds at the best parameters.
    stopped_early : bool
        Whether the search stopped because every clause held with the safety margin.
    n_evaluations : int
        Evaluations of the outcome set (each simulates every arm and cohort once).
    wall_time : float
        Seconds.
    seed : int
        Seed of the Latin-hypercube screening (same seed, same result).
    settings : CalibrationSettings
        The settings used.
    conflicts : tuple of Conflict
        Pairs of outcomes that could not hold together (when not satisfied).
    infeasible : tuple of str
        Outcomes that could not hold even alone within the bounds.
    unexplained : tuple of str
        Failing outcomes compatible with every other outcome pairwise (a
        conflict among three or more, or a search that fell short).
    outcomes : tuple of dict
        The outcome definitions (JSON form) the calibration used.
    conflict_method : str
        How conflicts were searched for.
    """

    parameters: dict[str, float]
    fixed: dict[str, float]
    free: tuple[FreeParameter, ...]
    results: tuple[OutcomeResult, ...]
    objective: float
    satisfied: bool
    stopped_early: bool
    n_evaluations: int
    wall_time: float
    seed: int
    settings: CalibrationSettings = field(default_factory=CalibrationSettings)
    conflicts: tuple[Conflict, ...] = ()
    infeasible: tuple[str, ...] = ()
    unexplained: tuple[str, ...] = ()
    outcomes: tuple[dict[str, Any], ...] = ()
    conflict_method: str = CONFLICT_METHOD

    def all_parameters(self) -> dict[str, float]:
        """Fixed overrides updated with the calibrated values (what to pass to ``simulate(params=...)``)."""
        return {**self.fixed, **self.parameters}

    def __getitem__(self, outcome_id: str) -> OutcomeResult:
        for r in self.results:
            if r.id == outcome_id:
                return r
        raise FitError(f"no outcome {outcome_id!r} in this calibration")

    # ------------------------------------------------------------------ report
    def report(self) -> str:
        """Text report: summary, parameter table, outcome table, conflicts."""
        n_ok = sum(r.satisfied for r in self.results)
        lines = [
            f"Qualitative calibration (seed {self.seed}): {n_ok} of {len(self.results)} outcomes satisfied "
            f"{'✓' if self.satisfied else '✗'}",
            f"  {self.n_evaluations} evaluations in {self.wall_time:.3g} s; objective {self.objective:.4g}; "
            f"stopped early: {'yes' if self.stopped_early else 'no'}",
            "",
            "free parameters:",
        ]
        w = max([len(f.name) for f in self.free] + [4])
        lines.append(f"  {'name':<{w}}  {'value':>12}  {'lower':>10}  {'upper':>10}  scale")
        for f in self.free:
            lines.append(f"  {f.name:<{w}}  {self.parameters[f.name]:>12.6g}  {f.lower:>10.4g}  {f.upper:>10.4g}  "
                         f"{'log' if f.log_scale else 'linear'}")
        if self.fixed:
            lines.append("fixed overrides: " + ", ".join(f"{k}={v:g}" for k, v in self.fixed.items()))
        lines += ["", "outcomes:", format_results(self.results)]
        if not self.satisfied:
            lines += ["", "conflict analysis:"]
            lines += textwrap.wrap("method: " + self.conflict_method, width=100, initial_indent="  ",
                                   subsequent_indent="    ")
            if self.infeasible:
                lines.append("  not found to hold even alone (no evaluation, nor a local search on its own penalty, "
                             "satisfied it; a wider search may): " + ", ".join(self.infeasible))
            for c in self.conflicts:
                lines += textwrap.wrap(c.explain(), width=100, initial_indent="  - ", subsequent_indent="    ")
            if self.unexplained:
                lines.append("  failing but pairwise compatible with every other outcome (a conflict among "
                             "three or more, or the search fell short): " + ", ".join(self.unexplained))
            if not (self.infeasible or self.conflicts or self.unexplained):
                lines.append("  not run (settings.conflicts=False)")
        return "\n".join(lines)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope ``{"format": "bonemet_ode.calibration", "version": 2, "payload": {...}}``.

        Floats are exact through ``repr``; non-finite ones are strings.
        """
        settings = dataclasses.asdict(self.settings)
        settings["weights"] = [[k, float_to_json(v)] for k, v in self.settings.weights]
        return envelope("calibration", _VERSION, {
            "parameters": {k: float_to_json(v) for k, v in self.parameters.items()},
            "fixed": {k: float_to_json(v) for k, v in self.fixed.items()},
            "free": [{"name": f.name, "lower": float_to_json(_bound(f.lower, f.name, "lower")),
                      "upper": float_to_json(_bound(f.upper, f.name, "upper")), "log_scale": f.log_scale}
                     for f in self.free],
            "results": [r.to_dict() for r in self.results],
            "objective": float_to_json(self.objective), "satisfied": self.satisfied,
            "stopped_early": self.stopped_early, "n_evaluations": self.n_evaluations,
            "wall_time": float_to_json(self.wall_time), "seed": self.seed, "settings": settings,
            "conflicts": [c.to_dict() for c in self.conflicts], "infeasible": list(self.infeasible),
            "unexplained": list(self.unexplained), "outcomes": list(self.outcomes),
            "conflict_method": self.conflict_method,
        })

    @classmethod
    def from_dict(cls, d: Any, *, model: Any = None, source: str = "<document>") -> CalibrationResult:
        """Rebuild from :meth:`to_dict` (or a document written by bonemet_ode 0.1), checking every field.

        Parameters
        ----------
        d
            The parsed JSON document.
        model
            Optional model: every parameter name (calibrated, fixed, free) must
            be one of its parameters.
        source
            File name for messages.

        Raises
        ------
        SavedFileError
            Another kind or an unknown version, a missing field, a value of the
            wrong type, a non-finite parameter, an outcome marked satisfied
            whose value or margin is not a finite margin >= 0, ``satisfied``
            that disagrees with the outcomes, unknown parameter names (the
            field is named).
        """
        _, f = open_document(d, "calibration", versions=(1, _VERSION), legacy=_legacy, source=source)
        known = getattr(model, "parameter_names", None)
        what = f"parameter of model {getattr(model, 'name', '?')!r}"
        parameters = f.number_map("parameters", names=known, what=what)
        fixed = f.number_map("fixed", names=known, what=what)
        free = []
        for fp in f.objects("free"):
            name = fp.str("name")
            if name not in parameters:
                raise fp.error("name", f"is {name!r}, which has no calibrated value in 'parameters'")
            lower, upper = fp.number("lower", finite=False), fp.number("upper", finite=False)
            if not lower < upper:
                raise fp.error("lower", f"must be below 'upper' ({lower!r} >= {upper!r})")
            log_scale = fp.raw("log_scale", None)
            if log_scale is not None and not isinstance(log_scale, bool):
                raise fp.error("log_scale", f"must be true, false or null, got {log_scale!r}")
            free.append(FreeParameter(name, lower, upper, log_scale))
        results = tuple(_outcome_result(r) for r in f.objects("results"))
        satisfied = f.bool("satisfied")
        if satisfied != all(r.satisfied for r in results):
            bad = [r.id for r in results if not r.satisfied]
            raise f.error("satisfied", f"is {satisfied} but the outcomes say otherwise "
                                       f"(failing: {', '.join(bad) if bad else 'none'})")
        raw = f.obj("settings")
        allowed = {x.name for x in dataclasses.fields(CalibrationSettings)}
        raw.unknown(allowed)
        s = dict(raw.data)
        weights = []
        wf = Fields({}, raw.where("weights"), source)
        for i, item in enumerate(raw.list("weights", [])):
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                raise wf.error(i, f"must be [outcome id, weight], got {item!r}")
            weights.append((item[0], wf._to_float(i, item[1], True, 0.0)))  # noqa: SLF001 - same library
        s["weights"] = tuple(weights)
        try:
            settings = CalibrationSettings(**s)
        except FitError as exc:
            raise f.error("settings", f"holds an invalid setting: {exc}") from None
        return cls(
            parameters=parameters, fixed=fixed, free=tuple(free), results=results,
            objective=f.number("objective", finite=satisfied, minimum=0.0 if satisfied else None),
            satisfied=satisfied, stopped_early=f.bool("stopped_early"),
            n_evaluations=f.int("n_evaluations", minimum=0), wall_time=f.number("wall_time", minimum=0.0),
            seed=f.int("seed"), settings=settings,
            conflicts=tuple(_conflict(c) for c in f.objects("conflicts", [])),
            infeasible=tuple(f.str_list("infeasible", [])), unexplained=tuple(f.str_list("unexplained", [])),
            outcomes=tuple(f.list("outcomes", [])), conflict_method=f.str("conflict_method", CONFLICT_METHOD),
        )

    def to_json(self) -> str:
        """The JSON document."""
        return dumps(self.to_dict())

    def save(self, path: str | Path) -> Path:
        """Write the JSON document to ``path`` (UTF-8, atomically; the folder is created); returns the path."""
        return write_document(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path, *, model: Any = None) -> CalibrationResult:
        """Read a calibration written by :meth:`save` (any supported version); see :meth:`from_dict`."""
        return cls.from_dict(read_document(path), model=model, source=Path(path).name)


def _legacy(doc: Any) -> tuple[int, dict[str, Any]] | None:
    """The 0.1 layout: ``format``, ``version: 1`` and the fields beside them (no ``payload``)."""
    if doc.get("format") == FORMAT and doc.get("version") == 1:
        return 1, {k: v for k, v in doc.items() if k not in ("format", "version")}
    return None


def _outcome_result(f: Fields) -> OutcomeResult:
    """One saved :class:`OutcomeResult`, checked: a satisfied outcome needs a finite value and a margin >= 0."""
    satisfied = f.bool("satisfied")
    value = f.number("value", finite=satisfied)
    margin = f.number("margin", finite=False)
    if satisfied and not margin >= 0:
        raise f.error("margin", f"is {f.raw('margin')!r} but the outcome is marked satisfied (needs a margin >= 0)")
    if not satisfied and margin > 0:
        raise f.error("margin", f"is {margin!r} > 0 but the outcome is marked not satisfied")
    parts = tuple(_outcome_result(p) for p in f.objects("parts", []))
    return OutcomeResult(f.str("id"), value, f.number("threshold", finite=False), margin, satisfied,
                         f.str("statement", ""), parts, f.str("message", ""))


def _conflict(f: Fields) -> Conflict:
    opposing = []
    for i, item in enumerate(f.list("opposing", [])):
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)):
            raise Fields({}, f.where("opposing"), f.source).error(i, "must be [parameter, number, number]")
        sub = Fields({"a": item[1], "b": item[2]}, f"{f.where('opposing')}[{i}]", f.source)
        opposing.append((item[0], sub.number("a", finite=False), sub.number("b", finite=False)))
    return Conflict(f.str("first"), f.str("second"), f.number("cosine", finite=False), tuple(opposing),
                    f.int("nfev", 0, minimum=0))


def _bound(value: float | None, name: str, which: str) -> float:
    """A bound of a resolved free parameter (the calibrator stores them resolved, never None)."""
    if value is None:
        raise FitError(f"free parameter {name!r}: the {which} bound is not resolved (use ParameterSpace.free)")
    return value

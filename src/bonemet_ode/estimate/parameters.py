"""The parameters of a fit: which are estimated, their bounds, fixed values and arm-specific copies."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import FitError, suggestion
from ..model import Model, Parameter
from ._rows import RowLayout
from .noise import NoiseModel
from .observation import ObservationMap

__all__ = ["FitParameter", "Penalty", "SCALES", "extra_parameters", "arm_parameter_name", "build_parameters",
           "did_you_mean", "start_values"]

#: ``extra_penalties(values) -> array``; each entry ``p`` adds ``p**2/2`` to the objective.
Penalty = Callable[[Mapping[str, float]], np.ndarray]

#: Parameter scales: linear, natural log, log10 (PEtab's ``parameterScale``).
SCALES = ("lin", "log", "log10")


@dataclass(frozen=True)
class FitParameter:
    """One parameter of a fit.

    Attributes
    ----------
    name : str
        Name in the fit (a model parameter name, ``alpha__drug`` for an
        arm-specific copy, ``noise_b`` for a noise parameter).
    value : float
        Initial (or fixed) value, in ``unit``.
    lower, upper : float
        Bounds of the search.
    vary : bool
        Whether it is estimated.
    log_scale : bool
        Whether starts are drawn (and population effects taken) on a log scale.
    unit : str
        Unit.
    role : str
        ``"model"``, ``"noise"`` or ``"observation"`` (scale/offset).
    source : str
        The model parameter, the noise parameter's short name, or the
        observation parameter it stands for.
    arm : str or None
        The arm of an arm-specific copy.
    observable : str or None
        The observable of a noise parameter.
    """

    name: str
    value: float
    lower: float
    upper: float
    vary: bool
    log_scale: bool = False
    unit: str = "1"
    role: str = "model"
    source: str = ""
    arm: str | None = None
    observable: str | None = None


def arm_parameter_name(parameter: str, arm: str, taken: Iterable[str] = ()) -> str:
    """Identifier of the copy of ``parameter`` for ``arm`` (``r__anti_PD1``), unique among ``taken``."""
    tag = re.sub(r"\W+", "_", str(arm)).strip("_") or "arm"
    name = f"{parameter}__{tag}"
    taken = set(taken)
    k = 2
    while name in taken:
        name = f"{parameter}__{tag}_{k}"
        k += 1
    return name


def did_you_mean(names: Sequence[str], known: Iterable[str]) -> str:
    """``" (did you mean 'alpha'?)"`` for the first of ``names`` with close matches among ``known``, else ``""``."""
    known = list(known)
    for name in names:
        hint = suggestion(name, known)
        if hint:
            which = f" for {name!r}" if len(names) > 1 else ""
            return f" ({hint[:-1]}{which}?)"
    return ""


def _check_bounds(name: str, lo: float, hi: float, p: Parameter | None) -> tuple[float, float]:
    lo, hi = float(lo), float(hi)
    if math.isnan(lo) or math.isnan(hi) or lo >= hi:
        raise FitError(f"bounds of parameter {name!r}: expected lower < upper, got ({lo}, {hi})")
    if p is not None and (lo < p.lower or hi > p.upper):
        raise FitError(f"bounds of parameter {name!r}: ({lo}, {hi}) leave the model's bounds "
                       f"[{p.lower}, {p.upper}]; widen them in the model instead")
    return lo, hi


def build_parameters(
    model: Model,
    arms: Sequence[str],
    extra: Sequence[FitParameter],
    *,
    free: Iterable[str] | None,
    fixed: Mapping[str, float] | None,
    bounds: Mapping[str, tuple[float, float]] | None,
    arm_specific: Iterable[str],
    initial: Mapping[str, float] | None = None,
    scales: Mapping[str, str] | None = None,
) -> tuple[FitParameter, ...]:
    """All parameters of a fit, validated.

    Parameters
    ----------
    model : Model
        The model; its parameters carry default values, bounds and units.
    arms : sequence of str
        Arms present in the data (for arm-specific copies).
    extra : sequence of FitParameter
        Noise and observation parameters (estimated unless fixed).
    free : iterable of str, optional
        Model parameters to estimate; None estimates every model parameter
        not in ``fixed``.
    fixed : mapping, optional
        Values of parameters held fixed (model, noise or observation names).
    bounds : mapping, optional
        ``{name: (lower, upper)}`` search bounds (inside the model's bounds).
    arm_specific : iterable of str
        Estimated model parameters that get one copy per arm.
    initial : mapping, optional
        Start values of estimated parameters (default: the model's values,
        or the noise/observation parameter's default).
    scales : mapping, optional
        ``{name: "lin" | "log" | "log10"}``: the scale on which starts are
        drawn, profiles walked and population effects taken (sets
        ``log_scale``; default: the model parameter's own ``log_scale``).

    Raises
    ------
    FitError
        Naming the offending parameter: unknown names, a parameter both free
        and fixed, a value outside its bounds, arm-specific but not estimated.
    """
    fixed = dict(fixed or {})
    bounds = dict(bounds or {})
    initial = dict(initial or {})
    scales = dict(scales or {})
    arm_specific = list(arm_specific)
    mnames = model.parameter_names
    extra_names = [e.name for e in extra]
    known = set(mnames) | set(extra_names)
    for what, names in (("fixed", list(fixed)), ("bounds", list(bounds)), ("arm_specific", arm_specific),
                        ("initial", list(initial)), ("scales", list(scales))):
        bad = [n for n in names if n not in known]
        if bad:
            raise FitError(f"{what}: unknown parameter(s) {bad}{did_you_mean(bad, known)}; model parameters "
                           f"{list(mnames)}, noise/observation parameters {extra_names}")
    if free is None:
        free_set = {n for n in mnames if n not in fixed}
    else:
        free = list(free)
        twice = sorted({n for n in free if free.count(n) > 1})
        if twice:
            raise FitError(f"free: parameter(s) {twice} named more than once")
        free_set = set(free)
        bad = sorted(free_set - set(mnames))
        if bad:
            raise FitError(f"free: unknown model parameter(s) {bad}{did_you_mean(bad, mnames)}; "
                           f"model parameters {list(mnames)}")
        both = sorted(free_set & set(fixed))
        if both:
            raise FitError(f"parameter(s) {both} are both free and fixed")
    bad = [n for n in arm_specific if n not in free_set]
    if bad:
        raise FitError(f"arm_specific: parameter(s) {bad} are not estimated (free: {sorted(free_set)})")
    both = sorted(set(initial) & set(fixed))
    if both:
        raise FitError(f"parameter(s) {both} have both an initial and a fixed value; give one")
    bad_scale = {n: s for n, s in scales.items() if s not in SCALES}
    if bad_scale:
        raise FitError(f"scales: expected one of {list(SCALES)} per parameter, got {bad_scale}")

    def log_scale(name: str, default: bool) -> bool:
        return scales[name] != "lin" if name in scales else default

    def check_value(name: str, default: float, lo: float, hi: float) -> float:
        where = "fixed" if name in fixed else "initial" if name in initial else "default"
        raw = fixed.get(name, initial.get(name, default))
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise FitError(f"{where}[{name!r}]: expected a number, got {raw!r}") from None
        if not lo <= value <= hi:
            what = f"{where}[{name!r}] = {value:g}" if where != "default" else f"the value {value:g} of {name!r}"
            raise FitError(f"{what} is outside the bounds of parameter {name!r}, [{lo:g}, {hi:g}]")
        return value

    out: list[FitParameter] = []
    for p in model.parameters:
        vary = p.name in free_set
        lo, hi = _check_bounds(p.name, *bounds.get(p.name, (p.lower, p.upper)), p)
        value = check_value(p.name, p.value, lo, hi)
        base = FitParameter(p.name, value, lo, hi, vary, log_scale(p.name, p.log_scale), p.unit, "model", p.name)
        if p.name in arm_specific:
            taken = set(mnames) | set(extra_names) | {q.name for q in out}
            for arm in arms:
                name = arm_parameter_name(p.name, arm, taken)
                taken.add(name)
                out.append(replace(base, name=name, arm=arm))
        else:
            out.append(base)
    for e in extra:
        lo, hi = _check_bounds(e.name, *bounds.get(e.name, (e.lower, e.upper)), None)
        value = check_value(e.name, e.value, lo, hi)
        out.append(replace(e, value=value, lower=lo, upper=hi, vary=e.vary and e.name not in fixed,
                           log_scale=log_scale(e.name, e.log_scale)))
    logged = [p.name for p in out if p.log_scale and p.lower <= 0 and p.name in scales]
    if logged:
        raise FitError(f"scales: parameter(s) {logged} on a log scale need a positive lower bound; "
                       "give bounds={name: (positive, upper)}")
    if not any(p.vary for p in out):
        raise FitError("no parameter is estimated: every parameter is fixed")
    estimated = {p.name for p in out if p.vary} | {p.source for p in out if p.vary}
    for what, given in (("bounds", bounds), ("initial", initial), ("scales", scales)):
        bad = sorted(n for n in given if n not in estimated)
        if bad:
            raise FitError(f"{what}: parameter(s) {bad} are not estimated, so {what} would have no effect "
                           f"(estimated: {sorted(p.name for p in out if p.vary)}); estimate them with free=, "
                           "or hold them with fixed=")
    return tuple(out)


def start_values(params: Sequence[FitParameter], n_starts: int, rng: np.random.Generator) -> list[dict[str, float]]:
    """Starting points: the initial values first, then random draws within the bounds.

    Log-scaled parameters are drawn log-uniformly; unbounded ones within a
    factor 10 (log scale) or +-100 % (linear) of the initial value.
    """
    starts = [{p.name: p.value for p in params}]
    for _ in range(max(n_starts, 1) - 1):
        point = {}
        for p in params:
            if not p.vary:
                point[p.name] = p.value
                continue
            if p.log_scale and p.lower > 0:
                lo = math.log(p.lower) if math.isfinite(p.lower) else math.log(abs(p.value)) - math.log(10)
                hi = math.log(p.upper) if math.isfinite(p.upper) else math.log(abs(p.value)) + math.log(10)
                lo = max(lo, math.log(abs(p.value)) - 3 * math.log(10))
                hi = min(hi, math.log(abs(p.value)) + 3 * math.log(10))
                point[p.name] = float(np.clip(math.exp(rng.uniform(lo, hi)), p.lower, p.upper))
            else:
                width = abs(p.value) if p.value != 0 else 1.0
                lo = p.lower if math.isfinite(p.lower) else p.value - width
                hi = p.upper if math.isfinite(p.upper) else p.value + width
                point[p.name] = float(rng.uniform(lo, hi))
        starts.append(point)
    return starts


def extra_parameters(model: Model, rows: RowLayout, observations: Mapping[str, ObservationMap],
                     noise: Mapping[str, NoiseModel]) -> list[FitParameter]:
    """The noise and observation parameters of a fit (estimated unless an observable's sds are all given).

    Noise parameters are named ``noise_<p>`` (``noise_<p>_<observable>`` with several observables).

    Raises
    ------
    FitError
        When a name is used twice (model, noise or observation parameters).
    """
    extra: list[FitParameter] = []
    several = len(rows.obs_names) > 1
    for k, o in enumerate(rows.obs_names):
        nm = noise[o]
        estimated = not bool(np.all(rows.has_sd[rows.row_obs == k]))
        for p in nm.parameters(rows.data_scale[o]):
            name = f"noise_{p.name}_{re.sub(r'[^0-9a-zA-Z_]', '_', o)}" if several else f"noise_{p.name}"
            extra.append(FitParameter(name, p.value, p.lower, p.upper, estimated, p.log_scale, p.unit,
                                      "noise", p.name, observable=o))
        for q in observations[o].estimated():
            extra.append(FitParameter(q.name, q.value, q.lower, q.upper, True, q.log_scale, q.unit,
                                      "observation", q.name, observable=o))
    names = [e.name for e in extra]
    clash = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(model.parameter_names)))
    if clash:
        raise FitError(f"parameter name(s) {clash} are used twice (model, noise or observation parameters)")
    return extra

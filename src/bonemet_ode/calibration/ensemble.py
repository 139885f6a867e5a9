"""Ensemble calibration: many distinct parameter sets, every one satisfying every required outcome.

The feasible region is the set of points of the prior box (the unit cube of
the free parameters, log-scaled where a parameter is) where every required
outcome holds.  :func:`calibrate_ensemble` samples it uniformly with
interleaved hit-and-run slice-sampling chains
(:mod:`bonemet_ode.calibration.sampler`): directions from a covariance
adapted during burn-in, a random interval on the line through the current
point, shrunk until a proposal satisfies every outcome.  Only the yes/no
verdict of each evaluation is used, so the step-like cohort outcomes (a
fraction of a fixed virtual cohort: common random numbers) need no
smoothing.  Why this method and what it costs: ``docs/calibration.md``.

Reproducible from ``seed``; with ``out=`` the file is written every
``save_every`` members with the sampler's state, and a later call with the
same file, seed and settings continues where it stopped (or extends a
finished ensemble to a larger ``n``).

Examples
--------
>>> ens = calibrate_ensemble(context, free, n=1000, seed=3, out="ensemble.json")   # doctest: +SKIP
>>> ens.parameter_summary()                                                       # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FitError
from ..outcomes.context import EvaluationContext
from .ensemble_result import Ensemble, EnsembleSettings
from .sampler import SliceChains
from .space import FreeParameter, ParameterSpace

__all__ = ["METHOD", "EnsembleSettings", "calibrate_ensemble"]

#: How members are drawn (written into every ensemble file).
METHOD = ("uniform on the feasible region of the prior box (unit cube, log scale where the parameter is): "
          "interleaved hit-and-run chains with slice shrinkage (Neal 2003), directions from a covariance "
          "adapted during burn-in then frozen, interval length adapted during burn-in; a member every `thin` "
          "steps after burn-in; a proposal is accepted only when every required outcome holds")


def _required(context: EvaluationContext, require: Sequence[str] | None,
              exclude: Sequence[str] | None) -> tuple[str, ...]:
    keys = [o.key for o in context.outcomes]
    for what, ids in (("require", require), ("exclude", exclude)):
        unknown = sorted(set(ids or ()) - set(keys))
        if unknown:
            raise FitError(f"{what} names unknown outcomes: {', '.join(unknown)} (outcomes: {', '.join(keys)})")
    both = sorted(set(require or ()) & set(exclude or ()))
    if both:
        raise FitError(f"outcomes both required and excluded: {', '.join(both)}")
    chosen = list(require) if require is not None else keys
    return tuple(k for k in keys if k in chosen and k not in set(exclude or ()))


def calibrate_ensemble(context: EvaluationContext, free: Sequence[str | FreeParameter], n: int = 1000, *,
                       seed: int = 0, out: str | Path | None = None,
                       starts: Sequence[Mapping[str, float]] | None = None,
                       settings: EnsembleSettings | None = None, require: Sequence[str] | None = None,
                       exclude: Sequence[str] | None = None, resume: bool = True, progress: bool | None = None,
                       log: Any = None, covariance: np.ndarray | None = None) -> Ensemble:
    """Sample ``n`` distinct parameter sets uniformly from the region where every required outcome holds.

    Parameters
    ----------
    context : EvaluationContext
        Model, arms and outcomes; its ``params`` stay fixed.
    free : sequence of str or FreeParameter
        Free parameters; their bounds (the model's unless given) are the prior box.
    n : int
        Members wanted (default 1000).
    seed : int
        Seed of every draw (same seed and settings: same members, bit for bit).
    out : path, optional
        JSON file written every ``settings.save_every`` members and at the
        end; when it exists and ``resume``, sampling continues from it.
    starts : sequence of mapping, optional
        Feasible starting points (values of the free parameters); chains start
        at them in turn.  Default: the context's current values (model
        defaults updated with the context's overrides).
    settings : EnsembleSettings, optional
        Chains, burn-in, thinning.
    require, exclude : sequence of str, optional
        Outcome ids that must hold (default: every outcome of the context),
        and ids left out (for "calibrate without O15").
    resume : bool
        Continue from ``out`` when it exists (else overwrite it).
    progress : bool, optional
        Show a progress bar on stderr (default: when stderr is a terminal).
    log : callable, optional
        Receives one line per saved batch (``None``: silent).
    covariance : ndarray, optional
        Initial direction covariance in the unit cube (e.g. of a related ensemble); it still adapts during burn-in.

    Returns
    -------
    Ensemble

    Raises
    ------
    FitError
        A start where a required outcome fails, bad settings, or a file to
        resume from that belongs to another problem.
    """
    if not isinstance(context, EvaluationContext):
        raise FitError(f"context must be an EvaluationContext, got {context!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise FitError(f"n must be an integer >= 1, got {n!r}")
    settings = settings or EnsembleSettings()
    if not isinstance(settings, EnsembleSettings):
        raise FitError(f"settings must be EnsembleSettings, got {settings!r}")
    space = ParameterSpace(context.model, free)
    required = _required(context, require, exclude)
    ids = tuple(o.key for o in context.outcomes)
    req_mask = np.array([k in required for k in ids])

    def feasible(u: np.ndarray) -> tuple[bool, Any]:
        ev = context.evaluate(space.to_params(u))
        ok = np.array([r.satisfied for r in ev.results], dtype=bool)
        margins = np.array([r.margin for r in ev.results], dtype=float)
        return bool(ok[req_mask].all()), (margins, tuple(k for k, s in zip(ids, ok) if not s))

    previous = _previous(out, resume, space, seed, settings, required, context)
    t0 = time.perf_counter()
    if previous is not None:
        chains = SliceChains(feasible, [np.full(len(space), 0.5)], seed, settings.sampler(),
                             state=previous.sampler_state)
        members = list(previous.members)
        margins = [row for row in np.asarray(previous.margins)]
        failing, chain_ids = list(previous.failing), list(previous.chains)
        spent = previous.wall_time
    else:
        own_start = starts is None
        if starts is None:
            current = {**context.model.parameter_values(), **context.params}
            starts = [{f.name: current[f.name] for f in space.free}]
        U0 = []
        for k, s in enumerate(starts):
            missing = [f.name for f in space.free if f.name not in s]
            if missing:
                raise FitError(f"start {k} lacks free parameters: {', '.join(missing)}")
            extra = sorted(set(s) - {f.name for f in space.free})
            if extra:
                raise FitError(f"start {k} names parameters that are not free: {', '.join(extra)} "
                               f"(free: {', '.join(f.name for f in space.free)}; fixed values belong in the context)")
            u = space.to_unit(s)
            back = space.to_params(u)
            off = [f.name for f in space.free if not np.isclose(back[f.name], float(s[f.name]), rtol=1e-9, atol=0)]
            if off:
                raise FitError(f"start {k} lies outside the prior bounds of: {', '.join(off)}")
            ok, (start_margins, start_failing) = feasible(u)  # evaluated once: the context caches it for the chains
            if not ok:
                what = "the model's current values (no starts given)" if own_start else "given"
                bad = [(i, float(start_margins[ids.index(i)])) for i in start_failing if i in required]
                raise FitError(f"start {k} ({what}) is not feasible: required outcome(s) "
                               f"{', '.join(f'{i} (margin {m:.3g})' for i, m in bad)} fail there. Start the chains "
                               "inside the region: starts=[{name: value}, ...], e.g. calibrate()'s parameters, or a "
                               "member of another ensemble")
            U0.append(u)
        chains = SliceChains(feasible, U0, seed, settings.sampler(), covariance=covariance)
        members, margins, failing, chain_ids, spent = [], [], [], [], 0.0

    bar = _bar(progress, n, len(members))

    def snapshot(complete: bool) -> Ensemble:
        return Ensemble(
            model=context.model.name, free=space.free, members=tuple(members), fixed=dict(context.params),
            chains=tuple(chain_ids), outcome_ids=ids,
            margins=np.array(margins, dtype=float).reshape(len(members), len(ids)), failing=tuple(failing),
            required=required, seed=int(seed), settings=settings, n_evaluations=chains.n_evaluations,
            wall_time=spent + time.perf_counter() - t0, complete=complete, n_requested=int(n),
            sampler_state=chains.state_dict(), method=METHOD)

    def on_member(c: int, u: np.ndarray, info: Any) -> None:
        members.append(space.to_params(u))
        margins.append(info[0])
        failing.append(info[1])
        chain_ids.append(int(c))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(evals=chains.n_evaluations, refresh=False)
        if len(members) % settings.save_every == 0:
            if out is not None:
                snapshot(len(members) >= n).save(out)
            if log is not None:
                log(f"{len(members)}/{n} members, {chains.n_evaluations} evaluations, "
                    f"{spent + time.perf_counter() - t0:.0f} s")

    last = [time.perf_counter()]

    def on_step() -> None:
        if bar is not None and chains.burning and time.perf_counter() - last[0] > 1.0:
            last[0] = time.perf_counter()
            bar.set_description(f"burn-in {min(chains.steps)}/{settings.n_burn}")
        elif bar is not None and not chains.burning and bar.desc:
            bar.set_description("")

    try:
        chains.run(int(n), on_member, on_step)
    finally:
        if bar is not None:
            bar.close()
        result = snapshot(len(members) >= n)
        if out is not None and members:
            result.save(out)
    if len(result) > int(n):  # an existing file held more members than asked for now
        result = dataclasses.replace(result, members=result.members[:n], margins=result.margins[:n],
                                     failing=result.failing[:n], chains=result.chains[:n])
    return result


def _previous(out: str | Path | None, resume: bool, space: ParameterSpace, seed: int, settings: EnsembleSettings,
              required: tuple[str, ...], context: EvaluationContext) -> Ensemble | None:
    if out is None or not resume or not Path(out).exists():
        return None
    prev = Ensemble.load(out)
    why = []
    if prev.free != space.free:
        why.append("free parameters or their bounds")
    if prev.seed != int(seed):
        why.append(f"seed ({prev.seed} there)")
    if prev.settings != settings:
        why.append("settings")
    if prev.required != required:
        why.append("required outcomes")
    if prev.fixed != dict(context.params):
        why.append("fixed overrides")
    if prev.sampler_state is None:
        why.append("no sampler state saved")
    if why:
        raise FitError(f"{out}: cannot continue this ensemble, it differs in {', '.join(why)} "
                       "(pass resume=False, or --no-resume, to start afresh)")
    return prev


def _bar(progress: bool | None, total: int, initial: int) -> Any:
    show = progress if progress is not None else sys.stderr.isatty()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="member", leave=False)

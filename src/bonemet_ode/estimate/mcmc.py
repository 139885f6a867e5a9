"""Bayesian sampling with lmfit's ``Minimizer.emcee`` and posterior predictive bands.

The log-posterior is ``-objective`` (the negative log-likelihood plus the
extra penalties) with uniform priors inside each parameter's bounds, sampled
by emcee's affine-invariant ensemble (lmfit ``Minimizer.emcee``,
``float_behavior="posterior"``).  Walkers start in a small ball around the
maximum-likelihood estimate; everything is seeded.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import BonemetWarning, FitError
from ..simulate import Simulator
from .estimation_problem import EstimationProblem
from .fitter import Fitter, resolve_fit
from .result import FitResult

if TYPE_CHECKING:
    import lmfit
    import pandas as pd

__all__ = ["PosteriorSample", "PredictiveBand", "sample_posterior", "posterior_predictive"]


@dataclass(frozen=True, eq=False)
class PosteriorSample:
    """Draws from the posterior of the estimated parameters.

    Attributes
    ----------
    samples : pandas.DataFrame
        Flat chain after burn-in and thinning, one column per estimated parameter.
    log_posterior : ndarray
        Log-posterior of each draw.
    acceptance : float
        Mean acceptance fraction of the walkers.
    autocorr : dict
        Integrated autocorrelation time per parameter (steps; NaN when the
        chain is too short to estimate it).
    walkers, steps, burn, thin, seed : int
        Sampler settings.
    """

    samples: pd.DataFrame
    log_posterior: np.ndarray
    acceptance: float
    autocorr: dict[str, float]
    walkers: int
    steps: int
    burn: int
    thin: int
    seed: int

    @property
    def long_enough(self) -> bool:
        """Whether the kept chain spans at least 50 autocorrelation times (emcee's rule of thumb)."""
        tau = np.array(list(self.autocorr.values()), dtype=float)
        return bool(np.all(np.isfinite(tau)) and (self.steps - self.burn) > 50 * float(np.max(tau)))

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Posterior median and equal-tailed credible interval per parameter."""
        q = [(1 - level) / 2, 0.5, (1 + level) / 2]
        t = self.samples.quantile(q).T
        t.columns = ["lower", "median", "upper"]
        t["mean"] = self.samples.mean()
        t["sd"] = self.samples.std()
        return t


@dataclass(frozen=True, eq=False)
class PredictiveBand:
    """Posterior predictive quantiles over time.

    Attributes
    ----------
    frame : pandas.DataFrame
        Columns ``arm, observable, time, lower, median, upper`` (time in days,
        values in data units).
    level : float
        Coverage of ``[lower, upper]``.
    with_noise : bool
        Whether measurement noise was added (a prediction band for new data)
        or not (a credible band for the mean curve).
    """

    frame: pd.DataFrame
    level: float
    with_noise: bool


def sample_posterior(
    source: Fitter | EstimationProblem | FitResult,
    result: FitResult | None = None,
    *,
    steps: int = 1000,
    walkers: int | None = None,
    burn: int = 300,
    thin: int = 1,
    seed: int = 0,
) -> PosteriorSample:
    """Sample the posterior of the estimated parameters with emcee (via lmfit).

    Parameters
    ----------
    source : EstimationProblem, FitResult or Fitter
        The problem (its objective, priors included, defines the posterior):
        an :class:`EstimationProblem`, a fresh :class:`FitResult`, or the
        :class:`Fitter` that produced ``result``.
    result : FitResult, optional
        Maximum-likelihood fit; walkers start around it (default: the
        result given as ``source``, or a fit of the problem).
    steps : int
        Steps per walker.
    walkers : int, optional
        Number of walkers (default ``max(16, 4*n_estimated)``, even).
    burn, thin : int
        Steps discarded at the start, and thinning interval.
    seed : int
        Seed of the initial ball and the sampler.

    Returns
    -------
    PosteriorSample
    """
    import lmfit
    fitter, result = resolve_fit(source, result, "sample_posterior")
    for name, v, lo in (("steps", steps, 1), ("burn", burn, 0), ("thin", thin, 1), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise FitError(f"{name}: expected an integer >= {lo}, got {v!r}")
    if burn >= steps:
        raise FitError(f"burn ({burn}) must be smaller than steps ({steps})")
    kept = (steps - burn) // thin  # emcee keeps chain[burn + thin - 1 :: thin]
    if kept < 1:
        raise FitError(f"steps={steps}, burn={burn}, thin={thin}: the {steps - burn} steps left after burn-in "
                       f"give no draws when thinned by {thin} ((steps - burn) // thin = {kept}); raise steps "
                       f"or lower burn or thin")
    names = fitter.problem.varied
    nw = walkers if walkers is not None else max(16, 4 * len(names))
    nw += nw % 2
    if nw < 2 * len(names):
        raise FitError(f"walkers: need at least {2 * len(names)} for {len(names)} parameters, got {nw}")
    pb = fitter.problem

    def log_post(params: lmfit.Parameters) -> float:
        obj = pb.objective(params.valuesdict())
        return -obj if math.isfinite(obj) else -np.inf

    params = fitter.lmfit_parameters(result.values)
    rng = np.random.default_rng(seed)
    se = result.stderr
    start = np.empty((nw, len(names)))
    for j, n in enumerate(names):
        p = pb.by_name[n]
        x = result.values[n]
        width = 0.1 * se[n] if np.isfinite(se[n]) and se[n] > 0 else 1e-3 * max(abs(x), 1e-8)
        start[:, j] = np.clip(x + width * rng.standard_normal(nw), p.lower, p.upper)
    mini = lmfit.Minimizer(log_post, params, nan_policy="propagate")
    emcee_log = logging.getLogger("emcee")
    level = emcee_log.level
    emcee_log.setLevel(logging.ERROR)  # short chains: warned below, and PosteriorSample.long_enough
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # lmfit prints emcee's autocorrelation warning
            out = mini.emcee(params=params, steps=steps, nwalkers=nw, burn=burn, thin=thin, pos=start,
                             float_behavior="posterior", seed=seed, progress=False)
        try:
            times = mini.sampler.get_autocorr_time(discard=burn, thin=thin, quiet=True)
            tau = dict(zip(names, map(float, times)))
        except Exception:  # noqa: BLE001 - emcee raises several types when the chain is short
            tau = dict.fromkeys(names, math.nan)
    finally:
        emcee_log.setLevel(level)
    flat = out.flatchain[list(names)].reset_index(drop=True)
    lnp = np.asarray(out.lnprob).reshape(-1)  # (steps, walkers) flattened like flatchain
    sample = PosteriorSample(flat, lnp, float(np.mean(out.acceptance_fraction)), tau, nw, steps, burn, thin, seed)
    if not sample.long_enough:
        finite = [v for v in tau.values() if math.isfinite(v)]
        worst = f"{max(finite):.3g}" if finite else "not estimable"
        taus = ", ".join(f"{k}={v:.3g}" for k, v in tau.items())
        warnings.warn(f"sample_posterior: the chain is too short for its autocorrelation time: {steps - burn} "
                      f"steps after burn-in, but emcee's rule of thumb needs more than 50 x the largest "
                      f"autocorrelation time ({worst} steps; {taus}); the credible intervals are unreliable, "
                      f"run more steps (PosteriorSample.long_enough is False)", BonemetWarning, stacklevel=2)
    return sample


def posterior_predictive(
    source: Fitter | EstimationProblem | FitResult,
    sample: PosteriorSample,
    *,
    times: Sequence[float] | None = None,
    n_draws: int = 200,
    level: float = 0.95,
    with_noise: bool = False,
    seed: int = 0,
) -> PredictiveBand:
    """Quantile bands of predictions over posterior draws (one batched solve per arm).

    Parameters
    ----------
    source : EstimationProblem, FitResult or Fitter
        What defines model, arms and observation maps.
    sample : PosteriorSample
        Posterior draws.
    times : sequence of float, optional
        Output times, days (default: 121 points from 0 to the last datum).
    n_draws : int
        Number of posterior draws used.
    level : float
        Band coverage.
    with_noise : bool
        Add measurement noise (a band for new observations).
    seed : int
        Seed for choosing draws and noise.
    """
    import pandas as pd
    if not 0 < level < 1:
        raise FitError(f"level: expected a number in (0, 1), got {level!r}")
    if isinstance(source, FitResult):
        if source.problem is None:
            raise FitError("posterior_predictive: this FitResult does not carry its problem (loaded from a file); "
                           "pass its EstimationProblem")
        pb = source.problem.compile()
    elif isinstance(source, EstimationProblem):
        pb = source.compile()
    elif isinstance(source, Fitter):
        pb = source.problem
    else:
        raise FitError(f"posterior_predictive: expected an EstimationProblem, a FitResult or a Fitter, "
                       f"got {type(source).__name__}")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(sample.samples), size=min(n_draws, len(sample.samples)), replace=False)
    draws = [{**pb.initial_values(), **{k: float(v) for k, v in row.items()}}
             for row in sample.samples.iloc[idx].to_dict("records")]
    t_end = float(pb.frame["time"].max()) or 1.0
    t = np.asarray(times, dtype=float) if times is not None else np.linspace(0.0, t_end, 121)
    q = [(1 - level) / 2, 0.5, (1 + level) / 2]
    parts = []
    for k, arm in enumerate(pb.arm_names):
        sim = Simulator(pb.model, pb.simulators[k].arm, times=t, options=pb.options)
        mvals = [pb.model_values(v, arm) for v in draws]
        P = np.array([sim.model.parameter_vector(m) for m in mvals])
        Y0 = np.array([sim.model.initial_values(sim.model.resolve_parameters(m)) for m in mvals])
        Y, O, _, status, _, _ = sim.solve(P, Y0)
        O = O if O is not None else Y[:, :, :0]  # None: the model has no observables
        ok = np.flatnonzero(status == 0)
        names = sim.model.state_names + sim.model.observable_names
        for o in pb.obs_names:
            preds = []
            for i in ok:
                series = {n: (Y[i, :, j] if j < Y.shape[2] else O[i, :, j - Y.shape[2]]) for j, n in enumerate(names)}
                f = pb.predict_series(series, draws[i], arm, o)
                if with_noise:
                    nm = pb.noise[o]
                    s = nm.sd(f, pb.noise_values(draws[i], o))
                    z = nm.location(f) + s * rng.standard_normal(f.shape)
                    f = np.exp(z) if nm.log_scale else z
                preds.append(f)
            if not preds:
                raise FitError(f"posterior_predictive: every draw failed to solve in arm {arm!r}")
            qs = np.quantile(np.array(preds), q, axis=0)
            parts.append(pd.DataFrame({"arm": arm, "observable": o, "time": t, "lower": qs[0], "median": qs[1],
                                       "upper": qs[2]}))
    return PredictiveBand(pd.concat(parts, ignore_index=True), level, with_noise)

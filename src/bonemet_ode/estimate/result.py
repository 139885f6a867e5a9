"""Fit results: estimates, standard errors, fit statistics, predictions; saved to and loaded from JSON.

:class:`FitResult` holds one fit (one subject, or a pooled fit of many);
:class:`SubjectFits` holds per-subject fits, each member with its own status.
Both save to JSON and load back bit for bit (``save``/``load``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FitError
from ..io import json_values as _json
from .parameters import FitParameter
from .selection import criteria

if TYPE_CHECKING:  # pragma: no cover
    import lmfit
    import pandas as pd

    from .estimation_problem import EstimationProblem

__all__ = ["FitResult", "SubjectFits", "FORMAT_VERSION", "STATUSES"]

#: How a fit ended (:attr:`FitResult.status`).
STATUSES = ("converged", "not_moved", "singular_hessian", "max_evaluations", "failed")

#: Version of the JSON payload written by ``save`` (1: the 0.1 layout without envelope).
FORMAT_VERSION = 2


@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of one fit.

    Attributes
    ----------
    model : str
        Model name.
    label : str
        What was fitted: a subject id, or ``"pooled"``.
    parameters : tuple of FitParameter
        Every parameter with its bounds, unit, role and whether it was estimated.
    values : dict
        Estimates (and fixed values) by parameter name, in their units.
    covariance : ndarray
        Covariance of the estimated parameters (order of :attr:`varied`):
        the inverse Gauss-Newton (expected Fisher) information built from
        the Jacobian of the predictions; NaN when that is singular.
    nll : float
        Negative log-likelihood at the estimate (full densities).
    penalty : float
        Value of the extra penalty ``sum(p**2)/2`` at the estimate (0 without a hook).
    n_observations, n_censored : int
        Data points used and how many of them are censored.
    success : bool
        Whether the fit converged (``status == "converged"``).
    message : str
        What happened: the optimiser's message, prefixed by the reason when
        the status is not ``"converged"``.
    nfev : int
        Objective evaluations over all starts.
    start_objectives : tuple of float
        Final objective of each start (the best one is kept).
    noise : dict
        Noise model kind per observable.
    points : pandas.DataFrame
        Data rows with ``predicted``, ``residual`` (weighted, likelihood scale) and ``sd``.
    curves : pandas.DataFrame
        Dense predictions ``subject, arm, observable, time, value``.
    wall_time : float
        Seconds spent fitting.
    method : str
        How it was fitted.
    units : dict
        Unit of each data observable (for labels).
    status : str
        One of :data:`STATUSES`: ``"converged"``; ``"not_moved"`` (no
        estimated parameter left its start and the information matrix is
        singular: the data do not inform the parameters); ``"singular_hessian"``
        (moved, but the information matrix is singular or ill-conditioned, so
        the standard errors are NaN); ``"max_evaluations"`` (stopped at
        ``max_nfev``); ``"failed"`` (the optimiser failed or the objective is
        not finite).
    problem : EstimationProblem or None
        The problem that was fitted (not saved; None after :meth:`load`).
    """

    model: str
    label: str
    parameters: tuple[FitParameter, ...]
    values: dict[str, float]
    covariance: np.ndarray
    nll: float
    penalty: float
    n_observations: int
    n_censored: int
    success: bool
    message: str
    nfev: int
    start_objectives: tuple[float, ...]
    noise: dict[str, str]
    points: pd.DataFrame
    curves: pd.DataFrame
    wall_time: float = 0.0
    method: str = ""
    units: dict[str, str] = field(default_factory=dict)
    status: str = ""
    problem: EstimationProblem | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.status:  # results written before statuses existed
            object.__setattr__(self, "status", "converged" if self.success else "failed")
        if self.status not in STATUSES:
            raise FitError(f"status: expected one of {list(STATUSES)}, got {self.status!r}")

    def to_lmfit(self) -> lmfit.Parameters:
        """The estimates as :class:`lmfit.Parameters` (value, bounds, ``vary``; ``stderr`` where finite)."""
        from .estimation_problem import to_lmfit

        return to_lmfit(self.parameters, self.values, self.stderr)

    # ------------------------------------------------------------------ derived
    @property
    def varied(self) -> tuple[str, ...]:
        """Names of the estimated parameters (order of :attr:`covariance`)."""
        return tuple(p.name for p in self.parameters if p.vary)

    @property
    def n_parameters(self) -> int:
        """Number of estimated parameters (noise parameters included)."""
        return len(self.varied)

    @property
    def stderr(self) -> dict[str, float]:
        """Standard error of every parameter (NaN when fixed or unavailable)."""
        se = dict.fromkeys(self.values, math.nan)
        diag = np.diag(self.covariance) if self.covariance.size else np.zeros(0)
        for name, v in zip(self.varied, diag):
            se[name] = float(np.sqrt(v)) if v >= 0 else math.nan
        return se

    @property
    def at_bound(self) -> dict[str, str]:
        """Estimated parameters whose estimate sits on a bound: ``{name: "lower" | "upper"}``.

        "On" means within ``1e-6`` relative (``1e-12`` absolute) of the bound.
        The optimum there is constrained, so the Wald standard error and
        interval do not describe it (:meth:`table` clips the interval at the
        bound and flags it); widen the bound or fix the parameter.
        """
        out = {}
        for p in self.parameters:
            if not p.vary:
                continue
            v = self.values[p.name]
            for side, b in (("lower", p.lower), ("upper", p.upper)):
                if math.isfinite(b) and abs(v - b) <= 1e-6 * max(abs(b), abs(v)) + 1e-12:
                    out[p.name] = side
        return out

    @property
    def correlation(self) -> pd.DataFrame:
        """Correlation matrix of the estimated parameters."""
        import pandas as pd
        c = self.covariance
        d = np.sqrt(np.diag(c)) if c.size else np.zeros(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = c / np.outer(d, d)
        return pd.DataFrame(r, index=list(self.varied), columns=list(self.varied))

    @property
    def aic(self) -> float:
        """Akaike information criterion ``2k + 2 NLL``."""
        return criteria(self.nll, self.n_parameters, self.n_observations)["aic"]

    @property
    def aicc(self) -> float:
        """Small-sample corrected AIC."""
        return criteria(self.nll, self.n_parameters, self.n_observations)["aicc"]

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``k ln n + 2 NLL``."""
        return criteria(self.nll, self.n_parameters, self.n_observations)["bic"]

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates with SE, relative SE (%) and Wald confidence intervals.

        Log-scaled parameters get intervals on the log scale,
        ``exp(log x +- z*SE/x)``, so they stay positive.  Intervals are
        clipped at the parameter's bounds; ``ci_clipped`` says where that
        happened and ``at_bound`` (``"lower"``, ``"upper"`` or ``""``) marks
        an estimate on a bound, whose Wald SE and interval are unreliable
        (see :attr:`at_bound`).
        """
        import pandas as pd
        from scipy.stats import norm
        z = float(norm.ppf(0.5 + level / 2))
        se = self.stderr
        at_bound = self.at_bound
        rows = []
        for p in self.parameters:
            v, s = self.values[p.name], se[p.name]
            if p.vary and p.log_scale and v > 0 and np.isfinite(s):
                with np.errstate(over="ignore"):
                    lo, hi = v * float(np.exp(-z * s / v)), v * float(np.exp(z * s / v))
            else:
                lo, hi = v - z * s, v + z * s
            clipped = bool(p.vary and (lo < p.lower or hi > p.upper))
            if clipped:
                lo, hi = max(lo, p.lower), min(hi, p.upper)
            rows.append({"parameter": p.name, "estimate": v, "se": s, "rse_percent": 100 * s / abs(v) if v else
                         math.nan, "lower": lo, "upper": hi, "unit": p.unit, "estimated": p.vary, "role": p.role,
                         "at_bound": at_bound.get(p.name, ""), "ci_clipped": clipped})
        return pd.DataFrame(rows).set_index("parameter")

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope ``{"format": "bonemet_ode.fit_result", "version": 2, "payload": {...}}``."""
        from ..io.envelope import envelope

        return envelope("fit_result", FORMAT_VERSION, _json.encode({
            "model": self.model, "label": self.label,
            "parameters": [dataclasses.asdict(p) for p in self.parameters], "values": self.values,
            "covariance": _json.array_to_json(self.covariance), "nll": self.nll, "penalty": self.penalty,
            "n_observations": self.n_observations, "n_censored": self.n_censored, "success": self.success,
            "message": self.message, "nfev": self.nfev, "start_objectives": list(self.start_objectives),
            "noise": self.noise, "points": _json.frame_to_json(self.points),
            "curves": _json.frame_to_json(self.curves), "wall_time": self.wall_time, "method": self.method,
            "units": self.units, "status": self.status,
        }))

    @classmethod
    def from_dict(cls, d: Any, *, model: Any = None, source: str = "<document>") -> FitResult:
        """Rebuild a result written by :meth:`to_dict` (or by bonemet_ode 0.1), checking every field.

        Parameters
        ----------
        d
            The envelope (or the 0.1 document, or the payload's
            :class:`~bonemet_ode.io.envelope.Fields`).
        model
            Optional model (or model name): the saved fit must be of it and
            name only its parameters.
        source
            File name for messages.

        Raises
        ------
        SavedFileError
            Another kind or version, a missing field, a value of the wrong type,
            a non-finite estimate, names that do not match (the field is named).
        """
        from ..io.envelope import Fields, open_document

        if isinstance(d, Fields):
            f = d
        else:
            _, f = open_document(d, "fit_result", versions=(1, FORMAT_VERSION), legacy=_json.legacy_fit("FitResult"),
                                 source=source)
        kws = _json.fit_parameters_field(f)
        _json.check_model_names(f, kws, model)
        names = [kw["name"] for kw in kws]
        values = f.number_map("values", names=names, what="parameter")
        missing = [n for n in names if n not in values]
        if missing:
            raise f.error("values", f"lacks the value of parameter(s) {missing}")
        k = sum(kw["vary"] for kw in kws)
        success = f.bool("success")
        nll = f.number("nll", finite=success)
        n_obs = f.int("n_observations", minimum=0)
        n_cens = f.int("n_censored", minimum=0)
        if n_cens > n_obs:
            raise f.error("n_censored", f"is {n_cens}, more than n_observations {n_obs}")
        return cls(
            model=f.str("model"), label=f.str("label"), parameters=tuple(FitParameter(**kw) for kw in kws),
            values={n: values[n] for n in names}, covariance=_json.array_field(f, "covariance", shape=(k, k)),
            nll=nll, penalty=f.number("penalty", finite=False), n_observations=n_obs, n_censored=n_cens,
            success=success, message=f.str("message", ""), nfev=f.int("nfev", minimum=0),
            start_objectives=tuple(f.numbers("start_objectives", finite=False)),
            noise=f.str_map("noise"), points=_json.frame_field(f, "points"), curves=_json.frame_field(f, "curves"),
            wall_time=f.number("wall_time", 0.0, minimum=0.0), method=f.str("method", ""),
            units=f.str_map("units", {}), status=f.str("status", ""),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result as JSON (floats exact; written atomically)."""
        from ..io.envelope import write_document

        write_document(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, model: Any = None) -> FitResult:
        """Read a result written by :meth:`save` (any supported version); see :meth:`from_dict`."""
        from ..io.envelope import read_document

        return cls.from_dict(read_document(path), model=model, source=os.path.basename(os.fspath(path)))

    def __repr__(self) -> str:
        est = ", ".join(f"{n}={self.values[n]:.4g}" for n in self.varied)
        return (f"<FitResult {self.model} [{self.label}] {self.status}: {est}; "
                f"NLL {self.nll:.4g}, {self.n_observations} points>")


@dataclass(frozen=True, eq=False)
class SubjectFits:
    """Per-subject fits: one :class:`FitResult` per subject, failures kept with their message.

    Attributes
    ----------
    model : str
        Model name.
    fits : dict
        ``{subject: FitResult}`` for every subject that could be fitted.
    failed : dict
        ``{subject: message}`` for subjects whose fit raised.
    wall_time : float
        Seconds for all subjects.
    """

    model: str
    fits: dict[str, FitResult]
    failed: dict[str, str] = field(default_factory=dict)
    wall_time: float = 0.0

    @property
    def converged(self) -> tuple[str, ...]:
        """Subjects whose fit converged."""
        return tuple(s for s, r in self.fits.items() if r.success)

    @property
    def nll(self) -> float:
        """Sum of the subjects' NLLs."""
        return float(sum(r.nll for r in self.fits.values()))

    @property
    def n_parameters(self) -> int:
        """Total number of estimated parameters over subjects."""
        return int(sum(r.n_parameters for r in self.fits.values()))

    @property
    def n_observations(self) -> int:
        """Total number of data points over subjects."""
        return int(sum(r.n_observations for r in self.fits.values()))

    @property
    def aic(self) -> float:
        """AIC of all subjects together."""
        return criteria(self.nll, self.n_parameters, self.n_observations)["aic"]

    @property
    def units(self) -> dict[str, str]:
        """Unit of each data observable."""
        return dict(next(iter(self.fits.values())).units) if self.fits else {}

    @property
    def points(self) -> pd.DataFrame:
        """Data rows of all subjects with predictions and residuals."""
        import pandas as pd
        return pd.concat([r.points for r in self.fits.values()], ignore_index=True)

    @property
    def curves(self) -> pd.DataFrame:
        """Dense predictions of all subjects."""
        import pandas as pd
        return pd.concat([r.curves for r in self.fits.values()], ignore_index=True)

    def table(self) -> pd.DataFrame:
        """One row per subject: ``subject, arm, success, status, nll, n_observations``, each parameter and
        ``<param>_se``."""
        import pandas as pd
        rows = []
        for s, r in self.fits.items():
            arm = r.points["arm"].iat[0] if len(r.points) else ""
            row: dict[str, Any] = {"subject": s, "arm": arm, "success": r.success, "status": r.status, "nll": r.nll,
                                   "n_observations": r.n_observations}
            se = r.stderr
            for p in r.parameters:
                row[p.name] = r.values[p.name]
                row[f"{p.name}_se"] = se[p.name]
            rows.append(row)
        for s, msg in self.failed.items():
            rows.append({"subject": s, "success": False, "status": "failed", "message": msg})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope ``{"format": "bonemet_ode.subject_fits", "version": 2, "payload": {...}}``."""
        from ..io.envelope import envelope

        return envelope("subject_fits", FORMAT_VERSION, _json.encode({
            "model": self.model, "fits": {s: r.to_dict()["payload"] for s, r in self.fits.items()},
            "failed": self.failed, "wall_time": self.wall_time}))

    @classmethod
    def from_dict(cls, d: Any, *, model: Any = None, source: str = "<document>") -> SubjectFits:
        """Rebuild from :meth:`to_dict` output (or a 0.1 document), checking every member
        (see :meth:`FitResult.from_dict`)."""
        from ..io.envelope import open_document

        _, f = open_document(d, "subject_fits", versions=(1, FORMAT_VERSION),
                             legacy=_json.legacy_fit("SubjectFits"), source=source)
        name = f.str("model")
        members = f.obj("fits")
        fits = {s: FitResult.from_dict(members.obj(s), model=model) for s in members.keys()}  # noqa: SIM118 (Fields, not a dict)
        for s, r in fits.items():
            if r.model != name:
                raise members.obj(s).error("model", f"is {r.model!r}; the file is of model {name!r}")
        return cls(model=name, fits=fits, failed=f.str_map("failed", {}),
                   wall_time=f.number("wall_time", 0.0, minimum=0.0))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write all member fits as one JSON file (floats exact; written atomically)."""
        from ..io.envelope import write_document

        write_document(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, model: Any = None) -> SubjectFits:
        """Read fits written by :meth:`save` (any supported version)."""
        from ..io.envelope import read_document

        return cls.from_dict(read_document(path), model=model, source=os.path.basename(os.fspath(path)))

    def __repr__(self) -> str:
        return (f"<SubjectFits {self.model}: {len(self.converged)}/{len(self.fits) + len(self.failed)} "
                f"subjects converged, {len(self.failed)} failed>")

"""The result of a population fit: typical values, between-subject variability, individual estimates."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FitError
from ..io import json_values as _json
from .parameters import FitParameter
from .result import STATUSES
from .selection import criteria

if TYPE_CHECKING:  # pragma: no cover
    import lmfit
    import pandas as pd

    from .estimation_problem import EstimationProblem

__all__ = ["PopulationResult"]


@dataclass(frozen=True, eq=False)
class PopulationResult:
    """Population estimates with log-normal random effects.

    Attributes
    ----------
    model : str
        Model name.
    random : tuple of str
        Parameters with between-subject variability (``log theta_i ~ N(mu, Omega)``).
    parameters : tuple of FitParameter
        All fit parameters (bounds, units, roles).
    mu : ndarray (d,)
        Population means of the log-parameters (``exp(mu)`` = typical values).
    mu_covariance : ndarray (d, d)
        Approximate covariance of ``mu`` (global two-stage formula).
    omega : ndarray (d, d)
        Covariance of the log-parameters between subjects.
    psi_names : tuple of str
        Estimated shared parameters (model, noise, observation).
    psi_covariance : ndarray
        Their covariance (inverse Hessian of the M-step objective).
    values : dict
        Typical values of the random parameters and values of all others.
    individual : pandas.DataFrame
        One row per subject: ``subject, arm``, each random parameter's
        conditional mode, ``eta_<p>`` (its log deviation) and ``<p>_sd_log``
        (conditional sd of the log-parameter).
    objective : float
        ``-2 log L`` (Laplace approximation).
    n_observations, n_subjects : int
        Data points and subjects.
    covariance_structure : str
        ``"diagonal"`` or ``"full"`` Omega.
    converged : bool
        Whether the fit converged: EM met its tolerance and the standard
        errors are defined (``status == "converged"``).
    message : str
        Convergence message.
    iterations : int
        EM iterations.
    history : tuple of float
        ``-2 log L`` at each iteration.
    points, curves : pandas.DataFrame
        Data with individual predictions and residuals; dense individual curves.
    wall_time : float
        Seconds.
    method : str
        Description of the estimation method.
    units : dict
        Unit of each data observable.
    status : str
        ``"converged"``, ``"max_evaluations"`` (EM stopped at ``max_iter``),
        ``"singular_hessian"`` (EM met its tolerance but the information of
        the population parameters is singular, so standard errors are NaN)
        or ``"failed"`` (non-finite objective).
    problem : EstimationProblem or None
        The problem that was fitted (not saved; None after :meth:`load`).
    """

    model: str
    random: tuple[str, ...]
    parameters: tuple[FitParameter, ...]
    mu: np.ndarray
    mu_covariance: np.ndarray
    omega: np.ndarray
    psi_names: tuple[str, ...]
    psi_covariance: np.ndarray
    values: dict[str, float]
    individual: pd.DataFrame
    objective: float
    n_observations: int
    n_subjects: int
    covariance_structure: str
    converged: bool
    message: str
    iterations: int
    history: tuple[float, ...]
    points: pd.DataFrame
    curves: pd.DataFrame
    wall_time: float
    method: str
    units: dict[str, str]
    status: str = ""
    problem: EstimationProblem | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.status:  # results written before statuses existed
            object.__setattr__(self, "status", "converged" if self.converged else "max_evaluations")
        if self.status not in STATUSES:
            raise FitError(f"status: expected one of {list(STATUSES)}, got {self.status!r}")

    def to_lmfit(self) -> lmfit.Parameters:
        """Typical values and shared parameters as :class:`lmfit.Parameters` (``stderr`` where finite)."""
        from .estimation_problem import to_lmfit

        return to_lmfit(self.parameters, self.values, self.stderr)

    # ------------------------------------------------------------------ derived
    @property
    def nll(self) -> float:
        """Negative log-likelihood (``objective / 2``)."""
        return 0.5 * self.objective

    @property
    def n_parameters(self) -> int:
        """Estimated population parameters: means, Omega entries, shared parameters."""
        d = len(self.random)
        n_omega = d if self.covariance_structure == "diagonal" else d * (d + 1) // 2
        return d + n_omega + len(self.psi_names)

    @property
    def aic(self) -> float:
        """AIC from the Laplace likelihood."""
        return criteria(self.nll, self.n_parameters, self.n_observations)["aic"]

    @property
    def bic(self) -> float:
        """BIC with ``n`` = number of observations."""
        return criteria(self.nll, self.n_parameters, self.n_observations)["bic"]

    @property
    def omega_sd(self) -> dict[str, float]:
        """Between-subject sd of each log-parameter (~ CV for small values)."""
        return {p: float(math.sqrt(self.omega[k, k])) for k, p in enumerate(self.random)}

    @property
    def shrinkage(self) -> dict[str, float]:
        """Eta-shrinkage ``1 - sd(eta_hat)/omega`` per random parameter."""
        return {p: float(1.0 - np.std(self.individual[f"eta_{p}"], ddof=1) / math.sqrt(self.omega[k, k]))
                for k, p in enumerate(self.random)}

    @property
    def stderr(self) -> dict[str, float]:
        """SE of the typical values (delta method) and of the shared parameters; NaN for fixed ones."""
        se = dict.fromkeys(self.values, math.nan)
        for k, p in enumerate(self.random):
            se[p] = float(self.values[p] * math.sqrt(self.mu_covariance[k, k])) if self.mu_covariance.size else math.nan
        for k, p in enumerate(self.psi_names):
            v = self.psi_covariance[k, k]
            se[p] = float(math.sqrt(v)) if v >= 0 else math.nan
        return se

    def table(self) -> pd.DataFrame:
        """Population parameters: typical values, omegas (sd of log), shared parameters, with SEs."""
        import pandas as pd
        se = self.stderr
        units = {p.name: p.unit for p in self.parameters}
        rows = []
        for p in self.random:
            rows.append({"parameter": p, "kind": "typical value", "estimate": self.values[p], "se": se[p],
                         "unit": units[p]})
        shrink = self.shrinkage
        for k, p in enumerate(self.random):
            w = math.sqrt(self.omega[k, k])
            rows.append({"parameter": f"omega_{p}", "kind": f"sd of log {p} (shrinkage {100 * shrink[p]:.0f}%)",
                         "estimate": w, "se": w / math.sqrt(2 * self.n_subjects), "unit": "1"})
        if self.covariance_structure == "full":
            for a in range(len(self.random)):
                for b in range(a + 1, len(self.random)):
                    r = self.omega[a, b] / math.sqrt(self.omega[a, a] * self.omega[b, b])
                    rows.append({"parameter": f"corr_{self.random[a]}_{self.random[b]}",
                                 "kind": "correlation of random effects", "estimate": r, "se": math.nan, "unit": "1"})
        for p in self.psi_names:
            rows.append({"parameter": p, "kind": "shared", "estimate": self.values[p], "se": se[p],
                         "unit": units[p]})
        return pd.DataFrame(rows).set_index("parameter")

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope ``{"format": "bonemet_ode.population_result", "version": 2, "payload": {...}}``."""
        from ..io.envelope import envelope

        A = _json.array_to_json
        return envelope("population_result", 2, _json.encode({
            "model": self.model, "random": list(self.random),
            "parameters": [dataclasses.asdict(p) for p in self.parameters], "mu": A(self.mu),
            "mu_covariance": A(self.mu_covariance), "omega": A(self.omega), "psi_names": list(self.psi_names),
            "psi_covariance": A(self.psi_covariance), "values": self.values,
            "individual": _json.frame_to_json(self.individual), "objective": self.objective,
            "n_observations": self.n_observations, "n_subjects": self.n_subjects,
            "covariance_structure": self.covariance_structure, "converged": self.converged,
            "message": self.message, "iterations": self.iterations, "history": list(self.history),
            "points": _json.frame_to_json(self.points), "curves": _json.frame_to_json(self.curves),
            "wall_time": self.wall_time, "method": self.method, "units": self.units, "status": self.status,
        }))

    @classmethod
    def from_dict(cls, d: Any, *, model: Any = None, source: str = "<document>") -> PopulationResult:
        """Rebuild from :meth:`to_dict` output (or a 0.1 document), checking every field.

        Raises
        ------
        SavedFileError
            Another kind or version, a missing field, a value of the wrong type,
            a non-finite estimate, random effects that are not parameters (the
            field is named).
        """
        from ..io.envelope import open_document

        _, f = open_document(d, "population_result", versions=(1, 2),
                             legacy=_json.legacy_fit("PopulationResult"), source=source)
        kws = _json.fit_parameters_field(f)
        _json.check_model_names(f, kws, model)
        names = [kw["name"] for kw in kws]
        random = f.str_list("random")
        f.check_names("random", random, names, "parameter")
        values = f.number_map("values", names=names, what="parameter")
        missing = [n for n in names if n not in values]
        if missing:
            raise f.error("values", f"lacks the value of parameter(s) {missing}")
        r = len(random)
        psi_names = f.str_list("psi_names")
        return cls(
            model=f.str("model"), random=tuple(random), parameters=tuple(FitParameter(**kw) for kw in kws),
            mu=_json.array_field(f, "mu", shape=(r,), finite=True),
            mu_covariance=_json.array_field(f, "mu_covariance"),
            omega=_json.array_field(f, "omega", shape=(r, r), finite=True), psi_names=tuple(psi_names),
            psi_covariance=_json.array_field(f, "psi_covariance"), values={n: values[n] for n in names},
            individual=_json.frame_field(f, "individual"), objective=f.number("objective", finite=False),
            n_observations=f.int("n_observations", minimum=0), n_subjects=f.int("n_subjects", minimum=0),
            covariance_structure=f.str("covariance_structure"), converged=f.bool("converged"),
            message=f.str("message", ""), iterations=f.int("iterations", minimum=0),
            history=tuple(f.numbers("history", finite=False)),
            points=_json.frame_field(f, "points"), curves=_json.frame_field(f, "curves"),
            wall_time=f.number("wall_time", 0.0, minimum=0.0), method=f.str("method", ""),
            units=f.str_map("units", {}), status=f.str("status", ""),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write as JSON (floats exact; written atomically)."""
        from ..io.envelope import write_document

        write_document(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, model: Any = None) -> PopulationResult:
        """Read a result written by :meth:`save` (any supported version)."""
        from ..io.envelope import read_document

        return cls.from_dict(read_document(path), model=model, source=os.path.basename(os.fspath(path)))

    def __repr__(self) -> str:
        typ = ", ".join(f"{p}={self.values[p]:.4g} (omega {self.omega_sd[p]:.3g})" for p in self.random)
        return (f"<PopulationResult {self.model}: {typ}; -2LL {self.objective:.4g}, {self.n_subjects} subjects, "
                f"{self.status}>")

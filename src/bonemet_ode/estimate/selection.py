"""Model selection: AIC, AICc and BIC across candidate fits of one dataset.

.. math::

    \\mathrm{AIC} = 2k + 2\\,\\mathrm{NLL}, \\qquad
    \\mathrm{AICc} = \\mathrm{AIC} + \\frac{2k(k+1)}{n-k-1}, \\qquad
    \\mathrm{BIC} = k\\ln n + 2\\,\\mathrm{NLL},

with ``k`` estimated parameters (noise and population parameters included),
``n`` data points and NLL the negative log-likelihood at the estimate (full
densities on the data scale, so fits with different noise models compare).
Akaike weights are ``exp(-dAIC/2)`` normalised.  Only fits of the *same*
data are comparable; :func:`information_criteria` checks the point counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import FitError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["criteria", "information_criteria", "Scored"]


class Scored(Protocol):
    """Anything with a likelihood: FitResult, SubjectFits, PopulationResult."""

    @property
    def nll(self) -> float: ...

    @property
    def n_parameters(self) -> int: ...

    @property
    def n_observations(self) -> int: ...


def criteria(nll: float, k: int, n: int) -> dict[str, float]:
    """``{"aic", "aicc", "bic"}`` for ``nll`` with ``k`` parameters and ``n`` points (AICc inf when n <= k+1)."""
    aic = 2.0 * k + 2.0 * nll
    aicc = aic + 2.0 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf
    bic = k * math.log(n) + 2.0 * nll if n > 0 else math.nan
    return {"aic": aic, "aicc": aicc, "bic": bic}


def information_criteria(candidates: Mapping[str, Scored], sort_by: str = "aic") -> pd.DataFrame:
    """Table of AIC, AICc, BIC, their differences to the best and Akaike weights.

    Parameters
    ----------
    candidates : mapping of str to a fit
        Fits of the same data by name (``FitResult``, ``SubjectFits`` or
        ``PopulationResult``).
    sort_by : {"aic", "aicc", "bic"}
        Column to sort by (ascending).

    Returns
    -------
    pandas.DataFrame
        Index ``model``; columns ``n_parameters, n_observations, nll, aic,
        aicc, bic, delta_aic, delta_aicc, delta_bic, akaike_weight``.

    Raises
    ------
    FitError
        No candidates, an unknown ``sort_by``, or candidates fitted to
        different numbers of points.
    """
    import pandas as pd
    if not candidates:
        raise FitError("information_criteria: no candidate fits given")
    if sort_by not in ("aic", "aicc", "bic"):
        raise FitError(f"sort_by: expected 'aic', 'aicc' or 'bic', got {sort_by!r}")
    rows = []
    for name, fit in candidates.items():
        if not all(hasattr(fit, a) for a in ("n_parameters", "n_observations", "nll")):
            raise FitError(f"information_criteria: candidate {name!r} is a {type(fit).__name__}, not a fit result "
                           "(FitResult, SubjectFits or PopulationResult: it needs nll, n_parameters, n_observations)")
        k, n, nll = int(fit.n_parameters), int(fit.n_observations), float(fit.nll)
        rows.append({"model": name, "n_parameters": k, "n_observations": n, "nll": nll, **criteria(nll, k, n)})
    table = pd.DataFrame(rows).set_index("model")
    if table["n_observations"].nunique() > 1:
        raise FitError("information_criteria: candidates were fitted to different numbers of points "
                       f"{table['n_observations'].to_dict()}; compare fits of the same data only")
    for c in ("aic", "aicc", "bic"):
        table[f"delta_{c}"] = table[c] - table[c].min()
    w = np.exp(-0.5 * table["delta_aic"].to_numpy())
    table["akaike_weight"] = w / w.sum()
    return table.sort_values(sort_by)

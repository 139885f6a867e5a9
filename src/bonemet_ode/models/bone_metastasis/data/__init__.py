"""The shipped ensemble of the bone-metastasis model and which of its members is the default.

``explanation.json`` is the structural / predicted / fitted / in-tension
table of O1–O21 (:func:`~bonemet_ode.calibration.explain.explain_outcomes`)
that ``bonemet-ode outcomes --explain`` prints.

``ensemble.json`` holds parameter sets of the 29 free parameters
(:func:`~bonemet_ode.models.bone_metastasis.catalogue.ensemble_prior`), each
satisfying O1–O21 and P1–P6, sampled uniformly over the region where they all
hold (:func:`~bonemet_ode.calibration.ensemble.calibrate_ensemble`), from
chains started at the model's default values.  :data:`MOST_ROBUST_MEMBER` is
the member that kept every outcome under the most joint log-normal jitters
(``examples/ensemble_bone_metastasis.py`` makes both again).  It is *not*
the default: on ``benchmarks/robustness_bone_metastasis.py`` (100 jitters per
sigma) it keeps every outcome in 60 % of 5 % jitters and 23 % of 10 %
jitters, the defaults (the chains' start, not a member) in 66 % and 32 %
(``docs/calibration.md`` §4), so :data:`DEFAULT_MEMBER` is ``None``: the
defaults stay until a member beats them.

Use either: ``bonemet_ode.models.get("bone_metastasis")`` simulates the
defaults; ``shipped_ensemble().member(k)`` is member ``k`` as parameter
overrides (``simulate(params=...)``, ``EvaluationContext.evaluate``), and on
the command line ``--params PATH --member K`` with ``PATH`` from
:func:`ensemble_path`.

Examples
--------
>>> from bonemet_ode.models.bone_metastasis.data import shipped_ensemble, MOST_ROBUST_MEMBER
>>> ens = shipped_ensemble()
>>> len(ens) >= 1 and 0 <= MOST_ROBUST_MEMBER < len(ens)
True
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["ensemble_path", "explanation_path", "shipped_ensemble", "DEFAULT_MEMBER", "MOST_ROBUST_MEMBER"]

#: Index in ``ensemble.json`` of the member whose values are the model's defaults (``None``: the defaults
#: are not a member; no member tried is more robust than them).
DEFAULT_MEMBER: int | None = None
#: Index of the member that kept every outcome under the most joint jitters of those tried.
MOST_ROBUST_MEMBER = 3


def ensemble_path() -> Path:
    """Path of the shipped ensemble file (JSON, :class:`~bonemet_ode.calibration.ensemble_result.Ensemble`)."""
    return Path(__file__).with_name("ensemble.json")


def explanation_path() -> Path:
    """Path of the shipped structural / predicted / fitted table (``bonemet-ode outcomes --explain``)."""
    return Path(__file__).with_name("explanation.json")


@lru_cache(maxsize=1)
def _load() -> Any:
    from ....calibration.ensemble_result import Ensemble

    return Ensemble.load(ensemble_path())


def shipped_ensemble() -> Any:
    """The shipped :class:`~bonemet_ode.calibration.ensemble_result.Ensemble` (read once, then kept)."""
    return _load()

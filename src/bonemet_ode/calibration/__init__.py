"""Calibration to qualitative outcomes: parameter sets under which outcome statements hold.

Takes outcome statements (:mod:`bonemet_ode.outcomes`) and an evaluation context, searches the
box of free parameters (log-scaled where the bounds span decades) for a point where every
outcome holds with a safety margin, confirms it, and analyses conflicts between outcomes; or samples an
ensemble of parameter sets that all satisfy the
outcomes (:func:`calibrate_ensemble`) and explains which outcomes are structural, predicted, fitted
or in tension (:func:`explain_outcomes`); measures how much of a joint jitter of the parameters a
point survives (:func:`robustness`, :func:`most_robust_member`), and which clauses sit on a knife-edge and
which parameters push them over (:func:`jitter_margins`).
See ``docs/outcome_language.md``.
"""

from .calibrator import Calibrator as Calibrator
from .calibrator import calibrate as calibrate
from .ensemble import calibrate_ensemble as calibrate_ensemble
from .ensemble_result import Ensemble as Ensemble
from .ensemble_result import EnsembleSettings as EnsembleSettings
from .explain import Explanation as Explanation
from .explain import explain_outcomes as explain_outcomes
from .jitter_margins import ClauseDrivers as ClauseDrivers
from .jitter_margins import JitterMargins as JitterMargins
from .jitter_margins import jitter_margins as jitter_margins
from .result import CalibrationResult as CalibrationResult
from .robustness import jitter_factors as jitter_factors
from .robustness import most_robust_member as most_robust_member
from .robustness import robustness as robustness
from .space import CalibrationSettings as CalibrationSettings
from .space import FreeParameter as FreeParameter

__all__ = ["CalibrationResult", "CalibrationSettings", "Calibrator", "ClauseDrivers", "Ensemble", "EnsembleSettings",
           "Explanation", "FreeParameter", "JitterMargins", "calibrate", "calibrate_ensemble", "explain_outcomes",
           "jitter_factors", "jitter_margins", "most_robust_member", "robustness"]

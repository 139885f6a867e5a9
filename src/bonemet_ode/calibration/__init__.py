"""Calibration to qualitative outcomes: parameter sets under which outcome statements hold.

Takes outcome statements (:mod:`bonemet_ode.outcomes`) and an evaluation context, searches the
box of free parameters (log-scaled where the bounds span decades) for a point where every
outcome holds with a safety margin, confirms it, and analyses conflicts between outcomes.
See ``docs/outcome_language.md``.
"""

from .calibrator import Calibrator as Calibrator
from .calibrator import calibrate as calibrate
from .result import CalibrationResult as CalibrationResult
from .space import CalibrationSettings as CalibrationSettings
from .space import FreeParameter as FreeParameter

__all__ = ["CalibrationResult", "CalibrationSettings", "Calibrator", "FreeParameter", "calibrate"]

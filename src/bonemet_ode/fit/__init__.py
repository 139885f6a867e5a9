"""Deprecated: ``bonemet_ode.fit`` split into :mod:`bonemet_ode.data`, :mod:`bonemet_ode.estimate`
and :mod:`bonemet_ode.calibration` in 0.2.  This alias re-exports their names until 0.3.
"""

import warnings as _warnings

from ..calibration import CalibrationResult as CalibrationResult
from ..calibration import CalibrationSettings as CalibrationSettings
from ..calibration import Calibrator as Calibrator
from ..calibration import FreeParameter as FreeParameter
from ..calibration import calibrate as calibrate
from ..data import DataTable as DataTable
from ..data import read_long as read_long
from ..data import read_wide as read_wide
from ..estimate import *  # noqa: F403
from ..estimate import __all__ as _estimate_all

_warnings.warn("bonemet_ode.fit is deprecated: use bonemet_ode.data (tables and readers), bonemet_ode.estimate "
               "(fitting) and bonemet_ode.calibration (qualitative calibration); the alias goes in 0.3",
               DeprecationWarning, stacklevel=2)

__all__ = ["CalibrationResult", "CalibrationSettings", "Calibrator", "FreeParameter", "calibrate",
           "DataTable", "read_long", "read_wide", *_estimate_all]

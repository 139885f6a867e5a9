"""Fitting models to data: data tables, noise models, maximum-likelihood and population fits, uncertainty.

Pipeline: :class:`DataTable` (``read_long``/``read_wide``) → :class:`FitProblem`
(observation maps, noise models, censoring) → :class:`Fitter` /
:class:`SubjectFitter` / :class:`PopulationFitter` → :class:`FitResult` /
:class:`SubjectFits` / :class:`PopulationResult` → profiles, MCMC,
information criteria, reports.  Qualitative calibration to outcome
statements: :func:`calibrate` (see ``docs/outcome_language.md``).
"""

from .calibration import CalibrationResult as CalibrationResult
from .calibration import CalibrationSettings as CalibrationSettings
from .calibration import Calibrator as Calibrator
from .calibration import FreeParameter as FreeParameter
from .calibration import calibrate as calibrate
from .data import DataTable as DataTable
from .data import read_long as read_long
from .data import read_wide as read_wide
from .fitter import Fitter as Fitter
from .fitter import SubjectFitter as SubjectFitter
from .mcmc import PosteriorSample as PosteriorSample
from .mcmc import PredictiveBand as PredictiveBand
from .mcmc import posterior_predictive as posterior_predictive
from .mcmc import sample_posterior as sample_posterior
from .noise import AdditiveNoise as AdditiveNoise
from .noise import CombinedNoise as CombinedNoise
from .noise import LogNormalNoise as LogNormalNoise
from .noise import NoiseModel as NoiseModel
from .noise import ProportionalNoise as ProportionalNoise
from .noise import make_noise as make_noise
from .observation import ObservationMap as ObservationMap
from .parameters import FitParameter as FitParameter
from .population import PopulationFitter as PopulationFitter
from .population_result import PopulationResult as PopulationResult
from .problem import FitProblem as FitProblem
from .profile import ProfileResult as ProfileResult
from .profile import identifiability_table as identifiability_table
from .profile import profile_likelihood as profile_likelihood
from .report import fit_report as fit_report
from .result import FitResult as FitResult
from .result import SubjectFits as SubjectFits
from .selection import information_criteria as information_criteria

__all__ = [
    "CalibrationResult", "CalibrationSettings", "Calibrator", "FreeParameter", "calibrate",
    "DataTable", "read_long", "read_wide", "Fitter", "SubjectFitter", "PosteriorSample", "PredictiveBand",
    "posterior_predictive", "sample_posterior", "AdditiveNoise", "CombinedNoise", "LogNormalNoise", "NoiseModel",
    "ProportionalNoise", "make_noise", "ObservationMap", "FitParameter", "PopulationFitter", "PopulationResult",
    "FitProblem", "ProfileResult", "identifiability_table", "profile_likelihood", "fit_report", "FitResult",
    "SubjectFits", "information_criteria",
]

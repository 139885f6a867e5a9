"""Estimation: fitting models to quantitative data, with honest uncertainty.

Pipeline: a :class:`~bonemet_ode.data.DataTable` → :class:`EstimationProblem` (model, data, observation maps,
noise models, arms, free/fixed parameters, bounds, scales, priors; compiled into a :class:`FitProblem`) →
:class:`Fitter` / :class:`SubjectFitter` /
:class:`PopulationFitter` → :class:`FitResult` / :class:`SubjectFits` / :class:`PopulationResult` →
profiles, MCMC, information criteria, reports.  Times in days.
"""

from .estimation_problem import EstimationProblem as EstimationProblem
from .estimation_problem import NormalPrior as NormalPrior
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
from .result import STATUSES as STATUSES
from .result import FitResult as FitResult
from .result import SubjectFits as SubjectFits
from .selection import information_criteria as information_criteria

__all__ = [
    "EstimationProblem", "NormalPrior", "STATUSES", "Fitter", "SubjectFitter", "PosteriorSample", "PredictiveBand",
    "posterior_predictive", "sample_posterior",
    "AdditiveNoise", "CombinedNoise", "LogNormalNoise", "NoiseModel", "ProportionalNoise", "make_noise",
    "ObservationMap", "FitParameter", "PopulationFitter", "PopulationResult", "FitProblem", "ProfileResult",
    "identifiability_table", "profile_likelihood", "fit_report", "FitResult", "SubjectFits", "information_criteria",
]

"""bonemet_ode: mechanistic ODE models of the bone-metastasis immune niche.

Symbolic compartment models (sympy) compiled to a fast Rosenbrock integrator
with dosing schedules, treatment arms and virtual cohorts; time in days.
"""

from . import analysis as analysis
from . import calibration as calibration
from . import data as data
from . import estimate as estimate
from . import io as io
from . import models as models
from . import outcomes as outcomes
from . import plotting as plotting
from ._compat import install as _install_moved_modules
from ._version import __version__ as __version__
from .analysis.distributed import DaskRunner as DaskRunner
from .analysis.gsa import morris as morris
from .analysis.gsa import sobol as sobol
from .analysis.synergy import synergy as synergy
from .calibration import CalibrationResult as CalibrationResult
from .calibration import Ensemble as Ensemble
from .calibration import FreeParameter as FreeParameter
from .calibration import calibrate as calibrate
from .calibration import calibrate_ensemble as calibrate_ensemble
from .calibration import explain_outcomes as explain_outcomes
from .data import DataTable as DataTable
from .data import read_long as read_long
from .data import read_wide as read_wide
from .errors import BonemetError as BonemetError
from .errors import ModelError as ModelError
from .errors import ParameterError as ParameterError
from .errors import ScheduleError as ScheduleError
from .errors import SolverError as SolverError
from .errors import UnknownNameError as UnknownNameError
from .estimate import Fitter as Fitter
from .estimate import PopulationFitter as PopulationFitter
from .estimate import SubjectFitter as SubjectFitter
from .estimate import information_criteria as information_criteria
from .estimate import profile_likelihood as profile_likelihood
from .io.model_json import load_model as load_model
from .io.model_json import save_model as save_model
from .io.sbml import to_sbml as to_sbml
from .io.sbml_import import import_sbml as import_sbml
from .io.sbml_import import read_antimony as read_antimony
from .io.sbml_import import read_sbml as read_sbml
from .model import Event as Event
from .model import Model as Model
from .model import Module as Module
from .model import Observable as Observable
from .model import Parameter as Parameter
from .model import State as State
from .model import Term as Term
from .outcomes import EvaluationContext as EvaluationContext
from .outcomes import Outcome as Outcome
from .outcomes import parse as parse_outcome
from .petab import PetabProblem as PetabProblem
from .petab import read_petab as read_petab
from .petab import write_petab as write_petab
from .simulate import CONTROL as CONTROL
from .simulate import Arm as Arm
from .simulate import CohortResult as CohortResult
from .simulate import Deplete as Deplete
from .simulate import Dose as Dose
from .simulate import Knockout as Knockout
from .simulate import LogNormal as LogNormal
from .simulate import Normal as Normal
from .simulate import SetInitial as SetInitial
from .simulate import SetParameters as SetParameters
from .simulate import SimulationResult as SimulationResult
from .simulate import Simulator as Simulator
from .simulate import SolverOptions as SolverOptions
from .simulate import Uniform as Uniform
from .simulate import draw_cohort as draw_cohort
from .simulate import simulate as simulate
from .simulate import simulate_cohort as simulate_cohort
from .simulate.comparison import compare_arms as compare_arms

_install_moved_modules()

__all__ = [
    "models", "BonemetError", "ModelError", "ParameterError", "ScheduleError", "SolverError", "UnknownNameError",
    "Event", "Model", "Module", "Observable", "Parameter", "State", "Term", "CONTROL", "Arm", "Deplete", "Dose",
    "Knockout",
    "SetInitial", "SetParameters", "SimulationResult", "Simulator", "SolverOptions", "simulate", "__version__",
    "CohortResult", "LogNormal", "Normal", "Uniform", "draw_cohort", "simulate_cohort",
    "analysis", "calibration", "data", "estimate", "io", "outcomes", "plotting",
    "DaskRunner", "morris", "sobol", "synergy", "CalibrationResult", "FreeParameter", "calibrate",
    "calibrate_ensemble", "Ensemble", "explain_outcomes",
    "DataTable", "read_long", "read_wide", "Fitter", "PopulationFitter", "SubjectFitter",
    "information_criteria", "profile_likelihood", "load_model", "save_model", "to_sbml",
    "EvaluationContext", "Outcome", "parse_outcome", "compare_arms",
    "PetabProblem", "read_petab", "write_petab",
]

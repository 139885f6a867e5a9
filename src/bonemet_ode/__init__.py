"""bonemet_ode: mechanistic ODE models of the bone-metastasis immune niche.

Symbolic compartment models (sympy) compiled to a fast Rosenbrock integrator
with dosing schedules, treatment arms and virtual cohorts; time in days.
"""

from . import models as models
from .errors import BonemetError as BonemetError
from .errors import ModelError as ModelError
from .errors import ParameterError as ParameterError
from .errors import ScheduleError as ScheduleError
from .errors import SolverError as SolverError
from .errors import UnknownNameError as UnknownNameError
from .model import Model as Model
from .model import Module as Module
from .model import Observable as Observable
from .model import Parameter as Parameter
from .model import State as State
from .model import Term as Term
from .simulate import CONTROL as CONTROL
from .simulate import Arm as Arm
from .simulate import Deplete as Deplete
from .simulate import Dose as Dose
from .simulate import Knockout as Knockout
from .simulate import SetInitial as SetInitial
from .simulate import SetParameters as SetParameters
from .simulate import SimulationResult as SimulationResult
from .simulate import Simulator as Simulator
from .simulate import SolverOptions as SolverOptions
from .simulate import simulate as simulate
from .simulate import CohortResult as CohortResult
from .simulate import LogNormal as LogNormal
from .simulate import Normal as Normal
from .simulate import Uniform as Uniform
from .simulate import draw_cohort as draw_cohort
from .simulate import simulate_cohort as simulate_cohort

__version__ = "0.1.0"

__all__ = [
    "models", "BonemetError", "ModelError", "ParameterError", "ScheduleError", "SolverError", "UnknownNameError",
    "Model", "Module", "Observable", "Parameter", "State", "Term", "CONTROL", "Arm", "Deplete", "Dose", "Knockout",
    "SetInitial", "SetParameters", "SimulationResult", "Simulator", "SolverOptions", "simulate", "__version__",
    "CohortResult", "LogNormal", "Normal", "Uniform", "draw_cohort", "simulate_cohort",
]

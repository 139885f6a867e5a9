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
from .model import Event as Event
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

#: Names imported on first use (PEP 562) so that ``import bonemet_ode`` stays light
#: (lmfit, pandas, matplotlib and libsbml load only when needed).
_LAZY = {
    "outcomes": ("bonemet_ode.outcomes", None),
    "fit": ("bonemet_ode.fit", None),
    "analysis": ("bonemet_ode.analysis", None),
    "plotting": ("bonemet_ode.plotting", None),
    "io": ("bonemet_ode.io", None),
    "compare_arms": ("bonemet_ode.simulate.comparison", "compare_arms"),
    "parse_outcome": ("bonemet_ode.outcomes", "parse"),
    "Outcome": ("bonemet_ode.outcomes", "Outcome"),
    "EvaluationContext": ("bonemet_ode.outcomes", "EvaluationContext"),
    "calibrate": ("bonemet_ode.fit.calibration", "calibrate"),
    "FreeParameter": ("bonemet_ode.fit.calibration", "FreeParameter"),
    "CalibrationResult": ("bonemet_ode.fit.calibration", "CalibrationResult"),
    "read_long": ("bonemet_ode.fit.data", "read_long"),
    "read_wide": ("bonemet_ode.fit.data", "read_wide"),
    "DataTable": ("bonemet_ode.fit.data", "DataTable"),
    "Fitter": ("bonemet_ode.fit.fitter", "Fitter"),
    "SubjectFitter": ("bonemet_ode.fit.fitter", "SubjectFitter"),
    "PopulationFitter": ("bonemet_ode.fit.population", "PopulationFitter"),
    "information_criteria": ("bonemet_ode.fit.selection", "information_criteria"),
    "profile_likelihood": ("bonemet_ode.fit.profile", "profile_likelihood"),
    "synergy": ("bonemet_ode.analysis.synergy", "synergy"),
    "sobol": ("bonemet_ode.analysis.gsa", "sobol"),
    "morris": ("bonemet_ode.analysis.gsa", "morris"),
    "DaskRunner": ("bonemet_ode.analysis.distributed", "DaskRunner"),
    "to_sbml": ("bonemet_ode.io.sbml", "to_sbml"),
    "read_sbml": ("bonemet_ode.io.sbml_import", "read_sbml"),
    "import_sbml": ("bonemet_ode.io.sbml_import", "import_sbml"),
    "read_antimony": ("bonemet_ode.io.sbml_import", "read_antimony"),
    "save_model": ("bonemet_ode.io.model_json", "save_model"),
    "load_model": ("bonemet_ode.io.model_json", "load_model"),
}


def __getattr__(name: str):
    """Import lazily exported names on first access."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bonemet_ode' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "models", "BonemetError", "ModelError", "ParameterError", "ScheduleError", "SolverError", "UnknownNameError",
    "Event", "Model", "Module", "Observable", "Parameter", "State", "Term", "CONTROL", "Arm", "Deplete", "Dose", "Knockout",
    "SetInitial", "SetParameters", "SimulationResult", "Simulator", "SolverOptions", "simulate", "__version__",
    "CohortResult", "LogNormal", "Normal", "Uniform", "draw_cohort", "simulate_cohort",
    *_LAZY,
]

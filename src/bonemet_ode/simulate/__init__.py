"""Dosing schedules, treatment arms, the compiled solver, virtual cohorts and results."""

from .arm import CONTROL as CONTROL
from .arm import Arm as Arm
from .dosing import Dose as Dose
from .options import SolverOptions as SolverOptions
from .perturbations import Deplete as Deplete
from .perturbations import Knockout as Knockout
from .perturbations import Perturbation as Perturbation
from .perturbations import SetInitial as SetInitial
from .perturbations import SetParameters as SetParameters
from .result import SimulationResult as SimulationResult
from .simulator import Simulator as Simulator
from .simulator import simulate as simulate

__all__ = ["CONTROL", "Arm", "Dose", "SolverOptions", "Deplete", "Knockout", "Perturbation", "SetInitial",
           "SetParameters", "SimulationResult", "Simulator", "simulate"]

from .cohort import CohortResult as CohortResult  # noqa: E402
from .cohort import LogNormal as LogNormal  # noqa: E402
from .cohort import Normal as Normal  # noqa: E402
from .cohort import Uniform as Uniform  # noqa: E402
from .cohort import draw_cohort as draw_cohort  # noqa: E402
from .cohort import simulate_cohort as simulate_cohort  # noqa: E402

__all__ += ["CohortResult", "LogNormal", "Normal", "Uniform", "draw_cohort", "simulate_cohort"]

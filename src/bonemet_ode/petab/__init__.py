"""PEtab v1 parameter-estimation problems on the compiled engine (see docs/petab.md).

* :mod:`.reader` reads the YAML and tables (``petab`` library) and refuses what is not handled;
* :mod:`.model_import` imports the SBML model with its initial values as expressions;
* :mod:`.formulas` compiles observable and noise formulas with their derivatives;
* :mod:`.priors` holds the objective and initialization priors;
* :mod:`.problem` simulates conditions (pre-equilibration included) and computes the objective;
* :mod:`.multistart` fits from seeded starts and classifies each start;
* :mod:`.writer` writes a bonemet_ode fitting problem as PEtab.
"""

from .multistart import MultistartResult, StartResult, multistart
from .problem import PetabProblem
from .reader import read_petab
from .writer import write_petab

__all__ = ["MultistartResult", "PetabProblem", "StartResult", "multistart", "read_petab", "write_petab"]

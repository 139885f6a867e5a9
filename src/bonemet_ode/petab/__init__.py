"""PEtab v1 parameter-estimation problems on the compiled engine (see docs/petab.md)."""

from .problem import PetabProblem
from .reader import read_petab

__all__ = ["PetabProblem", "read_petab"]

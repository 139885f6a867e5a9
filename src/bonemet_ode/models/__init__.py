"""Built-in models: ``bonemet_ode.models.get(name)``, ``bonemet_ode.models.available()``."""

from . import bone_metastasis as _bone_metastasis  # noqa: F401 - registers
from . import growth as _growth  # noqa: F401
from . import kuznetsov as _kuznetsov  # noqa: F401
from . import pk as _pk  # noqa: F401
from . import reference as _reference  # noqa: F401
from .registry import available as available
from .registry import describe as describe
from .registry import get as get

__all__ = ["available", "describe", "get"]

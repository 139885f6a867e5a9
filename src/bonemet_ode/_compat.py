"""Deprecated module names of bonemet_ode 0.1, kept importable for one release.

Version 0.2 redrew the package boundaries (``docs/design.md``): the old
``bonemet_ode.fit`` split into :mod:`bonemet_ode.data`,
:mod:`bonemet_ode.estimate` and :mod:`bonemet_ode.calibration`, and the
bone-metastasis catalogue, ablation and source figures moved into
:mod:`bonemet_ode.models.bone_metastasis`.  Importing an old name still works
and returns the new module, with a :class:`DeprecationWarning` that names the
new place.  The aliases go in 0.3.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings

__all__ = ["MOVED_MODULES", "install"]

#: Old module name -> new module name.
MOVED_MODULES: dict[str, str] = {
    "bonemet_ode.fit.data": "bonemet_ode.data.readers",
    "bonemet_ode.fit._table": "bonemet_ode.data.table",
    "bonemet_ode.fit._tabular": "bonemet_ode.data._tabular",
    "bonemet_ode.io.datasets": "bonemet_ode.data.datasets",
    "bonemet_ode.fit._json": "bonemet_ode.io.json_values",
    "bonemet_ode.fit.calibration": "bonemet_ode.calibration.calibrator",
    "bonemet_ode.outcomes.catalogue": "bonemet_ode.models.bone_metastasis.catalogue",
    "bonemet_ode.outcomes.ablation": "bonemet_ode.models.bone_metastasis.ablation",
    "bonemet_ode.plotting.source_figures": "bonemet_ode.models.bone_metastasis.figures",
    **{f"bonemet_ode.fit.{m}": f"bonemet_ode.estimate.{m}" for m in (
        "_batch", "_modes", "fitter", "mcmc", "noise", "observation", "parameters", "population",
        "population_result", "problem", "problem_derivatives", "profile", "report", "result", "selection")},
    **{f"bonemet_ode.fit.calibration_{m}": f"bonemet_ode.calibration.{m}" for m in (
        "conflicts", "evolve", "result", "search", "space")},
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve an old module name to its new module, warning once per import."""

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        new = MOVED_MODULES[spec.name]
        warnings.warn(f"{spec.name} moved to {new} in bonemet_ode 0.2; the old name goes in 0.3",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the new module is already executed."""


def install() -> None:
    """Put the finder of moved modules first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedModuleFinder())

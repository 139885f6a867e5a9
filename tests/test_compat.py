"""Deprecated 0.1 module names still import, warn, and give the new objects (removed in 0.3)."""

from __future__ import annotations

import importlib
import sys

import pytest

from bonemet_ode._compat import MOVED_MODULES


@pytest.mark.parametrize("old", sorted(MOVED_MODULES))
def test_old_module_name_warns_and_is_the_new_module(old):
    for name in [n for n in sys.modules if n == old or n == "bonemet_ode.fit"]:
        del sys.modules[name]
    with pytest.warns(DeprecationWarning, match=MOVED_MODULES[old].replace(".", r"\.")):
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(MOVED_MODULES[old])


def test_old_fit_package_reexports_the_new_names():
    sys.modules.pop("bonemet_ode.fit", None)
    with pytest.warns(DeprecationWarning, match="bonemet_ode.estimate"):
        fit = importlib.import_module("bonemet_ode.fit")
    import bonemet_ode.calibration as calibration
    import bonemet_ode.data as data
    import bonemet_ode.estimate as estimate

    assert fit.Fitter is estimate.Fitter and fit.DataTable is data.DataTable
    assert fit.calibrate is calibration.calibrate
    assert set(estimate.__all__) <= set(fit.__all__)

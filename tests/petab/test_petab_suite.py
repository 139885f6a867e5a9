"""Every v1.0.0 case of PEtab's own test suite: chi2, llh and simulations within the case's tolerance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from petab_data import SUITE_V1, needs_petab_suite, suite_cases

import bonemet_ode as bm


@needs_petab_suite
@pytest.mark.parametrize("case", suite_cases() or ["(none)"])
def test_suite_case(case):
    folder = SUITE_V1 / case
    sol = yaml.safe_load((folder / f"_{case}_solution.yaml").read_text())
    pp = bm.read_petab(folder / f"_{case}.yaml")
    ev = pp.evaluate()
    assert ev.failure == ""
    assert abs(ev.llh - sol["llh"]) <= sol["tol_llh"], (ev.llh, sol["llh"])
    assert abs(ev.chi2 - sol["chi2"]) <= sol["tol_chi2"], (ev.chi2, sol["chi2"])
    expected = pd.concat([pd.read_csv(folder / f, sep="\t") for f in sol["simulation_files"]], ignore_index=True)
    ours = pp.simulations()
    assert len(ours) == len(expected)
    # rows in the measurement table's order, matched on observable, condition and time
    key = ["observableId", "simulationConditionId", "time"]
    for (_, a), (_, b) in zip(ours.iterrows(), expected.iterrows()):
        assert [a[k] for k in key] == [b[k] for k in key]
    np.testing.assert_allclose(ours["simulation"], expected["simulation"], rtol=0, atol=sol["tol_simulations"])

"""Nominal log-likelihood of the benchmark collection against AMICI's reference values (reference_llh.tsv)."""

from __future__ import annotations

import csv

import pytest
from petab_data import BENCHMARK, PETAB, needs_benchmarks

import bonemet_ode as bm
from bonemet_ode.errors import BonemetError

#: Problems of reference_llh.tsv measured to agree within 1e-3 (docs/petab.md lists time and difference).
#: Isensee: its inputs switch on at parameter-valued times (piecewise of time), integrated in segments split
#: there (bonemet_ode.petab.time_switches): -3949.375966523 vs -3949.375966549.
SUPPORTED = ["Bachmann_MSB2011", "Beer_MolBioSystems2014", "Boehm_JProteomeRes2014", "Borghans_BiophysChem1997",
             "Brannmark_JBC2010", "Bruno_JExpBot2016", "Fiedler_BMCSystBiol2016", "Fujita_SciSignal2010",
             "Isensee_JCB2018", "Schwen_PONE2014", "Weber_BMC2015", "Zheng_PNAS2012"]
#: Problems that run but whose value differs from the reference by more than 1e-3, with the measured bound:
#: Crauste: ours is converged (-190.963978 at rtol 1e-8, 1e-10 and 1e-12; its states agree with scipy DOP853 and
#: Radau at rtol 1e-13 to 3e-8), AMICI's reference at rtol = atol = 1e-8 is 1.24e-3 lower;
#: Smith: -888198.438973 vs -888198.436541 (2.7e-9 relative; events, finite-difference gradients); ours is
#: converged: -888198.43889 / -888198.43895 / -888198.43895 at rtol = atol 1e-8 / 1e-10 / 1e-12.
CLOSE = {"Crauste_CellSystems2017": 1.3e-3, "Smith_BMCSystBiol2013": 3e-3}
#: Problems whose reference value is not reproduced although the simulations agree with the collection's own
#: simulatedData table (another tool's simulation at the nominal parameters), with the relative tolerance of that
#: agreement.  Chen: ours -130591.753 (the same at atol 1e-8, 1e-10 and 1e-16), the simulatedData table's
#: simulations give -130669.488 under the same likelihood, reference_llh.tsv says -115700.119.  The value is
#: dominated by measurements of 0 with sigma 0.1 at t = 1950 where the model is near 47 (AKT_PP, model1_data1:
#: -112859 of the total), so a 7 % different simulation there would explain the reference.  The largest difference
#: from simulatedData is 2.8e-3 relative (AKT_PP, model1_data4, t = 1950); most rows agree within 1e-4.
OWN_SIMULATIONS = {"Chen_MSB2009": 3e-3}
#: Problems refused, with the words the refusal must contain.  Every problem of reference_llh.tsv runs; these two of
#: the collection (not in reference_llh.tsv) are refused: Blasi measures steady states (time inf), Lang's noise
#: formulas name placeholders of other observables (PEtab v1 names them noiseParameter<k>_<own observableId>).
REFUSED: dict[str, str] = {"Blasi_CellSystems2016": "steady-state measurements",
                           "Lang_PLOSComputBiol2024": "placeholder 'noiseParameter2_cycA_nuc' of another observable"}


def _reference() -> dict[str, float]:
    with open(PETAB / "reference_llh.tsv", encoding="utf-8") as fh:
        return {r["problem"]: float(r["llh_at_nominal"]) for r in csv.DictReader(fh, delimiter="\t")}


def _yaml(name: str):
    return next((BENCHMARK / name).glob("*.yaml"))


@needs_benchmarks
def test_boehm_nominal_llh():
    pp = bm.read_petab(_yaml("Boehm_JProteomeRes2014"))
    assert abs(pp.llh() - _reference()["Boehm_JProteomeRes2014"]) < 1e-3
    assert abs(pp.llh() - (-138.222)) < 1e-3


@needs_benchmarks
@pytest.mark.slow
@pytest.mark.parametrize("name", SUPPORTED)
def test_nominal_llh_matches_reference(name):
    pp = bm.read_petab(_yaml(name))
    assert abs(pp.llh() - _reference()[name]) < 1e-3


@needs_benchmarks
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLOSE))
def test_nominal_llh_close_to_reference(name):
    pp = bm.read_petab(_yaml(name))
    assert abs(pp.llh() - _reference()[name]) < CLOSE[name]


@needs_benchmarks
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_problems_are_refused_by_name(name):
    with pytest.raises(BonemetError, match=REFUSED[name]):
        bm.read_petab(_yaml(name)).llh()


@needs_benchmarks
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OWN_SIMULATIONS))
def test_simulations_match_the_collections_simulated_data(name):
    import numpy as np
    import pandas as pd

    pp = bm.read_petab(_yaml(name))
    ref = pd.read_csv(next((BENCHMARK / name).glob("simulatedData_*.tsv")), sep="\t")
    ours = pp.simulations()
    assert list(ref["observableId"]) == list(ours["observableId"])
    assert np.allclose(ref["time"].astype(float), ours["time"].astype(float))
    y, r = ours["simulation"].to_numpy(float), ref["simulation"].to_numpy(float)
    np.testing.assert_allclose(y, r, rtol=OWN_SIMULATIONS[name], atol=1e-6 * np.abs(r).max())

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
#: Smith: -888198.438973 vs -888198.436541 (2.7e-9 relative; events, finite-difference gradients).
CLOSE = {"Crauste_CellSystems2017": 1.3e-3, "Smith_BMCSystBiol2013": 3e-3}
#: Problems refused, with the words the refusal must contain.
REFUSED: dict[str, str] = {}


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

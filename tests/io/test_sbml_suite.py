"""The SBML Test Suite's semantic cases (read from ``../shared``, never vendored): each case passes or is refused by name.

The cases live in ``../shared/data/sbml-test-suite/cases`` beside the repository
(or beside a folder above it); ``$BONEMET_SBML_SUITE`` overrides the path.  The
default run takes every 12th case of tiers 0 and 1 (``case_tags.csv``: plain
ODE models, and events without delay or priority); ``-m slow`` runs all of them.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

pytest.importorskip("libsbml")

from bonemet_ode.io.sbml_import.testsuite import judge, run_case  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SUITE = Path("shared") / "data" / "sbml-test-suite" / "cases"


def _suite() -> Path | None:
    env = os.environ.get("BONEMET_SBML_SUITE")
    if env:
        return Path(env) if Path(env).is_dir() else None
    for up in REPO.parents:
        if (up / SUITE).is_dir():
            return up / SUITE
    return None


CASES = _suite()


def _tier_cases(tiers: set[str]) -> list[str]:
    if CASES is None or not (CASES.parent / "case_tags.csv").exists():
        return []
    with open(CASES.parent / "case_tags.csv", newline="") as fh:
        return [r["case"] for r in csv.DictReader(fh) if r.get("tier") in tiers]


TIER01 = _tier_cases({"0", "1"})
needs_suite = pytest.mark.skipif(CASES is None, reason="SBML Test Suite not found at ../shared/data/sbml-test-suite "
                                                       "(set BONEMET_SBML_SUITE to its cases folder)")


def _check(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONEMET_ODE_BUILD", "quick")
    assert CASES is not None
    run = run_case(CASES / case)
    if run.status == "refused":
        assert run.reason.startswith("unsupported SBML feature: "), run.reason
        return
    assert run.status == "ok", f"case {case}: {run.reason}"
    ok, why = judge(run, CASES / case)
    assert ok, f"case {case} simulates but is wrong: {why}"


@needs_suite
@pytest.mark.parametrize("case", TIER01[::12] or ["none"])
def test_sample_of_tier_0_and_1_cases(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if case == "none":
        pytest.fail("the suite is present but case_tags.csv (with a tier column) is missing beside the cases folder")
    _check(case, monkeypatch)


@needs_suite
@pytest.mark.slow
@pytest.mark.parametrize("case", TIER01 or ["none"])
def test_every_tier_0_and_1_case(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if case == "none":
        pytest.fail("the suite is present but case_tags.csv (with a tier column) is missing beside the cases folder")
    _check(case, monkeypatch)


def test_refused_case_gives_exit_status_2(tmp_path: Path) -> None:
    """The CLI: a refused feature exits with status 2 and one line naming it (an inline case folder)."""
    from bonemet_ode.cli import main

    case = tmp_path / "99999"
    case.mkdir()
    (case / "99999-settings.txt").write_text(
        "start: 0\nduration: 1\nsteps: 2\nvariables: x\nabsolute: 1e-6\nrelative: 1e-4\namount:\nconcentration:\n")
    (case / "99999-sbml-l3v2.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">'
        '<model id="m"><listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>'
        '<listOfRules><rateRule variable="x"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><csymbol '
        'encoding="text" definitionURL="http://www.sbml.org/sbml/symbols/delay">delay</csymbol><ci>x</ci>'
        '<cn>1</cn></apply></math></rateRule></listOfRules></model></sbml>')
    assert main(["sbml-test", str(case), "--out", str(tmp_path / "out.csv")]) == 2


def test_case_csv_matches_expected_layout(tmp_path: Path) -> None:
    """The CLI writes the header and grid of NNNNN-results.csv; --judge compares (an inline analytic case)."""
    import numpy as np

    from bonemet_ode.cli import main

    case = tmp_path / "99998"
    case.mkdir()
    (case / "99998-settings.txt").write_text(
        "start: 0\nduration: 2\nsteps: 4\nvariables: S\nabsolute: 1e-9\nrelative: 1e-7\namount: S\nconcentration:\n")
    (case / "99998-sbml-l3v2.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">'
        '<model id="m"><listOfCompartments><compartment id="c" size="2" constant="true"/></listOfCompartments>'
        '<listOfSpecies><species id="S" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false" '
        'boundaryCondition="false" constant="false"/></listOfSpecies>'
        '<listOfParameters><parameter id="k" value="0.3" constant="true"/></listOfParameters>'
        '<listOfReactions><reaction id="R" reversible="false"><listOfReactants><speciesReference species="S" '
        'stoichiometry="1" constant="true"/></listOfReactants><kineticLaw><math xmlns="http://www.w3.org/1998/Math/'
        'MathML"><apply><times/><ci>k</ci><ci>S</ci><ci>c</ci></apply></math></kineticLaw></reaction>'
        '</listOfReactions></model></sbml>')
    t = np.linspace(0, 2, 5)
    rows = ["time,S"] + [f"{float(a)!r},{float(2 * np.exp(-0.3 * a))!r}" for a in t]
    (case / "99998-results.csv").write_text("\n".join(rows) + "\n")
    assert main(["sbml-test", str(case), "--out", str(tmp_path / "out.csv"), "--judge"]) == 0
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "time,S" and len(lines) == 6

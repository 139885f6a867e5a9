"""The v2.0.0 SBML cases of PEtab's own test suite: each passes (chi2, llh and simulations within the case's
tolerance) or is refused by name with the feature it uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from petab_data import SUITE_V2, needs_petab_suite_v2, suite_cases_v2

import bonemet_ode as bm
from bonemet_ode.errors import PetabError

#: Cases refused, with the feature (``PetabError.feature``) the refusal names.
REFUSED = {
    # a condition change after the start (a second period); their mapping tables only name conditions
    "0016": "v2 period after start",  # C + S at t = 10, with an SBML event at the same time
    "0022": "v2 period after start",
    "0028": "v2 period after start",  # A + 5.0 at t = 7
    "0030": "v2 period after start",
    "0031": "v2 period after start",  # A + 5.0 and B + 3.0 at t = 10
    "0023": "time=inf",  # steady-state measurements
    "0024": "v2 prior",
    "0025": "v2 prior",
}


@needs_petab_suite_v2
@pytest.mark.parametrize("case", suite_cases_v2() or ["(none)"])
def test_suite_case_v2(case):
    folder = SUITE_V2 / case
    if case in REFUSED:
        with pytest.raises(PetabError) as err:
            bm.read_petab(folder / f"_{case}.yaml").evaluate()
        assert err.value.feature == REFUSED[case]
        return
    sol = yaml.safe_load((folder / f"_{case}_solution.yaml").read_text())
    pp = bm.read_petab(folder / f"_{case}.yaml")
    assert pp.format_version == 2
    ev = pp.evaluate()
    assert ev.failure == ""
    assert abs(ev.llh - sol["llh"]) <= sol["tol_llh"], (ev.llh, sol["llh"])
    assert abs(ev.chi2 - sol["chi2"]) <= sol["tol_chi2"], (ev.chi2, sol["chi2"])
    expected = pd.concat([pd.read_csv(folder / f, sep="\t") for f in sol["simulation_files"]], ignore_index=True)
    ours = pp.simulations()
    assert len(ours) == len(expected)
    for col in ("observableId", "time"):  # rows in the measurement table's order, v2 times as written
        assert list(ours[col]) == list(expected[col])
    np.testing.assert_allclose(ours["simulation"], expected["simulation"], rtol=0, atol=sol["tol_simulations"])


@needs_petab_suite_v2
@pytest.mark.parametrize("case", ["0009", "0013", "0018", "0026", "0027", "0032"])
def test_v2_gradient_matches_finite_differences(case):
    """Pre-equilibration whose parameter changes persist (0009), a later start time (0018), estimated initial
    values (0013, 0032), target values that are expressions of estimated parameters (0026: a/b of initial
    concentrations, 0027: sums and multiples of offsets): forward-sensitivity gradients against central finite
    differences."""
    pp = bm.read_petab(SUITE_V2 / case / f"_{case}.yaml")
    rng = np.random.default_rng(5)
    x = np.clip(pp.x_nominal * (1 + 0.1 * rng.standard_normal(len(pp.free))) + 0.05, pp.lower + 0.01,
                pp.upper - 0.01)
    g = pp.evaluate(x, gradient=True).grad_llh
    fd = np.zeros(len(x))
    for j in range(len(x)):
        h = 1e-5 * max(1.0, abs(x[j]))
        u, d = x.copy(), x.copy()
        u[j] += h
        d[j] -= h
        fd[j] = (pp.llh(u) - pp.llh(d)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)


@needs_petab_suite_v2
def test_mapping_table_that_aliases_an_id_is_refused(tmp_path):
    import shutil

    case = tmp_path / "0002"
    shutil.copytree(SUITE_V2 / "0002", case)
    (case / "_mapping.tsv").write_text("petabEntityId\tmodelEntityId\nk_alias\tk1\n", encoding="utf-8")
    spec = yaml.safe_load((case / "_0002.yaml").read_text())
    spec["mapping_files"] = ["_mapping.tsv"]
    (case / "_0002.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    # the petab library already refuses an alias of an id that is valid in PEtab; either way the error names it
    with pytest.raises(PetabError, match="k_alias -> k1"):
        bm.read_petab(case / "_0002.yaml")

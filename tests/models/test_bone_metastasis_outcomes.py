"""The default parameters reproduce the directional facts O1–O21 of biology.md §3.

Read with plain simulations (:mod:`bonemet_ode.models.bone_metastasis.outcome_values`,
default thresholds, cohorts of 200 virtual mice with the fixed seed).
"""

from __future__ import annotations

import pytest
from bm_outcome_oracle import bliss_excess, outcome_values


@pytest.fixture(scope="module")
def rows():
    return outcome_values(cohort_size=200)


def test_every_outcome_is_read(rows):
    assert {r.id for r in rows} == {f"O{i}" for i in range(1, 22)}


@pytest.mark.parametrize("oid", [f"O{i}" for i in range(1, 22)])
def test_default_parameters_satisfy(rows, oid):
    failed = [f"{r.quantity} = {r.value:.4g} (needs {r.threshold})" for r in rows if r.id == oid and not r.satisfied]
    assert not failed, f"{oid}: " + "; ".join(failed)


def test_bliss_excess_is_zero_for_independent_action():
    assert bliss_excess(0.5, 0.4, 0.2) == pytest.approx(0.0)
    assert bliss_excess(0.5, 0.4, 0.1) > 0

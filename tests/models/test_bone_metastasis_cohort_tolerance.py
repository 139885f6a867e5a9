"""The cohorts of the bone-metastasis catalogue solve at looser rtols (COHORT_RTOL, P4_COHORT_RTOL): same verdicts.

The catalogue's cohort statements (O16, O18, P4) read fractions of members below one cell and a
rank correlation; ``context_options()`` solves the cohorts of O16 and O18 at ``COHORT_RTOL`` and
the P4 cohort at ``P4_COHORT_RTOL`` instead of the solver's default 1e-6, which halves their
steps.  Reference: the same statements solved at rtol 1e-6 (the evaluation path before the
change), on the shipped default and on members of the shipped ensemble (all 1000 were compared
when the tolerances were chosen, docs/performance.md).
"""

from __future__ import annotations

import numpy as np
import pytest

import bonemet_ode as bm
from bonemet_ode.models.bone_metastasis.catalogue import (
    COHORT_RTOL,
    P4_COHORT_RTOL,
    catalogue_context,
    context_options,
)
from bonemet_ode.models.bone_metastasis.data import MOST_ROBUST_MEMBER, shipped_ensemble
from bonemet_ode.outcomes import EvaluationContext

COHORT_IDS = ("O16", "O18", "P4")


@pytest.fixture(scope="module")
def pair():
    full = catalogue_context(cache_size=0)
    outcomes = [o for o in full.outcomes if o.key in COHORT_IDS]
    opts = dict(context_options())
    assert opts["cohort_options"].rtol == COHORT_RTOL > 1e-6
    opts.pop("cohort_options")
    opts.pop("options")  # the arms' ARM_RTOL: no arm here, and the reference's cohorts take the default 1e-6
    assert opts.pop("cohort_options_of") == {"P4": bm.SolverOptions(rtol=P4_COHORT_RTOL)}
    assert P4_COHORT_RTOL > COHORT_RTOL
    new = EvaluationContext(full.model, full.arms, outcomes, cohort_options=bm.SolverOptions(rtol=COHORT_RTOL),
                            cohort_options_of={"P4": bm.SolverOptions(rtol=P4_COHORT_RTOL)}, cache_size=0, **opts)
    rtols = sorted((s.key.n, float(b.sim.opts[0])) for b in new._plan.batches for s in b.sources)
    assert rtols == [(30, P4_COHORT_RTOL)] + [(200, COHORT_RTOL)] * 3
    old = EvaluationContext(full.model, full.arms, outcomes, cache_size=0, **opts)
    assert old.cohort_options.rtol == 1e-6 and not old.arm_names and len(old.cohorts) == 4
    yield new, old
    new.close()
    old.close()


def _check(new, old, params):
    a, b = new.evaluate(params), old.evaluate(params)
    assert [r.satisfied for r in a] == [r.satisfied for r in b], (a.report(), b.report())
    # a member that flips at the elimination threshold moves a fraction by 1/200
    np.testing.assert_allclose(a.margins(), b.margins(), rtol=0, atol=0.011)
    return a, b


def test_default_and_some_members_keep_their_cohort_verdicts(pair):
    new, old = pair
    members = shipped_ensemble().members
    for params in ({}, members[MOST_ROBUST_MEMBER], members[0], members[len(members) // 2], members[-1]):
        a, _ = _check(new, old, params)
        assert a.all_satisfied


@pytest.mark.slow
def test_every_tenth_member_keeps_its_cohort_verdicts(pair):
    new, old = pair
    for params in shipped_ensemble().members[::10]:
        _check(new, old, params)

"""Bad outcome text: each is refused with OutcomeError (never a bare SyntaxError/KeyError)."""

from __future__ import annotations

import pytest

from bonemet_ode.errors import OutcomeError
from bonemet_ode.outcomes.parser import parse, parse_catalogue

BAD = [
    "",
    "   ",
    "O1: tumor@28[A] <=",
    "O1: <= 0.5 * tumor@28[control]",
    "O1: tumor@[A] <= tumor@28[control]",
    "O1: tumor@28[A <= tumor@28[control]",
    "O1: tumor@28[A] << tumor@28[control]",
    "O1: tumor@28[A] <= tumor@28[control] and",
    "O1 tumor@28[A] <= tumor@28[control] extra ) (",
    123,
    None,
]


@pytest.mark.parametrize("text", BAD)
def test_bad_outcome_text_is_refused(text):
    with pytest.raises(OutcomeError):
        parse(text)


def test_duplicate_ids_in_a_catalogue_name_the_line():
    with pytest.raises(OutcomeError, match="defined twice"):
        parse_catalogue("O3: tumor@28[A] <= tumor@28[control]\nO3: tumor@14[A] <= tumor@14[control]\n")

"""Where the public datasets are: ``../shared/data`` beside the repository, or $BONEMET_ODE_SHARED_DATA."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BONEMET_ODE_SHARED_DATA", REPO.parent / "shared" / "data"))
needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"public datasets not present at {SHARED_DATA} (../shared/data beside the repo)"
)

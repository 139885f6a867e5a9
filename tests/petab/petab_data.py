"""Paths of the PEtab data in ../shared/data/petab (see tests/shared_data.py)."""

from __future__ import annotations

import pytest
from shared_data import SHARED_DATA

PETAB = SHARED_DATA / "petab"
SUITE_V1 = PETAB / "test-suite" / "v1.0.0" / "sbml"
SUITE_V2 = PETAB / "test-suite" / "v2.0.0" / "sbml"
BENCHMARK = PETAB / "benchmark-models"

needs_petab_suite = pytest.mark.skipif(
    not SUITE_V1.is_dir(), reason=f"PEtab test suite not present at {SUITE_V1} (../shared/data beside the repo)")
needs_petab_suite_v2 = pytest.mark.skipif(
    not SUITE_V2.is_dir(), reason=f"PEtab v2 test suite not present at {SUITE_V2} (../shared/data beside the repo)")
needs_benchmarks = pytest.mark.skipif(
    not BENCHMARK.is_dir(), reason=f"PEtab benchmark collection not present at {BENCHMARK}")


def suite_cases() -> list[str]:
    return sorted(p.name for p in SUITE_V1.iterdir() if p.is_dir()) if SUITE_V1.is_dir() else []


def suite_cases_v2() -> list[str]:
    return sorted(p.name for p in SUITE_V2.iterdir() if p.is_dir()) if SUITE_V2.is_dir() else []

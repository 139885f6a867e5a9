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


def write_problem(folder, antimony: str, conditions: str, measurements: str, observables: str,
                  parameters: str):
    """Write a small PEtab v1 problem (an Antimony model and the four tables, TSV text with headers) into
    ``folder`` and return the path of its YAML file."""
    from bonemet_ode.io.sbml_import import antimony_to_sbml

    files = {"model.xml": antimony_to_sbml(antimony), "conditions.tsv": conditions,
             "measurements.tsv": measurements, "observables.tsv": observables, "parameters.tsv": parameters,
             "problem.yaml": "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n"
                             "- condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
                             "  observable_files: [observables.tsv]\n  sbml_files: [model.xml]\n"}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / "problem.yaml"

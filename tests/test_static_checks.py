"""Static checks of the tree: ``ruff check`` (lint) and ``mypy`` (types of ``src/bonemet_ode``).

Both read their settings from ``pyproject.toml`` (``[tool.ruff]``, ``[tool.mypy]``); the tools come
with the ``test`` extra.  A check is skipped, with a reason, only when its tool is not installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What ruff lints: the package, the tests, the benchmarks, the examples and the docs' Python files.
RUFF_PATHS = ["src", "tests", "benchmarks", "examples", "docs/_ext", "docs/conf.py"]


def _run(module: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_ruff_check_is_clean() -> None:
    paths = [p for p in RUFF_PATHS if (ROOT / p).exists()]
    proc = _run("ruff", ["check", "--no-fix", "--output-format", "concise", *paths], timeout=300)
    assert proc.returncode == 0, f"ruff check {' '.join(paths)} found problems:\n{proc.stdout}{proc.stderr}"


def test_mypy_is_clean_on_src() -> None:
    proc = _run("mypy", ["src/bonemet_ode"], timeout=900)
    assert proc.returncode == 0, f"mypy src/bonemet_ode found problems:\n{proc.stdout}{proc.stderr}"
    assert "Success" in proc.stdout, proc.stdout

"""The package layering of docs/design.md: no module imports a package of a higher layer.

Every ``import`` and ``from ... import`` in ``src/bonemet_ode`` counts, also those inside
functions and ``TYPE_CHECKING`` blocks, so a lazy import cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "bonemet_ode"

#: Layer of each top-level package or module of bonemet_ode (docs/design.md); same number = siblings.
LAYERS: dict[str, int] = {
    "errors": 0, "_compat": 0, "_version": 0,
    "model": 1,
    "compile": 2,
    "simulate": 3, "data": 3,
    "io": 4,
    "outcomes": 5, "estimate": 5,
    "calibration": 6, "analysis": 6, "petab": 6,
    "plotting": 7,
    "models": 8,
    "cli": 9,
    # the package root and the deprecated 0.1 alias of the split ``fit`` package sit above everything
    "__init__": 10, "__main__": 10, "fit": 10,
}
#: Sibling packages of one layer that must not import each other either.
INDEPENDENT = [("simulate", "data"), ("outcomes", "estimate"), ("calibration", "analysis")]


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _module_name(path: Path) -> list[str]:
    rel = path.relative_to(SRC).with_suffix("")
    parts = ["bonemet_ode", *rel.parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, top-level bonemet_ode package) of every import of bonemet_ode in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                mod = base + (node.module.split(".") if node.module else [])
                names = [".".join(mod)] if node.module else [".".join(mod + [a.name]) for a in node.names]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "bonemet_ode" and len(parts) > 1:
                is_module = (SRC / parts[1]).is_dir() or (SRC / f"{parts[1]}.py").is_file()
                found.append((node.lineno, parts[1] if is_module else "__init__"))
    return found


def _violations() -> list[str]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        own = _package_of(path)
        if own not in LAYERS:
            out.append(f"{path.relative_to(SRC)}: package {own!r} has no layer in LAYERS")
            continue
        for line, target in _imported(path):
            if target == own:
                continue
            if target not in LAYERS:
                out.append(f"{path.relative_to(SRC)}:{line} imports unknown package {target!r}")
            elif LAYERS[target] > LAYERS[own]:
                out.append(f"{path.relative_to(SRC)}:{line}: {own} (layer {LAYERS[own]}) imports {target} "
                           f"(layer {LAYERS[target]})")
            elif (own, target) in INDEPENDENT or (target, own) in INDEPENDENT:
                out.append(f"{path.relative_to(SRC)}:{line}: sibling packages {own} and {target} must stay independent")
    return out


def test_no_module_imports_a_higher_layer():
    assert _violations() == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: a lazy upward import inside a function is reported."""
    fake = tmp_path / "bonemet_ode"
    (fake / "model").mkdir(parents=True)
    (fake / "model" / "thing.py").write_text("def f():\n    from ..plotting import style\n    return style\n")
    (fake / "plotting").mkdir()
    (fake / "plotting" / "style.py").write_text("X = 1\n")
    monkeypatch.setattr(__import__(__name__), "SRC", fake)
    assert _violations() == ["model/thing.py:2: model (layer 1) imports plotting (layer 7)"]


@pytest.mark.parametrize("pkg", ["outcomes", "plotting", "io", "analysis", "data"])
def test_generic_packages_import_no_built_in_model(pkg):
    """Bone-metastasis content lives in models/bone_metastasis; generic packages never import it."""
    offenders = [f"{p.relative_to(SRC)}:{line}" for p in sorted((SRC / pkg).rglob("*.py"))
                 for line, target in _imported(p) if target == "models"]
    assert offenders == []


def test_the_old_fit_package_is_imported_by_nothing():
    offenders = [f"{p.relative_to(SRC)}:{line}" for p in sorted(SRC.rglob("*.py")) if _package_of(p) != "fit"
                 for line, target in _imported(p) if target == "fit"]
    assert offenders == []

"""Write the API reference pages from the public API (``__all__``), not from module paths.

At ``config-inited`` (before autosummary reads the sources) this writes
``docs/api/index.rst`` and one page per subpackage of :mod:`bonemet_ode`.
Each page lists, with ``autosummary``, the names in the subpackage's
``__all__`` and then the further names in its public modules' ``__all__``;
autosummary then writes one page per name into ``docs/api/generated``.

An object exported under several names is documented once, under the first
name met in this order: ``bonemet_ode.__all__``, then the subpackages in
alphabetical order (each: its own ``__all__``, then its modules).  The other
names are listed as aliases, linked to that page.  Nothing here names a
module path, so the reference follows the code when modules move.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "bonemet_ode"
#: Modules never imported for the reference: running them has side effects.
SKIP_MODULES = ("__main__",)


@dataclass
class Section:
    """One heading of a page: a module, its canonical names and its aliases."""

    module: str
    names: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (name, canonical full name)


def _public_names(mod: types.ModuleType) -> list[str]:
    names = getattr(mod, "__all__", None)
    if names is None:
        return []
    return [n for n in names if not n.startswith("_")]


def _submodules(pkg: types.ModuleType) -> list[str]:
    """Public modules below ``pkg`` (recursively), sorted; private ones (``_x``) and ``__main__`` left out."""
    if not hasattr(pkg, "__path__"):
        return []
    found = []
    for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or parts[-1] in SKIP_MODULES:
            continue
        found.append(info.name)
    return sorted(found)


def collect(package: str = PACKAGE) -> dict[str, list[Section]]:
    """Pages (top-level package or subpackage name -> sections) of the public API."""
    seen: dict[int, str] = {}
    pages: dict[str, list[Section]] = {}

    def add(section: Section, mod: types.ModuleType, names: list[str]) -> None:
        for name in names:
            obj = getattr(mod, name)
            if isinstance(obj, types.ModuleType):
                continue  # subpackages are pages of their own
            full = f"{mod.__name__}.{name}"
            key = id(obj)
            # immutable constants (numbers, strings, tuples) may be shared by identity; only
            # classes and functions are aliases of one another.
            if (inspect.isclass(obj) or callable(obj)) and key in seen:
                section.aliases.append((name, seen[key]))
                continue
            if inspect.isclass(obj) or callable(obj):
                seen[key] = full
            section.names.append(name)

    top = importlib.import_module(package)
    top_section = Section(package)
    add(top_section, top, [n for n in _public_names(top) if n != "__version__"])
    pages[package] = [top_section]
    subpackages = sorted(
        info.name for info in pkgutil.iter_modules(top.__path__, prefix=package + ".")
        if info.ispkg and not info.name.rsplit(".", 1)[-1].startswith("_")
    )
    for sub in subpackages:
        mod = importlib.import_module(sub)
        sections = [Section(sub)]
        add(sections[0], mod, _public_names(mod))
        for modname in _submodules(mod):
            child = importlib.import_module(modname)
            section = Section(modname)
            add(section, child, _public_names(child))
            if section.names:
                section.aliases = []  # the module page lists only what it adds
                sections.append(section)
        pages[sub] = [s for s in sections if s.names or s.aliases or s.module == sub]
    return pages


def _first_line(mod_name: str) -> str:
    doc = inspect.getdoc(importlib.import_module(mod_name)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def render(page: str, sections: list[Section]) -> str:
    """reStructuredText of one API page."""
    out = [page, "=" * len(page), "", f".. automodule:: {page}", "   :no-members:"]
    parent, _, leaf = page.rpartition(".")
    if parent and not isinstance(getattr(importlib.import_module(parent), leaf, None), types.ModuleType):
        # e.g. ``bonemet_ode.simulate`` is both a subpackage and the function ``simulate``:
        # the function page owns the name
        out.append("   :no-index:")
    out.append("")
    for i, section in enumerate(sections):
        if i > 0:
            title = section.module
            out += [title, "-" * len(title), ""]
            line = _first_line(section.module)
            if line:
                out += [line, ""]
        if section.names:
            out += [f".. currentmodule:: {section.module}", "", ".. autosummary::",
                    "   :toctree: generated", "   :nosignatures:", ""]
            out += [f"   {n}" for n in section.names]
            out.append("")
        if section.aliases:
            out += ["Also exported here (documented under their first public name):", ""]
            out += [f"- ``{section.module}.{n}``: :py:obj:`{full}`" for n, full in section.aliases]
            out.append("")
    return "\n".join(out)


def write(outdir: Path, package: str = PACKAGE) -> list[Path]:
    """Write ``index.rst`` and one page per (sub)package into ``outdir``; return the files written."""
    outdir.mkdir(parents=True, exist_ok=True)
    pages = collect(package)
    written = []
    index = ["API reference", "=============", "",
             "Generated from the public API: ``bonemet_ode.__all__`` and each subpackage's ``__all__``,",
             "then the further public names of its modules.  One page per name.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    for page, sections in pages.items():
        text = render(page, sections)
        path = outdir / f"{page}.rst"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
        index.append(f"   {page}")
    index_text = "\n".join(index) + "\n"
    ipath = outdir / "index.rst"
    if not ipath.exists() or ipath.read_text() != index_text:
        ipath.write_text(index_text)
    # pages of packages that no longer exist would otherwise linger
    for stale in outdir.glob("*.rst"):
        if stale not in written and stale != ipath:
            stale.unlink()
    return [ipath, *written]


def _on_config_inited(app, config) -> None:
    import shutil

    # autosummary's pages of names that are no longer public would otherwise linger and warn
    shutil.rmtree(Path(app.srcdir) / "api" / "generated", ignore_errors=True)
    write(Path(app.srcdir) / "api")


def setup(app):
    app.connect("config-inited", _on_config_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx configuration of the bonemet_ode documentation site.

Build (from the repository root)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference (``docs/api``) is generated from the public API at every
build (``_ext/apigen.py``); the gallery (``examples/gallery``) is executed by
sphinx-gallery and written to ``docs/auto_examples``.  Both are build outputs,
ignored by git.  ``-D sphinx_gallery_conf.plot_gallery=0`` builds without
executing the gallery.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
if (ROOT / "src" / "bonemet_ode").is_dir():
    # document the checkout being built, also when another copy is installed
    sys.path.insert(0, str(ROOT / "src"))

import bonemet_ode  # noqa: E402

project = "bonemet_ode"
author = "bonemet_ode contributors"
copyright = "bonemet_ode contributors, MIT licence"
release = bonemet_ode.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "apigen",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5",
                    "auto_examples/*.pickle", "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]

# -- API reference -----------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_class_signature = "mixed"
autodoc_inherit_docstrings = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = False
napoleon_custom_sections = [("Units", "params_style")]
add_module_names = False

# -- Narrative docs (MyST) ------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# -- Gallery -----------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples" / "gallery"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # the outputs depend on the library, not only on the script: execute every build, never reuse
    "run_stale_examples": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "min_reported_time": 0,
    "show_memory": False,
    "plot_gallery": "True",
}
os.environ.setdefault("BONEMET_ODE_PROGRESS", "0")


def _drop_type_docstrings(app, what, name, obj, options, lines):
    """A constant without a ``#:`` comment would show its type's docstring (``dict``, ``tuple``): drop it."""
    if what in ("data", "attribute") and lines:
        doc = type(obj).__doc__
        type_doc = doc.strip() if isinstance(doc, str) else ""
        if type_doc and "\n".join(lines).strip() == type_doc:
            lines.clear()


def setup(app):
    app.connect("autodoc-process-docstring", _drop_type_docstrings)

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"bonemet_ode {release}"
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "github_url": None,
}
html_static_path: list[str] = []

"""The documentation site builds with warnings as errors, with its API reference and executed gallery.

The build is the README's command (``python -m sphinx -W --keep-going -b html docs
docs/_build/html``) with the output in a temporary directory.  It executes the
gallery (``examples/gallery``); then each gallery page must show at least one
figure, and every public name (``bonemet_ode.__all__`` and the subpackages'
``__all__``) must have an API page or be listed as an alias of one.
Skipped when Sphinx and its extensions are not installed (``pip install -e ".[docs]"``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NEEDED = ("sphinx", "myst_parser", "sphinx_gallery", "pydata_sphinx_theme")
MISSING = [m for m in NEEDED if importlib.util.find_spec(m) is None]

pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"documentation tools not installed ({', '.join(MISSING)}): "
                                                       'pip install -e ".[docs]"')


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"sphinx -W failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return out / "html"


def test_gallery_pages_show_their_figures_and_output(built: Path) -> None:
    scripts = sorted((ROOT / "examples" / "gallery").glob("plot_*.py"))
    assert len(scripts) >= 5
    for script in scripts:
        page = built / "auto_examples" / f"{script.stem}.html"
        assert page.is_file(), f"no gallery page for {script.name}"
        html = page.read_text(encoding="utf-8")
        figures = re.findall(rf'src="\.\./_images/sphx_glr_{script.stem}_\d+\.png"', html)
        assert figures, f"{script.name}: the gallery page shows no figure"
        for src in figures:
            assert (built / "_images" / src[len('src="../_images/'):-1]).is_file()
        assert "sphx-glr-script-out" in html, f"{script.name}: no printed output on the page"
        assert "Traceback" not in html, f"{script.name} raised while the gallery ran"


def test_gallery_prints_the_numbers_the_library_computes(built: Path) -> None:
    """The treatment-comparison page shows the endpoint table of ``compare_arms`` (not stale output)."""
    import bonemet_ode as bm
    from bonemet_ode.models.bone_metastasis import default_arms

    html = (built / "auto_examples" / "plot_treatment_comparison.html").read_text(encoding="utf-8")
    model = bm.models.get("bone_metastasis")
    for arm in default_arms():
        tumour = bm.simulate(model, arm, days=28).final("tumor")
        assert f"{tumour:.1f}" in html, f"{arm.name}: day-28 tumour {tumour:.1f} not on the gallery page"


def _public(mod: types.ModuleType) -> list[str]:
    return [n for n in getattr(mod, "__all__", ()) if not n.startswith("_")
            and not isinstance(getattr(mod, n), types.ModuleType)]


def test_every_public_name_has_an_api_page(built: Path) -> None:
    import pkgutil

    import bonemet_ode

    generated = built / "api" / "generated"
    pages = {p.stem for p in generated.glob("*.html")}
    api_text = "".join(p.read_text(encoding="utf-8") for p in (built / "api").glob("*.html"))
    missing = []
    packages = [bonemet_ode] + [importlib.import_module(i.name) for i in
                                pkgutil.iter_modules(bonemet_ode.__path__, prefix="bonemet_ode.") if i.ispkg]
    for pkg in packages:
        for name in _public(pkg):
            full = f"{pkg.__name__}.{name}"
            if full not in pages and f"<code class=\"docutils literal notranslate\"><span class=\"pre\">{full}</span>" \
                    not in api_text:
                missing.append(full)
    assert not missing, f"public names without an API page or alias entry: {missing}"
    for name in ("bonemet_ode.simulate", "bonemet_ode.Dose", "bonemet_ode.Arm", "bonemet_ode.calibrate",
                 "bonemet_ode.SubjectFitter", "bonemet_ode.synergy"):
        assert name in pages
    text = (generated / "bonemet_ode.Dose.html").read_text(encoding="utf-8")
    assert "twice_weekly" in text  # methods are documented on the class page

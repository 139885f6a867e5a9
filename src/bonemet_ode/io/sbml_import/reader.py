"""Reading an SBML document: parse, check, flatten ``comp``, and refuse what cannot be simulated.

Every refusal is an :class:`~bonemet_ode.errors.UnsupportedFeatureError`
naming the feature and the element, raised before any model is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import BonemetError, ModelError, UnsupportedFeatureError

__all__ = ["load_document", "refuse_unsupported", "libsbml"]


def libsbml() -> Any:
    """The libsbml module, or a clear error naming the package to install."""
    try:
        import libsbml as lib
    except ImportError:  # pragma: no cover - depends on the environment
        raise BonemetError("SBML import needs python-libsbml: pip install python-libsbml") from None
    return lib


def _looks_like_xml(source: str) -> bool:
    return source.lstrip().startswith("<")


def load_document(source: str | os.PathLike) -> Any:
    """Parse ``source`` (a path or the SBML text) into a libsbml document, ``comp`` flattened.

    Raises
    ------
    ModelError
        If the file does not exist or libsbml reports errors reading it.
    UnsupportedFeatureError
        For a required SBML package other than ``comp``.
    """
    lib = libsbml()
    if isinstance(source, str) and not source.strip():
        raise ModelError("read_sbml got an empty string: give a path or the SBML text")
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not _looks_like_xml(source)):
        path = Path(source)
        if path.is_dir():
            raise ModelError(f"{str(path)!r} is a directory; expected an SBML file (or the SBML text)")
        if not path.is_file():
            raise ModelError(f"SBML file {str(path)!r} does not exist (give a path or the SBML text)")
        doc = lib.readSBMLFromFile(str(path))
    elif isinstance(source, str):
        doc = lib.readSBMLFromString(source)
    else:
        raise ModelError(f"read_sbml expects a path or the SBML text, got {type(source).__name__}")
    _raise_errors(doc, "reading")
    if doc.getModel() is None:
        raise ModelError("the SBML document holds no model")
    for i in range(doc.getNumPlugins() if doc.getLevel() >= 3 else 0):
        plugin = doc.getPlugin(i)
        pkg = plugin.getPackageName()
        if pkg in ("comp", "l3v2extendedmath"):  # the latter is libsbml's own, never declared by a document
            continue
        if doc.isPackageEnabled(pkg) and doc.getPkgRequired(pkg):
            raise UnsupportedFeatureError(f"SBML package {pkg!r} (required by the document)", pkg)
    if doc.isPackageEnabled("comp"):
        _flatten(doc)
    if doc.getLevel() == 1 and not doc.setLevelAndVersion(2, 4, False):
        raise ModelError("could not convert the SBML Level 1 document to Level 2 Version 4")
    return doc


def _raise_errors(doc: Any, what: str) -> None:
    lib = libsbml()
    errors = []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= lib.LIBSBML_SEV_ERROR:
            errors.append(f"line {err.getLine()}: {err.getMessage().strip()}")
    if errors:
        shown = "; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")
        raise ModelError(f"libsbml reports {len(errors)} error(s) {what} the SBML document: {shown}")


def _flatten(doc: Any) -> None:
    """Flatten hierarchical ``comp`` models in place with libsbml's converter."""
    lib = libsbml()
    props = lib.ConversionProperties()
    props.addOption("flatten comp", True)
    props.addOption("leavePorts", False)
    props.addOption("performValidation", False)
    code = doc.convert(props)
    if code != lib.LIBSBML_OPERATION_SUCCESS:
        msgs = [doc.getError(i).getMessage().strip() for i in range(doc.getNumErrors())
                if doc.getError(i).getSeverity() >= lib.LIBSBML_SEV_ERROR]
        detail = msgs[-1] if msgs else lib.OperationReturnValue_toString(code)
        raise UnsupportedFeatureError("comp model that libsbml cannot flatten", "comp", detail[:300])


def refuse_unsupported(model: Any, events_supported: bool = False) -> None:
    """Raise for the first feature of ``model`` that bonemet_ode does not simulate."""
    lib = libsbml()
    for i in range(model.getNumReactions()):
        r = model.getReaction(i)
        if r.isSetFast() and r.getFast():
            raise UnsupportedFeatureError("fast reaction", r.getId())
    if model.getNumEvents() and not events_supported:
        raise UnsupportedFeatureError("events", model.getEvent(0).getId() or "event 1")
    if model.getNumConstraints():
        c = model.getConstraint(0)
        raise UnsupportedFeatureError("constraint", c.getMetaId() or "constraint 1")
    del lib

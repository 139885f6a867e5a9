"""SBML and Antimony import: a modeller's own model as a first-class :class:`~bonemet_ode.model.Model`.

* :mod:`.reader` parses the document, flattens ``comp`` and refuses what is not simulated;
* :mod:`.mathml` turns SBML math into model expressions;
* :mod:`.quantities` decides what each compartment, species and parameter becomes;
* :mod:`.builder` assembles the model and evaluates initial values;
* :mod:`.events` says whether events are simulated.

Time in an imported model is the model's own time unit, read as days.

Examples
--------
>>> import bonemet_ode as bm
>>> m = bm.read_antimony('''
... model decay
...   S -> ; k*S
...   S = 10; k = 0.5
... end''')
>>> res = bm.simulate(m, days=2.0, times=[0.0, 2.0])
>>> round(float(res["S"][-1]), 4)   # 10 exp(-1)
3.6788
"""

from __future__ import annotations

import os

from ...errors import BonemetError, ModelError
from ...model import Model
from .builder import SbmlImport, build_model
from .events import EVENTS_SUPPORTED
from .reader import load_document, refuse_unsupported

__all__ = ["read_sbml", "import_sbml", "read_antimony", "antimony_to_sbml", "SbmlImport"]


def import_sbml(source: str | os.PathLike, name: str | None = None) -> SbmlImport:
    """Import an SBML model with the map from SBML ids to model names.

    Parameters
    ----------
    source : str or path
        Path of an SBML file, or the SBML text itself (a string starting with ``<``).
    name : str, optional
        Model name (default: the SBML model's id).

    Returns
    -------
    SbmlImport
        ``.model`` is the :class:`Model`; :meth:`SbmlImport.evaluate` reads any
        SBML id (species amount or concentration, parameter, compartment,
        reaction rate) from a simulation result.

    Raises
    ------
    UnsupportedFeatureError
        For events (until the compiled solver has them), algebraic rules, fast
        reactions, delays, stoichiometryMath, rules on stoichiometries,
        constraints, required packages other than ``comp``, and math without
        an exact counterpart; the message names the feature and the element.
    ModelError
        For a document libsbml cannot read or an inconsistent model.
    """
    doc = load_document(source)
    sbml = doc.getModel()
    refuse_unsupported(sbml, events_supported=EVENTS_SUPPORTED)
    return build_model(sbml, name)


def read_sbml(source: str | os.PathLike, name: str | None = None) -> Model:
    """Read an SBML Level 2 or 3 model (a path or the SBML text) as a :class:`Model`.

    Species changed by reactions are states holding their amounts; a species
    measured as a concentration is also an observable under its SBML id.
    Rate rules are rate terms, assignment rules observables, reactions terms,
    local parameters parameters named ``<reaction>_<id>``.  See
    :func:`import_sbml` for the refused features and ``docs/sbml.md`` for the
    full mapping.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> sbml = bm.to_sbml(bm.models.get("logistic"))
    >>> bm.read_sbml(sbml).state_names
    ('V',)
    """
    return import_sbml(source, name).model


def antimony_to_sbml(text: str) -> str:
    """SBML text of an Antimony model (the main module), through the ``antimony`` package."""
    try:
        import antimony
    except ImportError:  # pragma: no cover - depends on the environment
        raise BonemetError("Antimony import needs the antimony package: pip install antimony") from None
    if not isinstance(text, str):
        raise ModelError(f"expected the Antimony model as text (str), got {type(text).__name__}")
    body = [ln.split("#", 1)[0].split("//", 1)[0].strip() for ln in text.splitlines()]
    if not any(body):
        raise ModelError("the Antimony text defines no model (it is empty or holds only comments)")
    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(text) < 0:
        raise ModelError(f"antimony cannot read the model: {_antimony_error(text)}")
    main = antimony.getMainModuleName()
    sbml = antimony.getSBMLString(main)
    if not sbml:
        raise ModelError(f"antimony produced no SBML for module {main!r}: {_antimony_error(text)}")
    return sbml


def _antimony_error(text: str) -> str:
    """antimony's last error message; where it cannot be decoded (it quotes a non-ASCII name cut inside a
    character), the first non-ASCII character of ``text`` with its line and column."""
    import antimony

    try:
        return str(antimony.getLastError()).strip()
    except UnicodeDecodeError:
        for i, line in enumerate(text.splitlines(), 1):
            quoted = False
            for j, ch in enumerate(line, 1):
                if ch == '"':
                    quoted = not quoted
                if not quoted and (ch == "#" or line.startswith("//", j - 1)):
                    break  # a comment: anything goes
                if not quoted and ord(ch) > 127:
                    return (f"line {i}, column {j}: {ch!r} is not an ASCII character (Antimony names are "
                            "letters a-z, A-Z, digits and '_'; other characters only in comments and quoted strings)")
        return "its error message could not be decoded"


def read_antimony(text: str, name: str | None = None) -> Model:
    """Read a model written in Antimony (as in Tellurium) as a :class:`Model`.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> m = bm.read_antimony("J0: A -> B; k*A; A = 1; B = 0; k = 0.1")
    >>> m.state_names, m.observable_names   # amounts; A and B are concentrations
    (('A_amount', 'B_amount'), ('A', 'B'))
    """
    return read_sbml(antimony_to_sbml(text), name)


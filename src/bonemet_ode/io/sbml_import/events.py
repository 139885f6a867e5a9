"""SBML events.

The compiled solver has no state-triggered events yet (a separate piece of work
adds them); until then an SBML model with events is refused by name (see
:func:`~bonemet_ode.io.sbml_import.reader.refuse_unsupported`).  This module
holds the one predicate the reader uses, so that events are added in one place.
"""

from __future__ import annotations

__all__ = ["EVENTS_SUPPORTED"]

#: Whether imported events are simulated (False: models with events are refused).
EVENTS_SUPPORTED = False

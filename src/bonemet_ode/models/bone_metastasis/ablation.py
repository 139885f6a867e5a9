"""Ablation matrix: which outcome depends on which mechanism.

Each ablation removes one mechanism of the bone-metastasis model from every
arm (a knockout of its rate terms, or parameter values that switch a link
off; nothing is recompiled) and the whole catalogue is evaluated again.
:data:`OUTCOME_MECHANISMS` names, for each outcome, the mechanism it rests
on; the tests remove it and check that the outcome then fails.  An outcome that holds with the full model and
fails with a mechanism removed depends on that mechanism; one that still holds
does not need it (or is carried by another route).

Examples
--------
>>> from bonemet_ode.models.bone_metastasis.ablation import ablation_matrix
>>> table = ablation_matrix()          # doctest: +SKIP
>>> print(format_ablation(table))      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ...errors import OutcomeError
from ...model import Model

__all__ = ["DEFAULT_ABLATIONS", "PARAMETER_ABLATIONS", "OUTCOME_MECHANISMS", "ablate", "ablation_matrix",
           "format_ablation", "mechanism_table"]

#: Mechanisms removed one at a time: name -> rate terms knocked out (bone-metastasis model).
DEFAULT_ABLATIONS: dict[str, tuple[str, ...]] = {
    "EV fatty-acid transfer": ("ev_fa_transfer",),
    "macrophage ERα": ("er_activation",),
    "tumour DKK1": ("dkk1_secretion_tumour",),
    "CHI3L3": ("chi3l3_production",),
    "monocyte recruitment": ("monocyte_recruitment",),
    "Notch-dependent TAMs": ("tam_differentiation_notch", "tam_proliferation"),
    "PD-1 exhaustion": ("cd8_exhaustion",),
    "CD8 expansion": ("cd8_expansion",),
    "CD8 killing": ("tumor_kill",),
    "vicious cycle": ("tumor_growth_resorption",),
    "tumour osteolysis": ("oc_formation_tumour",),
    "spread from bone": ("spread_from_bone",),
    "Src-gated colonisation": ("colonisation", "ctc_colonisation"),
}

#: Mechanisms that are links inside a rate law, removed by parameter values (name -> {parameter: value}).
PARAMETER_ABLATIONS: dict[str, dict[str, float]] = {
    "ERα+ macrophage CD8 exclusion": {"X_er": 1e8},
    "PD-1 ligation by ERα+ macrophages": {"w_pdl1_mac": 0.0},
    "circulating-cell flux": {"q_shed": 0.0},
}

#: The mechanism each outcome rests on (biology.md §1); O6 is an absence of effect (ERα acts on the
#: immune barrier, not on bone cells), checked by adding a link instead of removing one.
OUTCOME_MECHANISMS: dict[str, str] = {
    "O1": "monocyte recruitment",
    "O2": "macrophage ERα",
    "O3": "ERα+ macrophage CD8 exclusion",
    "O4": "CD8 killing",
    "O5": "spread from bone",
    "O7": "ERα+ macrophage CD8 exclusion",
    "O8": "CD8 killing",
    "O9": "PD-1 ligation by ERα+ macrophages",
    "O10": "tumour DKK1",
    "O11": "tumour DKK1",
    "O12": "tumour DKK1",
    "O13": "tumour DKK1",
    "O14": "CHI3L3",
    "O15": "PD-1 exhaustion",
    "O16": "CHI3L3",
    "O17": "Notch-dependent TAMs",
    "O18": "monocyte recruitment",
    "O19": "Src-gated colonisation",
    "O20": "Src-gated colonisation",
    "O21": "circulating-cell flux",
}


def ablate(model: Model, mechanism: str) -> Model:
    """``model`` with one named mechanism (of :data:`DEFAULT_ABLATIONS` or :data:`PARAMETER_ABLATIONS`) removed."""
    if mechanism in DEFAULT_ABLATIONS:
        terms = DEFAULT_ABLATIONS[mechanism]
        missing = [t for t in terms if t not in model.term_names]
        if missing:
            raise OutcomeError(f"ablation {mechanism!r}: the model has no term {missing[0]!r}")
        return model.with_knockout(*terms)
    if mechanism in PARAMETER_ABLATIONS:
        return model.with_parameters(PARAMETER_ABLATIONS[mechanism])
    known = sorted(DEFAULT_ABLATIONS) + sorted(PARAMETER_ABLATIONS)
    raise OutcomeError(f"unknown mechanism {mechanism!r}; known: {', '.join(known)}")


def mechanism_table() -> str:
    """Text list: each outcome and the mechanism it rests on."""
    lines = [f"{oid:>4s}  {mech}" for oid, mech in OUTCOME_MECHANISMS.items()]
    lines.insert(5, f"{'O6':>4s}  (absence of effect: macrophage ERα has no link to bone cells)")
    return "\n".join(lines)


def _context_options(context: Any) -> dict[str, Any]:
    if context is None:
        try:
            from .catalogue import context_options
        except ImportError:  # pragma: no cover - catalogue shipped with the package
            return {}
        return dict(context_options(include_plausibility=False))
    return {"days": context.horizon, "step": context.step, "options": context.options,
            "cohort_options": context.cohort_options, "variability": context.variability, "n_jobs": context.n_jobs}


def ablation_matrix(model: Model | None = None, arms: Any = None, outcomes: Sequence[Any] | None = None,
                    params: Mapping[str, float] | None = None, context: Any = None,
                    ablations: Mapping[str, Sequence[str]] | None = None,
                    progress: Callable[[str], None] | None = None):
    """Margins of every outcome with the full model and with each mechanism removed.

    Parameters
    ----------
    model : Model, optional
        Default: the context's model, else the built-in ``bone_metastasis``.
    arms : mapping or iterable of Arm, optional
        Default: the context's arms, else ``scenario_arms()``.
    outcomes : sequence of Outcome or str, optional
        Default: the context's outcomes, else the O1–O21 catalogue.
    params : mapping, optional
        Parameter overrides (default: the context's).
    context : EvaluationContext, optional
        Supplies the defaults above and its evaluation options.
    ablations : mapping of str to sequence of str, optional
        Mechanism name -> rate terms to knock out (default: every mechanism
        of :data:`DEFAULT_ABLATIONS` and :data:`PARAMETER_ABLATIONS`; terms
        a model lacks raise).
    progress : callable, optional
        Called with one line before each model variant is evaluated
        (``"ablation 3/12: no ER axis"``).

    Returns
    -------
    pandas.DataFrame
        One row per model (``"full model"`` first, then each ablation), one
        column per outcome id holding the outcome's margin (>= 0: holds; a
        smallest-clause margin for conjunctions), and a column
        ``n_satisfied``.
    """
    import pandas as pd

    from ...outcomes.context import EvaluationContext

    if context is not None:
        model = model or context.model
        arms = arms if arms is not None else context.arms
        outcomes = outcomes if outcomes is not None else context.outcomes
        params = params if params is not None else context.params
    if model is None:
        from ..registry import get

        model = get("bone_metastasis")
    if arms is None:
        from .arms import scenario_arms

        arms = scenario_arms()
    if outcomes is None:
        from .catalogue import default_catalogue

        outcomes = default_catalogue(include_plausibility=False)
    if ablations is None:
        variants = [("full model", model)] + [(k, ablate(model, k)) for k in (*DEFAULT_ABLATIONS, *PARAMETER_ABLATIONS)]
    else:
        variants = [("full model", model)]
        for name, terms in ablations.items():
            missing = [t for t in terms if t not in model.term_names]
            if missing:
                raise OutcomeError(f"ablation {name!r}: the model has no term {missing[0]!r}")
            variants.append((name, model.with_knockout(*terms)))
    options = _context_options(context)
    rows, index = [], []
    for k, (name, variant) in enumerate(variants, 1):
        if progress is not None:
            progress(f"ablation {k}/{len(variants)}: {name}")
        ev = EvaluationContext(variant, arms, outcomes, params=params, **options).evaluate()
        row = {r.id: float(r.margin) for r in ev.results}
        row.update({f"{r.id}_ok": bool(r.satisfied) for r in ev.results})
        row["n_satisfied"] = int(sum(r.satisfied for r in ev.results))
        rows.append(row)
        index.append(name)
    table = pd.DataFrame(rows, index=pd.Index(index, name="model"))
    return table


def format_ablation(table) -> str:
    """Text grid of an :func:`ablation_matrix`: ``+`` holds, ``-`` fails, ``!`` fails only without that mechanism."""
    ids = [c for c in table.columns if c != "n_satisfied" and not str(c).endswith("_ok")]
    full = table.iloc[0]
    width = max(len(str(i)) for i in table.index)
    head = " " * width + "  " + " ".join(f"{i:>4s}" for i in ids) + "   held"
    lines = [head]
    for name, row in table.iterrows():
        cells = []
        for i in ids:
            ok = bool(row[f"{i}_ok"]) if f"{i}_ok" in row else bool(np.isfinite(row[i]) and row[i] >= 0)
            held = bool(full[f"{i}_ok"]) if f"{i}_ok" in full else bool(full[i] >= 0)
            mark = "+" if ok else ("!" if held else "-")
            cells.append(f"{mark:>4s}")
        lines.append(f"{name:<{width}s}  " + " ".join(cells) + f"   {int(row['n_satisfied'])}/{len(ids)}")
    return "\n".join(lines)

"""Markdown rendered from the model itself: parameter tables, equations by module, arms, outcome status.

``docs/bone_metastasis.md`` is written by :func:`render_markdown`
(``python -m bonemet_ode.models.bone_metastasis.docs docs/bone_metastasis.md``),
so the tables cannot drift from the code.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from pathlib import Path

from ...model import Model, Module
from .arms import scenario_arms
from .model import AXES, bone_metastasis

__all__ = ["parameter_table_markdown", "module_equations_markdown", "arms_markdown", "outcomes_markdown",
           "render_markdown"]


def _num(x: float) -> str:
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    return f"{x:.4g}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def parameter_table_markdown(model: Model, modules: Iterable[str] | None = None) -> str:
    """A markdown table of the parameters of ``model`` (value, unit, bounds, meaning, source).

    Parameters
    ----------
    model : Model
        Any model; current values are shown.
    modules : iterable of str, optional
        Restrict to the parameters of these modules (default: all).

    Returns
    -------
    str
        Markdown with columns parameter, value, unit, bounds, meaning, source, module.

    Examples
    --------
    >>> from bonemet_ode.models import get
    >>> print(parameter_table_markdown(get("kuznetsov1994")).splitlines()[0])
    | parameter | value | unit | bounds | meaning | source | module |
    """
    keep = None if modules is None else set(modules)
    rows = []
    for p in model.parameters:
        module = model.owner(p.name)[1]
        if keep is not None and module not in keep:
            continue
        bounds = f"[{_num(p.lower)}, {_num(p.upper)}]" + (" log" if p.log_scale else "")
        rows.append([f"`{p.name}`", _num(p.value), p.unit, bounds, p.description, p.source, module])
    return _table(["parameter", "value", "unit", "bounds", "meaning", "source", "module"], rows)


def _effects(term) -> str:
    parts = []
    for state, coef in term.effect_map.items():
        sign = "+" if coef > 0 else "−"
        mag = abs(coef)
        parts.append(f"{sign}{'' if mag == 1 else _num(mag) + '·'}{state}")
    return " ".join(parts)


def _balance(model: Model, state: str) -> str:
    """``+ `a` − `b` ...``: the terms of the whole model that change ``state``, with their coefficients."""
    parts = []
    for t in model.terms:
        coef = t.effect_map.get(state)
        if coef is None:
            continue
        sign = "+" if coef > 0 else "−"
        mag = "" if abs(coef) == 1 else f"{_num(abs(coef))}·"
        parts.append(f"{sign} {mag}`{t.name}`")
    text = " ".join(parts) if parts else "0"
    return text[2:] if text.startswith("+ ") else text


def module_equations_markdown(model: Model, module: Module) -> str:
    """States, rate terms (flux and the states it changes) and observables of one module, as markdown."""
    out = [f"#### `{module.name}`", "", module.description, ""]
    if module.states:
        out += [_table(["state", "unit", "initial (day 0)", "meaning"],
                       [[f"`{s.name}`", s.unit, f"`{s.initial}`" if isinstance(s.initial, str) else _num(s.initial),
                         s.description] for s in module.states]), ""]
        for st in module.states:
            out.append(f"- d`{st.name}`/dt = {_balance(model, st.name)}")
        out.append("")
    if module.terms:
        knock = "knocked out" if model.knockouts else ""
        out += [_table(["term", "rate (per day)", "changes", "meaning"],
                       [[f"`{t.name}`" + (f" ({knock})" if t.name in model.knockouts else ""), f"`{t.rate}`",
                         _effects(t), t.description] for t in module.terms]), ""]
    if module.observables:
        out += [_table(["observable", "expression", "unit", "meaning"],
                       [[f"`{o.name}`", f"`{o.expr}`", o.unit, o.description] for o in module.observables]), ""]
    return "\n".join(out)


def arms_markdown() -> str:
    """The scenario arms (:func:`~.arms.scenario_arms`) as a markdown table."""
    rows = []
    for name, arm in scenario_arms().items():
        what = "; ".join([str(d) for d in arm.doses] + [str(p) for p in arm.perturbations]) or "untreated"
        rows.append([f"`{name}`", what, arm.description])
    return _table(["arm", "doses and perturbations", "meaning"], rows)


def outcomes_markdown(cohort_size: int = 200) -> str:
    """O1–O21 evaluated with the default parameters (the catalogue of :mod:`.catalogue`)."""
    from ...outcomes.context import EvaluationContext
    from .arms import scenario_arms
    from .catalogue import context_options, default_catalogue
    from .model import bone_metastasis

    rows = []
    outcomes = {o.id: o for o in default_catalogue({"cohort_n": cohort_size}, include_plausibility=False)}
    context = EvaluationContext(bone_metastasis(), scenario_arms(), tuple(outcomes.values()),
                                **context_options(include_plausibility=False))
    for r in context.evaluate().results:
        source = getattr(outcomes.get(r.id), "source", "")
        rows.append([r.id, source, r.statement, f"{r.value:.4g}", f"{r.threshold:.4g}", f"{r.margin:+.3f}",
                     "yes" if r.satisfied else "**no**"])
    return _table(["id", "source", "statement", "value", "threshold", "margin", "satisfied"], rows)


_INTRO = """# The bone-metastasis model (`bone_metastasis`)

A mechanistic ODE model of one mouse whose bone has been colonised by cancer cells, built from
the signed arrows of `shared/spec/biology.md` §1.  Every arrow is a named module (a function
returning a `Module` in `src/bonemet_ode/models/bone_metastasis/`); every flux is a named term,
so a knockout is `Knockout(term)` and reuses the compiled code.  Time is in days; cells are
counts per lesion niche; drugs are amounts in mg/kg.  Facts come from the five source articles
(ids ER, SRS, DKK1, TAM, TME); every functional form and value that does not cite a paper is a
modelling choice, said so in the parameter table, and open to calibration.

```python
from bonemet_ode import simulate
from bonemet_ode.models import get
from bonemet_ode.models.bone_metastasis.arms import scenario_arms

model = get("bone_metastasis")
res = simulate(model, scenario_arms()["anti-DKK1 + anti-PD-1"], days=42)
res.at(28, "tumor"), res.at(28, "cd8"), res.at(28, "immature_fraction")
```

Figures per source: `bonemet_ode.models.bone_metastasis.figures.figure_all(out_dir)`
(`docs/img/bone_metastasis/`).

![ER axis](img/bone_metastasis/er_axis.png)
![DKK1 axis](img/bone_metastasis/dkk1_axis.png)
![TAM axis](img/bone_metastasis/tam_axis.png)
![SRS axis](img/bone_metastasis/srs_axis.png)
"""

_REASONING = """## Reasoning

**The default experiment.**  `seed_dose` = 1e5 cells reach bone at day 0 (an intra-arterial
injection) and sit in `dormant`; a cell either dies (`d_dorm`) or, if Src signalling lets it,
starts a colony (`colonisation`, rate ∝ Src activity).  About 5 % of parental cells found colonies
(Luzzi et al. 1998 report a similarly inefficient cascade).  The lesion (`tumor`) grows at `r_T`
with a bone-marrow carrying capacity, faster where osteoclasts release matrix growth factors (the
vicious cycle, Mundy 2002).  Treatment starts on day 7; read-out is on day 28.

**How the immune niche closes.**  The lesion recruits monocytes that become TAMs (TAM), secretes
DKK1 that holds neutrophils immature so that they make CHI3L3 (DKK1), and ships fatty acids in
vesicles that switch on ERα in niche macrophages (ER).  Myeloid recruitment and DKK1 respond to
small lesions (`h_my`, `h_DT`), while CD8 priming needs more antigen and several days
(`cd8_priming`, `k_prime`), so by the time tumour-specific CD8 cells arrive the niche is already
suppressive: untreated lesions escape.  ERα-active macrophages keep CD8 cells out (`er_exclusion`)
and, as the "chemical barrier", provide most PD-1 ligation (`w_pdl1_mac`); CHI3L3 and TAMs cut CD8
activation and cytotoxicity (`cd8_function`); TAMs also remove CD8 cells, functional and exhausted
alike (`cd8_loss_tam`, `cd8_exh_loss_tam`), and exhausted cells turn over at least as fast as
functional ones (`d_C + d_ex_extra`).  So anti-PD-1, which only moves cells from the exhausted to
the functional pool, cannot lower total CD8 by itself (plausibility P1); the first version let TAMs
spare exhausted cells, and anti-PD-1 alone lowered total CD8 to ~52 % of control.

**Why the drugs behave as the sources say.**  Fulvestrant degrades ERα: CD8 entry rises and most
PD-1 ligation disappears, so anti-PD-1 added to fulvestrant has little left to block (no synergy,
O9).  Anti-PD-1 alone blocks exhaustion but CHI3L3 keeps CD8 activation low (bone metastases resist
anti-PD-1, O12).  Anti-DKK1 matures neutrophils and lifts CHI3L3 suppression, but ERα-macrophage
PD-1 ligation still exhausts the expanding cells; only with both brakes released does CD8
expansion outrun its losses (`r_C·priming·function > d_C + losses`), a self-reinforcing response
that eliminates the lesion in a share of virtual mice (O15, O16).  Both knockouts act from day 0
and so shape colonisation as well as growth (O3–O5, O17).

**SRS and the Src inhibitor.**  Src signalling (SRS level × CXCL12/IGF1, `src_signal`) is needed
only by newly arrived cells.  The dormant pool resolves within days (`1/(d_dorm + k_col·S)` ≈ 3
days), so a Src inhibitor from day 0 removes founders (O20, prevention) whereas from day 14 it
finds nothing to act on (failure on established lesions).  SRS-high cells found many more
colonies; the primary tumour grows the same (`e_srs_primary` is small: O19).  CXCL12/IGF1-rich
primary stroma raises the SRS level of the cells it sheds (`srs_primary`); with tens of
thousands of circulating cells a day, a per-cell chance of a few in a million becomes a large
difference in the odds of at least one bone lesion (`lesion_probability`, Poisson, O21).

**Bone.**  Osteoclasts and osteoblasts follow Komarova et al. (2003) exactly, with their published
parameters; the non-trivial steady state (C̄ ≈ 1.06, B̄ ≈ 212) is the day-0 state.  The lesion
adds osteoclast formation and DKK1 (above its basal level) inhibits osteoblast formation
(Tian et al. 2003), giving net osteolysis.  Neither term exists without a tumour, so tumour-free
bone stays at the Komarova steady state and the macrophage-ERα knockout spares it (O6).  Bone
mass feeds back on remodelling (Frost's mechanostat, through osteocytes): resorption by excess
osteoclasts is scaled by `2s/(1+s)` and formation by excess osteoblasts by `2/(1+s)`, with
`s = (bone_mass/100)^n_mech` (`bone_load`); both are 1 at the day-0 set point and bounded by 2.
For a lasting cell excess bone mass settles where `s = k2·ΔB/(k1·ΔC)` instead of drifting
linearly: untreated, a lesion at carrying capacity leaves ~57 % of the bone after a year (the
first version: 0.1 % by day 90), and anti-DKK1, which at most doubles osteoblast formation
(`(1 + e_dkk1_ob)/(1 + e_dkk1_ob·DKK1_rel)`, saturating), raises it to ~113 % (first version:
216 % by day 365).

**Pharmacokinetics.**  One compartment per drug in mg/kg, first-order elimination with the
half-lives in the parameter table (antibodies: days; small molecules: hours).  A dose adds its
mg/kg to the state.  Drug effects are Emax functions of the amount with the half-maximal exposures
listed per module.

**Calibration.**  Every calibration also enforces the plausibility statements P1–P6 (below).
The 29 immune, myeloid and growth parameters marked "calibrated" in the table
are member 11 of the shipped ensemble (`bonemet_ode.models.bone_metastasis.data`), rounded to four
digits: the member that kept every outcome under the most joint log-normal jitters
(`examples/ensemble_bone_metastasis.py`, docs/calibration.md §4).  The ensemble's chains started
from the point found by `examples/calibrate_bone_metastasis.py`.  Two parameters sit near the upper
bound of their plausible range: `w_pdl1_mac` = 0.935 of 0.95 (O9 wants PD-1 ligation to leave with
the ERα macrophage barrier) and `r_C` = 2.97 of 3/day (O15/O16 want a fast CD8 response once both
brakes are off).  Three rows cannot have large margins whatever the parameters: O6 (at most
ln 1.05, the knockout changes nothing in tumour-free bone), O2 (at most ln 1.1, the EV knockout
leaves the baseline unchanged) and the O16 control part (at most 0.02).  O9 (Bliss excess 0.016
against ≤ 0.05) and O15 (0.212 against ≥ 0.15) pull in opposite directions on PD-1 blockade.
O14 (anti-DKK1 shrinks bone tumours) is carried by two DKK1 paths at these values, each enough
alone: CHI3L3 (anti-DKK1 leaves 0.50 × control without DKK1's block of osteoblast formation) and
that block (0.57 × control without CHI3L3); without both, 1.00 ×.
`bonemet-ode outcomes
--ablation` shows which mechanism each outcome depends on.

**Limits.**  Cell numbers are per lesion niche and only relative values are constrained by the
outcomes; absolute scales (CD8 counts, kill rate constant) are not identifiable from the sources.
The ERα state is a well-mixed fraction of niche macrophages.  "Elimination" is the deterministic
lesion falling below one cell.  It is absorbing: state-triggered events of the compiled solver
set the seeded pool to 0 below one cell, and the lesion to 0 once it is below one cell with no
arriving cells left to found it again (`extinction_dormant`, `extinction_tumor`); before that, a
lesion below one cell is an expected number of founders.  Stochastic extinction is not modelled.
"""


def plausibility_markdown() -> str:
    """P1–P6 (:mod:`.plausibility`) with their reasoning, evaluated with the default parameters."""
    from ...outcomes.context import EvaluationContext
    from .arms import scenario_arms
    from .catalogue import context_options
    from .plausibility import plausibility_catalogue

    outcomes = plausibility_catalogue()
    context = EvaluationContext(bone_metastasis(), scenario_arms(), outcomes, **context_options())
    rows = []
    for o, r in zip(outcomes, context.evaluate().results):
        rows.append([r.id, o.description, f"{r.value:.4g}", f"{r.threshold:.4g}", f"{r.margin:+.3g}",
                     "yes" if r.satisfied else "**no**"])
    return _table(["id", "statement", "value", "threshold", "margin", "satisfied"], rows)


def render_markdown(model: Model | None = None, *, cohort_size: int = 200) -> str:
    """The full ``docs/bone_metastasis.md`` text: intro, reasoning, modules by axis, parameters, arms, outcomes."""
    model = model or bone_metastasis()
    by_name = {m.name: m for m in model.modules}
    n_terms = len(model.term_names)
    summary = (f"**Size:** {len(model.state_names)} states, {len(model.parameter_names)} parameters, "
               f"{n_terms} rate terms, {len(model.observable_names)} observables, {len(model.modules)} modules.")
    parts = [_INTRO, summary, "", _REASONING, "## Equations by module", "",
             "Each state changes by the sum of the terms that name it: dx/dt = Σ (coefficient × rate).", ""]
    for axis, names in AXES.items():
        parts += [f"### {axis}", ""]
        for name in names:
            parts.append(module_equations_markdown(model, by_name[name]))
    if model.events:
        parts += ["### Events", "",
                  "State-triggered events of the compiled solver (located by its root finder during integration).",
                  "", _table(["event", "trigger", "assignments", "meaning"],
                             [[f"`{e.name}`", f"`{e.trigger}`",
                               ", ".join(f"`{k}` = {v}" for k, v in dict(e.assignments).items()), e.description]
                              for e in model.events]), ""]
    parts += ["## Parameters", "", parameter_table_markdown(model), "",
              "## Arms", "",
              "`default_arms()` (used by `bonemet-ode compare`) are the first six; `scenario_arms()` adds the "
              "variants the outcome catalogue needs.  Knockouts act from day 0; treatments from day 7 unless named "
              "otherwise.", "", arms_markdown(), "",
              "## Outcomes O1–O21 with the default parameters", "",
              f"Evaluated in the outcome language (`bonemet-ode outcomes`; cohorts of {cohort_size} virtual mice, "
              "seed fixed).  Ratio margins are natural logs of value/threshold; other margins are differences.", "",
              outcomes_markdown(cohort_size), "",
              "## Plausibility statements P1–P6 with the default parameters", "",
              "What no biologist would accept, outside what the sources report (`shared/spec/biology.md` §4); "
              "written in the outcome language (`bonemet_ode.models.bone_metastasis.plausibility`, where each "
              "statement's reasoning is given) and part of the default catalogue, so every calibration and "
              "`bonemet-ode outcomes` enforce them.  Bone mass: ceiling 150 %, floor 30 % of baseline over 365 "
              "days in every default arm.  P4 (extinction is absorbing) has margin 0 when it holds (every "
              "eliminated mouse stays eliminated).  P6 bounds every state in every arm for 365 days (lower "
              "bound: −1e-6, the solver's error).", "", plausibility_markdown(), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Write the rendered markdown to the path given (or print it)."""
    argv = sys.argv[1:] if argv is None else argv
    text = render_markdown()
    if argv:
        Path(argv[0]).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Writing a bonemet_ode fitting problem (:class:`~bonemet_ode.estimate.EstimationProblem`) as PEtab v1.

One SBML model (``to_sbml``) holds every arm's doses as events; each event's assignments are gated by
an indicator parameter ``arm_<arm>`` (1 in that arm's condition, 0 in the others), so one model serves
every arm.  Arm-specific parameters become condition-table columns.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PetabError

__all__ = ["write_petab"]


def _sid(text: str) -> str:
    s = re.sub(r"\W", "_", str(text))
    return s if re.match(r"[A-Za-z_]", s) else f"c_{s}"


def _merge_arm_events(base_doc: Any, arm_doc: Any, indicator: str, prefix: str) -> None:
    """Copy the events (and the parameters and reactions they need) of ``arm_doc`` into ``base_doc``;
    each assignment ``x = e`` becomes ``x = indicator*e + (1 - indicator)*x``."""
    import libsbml

    base, arm = base_doc.getModel(), arm_doc.getModel()
    for p in arm.getListOfParameters():
        if base.getParameter(p.getId()) is None:
            base.addParameter(p.clone())
    for r in arm.getListOfReactions():
        if base.getReaction(r.getId()) is None:
            base.addReaction(r.clone())
    for ev in arm.getListOfEvents():
        e = ev.clone()
        e.setId(f"{prefix}_{ev.getId() or 'event'}")
        for ea in e.getListOfEventAssignments():
            var = ea.getVariable()
            old = libsbml.formulaToL3String(ea.getMath())
            math = libsbml.parseL3Formula(f"{indicator} * ({old}) + (1 - {indicator}) * {var}")
            if math is None:
                raise PetabError(f"cannot gate event assignment {var} = {old} of arm {prefix!r}")
            ea.setMath(math)
        base.addEvent(e)


def write_petab(problem: Any, folder: str | os.PathLike, *, days: float | None = None) -> Path:
    """Write an :class:`~bonemet_ode.estimate.EstimationProblem` as a PEtab v1 problem in ``folder``.

    Parameters
    ----------
    problem : EstimationProblem
        Model, data (a DataTable; subjects are pooled, each subject's rows keep it as ``replicateId``),
        observation maps, noise models, arms (doses only), free/fixed/bounds/scales/priors.
    folder : str or path
        Output folder (created): ``problem.yaml``, ``model.xml``, ``conditions.tsv``, ``measurements.tsv``,
        ``observables.tsv``, ``parameters.tsv``.
    days : float, optional
        Length to which repeating doses are written out (default: the last measurement time).

    Returns
    -------
    Path
        The YAML file.

    Raises
    ------
    PetabError
        For what PEtab v1 cannot state: censored values, arms with perturbations other than doses,
        an observable whose rows give a measurement sd only in part.

    Notes
    -----
    Noise models map as: additive ``sd = a``; proportional ``sd = b*abs(f)``; combined ``a + b*abs(f)``
    (normal, lin); lognormal ``log`` transformation with ``sd = sigma``; a measurement sd becomes a numeric
    ``noiseParameters`` entry (converted to the log scale for log-normal noise).  Priors (normal on the
    parameter scale) become ``parameterScaleNormal`` objective priors.
    """
    import libsbml
    import pandas as pd
    import yaml

    from ..estimate import EstimationProblem
    from ..io.sbml import to_sbml

    if not isinstance(problem, EstimationProblem):
        raise PetabError(f"problem: expected an EstimationProblem, got {type(problem).__name__}")
    problem.validate()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    frame = problem.data.frame
    if "censored" in frame and frame["censored"].astype(bool).any():
        raise PetabError("censored values cannot be written as PEtab v1 (it has no censoring)", "censoring")
    model = problem.model
    t_end = float(days) if days is not None else float(frame["time"].max())
    arms = sorted(frame["arm"].astype(str).unique())
    arm_defs = problem.arms or {}
    cond_id = {a: _sid(a) for a in arms}
    indicator = {a: f"arm_{cond_id[a]}" for a in arms}
    base_doc = libsbml.readSBMLFromString(to_sbml(model))
    for a in arms:
        arm = arm_defs.get(a)
        if arm is None or not arm.doses:
            if arm is not None and arm.perturbations:
                raise PetabError(f"arm {a!r} has perturbations {arm.perturbations!r}; only doses can be written")
            continue
        if arm.perturbations:
            raise PetabError(f"arm {a!r} has perturbations {arm.perturbations!r}; only doses can be written as PEtab "
                             "events", "arm perturbations")
        p = base_doc.getModel().createParameter()
        p.setId(indicator[a])
        p.setValue(0.0)
        p.setConstant(True)
        arm_doc = libsbml.readSBMLFromString(to_sbml(model, arm, days=t_end))
        _merge_arm_events(base_doc, arm_doc, indicator[a], cond_id[a])
    (out / "model.xml").write_text(libsbml.writeSBMLToString(base_doc), encoding="utf-8")

    params = problem.fit_parameters
    maps = problem.observation_maps
    noise = problem.noise_models
    # conditions: arm indicators and arm-specific copies
    used_ind = [a for a in arms if base_doc.getModel().getParameter(indicator[a]) is not None]
    rows = []
    for a in arms:
        row: dict[str, Any] = {"conditionId": cond_id[a]}
        for b in used_ind:
            row[indicator[b]] = 1.0 if b == a else 0.0
        for fp in params:
            if fp.role == "model" and fp.arm == a:
                row[fp.source] = fp.name
        rows.append(row)
    pd.DataFrame(rows).to_csv(out / "conditions.tsv", sep="\t", index=False)

    def pname(role: str, observable: str, source: str) -> str | None:
        for fp in params:
            if fp.role == role and fp.observable in (observable, None) and fp.source == source:
                return fp.name
        return None

    obs_rows, meas = [], []
    for o in sorted(frame["observable"].astype(str).unique()):
        m = maps[o]
        parts = []
        for v in (m.scale, m.offset):
            if isinstance(v, (int, float)):
                parts.append(repr(float(v)))
            else:
                n = pname("observation", o, v.name) or v.name
                parts.append(n)
        f = f"{parts[0]} * ({m.target}) + {parts[1]}"
        nm = noise[o]
        sel = frame[frame["observable"].astype(str) == o]
        has_sd = "sd" in sel and sel["sd"].notna().any()
        if has_sd and not sel["sd"].notna().all():
            raise PetabError(f"observable {o!r}: a measurement sd is given on some rows only", "partial sd")
        nf: str | None
        if has_sd:
            nf = f"noiseParameter1_{o}"
        elif nm.kind == "additive":
            nf = pname("noise", o, "a")
        elif nm.kind == "proportional":
            nf = f"{pname('noise', o, 'b')} * abs({f})"
        elif nm.kind == "combined":
            nf = f"{pname('noise', o, 'a')} + {pname('noise', o, 'b')} * abs({f})"
        elif nm.kind == "lognormal":
            nf = pname("noise", o, "sigma")
        else:
            raise PetabError(f"observable {o!r}: noise model {nm.kind!r} has no PEtab form", "noise model")
        if nf is None or "None" in nf:
            raise PetabError(f"observable {o!r}: a parameter of noise model {nm.kind!r} is missing from the fit")
        obs_rows.append({"observableId": o, "observableFormula": f, "noiseFormula": nf,
                         "observableTransformation": "log" if nm.log_scale else "lin",
                         "noiseDistribution": "normal"})
        for _, r in sel.iterrows():
            row = {"observableId": o, "simulationConditionId": cond_id[str(r["arm"])], "time": float(r["time"]),
                   "measurement": float(r["value"]), "replicateId": _sid(r["subject"])}
            if has_sd:
                row["noiseParameters"] = float(nm.given_sd(np.array([r["value"]]), np.array([r["sd"]]))[0])
            meas.append(row)
    pd.DataFrame(obs_rows).to_csv(out / "observables.tsv", sep="\t", index=False)
    pd.DataFrame(meas).to_csv(out / "measurements.tsv", sep="\t", index=False)
    prow = []
    priors = problem.priors or {}
    for fp in params:
        sc = problem.scale(fp.name)
        lo, hi = float(fp.lower), float(fp.upper)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            if fp.vary:
                raise PetabError(f"parameter {fp.name!r} is estimated with infinite bounds [{lo}, {hi}]; PEtab needs "
                                 "finite bounds (give bounds=...)", "infinite bounds")
            lo, hi = (fp.value / 10 if fp.value > 0 else fp.value - 1), (fp.value * 10 if fp.value > 0 else
                                                                       fp.value + 1)
        row = {"parameterId": fp.name, "parameterScale": sc, "lowerBound": lo, "upperBound": hi,
               "nominalValue": float(fp.value), "estimate": int(bool(fp.vary))}
        if fp.name in priors:
            row["objectivePriorType"] = "parameterScaleNormal"
            row["objectivePriorParameters"] = f"{priors[fp.name].mean};{priors[fp.name].sd}"
        prow.append(row)
    pd.DataFrame(prow).to_csv(out / "parameters.tsv", sep="\t", index=False)
    spec = {"format_version": 1, "parameter_file": "parameters.tsv",
            "problems": [{"condition_files": ["conditions.tsv"], "measurement_files": ["measurements.tsv"],
                          "observable_files": ["observables.tsv"], "sbml_files": ["model.xml"]}]}
    path = out / "problem.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path

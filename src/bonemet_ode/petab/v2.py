"""PEtab v2 problems whose experiments map onto a single simulation per experiment.

A PEtab v2 experiment is a sequence of periods, each starting at a time with a set of condition
changes (``targetId`` := ``targetValue``).  What :class:`~bonemet_ode.petab.problem.PetabProblem`
simulates is a pre-equilibration followed by one simulation from a start time, with parameters,
compartment sizes and initial species set per condition.  :func:`read_petab_v2` reads a v2 problem
with the installed ``petab`` library (``petab.v2``) and maps each experiment onto that shape:

* an experiment with a period at ``-inf`` pre-equilibrates under that period's changes;
* its one other period starts the simulation: at time 0, or at a later time ``t0`` when the model
  does not read time (the measurement times are then counted from ``t0``);
* changes persist across periods (v2): a parameter the pre-equilibration sets keeps that value in
  the simulation unless the next period sets it again; species targets apply when their period starts;
* measurements without an experiment are simulated from time 0 with the model's own values;
* noise distributions ``normal``, ``laplace``, ``log-normal`` and ``log-laplace`` (v1's log
  transformation); placeholders of observable and noise formulas as the measurement table lists them.

Target values may be numbers, parameter-table ids or expressions of parameter-table entries (with
their derivatives for the gradient).  Everything else is refused by name (:data:`REFUSED_V2`):
condition changes after the simulation has started (more than one period after pre-equilibration),
target values that read the model's state, prior distributions, mapping tables that alias ids,
several models, and models in a language other than SBML.  Parameters are estimated on linear
scale (v2 has no parameter scales).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import PetabError

__all__ = ["REFUSED_V2", "read_petab_v2"]

#: PEtab v2 features refused by name (the key is in the error's ``feature``).
REFUSED_V2 = {
    "v2 period after start": "experiments that change conditions after the simulation has started "
                             "(more than one period after pre-equilibration)",
    "v2 target expression": "condition target values that read anything but parameter-table entries (a state, "
                            "a model entity)",
    "v2 prior": "prior distributions of the parameter table",
    "v2 mapping table": "mapping tables that map PEtab ids onto other model ids (rows that only name are read)",
    "v2 model": "problems with several models or a model that is not SBML",
    "v2 start time": "a non-zero start time in a model that reads time",
    "v2 noise distribution": "noise distributions other than normal, laplace, log-normal and log-laplace",
}

_NOISE = {"normal": ("lin", "normal"), "laplace": ("lin", "laplace"), "log-normal": ("log", "normal"),
          "log-laplace": ("log", "laplace")}


def _refuse(feature: str, what: str) -> PetabError:
    return PetabError(f"PEtab v2: {what} is not supported ({REFUSED_V2[feature]})", feature)


def _text(v: Any) -> str:
    """A table cell as text ('' for empty/NaN/None); enums give their value."""
    if v is None:
        return ""
    v = getattr(v, "value", v)
    if isinstance(v, float) and math.isnan(v):
        return ""
    s = str(v).strip()
    return "" if s.lower() == "nan" else s


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def read_petab_v2(path: Path, rtol: float, atol: float) -> Any:
    """Read the PEtab v2 problem ``path`` onto a :class:`PetabProblem` (see the module docstring).

    Raises
    ------
    PetabError
        For a problem the ``petab`` library cannot read, or a refused feature (:data:`REFUSED_V2`).
    """
    import warnings

    import pandas as pd
    import petab.v2 as petab2
    import yaml

    from .model_import import load_sbml_model
    from .problem import PetabProblem

    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    models = spec.get("model_files") or {}
    if len(models) != 1:
        raise _refuse("v2 model", f"{len(models)} models in {str(path)!r}")
    (model_entry,) = models.values()
    if str(model_entry.get("language", "")).lower() != "sbml":
        raise _refuse("v2 model", f"model language {model_entry.get('language')!r}")
    from .reader import check_file, listed_files

    for kind, name in listed_files(spec):
        check_file(path.parent / name, f"{kind} file", f"named in {path.name}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob = petab2.Problem.from_yaml(str(path))
    except Exception as exc:  # noqa: BLE001 - the petab library raises many kinds
        raise PetabError(f"the petab library cannot read {str(path)!r}: {exc}") from None
    mdf_map = prob.mapping_df
    if mdf_map is not None and len(mdf_map):  # rows that only name an entity are fine; aliases are refused
        ids = mdf_map.get("petabEntityId", mdf_map.index)
        col = mdf_map["modelEntityId"] if "modelEntityId" in mdf_map else [None] * len(mdf_map)
        aliased = [f"{_text(a)} -> {_text(b)}" for a, b in zip(ids, col) if _text(b) and _text(b) != _text(a)]
        if aliased:
            raise _refuse("v2 mapping table", f"the mapping table of {str(path)!r} ({', '.join(aliased)})")

    # ---- parameters (linear scale; v2 has none other)
    pdf = prob.parameter_df
    if "priorDistribution" in pdf and any(_text(v) for v in pdf["priorDistribution"]):
        names = [str(i) for i, v in zip(pdf.index, pdf["priorDistribution"]) if _text(v)]
        raise _refuse("v2 prior", f"prior distributions of {', '.join(names)}")
    est = [1 if _text(v).lower() in ("true", "1") else 0 for v in pdf["estimate"]]
    params = pd.DataFrame({"parameterScale": "lin", "lowerBound": pdf["lowerBound"].astype(float),
                           "upperBound": pdf["upperBound"].astype(float),
                           "nominalValue": pdf["nominalValue"].astype(float), "estimate": est},
                          index=pd.Index([str(i) for i in pdf.index], name="parameterId"))
    for p, e in zip(params.index, est):  # fixed parameters need no bounds in v2
        if not e:
            params.loc[p, ["lowerBound", "upperBound"]] = [-np.inf, np.inf]

    # ---- observables: v2 placeholders renamed as v1 spells them
    odf = prob.observable_df
    orows = []
    for o, row in odf.iterrows():
        dist = _text(row.get("noiseDistribution")) or "normal"
        if dist not in _NOISE:
            raise _refuse("v2 noise distribution", f"observable {o!r}: noise distribution {dist!r}")
        tr, d = _NOISE[dist]
        formula, noise = _text(row["observableFormula"]), _text(row.get("noiseFormula")) or "1"
        for col, kind in (("observablePlaceholders", "observable"), ("noisePlaceholders", "noise")):
            names = [n.strip() for n in _text(row.get(col)).split(";") if n.strip()]
            for k, n in enumerate(names, start=1):
                new = f"{kind}Parameter{k}_{o}"
                formula = re.sub(rf"\b{re.escape(n)}\b", new, formula)
                noise = re.sub(rf"\b{re.escape(n)}\b", new, noise)
        orows.append({"observableId": str(o), "observableFormula": formula, "noiseFormula": noise,
                      "observableTransformation": tr, "noiseDistribution": d})
    observables = pd.DataFrame(orows).set_index("observableId")

    # ---- conditions and experiments
    cdf = prob.condition_df
    changes: dict[str, dict[str, str]] = {}
    if cdf is not None:
        for _, row in cdf.iterrows():
            cid, target, value = _text(row["conditionId"]), _text(row["targetId"]), _text(row["targetValue"])
            changes.setdefault(cid, {})[target] = value
    edf = prob.experiment_df
    periods: dict[str, list[tuple[float, list[str]]]] = {}
    if edf is not None:
        for eid, g in edf.groupby("experimentId", sort=False):
            ts = sorted({float(t) for t in g["time"]})
            periods[str(eid)] = [(t, [c for c in (_text(x) for x in g.loc[g["time"].astype(float) == t,
                                                                             "conditionId"]) if c]) for t in ts]
    sbml_path = path.parent / str(model_entry["location"])
    sbml = load_sbml_model(str(sbml_path))
    reads_time = sbml.imp.time_state is not None

    cond_rows: dict[str, dict[str, str]] = {}
    exp_map: dict[str, tuple[str, str, float]] = {}  # experiment -> (preeq condition, sim condition, t0)

    def merged(ids: list[str], where: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for c in ids:
            if c not in changes:
                raise PetabError(f"{where}: condition {c!r} is not in the condition table")
            out.update(changes[c])
        return out

    for eid, per in periods.items():
        pre = [p for p in per if p[0] == -math.inf]
        main = [p for p in per if p[0] != -math.inf]
        if len(main) > 1:
            raise _refuse("v2 period after start", f"experiment {eid!r} has periods at "
                          + ", ".join(f"{t:g}" for t, _ in main))
        t0 = main[0][0] if main else 0.0
        if t0 != 0.0 and reads_time:
            raise _refuse("v2 start time", f"experiment {eid!r} starts at {t0:g}")
        pre_changes = merged(pre[0][1], f"experiment {eid!r}") if pre else {}
        main_changes = merged(main[0][1], f"experiment {eid!r}") if main else {}
        pre_id = f"{eid}__preequilibration" if pre else ""
        if pre:
            cond_rows[pre_id] = pre_changes
        # changes persist: the pre-equilibration's parameter and compartment changes hold in the simulation
        # unless it sets them again; its species changes were applied at its start and are not repeated
        sim = {k: v for k, v in pre_changes.items() if k not in sbml.species_state}
        sim.update(main_changes)
        cond_rows[f"{eid}__simulation"] = sim
        exp_map[eid] = (pre_id, f"{eid}__simulation", t0)
    cond_rows["__no_experiment"] = {}
    # names the condition and mapping tables refer to, also in conditions no experiment uses (a parameter-table
    # row they name is not extraneous)
    referenced = {n for row in changes.values() for k, v in row.items() for n in [k, *re.findall(r"[A-Za-z_]\w*", v)]}
    if mdf_map is not None and len(mdf_map):
        referenced |= {_text(a) for a in mdf_map.get("petabEntityId", mdf_map.index)}
    targets = sorted({k for row in cond_rows.values() for k in row})
    conditions = pd.DataFrame([{**{k: row.get(k, np.nan) for k in targets}, "conditionId": cid}
                               for cid, row in cond_rows.items()]).set_index("conditionId")
    for c in conditions.columns:
        conditions[c] = [float(v) if isinstance(v, str) and _is_number(v) else v for v in conditions[c]]

    # ---- measurements
    mdf = prob.measurement_df.reset_index(drop=True)
    mrows = []
    mfiles = spec.get("measurement_files") or []
    mfiles = [mfiles] if isinstance(mfiles, str) else [str(f) for f in mfiles]
    for i, (_, row) in enumerate(mdf.iterrows()):
        where = (f"measurement row {i + 1} of {mfiles[0]} (data rows counted from 1; line {i + 2} of the file)"
                 if len(mfiles) == 1 else f"measurement row {i + 1} (data rows counted from 1)")
        eid = _text(row.get("experimentId"))
        if eid and eid not in exp_map:
            raise PetabError(f"{where}: experiment {eid!r} is not in the experiment table")
        pre_id, sim_id, t0 = exp_map.get(eid, ("", "__no_experiment", 0.0))
        if float(row["time"]) < t0:
            start = f"experiment {eid!r} starts at {t0:g}" if eid else "the simulation starts at time 0"
            raise PetabError(f"{where}, observable {_text(row['observableId'])!r}: time {float(row['time']):g} is "
                             f"before the start of its simulation ({start})")
        mrows.append({"observableId": _text(row["observableId"]), "preequilibrationConditionId": pre_id or np.nan,
                      "simulationConditionId": sim_id, "time": float(row["time"]) - t0,
                      "measurement": float(row["measurement"]),
                      "observableParameters": _text(row.get("observableParameters")) or np.nan,
                      "noiseParameters": _text(row.get("noiseParameters")) or np.nan})
    measurements = pd.DataFrame(mrows)
    tables = SimpleNamespace(parameter_df=params, observable_df=observables, condition_df=conditions,
                             measurement_df=measurements, format_version=2, referenced_ids=referenced)
    problem = PetabProblem(tables, sbml, str(path), rtol=rtol, atol=atol, measurement_files=mfiles)
    problem.measurements = mdf  # the v2 table: experiments and times as the user wrote them
    return problem

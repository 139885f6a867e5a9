"""How a PEtab problem's tables set the model: parameters, observables and noise, conditions.

:class:`TableReading` is the reading half of :class:`~bonemet_ode.petab.problem.PetabProblem`:
from the parameter, observable, condition and measurement tables it builds, per simulation
condition, where each model parameter, initial value and formula symbol comes from (a number or a
parameter of the parameter table, :mod:`~bonemet_ode.petab.sources`).  Every unsupported or
inconsistent entry is refused here, by name, before anything is simulated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import PetabError, suggestion
from .formulas import PLACEHOLDER, Formula, parse_formula
from .model_import import SbmlModel
from .priors import Prior, read_priors
from .sources import _Condition, _Source

__all__ = ["LIN", "LOG", "LOG10", "SCALES", "TableReading", "scale", "unscale"]

LIN, LOG, LOG10 = "lin", "log", "log10"
#: Parameter scales PEtab v1 defines.
SCALES = (LIN, LOG, LOG10)


def scale(x: Any, s: str) -> Any:
    """A linear value on parameter scale ``s`` (lin, log, log10)."""
    return x if s == LIN else (np.log(x) if s == LOG else np.log10(x))


def unscale(x: Any, s: str) -> Any:
    """A parameter-scale value back on linear scale."""
    return x if s == LIN else (np.exp(x) if s == LOG else np.power(10.0, x))


class TableReading:
    """Reads the tables of a PEtab problem into its sources (mixed into :class:`PetabProblem`).

    Expects ``tables`` (a ``petab.Problem``-like object), ``sbml`` and ``model`` (the imported
    model) and ``format_version`` on the instance; sets the parameter, observable, condition and
    measurement attributes that the simulating half reads.
    """

    tables: Any
    sbml: SbmlModel
    model: Any
    format_version: int
    #: The measurement file(s) the measurement table was read from (names for messages; empty: unknown).
    measurement_files: Sequence[str] = ()

    def _row(self, i: int) -> str:
        """Where measurement row ``i`` (0-based position in the measurement table) is, for messages: its 1-based
        data row (header not counted) and, with one measurement file, that file and its line."""
        files = [str(f) for f in self.measurement_files]
        if len(files) == 1:
            return f"measurement row {i + 1} of {files[0]} (data rows counted from 1; line {i + 2} of the file)"
        if files:
            return (f"measurement row {i + 1} (data rows counted from 1 over the files {', '.join(files)} in that "
                    "order)")
        return f"measurement row {i + 1} (data rows counted from 1)"

    def _read_parameters(self) -> None:
        df = self.tables.parameter_df
        if df is None or len(df) == 0:
            raise PetabError("the PEtab problem has no parameter table")
        self.parameter_ids = tuple(str(i) for i in df.index)
        self._pindex = {p: k for k, p in enumerate(self.parameter_ids)}
        sc = df.get("parameterScale", None)
        self._all_scales = []
        for p in self.parameter_ids:
            s = str(sc[p]) if sc is not None else LIN
            if s not in SCALES:
                raise PetabError(f"parameter {p!r}: parameterScale {s!r} is not one of {', '.join(SCALES)}",
                                 "parameterScale")
            self._all_scales.append(s)
        est = df["estimate"].astype(int).to_numpy() if "estimate" in df else np.ones(len(df), int)
        nominal = df["nominalValue"].astype(float).to_numpy() if "nominalValue" in df else np.full(len(df), np.nan)
        self._nominal_all = nominal
        for p, e, v in zip(self.parameter_ids, est, nominal):
            if not e and not np.isfinite(v):
                raise PetabError(f"parameter {p!r} is not estimated and has no finite nominalValue")
        self._est_rows = np.flatnonzero(est == 1)
        self.free = tuple(self.parameter_ids[k] for k in self._est_rows)
        self.scales = tuple(self._all_scales[k] for k in self._est_rows)
        self._col = {int(k): j for j, k in enumerate(self._est_rows)}
        lb = df["lowerBound"].astype(float).to_numpy()[self._est_rows]
        ub = df["upperBound"].astype(float).to_numpy()[self._est_rows]
        self._bounds_lin = (lb, ub)
        for p, a, b, s in zip(self.free, lb, ub, self.scales):
            if not (a < b):
                raise PetabError(f"parameter {p!r}: lowerBound {a} is not below upperBound {b}")
            if s != LIN and a <= 0:
                raise PetabError(f"parameter {p!r} on {s} scale has lowerBound {a} <= 0")
        with np.errstate(divide="ignore"):
            self.lower = np.array([scale(a, s) for a, s in zip(lb, self.scales)], dtype=float)
            self.upper = np.array([scale(b, s) for b, s in zip(ub, self.scales)], dtype=float)
            self.x_nominal = np.array([scale(v, s) for v, s in zip(nominal[self._est_rows], self.scales)], dtype=float)
        self.priors: list[Prior | None] = read_priors(df, self.free, self.scales, self.lower, self.upper)

    def _source(self, value: Any, where: str) -> _Source | None:
        """A table cell that sets something: None for empty/NaN, a number, or a parameter-table id."""
        if value is None:
            return None
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return None if math.isnan(float(value)) else _Source(float(value))
        text = str(value).strip()
        if text == "" or text.lower() == "nan":
            return None
        try:
            return _Source(float(text))
        except ValueError:
            pass
        if text in self._pindex:
            return _Source(index=self._pindex[text])
        if self.format_version >= 2:  # v2 condition tables: an expression of parameter-table entries
            import sympy as sp

            e = parse_formula(text, where)
            unknown = sorted(x.name for x in e.free_symbols if x.name not in self._pindex)
            if unknown:
                raise PetabError(f"{where}: target value {text!r} reads {', '.join(unknown)}, which are not in the "
                                 "parameter table (target values that read the model's state or other entities are "
                                 "not supported)", "v2 target expression")
            syms = sorted(e.free_symbols, key=lambda x: x.name)
            rows = np.array([self._pindex[x.name] for x in syms], dtype=int)
            f = sp.lambdify(syms, e, modules=["numpy"])
            dfs = [sp.lambdify(syms, sp.diff(e, x), modules=["numpy"]) for x in syms]
            return _Source(expr=(rows, f, dfs))
        raise PetabError(f"{where}: {text!r} is neither a number nor a parameter of the parameter table")

    def _read_observables(self) -> None:
        import sympy as sp

        odf = self.tables.observable_df
        mdf = self.tables.measurement_df
        imp, sym = self.sbml.imp, self.sbml.sym
        if "time" in mdf and np.isinf(mdf["time"].astype(float)).any():
            raise PetabError("measurements at time inf (steady-state measurements) are not supported", "time=inf")
        self.observable_ids = tuple(str(o) for o in odf.index)
        model_ids = set(imp.values)
        formulas: dict[str, Any] = {}
        for o in self.observable_ids:
            formulas[o] = parse_formula(odf.loc[o, "observableFormula"], f"observable {o!r}")
        extras: dict[str, Any] = {}
        t_sym = sp.Symbol("__t")
        self._ph: dict[str, dict[str, int]] = {}  # observable -> placeholder name -> position
        self.obs_f: dict[str, Formula] = {}
        self.noise_f: dict[str, Formula] = {}
        self.transform: dict[str, str] = {}
        self.distribution: dict[str, str] = {}
        raw: dict[str, tuple] = {}
        #: every name the observable and noise formulas read (model ids, placeholders, other symbols)
        self._formula_names: set[str] = {x.name for f in formulas.values() for x in f.free_symbols}
        for o in self.observable_ids:
            row = odf.loc[o]
            tr = str(row.get("observableTransformation", LIN)) if "observableTransformation" in odf else LIN
            tr = LIN if tr in ("", "nan") else tr
            if tr not in (LIN, LOG, LOG10):
                raise PetabError(f"observable {o!r}: observableTransformation {tr!r} is not lin, log or log10",
                                 "observableTransformation")
            dist = str(row.get("noiseDistribution", "normal")) if "noiseDistribution" in odf else "normal"
            dist = "normal" if dist in ("", "nan") else dist
            if dist not in ("normal", "laplace"):
                raise PetabError(f"observable {o!r}: noiseDistribution {dist!r} is not normal or laplace",
                                 "noiseDistribution")
            self.transform[o], self.distribution[o] = tr, dist
            nf = parse_formula(row["noiseFormula"], f"noise formula of {o!r}") if "noiseFormula" in odf else \
                sp.Integer(1)
            self._formula_names |= {x.name for x in nf.free_symbols}
            raw[o] = (formulas[o], nf.subs({s: formulas[s.name] for s in nf.free_symbols
                                            if s.name in formulas and s.name != o}))
            raw[o] = (raw[o][0], raw[o][1].subs({s: formulas[o] for s in raw[o][1].free_symbols if s.name == o}))
        model_subs: dict[str, Any] = {}
        for o, (h, nf) in raw.items():
            ph: dict[str, int] = {}
            for e in (h, nf):
                for s in sorted(e.free_symbols, key=lambda s: s.name):
                    n = s.name
                    m = PLACEHOLDER.match(n)
                    if m:
                        if m.group(3) != o:
                            raise PetabError(f"observable {o!r} uses placeholder {n!r} of another observable")
                        ph.setdefault(n, len(ph))
                    elif n in ("time", "t") and n not in model_ids:
                        model_subs[n] = t_sym
                    elif n in model_ids:
                        if n not in model_subs:
                            model_subs[n] = sym.parse(imp.values[n])
                    elif n not in extras:
                        extras[n] = sp.Symbol(f"__e_{n}")
            self._ph[o] = ph
        self.extras = tuple(extras)
        ex_syms = [extras[n] for n in self.extras]
        for o, (h, nf) in raw.items():
            qs = {n: sp.Symbol(f"__q_{n}") for n in self._ph[o]}

            def conv(e, qs=qs):
                rep = {}
                for s in e.free_symbols:
                    n = s.name
                    rep[s] = qs[n] if n in qs else (model_subs[n] if n in model_subs else extras[n])
                return e.xreplace(rep)

            q_syms = [qs[n] for n in self._ph[o]]
            self.obs_f[o] = Formula.build(conv(h), sym, ex_syms, q_syms)
            self.noise_f[o] = Formula.build(conv(nf), sym, ex_syms, q_syms)
        # the time symbol is the formulas' first argument; a model clock state would be read as t anyway

    def _read_conditions(self) -> None:
        import petab.v1 as petab

        mdf = self.tables.measurement_df.reset_index(drop=True)
        self.measurements = mdf
        cdf = self.tables.condition_df
        pm = self.model.parameter_names
        id_of_param = {v: k for k, v in self.sbml.param_of_id.items()}
        pdefault = []
        for n in pm:
            sid = id_of_param.get(n)
            if sid is not None and sid in self._pindex:
                pdefault.append(_Source(index=self._pindex[sid]))
            else:
                pdefault.append(_Source(float(self.model.parameter(n).value)))
        edefault: list[_Source | None] = []
        for e in self.extras:
            if e in self._pindex:
                edefault.append(_Source(index=self._pindex[e]))
            else:
                edefault.append(None)
        cols = [c for c in (cdf.columns if cdf is not None else []) if c != "conditionName"]
        for c in cols:
            if c in self.sbml.param_of_id or c in self.sbml.species_state or c in self.extras:
                continue
            if c in self.sbml.imp.values:
                raise PetabError(f"condition table column {c!r} is an SBML id that the model computes (a rule or a "
                                 "compartment/parameter changed over time); PEtab conditions may set only constant "
                                 "parameters, species and compartments", "condition on non-constant entity")
            raise PetabError(f"condition table column {c!r} is not a parameter, species or compartment of the model, "
                             "nor a symbol of the observable table")
        for sid, (_st, vol) in self.sbml.species_state.items():
            if sid in cols and vol is not None and vol not in pm:
                raise PetabError(f"species {sid!r} is set by the condition table but its compartment changes over time",
                                 "variable compartment")

        def cond_sources(cid: str):
            p = list(pdefault)
            x: dict[str, tuple] = {}
            e = list(edefault)
            if not cid:
                return p, x, e
            if cdf is None or cid not in cdf.index:
                raise PetabError(f"condition {cid!r} of the measurement table is not in the condition table")
            for c in cols:
                src = self._source(cdf.loc[cid, c], f"condition {cid!r}, column {c!r}")
                if c in self.sbml.param_of_id:
                    if src is not None:
                        p[pm.index(self.sbml.param_of_id[c])] = src
                elif c in self.sbml.species_state:
                    st, vol = self.sbml.species_state[c]
                    if src is not None:
                        x[st] = (src, pm.index(vol) if vol is not None else -1)
                    else:
                        x[st] = (None, -1)  # NaN: the model's own initial value (or, after pre-eq., kept)
                if c in self.extras and src is not None:
                    e[self.extras.index(c)] = src
            return p, x, e

        groups = petab.get_simulation_conditions(mdf)
        self.conditions: list[_Condition] = []
        pre_col = "preequilibrationConditionId" in mdf
        for _, g in groups.iterrows():
            sim = str(g["simulationConditionId"])
            pre = str(g["preequilibrationConditionId"]) if "preequilibrationConditionId" in g else ""
            pre = "" if pre in ("nan", "None") else pre
            mask = mdf["simulationConditionId"].astype(str) == sim
            if pre_col:
                col = mdf["preequilibrationConditionId"]
                mask &= (col.astype(str) == pre) if pre else col.isna() | (col.astype(str).isin(["", "nan"]))
            rows = np.flatnonzero(mask.to_numpy())
            t = mdf["time"].astype(float).to_numpy()[rows]
            times, tindex = np.unique(t, return_inverse=True)
            c = _Condition(pre, sim, rows, times, tindex)
            c.p_sim, c.x_sim, c.extras = cond_sources(sim)
            if pre:
                c.p_pre, c.x_pre, _ = cond_sources(pre)
            for k, s in enumerate(c.extras):
                if s is None:
                    raise PetabError(f"symbol {self.extras[k]!r} of the observable table is neither a model entity, "
                                     f"nor in the parameter table, nor set by condition {sim!r}")
            self.conditions.append(c)
        # overrides per measurement row
        self._row_q: dict[int, list] = {}
        times = mdf["time"].astype(float).to_numpy()
        values = mdf["measurement"].astype(float).to_numpy()
        for i, (_, row) in enumerate(mdf.iterrows()):  # mdf's index is 0..n-1: i is also the row's label
            o = str(row["observableId"])
            if o not in self._ph:
                raise PetabError(f"{self._row(i)}: observable {o!r} is not in the observable table")
            if times[i] < 0:
                raise PetabError(f"{self._row(i)}, observable {o!r}: time {times[i]:g} is negative; measurement "
                                 "times must be >= 0 (the simulation starts at time 0)")
            if self.transform[o] != LIN and not values[i] > 0:
                raise PetabError(f"{self._row(i)}, observable {o!r}: measurement {values[i]:g} cannot be "
                                 f"{self.transform[o]}-transformed (observableTransformation {self.transform[o]} "
                                 "needs measurements > 0)")
            srcs: list = [None] * len(self._ph[o])
            for kind, col in (("observable", "observableParameters"), ("noise", "noiseParameters")):
                cell = row.get(col, None) if col in mdf else None
                vals = [] if cell is None or (isinstance(cell, float) and math.isnan(cell)) or str(cell) == "" \
                    else str(cell).split(";")
                for k, v in enumerate(vals, start=1):
                    name = f"{kind}Parameter{k}_{o}"
                    if name in self._ph[o]:
                        srcs[self._ph[o][name]] = self._source(v, f"{self._row(i)}, {col}")
            for name, pos in self._ph[o].items():
                if srcs[pos] is None:
                    raise PetabError(f"{self._row(i)}: placeholder {name!r} of observable {o!r} is not given in "
                                     "its observableParameters / noiseParameters")
            jp = self.noise_f[o].just_placeholder
            if jp is not None and srcs[jp].index < 0 and srcs[jp].expr is None:
                sd = srcs[jp].value
                if not (math.isfinite(sd) and sd > 0):
                    name = next(n for n, pos in self._ph[o].items() if pos == jp)
                    raise PetabError(f"{self._row(i)}, observable {o!r}: noiseParameters gives the noise parameter "
                                     f"(sigma, noiseFormula {name}) as {sd:g}; sigma must be a positive finite "
                                     "number")
            self._row_q[i] = srcs
        self._meas = values
        self._obs_of_row = mdf["observableId"].astype(str).to_numpy()
        self._check_parameter_rows()
        self._check_nominal_values()

    def _check_nominal_values(self) -> None:
        """Refuse an estimated parameter whose nominal value lies outside its bounds (checked after the tables'
        unsupported features, which are refused first by name).

        PEtab v1 only: PEtab's own v2 test suite evaluates an estimated parameter at a nominal value outside its
        bounds (v2.0.0 case 0026: ``initial_A1`` = 0.5 in [1, 10]) and expects that likelihood."""
        if self.format_version >= 2:
            return
        lb, ub = self._bounds_lin
        for p, a, b, v in zip(self.free, lb, ub, self._nominal_all[self._est_rows]):
            if np.isfinite(v) and not (a <= v <= b):
                raise PetabError(f"parameter {p!r} is estimated and its nominalValue {v:g} is outside its bounds "
                                 f"[lowerBound {a:g}, upperBound {b:g}]; the nominal value must lie within them")

    def _check_parameter_rows(self) -> None:
        """Refuse parameter-table rows whose id nothing in the problem reads (petablint's "extraneous parameter"):
        a typo would otherwise be estimated without effect while the entity it meant keeps the model's value.

        An id is read when it is an id of the SBML model, a symbol or placeholder of an observable or noise
        formula, a value of the measurement table's observableParameters / noiseParameters, or a column or
        (a name in) a value of the condition table."""
        imp = self.sbml.imp
        model_ids = (set(imp.values) | set(imp.quantity_names) | set(imp.species_names)
                     | set(self.sbml.species_state) | set(self.sbml.param_of_id))
        ident = re.compile(r"[A-Za-z_]\w*")
        table_names: set[str] = set()
        mdf = self.tables.measurement_df
        for col in ("observableParameters", "noiseParameters"):
            if col in mdf:
                for cell in mdf[col]:
                    if isinstance(cell, str):
                        table_names |= {v.strip() for v in cell.split(";")}
        cdf = self.tables.condition_df
        if cdf is not None:
            table_names |= {str(c) for c in cdf.columns}
            for col in cdf.columns:
                for cell in cdf[col]:
                    if isinstance(cell, str):
                        table_names |= set(ident.findall(cell))
        table_names |= set(getattr(self.tables, "referenced_ids", ()))  # v2: conditions no experiment uses
        known = model_ids | self._formula_names | table_names
        unread = [p for p in self.parameter_ids if p not in known]
        if not unread:
            return
        candidates = sorted(known - set(self.parameter_ids)) or sorted(known)
        hints = []
        for p in unread:
            hint = suggestion(p, candidates)
            if hint:
                hints.append(f"{p!r}: {hint}")
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise PetabError(
            f"parameter table: {', '.join(map(repr, unread))} {'is' if len(unread) == 1 else 'are'} not read by "
            "anything in the problem; looked for among the SBML model's ids (parameters, species, compartments, "
            "reactions, rule targets), the symbols and placeholders of the observable and noise formulas, the "
            "measurement table's observableParameters / noiseParameters, and the condition table's columns and "
            f"values{hint}. A parameter nothing reads would be estimated without effect (petablint: extraneous "
            "parameter)", "extraneous parameter")

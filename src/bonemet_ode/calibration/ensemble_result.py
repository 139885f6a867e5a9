"""An ensemble of parameter sets that all satisfy the outcomes: members, settings, summaries, JSON file.

The file is one envelope (:mod:`bonemet_ode.io.envelope`)::

    {"format": "bonemet_ode.ensemble", "version": 1, "payload": {
        "model": "bone_metastasis",
        "free": [{"name": ..., "lower": ..., "upper": ..., "log_scale": ...}, ...],
        "names": [...],                       # free parameter names, in order
        "members": [{name: value, ...}, ...], # every member, free parameters only
        "fixed": {name: value},               # overrides held fixed (part of every member)
        "chains": [...], "outcome_ids": [...], "margins": [[...], ...], "failing": [[...], ...],
        "required": [...], "seed": S, "settings": {...}, "complete": true, "sampler_state": {...}, ...}}

A member is a plain ``{name: value}`` object: written alone
(:meth:`Ensemble.save_member`) it is what ``bonemet-ode outcomes --params``
takes, and ``--params FILE --member K`` reads member ``K`` of an ensemble
file directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import FitError, SavedFileError
from ..io.envelope import dumps, envelope, open_document, read_document, write_document
from ..simulate._validate import integer
from .space import FreeParameter

__all__ = ["FORMAT", "Ensemble", "EnsembleSettings", "is_ensemble_document", "unit_coordinates"]

#: Identifies ensemble files.
FORMAT = "bonemet_ode.ensemble"
_VERSION = 1
#: Unit-cube distance from a bound within which a member counts as "at" the bound.
BOUND_ZONE = 0.05
#: A parameter is "piled at a bound" when at least this share of members lies within BOUND_ZONE of it
#: (a uniform spread puts BOUND_ZONE = 5 % there).
PILE_SHARE = 0.25
#: ... and the members reach the bound: the gap between the bound and the 5 % (95 %) quantile is at most this
#: share of the 5-95 % spread (a cloud spread uniformly up to the bound has a gap of 0.06 of its spread).
PILE_REACH = 0.25
#: A parameter is "unconstrained" when its 5-95 % ensemble range covers at least this share of its prior range
#: (a uniform spread covers 90 %).
UNCONSTRAINED_SPAN = 0.75


@dataclass(frozen=True)
class EnsembleSettings:
    """How :func:`~bonemet_ode.calibration.ensemble.calibrate_ensemble` samples.

    Parameters
    ----------
    n_chains : int
        Chains, run interleaved (from the given starts, cycled).
    n_burn : int
        Burn-in steps per chain (adapting the direction covariance and the interval length).
    thin : int
        Steps per chain between members.
    initial_scale : float
        Spread (unit-cube units) of the directions before the covariance adapts.
    initial_width : float
        Starting slice interval length, in units of the direction vector.
    max_shrink : int
        Proposals per step before a chain stays put for that step.
    save_every : int
        Members between saves of the output file (when one is given).
    """

    n_chains: int = 4
    n_burn: int = 60
    thin: int = 2
    initial_scale: float = 0.02
    initial_width: float = 2.0
    max_shrink: int = 30
    save_every: int = 20

    def __post_init__(self) -> None:
        v = self.save_every
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise FitError(f"ensemble setting save_every must be an integer >= 1, got {v!r}")
        object.__setattr__(self, "save_every", int(v))
        self.sampler()  # validates the rest

    def sampler(self):
        """The :class:`~bonemet_ode.calibration.sampler.SamplerSettings` these settings imply."""
        from .sampler import SamplerSettings

        return SamplerSettings(n_chains=self.n_chains, n_burn=self.n_burn, thin=self.thin,
                               initial_scale=self.initial_scale, initial_width=self.initial_width,
                               max_shrink=self.max_shrink)


def unit_coordinates(free: Sequence[FreeParameter], values: np.ndarray) -> np.ndarray:
    """Rows of parameter values mapped into the unit cube of ``free`` (log scale where the parameter is)."""
    X = np.atleast_2d(np.asarray(values, dtype=float))
    lo = np.array([f.lower for f in free], dtype=float)
    hi = np.array([f.upper for f in free], dtype=float)
    log = np.array([bool(f.log_scale) for f in free])
    a = np.where(log, np.log(np.where(log, lo, 1.0)), lo)
    b = np.where(log, np.log(np.where(log, hi, 1.0)), hi)
    Z = np.where(log, np.log(np.where(log, np.maximum(X, np.where(log, lo, 1.0)), 1.0)), X)
    return (Z - a) / (b - a)


@dataclass(frozen=True, eq=False)
class Ensemble:
    """Parameter sets that all satisfy the required outcomes.

    Made by :func:`~bonemet_ode.calibration.ensemble.calibrate_ensemble`.

    Attributes
    ----------
    model : str
        Name of the model.
    free : tuple of FreeParameter
        Free parameters with the bounds and scales of the prior box.
    members : tuple of Mapping
        Every member, ``{name: value}`` of the free parameters (read-only views; :meth:`member` returns
        an editable copy with the fixed overrides).
    fixed : Mapping
        Parameter overrides held fixed (the context's); every member includes them (:meth:`member`).
        Read-only, as is ``margins``.
    chains : tuple of int
        Chain of every member.
    outcome_ids : tuple of str
        Outcomes evaluated.
    margins : ndarray
        (members x outcomes) margin of every outcome (>= 0: holds).
    failing : tuple of tuple of str
        Outcomes failing at each member (only outcomes not required can fail).
    required : tuple of str
        Outcomes every member satisfies.
    seed : int
        Seed of the sampler.
    settings : EnsembleSettings
    n_evaluations : int
        Evaluations of the outcome set so far (each simulates every arm and cohort once).
    wall_time : float
        Seconds spent sampling, over every run that built the file.
    complete : bool
        Whether the requested number of members was reached.
    n_requested : int
        Members asked for.
    sampler_state : dict
        State from which the sampler continues bit for bit (resume or extend).
    method : str
        How the members were drawn.
    """

    model: str
    free: tuple[FreeParameter, ...]
    members: tuple[Mapping[str, float], ...]
    fixed: Mapping[str, float] = field(default_factory=dict)
    chains: tuple[int, ...] = ()
    outcome_ids: tuple[str, ...] = ()
    margins: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    failing: tuple[tuple[str, ...], ...] = ()
    required: tuple[str, ...] = ()
    seed: int = 0
    settings: EnsembleSettings = field(default_factory=EnsembleSettings)
    n_evaluations: int = 0
    wall_time: float = 0.0
    complete: bool = True
    n_requested: int = 0
    sampler_state: dict[str, Any] | None = None
    method: str = ""

    def __post_init__(self) -> None:
        # read-only views: an ensemble is shared (``shipped_ensemble()`` is read once and kept), so an
        # edit through one caller's reference must not change every other caller's members
        object.__setattr__(self, "members", tuple(MappingProxyType(dict(m)) for m in self.members))
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))
        margins = np.array(self.margins, dtype=float)
        margins.flags.writeable = False
        object.__setattr__(self, "margins", margins)

    # ------------------------------------------------------------------ access
    @property
    def names(self) -> tuple[str, ...]:
        """Free parameter names, in order."""
        return tuple(f.name for f in self.free)

    def __len__(self) -> int:
        return len(self.members)

    def values(self) -> np.ndarray:
        """(members x free parameters) values."""
        return np.array([[m[n] for n in self.names] for m in self.members], dtype=float).reshape(len(self), -1)

    def unit(self) -> np.ndarray:
        """(members x free parameters) positions in the unit cube of the prior box."""
        return unit_coordinates(self.free, self.values()).reshape(len(self), -1)

    def member(self, k: int) -> dict[str, float]:
        """Member ``k`` with the fixed overrides: what to pass to ``simulate(params=...)`` or ``evaluate``."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not -len(self) <= k < len(self):
            raise FitError(f"member index must be an integer in [{-len(self)}, {len(self)}) (negative: counted from "
                           f"the last), got {k!r}")
        return {**self.fixed, **self.members[int(k)]}

    def save_member(self, k: int, path: str | Path) -> Path:
        """Write member ``k`` (with the fixed overrides) as a JSON object ``{name: value}`` for ``--params``."""
        from ..io.envelope import encode_value

        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dumps(encode_value(self.member(k))) + "\n", encoding="utf-8")
        except OSError as exc:
            raise SavedFileError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        return path

    def check(self, context: Any, members: Sequence[int] | None = None) -> dict[int, list[str]]:
        """Evaluate members again with ``context``; ``{member: failing required outcome ids}`` of those failing."""
        bad: dict[int, list[str]] = {}
        req = set(self.required)
        for k in (range(len(self)) if members is None else members):
            ev = context.evaluate(self.member(k))
            fail = [r.id for r in ev.results if not r.satisfied and r.id in req]
            if fail:
                bad[int(k)] = fail
        return bad

    # ------------------------------------------------------------------ what it tells
    def parameter_summary(self):
        """Per free parameter: prior bounds, ensemble quantiles, spread in the unit cube and a flag.

        Flags: ``piled at lower bound`` / ``piled at upper bound`` (at least
        25 % of members within 5 % of the prior range from that bound, where a
        uniform spread puts 5 %, and the gap between the bound and the 5 %
        (95 %) quantile at most a quarter of the 5-95 % spread: the members
        reach the bound, they do not merely sit near it), ``unconstrained`` (the 5-95 % range covers
        at least 75 % of the prior range), else ``constrained``.

        Returns
        -------
        pandas.DataFrame
            One row per parameter: ``name, lower, upper, scale, q05, median, q95,
            u_q05, u_q95, span, at_lower, at_upper, flag``.
        """
        import pandas as pd

        X, U = self.values(), self.unit()
        rows = []
        for j, f in enumerate(self.free):
            q05, med, q95 = np.quantile(X[:, j], [0.05, 0.5, 0.95])
            uq05, uq95 = np.quantile(U[:, j], [0.05, 0.95])
            at_lo = float(np.mean(U[:, j] <= BOUND_ZONE))
            at_hi = float(np.mean(U[:, j] >= 1.0 - BOUND_ZONE))
            # piled: many members next to the bound, and the members reach it (the gap to the bound is small
            # against their own spread), not a narrow cloud that merely sits near it
            near = (uq95 - uq05) * PILE_REACH
            if at_lo >= PILE_SHARE and at_lo >= at_hi and uq05 <= near:
                flag = "piled at lower bound"
            elif at_hi >= PILE_SHARE and 1.0 - uq95 <= near:
                flag = "piled at upper bound"
            elif uq95 - uq05 >= UNCONSTRAINED_SPAN:
                flag = "unconstrained"
            else:
                flag = "constrained"
            rows.append({"name": f.name, "lower": f.lower, "upper": f.upper,
                         "scale": "log" if f.log_scale else "linear", "q05": q05, "median": med, "q95": q95,
                         "u_q05": uq05, "u_q95": uq95, "span": uq95 - uq05, "at_lower": at_lo, "at_upper": at_hi,
                         "flag": flag})
        return pd.DataFrame(rows)

    def correlations(self, method: str = "spearman"):
        """(parameters x parameters) rank (``"spearman"``) or linear (``"pearson"``, unit cube) correlations."""
        import pandas as pd

        if method not in ("spearman", "pearson"):
            raise FitError(f"method must be 'spearman' or 'pearson', got {method!r}")
        U = pd.DataFrame(self.unit(), columns=list(self.names))
        return U.corr(method=method)

    def strongest_correlations(self, k: int = 10, method: str = "spearman") -> list[tuple[str, str, float]]:
        """The ``k`` parameter pairs with the largest absolute correlation, strongest first."""
        integer(k, "k", low=1, error=FitError)
        C = self.correlations(method).to_numpy()
        i, j = np.triu_indices(len(self.names), 1)
        order = np.argsort(-np.abs(np.nan_to_num(C[i, j])), kind="stable")[:k]
        return [(self.names[i[o]], self.names[j[o]], float(C[i[o], j[o]])) for o in order]

    def summary(self) -> str:
        """Text: size, sampling cost, the parameter table and the strongest correlations."""
        t = self.parameter_summary()
        state = "complete" if self.complete else f"partial, {self.n_requested} requested"
        lines = [f"Ensemble of {len(self)} members ({state}) "
                 f"of {self.model}: {len(self.names)} free parameters, {len(self.required)} outcomes required; "
                 f"seed {self.seed}, {self.n_evaluations} evaluations, {self.wall_time:.0f} s",
                 "", f"{'parameter':<12} {'lower':>9} {'upper':>9} {'q05':>10} {'median':>10} {'q95':>10} "
                 f"{'unit span':>9}  flag"]
        for _, r in t.iterrows():
            lines.append(f"{r['name']:<12} {r['lower']:>9.3g} {r['upper']:>9.3g} {r['q05']:>10.4g} "
                         f"{r['median']:>10.4g} "
                         f"{r['q95']:>10.4g} {r['span']:>9.2f}  {r['flag']}")
        lines += ["", "strongest rank correlations:"]
        lines += [f"  {a:<12} {b:<12} {c:+.2f}" for a, b, c in self.strongest_correlations(8)]
        return "\n".join(lines)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope ``{"format": "bonemet_ode.ensemble", "version": 1, "payload": {...}}``."""
        from ..outcomes.results import float_to_json

        return envelope("ensemble", _VERSION, {
            "model": self.model,
            "free": [{"name": f.name, "lower": f.lower, "upper": f.upper, "log_scale": bool(f.log_scale)}
                     for f in self.free],
            "names": list(self.names),
            "members": [{n: m[n] for n in self.names} for m in self.members],
            "fixed": dict(self.fixed),
            "chains": list(self.chains),
            "outcome_ids": list(self.outcome_ids),
            "margins": [[float_to_json(x) for x in row] for row in np.asarray(self.margins, dtype=float)],
            "failing": [list(f) for f in self.failing],
            "required": list(self.required),
            "seed": self.seed,
            "settings": dataclasses.asdict(self.settings),
            "n_evaluations": self.n_evaluations,
            "wall_time": self.wall_time,
            "complete": self.complete,
            "n_requested": self.n_requested,
            "method": self.method,
            "sampler_state": self.sampler_state,
        })

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "<document>") -> Ensemble:
        """Rebuild from :meth:`to_dict`, checking every field (:class:`~bonemet_ode.errors.SavedFileError`)."""
        _, f = open_document(d, "ensemble", versions=(_VERSION,), source=source)
        free = []
        for fp in f.objects("free"):
            lower, upper = fp.number("lower"), fp.number("upper")
            if not lower < upper:
                raise fp.error("lower", f"must be below 'upper' ({lower!r} >= {upper!r})")
            free.append(FreeParameter(fp.str("name"), lower, upper, fp.bool("log_scale")))
        names = tuple(f.str_list("names"))
        if names != tuple(p.name for p in free):
            raise f.error("names", f"must list the free parameters in order ({[p.name for p in free]}), "
                                   f"got {list(names)}")
        members = []
        for m in f.objects("members"):
            got = {n: m.number(n) for n in names}
            extra = sorted(set(m.keys()) - set(names))
            if extra:
                raise m.error(extra[0], "is not a free parameter of this ensemble")
            for p in free:
                if not p.lower <= got[p.name] <= p.upper:
                    raise m.error(p.name, f"is {got[p.name]!r}, outside the prior bounds [{p.lower!r}, {p.upper!r}]")
            members.append(got)
        n = len(members)
        ids = tuple(f.str_list("outcome_ids"))
        rows = f.list("margins")
        if len(rows) != n:
            raise f.error("margins", f"must hold one row per member ({n}), got {len(rows)}")
        from ..outcomes.results import float_from_json

        try:
            M = np.array([[float_from_json(x) for x in row] for row in rows], dtype=float).reshape(n, len(ids))
        except (TypeError, ValueError, FitError, SavedFileError, Exception) as exc:  # noqa: BLE001
            raise f.error("margins", f"must be rows of {len(ids)} numbers ({exc})") from None
        failing = tuple(tuple(x) for x in f.list("failing"))
        chains = tuple(int(c) for c in f.list("chains"))
        if len(failing) != n or len(chains) != n:
            raise f.error("failing", f"'failing' and 'chains' must have one entry per member ({n})")
        required = tuple(f.str_list("required"))
        bad = [(k, x) for k, fl in enumerate(failing) for x in fl if x in required]
        if bad:
            raise f.error("failing", f"member {bad[0][0]} fails required outcome {bad[0][1]!r}")
        raw = f.obj("settings")
        raw.unknown({x.name for x in dataclasses.fields(EnsembleSettings)})
        try:
            settings = EnsembleSettings(**raw.data)
        except (FitError, TypeError) as exc:
            raise f.error("settings", f"holds an invalid setting: {exc}") from None
        state = f.raw("sampler_state", None)
        if state is not None and not isinstance(state, dict):
            raise f.error("sampler_state", "must be an object or null")
        return cls(model=f.str("model"), free=tuple(free), members=tuple(members),
                   fixed=f.number_map("fixed", {}), chains=chains, outcome_ids=ids, margins=M, failing=failing,
                   required=required, seed=f.int("seed", minimum=0), settings=settings,
                   n_evaluations=f.int("n_evaluations", minimum=0), wall_time=f.number("wall_time", minimum=0.0),
                   complete=f.bool("complete"), n_requested=f.int("n_requested", minimum=0),
                   sampler_state=state, method=f.str("method", ""))

    def to_json(self) -> str:
        """The JSON document."""
        return dumps(self.to_dict())

    def save(self, path: str | Path) -> Path:
        """Write the JSON document to ``path`` (atomically); returns the path."""
        return write_document(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> Ensemble:
        """Read an ensemble written by :meth:`save`."""
        return cls.from_dict(read_document(path), source=Path(path).name)

    def __repr__(self) -> str:
        return (f"<Ensemble {self.model}: {len(self)} members, {len(self.names)} free parameters, "
                f"{len(self.required)} outcomes required{'' if self.complete else ', partial'}>")


def is_ensemble_document(data: Any) -> bool:
    """Whether parsed JSON ``data`` is an ensemble file."""
    return isinstance(data, Mapping) and data.get("format") == FORMAT

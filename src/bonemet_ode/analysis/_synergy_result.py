"""Result object of :func:`bonemet_ode.analysis.synergy.synergy`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import DataTable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["VERDICTS", "SynergyResult", "verdict_of"]

#: Possible verdicts.
VERDICTS: tuple[str, ...] = ("synergy", "additivity", "antagonism")

_METRIC_SHORT = {"bliss": "Bliss", "hsa": "HSA", "ra": "RA"}

_METRIC_NAMES = {
    "bliss": "Bliss independence",
    "hsa": "highest single agent (HSA)",
    "ra": "response additivity (RA)",
}


def verdict_of(ci_low: float, ci_high: float) -> str:
    """Call a score from its confidence interval.

    Parameters
    ----------
    ci_low, ci_high
        Bounds of the confidence interval of a synergy score (positive =
        synergy).

    Returns
    -------
    str
        ``"synergy"`` if ``ci_low > 0``, ``"antagonism"`` if ``ci_high < 0``,
        otherwise ``"additivity"``.
    """
    if ci_low > 0:
        return "synergy"
    if ci_high < 0:
        return "antagonism"
    return "additivity"


def _fmt(x: Any) -> str:
    if not np.isfinite(x):
        return "nan"
    return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.3e}"


@dataclass(frozen=True, repr=False, eq=False)
class SynergyResult:
    """Outcome of a combination analysis.

    Attributes
    ----------
    metric
        ``"bliss"``, ``"hsa"`` or ``"ra"``.
    control, drug_a, drug_b, combination
        Arm names.
    table
        Tidy scores: columns ``scope`` (``"time"`` or ``"overall"``),
        ``time`` (days since baseline; NaN for overall), ``metric``, ``unit``,
        ``expected``, ``observed``, ``score`` (positive = synergy), ``ci_low``,
        ``ci_high``, ``p_synergy``, ``p_antagonism``, ``verdict``.
    growth_rates
        Per-arm growth rates: ``arm, role, n_subjects, rate`` (mean, 1/day),
        ``sd, se, ci_low, ci_high`` (bootstrap percentile CI), ``unit``.
    subject_rates
        Per-subject rates (see
        :func:`bonemet_ode.analysis.growth.subject_growth_rates`).
    verdict
        Overall call: ``"synergy"``, ``"additivity"`` or ``"antagonism"``.
    ci_level
        Two-sided confidence level.
    n_boot
        Bootstrap replicates.
    seed
        Integer seed used (None when a Generator or no seed was given).
    rate_method
        Growth-rate estimator (``"ols"`` or ``"auc"``).
    observable
        Observable analysed.
    data
        The four arms' measurements, for plotting.
    """

    metric: str
    control: str
    drug_a: str
    drug_b: str
    combination: str
    table: pd.DataFrame
    growth_rates: pd.DataFrame
    subject_rates: pd.DataFrame
    verdict: str
    ci_level: float
    n_boot: int
    seed: int | None
    rate_method: str
    observable: str
    data: DataTable = field(compare=False)
    drugs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.drugs:
            object.__setattr__(self, "drugs", (self.drug_a, self.drug_b))

    @property
    def arms(self) -> tuple[str, ...]:
        """``(control, *single agents, combination)``."""
        return (self.control, *self.drugs, self.combination)

    @property
    def title(self) -> str:
        """What was compared, each arm named once.

        ``"Irinotecan + Rabusertib: Bliss against its single agents"`` when the
        combination's name already names the drugs, else ``"Combo (= A + B):
        Bliss"``; the control follows.
        """
        name = _METRIC_SHORT[self.metric]
        comb = str(self.combination)
        if all(str(d).casefold() in comb.casefold() for d in self.drugs):
            head = f"{comb}: {name} against its single agents"
        else:
            head = f"{comb} (= {' + '.join(map(str, self.drugs))}): {name}"
        return f"{head} (control {self.control})"

    @property
    def overall(self) -> pd.Series:
        """The ``"overall"`` row of :attr:`table`."""
        return self.table.loc[self.table["scope"] == "overall"].iloc[0]

    @property
    def by_time(self) -> pd.DataFrame:
        """The per-time rows of :attr:`table`."""
        return self.table.loc[self.table["scope"] == "time"].reset_index(drop=True)

    def __repr__(self) -> str:
        o = self.overall
        calls = ", ".join(f"d{t:g}:{v}" for t, v in zip(self.by_time["time"], self.by_time["verdict"]))
        return (
            f"SynergyResult({self.metric}, {self.combination!r} from {' + '.join(map(repr, self.drugs))} "
            f"over {self.control!r}: {self.verdict}; overall score {_fmt(o['score'])} {o['unit']} "
            f"[{_fmt(o['ci_low'])}, {_fmt(o['ci_high'])}] ({self.ci_level:.0%} CI, n_boot={self.n_boot}); "
            f"per time {calls})"
        )

    def to_text(self) -> str:
        """Plain-text report: settings, arm growth rates, scores and verdicts.

        Returns
        -------
        str
        """
        lines = [
            f"Combination analysis: {_METRIC_NAMES[self.metric]}",
            f"  combination {self.combination!r} of single agents {', '.join(map(repr, self.drugs))}; "
            f"control {self.control!r}",
            f"  observable {self.observable!r}; growth-rate estimator {self.rate_method!r} "
            "(log(V/V0) = r (t - t0) per subject)",
            f"  bootstrap over subjects within arm: n_boot={self.n_boot}, seed={self.seed}, "
            f"{self.ci_level:.0%} percentile CI",
            "",
            "Growth rates per arm (1/day):",
        ]
        for row in self.growth_rates.itertuples(index=False):
            lines.append(
                f"  {row.role:<12} {row.arm!s:<28} n={row.n_subjects:<3} r={row.rate:.4f} "
                f"(SE {row.se:.4f}) CI [{row.ci_low:.4f}, {row.ci_high:.4f}]"
            )
        lines += ["", "Synergy scores (positive = synergy):"]
        for row in self.table.itertuples(index=False):
            when = "overall " if row.scope == "overall" else f"day {row.time:<4g}"
            lines.append(
                f"  {when:<9} expected {_fmt(row.expected):>9} observed {_fmt(row.observed):>9} "
                f"score {_fmt(row.score):>9} [{_fmt(row.ci_low)}, {_fmt(row.ci_high)}] {row.unit:<13} "
                f"p(syn)={row.p_synergy:.3f} -> {row.verdict}"
            )
        lines += ["", f"Verdict: {self.verdict}"]
        if self.metric in ("bliss", "hsa"):
            lines.append(
                "  Per-time scores: 100 x (expected - observed) fraction of control volume; "
                "overall: expected - observed combination growth rate (1/day)."
            )
        else:
            lines.append(
                "  Per-time scores: 100 x (expected - observed) fraction of control volume; "
                "overall: mean of the per-time scores."
            )
        return "\n".join(lines)

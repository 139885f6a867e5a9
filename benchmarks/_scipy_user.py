"""Plain scipy, the way a user writes it: a Python right-hand side, solve_ivp, restarted at each dose.

* :func:`reference_rhs` is the reference problem of ``shared/spec/performance.md``
  typed in by hand (a user's first try: tuple unpacking, plain arithmetic).
* :func:`straight_line_rhs` writes the same kind of function for any model
  from its terms (used for ``bone_metastasis``, which changes while it is being
  extended: hand-written code would go stale).  It is the code a user would
  type, generated, not bonemet_ode's compiled code.
* :func:`solve_with_doses` integrates between dose times with ``solve_ivp``
  and adds each bolus by hand; at an output time that is also a dose time it
  reports the post-dose state, like bonemet_ode and libRoadRunner.

Only boluses are supported (the benchmark arms have no infusions or switches).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.integrate import solve_ivp

import bonemet_ode as bm

__all__ = ["REFERENCE_PARAMETERS", "reference_rhs", "straight_line_rhs", "bolus_schedule", "solve_with_doses"]

#: Argument order of :func:`reference_rhs` after ``(t, y)``.
REFERENCE_PARAMETERS = ("r", "K", "kC", "sM", "sN", "eP", "EC50P", "aM", "hT", "IC50F", "dM", "aN", "hD", "dN",
                        "sC", "rC", "dC", "pD", "kD", "kA", "kF", "kAel", "kP")


def reference_rhs(t, y, r, K, kC, sM, sN, eP, EC50P, aM, hT, IC50F, dM, aN, hD, dN, sC, rC, dC, pD, kD, kA, kF,
                  kAel, kP):
    """dy/dt of the reference problem (performance.md), states T, M, N, C, D, F, A, P; days."""
    T, M, N, C, D, F, A, P = y
    kill = kC * C * T / (1 + sM * M / 1e5) * 1 / (1 + sN * N / 1e5) * (1 + eP * P / (P + EC50P)) / (1 + eP)
    return [
        r * T * (1 - T / K) - kill,
        aM * T / (T + hT) / (1 + F / IC50F) - dM * M,
        aN * D / (D + hD) - dN * N,
        sC + rC * C * T / (T + hT) / (1 + sM * M / 1e5) - dC * C,
        pD * T / 1e6 - kD * D - kA * A * D,
        -kF * F,
        -kAel * A,
        -kP * P,
    ]


def straight_line_rhs(model: bm.Model) -> tuple[Callable, tuple[str, ...]]:
    """A plain Python ``rhs(t, y, *params)`` for ``model``, written out term by term.

    Returns the function and the parameter names in argument order.
    """
    if model.switches:
        raise ValueError(f"model {model.name!r} has parameter switches; the plain scipy driver handles boluses only")
    lines = [f"def rhs(t, y, {', '.join(model.parameter_names)}):"]
    lines.append(f"    {', '.join(model.state_names)}{',' if len(model.state_names) == 1 else ''} = y")
    for o in model.observables:
        lines.append(f"    {o.name} = {o.expr}")
    flux: dict[str, list[str]] = {s: [] for s in model.state_names}
    for k, term in enumerate(model.terms):
        if term.name in model.knockouts:
            continue
        lines.append(f"    v{k} = {term.rate}")
        for state, coef in term.effect_map.items():
            flux[state].append(f"{coef!r}*v{k}" if coef not in (1.0, -1.0) else ("v" if coef > 0 else "-v") + str(k))
    body = ", ".join(" + ".join(f) if f else "0.0" for f in flux.values())
    lines.append(f"    return [{body}]")
    namespace = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh, "pi": math.pi}
    exec(compile("\n".join(lines), f"<plain rhs of {model.name}>", "exec"), namespace)  # noqa: S102 - our own text
    return namespace["rhs"], model.parameter_names


def bolus_schedule(model: bm.Model, arm: bm.Arm, t_end: float) -> list[tuple[float, list[tuple[int, float]]]]:
    """``[(day, [(state index, amount), ...]), ...]`` sorted by day."""
    by_time: dict[float, list[tuple[int, float]]] = {}
    for dose in arm.doses:
        if dose.duration is not None:
            raise ValueError(f"arm {arm.name!r} has an infusion; the plain scipy driver handles boluses only")
        i = model.state_names.index(dose.target)
        for t in dose.administration_times(t_end):
            by_time.setdefault(float(t), []).append((i, dose.amount))
    return sorted(by_time.items())


def solve_with_doses(rhs: Callable, y0: Sequence[float], args: Sequence[float], times: np.ndarray,
                     schedule: list[tuple[float, list[tuple[int, float]]]], *, method: str = "LSODA",
                     rtol: float = 1e-6, atol: float = 1e-9) -> tuple[np.ndarray, int]:
    """Integrate from ``times[0]`` with boluses; return (outputs x states, RHS evaluations)."""
    y = np.array(y0, dtype=float)
    out = np.empty((len(times), len(y)))
    t, nfev, i = float(times[0]), 0, 0
    doses = dict(schedule)
    stops = [d for d, _ in schedule if times[0] < d < times[-1]] + [float(times[-1])]
    for i_dose, amount in doses.get(t, []):
        y[i_dose] += amount
    for stop in stops:
        last = stop == float(times[-1])
        j = len(times) if last else int(np.searchsorted(times, stop, side="left"))
        # ask for the segment's end too: it is the pre-dose state the next segment starts from
        t_eval = times[i:j] if last else np.append(times[i:j], stop)
        sol = solve_ivp(rhs, (t, stop), y, method=method, t_eval=t_eval, args=tuple(args), rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"scipy {method} failed between days {t:g} and {stop:g}: {sol.message}")
        nfev += sol.nfev
        out[i:j] = sol.y.T[: j - i]
        y = sol.y[:, -1].copy()
        i, t = j, stop
        for i_dose, amount in doses.get(t, []):
            y[i_dose] += amount
    return out, nfev

"""Forward sensitivities as an augmented symbolic system.

For parameters (or initial values) ``theta``, the sensitivities
``S = dx/dtheta`` obey ``dS/dt = J S + df/dtheta`` with ``S(0) = dx0/dtheta``.
The augmented system ``[x, S]`` is generated like any model (its exact
Jacobian includes the second-derivative terms ``d(J S)/dx``), so the
compiled Rosenbrock solver integrates states and sensitivities together under
the same error control and the same dosing events.  Observables gain their
sensitivities ``do/dtheta = (do/dx) S + do/dtheta``.

A timed switch that overwrites a target parameter ends its forcing: from the switch on the
parameter holds a constant, so ``dS/dt = J S`` without ``df/dtheta``.  The model then carries a
gate parameter (:func:`gate_name`, 1 until the first switch of ``theta``, 0 from it on, set by
the simulator with a switch of its own) that multiplies the forcing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from ..errors import UnknownNameError
from .symbolic import SymbolicModel, derivative

__all__ = ["GATE_MODULE", "SensitivitySymbolic", "check_wrt", "gate_name"]


#: Name of the module that holds the sensitivity gates.  A gate is recognised by its name (the compile
#: cache keys on names, not modules): the simulator refuses a model whose own parameter has a gate's name.
GATE_MODULE = "sensitivity_gates"


def gate_name(parameter: str) -> str:
    """Name of the gate parameter of sensitivity target ``parameter`` (see the module docstring)."""
    return f"sensitivity_gate_{parameter}"


def check_wrt(model, wrt: Sequence[str]) -> tuple[str, ...]:
    """Validate sensitivity targets: parameter names or state names (initial values)."""
    from ..model.model import unknown_name

    out = []
    known = set(model.parameter_names) | set(model.state_names)
    for name in wrt:
        if name not in known:
            raise unknown_name(name, "parameter or state", list(model.parameter_names) + list(model.state_names))
        if name in out:
            raise UnknownNameError(f"sensitivity target {name!r} is listed twice")
        out.append(name)
    return tuple(out)


class SensitivitySymbolic:
    """The ``[x, dx/dtheta_1, ..., dx/dtheta_m]`` system; same interface as :class:`SymbolicModel`."""

    def __init__(self, base: SymbolicModel, wrt: Sequence[str]) -> None:
        import sympy as sp

        model = base.model
        self.model = model
        self.base = base
        self.wrt = check_wrt(model, wrt)
        n, m = len(base.y), len(self.wrt)
        pnames = list(model.parameter_names)
        self.S = [[sp.Symbol(f"__S_{i}_{k}", real=True) for k in range(m)] for i in range(n)]
        jrows: list[list] = [[] for _ in range(n)]  # row i: (j, df_i/dx_j) over the non-zeros
        for (i, j), d in base.jacobian_entries.items():
            jrows[i].append((j, d))
        rows = list(base.rhs)
        obs = list(base.observables)
        for k, name in enumerate(self.wrt):
            theta = base.p[pnames.index(name)] if name in pnames else None
            forcing = [derivative(e, theta) for e in base.rhs] if theta is not None else [sp.S.Zero] * n
            if theta is not None and gate_name(name) in pnames:
                gate = base.p[pnames.index(gate_name(name))]
                forcing = [gate * f for f in forcing]
            for i in range(n):
                rows.append(sp.Add(forcing[i], *(d * self.S[j][k] for j, d in jrows[i])))
        for k, name in enumerate(self.wrt):
            theta = base.p[pnames.index(name)] if name in pnames else None
            for o in base.observables:
                acc = derivative(o, theta) if theta is not None else sp.Integer(0)
                for j in range(n):
                    d = derivative(o, base.y[j])
                    if d != 0:
                        acc += d * self.S[j][k]
                obs.append(acc)
        self.y = list(base.y) + [self.S[i][k] for k in range(m) for i in range(n)]
        self.p = base.p
        self.rhs = sp.Matrix(rows)
        self.observables = obs

    @cached_property
    def jacobian_entries(self) -> dict:
        """Structural non-zeros of the augmented system's exact Jacobian, ``{(i, j): expr}``."""
        from .symbolic import sparse_jacobian

        return sparse_jacobian(list(self.rhs), self.y)

    @cached_property
    def jacobian(self):
        """Exact Jacobian of the augmented right-hand side (dense sympy Matrix)."""
        import sympy as sp

        n = len(self.y)
        return sp.Matrix(n, n, lambda i, j: self.jacobian_entries.get((i, j), sp.Integer(0)))

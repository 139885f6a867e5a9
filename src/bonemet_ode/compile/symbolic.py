"""From a :class:`~bonemet_ode.model.Model` to sympy: the rate vector, the right-hand side and its Jacobian.

``dx/dt = S @ (v * on)`` where ``v`` are the term rates, ``S`` the
stoichiometry and ``on`` one flag per term (1, or 0 when knocked out), so a
knockout changes a number, not the compiled code.  The Jacobian follows by
symbolic differentiation (``df/dx``); ``df/dp`` is available for forward
sensitivities.
"""

from __future__ import annotations

from functools import cached_property

from ..model import Model

__all__ = ["SymbolicModel", "on_flag_name"]


def on_flag_name(term: str) -> str:
    """Name of the hidden on/off parameter of ``term``."""
    return f"__on_{term}"


class SymbolicModel:
    """The sympy form of a model's structure (values are not part of it).

    Attributes
    ----------
    y : list of sympy.Symbol
        State symbols, in state order.
    p : list of sympy.Symbol
        Parameter symbols followed by one on/off flag per term: the layout of
        :meth:`Model.parameter_vector`.
    rates : list of sympy.Expr
        Term rates times their flags, observables substituted.
    observables : list of sympy.Expr
        Observables in terms of states and parameters only.
    rhs : sympy.Matrix
        ``S @ rates``.
    """

    def __init__(self, model: Model) -> None:
        import sympy as sp
        from sympy.parsing.sympy_parser import parse_expr

        self.model = model
        self.y = [sp.Symbol(n, real=True) for n in model.state_names]
        user_p = [sp.Symbol(n, real=True) for n in model.parameter_names]
        self.on = [sp.Symbol(on_flag_name(t), real=True) for t in model.term_names]
        self.p = user_p + self.on
        funcs = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh, "abs": sp.Abs,
                 "min": sp.Min, "max": sp.Max, "pi": sp.pi}
        local: dict[str, object] = dict(funcs)
        local.update({s.name: s for s in self.y})
        local.update({s.name: s for s in user_p})

        def parse(text: str):
            return parse_expr(text.strip(), local_dict=dict(local), evaluate=True)

        obs = []
        for o in model.observables:  # dependency order
            e = parse(o.expr)
            obs.append(e)
            local[o.name] = e
        self.observables = obs
        self.rates = [parse(t.rate) * flag for t, flag in zip(model.terms, self.on)]
        S = model.stoichiometry()
        rhs = []
        for i in range(len(self.y)):
            acc = sp.Integer(0)
            for j, rate in enumerate(self.rates):
                c = S[i, j]
                if c != 0:
                    coef = sp.Integer(int(c)) if float(c).is_integer() else sp.Float(c)
                    acc += coef * rate
            rhs.append(acc)
        self.rhs = sp.Matrix(rhs)
        self._local = local

    def parse(self, text: str):
        """A sympy expression of states, parameters, observables (substituted) and time ``t`` (events)."""
        import sympy as sp
        from sympy.parsing.sympy_parser import parse_expr

        local = dict(self._local)
        local["t"] = sp.Symbol("t", real=True)
        return parse_expr(text.strip(), local_dict=local, evaluate=True)

    @cached_property
    def jacobian(self):
        """``df/dx`` as a sympy Matrix (states x states)."""
        return self.rhs.jacobian(self.y)

    @cached_property
    def dfdp(self):
        """``df/dp`` as a sympy Matrix (states x parameters, flags included)."""
        return self.rhs.jacobian(self.p)

"""A chain of Michaelis–Menten compartments: a model of any size, for scaling checks.

Not registered among the built-in models: :func:`michaelis_menten_chain` builds one of the size asked for.
"""

from __future__ import annotations

from ..errors import ModelError
from ..model import Model, Module, Parameter, State, Term

__all__ = ["michaelis_menten_chain"]


def michaelis_menten_chain(n: int) -> Model:
    """A chain of ``n`` compartments with saturable (Michaelis–Menten) transfer from each to the next.

    ``x0`` receives a constant inflow ``k_in`` (amount/day); compartment ``i`` passes its content on
    at ``Vmax_i*x_i/(Km_i + x_i)`` (amount/day) and loses it at ``kdeg*x_i`` (1/day), the last one
    also eliminates it saturably.  Each compartment has its own ``Vmax_i`` and ``Km_i`` (values
    vary along the chain, so no two rates are alike).  The Jacobian is lower bidiagonal: the
    structure of a long metabolic pathway or a transit-compartment chain.

    Parameters
    ----------
    n : int
        Number of compartments (states), at least 1.

    Examples
    --------
    >>> from bonemet_ode.models.chain import michaelis_menten_chain
    >>> m = michaelis_menten_chain(3)
    >>> m.state_names
    ('x0', 'x1', 'x2')
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ModelError(f"michaelis_menten_chain: n must be a positive integer, got {n!r}")
    states = tuple(State(f"x{i}", 1.0 if i == 0 else 0.0, "amount", f"compartment {i}") for i in range(n))
    params = [Parameter("k_in", 2.0, "amount/day", 0.0, 1e6, "inflow into x0"),
              Parameter("kdeg", 0.01, "1/day", 0.0, 1e6, "first-order loss from every compartment")]
    terms = [Term("inflow", "k_in", {"x0": 1})]
    for i in range(n):
        vmax = 5.0 + 3.0 * ((i * 7) % 11) / 10.0
        km = 0.5 + ((i * 5) % 13) / 10.0
        params += [Parameter(f"Vmax{i}", vmax, "amount/day", 0.0, 1e6, f"maximal transfer rate out of x{i}"),
                   Parameter(f"Km{i}", km, "amount", 1e-9, 1e6, f"half-saturation amount of x{i}")]
        effects = {f"x{i}": -1.0}
        if i + 1 < n:
            effects[f"x{i + 1}"] = 1.0
        terms.append(Term(f"transfer{i}", f"Vmax{i}*x{i}/(Km{i} + x{i})", effects))
        terms.append(Term(f"loss{i}", f"kdeg*x{i}", {f"x{i}": -1.0}))
    return Model(f"mm_chain_{n}", [Module("chain", states=states, parameters=tuple(params), terms=tuple(terms))])

"""The exponent parameters a compiled model is specialised to.

A power whose exponent is a parameter (``osteoclasts**g11``, a Hill coefficient ``x**n``) is
evaluated through ``exp(e*log(b))`` (``rewrites.log_powers``): two transcendental calls on the
right-hand side's critical path, ~18 % of a bone_metastasis solve.  When such a parameter's value
is a small integer or half-integer (the Komarova bone model's ``g11 = 0.5``, ``g21 = -0.5``,
``g12 = 1``, ``g22 = 0``; a mechanostat exponent of 4), the power is a few multiplications and at
most one ``sqrt``.  The generated code therefore holds the right-hand side and Jacobian twice:
generic, and with these parameters at the model's values (``codegen.generate_units``).  A solve
whose parameters equal those values exactly runs the second, any other the first (the choice is
made per member from its own parameters, in the scalar solver and in every lane alike, so a
member's result does not depend on the cohort it is solved in).

The set is read from the model's expressions without sympy (it is part of the cache key, which is
computed before any code is generated): the parameters named inside the exponent of a ``**`` in a
term's rate or an observable, whose value ``v`` has ``2 v`` integer and ``|v| <= 4``.
"""

from __future__ import annotations

import ast
import math
from typing import TYPE_CHECKING

from ..model.expressions import parse_expression

if TYPE_CHECKING:
    from ..model.model import Model
    from .sensitivity import SensitivitySymbolic
    from .symbolic import SymbolicModel

__all__ = ["exponent_parameters", "specialised_exponents", "substitution", "flag_line", "dispatch", "lane_dispatch",
           "MAX_SPECIAL_EXPONENT"]

#: Largest ``|v|`` of an exponent the code is specialised to (``x**4`` is three multiplications).
MAX_SPECIAL_EXPONENT = 4


def exponent_parameters(model: Model) -> tuple[str, ...]:
    """Names of the model's parameters that appear in the exponent of a power (``b**e``) of a term's
    rate or an observable, in the model's parameter order.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> from bonemet_ode.compile.exponents import exponent_parameters
    >>> exponent_parameters(bm.models.get("bone_metastasis"))
    ('g11', 'g21', 'g12', 'g22', 'n_mech')
    """
    key = model.structure_key  # the names depend on the expressions only: parsed once per structure
    names = _EXPONENTS.get(key)
    if names is None:
        params = set(model.parameter_names)
        found: set[str] = set()
        for text in [t.rate for t in model.terms] + [o.expr for o in model.observables]:
            for node in ast.walk(parse_expression(text)):
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                    found.update(n.id for n in ast.walk(node.right) if isinstance(n, ast.Name) and n.id in params)
        names = _EXPONENTS[key] = tuple(n for n in model.parameter_names if n in found)
    return names


#: :func:`exponent_parameters` of each model structure seen (``Model.structure_key``).
_EXPONENTS: dict[str, tuple[str, ...]] = {}


def _special(v: float) -> bool:
    return math.isfinite(v) and abs(v) <= MAX_SPECIAL_EXPONENT and float(2 * v).is_integer()


def specialised_exponents(model: Model) -> dict[str, float]:
    """``{name: value}`` of the exponent parameters (:func:`exponent_parameters`) whose value in ``model``
    is an integer or half-integer of at most :data:`MAX_SPECIAL_EXPONENT` in magnitude.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> from bonemet_ode.compile.exponents import specialised_exponents
    >>> specialised_exponents(bm.models.get("bone_metastasis"))
    {'g11': 0.5, 'g21': -0.5, 'g12': 1.0, 'g22': 0.0, 'n_mech': 4.0}
    """
    values = model.parameter_values()
    return {n: float(values[n]) for n in exponent_parameters(model) if _special(float(values[n]))}


# ----------------------------------------------------------------------------- the generated code's two forms
def substitution(sym: SymbolicModel, values: dict[str, float]) -> dict:
    """``{parameter symbol: exact number}`` of ``values`` (names of ``sym``'s parameters), for ``xreplace``."""
    import sympy as sp

    by_name = {s.name: s for s in sym.p}
    return {by_name[n]: sp.Rational(int(2 * v), 2) for n, v in values.items()}


def flag_line(sym: SymbolicModel | SensitivitySymbolic, spec: dict, index: int) -> str:
    """The C statement of ``bm_derive`` setting ``p[index]`` to 1 where every parameter of ``spec``
    (a :func:`substitution`) has its value exactly, else 0.

    Examples
    --------
    >>> import bonemet_ode as bm
    >>> from bonemet_ode.compile.symbolic import SymbolicModel
    >>> sym = SymbolicModel(bm.models.get("bone_metastasis"))
    >>> flag_line(sym, substitution(sym, {"g11": 0.5, "n_mech": 4.0}), 300)
    '    p[300] = (p[75] == 0.5 && p[81] == 4.0) ? 1.0 : 0.0;'
    """
    position = {s: j for j, s in enumerate(sym.p)}
    test = " && ".join(f"p[{position[s]}] == {float(v)!r}" for s, v in spec.items())
    return f"    p[{index}] = ({test}) ? 1.0 : 0.0;"


def dispatch(header: str, name: str, call: str) -> list[str]:
    """C lines of a function ``header`` that calls ``name``'s specialised (``_s``) or generic (``_g``)
    form, as the flag ``p[BM_SPEC]`` (:func:`flag_line`) names."""
    return [header, f"    if (p[BM_SPEC] != 0.0) {name}_s({call});", f"    else {name}_g({call});", "}", ""]


def lane_dispatch(name: str, arrays: str, out: str, count: str) -> list[str]:
    """Lane form of :func:`dispatch` (``name_v`` over ``BM_L`` lanes, ``count`` outputs per lane): each lane
    takes the form its own flag names, so that a member's result is the one it gets alone. All lanes of
    one form: one call; mixed: both forms, blended lane by lane."""
    return [f"static void {name}_v({arrays}) {{",
            "    int ns = 0;",
            "    for (int ln = 0; ln < BM_L; ++ln) ns += p[BM_SPEC*BM_L+ln] != 0.0;",
            f"    if (ns == BM_L) {{ {name}_s_v(y, p, {out}); return; }}",
            f"    {name}_g_v(y, p, {out});",
            "    if (ns == 0) return;",
            f"    double t[({count})*BM_L];",
            f"    {name}_s_v(y, p, t);",
            f"    for (int k = 0; k < ({count}); ++k)",
            "        for (int ln = 0; ln < BM_L; ++ln)",
            f"            if (p[BM_SPEC*BM_L+ln] != 0.0) {out}[k*BM_L+ln] = t[k*BM_L+ln];",
            "}", ""]

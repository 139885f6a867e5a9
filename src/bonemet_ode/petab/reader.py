"""Reading a PEtab v1 problem (YAML and tables) into a :class:`PetabProblem`."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PetabError
from .problem import PetabProblem

__all__ = ["REFUSED", "read_petab"]

#: PEtab features refused by name (nothing is simulated in their place).
REFUSED = {
    "format_version": "PEtab format versions other than 1 and 2",
    "multiple models": "more than one SBML file in a problem",
    "time=inf": "steady-state measurements (time inf)",
    "non-SBML model": "models that are not SBML",
}


def read_petab(yaml_path: str | os.PathLike, *, rtol: float = 1e-8, atol: float = 1e-10) -> PetabProblem:
    """Read a PEtab problem from its YAML file: v1, or v2 where its experiments map onto one simulation each
    (:mod:`bonemet_ode.petab.v2`; other v2 problems are refused by name).

    Parameters
    ----------
    yaml_path : str or path
        The problem's YAML file (``format_version: 1`` or ``2.0.0``).
    rtol, atol : float
        Solver tolerances of every simulation (defaults as in AMICI's reference values).

    Returns
    -------
    PetabProblem
        ``.llh()``, ``.chi2()``, ``.simulations()`` at the nominal parameters, ``.objective(x)`` for fitting.

    Raises
    ------
    PetabError
        On an invalid problem or a refused feature (named in the message).
    UnsupportedFeatureError
        On SBML features the import refuses.

    Examples
    --------
    >>> import bonemet_ode as bm  # doctest: +SKIP
    >>> pp = bm.read_petab("Boehm_JProteomeRes2014.yaml")  # doctest: +SKIP
    >>> round(pp.llh(), 3)  # doctest: +SKIP
    -138.222
    """
    import yaml

    path = Path(yaml_path)
    if not path.is_file():
        raise PetabError(f"PEtab problem file {str(path)!r} does not exist")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 - any YAML error is a bad file
        raise PetabError(f"{str(path)!r} is not a YAML file ({exc})") from None
    if not isinstance(spec, dict):
        raise PetabError(f"{str(path)!r} is not a PEtab problem file (not a YAML mapping)")
    version = str(spec.get("format_version", ""))
    if version.split(".")[0] == "2":
        from .v2 import read_petab_v2

        return read_petab_v2(path, rtol, atol)
    if version not in ("1", "1.0.0"):
        raise PetabError(f"{str(path)!r}: PEtab format_version {version!r} is not supported (only 1 and 2)",
                         "format_version")
    if "problems" not in spec:
        raise PetabError(f"{str(path)!r} is not a PEtab problem file (no 'problems' entry)")
    problems = spec["problems"]
    if len(problems) != 1:
        raise PetabError(f"{str(path)!r}: {len(problems)} problems in one file; only one is supported")
    sbml_files = problems[0].get("sbml_files", [])
    if len(sbml_files) != 1:
        raise PetabError(f"{str(path)!r}: {len(sbml_files)} SBML files; exactly one is supported", "multiple models")
    import petab.v1 as petab

    try:
        tables = petab.Problem.from_yaml(str(path))
    except Exception as exc:  # noqa: BLE001 - the petab library raises many kinds
        raise PetabError(f"the petab library cannot read {str(path)!r}: {exc}") from None
    from .model_import import load_sbml_model

    sbml = load_sbml_model(str(path.parent / sbml_files[0]))
    return PetabProblem(tables, sbml, str(path), rtol=rtol, atol=atol)

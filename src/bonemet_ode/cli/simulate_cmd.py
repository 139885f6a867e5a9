"""``bonemet-ode simulate``: one model, one arm, a tidy CSV."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command and its options to the ``bonemet-ode`` parser (``sub``: its sub-parsers)."""
    p = sub.add_parser(
        "simulate", help="simulate one model under one arm and write a tidy CSV",
        description="Simulate MODEL from day 0 to --days and write a tidy CSV with columns time, variable, value, arm.",
    )
    p.add_argument("model", help="built-in model name (see 'bonemet-ode models'), or your own model: a path to an "
                                 "SBML file (.xml, .sbml) or an Antimony file (.ant, .antimony, .txt); its time "
                                 "unit is read as days")
    p.add_argument("--arm", default=None,
                   help="treatment arm or variant (bone_metastasis: its default and scenario arms, e.g. "
                        "'anti-DKK1 + anti-PD-1', 'ERa-KO'; perf_reference: 'combination'); default control")
    p.add_argument("--days", type=float, required=True, help="simulation length, days")
    p.add_argument("--step", type=float, default=1.0, help="output interval, days (default 1)")
    p.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (default 1e-6)")
    p.add_argument("--atol", type=float, default=1e-9, help="absolute tolerance (default 1e-9)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter (repeatable)")
    p.add_argument("--out", required=True, type=Path, help="output CSV file")
    p.set_defaults(func=run)


def parse_overrides(items: list[str]) -> dict[str, float]:
    """``["a=1", "b=2e-3"]`` -> ``{"a": 1.0, "b": 0.002}``."""
    from ..errors import ParameterError

    out = {}
    for it in items:
        name, sep, value = it.partition("=")
        if not sep:
            raise ParameterError(f"--param {it!r}: expected NAME=VALUE")
        name = name.strip()
        if not name:
            raise ParameterError(f"--param {it!r}: expected NAME=VALUE (the name is empty)")
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(f"--param {it!r}: value {value!r} is not a number") from None
        if not math.isfinite(number):
            raise ParameterError(f"--param {it!r}: value {value!r} is not a finite number")
        out[name] = number
    return out


#: File name endings read as SBML and as Antimony by ``simulate MODEL``.
SBML_SUFFIXES = (".xml", ".sbml")
ANTIMONY_SUFFIXES = (".ant", ".antimony", ".txt")


def load_model(spec: str):
    """A built-in model by name, or a user's model from an SBML or Antimony file (by its ending)."""
    from .. import models
    from ..errors import ModelError, UnknownNameError

    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix not in SBML_SUFFIXES + ANTIMONY_SUFFIXES:
        try:
            return models.get(spec)
        except UnknownNameError as exc:
            raise UnknownNameError(f"{exc}; or give the path of an SBML file ({', '.join(SBML_SUFFIXES)}) or an "
                                   f"Antimony file ({', '.join(ANTIMONY_SUFFIXES)})") from None
    if path.is_dir():
        raise ModelError(f"model {spec!r} is a directory; expected an SBML or Antimony file")
    if not path.is_file():
        raise ModelError(f"model file {spec!r} does not exist")
    if suffix in SBML_SUFFIXES:
        from ..io.sbml_import import read_sbml

        return read_sbml(path)
    from ..io.sbml_import import read_antimony

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"Antimony file {spec!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return read_antimony(text)


def find_arm(model_name: str, arm_name: str | None):
    """The named default arm of a built-in model (control when ``arm_name`` is None)."""
    from ..model.model import unknown_name
    from ..simulate.arm import CONTROL

    if arm_name is None or arm_name == "control":
        return CONTROL
    arms = {}
    if model_name == "bone_metastasis":
        from ..models.bone_metastasis import scenario_arms

        arms = dict(scenario_arms())
    elif model_name == "perf_reference":
        from ..models.reference import perf_reference_combination_arm

        arms = {"combination": perf_reference_combination_arm()}
    if arm_name not in arms:
        raise unknown_name(arm_name, "arm", dict.fromkeys(["control", *arms]))
    return arms[arm_name]


def run(args: argparse.Namespace) -> int:
    """Run ``bonemet-ode simulate`` with the parsed ``args``; return the exit status (0: success)."""
    import numpy as np

    from ..errors import ScheduleError
    from ..simulate import SolverOptions, simulate
    from ._common import check_output_file, progress_of

    check_output_file(args.out)
    if not (np.isfinite(args.days) and args.days > 0):
        raise ScheduleError(f"--days must be a number > 0, got {args.days}")
    if not (np.isfinite(args.step) and args.step > 0):
        raise ScheduleError(f"--step must be a number > 0 days, got {args.step}")
    n = args.days / args.step
    if abs(n - round(n)) > 1e-9 * max(1.0, n):
        raise ScheduleError(f"--step {args.step:g} does not divide --days {args.days:g} into whole steps")
    overrides = parse_overrides(args.param)
    model = load_model(args.model)
    unknown = [n for n in overrides if n not in model.parameter_names]
    if unknown:
        from ..errors import UnknownNameError

        raise UnknownNameError(f"--param: {unknown[0]!r} is not a parameter of {model.name!r}")
    arm = find_arm(args.model, args.arm)
    progress_of(args).note(f"simulating {model.name} ({args.days:g} days, arm {arm.name!r})")
    times = np.linspace(0.0, args.days, int(round(n)) + 1)
    res = simulate(model, arm, days=args.days, times=times, params=overrides,
                   options=SolverOptions(rtol=args.rtol, atol=args.atol))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = len(times) * len(res.names)
    if rows > 2_000_000:  # a tidy CSV row is ~40 bytes: say so before a long write of a large file
        progress_of(args).note(f"writing {rows:,} rows (about {40 * rows / 1e9:.1f} GB) to {args.out}; a larger "
                               "--step writes fewer")
    res.to_frame().to_csv(args.out, index=False, float_format="%.10g")
    print(f"wrote {args.out} ({len(times)} times x {len(res.names)} variables, arm {arm.name!r})")
    return 0

"""The default treatment comparison on bone_metastasis, from Python.

Run: ``python examples/treatment_comparison.py --out out/example``
(the same figure, trajectories and endpoint table as ``bonemet-ode compare --out out/example``:
``treatment_comparison.png``, ``treatment_comparison.csv`` and ``endpoint_table.csv``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import bonemet_ode as bm  # noqa: E402
from bonemet_ode.models.bone_metastasis import default_arms  # noqa: E402
from bonemet_ode.plotting.comparison import treatment_comparison_figure  # noqa: E402
from bonemet_ode.simulate.comparison import compare_arms  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("out/example"))
    ap.add_argument("--days", type=float, default=28.0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model = bm.models.get("bone_metastasis")
    comparison = compare_arms(model, default_arms(), days=args.days)
    table = comparison.endpoint_table(["tumor", "cd8"])
    print(table.round(1).to_string(index=False))
    fig = treatment_comparison_figure(comparison)
    fig.savefig(args.out / "treatment_comparison.png", dpi=150)
    comparison.to_frame().to_csv(args.out / "treatment_comparison.csv", index=False, float_format="%.8g")
    table.to_csv(args.out / "endpoint_table.csv", index=False, float_format="%.6g")
    for name in ("treatment_comparison.png", "treatment_comparison.csv", "endpoint_table.csv"):
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()

"""Combination synergy on two published in-vivo datasets.

* 4T1 GABA + anti-PD-1 (SynergyLMM manuscript data): published analyses call
  the combination antagonistic; the published call uses the highest-single-
  agent (HSA) reference, so HSA is the headline here and Bliss is also shown.
* SW837 rabusertib + irinotecan (invivoSyn data): published as synergistic by
  Bliss independence.

Both are read from ``../shared/data`` next to the repository checkout.  The
script writes, per dataset and metric, a two-panel PNG figure, a text report
and one CSV table of all scores to ``--out`` (default ``out/synergy``).

Run from the repository root::

    PYTHONPATH=src python examples/synergy_real_data.py --out out/synergy
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bonemet_ode.analysis.synergy import SynergyResult, synergy  # noqa: E402
from bonemet_ode.data.readers import DataTable, read_long, read_wide  # noqa: E402
from bonemet_ode.plotting.synergy import plot_synergy  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_gaba(shared: Path) -> DataTable:
    """4T1 GABA + anti-PD-1, long CSV (days 7-19, volumes in mm^3)."""
    return read_long(
        shared / "synergylmm" / "GABA_antiPD1_long.csv",
        subject_col="MouseID", arm_col="Treatment", time_col="Day", value_col="TumVol",
    )


def load_sw837(shared: Path) -> DataTable:
    """SW837, invivoSyn wide CSV; the day -1 baseline is shifted to day 0."""
    return read_wide(shared / "invivosyn" / "SW837.csv", time_shift=1)


ANALYSES = (
    ("GABA_antiPD1", load_gaba, dict(control="Ctrl", drug_a="GABA", drug_b="Anti-PD1",
                                     combination="GABA+anti-PD1"), ("hsa", "bliss"), "antagonism"),
    ("SW837", load_sw837, dict(control="Vehicle", drug_a="Rabusertib", drug_b="Irinotecan",
                               combination="Irinotecan + Rabusertib"), ("bliss", "hsa"), "synergy"),
)


def main(argv: list[str] | None = None) -> int:
    """Run both analyses; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/synergy"), help="output directory")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print("../shared/data not found: this example needs the public datasets described in "
              "../shared/data/README.md")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    tables = []
    for name, loader, arms, metrics, published in ANALYSES:
        data = loader(SHARED)
        print(f"=== {name}  (published call: {published} by {metrics[0].upper()})")
        print(data)
        for metric in metrics:
            result: SynergyResult = synergy(data, **arms, metric=metric, n_boot=args.n_boot, seed=args.seed)
            print()
            print(result.to_text())
            stem = f"{name}_{metric}"
            (args.out / f"{stem}.txt").write_text(result.to_text() + "\n", encoding="utf-8")
            ax1, _ = plot_synergy(result, log_y=True)
            ax1.figure.savefig(args.out / f"{stem}.png", dpi=150)
            plt.close(ax1.figure)
            tables.append(result.table.assign(dataset=name))
        print()
    pd.concat(tables, ignore_index=True).to_csv(args.out / "synergy_scores.csv", index=False)
    print(f"figures, reports and synergy_scores.csv written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

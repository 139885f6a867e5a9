"""``bonemet-ode synergy`` on the bundled invivoSyn SW837 data (MIT; shipped in the package).

Reference: the published invivoSyn analysis calls rabusertib + irinotecan on SW837
synergistic by Bliss; the overall Bliss score (expected − observed combination growth
rate) must be positive, and the command must write its three files.
"""

from __future__ import annotations

import pandas as pd

from bonemet_ode.cli import main
from bonemet_ode.data.datasets import invivosyn_path


def test_synergy_command_on_bundled_sw837(tmp_path, capsys):
    out = tmp_path / "syn"
    argv = ["synergy", invivosyn_path("SW837"), "--wide", "--time-shift", "1", "--control", "Vehicle",
            "--drug-a", "Rabusertib", "--drug-b", "Irinotecan", "--combination", "Irinotecan + Rabusertib",
            "--n-boot", "300", "--out", str(out)]
    assert main(argv) == 0
    for name in ("synergy.csv", "report.txt", "synergy.png"):
        assert (out / name).stat().st_size > 0
    table = pd.read_csv(out / "synergy.csv")
    overall = table[table["scope"] == "overall"]
    assert len(overall) == 1
    assert float(overall["score"].iloc[0]) > 0
    assert "Verdict" in capsys.readouterr().out


def test_synergy_command_names_an_unknown_arm(tmp_path, capsys):
    argv = ["synergy", invivosyn_path("SW837"), "--wide", "--time-shift", "1", "--control", "Vehicle",
            "--drug-a", "NoSuchDrug", "--drug-b", "Irinotecan", "--combination", "Irinotecan + Rabusertib",
            "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    assert "NoSuchDrug" in capsys.readouterr().err


def test_mixed_model_with_ra_says_it_tests_bliss(tmp_path, capsys):
    """--lmm has no response-additivity form: the report says the mixed model tests Bliss, not RA."""
    out = tmp_path / "syn"
    argv = ["synergy", invivosyn_path("SW837"), "--wide", "--time-shift", "1", "--control", "Vehicle",
            "--drug-a", "Rabusertib", "--drug-b", "Irinotecan", "--combination", "Irinotecan + Rabusertib",
            "--metric", "ra", "--lmm", "--n-boot", "100", "--out", str(out)]
    assert main(argv) == 0
    report = (out / "report.txt").read_text()
    assert "Mixed-model combination test (SynergyLMM-style): Bliss independence" in report
    assert "--metric ra has no mixed-model form" in report


def test_synergy_command_speaks_in_options(tmp_path, capsys):
    """CR1197 holds two zero volumes: the warning and the error name --lloq (not the Python keyword lloq=) on one
    line each; the wide file read without --wide is told to add it, and its columns are named by option."""
    argv = ["synergy", invivosyn_path("CR1197"), "--wide", "--control", "Vehicle", "--drug-a", "Cetuximab",
            "--drug-b", "Palbociclib", "--combination", "Palbociclib+Cetuximab", "--out", str(tmp_path / "s")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("bonemet-ode synergy: warning: ")
    assert lines[1].startswith("bonemet-ode synergy: error: ")
    assert all("--lloq <detection limit>" in line and "lloq=" not in line for line in lines)
    assert main([*argv[:1], "--lloq", "1", *argv[1:]]) == 0  # as the message says
    capsys.readouterr()
    assert main([a for a in argv if a != "--wide"]) == 2
    err = capsys.readouterr().err
    assert "add --wide" in err and "'subject' (--subject-col)" in err

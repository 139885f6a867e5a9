"""Options that the chosen mode of a command would not read are refused by name, never dropped.

Each case is a command line that ran before this check with the named option silently ignored
(``calibrate --ensemble 5 --method evolution`` sampled the ensemble by its chains; ``outcomes
--explain --seed 3`` printed the saved table; ``petab --llh --starts 5`` evaluated once).  Every
refusal comes before any model is compiled or file read, so the data paths below need not exist.
"""

from __future__ import annotations

import pytest

from bonemet_ode.cli import main

REFUSED = [
    (["calibrate", "--ensemble", "5", "--method", "evolution"], "--method"),
    (["calibrate", "--ensemble", "5", "--starts", "8", "--safety", "0.1"], "--starts, --safety"),
    (["calibrate", "--chains", "8"], "--chains"),
    (["calibrate", "--no-resume"], "--no-resume"),
    (["calibrate", "--generations", "5"], "--generations"),
    (["calibrate", "--method", "evolution", "--max-nfev", "5"], "--max-nfev"),
    (["compare", "--members", "5"], "--members"),
    (["compare", "--figure", "ER", "--arms", "anti-PD-1"], "--arms"),
    (["outcomes", "--compute"], "--compute"),
    (["outcomes", "--prior-points", "8"], "--prior-points"),
    (["outcomes", "--draws", "5"], "--draws"),
    (["outcomes", "--jitter", "r_T"], "--jitter"),
    (["outcomes", "--explain", "--json"], "--json"),
    (["outcomes", "--explain", "--compute", "--params", "p.json"], "--params"),
    (["outcomes", "--explain", "--seed", "3"], "--seed"),
    (["outcomes", "--explain", "--left-out", "3"], "--left-out"),
    (["outcomes", "--explain", "saved.json", "--compute"], "'saved.json'"),
    (["petab", "p.yaml", "--llh", "--starts", "5"], "--starts"),
    (["petab", "p.yaml", "--llh", "--no-profiles"], "--no-profiles"),
    (["petab", "p.yaml", "--llh", "--json", "--out", "x"], "--out"),
    (["petab", "p.yaml", "--fit", "--json"], "--json"),
    (["fit", "d.csv", "--model", "gompertz", "--wide", "--time-col", "t"], "--time-col"),
    (["synergy", "d.csv", "--control", "c", "--combination", "ab", "--wide", "--value-col", "v"], "--value-col"),
]


@pytest.mark.parametrize("argv, named", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_an_option_without_effect_is_refused_by_name(argv, named, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    needs_out = argv[0] in ("calibrate", "compare", "fit", "synergy") and "--out" not in argv
    out = ["--out", str(tmp_path / ("o.json" if argv[0] == "calibrate" else "o"))] if needs_out else []
    assert main([*argv, *out, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert named in err, err
    assert "would have no effect" in err or "give one of them" in err
    assert not list(tmp_path.glob("o*")), "refused before any output was written"


def test_an_option_at_its_default_value_is_not_refused(tmp_path, capsys):
    """``--method lsq`` (the default) with ``--ensemble`` changes nothing, so it passes the check; the
    ensemble then fails on the next validation (``--chains 0``), which shows the check let it through."""
    assert main(["calibrate", "--ensemble", "5", "--method", "lsq", "--chains", "0", "--quiet",
                 "--out", str(tmp_path / "e.json")]) == 2
    assert "--chains must be an integer >= 1" in capsys.readouterr().err


def test_figures_take_the_span_only_when_given(tmp_path, monkeypatch):
    """``compare --figure all --days N`` gives every source figure the span (it used to drop ``--days``);
    without ``--days`` every figure keeps its own default (a single figure used to get the comparison's 28)."""
    from bonemet_ode.models.bone_metastasis import figures

    seen = {}
    for key in ("er", "dkk1", "tam", "srs"):
        def fake(out_dir, *, params=None, days=None, key=key):
            seen[key] = days
            return tmp_path / f"{key}.png"
        monkeypatch.setattr(figures, f"figure_{key}", fake)
    assert main(["compare", "--figure", "all", "--days", "9", "--quiet", "--out", str(tmp_path / "f")]) == 0
    assert seen == {"er": 9.0, "dkk1": 9.0, "tam": 9.0, "srs": 9.0}
    # without --days each figure keeps its own span (42 days), not the comparison's 28
    seen.clear()
    assert main(["compare", "--figure", "all", "--quiet", "--out", str(tmp_path / "f")]) == 0
    assert seen == {"er": None, "dkk1": None, "tam": None, "srs": None}
    assert main(["compare", "--figure", "TAM", "--quiet", "--out", str(tmp_path / "f")]) == 0
    assert seen["tam"] is None


def test_a_reader_that_closes_stdout_early_ends_the_command_quietly():
    """``bonemet-ode models --parameters bone_metastasis | head -1``: no 'unexpected error' on stderr, the
    status of a Unix tool ended by SIGPIPE (141), not 2 (the parameter table is ~40 KB: the pipe is closed before
    the command writes, so every write fails)."""
    import subprocess
    import sys

    code = "import sys; from bonemet_ode.cli import main; sys.exit(main(['models', '--parameters', 'bone_metastasis']))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away at once
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_compare_takes_scenario_arms_and_misspelt_arms_get_suggestions(tmp_path, capsys):
    """compare --arms accepts the model's scenario arms (ERa-KO), control first and once; a misspelt arm gets a
    did-you-mean and a list naming control once (simulate and compare alike); a run shorter than the first dose
    says so."""
    import pandas as pd

    import bonemet_ode as bm
    from bonemet_ode.models.bone_metastasis import scenario_arms

    out = tmp_path / "c"
    assert main(["compare", "--arms", "ERa-KO", "control", "ERa-KO", "--days", "10", "--out", str(out)]) == 0
    table = pd.read_csv(out / "endpoint_table.csv")
    assert list(table["arm"]) == ["control", "ERa-KO"]
    model = bm.models.get("bone_metastasis")
    ko = bm.simulate(model, dict(scenario_arms())["ERa-KO"], days=10).final("tumor")
    assert table.loc[1, "tumor"] == pytest.approx(ko, rel=1e-5)  # CSV: 6 digits
    capsys.readouterr()
    for argv in (["compare", "--arms", "anti-DKK", "--out", str(out)],
                 ["simulate", "bone_metastasis", "--days", "5", "--arm", "anti-DKK", "--out", str(tmp_path / "s.csv")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "did you mean 'anti-DKK1'" in err and err.count("control") == 1
    assert main(["compare", "--days", "3", "--out", str(out)]) == 0
    assert "treatment from day 7: after this run, so no arm was treated yet" in capsys.readouterr().out

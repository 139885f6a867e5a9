"""``bonemet-ode simulate``: the CSV it writes against an independent solve, and its errors.

Reference: scipy ``solve_ivp(method="Radau", rtol=1e-12, atol=1e-6)`` on a hand-written
numpy RHS of Kuznetsov et al. (1994) with the BIOMD0000000762 values typed in below.
Tolerance: every output of the CLI's default run (rtol 1e-6, atol 1e-9) within 1e-5
relative (measured: ~2e-6).  The CSV holds 10 significant digits, far below that.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

import bonemet_ode as bm
from bonemet_ode.cli import main

S, P, G, M, D, A, B, N = 1.3e4, 0.1245, 2.019e7, 3.422e-10, 0.0412, 0.18, 2.0e-9, 1.101e-7


def kuznetsov_rhs(_t, y):
    e, t = y
    return [S + P * e * t / (G + t) - M * e * t - D * e, A * t * (1.0 - B * t) - N * e * t]


@pytest.fixture(scope="module")
def radau_600():
    times = np.arange(0.0, 601.0)
    sol = solve_ivp(kuznetsov_rhs, (0.0, 600.0), [3.2e5, 5e6], method="Radau", rtol=1e-12, atol=1e-6,
                    t_eval=times)
    assert sol.success
    return times, sol.y.T


def read_tidy(path) -> pd.DataFrame:
    df = pd.read_csv(path)
    assert list(df.columns) == ["time", "variable", "value", "arm"]
    return df


def wide(df: pd.DataFrame, names) -> np.ndarray:
    return np.column_stack([df.loc[df["variable"] == n, "value"].to_numpy() for n in names])


def check_against_reference(path, radau_600):
    times, ref = radau_600
    df = read_tidy(path)
    assert set(df["variable"]) == {"E", "T"} and set(df["arm"]) == {"control"}
    np.testing.assert_array_equal(df.loc[df["variable"] == "E", "time"].to_numpy(), times)
    np.testing.assert_allclose(wide(df, ["E", "T"]), ref, rtol=1e-5, atol=0)


def test_cli_in_process_matches_radau(tmp_path, radau_600, capsys):
    out = tmp_path / "k.csv"
    assert main(["simulate", "kuznetsov1994", "--days", "600", "--out", str(out)]) == 0
    assert "k.csv" in capsys.readouterr().out
    check_against_reference(out, radau_600)


def test_cli_subprocess_matches_radau(tmp_path, radau_600):
    out = tmp_path / "k.csv"
    exe = shutil.which("bonemet-ode")
    cmd = [exe] if exe else [sys.executable, "-m", "bonemet_ode.cli"]
    proc = subprocess.run(cmd + ["simulate", "kuznetsov1994", "--days", "600", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    check_against_reference(out, radau_600)


def test_cli_options_reach_the_simulation(tmp_path, arms_for):
    from bonemet_ode.models.bone_metastasis import default_arms

    arm = default_arms()[-1]
    out = tmp_path / "b.csv"
    argv = ["simulate", "bone_metastasis", "--arm", arm.name, "--days", "21", "--step", "0.5",
            "--rtol", "1e-8", "--out", str(out)]
    assert main(argv) == 0
    model = bm.models.get("bone_metastasis")
    api = bm.simulate(model, arm, times=np.linspace(0.0, 21.0, 43), rtol=1e-8)
    df = read_tidy(out)
    assert set(df["arm"]) == {arm.name}
    np.testing.assert_allclose(wide(df, api.names), np.column_stack([api[n] for n in api.names]), rtol=1e-9,
                               atol=1e-300)


def test_cli_parameter_override(tmp_path):
    out = tmp_path / "k.csv"
    assert main(["simulate", "kuznetsov1994", "--days", "30", "--param", "a=0.2", "--param", "n=2e-7",
                 "--out", str(out)]) == 0
    api = bm.simulate(bm.models.get("kuznetsov1994"), times=np.arange(31.0), params={"a": 0.2, "n": 2e-7})
    np.testing.assert_allclose(wide(read_tidy(out), ["E", "T"]), api.states, rtol=1e-9)


@pytest.mark.parametrize("argv, needle", [
    (["simulate", "no_such_model", "--days", "5"], "'no_such_model'"),
    (["simulate", "kuznetsov1994", "--days", "5", "--arm", "no_such_arm"], "'no_such_arm'"),
    (["simulate", "kuznetsov1994", "--days", "5", "--param", "a=-1"], "'a'"),
    (["simulate", "kuznetsov1994", "--days", "5", "--param", "alpha=1"], "'alpha'"),
    (["simulate", "kuznetsov1994", "--days", "5", "--param", "a"], "NAME=VALUE"),
    (["simulate", "kuznetsov1994", "--days", "5", "--param", "a=fast"], "'fast'"),
    (["simulate", "kuznetsov1994", "--days", "5", "--rtol", "0"], "rtol"),
])
def test_cli_errors_name_the_bad_item(tmp_path, capsys, argv, needle):
    out = tmp_path / "x.csv"
    assert main(argv + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error" in err and needle in err, err
    assert not out.exists()


@pytest.mark.parametrize("extra", [["--step", "0"], ["--step", "-1"], ["--days", "-5"], ["--days", "0"]])
def test_cli_rejects_nonpositive_days_and_step(tmp_path, capsys, extra):
    days = [] if "--days" in extra else ["--days", "5"]
    argv = ["simulate", "kuznetsov1994"] + days + extra + ["--out", str(tmp_path / "x.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("step" in err) if "--step" in extra else ("days" in err)


def test_cli_models_lists_the_builtins(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("kuznetsov1994", "pk_one_compartment", "perf_reference", "bone_metastasis"):
        assert name in out


def test_simulate_takes_a_users_sbml_or_antimony_file(tmp_path, capsys):
    """``simulate model.ant`` / ``model.xml``: S' = k S from S = 1 is exp(k t) at every output day; a missing
    file, a folder and an unknown name that is no file are refused by name."""
    pytest.importorskip("antimony")
    from bonemet_ode.io.sbml_import import antimony_to_sbml

    text = "J0: -> S; k*S; S = 1; k = 0.1"
    (tmp_path / "growth.ant").write_text(text)
    (tmp_path / "growth.xml").write_text(antimony_to_sbml(text))
    for name in ("growth.ant", "growth.xml"):
        out = tmp_path / f"{name}.csv"
        assert main(["simulate", str(tmp_path / name), "--days", "10", "--rtol", "1e-10", "--atol", "1e-12",
                     "--out", str(out)]) == 0
        df = pd.read_csv(out)
        s = df[df["variable"] == "S"].sort_values("time")
        np.testing.assert_allclose(s["time"], np.arange(11.0))
        np.testing.assert_allclose(s["value"], np.exp(0.1 * s["time"]), rtol=1e-8)
    capsys.readouterr()
    for spec, message in ((str(tmp_path / "nope.xml"), "does not exist"), (str(tmp_path), "unknown model"),
                          ("gompertzz", "or give the path of an SBML file")):
        assert main(["simulate", spec, "--days", "1", "--out", str(tmp_path / "x.csv")]) == 2
        assert message in capsys.readouterr().err
    (tmp_path / "dir.xml").mkdir()
    assert main(["simulate", str(tmp_path / "dir.xml"), "--days", "1", "--out", str(tmp_path / "x.csv")]) == 2
    assert "is a directory" in capsys.readouterr().err

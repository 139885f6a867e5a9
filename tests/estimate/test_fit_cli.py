"""``bonemet-ode fit`` end to end on small synthetic files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fit_helpers import gompertz_curve

from bonemet_ode.cli import main
from bonemet_ode.estimate import SubjectFits

T = np.arange(3.0, 25.0, 3.0)


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    rng = np.random.default_rng(61)
    rows = []
    for i, (a, b) in enumerate(((0.8, 0.09), (0.6, 0.07), (0.7, 0.08))):
        y = gompertz_curve(T, a, b) * (1 + 0.05 * rng.standard_normal(T.size))
        rows += [{"ID": f"m{i}", "Time": t, "Observation": v} for t, v in zip(T, y)]
    path = tmp_path_factory.mktemp("data") / "vol.txt"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def test_fit_command_writes_estimates_report_and_figures(long_file, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["fit", str(long_file), "--model", "gompertz", "--subject-col", "ID", "--time-col", "Time",
                 "--value-col", "Observation", "--starts", "1", "--out", str(out)])
    assert code == 0
    est = pd.read_csv(out / "estimates.csv")
    assert list(est["subject"]) == ["m0", "m1", "m2"]
    for col in ("alpha", "alpha_se", "beta", "beta_se", "noise_b", "noise_b_se", "V0"):
        assert col in est.columns
    assert est["success"].all() and (est["status"] == "converged").all()
    assert (est["V0"] == 1.0).all() and est["V0_se"].isna().all()  # V0 is given (fixed) by default
    assert est.loc[0, "alpha"] == pytest.approx(0.8, rel=0.1)
    report = (out / "report.txt").read_text()
    assert "3/3 converged" in report and "alpha" in report
    for fig in ("fits.png", "subjects.png", "residuals.png", "parameters.png"):
        assert (out / fig).stat().st_size > 1000, fig
    assert len(SubjectFits.load(out / "fits.json").fits) == 3
    assert "3/3 subjects converged" in capsys.readouterr().out


def test_fit_command_wide_layout_and_options(tmp_path):
    wide = pd.DataFrame({"Treatment": ["ctrl", "ctrl"], "Mouse": ["a", "b"]})
    for t in T:
        wide[f"{t:g}"] = [float(np.exp(0.2 * t)), float(np.exp(0.22 * t)) * 1.02]
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    out = tmp_path / "o"
    code = main(["fit", str(path), "--wide", "--model", "exponential", "--noise", "lognormal", "--estimate", "V0",
                 "--starts", "1", "--out", str(out)])
    assert code == 0
    est = pd.read_csv(out / "estimates.csv")
    assert list(est["arm"]) == ["ctrl", "ctrl"]
    assert est["V0_se"].notna().all() and "noise_sigma" in est.columns


def test_fit_command_errors(long_file, tmp_path, capsys):
    assert main(["fit", str(long_file), "--model", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    code = main(["fit", str(long_file), "--model", "gompertz", "--subject-col", "ID", "--time-col", "Time",
                 "--value-col", "Observation", "--fix", "zeta=1", "--out", str(tmp_path)])
    assert code == 2
    assert "'zeta'" in capsys.readouterr().err

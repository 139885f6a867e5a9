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


# ---------------------------------------------------------------------------------------------- refusals
def _error_lines(capsys) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]


COLS = ["--subject-col", "ID", "--time-col", "Time", "--value-col", "Observation"]


@pytest.mark.parametrize("extra, named", [
    (["--noise", "poisson"], "--noise 'poisson': unknown noise model"),
    (["--fix", "alpha=-1"], "--fix 'alpha=-1': value -1 is outside the bounds of 'alpha'"),
    (["--fix", "alpah=1"], "unknown parameter 'alpah'; did you mean 'alpha'?"),
    (["--estimate", "V00"], "--estimate 'V00' (model 'gompertz'): unknown parameter 'V00'; did you mean 'V0'?"),
    (["--estimate", "V0", "--fix", "V0=2"], "--fix 'V0=2': 'V0' is also given to --estimate"),
    (["--fix", "alpha=1", "--fix", "alpha=2"], "'alpha' is fixed more than once"),
])
def test_configuration_errors_are_refused_before_any_fit(long_file, tmp_path, capsys, extra, named):
    """One error line naming the item and exit status 2, nothing written: an unknown noise model or a fixed
    value outside the bounds used to fail every subject (exit 1, reason only in estimates.csv), and a mistyped
    --estimate was ignored."""
    out = tmp_path / "o"
    code = main(["fit", str(long_file), "--model", "gompertz", *COLS, *extra, "--out", str(out)])
    errors = _error_lines(capsys)
    assert code == 2 and len(errors) == 1 and named in errors[0], errors
    assert not (out / "estimates.csv").exists() and not (out / "report.txt").exists()


def test_bad_data_paths_get_the_readers_clear_errors(tmp_path, capsys):
    """An empty file is 'empty' (it was 'Could not determine delimiter', an unexpected error), a directory is a
    directory (it was 'does not exist'), and column errors name the file, never an internal column."""
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "adir").mkdir()
    (tmp_path / "cols.csv").write_text("mouse,day,vol\nm1,0,1\nm1,3,2\n")
    cases = [("empty.csv", "file '" + str(tmp_path / "empty.csv") + "' is empty"),
             ("adir", "'" + str(tmp_path / "adir") + "' is a directory"),
             ("cols.csv", "cols.csv: missing column(s) 'subject' (--subject-col)")]
    for name, needle in cases:
        code = main(["fit", str(tmp_path / name), "--model", "gompertz", "--out", str(tmp_path / "o")])
        errors = _error_lines(capsys)
        assert code == 2 and len(errors) == 1 and needle in errors[0], errors
        assert "unexpected" not in errors[0] and "<DataFrame>" not in errors[0] and "__" not in errors[0]
    main(["fit", str(tmp_path / "cols.csv"), "--model", "gompertz", "--out", str(tmp_path / "o")])
    assert "available columns are ['mouse', 'day', 'vol']" in _error_lines(capsys)[0]


def test_report_starts_with_the_rerunnable_command_and_lists_dropped_rows(tmp_path, monkeypatch, capsys):
    """The first line of report.txt is the whole command (column options, --estimate, the data path with its
    folder, shell-quoted), so running it again reproduces the fit; rows dropped for a missing cell are listed."""
    import shlex
    import warnings

    from bonemet_ode.errors import BonemetWarning

    rows = ["ID,Time,Observation"]
    for i, (a, b) in enumerate(((0.8, 0.09), (0.6, 0.07))):
        rows += [f"m{i},{t:g},{v:.6g}" for t, v in zip(T, gompertz_curve(T, a, b, 2.0) * (1 + 0.03 * np.cos(T + i)))]
    rows.insert(4, "m0,4.5,NA")  # data row 4, line 5 of the file
    (tmp_path / "my data").mkdir()
    (tmp_path / "my data" / "vol.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "my data/vol.csv", "--model", "gompertz", *COLS, "--estimate", "V0", "--starts", "1",
            "--seed", "3", "--out", "out dir"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BonemetWarning)
        assert main(argv) == 0
        report = (tmp_path / "out dir" / "report.txt").read_text().splitlines()
        assert report[0] == ("bonemet-ode fit 'my data/vol.csv' --model gompertz --subject-col ID --time-col Time "
                             "--value-col Observation --estimate V0 --starts 1 --seed 3 --out 'out dir'")
        assert "  row 4, line 5: subject 'm0', time '4.5': Observation is 'NA' (a missing-value marker)" in report
        assert "left out: 1 row(s) with a missing cell:" in report
        first = pd.read_csv(tmp_path / "out dir" / "estimates.csv")
        rerun = shlex.split(report[0])
        assert rerun[:2] == ["bonemet-ode", "fit"]
        assert main(rerun[1:-1] + ["again"]) == 0
    again = pd.read_csv(tmp_path / "again" / "estimates.csv")
    pd.testing.assert_frame_equal(first, again)
    assert first["V0_se"].notna().all()  # --estimate V0 was honoured


def test_report_of_a_run_where_no_subject_could_be_fitted():
    """No fitted subject: the report says so instead of 'total NLL 0 AIC 0'."""
    from bonemet_ode.estimate import fit_report

    text = fit_report(SubjectFits(model="gompertz", fits={}, failed={"m0": "too few points"}))
    assert "total NLL 0" not in text and "AIC 0" not in text
    assert "no subject could be fitted" in text and "failed: m0: too few points" in text


def test_missing_columns_are_named_by_their_options(tmp_path, capsys):
    """The reader names a missing column by its Python keyword (subject_col); the command line says --subject-col."""
    from bonemet_ode.cli import main

    data = tmp_path / "d.csv"
    data.write_text("ID,Time,Obs\na,0,1\na,1,2\n")
    assert main(["fit", str(data), "--model", "gompertz", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'subject' (--subject-col), 'time' (--time-col), 'value' (--value-col)" in err
    assert "_col" not in err

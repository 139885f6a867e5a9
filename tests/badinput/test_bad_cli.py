"""Bad command lines: one line on stderr naming the bad item, exit status 2, never a traceback."""

from __future__ import annotations

import json

import pytest

from bonemet_ode.cli import main


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    err = capsys.readouterr().err
    return code, err


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "text.json").write_text('{"a": "x"}')
    (tmp_path / "nan.json").write_text('{"a": NaN}')
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "bad.json").write_text("{oops")
    (tmp_path / "unknown.json").write_text('{"no_such_parameter": 1.0}')
    (tmp_path / "afile").write_text("x")
    (tmp_path / "data.csv").write_text("subject,time,value\ns1,-1,10\ns1,5,20\n")
    return tmp_path


CASES = [
    (["simulate", "gompertz", "--days", "5", "--param", "alpha=abc", "--out", "{t}/o.csv"], "'abc'"),
    (["simulate", "gompertz", "--days", "5", "--param", "alpha=nan", "--out", "{t}/o.csv"], "finite"),
    (["simulate", "gompertz", "--days", "5", "--param", "alpha", "--out", "{t}/o.csv"], "NAME=VALUE"),
    (["simulate", "gompertz", "--days", "5", "--param", "zzz=1", "--out", "{t}/o.csv"], "'zzz'"),
    (["simulate", "gompertz", "--days", "5", "--out", "{t}/afile/o.csv"], "afile"),
    (["simulate", "gompertz", "--days", "5", "--out", "{t}"], "is a folder"),
    (["sbml-test", "{t}", "--out", "{t}"], "is a folder"),
    (["simulate", "gompertz", "--days", "-5", "--out", "{t}/o.csv"], "--days"),
    (["simulate", "gompertz", "--days", "5", "--step", "0", "--out", "{t}/o.csv"], "--step"),
    (["simulate", "no_such_model", "--days", "5", "--out", "{t}/o.csv"], "no_such_model"),
    (["simulate", "gompertz", "--days", "five", "--out", "{t}/o.csv"], "--days"),
    (["simulate", "gompertz", "--out", "{t}/o.csv"], "--days"),
    (["simulate", "gompertz", "--days", "5", "--arm", "nope", "--out", "{t}/o.csv"], "'nope'"),
    (["compare", "--params", "{t}/text.json", "--out", "{t}/c"], "'a'"),
    (["compare", "--params", "{t}/nan.json", "--out", "{t}/c"], "finite"),
    (["compare", "--params", "{t}/list.json", "--out", "{t}/c"], "JSON object"),
    (["compare", "--params", "{t}/bad.json", "--out", "{t}/c"], "bad.json"),
    (["compare", "--params", "{t}/missing.json", "--out", "{t}/c"], "missing.json"),
    (["compare", "--params", "{t}/unknown.json", "--out", "{t}/c"], "no_such_parameter"),
    (["compare", "--out", "{t}/afile"], "is a file"),
    (["compare", "--days", "0", "--out", "{t}/c"], "--days"),
    (["compare", "--figure", "XYZ", "--out", "{t}/c"], "--figure"),
    (["outcomes", "--params", "{t}/text.json"], "'a'"),
    (["outcomes", "--params", "{t}/unknown.json"], "no_such_parameter"),
    (["calibrate", "--out", "{t}/afile/x.json"], "afile"),
    (["calibrate", "--out", "{t}/x.json", "--starts", "-1"], "--starts"),
    (["calibrate", "--out", "{t}/x.json", "--safety", "nan"], "--safety"),
    (["calibrate", "--out", "{t}/x.json", "--free", "nope"], "'nope'"),
    (["calibrate", "--out", "{t}/x.json", "--params", "{t}/nan.json"], "finite"),
    (["calibrate"], "--out"),
    (["fit", "{t}/data.csv", "--model", "gompertz", "--out", "{t}/f"], "--time-shift"),
    (["fit", "{t}/nofile.csv", "--model", "gompertz", "--out", "{t}/f"], "nofile.csv"),
    (["fit", "{t}/data.csv", "--model", "nope", "--time-shift", "1", "--out", "{t}/f"], "nope"),
    (["fit", "{t}/data.csv", "--model", "gompertz", "--starts", "0", "--out", "{t}/f"], "--starts"),
    (["fit", "{t}/data.csv", "--model", "gompertz", "--out", "{t}/afile"], "is a file"),
    (["fit", "{t}/data.csv", "--model", "gompertz", "--time-shift", "inf", "--out", "{t}/f"], "--time-shift"),
    (["fit", "{t}/data.csv", "--model", "gompertz", "--fix", "nope=1", "--time-shift", "1", "--out", "{t}/f"],
     "'nope'"),
    (["fit", "{t}/data.csv", "--model", "gompertz", "--fix", "alpha=x", "--time-shift", "1", "--out", "{t}/f"],
     "'x'"),
    (["synergy", "{t}/data.csv", "--control", "a", "--drug-a", "b", "--drug-b", "c", "--combination", "d",
      "--out", "{t}/afile"], "is a file"),
    (["models", "--parameters", "nope"], "nope"),
    (["nosuchcommand"], "invalid choice"),
]


@pytest.mark.parametrize("argv, needle", CASES)
def test_bad_command_lines(argv, needle, files, capsys):
    import os

    argv = [a.replace("{t}", str(files)) for a in argv]
    env_before = dict(os.environ)
    code, err = run(argv, capsys)
    assert code == 2, err
    assert dict(os.environ) == env_before  # a command run in-process leaves the environment as it was
    lines = [ln for ln in err.splitlines() if ln.strip() and ln.startswith("bonemet-ode") is not False]
    error_lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(error_lines) == 1, err
    assert "Traceback" not in err
    assert needle in error_lines[0], err
    assert lines


def test_debug_shows_the_traceback(files, capsys):
    with pytest.raises(Exception, match="abc"):
        main(["simulate", "gompertz", "--days", "5", "--param", "alpha=abc", "--out", str(files / "o.csv"),
              "--debug"])


def test_calibrate_bad_out_is_refused_before_the_work(files, capsys):
    import time

    start = time.perf_counter()
    code, err = run(["calibrate", "--out", str(files / "afile" / "x.json")], capsys)
    assert code == 2 and time.perf_counter() - start < 5.0 and "afile" in err


def test_saved_calibration_with_nan_is_refused_by_outcomes(files, capsys):
    doc = {"format": "bonemet_ode.calibration", "version": 2, "payload": {"parameters": {"x": "nan"}}}
    (files / "cal.json").write_text(json.dumps(doc))
    code, err = run(["outcomes", "--params", str(files / "cal.json")], capsys)
    assert code == 2 and "payload.parameters.x" in err

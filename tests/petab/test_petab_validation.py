"""Problems whose tables are wrong in ways the petab library lets through: each is refused, naming the table entry
(parameter, measurement row and observable, file), instead of giving NaN, a silently changed value, or an
error that names no row.  Variants of Boehm_JProteomeRes2014 (one table edited) in tmp_path."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from petab_data import BENCHMARK, SUITE_V2, needs_benchmarks, needs_petab_suite_v2, write_problem

import bonemet_ode as bm
from bonemet_ode.errors import PetabError

BOEHM = "Boehm_JProteomeRes2014"
MEAS = f"measurementData_{BOEHM}.tsv"
PARS = f"parameters_{BOEHM}.tsv"
OBS = f"observables_{BOEHM}.tsv"
ROW4 = f"measurement row 4 of {MEAS} (data rows counted from 1; line 5 of the file)"


def _boehm(tmp_path: Path, table: str | None = None, edit=None) -> Path:
    """A copy of Boehm in ``tmp_path`` with ``edit`` (a function of the table read as text cells) applied to
    ``table``; the YAML file's path."""
    dst = tmp_path / BOEHM
    shutil.copytree(BENCHMARK / BOEHM, dst)
    if table is not None:
        df = pd.read_csv(dst / table, sep="\t", dtype=str, keep_default_na=False)
        edit(df)
        df.to_csv(dst / table, sep="\t", index=False)
    return dst / f"{BOEHM}.yaml"


def _set(col: str, row: int, value: str):
    def edit(df):
        df.loc[row, col] = value
    return edit


# ---------------------------------------------------------------- parameters nothing reads
@needs_benchmarks
def test_a_parameter_row_that_nothing_reads_is_refused_with_a_did_you_mean(tmp_path):
    """The typo used to be estimated without effect while Epo_degradation_BaF3 kept the model's value."""
    y = _boehm(tmp_path, PARS, lambda df: df.replace({"Epo_degradation_BaF3": "Epo_degradation_BaF"}, inplace=True))
    with pytest.raises(PetabError) as err:
        bm.read_petab(y)
    msg = str(err.value)
    assert err.value.feature == "extraneous parameter"
    assert "'Epo_degradation_BaF' is not read by anything in the problem" in msg
    assert "did you mean 'Epo_degradation_BaF3'?" in msg
    for place in ("SBML model's ids", "observable and noise formulas", "observableParameters / noiseParameters",
                  "condition table"):
        assert place in msg


def _small(tmp_path: Path, extra_parameters: str = "", conditions: str = "conditionId\tk\nc0\t1\n") -> Path:
    """A one-state decay problem whose noise is the parameter ``sd`` (given in the measurement table only)."""
    return write_problem(
        tmp_path, "model m\n x' = -k*x\n x = 2; k = 1\nend",
        conditions,
        "observableId\tsimulationConditionId\ttime\tmeasurement\tnoiseParameters\n"
        "obs_x\tc0\t0\t2.0\tsd\nobs_x\tc0\t1\t0.8\tsd\n",
        "observableId\tobservableFormula\tnoiseFormula\nobs_x\tscale * x\tnoiseParameter1_obs_x\n",
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n"
        "scale\tlin\t0.1\t10\t1\t1\nsd\tlin\t0.01\t10\t0.5\t1\n" + extra_parameters)


def test_parameters_read_only_by_the_tables_are_kept_and_one_nothing_reads_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    pp = bm.read_petab(_small(tmp_path / "a"))  # 'scale' only in a formula, 'sd' only in noiseParameters
    assert pp.free == ("scale", "sd")
    (tmp_path / "b").mkdir()  # a parameter only a condition-table cell reads
    pp = bm.read_petab(_small(tmp_path / "b", "k_c\tlin\t0.1\t10\t1\t0\n", "conditionId\tk\nc0\tk_c\n"))
    assert "k_c" in pp.parameter_ids
    (tmp_path / "c").mkdir()
    with pytest.raises(PetabError, match=re.escape("'unused_q' is not read by anything")) as err:
        bm.read_petab(_small(tmp_path / "c", "unused_q\tlin\t0.1\t10\t1\t1\n"))
    assert "did you mean" not in str(err.value)


# ---------------------------------------------------------------- noise parameters and transformations
@needs_benchmarks
@pytest.mark.parametrize("value", ["0", "-1", "inf"])
def test_a_numeric_noise_parameter_that_is_not_positive_is_refused_by_row(tmp_path, value):
    """-1 used to be squared (llh -144.56), 0 gave llh NaN."""
    y = _boehm(tmp_path, MEAS, _set("noiseParameters", 3, value))
    with pytest.raises(PetabError) as err:
        bm.read_petab(y)
    msg = str(err.value)
    assert msg.startswith(f"{ROW4}, observable 'pSTAT5A_rel': noiseParameters gives the noise parameter")
    assert "sigma must be a positive finite number" in msg


@needs_benchmarks
def test_a_noise_formula_that_is_not_positive_at_a_data_point_is_refused(tmp_path):
    """sigma = sd - 10 < 0 used to be squared into a finite llh."""
    def edit(df):
        df.loc[df["observableId"] == "pSTAT5A_rel", "noiseFormula"] = "noiseParameter1_pSTAT5A_rel - 10"
    pp = bm.read_petab(_boehm(tmp_path, OBS, edit))
    with pytest.raises(PetabError, match=r"observable 'pSTAT5A_rel' at time 0: the noise formula "
                                         r"'noiseParameter1_pSTAT5A_rel - 10' gives sigma = -6\.\d+") as err:
        pp.llh()
    assert str(err.value).startswith(f"measurement row 1 of {MEAS}")
    assert "(and 15 more rows)" in str(err.value)  # the observable's 16 measurements
    assert pp.objective(pp.x_nominal, gradient=False) == math.inf  # an optimiser sees no likelihood there
    ev = pp.evaluate(pp.x_nominal, gradient=True)
    assert ev.invalid and "the noise formula" in ev.failure


def _log_transformed(offset: str):
    def edit(df):
        row = df["observableId"] == "pSTAT5A_rel"
        df.loc[row, "observableTransformation"] = "log"
        df.loc[row, "observableFormula"] = df.loc[row, "observableFormula"] + offset
    return edit


@needs_benchmarks
def test_log_transformation_of_a_simulated_value_below_zero_is_refused_by_row_and_observable(tmp_path):
    """It used to give llh NaN, and the command line's --fit gave up with 'non-finite likelihood'."""
    y = _boehm(tmp_path, OBS, _log_transformed(" - 1000"))
    pp = bm.read_petab(y)
    with pytest.raises(PetabError, match=re.escape(
            f"measurement row 1 of {MEAS} (data rows counted from 1; line 2 of the file), observable 'pSTAT5A_rel' "
            "at time 0: the simulated value -1000 is <= 0 and cannot be log-transformed")):
        pp.llh()
    env = dict(__import__("os").environ, PYTHONPATH=str(Path(bm.__file__).parents[1]))
    r = subprocess.run([sys.executable, "-m", "bonemet_ode.cli", "petab", str(y), "--llh"], capture_output=True,
                       text=True, env=env, check=False)
    assert r.returncode == 2
    assert "observable 'pSTAT5A_rel' at time 0: the simulated value -1000 is <= 0" in r.stderr


@needs_benchmarks
def test_log_transformation_of_a_measurement_below_zero_is_refused_by_row(tmp_path):
    y = _boehm(tmp_path, OBS, _log_transformed(""))
    meas = y.parent / MEAS
    df = pd.read_csv(meas, sep="\t", dtype=str, keep_default_na=False)
    df.loc[3, "measurement"] = "0"
    df.to_csv(meas, sep="\t", index=False)
    with pytest.raises(PetabError, match=re.escape(f"{ROW4}, observable 'pSTAT5A_rel': measurement 0 cannot be "
                                                   "log-transformed")):
        bm.read_petab(y)


# ---------------------------------------------------------------- bounds and times
@needs_benchmarks
def test_a_nominal_value_outside_the_bounds_of_an_estimated_parameter_is_refused(tmp_path):
    y = _boehm(tmp_path, PARS, _set("nominalValue", 0, "1e7"))
    with pytest.raises(PetabError, match=re.escape("parameter 'Epo_degradation_BaF3' is estimated and its "
                                                   "nominalValue 1e+07 is outside its bounds [lowerBound 1e-05, "
                                                   "upperBound 100000]")):
        bm.read_petab(y)


@needs_benchmarks
def test_a_negative_measurement_time_names_the_file_and_row(tmp_path):
    """It used to be 'output times must be >= 0 days, got -1.0' from the simulator, naming no row."""
    y = _boehm(tmp_path, MEAS, _set("time", 3, "-1"))
    with pytest.raises(PetabError, match=re.escape(f"{ROW4}, observable 'pSTAT5A_rel': time -1 is negative")):
        bm.read_petab(y)


@needs_petab_suite_v2
def test_v2_measurement_before_the_start_names_the_row(tmp_path):
    case = tmp_path / "0001"
    shutil.copytree(SUITE_V2 / "0001", case)
    df = pd.read_csv(case / "_measurements.tsv", sep="\t")
    df.loc[0, "time"] = -2.0
    df.to_csv(case / "_measurements.tsv", sep="\t", index=False)
    with pytest.raises(PetabError, match=re.escape("measurement row 1 of _measurements.tsv (data rows counted from 1; "
                                                   "line 2 of the file), observable 'obs_a': time -2 is before the "
                                                   "start of its simulation")):
        bm.read_petab(case / "_0001.yaml")


# ---------------------------------------------------------------- directories where files are expected
def test_a_directory_given_as_the_problem_file_is_named_a_directory(tmp_path):
    (tmp_path / "problem.yaml").write_text("format_version: 1\n")
    with pytest.raises(PetabError, match=re.escape(f"PEtab problem file (YAML) {str(tmp_path)!r} is a directory, "
                                                   "not a file; the directory holds problem.yaml")):
        bm.read_petab(tmp_path)
    with pytest.raises(PetabError, match="does not exist"):
        bm.read_petab(tmp_path / "nope.yaml")


@needs_benchmarks
def test_a_directory_named_as_a_table_or_model_file_is_named_a_directory(tmp_path):
    y = _boehm(tmp_path)
    (y.parent / PARS).unlink()
    (y.parent / PARS).mkdir()
    with pytest.raises(PetabError, match=re.escape(f"parameter file {str(y.parent / PARS)!r} (named in {y.name}) is "
                                                   "a directory, not a file")):
        bm.read_petab(y)


@needs_petab_suite_v2
def test_v2_a_directory_named_as_a_table_file_is_named_a_directory(tmp_path):
    case = tmp_path / "0001"
    shutil.copytree(SUITE_V2 / "0001", case)
    (case / "_measurements.tsv").unlink()
    (case / "_measurements.tsv").mkdir()
    with pytest.raises(PetabError, match=re.escape("measurement file") + ".*is a directory, not a file"):
        bm.read_petab(case / "_0001.yaml")

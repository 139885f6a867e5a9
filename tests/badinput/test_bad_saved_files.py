"""Bad saved files: every case is refused with SavedFileError (or the model's own error) naming the field."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest

import bonemet_ode as bm
from bonemet_ode.calibration.result import CalibrationResult
from bonemet_ode.calibration.space import CalibrationSettings, FreeParameter
from bonemet_ode.errors import BonemetError, SavedFileError
from bonemet_ode.estimate.parameters import FitParameter
from bonemet_ode.estimate.result import FitResult, SubjectFits
from bonemet_ode.io.model_json import load_model, model_from_dict, model_to_dict
from bonemet_ode.outcomes.results import OutcomeResult


def fit_result() -> FitResult:
    params = (FitParameter("alpha", 0.2, 0.0, 5.0, True, True, "1/day"),
              FitParameter("V0", 1.0, 0.0, math.inf, False), FitParameter("sigma", 0.1, 1e-6, 10.0, True,
                                                                          role="noise"))
    pts = pd.DataFrame({"subject": ["s"], "arm": ["a"], "time": [1.0], "observable": ["v"], "value": [1.2],
                        "predicted": [1.22], "residual": [-0.1], "sd": [0.1]})
    return FitResult("exponential", "s", params, {"alpha": 0.2, "V0": 1.0, "sigma": 0.1},
                     np.array([[1e-4, math.nan], [math.nan, 1e-3]]), -3.0, 0.0, 1, 0, True, "ok", 10, (-3.0,),
                     {"v": "proportional"}, pts, pts[["subject", "arm", "observable", "time", "value"]])


def calibration() -> CalibrationResult:
    results = (OutcomeResult("O1", 0.3, 0.5, 0.5, True, "t <= 0.5 x control"),
               OutcomeResult("O2", 2.0, 1.0, 0.7, True, "b >= control"))
    return CalibrationResult({"r": 0.5}, {"k": 1.0}, (FreeParameter("r", 0.1, 1.0, False),), results, 0.0, True,
                             True, 12, 1.5, 0, CalibrationSettings(n_starts=4))


MODEL_DOC = model_to_dict(bm.models.get("kuznetsov1994"))
FIT_DOC = fit_result().to_dict()
CAL_DOC = calibration().to_dict()


def edit(doc, path, value):
    doc = copy.deepcopy(doc)
    *head, last = path
    target = doc
    for k in head:
        target = target[k]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return doc


MODEL_CASES = [
    (["format"], "bonemet_ode.calibration", "'format'"),
    (["version"], 99, "version 99"),
    (["version"], "2", "'version'"),
    (["payload"], KeyError, "'payload'"),
    (["payload"], [1, 2], "'payload'"),
    (["payload", "modules"], KeyError, "payload.modules"),
    (["payload", "modules"], {"a": 1}, "payload.modules"),
    (["payload", "modules", 0, "parameters", 0, "value"], "nan", "payload.modules[0].parameters[0].value"),
    (["payload", "modules", 0, "parameters", 0, "value"], math.nan, "payload.modules[0].parameters[0].value"),
    (["payload", "modules", 0, "parameters", 0, "value"], "abc", "parameters[0].value"),
    (["payload", "modules", 0, "parameters", 0, "value"], True, "parameters[0].value"),
    (["payload", "modules", 0, "parameters", 0, "lower"], "low", "parameters[0].lower"),
    (["payload", "modules", 0, "parameters", 0, "name"], 7, "parameters[0].name"),
    (["payload", "modules", 0, "states", 0, "nonnegative"], "yes", "nonnegative"),
    (["payload", "modules", 0, "states", 0, "initial"], "nan", "initial"),
    (["payload", "modules", 0, "terms", 0, "rate"], 5, "terms[0].rate"),
    (["payload", "modules", 0, "terms", 0, "effects"], {"E": "one"}, "effects.E"),
    (["payload", "modules", 0, "terms", 0, "effects"], [1], "effects"),
    (["payload", "parameter_values"], {"nope": 1.0}, "nope"),
    (["payload", "parameter_values"], {"s": "nan"}, "parameter_values.s"),
    (["payload", "knockouts"], "T_kill", "knockouts"),
    (["payload", "knockouts"], ["no_such_term"], "no_such_term"),
    (["payload", "switches"], [{"time": "x", "parameter": "s", "value": 1.0}], "switches[0].time"),
    (["payload", "switches"], [{"time": 1.0}], "switches[0].parameter"),
    (["payload", "name"], None, "payload.name"),
]


@pytest.mark.parametrize("path, value, needle", MODEL_CASES)
def test_bad_model_documents(path, value, needle):
    with pytest.raises(BonemetError) as info:
        model_from_dict(edit(MODEL_DOC, path, value))
    assert needle in str(info.value)
    assert not isinstance(info.value, (TypeError, AttributeError)) or isinstance(info.value, BonemetError)


FIT_CASES = [
    (["payload", "values", "alpha"], "nan", "payload.values.alpha"),
    (["payload", "values", "alpha"], "NaN", "payload.values.alpha"),
    (["payload", "values", "beta"], 1.0, "beta"),
    (["payload", "values"], {"alpha": 0.2, "sigma": 0.1}, "V0"),
    (["payload", "covariance", "shape"], [3, 3], "shape"),
    (["payload", "covariance", "data"], ["x", 1, 2, 3], "covariance.data"),
    (["payload", "n_observations"], -1, "n_observations"),
    (["payload", "n_censored"], 5, "n_censored"),
    (["payload", "success"], "yes", "success"),
    (["payload", "nll"], "nan", "payload.nll"),
    (["payload", "points", "columns", "value", "kind"], "complex", "kind"),
    (["payload", "points", "columns", "value", "data"], [1.0, 2.0], "data"),
    (["payload", "parameters", 0, "vary"], KeyError, "parameters[0].vary"),
    (["payload", "parameters", 1, "name"], "alpha", "repeats"),
    (["payload", "parameters", 0, "lower"], 9.0, "parameters[0].lower"),
    (["payload", "noise"], {"v": 3}, "noise.v"),
    (["payload", "wall_time"], -2.0, "wall_time"),
    (["format"], "bonemet_ode.subject_fits", "subject_fits"),
]


@pytest.mark.parametrize("path, value, needle", FIT_CASES)
def test_bad_fit_documents(path, value, needle):
    with pytest.raises(SavedFileError) as info:
        FitResult.from_dict(edit(FIT_DOC, path, value))
    assert needle in str(info.value)


CAL_CASES = [
    (["payload", "parameters", "r"], "nan", "payload.parameters.r"),
    (["payload", "parameters", "r"], math.inf, "payload.parameters.r"),
    (["payload", "fixed", "k"], "x", "payload.fixed.k"),
    (["payload", "results", 0, "margin"], "nan", "results[0].margin"),
    (["payload", "results", 0, "value"], "nan", "results[0].value"),
    (["payload", "results", 0, "satisfied"], False, "satisfied"),
    (["payload", "results", 1, "margin"], -0.5, "results[1].margin"),
    (["payload", "results"], {"O1": 1}, "payload.results"),
    (["payload", "settings", "n_start"], 3, "n_start"),
    (["payload", "settings", "n_starts"], -1, "settings"),
    (["payload", "settings", "weights"], [["O1"]], "weights"),
    (["payload", "free", 0, "name"], "q", "free[0].name"),
    (["payload", "free", 0, "lower"], 5.0, "free[0].lower"),
    (["payload", "seed"], "0", "payload.seed"),
    (["payload", "objective"], "nan", "objective"),
    (["version"], 3, "version 3"),
]


@pytest.mark.parametrize("path, value, needle", CAL_CASES)
def test_bad_calibration_documents(path, value, needle):
    with pytest.raises(SavedFileError) as info:
        CalibrationResult.from_dict(edit(CAL_DOC, path, value))
    assert needle in str(info.value)


def test_calibration_names_checked_against_the_model():
    model = bm.models.get("kuznetsov1994")
    with pytest.raises(SavedFileError, match="payload.parameters.r.*unknown parameter"):
        CalibrationResult.from_dict(CAL_DOC, model=model)


def test_fit_of_another_model_is_refused():
    with pytest.raises(SavedFileError, match="payload.model"):
        FitResult.from_dict(FIT_DOC, model=bm.models.get("gompertz"))


def test_unreadable_and_non_json_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    for loader in (load_model, FitResult.load, SubjectFits.load, CalibrationResult.load):
        with pytest.raises(SavedFileError, match="bad.json"):
            loader(tmp_path / "bad.json")
        with pytest.raises(SavedFileError, match="missing.json"):
            loader(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(SavedFileError, match="JSON object"):
        CalibrationResult.load(tmp_path / "list.json")


# ---- documented acceptance: files written by bonemet_ode 0.1 still load (literal old documents)

OLD_CALIBRATION = {
    "format": "bonemet_ode.calibration", "version": 1, "parameters": {"r": 0.5}, "fixed": {},
    "free": [{"name": "r", "lower": 0.1, "upper": 1.0, "log_scale": False}],
    "results": [{"id": "O1", "value": 0.3, "threshold": 0.5, "margin": 0.51, "satisfied": True,
                 "statement": "t <= 0.5 x control", "parts": [], "message": ""}],
    "objective": 0.0, "satisfied": True, "stopped_early": True, "n_evaluations": 3, "wall_time": 0.25, "seed": 0,
    "settings": {"n_starts": 4, "n_refine": 4, "safety": 0.05, "penalty_scale": 0.05, "max_nfev": 200,
                 "diff_step": 0.001, "include_current": True, "conflicts": True, "conflict_nfev": 60,
                 "weights": [], "progress": None},
    "conflicts": [], "infeasible": [], "unexplained": [], "outcomes": [], "conflict_method": "pairwise",
}


def test_old_calibration_document_loads_and_nan_edit_is_refused(tmp_path):
    res = CalibrationResult.from_dict(OLD_CALIBRATION)
    assert res.parameters == {"r": 0.5} and res.satisfied and res.results[0].margin == 0.51
    bad = copy.deepcopy(OLD_CALIBRATION)
    bad["results"][0]["margin"] = "nan"
    with pytest.raises(SavedFileError, match="results\\[0\\].margin"):
        CalibrationResult.from_dict(bad)


def test_old_fit_and_model_documents_load():
    payload = FIT_DOC["payload"]
    old = {"kind": "FitResult", "format": 1, **json.loads(json.dumps(payload).replace('"nan"', '"NaN"'))}
    back = FitResult.from_dict(old)
    assert back.values == {"alpha": 0.2, "V0": 1.0, "sigma": 0.1} and math.isnan(back.covariance[0, 1])
    old_subjects = {"kind": "SubjectFits", "format": 1, "model": "exponential", "fits": {"s": old},
                    "failed": {}, "wall_time": 1.0}
    assert list(SubjectFits.from_dict(old_subjects).fits) == ["s"]
    with pytest.raises(SavedFileError, match="'SubjectFits'"):
        FitResult.from_dict(old_subjects)
    old_model = {"format": "bonemet_ode.model", "format_version": 1, **MODEL_DOC["payload"]}
    assert model_from_dict(old_model) == bm.models.get("kuznetsov1994")
    with pytest.raises(SavedFileError, match="version"):
        model_from_dict({**old_model, "format_version": 7})


def test_round_trips_still_exact(tmp_path):
    cal = calibration()
    assert CalibrationResult.load(cal.save(tmp_path / "c.json")) == cal
    fit = fit_result()
    fit.save(tmp_path / "f.json")
    back = FitResult.load(tmp_path / "f.json")
    assert back.values == fit.values and np.array_equal(back.covariance, fit.covariance, equal_nan=True)

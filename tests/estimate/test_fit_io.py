"""Fits save to JSON and load back bit for bit."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pandas as pd
import pytest
from fit_helpers import TIGHT, concat, exp_curve, product_model, table
from hypothesis import given
from hypothesis import strategies as st

import bonemet_ode.models.growth as growth
from bonemet_ode.errors import SavedFileError
from bonemet_ode.estimate import FitResult, Fitter, PopulationFitter, PopulationResult, SubjectFits, SubjectFitter
from bonemet_ode.io import json_values as _json

T = np.arange(2.0, 21.0, 3.0)


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def assert_frames_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        assert a[c].dtype == b[c].dtype, c
        if a[c].dtype == float:
            assert [bits(x) for x in a[c]] == [bits(x) for x in b[c]], c
        else:
            assert list(a[c]) == list(b[c]), c


def assert_strict_json(path) -> None:
    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    json.loads(path.read_text(), parse_constant=no_constants)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(41)
    return concat(*[table(f"s{i}", "ctrl", T, exp_curve(T, 0.2 * (1 + 0.2 * rng.standard_normal()))
                          * (1 + 0.1 * rng.standard_normal(T.size))) for i in range(4)])


def test_fit_result_round_trip_is_bit_exact(tmp_path, data):
    res = Fitter(growth.exponential(), data, fixed={"V0": 1.0}, n_starts=2, options=TIGHT).fit()
    path = tmp_path / "fit.json"
    res.save(path)
    assert_strict_json(path)
    back = FitResult.load(path)
    for field in ("model", "label", "parameters", "nll", "penalty", "n_observations", "n_censored", "success",
                  "message", "nfev", "start_objectives", "noise", "wall_time", "method", "units"):
        assert getattr(back, field) == getattr(res, field), field
    assert {k: bits(v) for k, v in back.values.items()} == {k: bits(v) for k, v in res.values.items()}
    assert back.covariance.tobytes() == res.covariance.tobytes()
    assert_frames_identical(back.points, res.points)
    assert_frames_identical(back.curves, res.curves)
    assert back.table().equals(res.table())


def test_nan_covariance_round_trips(tmp_path):
    y = exp_curve(T, 0.2) * (1 + 0.05 * np.random.default_rng(2).standard_normal(T.size))
    res = Fitter(product_model(), table("m", "c", T, y), fixed={"V0": 1.0}, options=TIGHT).fit()
    assert np.isnan(res.covariance).all()
    res.save(tmp_path / "f.json")
    back = FitResult.load(tmp_path / "f.json")
    assert back.covariance.tobytes() == res.covariance.tobytes()


def test_subject_fits_round_trip(tmp_path, data):
    fits = SubjectFitter(growth.exponential(), data, fixed={"V0": 1.0}, options=TIGHT).fit()
    fits.save(tmp_path / "fits.json")
    back = SubjectFits.load(tmp_path / "fits.json")
    assert list(back.fits) == list(fits.fits)
    assert_frames_identical(back.table(), fits.table())
    assert back.aic == fits.aic


def test_population_result_round_trip(tmp_path, data):
    pop = PopulationFitter(growth.exponential(), data, random=["alpha"], fixed={"V0": 1.0}, options=TIGHT).fit()
    pop.save(tmp_path / "pop.json")
    assert_strict_json(tmp_path / "pop.json")
    back = PopulationResult.load(tmp_path / "pop.json")
    for name in ("mu", "mu_covariance", "omega", "psi_covariance"):
        assert getattr(back, name).tobytes() == getattr(pop, name).tobytes(), name
    assert back.history == pop.history and back.values == pop.values and back.objective == pop.objective
    assert_frames_identical(back.individual, pop.individual)
    assert_frames_identical(back.points, pop.points)
    assert back.table().equals(pop.table())


def test_load_rejects_other_kinds(tmp_path, data):
    fits = SubjectFitter(growth.exponential(), data.subset(subject="s0"), fixed={"V0": 1.0}).fit()
    fits.save(tmp_path / "fits.json")
    with pytest.raises(SavedFileError, match="subject_fits"):
        FitResult.load(tmp_path / "fits.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SavedFileError, match="bad.json"):
        FitResult.load(tmp_path / "bad.json")


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=20))
def test_json_floats_are_exact(values):
    arr = np.array(values, dtype=float)
    text = json.dumps(_json.array_to_json(arr), allow_nan=False)
    back = _json.array_from_json(json.loads(text))
    assert back.tobytes() == arr.tobytes() or (np.array_equal(back, arr, equal_nan=True)
                                                and all(math.isnan(a) == math.isnan(b) for a, b in zip(back, arr)))

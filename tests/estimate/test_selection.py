"""AIC / AICc / BIC tables across candidate models."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fit_helpers import TIGHT, gompertz_curve, table

import bonemet_ode.models.growth as growth
from bonemet_ode.errors import FitError
from bonemet_ode.estimate import Fitter, information_criteria
from bonemet_ode.estimate.selection import criteria


def test_criteria_formulas():
    c = criteria(nll=10.0, k=3, n=20)
    assert c["aic"] == pytest.approx(26.0)
    assert c["aicc"] == pytest.approx(26.0 + 2 * 3 * 4 / 16)
    assert c["bic"] == pytest.approx(3 * math.log(20) + 20.0)
    assert criteria(1.0, 5, 6)["aicc"] == math.inf


def test_gompertz_data_prefer_gompertz():
    rng = np.random.default_rng(51)
    t = np.arange(3.0, 31.0, 2.0)
    y = gompertz_curve(t, 0.7, 0.08) * (1 + 0.05 * rng.standard_normal(t.size))
    data = table("m1", "ctrl", t, y)
    fits = {name: Fitter(getattr(growth, name)(), data, fixed={"V0": 1.0}, n_starts=2, options=TIGHT).fit()
            for name in ("exponential", "logistic", "gompertz")}
    tab = information_criteria(fits)
    assert tab.index[0] == "gompertz"
    assert tab.loc["gompertz", "delta_aic"] == 0.0
    assert tab["akaike_weight"].sum() == pytest.approx(1.0)
    assert tab.loc["exponential", "delta_aic"] > 10
    for name, r in fits.items():
        assert tab.loc[name, "aic"] == pytest.approx(r.aic)
        assert tab.loc[name, "bic"] == pytest.approx(r.bic)
        assert tab.loc[name, "n_parameters"] == r.n_parameters
    assert list(information_criteria(fits, sort_by="bic").index)[0] == "gompertz"


def test_information_criteria_validation():
    class Fake:
        def __init__(self, n):
            self.nll, self.n_parameters, self.n_observations = 1.0, 1, n

    with pytest.raises(FitError, match="different numbers of points"):
        information_criteria({"a": Fake(10), "b": Fake(11)})
    with pytest.raises(FitError, match="no candidate"):
        information_criteria({})
    with pytest.raises(FitError, match="sort_by"):
        information_criteria({"a": Fake(10)}, sort_by="dic")
    with pytest.raises(FitError, match="candidate 'b' is a int, not a fit result"):
        information_criteria({"a": Fake(10), "b": 3})

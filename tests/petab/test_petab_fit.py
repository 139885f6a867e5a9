"""Multistart, refusals, write_petab round trip and the ``bonemet-ode petab`` command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from petab_data import BENCHMARK, SUITE_V1, needs_benchmarks, needs_petab_suite

import bonemet_ode as bm
from bonemet_ode.errors import PetabError
from bonemet_ode.petab import multistart

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO / "src")}
    import os

    env = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-m", "bonemet_ode.cli", "petab", *args], capture_output=True,
                          text=True, env=env, check=False)


def _copy_case(case: str, tmp_path: Path) -> Path:
    dst = tmp_path / case
    shutil.copytree(SUITE_V1 / case, dst)
    return dst / f"_{case}.yaml"


@needs_petab_suite
def test_multistart_is_seeded_and_classifies_starts():
    pp = bm.read_petab(SUITE_V1 / "0001" / "_0001.yaml")
    a = multistart(pp, 4, seed=7)
    b = multistart(pp, 4, seed=7)
    np.testing.assert_array_equal([s.x0 for s in a.starts], [s.x0 for s in b.starts])
    assert a.fvals().tolist() == b.fvals().tolist()
    # from the best end point, the optimiser cannot move: reported as such, never as converged
    best = a.best.x
    c = multistart(pp, 1, seed=0, x0=[best])
    assert c.starts[0].status == "never moved" and not c.starts[0].converged
    # a start on a bound that the optimum presses against: a0, b0 in [0, 10]; two data points fit exactly
    assert all(s.status in ("converged", "converged on bound", "stopped on bound", "not converged", "never moved")
               for s in a.starts)
    for s in a.starts:
        assert set(s.on_bound) <= set(pp.free)


@needs_petab_suite
def test_failed_start_points_are_resampled_and_counted(tmp_path):
    """Case 0007's obs_b is measured on log10 scale; with a negative offset on it, starts where the simulated
    value is <= 0 have no likelihood: they are replaced and counted with the reason."""
    y = _copy_case("0007", tmp_path)
    obs = pd.read_csv(y.parent / "_observables.tsv", sep="\t")
    obs.loc[obs["observableId"] == "obs_b", "observableFormula"] = "B + off"
    obs.to_csv(y.parent / "_observables.tsv", sep="\t", index=False)
    par = pd.read_csv(y.parent / "_parameters.tsv", sep="\t")
    par = pd.concat([par, pd.DataFrame([{"parameterId": "off", "parameterScale": "lin", "lowerBound": -5,
                                         "upperBound": 5, "nominalValue": 0, "estimate": 1}])], ignore_index=True)
    par.to_csv(y.parent / "_parameters.tsv", sep="\t", index=False)
    pp = bm.read_petab(y)
    res = multistart(pp, 5, seed=1)
    assert len(res.starts) == 5
    assert res.resampled > 0 and len(res.resample_reasons) == res.resampled
    assert all(np.isfinite(s.fval0) for s in res.starts)


@needs_petab_suite
def test_refusals_name_the_feature(tmp_path):
    y = _copy_case("0001", tmp_path)
    m = pd.read_csv(y.parent / "_measurements.tsv", sep="\t")
    m["time"] = m["time"].astype(float)
    m.loc[0, "time"] = np.inf
    m.to_csv(y.parent / "_measurements.tsv", sep="\t", index=False)
    with pytest.raises(PetabError, match="steady-state measurements"):
        bm.read_petab(y)
    y2 = _copy_case("0002", tmp_path)
    c = pd.read_csv(y2.parent / "_conditions.tsv", sep="\t")
    c["not_a_thing"] = 1.0
    c.to_csv(y2.parent / "_conditions.tsv", sep="\t", index=False)
    with pytest.raises(PetabError, match="'not_a_thing' is not a parameter, species or compartment"):
        bm.read_petab(y2)
    y3 = tmp_path / "v3.yaml"
    y3.write_text("format_version: 3.0.0\nproblems: []\n")
    with pytest.raises(PetabError, match="format_version '3.0.0' is not supported"):
        bm.read_petab(y3)
    y4 = tmp_path / "v2.yaml"
    y4.write_text("format_version: 2.0.0\nmodel_files:\n  m:\n    language: pysb\n    location: m.py\n")
    with pytest.raises(PetabError, match="model language 'pysb'"):
        bm.read_petab(y4)


def test_write_petab_round_trip(tmp_path):
    """A two-arm fitting problem (doses as events) written as PEtab and read back: the same NLL."""
    from bonemet_ode.data import DataTable
    from bonemet_ode.estimate import EstimationProblem
    from bonemet_ode.models.growth import logistic

    rng = np.random.default_rng(0)
    t = np.arange(1.0, 15.0)
    arms = {"control": bm.Arm("control"),
            "drug": bm.Arm("drug", doses=(bm.Dose("V", 5.0, start=3.0, every=4.0, stop=12.0),))}
    rows = [pd.DataFrame({"subject": f"{a}_{s}", "arm": a, "time": t, "observable": "V",
                          "value": 2.0 * np.exp(0.2 * t) * (1 + 0.05 * rng.standard_normal(len(t)))})
            for a in arms for s in ("m1", "m2")]
    ep = EstimationProblem(logistic(), DataTable(pd.concat(rows)), noise="proportional", arms=arms,
                           bounds={"alpha": (0.01, 2.0), "K": (10, 1e4), "V0": (0.1, 10)},
                           initial={"alpha": 0.3, "K": 300, "V0": 1.5})
    path = bm.write_petab(ep, tmp_path / "out")
    pp = bm.read_petab(path)
    assert pp.gradient_method == "forward sensitivities"  # the doses are events: their sensitivity jumps
    ev = pp.evaluate(pp.x_nominal, gradient=True)
    fd = pp._evaluate_fd(pp.x_nominal)
    np.testing.assert_allclose(ev.grad_llh, fd.grad_llh, rtol=1e-4, atol=1e-4 * np.abs(fd.grad_llh).max())
    vals = {p.name: p.value for p in ep.fit_parameters}
    nll = ep.compile().nll(vals)
    assert abs(-pp.llh() - nll) < 1e-5 * abs(nll)
    x = pp.x_nominal.copy()
    x[pp.free.index("alpha")] = np.log(0.25)
    vals["alpha"] = 0.25
    assert abs(-pp.llh(x) - ep.compile().nll(vals)) < 1e-5 * abs(nll)


@needs_petab_suite
def test_cli_llh_json_and_errors(tmp_path):
    r = _cli(str(SUITE_V1 / "0007" / "_0007.yaml"), "--llh", "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert abs(out["llh"] - (-1.378941036858)) < 1e-6 and "chi2" in out
    r = _cli(str(tmp_path / "missing.yaml"), "--llh", "--quiet")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "does not exist" in r.stderr
    r = _cli(str(SUITE_V1 / "0001" / "_0001.yaml"), "--fit", "--quiet")
    assert r.returncode == 2 and "--out" in r.stderr


@needs_petab_suite
def test_cli_fit_writes_summary(tmp_path):
    r = _cli(str(SUITE_V1 / "0002" / "_0002.yaml"), "--fit", "--starts", "3", "--seed", "2", "--out",
             str(tmp_path / "fit"), "--quiet")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "fit" / "summary.json").read_text())
    assert "best_llh" in s and "n_converged" in s and s["n_starts"] == 3
    assert s["best_llh"] >= -4.09983582520606  # at least the nominal value's likelihood
    for f in ("waterfall.png", "fit_obs_a.png", "estimates.tsv", "starts.csv", "simulations.tsv", "profiles.tsv"):
        assert (tmp_path / "fit" / f).is_file()
    iv = s["intervals_95"]
    assert set(iv) == {"k1", "k2"} and all(d["verdict"] for d in iv.values())
    for d in iv.values():  # an interval end is a number beside the estimate, or null where the profile stays low
        assert d["lower"] is None or d["lower"] <= d["estimate"]
        assert d["upper"] is None or d["upper"] >= d["estimate"]


@needs_benchmarks
@pytest.mark.slow
def test_boehm_100_starts_reach_the_best_known_value(tmp_path):
    """Boehm_JProteomeRes2014 from 100 seeded starts via the CLI: -llh <= 138.23 (best known 138.222)."""
    t = time.perf_counter()
    r = _cli(str(next((BENCHMARK / "Boehm_JProteomeRes2014").glob("*.yaml"))), "--fit", "--starts", "100",
             "--seed", "1", "--out", str(tmp_path / "boehm"), "--quiet")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "boehm" / "summary.json").read_text())
    assert -s["best_llh"] <= 138.23, s
    print(f"Boehm 100 starts: {time.perf_counter() - t:.0f} s, {s['n_converged']} converged")


def test_levenberg_marquardt_matches_scipy_with_an_active_bound():
    """Projected Levenberg-Marquardt against scipy's least_squares (trf, tight): an exponential decay fitted
    freely, and with the rate's upper bound below the free optimum (the solution sits on that bound)."""
    from scipy.optimize import least_squares

    from bonemet_ode.petab.multistart import levenberg_marquardt

    t = np.linspace(0.0, 4.0, 9)
    y = 3.0 * np.exp(-0.7 * t) + 0.05 * np.sin(5 * t)

    def fun(p):
        e = np.exp(-p[1] * t)
        return p[0] * e - y, np.column_stack([e, -p[0] * t * e])

    for upper in ([10.0, 10.0], [10.0, 0.5]):
        x, _nit, _nfev, msg, ok = levenberg_marquardt(fun, [1.0, 0.1], [0.0, 0.0], upper)
        ref = least_squares(lambda p: fun(p)[0], [1.0, 0.1], jac=lambda p: fun(p)[1], bounds=([0, 0], upper),
                            xtol=1e-15, ftol=1e-15, gtol=1e-15)
        assert ok, msg
        np.testing.assert_allclose(x, ref.x, rtol=1e-6)
    assert x[1] == 0.5  # on the bound


def test_petab_profiles_match_the_estimation_problems_profiles(tmp_path):
    """The PEtab profile of a problem written by write_petab gives the same 95 % interval as
    bonemet_ode.estimate.profile_likelihood on the EstimationProblem it came from (different code: the Fitter's
    optimiser on the model's own objective)."""
    from bonemet_ode.data import DataTable
    from bonemet_ode.estimate import EstimationProblem, profile_likelihood
    from bonemet_ode.models.growth import logistic
    from bonemet_ode.petab.profiles import petab_profiles

    rng = np.random.default_rng(0)
    t = np.arange(1.0, 15.0)
    truth = 2.0 * np.exp(0.3 * t) / (1 + 2.0 * (np.exp(0.3 * t) - 1) / 100)
    rows = [pd.DataFrame({"subject": f"m{s}", "arm": "control", "time": t, "observable": "V",
                          "value": truth + 2 + rng.standard_normal(len(t))}) for s in range(3)]
    ep = EstimationProblem(logistic(), DataTable(pd.concat(rows)), noise="additive",
                           arms={"control": bm.Arm("control")},
                           bounds={"alpha": (0.01, 2.0), "K": (10, 1e4), "V0": (0.1, 10)},
                           initial={"alpha": 0.3, "K": 100, "V0": 2})
    pp = bm.read_petab(bm.write_petab(ep, tmp_path / "out"))
    assert pp.least_squares_form()
    res = multistart(pp, 3, seed=0)
    assert res.n_converged() == 3, res.counts()
    ours = petab_profiles(pp, res.best.x, ["alpha"])["alpha"]
    ref = profile_likelihood(ep, parameters=["alpha"])["alpha"]
    assert ours.verdict == ref.verdict == "identifiable"
    np.testing.assert_allclose([ours.estimate, ours.lower, ours.upper], [ref.estimate, ref.lower, ref.upper],
                               rtol=2e-4)


@needs_petab_suite
@pytest.mark.parametrize("table, edit, named", [
    ("_observables.tsv", lambda t: t.replace("observableFormula", "observableFormua"),
     "observable table lacks the required column(s) ['observableFormula']"),
    ("_parameters.tsv", lambda t: t.replace("parameterScale", "parameterScle"),
     "parameter table lacks the required column(s) ['parameterScale']"),
    ("_parameters.tsv", lambda t: t.replace("\tlin\t", "\tlog2\t", 1), "expected one of ['lin', 'log', 'log10']"),
    ("_measurements.tsv", lambda t: t.replace("measurement\t", "measurment\t", 1),
     "measurement table lacks the required column(s) ['measurement']"),
    ("_measurements.tsv", lambda t: t.replace("\t0.7\t", "\tseven\t", 1), "'measurement' is not a number in row 1"),
    ("_observables.tsv", lambda t: t.replace("\nobs_a\t", "\ninf\t", 1), "holds the id inf"),
    ("_parameters.tsv", lambda t: t.replace("0.8\t1", "0.8\t2", 1), "estimate of 'k1' is '2'"),
])
def test_damaged_tables_are_refused_by_table_and_column(tmp_path, table, edit, named):
    """The petab library reads these without complaint; they used to end in KeyError/ValueError deep in the
    problem, or in defaults (a missing parameterScale read as lin)."""
    y = _copy_case("0003", tmp_path)
    path = y.parent / table
    text = path.read_text()
    path.write_text(edit(text))
    assert path.read_text() != text
    with pytest.raises(PetabError, match=re.escape(named)):
        bm.read_petab(y)

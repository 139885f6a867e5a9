"""Bad and real-world data files: clear DataError naming the row/column, or documented acceptance
(dropped rows listed)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from shared_data import SHARED_DATA, needs_shared_data

from bonemet_ode.data.readers import MISSING_MARKERS, read_long, read_wide
from bonemet_ode.errors import BonemetWarning, DataError

HEAD = "subject,arm,time,value\n"
GOOD = "m1,c,0,100\nm1,c,7,150\nm2,c,0,90\nm2,c,7,140\n"


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


ERRORS = [
    (HEAD + GOOD + "m3,c,7,abc\n", "non-numeric"),
    (HEAD + GOOD + "m3,c,x,10\n", "'time'"),
    (HEAD + GOOD + "m3,c,7,inf\n", "finite"),
    (HEAD + GOOD + "m3,c,-2,10\n", "time-shift"),
    (HEAD + GOOD + "m3,c,7,-5\n", "negative"),
    (HEAD + GOOD + "m1,c,7,151\n", "duplicate"),
    (HEAD + GOOD + "m1,d,14,151\n", "more than one arm"),
    ("subject,arm,value\nm1,c,3\n", "missing column"),
    (HEAD, "no data rows"),
    ("", "empty"),
    (HEAD + "m1,c,NA,NA\nm2,c,,\n", "every row"),
]


@pytest.mark.parametrize("text, needle", ERRORS)
def test_bad_long_files(tmp_path, text, needle):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match=needle):
            read_long(write(tmp_path, text))


@pytest.mark.parametrize("marker", ["NA", "", "n.d.", "Not measured", "-", "N/A", "#N/A", " na ", "NOT MEASURED"])
def test_missing_markers_drop_the_row_and_report_it(tmp_path, marker):
    with pytest.warns(BonemetWarning, match="dropped 1 row"):
        table = read_long(write(tmp_path, HEAD + GOOD + f"m3,c,7,{marker}\n"))
    assert len(table) == 4
    (row,) = table.dropped.to_dict("records")
    assert row["row"] == 5 and row["line"] == 6 and row["subject"] == "m3" and row["column"] == "value"
    assert "missing-value marker" in row["reason"]


def test_marker_set_is_overridable(tmp_path):
    path = write(tmp_path, HEAD + GOOD + "m3,c,7,gone\n")
    with pytest.raises(DataError, match="'gone'"):
        read_long(path)
    with pytest.warns(BonemetWarning):
        table = read_long(path, missing=MISSING_MARKERS | {"gone"})
    assert table.dropped["cell"].tolist() == ["gone"]
    with pytest.raises(DataError, match="missing"):
        read_long(path, missing="gone")
    with pytest.raises(DataError, match="strings"):
        read_long(path, missing=[1, 2])


def test_none_is_not_a_marker(tmp_path):
    # SynergyLMM's U87MG file calls its control arm "None"
    table = read_long(write(tmp_path, "subject,arm,time,value\nm1,None,0,1\nm1,None,7,2\n"))
    assert table.arms == ("None",)


def test_dataframe_markers_and_nan(tmp_path):
    frame = pd.DataFrame({"subject": ["a", "a", "b"], "arm": ["c"] * 3, "time": [0, 7, 0],
                          "value": [1.0, float("nan"), 2.0]})
    with pytest.warns(BonemetWarning):
        table = read_long(frame)
    assert table.dropped["cell"].tolist() == ["NaN"]


WIDE_ERRORS = [
    ("Treatment,Mouse,0,x\nA,1,1,2\n", "not a day number"),
    ("Treatment,Mouse,-1,7\nA,1,1,2\n", "time-shift"),
    ("Treatment,Mouse,0,7\nA,1,1,2\nB,1,1,2\n", "appears twice"),
    ("Treatment,Mouse,0,7\nA,1,1,abc\n", "non-numeric"),
    ("Treatment,Mouse,0,7\nA,1,NA,NA\n", "every day cell"),
    ("Arm,Mouse,0,7\nA,1,1,2\n", "missing column"),
]


@pytest.mark.parametrize("text, needle", WIDE_ERRORS)
def test_bad_wide_files(tmp_path, text, needle):
    with pytest.raises(DataError, match=needle):
        read_wide(write(tmp_path, text))


def test_not_utf8(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("subject,arm,time,value\nm\xe9,c,0,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        read_long(p)


# ---- every public dataset loads without hand-cleaning (the dropped rows are listed)

LONG_SETS = [
    ("synergylmm/BV_173.csv", dict(subject_col="MOUSE", arm_col="Treatment", time_col="Day", value_col="RLU"), 71),
    ("synergylmm/U87MG_Triple_long.csv", dict(subject_col="MOUSE", arm_col="Treatment", time_col="Day",
                                              value_col="RLU"), 1),
    ("synergylmm/GABA_antiPD1_long.csv", dict(subject_col="MouseID", arm_col="Treatment", time_col="Day",
                                              value_col="TumVol"), 0),
    ("synergylmm/MAS98_06.csv", dict(subject_col="MouseID", arm_col="Treatment", time_col="Day",
                                     value_col="TumVol"), None),
    ("synergylmm/CR1197_sel_tv.csv", dict(subject_col="Mice.ID", arm_col="Treatment", time_col="DaysPostT0",
                                          value_col="Tumor.Volume"), None),
]


@needs_shared_data
@pytest.mark.parametrize("name, cols, n_dropped", LONG_SETS)
def test_public_long_datasets_load(name, cols, n_dropped):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = read_long(SHARED_DATA / name, lloq=1e-3, **cols)
    assert len(table) > 50 and len(table.arms) >= 4
    if n_dropped is not None:
        assert len(table.dropped) == n_dropped


@needs_shared_data
@pytest.mark.parametrize("name", ["CR1197.csv", "LS_1034.csv", "SNU-81.csv", "SW837.csv", "test.csv"])
def test_invivosyn_wide_sets_load(name):
    path = SHARED_DATA / "invivosyn" / name
    shift = 1.0 if name != "CR1197.csv" else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = read_wide(path, time_shift=shift, lloq=1.0)
    assert table.times.min() == (0.0 if shift else 33.0) and len(table.dropped) == table.blanks_skipped


@needs_shared_data
@pytest.mark.parametrize("name", ["lung_vol_data.txt", "breast_vol_data.txt", "breast_fluo_data.txt"])
def test_vaghi_sets_load(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = read_long(pd.read_csv(SHARED_DATA / "vaghi2020" / name, sep="\t").assign(arm="untreated"),
                          subject_col="ID", time_col="Time", value_col="Observation", lloq=1e-3)
    assert len(table) > 40

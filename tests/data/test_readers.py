"""Tests of the tidy data tables (bonemet_ode.data.readers) and bundled datasets."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonemet_ode.data.datasets import INVIVOSYN_DATASETS, invivosyn_path, load_invivosyn
from bonemet_ode.data.readers import COLUMNS, DataTable, read_long, read_wide
from bonemet_ode.errors import BonemetWarning, DataError

LONG_CSV = """mouse,group,day,vol
m1,ctrl,0,100
m1,ctrl,7,200
m2,ctrl,0,120
m2,ctrl,7,260
m3,drug,0,110
m3,drug,7,130
"""

WIDE_CSV = """Treatment,Mouse,0,7,14,21
Vehicle,1,100,200,400,
Vehicle,2,110,210,NA,NA
Drug,3,105,150,180,200
"""

LONG_ARGS = dict(subject_col="mouse", arm_col="group", time_col="day", value_col="vol")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ read_long
def test_read_long_csv_builds_canonical_table(tmp_path: Path) -> None:
    table = read_long(write(tmp_path, "d.csv", LONG_CSV), **LONG_ARGS)
    frame = table.frame
    assert tuple(frame.columns) == COLUMNS
    assert table.arms == ("ctrl", "drug")
    assert table.subjects == ("m1", "m2", "m3")
    assert table.observables == ("tumor_volume",)
    assert len(table) == 6
    assert frame["value"].tolist() == [100, 200, 120, 260, 110, 130]
    assert frame["time"].dtype == float and frame["censored"].dtype == bool
    assert frame["sd"].isna().all() and not frame["censored"].any()
    np.testing.assert_array_equal(table.times, [0.0, 7.0])


def test_read_long_detects_tsv_and_accepts_explicit_sep(tmp_path: Path) -> None:
    tsv = LONG_CSV.replace(",", "\t")
    a = read_long(write(tmp_path, "d.txt", tsv), **LONG_ARGS)
    b = read_long(write(tmp_path, "d.tsv", tsv), **LONG_ARGS)
    c = read_long(write(tmp_path, "d2.txt", LONG_CSV.replace(",", ";")), sep=";", **LONG_ARGS)
    ref = read_long(write(tmp_path, "d.csv", LONG_CSV), **LONG_ARGS)
    for other in (a, b, c):
        pd.testing.assert_frame_equal(other.frame, ref.frame)


def test_read_long_accepts_dataframe_with_observable_and_sd_columns() -> None:
    df = pd.DataFrame(
        {
            "id": [1, 1, 1, 1],
            "arm": ["A", "A", "A", "A"],
            "t": [0.0, 0.0, 3.0, 3.0],
            "what": ["vol", "bli", "vol", "bli"],
            "y": [1.0, 5.0, 2.0, 7.0],
            "err": [0.1, np.nan, 0.2, 0.3],
        }
    )
    table = read_long(df, subject_col="id", time_col="t", value_col="y", observable_col="what", sd_col="err")
    assert table.observables == ("bli", "vol")
    assert table.subjects == ("1",)
    vol = table.subset(observable="vol").frame
    assert vol["value"].tolist() == [1.0, 2.0] and vol["sd"].tolist() == [0.1, 0.2]
    with pytest.raises(DataError, match="several observables"):
        table.to_wide()


def test_missing_columns_are_listed_with_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", LONG_CSV)
    with pytest.raises(DataError) as err:
        read_long(path, subject_col="MouseID", arm_col="group", time_col="Day", value_col="vol")
    msg = str(err.value)
    assert "'MouseID' (from subject_col)" in msg and "'Day' (from time_col)" in msg
    assert "['mouse', 'group', 'day', 'vol']" in msg


def test_non_numeric_value_names_row_column_and_value(tmp_path: Path) -> None:
    text = LONG_CSV.replace("m2,ctrl,7,260", "m2,ctrl,7,big")
    with pytest.raises(DataError) as err:
        read_long(write(tmp_path, "d.csv", text), **LONG_ARGS)
    msg = str(err.value)
    assert "'vol'" in msg and "'big'" in msg and "row 4 (line 5 of d.csv)" in msg


def test_negative_time_is_rejected_and_time_shift_fixes_it(tmp_path: Path) -> None:
    text = LONG_CSV.replace("m3,drug,0,110", "m3,drug,-1,110")
    path = write(tmp_path, "d.csv", text)
    with pytest.raises(DataError) as err:
        read_long(path, **LONG_ARGS)
    assert "'day'" in str(err.value) and "row 5" in str(err.value) and "time_shift" in str(err.value)
    shifted = read_long(path, time_shift=1, **LONG_ARGS)
    assert shifted.frame["time"].min() == 0.0 and shifted.frame["time"].max() == 8.0


def test_blank_required_cell_drops_the_row_and_says_so(tmp_path: Path) -> None:
    # A blank time or arm is "not measured": the row is dropped, with a warning and a reason per row.
    full = read_long(write(tmp_path, "full.csv", LONG_CSV), **LONG_ARGS)
    for text, column in ((LONG_CSV.replace("m1,ctrl,7,200", "m1,ctrl,,200"), "day"),
                         (LONG_CSV.replace("m1,ctrl,7,200", "m1,,7,200"), "group")):
        with pytest.warns(BonemetWarning, match=r"dropped 1 row"):
            table = read_long(write(tmp_path, "d.csv", text), **LONG_ARGS)
        assert len(table) == len(full) - 1
        (row,) = table.dropped.to_dict("records")
        assert row["row"] == 2 and row["line"] == 3 and row["subject"] == "m1" and row["column"] == column
        assert f"{column} is ''" in row["reason"]


def test_duplicate_rows_are_named(tmp_path: Path) -> None:
    text = LONG_CSV + "m2,ctrl,7,270\n"
    with pytest.raises(DataError) as err:
        read_long(write(tmp_path, "d.csv", text), **LONG_ARGS)
    assert "duplicate (subject, time, observable)" in str(err.value)
    assert "subject 'm2', time 7" in str(err.value)


def test_subject_in_two_arms_is_rejected(tmp_path: Path) -> None:
    text = LONG_CSV + "m1,drug,14,300\n"
    with pytest.raises(DataError, match="subject 'm1' appears in more than one arm"):
        read_long(write(tmp_path, "d.csv", text), **LONG_ARGS)


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", LONG_CSV)
    with pytest.raises(DataError, match="lloq"):
        read_long(path, lloq=-1.0, **LONG_ARGS)
    with pytest.raises(DataError, match="time_shift"):
        read_long(path, time_shift="one", **LONG_ARGS)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="does not exist"):
        read_long(tmp_path / "nope.csv", **LONG_ARGS)
    with pytest.raises(DataError, match="path_or_df"):
        read_long(42, **LONG_ARGS)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="subject_col"):
        read_long(path, subject_col="", arm_col="group", time_col="day", value_col="vol")


# ------------------------------------------------------------ zeros and lloq
def test_zeros_are_kept_and_warned_about_without_lloq(tmp_path: Path) -> None:
    text = LONG_CSV.replace("m3,drug,7,130", "m3,drug,7,0").replace("m2,ctrl,7,260", "m2,ctrl,7,0")
    with pytest.warns(BonemetWarning, match=r"2 value\(s\) are exactly 0.*lloq"):
        table = read_long(write(tmp_path, "d.csv", text), **LONG_ARGS)
    assert len(table) == 6 and (table.frame["value"] == 0).sum() == 2 and table.n_censored == 0


def test_lloq_left_censors_values_below_the_limit(tmp_path: Path) -> None:
    text = LONG_CSV.replace("m3,drug,7,130", "m3,drug,7,0").replace("m2,ctrl,7,260", "m2,ctrl,7,4.9")
    text = text.replace("m1,ctrl,7,200", "m1,ctrl,7,5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_long(write(tmp_path, "d.csv", text), lloq=5, **LONG_ARGS)
    frame = table.frame.set_index(["subject", "time"])
    assert frame.loc[("m3", 7.0), "value"] == 5.0 and frame.loc[("m3", 7.0), "censored"]
    assert frame.loc[("m2", 7.0), "value"] == 5.0 and frame.loc[("m2", 7.0), "censored"]
    assert frame.loc[("m1", 7.0), "value"] == 5.0 and not frame.loc[("m1", 7.0), "censored"]
    assert table.n_censored == 2 and len(table) == 6
    assert "censored 2 (lloq 5)" in repr(table)


def test_negative_values_are_rejected(tmp_path: Path) -> None:
    text = LONG_CSV.replace("m3,drug,7,130", "m3,drug,7,-3")
    with pytest.raises(DataError, match=r"column 'vol'.*row 6"):
        read_long(write(tmp_path, "d.csv", text), **LONG_ARGS)


# ------------------------------------------------------------------ read_wide
def test_read_wide_skips_blanks_and_reports_them(tmp_path: Path) -> None:
    table = read_wide(write(tmp_path, "w.csv", WIDE_CSV))
    assert len(table) == 9
    assert table.blanks_skipped == 3
    assert "blank cells skipped (not measured) 3" in repr(table)
    assert table.subjects_in("Vehicle") == ("1", "2")
    s2 = table.subset(subject="2").frame
    assert s2["time"].tolist() == [0.0, 7.0] and s2["value"].tolist() == [110.0, 210.0]


def test_to_wide_round_trips_the_wide_file(tmp_path: Path) -> None:
    table = read_wide(write(tmp_path, "w.csv", WIDE_CSV))
    wide = table.to_wide()
    original = pd.read_csv(tmp_path / "w.csv")
    assert list(wide.columns) == ["arm", "subject", 0.0, 7.0, 14.0, 21.0]
    np.testing.assert_array_equal(wide[[0.0, 7.0, 14.0, 21.0]].to_numpy(), original.iloc[:, 2:].to_numpy())
    assert wide["arm"].tolist() == original["Treatment"].tolist()
    back = read_wide(wide, arm_col="arm", subject_col="subject")
    pd.testing.assert_frame_equal(back.frame, table.frame)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (WIDE_CSV.replace("Drug,3,105,150", "Drug,3,105,dead"), r"column '7'.*row 3 \(line 4 of w.csv\).*'dead'"),
        (WIDE_CSV.replace("Treatment,Mouse,0,7,14,21", "Treatment,Mouse,0,7,14,note"), "column 'note' is not a day"),
        (WIDE_CSV.replace("Treatment,Mouse,0,7", "Treatment,Mouse,-1,7"), r"negative day column\(s\) \['-1'\]"),
        (WIDE_CSV.replace("Drug,3,", "Drug,2,"), "subject '2' appears twice"),
        (WIDE_CSV.replace("Treatment,Mouse", "Group,Mouse"), r"'Treatment' \(from arm_col\).*available"),
        (WIDE_CSV.replace("Drug,3,105", "Drug,3,-105"), "negative value -105"),
        # a line with an extra separator made pandas take its first fields as row labels (TypeError before);
        # a line missing one had its last day padded as missing
        (WIDE_CSV.replace("Drug,3,105", "Drug,3,1,05"), r"line 4 of 'w.csv' has 7 fields, the header has 6"),
        (WIDE_CSV.replace("Drug,3,105,", "Drug,3,"), r"line 4 of 'w.csv' has 5 fields, the header has 6"),
    ],
)
def test_read_wide_errors_name_the_item(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(DataError, match=pattern):
        read_wide(write(tmp_path, "w.csv", text))


def test_read_wide_warns_about_subjects_without_any_measurement(tmp_path: Path) -> None:
    text = WIDE_CSV + "Drug,4,,,,\n"
    with pytest.warns(BonemetWarning, match=r"\['4'\] have no measurement"):
        table = read_wide(write(tmp_path, "w.csv", text))
    assert "4" not in table.subjects and table.blanks_skipped == 7


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.floats(0.5, 1e4)), min_size=4, max_size=4).filter(
            lambda row: any(v is not None for v in row)
        ),
        min_size=1,
        max_size=6,
    )
)
def test_read_wide_counts_every_cell_once(rows: list[list[float | None]]) -> None:
    values = np.array([[np.nan if v is None else v for v in row] for row in rows])
    df = pd.DataFrame(values, columns=["0", "3", "7", "10"])
    df.insert(0, "Mouse", [f"m{i}" for i in range(len(rows))])
    df.insert(0, "Treatment", ["A" if i % 2 else "B" for i in range(len(rows))])
    table = read_wide(df)
    assert len(table) == int(np.isfinite(values).sum())
    assert table.blanks_skipped == int(np.isnan(values).sum())
    np.testing.assert_allclose(np.sort(table.frame["value"].to_numpy()), np.sort(values[np.isfinite(values)]))


# ------------------------------------------------------------ table methods
def test_subset_and_unknown_names(tmp_path: Path) -> None:
    table = read_long(write(tmp_path, "d.csv", LONG_CSV), **LONG_ARGS)
    assert table.subset(arm="drug").subjects == ("m3",)
    assert table.subset(arm=["ctrl"], subject="m2").frame["value"].tolist() == [120, 260]
    with pytest.raises(DataError, match=r"unknown arm\(s\) \['placebo'\].*\['ctrl', 'drug'\]"):
        table.subset(arm="placebo")
    with pytest.raises(DataError, match="no rows match"):
        table.subset(arm="drug", subject="m1")


def test_table_is_immutable_and_frame_is_a_copy(tmp_path: Path) -> None:
    table = read_long(write(tmp_path, "d.csv", LONG_CSV), **LONG_ARGS)
    frame = table.frame
    frame.loc[0, "value"] = -1.0
    assert table.frame.loc[0, "value"] == 100.0
    with pytest.raises(AttributeError):
        table.lloq = 3.0  # type: ignore[misc]


def test_repr_summarises_counts(tmp_path: Path) -> None:
    text = repr(read_long(write(tmp_path, "d.csv", LONG_CSV), **LONG_ARGS))
    assert "6 values, 3 subjects, 2 arms" in text
    assert "ctrl: 2 subjects, 4 values, 0 censored, days 0-7" in text
    assert "time 0-7 days" in text


def test_datatable_constructor_validates_frame() -> None:
    with pytest.raises(DataError, match=r"missing column\(s\) \['observable'\]"):
        DataTable(pd.DataFrame({"subject": ["a"], "arm": ["x"], "time": [0.0], "value": [1.0]}))
    frame = pd.DataFrame(
        {"subject": ["a"], "arm": ["x"], "time": [0.0], "observable": ["v"], "value": [1.0], "censored": ["maybe"]}
    )
    with pytest.raises(DataError, match="column 'censored' must be boolean.*'maybe'"):
        DataTable(frame)


# ----------------------------------------------------------- bundled datasets
def test_bundled_sw837_matches_the_published_table() -> None:
    table = load_invivosyn("sw837")
    assert table.arms == ("Vehicle", "Rabusertib", "Irinotecan", "Irinotecan + Rabusertib")
    assert len(table.subjects) == 24 and len(table) == 120 and table.blanks_skipped == 0
    np.testing.assert_array_equal(table.times, [0.0, 7.0, 14.0, 21.0, 25.0])
    first = table.subset(subject="1").frame["value"].tolist()
    assert first == [289.28, 514.685, 655.625, 1180.553, 909.891]
    assert [len(table.subjects_in(a)) for a in table.arms] == [6, 6, 8, 4]


def test_bundled_cr1197_keeps_zero_volumes() -> None:
    with pytest.warns(BonemetWarning, match=r"2 value\(s\) are exactly 0"):
        table = load_invivosyn("CR1197")
    assert table.blanks_skipped > 0 and table.times.min() == 33.0
    censored = load_invivosyn("CR1197", lloq=1.0)
    assert censored.n_censored == 2 and len(censored) == len(table)


def test_bundled_files_and_licence_ship_with_the_package() -> None:
    for name in INVIVOSYN_DATASETS:
        path = Path(invivosyn_path(name))
        assert path.is_file()
    folder = Path(invivosyn_path("SW837")).parent
    assert "MIT License" in (folder / "LICENSE.md").read_text(encoding="utf-8")
    assert "7dcab78" in (folder / "README.md").read_text(encoding="utf-8")
    with pytest.raises(DataError, match="unknown invivoSyn dataset 'LS_1034'"):
        load_invivosyn("LS_1034")


def test_a_directory_is_named_as_a_directory(tmp_path):
    """A folder given as the data path was reported as 'does not exist'."""
    (tmp_path / "dv").mkdir()
    for reader in (read_long, read_wide):
        with pytest.raises(DataError, match=r"'.*dv' is a directory; expected a data file"):
            reader(tmp_path / "dv")
    with pytest.raises(DataError, match="does not exist"):
        read_long(tmp_path / "nothing.csv")


def test_read_long_without_an_arm_column(tmp_path):
    """arm_col=None: every row in one arm, read from the file itself, so errors name the file and its lines and
    list only the file's columns (the command line used to add an internal '__arm__' column to a DataFrame)."""
    path = write(tmp_path, "vol.csv", "mouse,day,vol\nm1,0,100\nm1,7,NA\nm2,0,120\n")
    with pytest.warns(BonemetWarning, match="vol.csv: dropped 1 row"):
        table = read_long(path, subject_col="mouse", arm_col=None, time_col="day", value_col="vol")
    assert set(table.frame["arm"]) == {"all"} and table.subjects == ("m1", "m2")
    assert table.dropped[["row", "line", "reason"]].values.tolist() == [[2, 3, "vol is 'NA' (a missing-value marker)"]]
    with pytest.warns(BonemetWarning):
        assert set(read_long(path, subject_col="mouse", arm_col=None, arm="control", time_col="day",
                             value_col="vol").arms) == {"control"}
    with pytest.raises(DataError) as info:
        read_long(path, arm_col=None, time_col="day", value_col="vol")
    assert str(info.value) == ("vol.csv: missing column(s) 'subject' (from subject_col); "
                               "available columns are ['mouse', 'day', 'vol']")
    bad = write(tmp_path, "bad.csv", "mouse,day,vol\nm1,0,100\nm1,x,3\n")
    with pytest.raises(DataError, match=r"bad.csv: column 'day' must be numeric; .*line 3 of bad.csv"):
        read_long(bad, subject_col="mouse", arm_col=None, time_col="day", value_col="vol")
    with pytest.raises(DataError, match="arm: expected a non-empty arm name"):
        read_long(path, subject_col="mouse", arm_col=None, arm=" ", time_col="day", value_col="vol")

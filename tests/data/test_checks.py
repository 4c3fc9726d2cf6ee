"""Value checks: dropped columns, missing targets, empty data, infinities, durations,
nested columns and values beyond float32."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from losstune.data import DataError, load_dataset


def test_drop_removes_leaky_columns(mixed_frame):
    ds = load_dataset(mixed_frame, target="label", drop=["income", "member"])
    assert ds.source_columns == ("age", "city")
    assert not any(name.startswith(("income", "member")) for name in ds.feature_names)


def test_drop_accepts_a_single_name(mixed_frame):
    assert "income" not in load_dataset(mixed_frame, "label", drop="income").source_columns


def test_drop_of_an_absent_column_is_refused(mixed_frame):
    with pytest.raises(DataError, match=r"'incme'.*Did you mean 'income'.*Fix: remove it"):
        load_dataset(mixed_frame, target="label", drop=["incme"])


def test_drop_of_the_target_is_refused(mixed_frame):
    with pytest.raises(DataError, match=r"includes the target 'label'.*Fix"):
        load_dataset(mixed_frame, target="label", drop=["label"])


def test_rows_with_a_missing_target_are_dropped_with_a_warning(mixed_frame):
    mixed_frame.loc[[0, 1, 2, 9], "label"] = None
    with pytest.warns(UserWarning, match=r"Dropped 4 of 300 rows whose target 'label'"):
        ds = load_dataset(mixed_frame, target="label")
    assert len(ds.y_train) + len(ds.y_valid) + len(ds.y_test) == 296


def test_all_missing_target_is_refused(mixed_frame):
    mixed_frame["label"] = np.nan
    with pytest.raises(DataError, match=r"'label' has no values.*all 300 rows.*Fix: check"):
        load_dataset(mixed_frame, target="label")


def test_frame_without_rows_is_refused():
    frame = pd.DataFrame({"x": pd.Series([], dtype=float), "y": pd.Series([], dtype=int)})
    with pytest.raises(DataError, match=r"no rows.*Fix"):
        load_dataset(frame, target="y")


def test_frame_without_feature_columns_is_refused(mixed_frame):
    with pytest.raises(DataError, match=r"No feature columns.*'label'.*Fix: keep at least one"):
        load_dataset(mixed_frame, target="label", drop=["age", "income", "city", "member"])


def test_infinite_feature_values_are_named(mixed_frame):
    mixed_frame.loc[5, "income"] = np.inf
    mixed_frame.loc[6, "age"] = -np.inf
    with pytest.raises(
        DataError,
        match=r"Infinite values in column\(s\) 'age', 'income'.*"
        r"Fix: replace them with NaN",
    ):
        load_dataset(mixed_frame, target="label")


def test_infinite_target_values_are_named():
    frame = pd.DataFrame({"x": np.arange(50.0), "y": np.linspace(0, 1, 50)})
    frame.loc[4, "y"] = np.inf
    with pytest.raises(DataError, match=r"Infinite values in column\(s\) 'y'.*NaN"):
        load_dataset(frame, target="y")


def test_duration_columns_are_refused_with_a_fix(mixed_frame):
    mixed_frame["tenure"] = pd.to_timedelta(np.arange(len(mixed_frame)), unit="D")
    with pytest.raises(DataError, match=r"'tenure'.*Fix: convert them to numbers.*total_seconds"):
        load_dataset(mixed_frame, target="label")


@pytest.mark.parametrize(
    ("cells", "kind"),
    [
        ([[1, 2], [3]], "lists"),
        ([np.array([1.0]), np.array([2.0, 3.0])], "lists"),
        ([{"x": 1}, {"x": 2}], "structs"),
    ],
)
def test_nested_columns_are_refused_naming_them_and_the_drop(cells, kind):
    frame = pd.DataFrame({"x": np.arange(40.0), "y": [0, 1] * 20})
    frame["nested"] = pd.Series(cells * 20, dtype=object)
    with pytest.raises(
        DataError,
        match=rf"'nested' \({kind}\) hold nested values.*drop=\['nested'\].*--drop nested",
    ):
        load_dataset(frame, target="y")
    assert load_dataset(frame, target="y", drop=["nested"]).feature_names == ("x",)


def test_pyarrow_nested_columns_are_refused_with_their_arrow_type():
    import pyarrow as pa

    frame = pd.DataFrame({"x": np.arange(40.0), "y": [0, 1] * 20})
    frame["tags"] = pd.Series([[1], [2, 3]] * 20, dtype=pd.ArrowDtype(pa.list_(pa.int64())))
    with pytest.raises(DataError, match=r"'tags' \(list<item: int64>\) hold nested values"):
        load_dataset(frame, target="y")


def test_feature_values_beyond_float32_are_refused_naming_the_columns():
    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0), "y": [0, 1] * 20})
    frame.loc[3, "b"] = -1e300
    frame.loc[4, "a"] = 5e38
    with pytest.raises(
        DataError,
        match=r"'a' \(up to 5e\+38\), 'b' \(up to 1e\+300\) hold values beyond the float32 "
        r"range.*Fix: rescale them.*drop=\['a', 'b'\]",
    ):
        load_dataset(frame, target="y")
    frame.loc[[3, 4], ["a", "b"]] = 3e38  # just inside float32
    assert np.isfinite(load_dataset(frame, target="y").X_train).all()


def test_numbers_in_text_beyond_float32_are_refused():
    frame = pd.DataFrame({"a": [str(i) for i in range(100)], "y": np.arange(100.0) % 2})
    frame.loc[5, "a"] = "1e300"
    frame.loc[6, "a"] = "?"
    with pytest.raises(DataError, match=r"'a' \(up to 1e\+300\) hold values beyond"):
        load_dataset(frame, target="y")


def test_a_regression_target_beyond_float32_is_refused_but_class_labels_are_not():
    frame = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0)})
    frame.loc[2, "y"] = 1e40
    with pytest.raises(DataError, match=r"'y' \(up to 1e\+40\) hold values beyond"):
        load_dataset(frame, target="y")
    labels = frame.assign(y=np.where(np.arange(40) % 2, 1e40, 0.0))
    assert load_dataset(labels, target="y").classes.tolist() == [0.0, 1e40]

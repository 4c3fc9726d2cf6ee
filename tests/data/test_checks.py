"""Value checks: dropped columns, missing targets, empty data, infinities, dates."""

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


def test_date_columns_are_refused_with_a_fix(mixed_frame):
    mixed_frame["signup"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.arange(len(mixed_frame)), unit="D"
    )
    with pytest.raises(DataError, match=r"'signup'.*Fix: convert them to numbers"):
        load_dataset(mixed_frame, target="label")

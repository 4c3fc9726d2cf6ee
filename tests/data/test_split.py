"""Seeded, stratified train/valid/test splits and their up-front checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from losstune.data import DataError, load_dataset
from losstune.data.split import split_rows, split_sizes


def test_sizes_are_fractions_of_all_rows():
    assert split_sizes(569, 0.2, 0.2) == (341, 114, 114)
    assert split_sizes(100, 0.1, 0.3) == (60, 30, 10)
    ds = load_dataset(load_breast_cancer(), test_size=0.25, valid_size=0.15)
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (340, 86, 143)


def test_splits_are_disjoint_and_cover_every_row():
    splits = split_rows(1000, test_size=0.2, valid_size=0.2, seed=3)
    rows = np.concatenate([splits.train, splits.valid, splits.test])
    assert np.array_equal(np.sort(rows), np.arange(1000))


def test_classification_splits_are_stratified():
    ds = load_dataset(load_digits())
    overall = np.bincount(np.concatenate([ds.y_train, ds.y_valid, ds.y_test])) / 1797
    for y in (ds.y_train, ds.y_valid, ds.y_test):
        np.testing.assert_allclose(np.bincount(y, minlength=10) / len(y), overall, atol=0.01)
    np.testing.assert_array_equal(ds.class_counts, np.bincount(ds.y_train, minlength=10))
    assert ds.class_counts.dtype == np.int64


def test_same_seed_same_splits_other_seed_other_splits():
    first, again = load_dataset(load_diabetes(), seed=1), load_dataset(load_diabetes(), seed=1)
    other = load_dataset(load_diabetes(), seed=2)
    np.testing.assert_array_equal(first.X_train, again.X_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.y_test, other.y_test)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_size": 0}, r"test_size=0 must be a fraction.*Fix: pass e\.g\. test_size=0\.2"),
        ({"test_size": 1.5}, r"test_size=1\.5 must be a fraction"),
        ({"valid_size": -0.1}, r"valid_size=-0\.1 must be a fraction"),
        ({"valid_size": 30}, r"valid_size=30 must be a fraction"),
        ({"test_size": "0.2"}, r"test_size='0\.2' must be a fraction"),
        ({"test_size": 0.5, "valid_size": 0.5}, r"leaves no rows for training.*Fix: make their"),
    ],
)
def test_bad_fractions_are_refused(kwargs, message):
    with pytest.raises(DataError, match=message):
        load_dataset(load_breast_cancer(), **kwargs)


@pytest.mark.parametrize("seed", [None, -1, 1.5, "0"])
def test_bad_seed_is_refused(seed):
    with pytest.raises(DataError, match=r"seed=.* must be an integer.*Fix: pass e\.g\. seed=0"):
        load_dataset(load_breast_cancer(), seed=seed)


def test_class_too_small_to_stratify_is_named_with_its_count():
    frame = pd.DataFrame({"x": np.arange(40.0), "y": ["a"] * 20 + ["b"] * 18 + ["rare"] * 2})
    with pytest.raises(
        DataError,
        match=r"'rare' \(2 rows\).*at least 3 rows.*"
        r"Fix: drop these rows or merge these classes into "
        r"others\.$",
    ):
        load_dataset(frame, target="y")


def test_numeric_class_too_small_suggests_regression():
    frame = pd.DataFrame({"x": np.arange(40.0), "y": [0] * 20 + [1] * 19 + [7]})
    with pytest.raises(DataError, match=r"7 \(1 row\).*task='regression'"):
        load_dataset(frame, target="y")


def test_split_too_small_for_one_row_per_class():
    frame = pd.DataFrame({"x": np.arange(12.0), "y": ["a", "b", "c"] * 4})
    with pytest.raises(
        DataError,
        match=r"test split would hold 2 row\(s\).*3 classes.*"
        r"Fix: add rows.*at least 0\.25",
    ):
        load_dataset(frame, target="y", test_size=0.1, valid_size=0.3)


def test_regression_splits_need_only_a_row_each():
    frame = pd.DataFrame({"x": np.arange(5.0), "y": np.linspace(0, 1, 5)})
    ds = load_dataset(frame, target="y")
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (3, 1, 1)

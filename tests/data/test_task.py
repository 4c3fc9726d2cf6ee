"""The task inference rule, ``task=`` overrides, and target encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine

from losstune.data import DataError, infer_task, load_dataset
from losstune.data.task import MAX_INTEGER_CLASSES, encode_target
from losstune.task import Task


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["a", "b", "a"], Task.BINARY),
        (["a", "b", "c"], Task.MULTICLASS),
        (pd.Categorical(["lo", "hi", "lo"]), Task.BINARY),
        ([True, False, True], Task.BINARY),
        (pd.array(["x", None, "y", "z"], dtype="string"), Task.MULTICLASS),
        ([0.0, 1.0, 0.0, np.nan], Task.BINARY),
        ([1, 2, 3, 2], Task.MULTICLASS),
        ([0.5, 1.0, 2.0], Task.REGRESSION),
        (np.arange(MAX_INTEGER_CLASSES), Task.MULTICLASS),
        (np.arange(MAX_INTEGER_CLASSES + 1), Task.REGRESSION),
        (np.arange(100.0), Task.REGRESSION),
    ],
)
def test_inference_rule(values, task):
    assert infer_task(values) is task


@pytest.mark.parametrize(
    ("loader", "task"),
    [
        (load_breast_cancer, Task.BINARY),
        (load_digits, Task.MULTICLASS),
        (load_wine, Task.MULTICLASS),
        (load_diabetes, Task.REGRESSION),
    ],
)
def test_inferred_task_of_real_datasets(loader, task):
    assert load_dataset(loader()).task is task


def test_constant_target_is_refused():
    frame = pd.DataFrame({"x": range(10), "y": ["spam"] * 10})
    with pytest.raises(DataError, match=r"'y' is constant.*'spam'.*Fix: choose another target"):
        load_dataset(frame, target="y")


def test_constant_numeric_target_is_refused_even_as_regression():
    frame = pd.DataFrame({"x": range(10), "y": [2.5] * 10})
    with pytest.raises(DataError, match=r"constant.*2\.5.*Fix"):
        load_dataset(frame, target="y", task="regression")


def test_regression_on_text_is_refused():
    frame = pd.DataFrame({"x": range(12), "y": ["cat", "dog", "eel"] * 4})
    with pytest.raises(
        DataError,
        match=r"task='regression' needs a numeric target.*'cat'.*"
        r"Fix: use task='binary' or 'multiclass'",
    ):
        load_dataset(frame, target="y", task="regression")


def test_binary_with_three_classes_is_refused():
    with pytest.raises(
        DataError,
        match=r"task='binary' needs 2 classes.*has 3.*"
        r"Fix: use task='multiclass'",
    ):
        load_dataset(load_wine(), task="binary")


def test_unknown_task_name_lists_the_valid_ones():
    with pytest.raises(DataError, match=r"'classification'.*binary, multiclass, regression"):
        load_dataset(load_wine(), task="classification")


def test_task_override_turns_few_valued_integers_into_regression():
    frame = pd.DataFrame({"x": np.arange(60.0), "count": np.arange(60) % 5})
    assert load_dataset(frame, target="count").task is Task.MULTICLASS
    ds = load_dataset(frame, target="count", task="regression")
    assert ds.task is Task.REGRESSION
    assert ds.y_train.dtype == np.float32
    assert ds.classes is None and ds.class_counts is None and ds.n_classes is None


def test_classification_codes_follow_sorted_labels():
    codes, classes = encode_target(pd.Series(["b", "c", "a", "b"]), Task.MULTICLASS)
    assert classes.tolist() == ["a", "b", "c"]
    assert codes.tolist() == [1, 2, 0, 1]
    assert codes.dtype == np.int64


def test_categorical_target_keeps_its_category_order():
    y = pd.Series(pd.Categorical(["lo", "hi", "mid"], categories=["lo", "mid", "hi"]))
    codes, classes = encode_target(y, Task.MULTICLASS)
    assert classes.tolist() == ["lo", "mid", "hi"]
    assert codes.tolist() == [0, 2, 1]


def test_loaded_targets_have_the_documented_dtypes():
    ds = load_dataset(load_digits())
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert load_dataset(load_diabetes()).y_valid.dtype == np.float32

"""The ColumnTransformer: fitted on the training split only, NaN-free, rare categories grouped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from losstune.data import DataError, load_dataset
from losstune.data.split import split_rows
from losstune.data.task import encode_target
from losstune.task import Task


def _train_rows(frame: pd.DataFrame, target: str, task: Task) -> np.ndarray:
    codes, classes = encode_target(frame[target], task)
    strata = None if classes is None else pd.Categorical.from_codes(codes, classes)
    return split_rows(len(frame), test_size=0.2, valid_size=0.2, seed=0, strata=strata).train


def test_scaler_is_fit_on_the_training_split_only():
    frame = load_diabetes(as_frame=True).frame
    ds = load_dataset(frame, target="target")
    train = frame.iloc[_train_rows(frame, "target", Task.REGRESSION)]
    scaler = ds.preprocessor.named_transformers_["numeric"][-1]
    features = frame.drop(columns="target")
    np.testing.assert_allclose(scaler.mean_, train.drop(columns="target").mean(), rtol=1e-10)
    assert not np.allclose(scaler.mean_, features.mean(), rtol=1e-3)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-5)
    assert np.abs(ds.X_test.mean(axis=0)).max() > 0.05


def test_imputer_medians_come_from_the_training_split(mixed_frame):
    ds = load_dataset(mixed_frame, target="label")
    train = mixed_frame.iloc[_train_rows(mixed_frame, "label", Task.BINARY)]
    imputer = ds.preprocessor.named_transformers_["numeric"][0]
    np.testing.assert_allclose(imputer.statistics_, train[["age", "income"]].median())


def test_outputs_are_float32_without_missing_values(mixed_frame):
    ds = load_dataset(mixed_frame, target="label")
    for X in (ds.X_train, ds.X_valid, ds.X_test):
        assert X.dtype == np.float32
        assert np.isfinite(X).all()
        assert X.shape[1] == ds.n_features == len(ds.feature_names)


def test_bool_and_text_columns_are_one_hot_encoded(mixed_frame):
    names = load_dataset(mixed_frame, target="label").feature_names
    assert names[:2] == ("age", "income")
    assert {"city_Paris", "city_Lyon", "city_Nice", "member_False", "member_True"} <= set(names)


def test_a_category_seen_once_in_a_thousand_rows_is_grouped():
    rng = np.random.default_rng(0)
    rare = [f"r{i}" for i in range(6)]
    city = np.array(["a"] * 600 + ["b"] * 394 + rare, dtype=object)
    frame = pd.DataFrame({"city": rng.permutation(city), "y": rng.normal(size=1000)})
    ds = load_dataset(frame, target="y")

    assert set(ds.feature_names) == {"city_a", "city_b", "city_infrequent_sklearn"}
    row = ds.transform(pd.DataFrame({"city": ["r0", "a"]}))
    infrequent = ds.feature_names.index("city_infrequent_sklearn")
    np.testing.assert_array_equal(row[:, infrequent], [1, 0])


def test_rare_fraction_zero_keeps_every_category(mixed_frame):
    names = load_dataset(mixed_frame, target="label", rare_category_fraction=0).feature_names
    assert not any("infrequent" in name for name in names)


def test_max_categories_caps_the_one_hot_columns():
    frame = pd.DataFrame({"code": [f"c{i % 100}" for i in range(1000)], "y": np.arange(1000.0)})
    ds = load_dataset(frame, target="y", max_categories=8)
    assert ds.n_features == 8
    assert "code_infrequent_sklearn" in ds.feature_names


def test_mixed_type_categorical_column_is_read_as_text():
    frame = pd.DataFrame({"mixed": [1, "1", "two", None, 2.5] * 20, "y": np.arange(100.0)})
    ds = load_dataset(frame, target="y", rare_category_fraction=0)
    assert set(ds.feature_names) == {"mixed_1", "mixed_two", "mixed_2.5", "mixed_missing"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rare_category_fraction": 1.0}, r"rare_category_fraction=1\.0.*Fix: pass e\.g\. 0\.01"),
        ({"rare_category_fraction": -0.5}, r"rare_category_fraction=-0\.5"),
        ({"max_categories": 1}, r"max_categories=1 must be an integer >= 2.*Fix"),
        ({"max_categories": 2.5}, r"max_categories=2\.5"),
    ],
)
def test_bad_encoding_settings_are_refused(mixed_frame, kwargs, message):
    with pytest.raises(DataError, match=message):
        load_dataset(mixed_frame, target="label", **kwargs)

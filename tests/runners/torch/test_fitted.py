"""FittedModel's predictions in the user's terms, and its pyfunc face on raw rows.

Labels come back in the classes' own dtype (so scikit-learn's metrics take them), raw rows
and preprocessed features give the same predictions, and :class:`RawRowsModel` (what is
logged to MLflow) returns labels, probabilities named by class, or values in target units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.metrics import accuracy_score

from losstune.data import load_dataset
from losstune.recipe import Recipe
from losstune.runners import train
from losstune.runners.outputs import label_array
from losstune.runners.pyfunc import RawRowsModel


def _raw_rows(frame: pd.DataFrame, target: str, dataset, X: np.ndarray) -> pd.DataFrame:
    """The raw rows of ``frame`` whose features are ``X`` (each row found by its features)."""
    features = frame.drop(columns=target)
    position = {row.tobytes(): i for i, row in enumerate(dataset.transform(features))}
    return frame.iloc[[position[row.tobytes()] for row in X]].reset_index(drop=True)


@pytest.fixture(scope="module")
def int_labels():
    """Wine with its integer target column (0, 1, 2) and a model trained for 3 epochs."""
    frame = load_wine(as_frame=True).frame
    data = load_dataset(frame, target="target", seed=0)
    recipe = Recipe.default(data.task, metric="accuracy").replace(epochs=3)
    return frame, data, train(recipe, data)


@pytest.fixture(scope="module")
def str_labels():
    """Wine as a Bunch: the classes are its names, class_0 .. class_2."""
    data = load_dataset(load_wine(), seed=0)
    recipe = Recipe.default(data.task, metric="accuracy").replace(epochs=3)
    return data, train(recipe, data)


def test_integer_labels_stay_integers_and_score_like_the_runner(int_labels):
    frame, data, result = int_labels
    labels = result.model.predict(data.X_test)
    assert labels.dtype == np.int64
    truth = data.classes[data.y_test]
    assert accuracy_score(truth, labels) == pytest.approx(result.test_metrics["accuracy"])
    raw = _raw_rows(frame, "target", data, data.X_test)
    assert np.array_equal(result.model.predict(raw.drop(columns="target")), labels)
    assert np.array_equal(raw["target"].to_numpy(), truth)


def test_string_labels_stay_strings(str_labels):
    data, result = str_labels
    labels = result.model.predict(data.X_test)
    assert labels.dtype.kind == "U"
    assert set(labels) <= {"class_0", "class_1", "class_2"}
    truth = data.classes[data.y_test]
    assert accuracy_score(truth, labels) == pytest.approx(result.test_metrics["accuracy"])


def test_label_array_keeps_one_dtype_and_mixed_labels_as_they_are():
    assert label_array([np.int64(3), np.int64(7)]).dtype == np.int64
    assert label_array([True, False]).dtype == bool
    assert label_array(["a", "bb"]).dtype.kind == "U"
    mixed = label_array([1, "b"])
    assert mixed.dtype == object and mixed.tolist() == [1, "b"]


def test_the_pyfunc_model_predicts_labels_and_named_probabilities_on_raw_rows(int_labels):
    frame, data, result = int_labels
    raw = _raw_rows(frame, "target", data, data.X_test).drop(columns="target")
    model = RawRowsModel.of(result.model, data.source_columns, list(data.classes))
    shuffled = raw[list(reversed(raw.columns))].assign(extra=1)  # order and extras do not matter
    labels = model.predict(None, shuffled)
    assert labels.dtype == np.int64
    assert np.array_equal(labels, result.model.predict(data.X_test))
    proba = model.predict(None, raw, params={"predict_method": "predict_proba"})
    assert isinstance(proba, pd.DataFrame)
    assert proba.columns.tolist() == [0, 1, 2] == data.classes.tolist()
    np.testing.assert_allclose(proba.to_numpy(), result.model.predict_proba(data.X_test))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(proba.idxmax(axis=1).to_numpy(), labels)


def test_the_pyfunc_model_refuses_missing_columns_and_unknown_methods(str_labels):
    data, result = str_labels
    model = RawRowsModel.of(result.model, data.source_columns, list(data.classes))
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['proline'\].*Fix"):
        model.predict(None, data.raw_example.drop(columns="proline"))
    with pytest.raises(ValueError, match="Unknown predict_method 'proba'.*predict_proba"):
        model.predict(None, data.raw_example, params={"predict_method": "proba"})
    with pytest.raises(RuntimeError, match="holds no fitted model"):
        RawRowsModel().predict(None, data.raw_example)


def test_the_pyfunc_regression_model_predicts_in_target_units():
    data = load_dataset(load_diabetes(), seed=0)
    result = train(Recipe.default(data.task).replace(epochs=2), data)
    model = RawRowsModel.of(result.model, data.source_columns, None)
    values = model.predict(None, data.raw_example)
    np.testing.assert_allclose(values, result.model.predict(data.X_valid[: len(values)]))
    assert abs(float(np.mean(values)) - float(np.mean(data.y_train))) < 100  # target units
    with pytest.raises(ValueError, match="predict_proba is for classification"):
        model.predict(None, data.raw_example, params={"predict_method": "predict_proba"})

"""``LosstuneClassifier`` / ``LosstuneRegressor``: scikit-learn's estimator checks, and the
estimators inside ``cross_val_score`` and a ``Pipeline``."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, load_wine, make_regression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from losstune.recipe import Recipe
from losstune.sklearn import LosstuneClassifier, LosstuneRegressor

TINY = dict(n_trials=1, epochs=1, top_k=1, n_seeds=1, device="cpu")
"""One trial of one epoch, one final re-training: a real search, as small as it gets."""
CHECKS_RUN_DIR = "sklearn-check-runs"
"""The checks' searches share one run folder (relative: the module runs in a temporary
folder), which spares each fit creating the MLflow tables: a third of the time."""

# scikit-learn's checks that a one-epoch search cannot pass, each with the reason
EXPECTED_FAILURES = {
    "check_classifiers_train": "one epoch of one trial does not reach the accuracy bar (0.83) "
    "these checks hold every classifier to; a real budget does",
    "check_regressors_train": "one epoch of one trial does not reach the R² bar these checks "
    "hold every regressor to; a real budget does",
}


def _expected_failures(estimator):
    return {k: v for k, v in EXPECTED_FAILURES.items() if k in _APPLIES[type(estimator)]}


_APPLIES = {
    LosstuneClassifier: {"check_classifiers_train"},
    LosstuneRegressor: {"check_regressors_train"},
}


@pytest.fixture(scope="module", autouse=True)
def _in_a_temporary_folder(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("sklearn"))
        yield


@pytest.fixture(autouse=True)
def _quiet():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("losstune").setLevel(logging.ERROR)
    yield
    logging.getLogger("losstune").setLevel(logging.NOTSET)


@pytest.mark.slow
@parametrize_with_checks(
    [
        LosstuneClassifier(**TINY, run_dir=CHECKS_RUN_DIR),
        LosstuneRegressor(**TINY, run_dir=CHECKS_RUN_DIR),
    ],
    expected_failed_checks=_expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
def test_cross_val_score_fits_one_search_per_fold():
    X, y = load_iris(return_X_y=True)
    scores = cross_val_score(LosstuneClassifier(**TINY, run_dir="cv-runs"), X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.slow
def test_in_a_pipeline_on_a_dataframe_with_text_labels_and_categories():
    wine = load_wine(as_frame=True)
    X = wine.data.assign(kind=np.where(wine.data["alcohol"] > 13, "strong", "mild"))
    y = pd.Series(wine.target_names[wine.target])
    model = make_pipeline(FunctionTransformer(), LosstuneClassifier(**{**TINY, "epochs": 5}))
    model.fit(X, y)
    estimator = model[-1]
    assert list(estimator.classes_) == sorted(wine.target_names)
    assert list(estimator.feature_names_in_) == list(X.columns)
    assert estimator.n_features_in_ == X.shape[1]
    assert isinstance(estimator.best_recipe_, Recipe)
    assert estimator.result_.recipe == estimator.best_recipe_
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    predicted = model.predict(X)
    assert set(predicted) <= set(wine.target_names)
    assert np.array_equal(predicted, estimator.classes_[proba.argmax(1)])
    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.predict(X), predicted)


@pytest.mark.slow
def test_regressor_scores_r2_and_keeps_its_params():
    X, y = make_regression(120, 4, noise=1.0, random_state=0)
    regressor = LosstuneRegressor(**{**TINY, "epochs": 20})
    assert clone(regressor).get_params() == regressor.get_params()
    regressor.fit(X, y)
    assert regressor.score(X, y) > 0.5
    assert regressor.predict(X).dtype == np.float64


def test_refusals_name_the_fix():
    with pytest.raises(ValueError, match="at least 2 classes in y"):
        LosstuneClassifier(**TINY).fit(np.zeros((20, 2)), np.ones(20))
    with pytest.raises(ValueError, match="at least 10 rows"):
        LosstuneClassifier(**TINY).fit(np.zeros((4, 2)), [0, 1, 0, 1])

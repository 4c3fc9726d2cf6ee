"""The LightGBM family's hyperparameters: LightGBM's names, bounded domains, its reports."""

import pytest

from losstune.models import make_model_factory
from losstune.models.lightgbm import REPORT_EVERY, LightGBM


def test_the_defaults_are_lightgbms_and_its_parameters_keep_their_names():
    model = LightGBM()
    params = model.lightgbm_params()
    assert params["learning_rate"] == 0.1 and params["num_leaves"] == 31
    assert params["min_child_samples"] == 20 and params["bagging_freq"] == 0
    assert set(params) <= set(model.params())  # the rounds are lgb.train's, not params
    assert model.max_rounds == 1000 and model.early_stopping_rounds == 50


@pytest.mark.parametrize(("rounds", "reports"), [(1, 1), (10, 1), (11, 2), (1000, 100)])
def test_reports_are_every_report_every_rounds_rounded_up(rounds, reports):
    assert REPORT_EVERY == 10
    assert LightGBM(max_rounds=rounds).max_reports() == reports


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"learning_rate": 0.0}, r"'learning_rate' must be > 0"),
        ({"num_leaves": 1}, r"'num_leaves' must be >= 2"),
        ({"num_leaves": 10**6}, r"'num_leaves' must be <= 131072"),
        ({"feature_fraction": 1.5}, r"'feature_fraction' must be <= 1"),
        ({"max_rounds": 10**9}, r"'max_rounds' must be <= 100000"),
        ({"init_score": "mean"}, r"'init_score' must be one of"),
        ({"n_estimators": 100}, r"unknown hyperparameter"),
    ],
)
def test_bad_values_name_the_hyperparameter(params, message):
    with pytest.raises(ValueError, match=message):
        make_model_factory("lightgbm", params)

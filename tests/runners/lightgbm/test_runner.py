"""The LightGBM runner: boosted trees trained with the recipe's loss, temperature and
weighting, reporting every REPORT_EVERY rounds, re-training to the same model."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from losstune.models.lightgbm import REPORT_EVERY
from losstune.recipe import Component, Recipe
from losstune.runners import TrainingDiverged, get_runner, runner_for, train
from losstune.runners.lightgbm import FittedBooster, LightGBMRunner, train_lightgbm
from losstune.task import Task

SMALL = {"max_rounds": 60, "early_stopping_rounds": 20}


def lightgbm(task, metric, **changes):
    recipe = Recipe.default(task, metric, model="lightgbm")
    model = Component("lightgbm", {**recipe.model.params, **SMALL})
    return recipe.replace(model=model, **changes)


@pytest.mark.parametrize(
    ("data", "metric"), [("wine", "accuracy"), ("cancer", "roc_auc"), ("diabetes", "rmse")]
)
def test_each_task_trains_reports_and_retrains_to_the_same_model(request, data, metric):
    dataset = request.getfixturevalue(data)
    recipe = lightgbm(dataset.task, metric)
    reports = []
    first = train(recipe, dataset, reporter=lambda step, m: reports.append((step, dict(m))))
    again = train(recipe, dataset)
    assert isinstance(runner_for(recipe), LightGBMRunner)
    assert isinstance(first.model, FittedBooster) and first.device == "cpu"
    assert first.test_metrics == again.test_metrics and first.valid_metrics == again.valid_metrics
    assert [step for step, _ in reports] == list(range(1, len(reports) + 1))
    assert len(reports) <= SMALL["max_rounds"] // REPORT_EVERY
    assert f"valid_{metric}" in reports[0][1] and reports[0][1]["hessian_floored"] == 0.0
    assert [h["epoch"] for h in first.history] == [float(s) for s, _ in reports]
    # the reported test score is the fitted model's predictions scored on the raw labels
    if dataset.task is Task.MULTICLASS:
        labels = first.model.predict(dataset.X_test)
        truth = np.asarray(dataset.classes)[dataset.y_test]
        assert labels.dtype == truth.dtype
        assert accuracy_score(truth, labels) == pytest.approx(first.test_score)
        proba = first.model.predict_proba(dataset.raw_example)
        assert proba.shape == (len(dataset.raw_example), 3)
        assert proba.sum(1) == pytest.approx(1.0)
    if dataset.task is Task.REGRESSION:
        rmse = np.sqrt(np.mean((first.model.predict(dataset.X_test) - dataset.y_test) ** 2))
        assert rmse == pytest.approx(first.test_score)
        with pytest.raises(ValueError, match="predict_proba is for classification"):
            first.model.predict_proba(dataset.X_test)


def test_the_searched_loss_temperature_and_weighting_change_the_model(wine):
    base = train(lightgbm(wine.task, "accuracy"), wine).model.outputs(wine.X_test)
    for change in (
        {"loss": Component("focal", {"gamma": 2.0})},
        {"temperature": 2.0},
        {"weighting": Component("inverse_frequency")},
        {"weighting": Component("dynamic", {"warmup": 0.0})},
    ):
        outputs = train(lightgbm(wine.task, "accuracy", **change), wine).model.outputs(wine.X_test)
        assert not np.allclose(outputs, base), change


def test_a_switching_scheme_is_fitted_in_two_phases_from_its_switch_round(cancer):
    recipe = lightgbm(cancer.task, "accuracy", weighting=Component("deferred", {"start": 0.5}))
    reports = []
    fitted = train(recipe, cancer, reporter=lambda step, m: reports.append(step)).model
    first, second = fitted.stages
    plain = train(lightgbm(cancer.task, "accuracy"), cancer).model.stages[0]
    # the first phase is the unweighted run, cut at half its best round
    assert first.rounds == max(1, round(0.5 * plain.rounds))
    assert plain.booster.model_to_string(num_iteration=first.rounds) == (
        first.booster.model_to_string(num_iteration=first.rounds)
    )
    assert fitted.n_rounds == first.rounds + second.rounds
    assert reports == list(range(1, len(reports) + 1))  # one curve, no step twice


def test_a_reporter_that_raises_stops_the_run(wine):
    class Stop(Exception):
        pass

    def stop_at_two(step, metrics):
        if step == 2:
            raise Stop

    with pytest.raises(Stop):
        train(lightgbm(wine.task, "accuracy"), wine, reporter=stop_at_two)


def test_devices_and_wrong_recipes(wine, diabetes):
    runner = get_runner("lightgbm")
    assert runner.check_device("auto") == runner.check_device("cuda:1") == "cpu"
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        runner.check_device("tpu")
    with pytest.raises(ValueError, match="trains the 'lightgbm' model"):
        train_lightgbm(Recipe.default(wine.task, "accuracy"), wine)
    with pytest.raises(ValueError, match="recipe is for a multiclass task"):
        train(lightgbm(wine.task, "accuracy"), diabetes)


def test_a_diverging_objective_is_a_training_divergence(wine, monkeypatch):
    from losstune.objectives.boosting import BoostingObjective, Derivatives

    def nan(self, scores, target):
        grad = np.full(scores.shape, np.nan)
        return Derivatives(grad, grad.copy(), grad.copy(), 0)

    monkeypatch.setattr(BoostingObjective, "derivatives", nan)
    with pytest.raises(TrainingDiverged, match="gradient became non-finite at round 1"):
        train(lightgbm(wine.task, "accuracy"), wine)

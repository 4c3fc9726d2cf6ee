import numpy as np
import pytest
import torch

from losstune.optim import OPTIMIZERS, SCHEDULES
from losstune.recipe import Component, Recipe
from losstune.runners import CallbackReporter, TrainingDiverged, train
from losstune.runners.torch import resolve_device


def test_default_recipe_learns_wine_and_reports_every_epoch(wine):
    recipe = Recipe.default(wine.task, metric="accuracy").replace(epochs=15)
    seen = []
    result = train(recipe, wine, reporter=CallbackReporter(lambda e, m: seen.append((e, dict(m)))))
    assert [e for e, _ in seen] == list(range(1, 16))
    # per epoch: the recipe's metric plus the cheap ones; every metric at the end
    assert set(seen[0][1]) == {"train_loss", "valid_accuracy", "valid_log_loss"}
    assert {"roc_auc", "macro_f1", "balanced_accuracy"} <= set(result.valid_metrics)
    assert seen[-1][1]["train_loss"] < seen[0][1]["train_loss"]
    assert result.test_score > 0.85  # wine is easy; chance is ~0.4
    assert len(result.history) == 15 and result.history[-1]["epoch"] == 15.0
    assert result.valid_metrics["accuracy"] == seen[-1][1]["valid_accuracy"]


def test_same_recipe_and_seed_give_the_same_score_and_global_rng_is_untouched(cancer):
    recipe = Recipe.default(cancer.task, metric="accuracy").replace(
        epochs=4, loss=Component("focal", {"gamma": 2.0}), weighting=Component("dynamic")
    )
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = train(recipe, cancer)
    after = torch.rand(1)
    second = train(recipe, cancer)
    assert first.history == second.history
    assert first.test_metrics == second.test_metrics
    assert torch.equal(before, after)  # training used its own forked RNG
    other_seed = train(recipe.replace(seed=1), cancer)
    assert other_seed.history != first.history


def test_binary_uses_one_logit_and_log_prior_bias_starts_at_the_prior(cancer):
    recipe = Recipe.default(cancer.task, metric="accuracy").replace(
        epochs=1, model=Component("mlp", {"width": 16, "depth": 1, "bias_init": "log_prior"})
    )
    result = train(recipe, cancer)
    head = result.model.module[-1]
    assert head.out_features == 1
    proba = result.model.predict_proba(cancer.X_test)
    assert proba.shape == (len(cancer.X_test), 2) and np.allclose(proba.sum(1), 1)
    labels = result.model.predict(cancer.X_test)
    assert set(labels) <= set(cancer.classes)


def test_regression_predicts_in_target_units(diabetes):
    recipe = Recipe.default(diabetes.task).replace(epochs=30, loss=Component("huber"))
    result = train(recipe, diabetes)
    baseline = float(np.std(diabetes.y_test))
    assert result.test_metrics["rmse"] < baseline  # better than predicting the mean
    preds = result.model.predict(diabetes.X_test)
    assert abs(float(np.mean(preds)) - float(np.mean(diabetes.y_train))) < 30


@pytest.mark.parametrize("schedule", SCHEDULES.names())
def test_every_schedule_trains_with_sam(wine, schedule):
    recipe = Recipe.default(wine.task, metric="accuracy").replace(
        epochs=2, wrapper=Component("sam", {"rho": 0.05}), schedule=Component(schedule)
    )
    result = train(recipe, wine)
    assert np.isfinite(result.history[-1]["train_loss"]) and result.test_score > 0.3


@pytest.mark.parametrize("optimizer", OPTIMIZERS.names())
def test_every_optimizer_trains_an_mlp(wine, optimizer):
    recipe = Recipe.default(wine.task, metric="accuracy").replace(
        epochs=10, batch_size=16, optimizer=Component(optimizer)
    )
    result = train(recipe, wine)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_divergence_is_reported_clearly(diabetes):
    recipe = Recipe.default(diabetes.task, metric="rmse").replace(
        epochs=3, optimizer=Component("sgd", {"lr": 10.0, "momentum": 0.99})
    )
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        train(recipe, diabetes)


def test_task_mismatch_and_bad_device_are_refused(wine):
    with pytest.raises(
        ValueError, match="recipe is for a regression task but the dataset is multiclass"
    ):
        train(Recipe.default("regression"), wine)
    with pytest.raises(ValueError, match="Unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_matches_task(wine):
    recipe = Recipe.default(wine.task, metric="accuracy").replace(epochs=5)
    result = train(recipe, wine, device="cuda")
    assert result.device.startswith("cuda") and result.test_score > 0.8


def _mup_recipe(dataset, width: int, **changes):
    model = {"width": width, "depth": 2, "parametrization": "mup", "base_width": 64}
    return Recipe.default(dataset.task, metric="accuracy").replace(
        model=Component("mlp", model), **changes
    )


def test_mup_recipe_builds_its_optimizer_over_per_layer_learning_rates(wine):
    """Width 256 over base 64: AdamW's hidden matrix at lr / 4, the rest at lr; SAM steps the
    same groups, and the one-cycle schedule starts each at its own peak / 25."""
    from losstune.runners.torch.runner import _Run

    recipe = _mup_recipe(
        wine,
        256,
        optimizer=Component("adamw", {"lr": 4e-3, "weight_decay": 0.01}),
        wrapper=Component("sam"),
        schedule=Component("onecycle"),
    )
    run = _Run(recipe, wine, torch.device("cpu"))
    groups = run.optimizer.param_groups
    peaks = sorted((g["max_lr"], g["weight_decay"]) for g in groups)
    assert peaks == [(1e-3, pytest.approx(0.04)), (4e-3, 0.01)]
    assert sorted(g["lr"] for g in groups) == pytest.approx([1e-3 / 25, 4e-3 / 25])
    assert sum(len(g["params"]) for g in groups) == 6


def test_mup_at_the_base_width_trains_exactly_like_standard(wine):
    standard = Recipe.default(wine.task, metric="accuracy").replace(
        epochs=3, model=Component("mlp", {"width": 64, "depth": 2})
    )
    mup = _mup_recipe(wine, 64, epochs=3)
    assert train(mup, wine).history == train(standard, wine).history


@pytest.mark.parametrize("optimizer", OPTIMIZERS.names())
def test_every_optimizer_trains_a_mup_mlp(wine, optimizer):
    recipe = _mup_recipe(wine, 512, epochs=10, batch_size=16, optimizer=Component(optimizer))
    result = train(recipe, wine)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]

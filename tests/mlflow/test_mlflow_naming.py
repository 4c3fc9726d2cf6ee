"""How searches are named in MLflow: experiment per dataset, readable parent and trial run
names, common hyperparameter names, the recipe as params."""

from __future__ import annotations

from datetime import datetime

import pytest
from sklearn.datasets import load_wine

import losstune
from losstune.mlflow.naming import (
    common_params,
    dataset_name,
    experiment_name,
    recipe_params,
    search_run_name,
    trial_run_name,
)
from losstune.recipe import Recipe
from losstune.search.config import RunConfig


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine(), seed=0)


def test_a_dataset_is_named_after_its_file_else_its_target_and_fingerprint(wine):
    assert dataset_name(wine, {"path": "/data/Wine Quality.csv"}) == "Wine Quality"
    assert dataset_name(wine, {"path": "/data/../sales (2026).parquet"}) == "sales _2026"
    assert dataset_name(wine) == f"{wine.target}-{wine.fingerprint[:10]}"
    assert dataset_name(wine, {"target": "x"}) == dataset_name(wine)  # a source without a file


def test_the_experiment_is_one_per_dataset():
    assert experiment_name("wine") == "losstune/wine"


def test_the_search_run_reads_dataset_metric_and_start():
    when = datetime(2026, 12, 7, 18, 30, 59)
    assert search_run_name("wine", "accuracy", when) == "wine accuracy 2026-12-07 18:30"


def test_pruned_trials_are_named_so():
    assert trial_run_name(7) == "trial-0007"
    assert trial_run_name(7, "complete") == "trial-0007"
    assert trial_run_name(7, "pruned") == "trial-0007 (pruned)"


def test_common_params_come_from_the_chosen_optimizer_only():
    params = {"optimizer": "lion", "optimizer.lion.lr": 3e-4, "optimizer.adamw.lr": 1e-3}
    assert common_params(params) == {"lr": 3e-4}
    assert common_params({**params, "lr": 1.0}) == {}  # never overwrites a param
    assert common_params({"loss": "focal"}) == {}


def test_recipe_params_flatten_every_searched_value():
    params = recipe_params(Recipe.default("multiclass", "accuracy"))
    assert params["recipe.loss"] == "cross_entropy"
    assert params["recipe.optimizer"] == "adamw"
    assert params["recipe.optimizer.lr"] == 0.001
    assert params["recipe.model.width"] == 256
    assert params["recipe.wrapper"] == "none"
    assert params["recipe.batch_size"] == 128 and params["recipe.temperature"] == 1.0
    assert all(key.startswith("recipe.") for key in params)
    assert not {"recipe.task", "recipe.metric", "recipe.provenance"} & set(params)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201, 3])
def test_a_bad_experiment_name_is_refused_with_the_rule(bad):
    with pytest.raises(ValueError, match="experiment_name must be a non-empty string"):
        RunConfig(experiment_name=bad)

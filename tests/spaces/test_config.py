import random

import pytest

from losstune.recipe import Component, Recipe, RecipeError, sensible
from losstune.spaces import (
    SpaceError,
    config_to_recipe,
    default_space,
    recipe_in_space,
    recipe_to_config,
)
from losstune.task import Task

METRICS = {Task.BINARY: "accuracy", Task.MULTICLASS: "accuracy", Task.REGRESSION: "rmse"}


@pytest.mark.parametrize("task", list(Task))
def test_sampled_configs_round_trip_through_recipes(task, pick_random):
    space, rng = default_space(task), random.Random(f"round-trip-{task}")
    seen = set()
    for _ in range(200):
        config = space.sample(pick_random(rng))
        recipe = config_to_recipe(config, task=task, metric=METRICS[task], seed=3)
        assert recipe.task is task and recipe.seed == 3
        # a recipe keeps 4 significant digits of every real number (recipe.sensible)
        assert recipe_to_config(recipe, space) == {k: sensible(v) for k, v in config.items()}
        seen.add(recipe.loss.name)
    assert seen == set(space["loss"].options)


def test_a_config_sets_names_searched_params_and_scalars():
    config = {
        "loss": "focal",
        "loss.focal.gamma": 1.5,
        "optimizer": "lion",
        "optimizer.lion.lr": 3e-4,
        "wrapper": "sam",
        "wrapper.sam.rho": 0.1,
        "temperature": 2.0,
        "batch_size": 256,
    }
    recipe = config_to_recipe(config, task="binary", metric="accuracy")
    assert recipe.loss == Component("focal", {"gamma": 1.5, "alpha": None})
    assert recipe.torch.optimizer.params["lr"] == 3e-4
    assert recipe.torch.optimizer.params["weight_decay"] == 0.1, "unsearched: the lion default"
    assert recipe.torch.wrapper == Component("sam", {"rho": 0.1})
    assert (recipe.temperature, recipe.torch.batch_size, recipe.torch.epochs) == (2.0, 256, 30)
    assert recipe.model == Recipe.default("binary", "accuracy").model
    no_sam = {k: v for k, v in config.items() if not k.startswith("wrapper")} | {"wrapper": "none"}
    assert config_to_recipe(no_sam, task="binary", metric="accuracy").torch.wrapper is None


def test_unsearched_fields_and_params_come_from_the_base():
    base = Recipe.default("binary", "accuracy").replace(
        loss=Component("focal", {"gamma": 2.0, "alpha": 0.25}), epochs=7, batch_size=32
    )
    recipe = config_to_recipe(
        {"loss.focal.gamma": 1.0, "loss": "focal"}, task="binary", metric="accuracy", base=base
    )
    assert recipe.loss.params == {"gamma": 1.0, "alpha": 0.25}
    assert (recipe.torch.epochs, recipe.torch.batch_size) == (7, 32)
    other = config_to_recipe({"loss": "gce"}, task="binary", metric="accuracy", base=base)
    assert other.loss.params == {"q": 0.7}, "another loss starts from its own defaults"


def test_configs_with_stray_paths_are_refused():
    with pytest.raises(SpaceError, match=r"\['loss\.gce\.q'\] have no place in a recipe"):
        config_to_recipe({"loss": "focal", "loss.gce.q": 0.5}, task="binary", metric="accuracy")
    with pytest.raises(SpaceError, match=r"\['seed'\]"):
        config_to_recipe({"seed": 1}, task="binary", metric="accuracy")
    with pytest.raises(RecipeError, match=r"recipe\.loss: 'mse' does not apply to binary"):
        config_to_recipe({"loss": "mse"}, task="binary", metric="accuracy")


@pytest.mark.parametrize("task", list(Task))
def test_the_default_recipe_is_in_the_default_space(task):
    space, default = default_space(task), Recipe.default(task, METRICS[task])
    config = recipe_to_config(default, space)
    assert recipe_in_space(default, space)
    assert space.contains(config)
    assert config["model"] == "mlp" and config["wrapper"] == "none"
    assert config_to_recipe(config, task=task, metric=METRICS[task]) == default


def test_recipes_outside_a_space_are_not_in_it():
    space = default_space("binary").restrict("loss", ["cross_entropy"])
    default = Recipe.default("binary", "accuracy")
    focal = default.replace(loss=Component("focal", {"gamma": 2.0}))
    assert recipe_in_space(default, space)
    assert not recipe_in_space(focal, space)
    with pytest.raises(
        SpaceError,
        match=r"loss='focal' does not fit the space: 'loss' is a choice of 'cross_entropy'\.",
    ):
        recipe_to_config(focal, space)
    assert not recipe_in_space(default.replace(epochs=5), space)
    assert not recipe_in_space(default.replace(batch_size=100), space)
    narrow_lr = default_space("binary").set(
        "optimizer.adamw.lr", default_space("binary")["loss.gce.q"]
    )
    assert not recipe_in_space(default, narrow_lr)


def test_space_paths_a_recipe_cannot_hold_are_refused():
    space = default_space("binary").set("loss.focal.beta", default_space("binary")["loss.gce.q"])
    focal = Recipe.default("binary", "accuracy").replace(loss=Component("focal"))
    with pytest.raises(
        SpaceError, match=r"'loss\.focal\.beta' names no hyperparameter of loss 'focal'"
    ):
        recipe_to_config(focal, space)


def test_a_lightgbm_config_makes_a_recipe_without_a_torch_block_and_back():
    space = default_space("binary")
    config = {
        "model": "lightgbm",
        "model.lightgbm.num_leaves": 64,
        "loss": "focal",
        "loss.focal.gamma": 1.0,
        "temperature": 0.5,
        "weighting": "none",
    }
    recipe = config_to_recipe(config, task="binary", metric="accuracy")
    assert recipe.torch is None and recipe.model.params["num_leaves"] == 64
    assert recipe.model.params["learning_rate"] == 0.1, "unsearched: LightGBM's default"
    back = recipe_to_config(recipe, space)
    assert back["model"] == "lightgbm" and "optimizer" not in back and "epochs" not in back
    assert back["model.lightgbm.num_leaves"] == 64 and back["loss.focal.gamma"] == 1.0
    assert config_to_recipe(back, task="binary", metric="accuracy") == recipe
    with pytest.raises(SpaceError, match=r"sets \['batch_size'\], which only a torch-trained"):
        config_to_recipe({**config, "batch_size": 64}, task="binary", metric="accuracy")
    mlp = config_to_recipe({"model": "mlp"}, task="binary", metric="accuracy", base=recipe)
    assert mlp.torch == Recipe.default("binary", "accuracy").torch

"""Spaces are held to the recipe's domains: a path that names no hyperparameter, or a value
the recipe would refuse, fails when the space is loaded, not in every trial."""

import re

import pytest

from losstune.spaces import (
    Choice,
    Fixed,
    Float,
    Int,
    SearchSpace,
    SpaceError,
    check_space,
    config_to_recipe,
    default_space,
    load_space,
)
from losstune.spaces.domains import check_param


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_default_space_passes(task):
    check_space(default_space(task))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "epochs: {low: 0, high: 40}",
            "'epochs': low=0 lies outside the domain of the recipe's epochs, an integer in "
            "[1, 10000]; keep every value inside it.",
        ),
        ("epochs: 100000000", "'epochs': value=100000000 lies outside"),
        ("epochs: [10, 20000]", "'epochs': option=20000 lies outside"),
        (
            "temperature: {low: 0.5, high: 1.0e+30}",
            "'temperature': high=1e+30 lies outside the domain of the recipe's temperature, "
            "a number in [0.01, 100]",
        ),
        (
            "wrapper.sam.rho: {low: 0.01, high: 1.0e+9}",
            "'wrapper.sam.rho': high=1000000000.0 lies outside the domain of wrapper 'sam''s "
            "'rho', a number in [0.0001, 5]",
        ),
        (
            "model.mlp.width: {low: 32, high: 1000000000000}",
            "'model.mlp.width': high=1000000000000 lies outside",
        ),
        ("model.mlp.dropout: {low: 0, high: 1}", "'model.mlp.dropout': high=1.0 lies outside"),
        ("loss.focal.alpha: 2", "'loss.focal.alpha': value=2 lies outside"),
        (
            "loss.focal.foo: 1",
            "'loss.focal.foo': loss 'focal' has no hyperparameter 'foo'. Its hyperparameters: "
            "'gamma', 'alpha'.",
        ),
        (
            "optimizer.adamw.beta_1: 0.95",
            "'optimizer.adamw.beta_1': optimizer 'adamw' has no hyperparameter 'beta_1'. "
            "Did you mean 'beta1'? Its hyperparameters: 'lr', 'beta1', 'beta2', 'eps', "
            "'weight_decay'.",
        ),
        (
            "model.mlp.base_width: {low: 32.5, high: 64}",
            "'model.mlp.base_width': the range [32.5, 64.0] gives values outside the domain of "
            "model 'mlp''s 'base_width', an integer in [1, 65536]; give whole-number bounds.",
        ),
        (
            "model.mlp.parametrization: {low: 1, high: 2}",
            "'model.mlp.parametrization': the range [1, 2] gives values outside the domain of "
            "model 'mlp''s 'parametrization', one of ['standard', 'mup']; give a list of values.",
        ),
        ("model.mlp.bias_init: [zero, prior]", "Unknown option 'prior' for 'model.mlp.bias_init'"),
        (
            "model.mlp.parametrization: [standard, mu]",
            "'model.mlp.parametrization': option='mu' lies outside the domain of model 'mlp''s "
            "'parametrization', one of ['standard', 'mup']",
        ),
    ],
)
def test_load_space_refuses_what_the_recipe_would_refuse(tmp_path, text, message):
    path = tmp_path / "space.yaml"
    path.write_text(text + "\n")
    with pytest.raises(SpaceError, match=re.escape(f"{path}: {message}")):
        load_space(path, default_space("multiclass"))


def test_load_space_checks_the_base_it_narrows(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("loss: [cross_entropy, focal]\n")
    with pytest.raises(SpaceError, match=r"'epochs': value=100000000 lies outside"):
        load_space(path, default_space("binary", epochs=100_000_000))


@pytest.mark.parametrize(
    ("path", "param", "message"),
    [
        ("los", Choice(("focal",)), "'los' has no place in a recipe. Did you mean 'loss'?"),
        ("seed", Fixed(3), "'seed' has no place in a recipe."),
        ("loss.focal", Fixed(1.0), "'loss.focal' has no place in a recipe."),
        ("loss", Choice(("focal", "focl")), "'loss': Unknown loss 'focl'. Did you mean 'focal'?"),
        ("loss", Float(0, 1), "'loss' names a loss; give a list of names or one name"),
        ("loss", Fixed(3), "'loss': loss names are text; got 3."),
        ("wrapper", Choice(("none", "sam")), None),
        ("wrapper.none.rho", Fixed(0.1), "'wrapper.none.rho': wrapper 'none' has no hyperparam"),
        ("loss.focl.gamma", Fixed(1.0), "'loss.focl.gamma': Unknown loss 'focl'. Did you mean"),
        ("optimizer.sgd.nesterov", Choice((True, False)), None),
        ("optimizer.sgd.nesterov", Fixed(1), "'optimizer.sgd.nesterov': value=1 lies outside"),
        ("optimizer.sgd.nesterov", Int(0, 1), "give a list of values."),
        ("optimizer.adamw.lr", Float(1e-9, 1e-3, log=True), "low=1e-09 lies outside"),
        ("optimizer.adamw.lr", Float(1e-4, 1e-2, log=True), None),
        ("loss.focal.gamma", Int(1, 3), None),
        ("epochs", Float(1, 3), "give whole-number bounds."),
    ],
)
def test_check_param(path, param, message):
    if message is None:
        check_param(path, param)
        return
    with pytest.raises(SpaceError, match=re.escape(message)):
        check_param(path, param)


def test_every_config_of_a_checked_space_builds_a_recipe(pick_random):
    import random

    space = default_space("multiclass").apply(
        {
            "epochs": {"low": 1, "high": 10_000},
            "temperature": {"low": 0.01, "high": 100.0, "log": True},
            "wrapper.sam.rho": {"low": 1e-4, "high": 5.0, "log": True},
            "model.mlp.width": {"low": 1, "high": 4096, "log": True},
        }
    )
    check_space(space)
    pick = pick_random(random.Random(0))
    for _ in range(200):
        config_to_recipe(space.sample(pick), task="multiclass", metric="accuracy")


def test_a_space_that_is_not_a_recipe_space_is_refused_by_check_space_only():
    custom = SearchSpace({"x": Float(0.0, 1.0)})
    assert custom.apply({"x": {"low": 0.2, "high": 0.4}})["x"] == Float(0.2, 0.4)
    with pytest.raises(SpaceError, match="'x' has no place in a recipe"):
        check_space(custom)

"""The runner seam: the registry, the dispatch on the model family, the result contract."""

import subprocess
import sys
from dataclasses import dataclass

import pytest

from losstune._registry import UnknownNameError
from losstune.models import MODELS
from losstune.models.mlp import MLP
from losstune.recipe import Component, Recipe
from losstune.runners import RUNNERS, Fitted, TrainResult, get_runner, runner_for, train
from losstune.runners.torch import TorchRunner


@dataclass(frozen=True)
class _Family(MLP):
    runner = "fake"


class _FakeRunner:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def train(self, recipe, dataset, *, reporter=None, device="auto") -> TrainResult:
        self.calls.append((recipe, dataset, reporter, device))
        return TrainResult(model=None, metric=recipe.metric)  # type: ignore[arg-type]


def test_train_hands_the_recipe_to_the_runner_its_family_names(monkeypatch, wine):
    fake = _FakeRunner()
    monkeypatch.setattr(_Family, "name", "fake_family")
    monkeypatch.setitem(MODELS._members, "fake_family", _Family)
    monkeypatch.setitem(RUNNERS._members, "fake", fake)
    recipe = Recipe.default("binary").replace(model=Component("fake_family"), torch=None)
    result = train(recipe, wine, reporter=print, device="cpu")
    assert runner_for(recipe) is fake
    assert fake.calls == [(recipe, wine, print, "cpu")] and result.metric == recipe.metric


def test_the_mlp_goes_to_the_registered_torch_runner():
    runner = runner_for(Recipe.default("multiclass"))
    assert isinstance(runner, TorchRunner) and runner is get_runner("torch")


def test_an_unknown_runner_lists_the_built_in_ones_even_before_they_are_imported():
    code = "from losstune.runners import get_runner; get_runner('jax')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (
        "UnknownNameError: Unknown runner 'jax'. Known runner names: lightgbm, torch." in out.stderr
    )
    with pytest.raises(UnknownNameError, match="Unknown runner 'jax'"):
        get_runner("jax")


def test_a_trained_model_is_fitted(wine):
    result = train(Recipe.default(wine.task, metric="accuracy").replace(epochs=1), wine)
    assert isinstance(result.model, Fitted)
    assert result.model.predict(wine.X_test).shape == (len(wine.X_test),)
    assert result.valid_score == result.valid_metrics["accuracy"]

"""The runner contract: what trains a recipe, what it hands back, and the registry keyed by
model family.

A model family names its runner (``losstune.models.MLP.runner == "torch"``); :func:`train`
looks the family up and hands the recipe to that runner. Nothing here imports torch: a
runner's own package does, when it is first used.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from losstune._registry import Registry
from losstune.runners.reporter import EpochCallback, Reporter

if TYPE_CHECKING:
    from losstune.data import Dataset
    from losstune.recipe import Recipe


class ModelTracker(Protocol):
    """Where a fitted model logs itself: an MLflow run (``losstune.mlflow.SearchTracker``).

    ``log_model`` is an MLflow flavour's function (``mlflow.pytorch.log_model``, or one that
    passes ``model`` on as ``mlflow.pyfunc.log_model(python_model=model, ...)``); the tracker
    calls it as ``log_model(model, name=name, model_id=..., run_id=..., **options)`` and
    returns the URI that loads the model: the absolute path of its artifacts for a local
    store, else ``models:/<id>`` (which loads where ``MLFLOW_TRACKING_URI`` names the store).
    """

    def log_flavor_model(
        self, log_model: Callable[..., Any], model: Any, *, name: str, **options: Any
    ) -> str: ...


@runtime_checkable
class Fitted(Protocol):
    """A trained model that predicts on raw rows (a DataFrame) or preprocessed features."""

    def predict(self, X: Any) -> Any:
        """Class labels in their own dtype (classification) or target values (regression)."""
        ...

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities ``(N, K)``; classification only."""
        ...

    def log_to(
        self, tracker: ModelTracker, input_example: Any = None, *, name: str = "model"
    ) -> str:
        """Log the model into ``tracker``'s run as an MLflow pyfunc model that predicts on
        raw rows (``input_example``: a few of them, e.g. ``dataset.raw_example``); return the
        URI that loads it with ``mlflow.pyfunc.load_model``."""
        ...


@dataclass
class TrainResult:
    """The fitted model, the per-epoch history and the final validation and test metrics."""

    model: Fitted
    metric: str
    history: list[dict[str, float]] = field(default_factory=list)
    valid_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    seconds: float = 0.0

    @property
    def valid_score(self) -> float:
        return self.valid_metrics[self.metric]

    @property
    def test_score(self) -> float:
        return self.test_metrics[self.metric]


class Runner(Protocol):
    """Trains one recipe of the model families that name it; reports after every epoch."""

    def train(
        self,
        recipe: Recipe,
        dataset: Dataset,
        *,
        reporter: Reporter | EpochCallback | None = None,
        device: str = "auto",
    ) -> TrainResult: ...

    def check_device(self, device: str) -> str:
        """The device ``device`` (``auto``, ``cpu``, ``cuda[:N]``) means on this machine;
        ValueError when it is not there (checked before a search's first trial)."""
        ...


RUNNERS: Registry[Runner] = Registry("runner")

# The built-in runners register themselves when their package is imported; importing them
# on first use keeps ``import losstune.runners`` free of torch (as entry points would).
_BUILTIN = {"torch": "losstune.runners.torch", "lightgbm": "losstune.runners.lightgbm"}


def get_runner(name: str) -> Runner:
    """The registered runner ``name``, importing a built-in one on first use (every built-in
    one for an unknown name, so that the error lists them)."""
    if name not in RUNNERS:
        for module in [_BUILTIN[name]] if name in _BUILTIN else _BUILTIN.values():
            importlib.import_module(module)
    return RUNNERS.get(name)


def runner_for(recipe: Recipe) -> Runner:
    """The runner that trains ``recipe``'s model family."""
    from losstune.models import MODELS

    return get_runner(MODELS.get(recipe.model.name).runner)


def check_task(recipe: Recipe, dataset: Dataset) -> None:
    """A ValueError when ``recipe`` was made for another task than ``dataset``'s (every
    runner checks it before training)."""
    if recipe.task is not dataset.task:
        raise ValueError(
            f"The recipe is for a {recipe.task.value} task but the dataset is "
            f"{dataset.task.value}; use a recipe made for this dataset."
        )


def train(
    recipe: Recipe | str | os.PathLike[str],
    dataset: Dataset,
    *,
    reporter: Reporter | EpochCallback | None = None,
    device: str = "auto",
) -> TrainResult:
    """Train ``recipe`` (a :class:`Recipe` or the path of a recipe file) on ``dataset`` with
    its family's runner; the same recipe and seed give the same score.

    Raises:
        TypeError: ``recipe`` or ``dataset`` is of the wrong kind.
        RecipeError: the recipe file cannot be read.
        ValueError: the recipe's task does not match the dataset's.
        TrainingDiverged: the training loss became non-finite.
    """
    from losstune.data import Dataset
    from losstune.recipe import Recipe

    if isinstance(recipe, str | os.PathLike):
        recipe = Recipe.load(recipe)
    if not isinstance(recipe, Recipe):
        raise TypeError(
            f"train() takes a Recipe or a recipe file's path, not a {type(recipe).__name__}."
        )
    if not isinstance(dataset, Dataset):
        raise TypeError(
            f"train() takes a Dataset, not a {type(dataset).__name__}: load it first with "
            "losstune.load_dataset(path_or_frame, target=...)."
        )
    return runner_for(recipe).train(recipe, dataset, reporter=reporter, device=device)

"""losstune: dataset in, tuned training recipe out.

The public API is re-exported here and imported on first use, so ``import losstune`` stays
cheap (no torch, and never ray or mlflow, until a name that needs them is touched).

Example:
    >>> import losstune
    >>> from sklearn.datasets import load_wine
    >>> data = losstune.load_dataset(load_wine())
    >>> recipe = losstune.Recipe.default(data.task, metric="accuracy").replace(epochs=5)
    >>> result = losstune.train(recipe, data)
    >>> 0.0 <= result.test_score <= 1.0
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_dataset": "losstune.data",
    "Dataset": "losstune.data",
    "DataError": "losstune.data",
    "Recipe": "losstune.recipe",
    "RecipeError": "losstune.recipe",
    "Component": "losstune.recipe",
    "Task": "losstune.task",
    "train": "losstune.runners",
    "TrainResult": "losstune.runners",
    "TrainingDiverged": "losstune.runners",
    "CallbackReporter": "losstune.runners",
    "METRICS": "losstune.metrics",
    "default_metric": "losstune.metrics",
    "Result": "losstune.search",
}

__all__ = [
    "METRICS",
    "CallbackReporter",
    "Component",
    "DataError",
    "Dataset",
    "Recipe",
    "RecipeError",
    "Result",
    "Task",
    "TrainResult",
    "TrainingDiverged",
    "default_metric",
    "load_dataset",
    "search",
    "train",
]

if TYPE_CHECKING:
    from losstune.data import DataError, Dataset, load_dataset
    from losstune.metrics import METRICS, default_metric
    from losstune.recipe import Component, Recipe, RecipeError
    from losstune.runners import CallbackReporter, TrainingDiverged, TrainResult, train
    from losstune.search import Result, search
    from losstune.task import Task


def __getattr__(name: str) -> Any:
    if name == "search":  # the package is callable: losstune.search(dataset, ...)
        return importlib.import_module("losstune.search")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'losstune' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)

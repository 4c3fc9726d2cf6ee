"""Runners train one recipe and report per-epoch metrics to a reporter.

:func:`train` hands a recipe to the runner its model family names (:data:`RUNNERS`);
``losstune.runners.torch`` is the PyTorch one, ``losstune.runners.lightgbm`` the boosted
trees'. Importing this package does not import torch.
"""

from losstune.runners.base import (
    RUNNERS,
    Fitted,
    ModelTracker,
    Runner,
    TrainResult,
    get_runner,
    runner_for,
    train,
)
from losstune.runners.errors import TrainingDiverged
from losstune.runners.reporter import CallbackReporter, EpochCallback, Reporter

__all__ = [
    "RUNNERS",
    "CallbackReporter",
    "EpochCallback",
    "Fitted",
    "ModelTracker",
    "Reporter",
    "Runner",
    "TrainResult",
    "TrainingDiverged",
    "get_runner",
    "runner_for",
    "train",
]

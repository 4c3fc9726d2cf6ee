# TEMPORARY shim for losstune/search until it is ported; delete afterwards.
"""Old path of :mod:`losstune.runners.torch.runner`, still imported by losstune/search."""

from losstune.runners.base import TrainResult
from losstune.runners.errors import TrainingDiverged
from losstune.runners.torch.runner import resolve_device, train_torch

__all__ = ["TrainResult", "TrainingDiverged", "resolve_device", "train_torch"]

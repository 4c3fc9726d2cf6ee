"""The PyTorch runner (registered as ``"torch"``): one trial (:mod:`.runner`), K trials as one
program (:mod:`.batched`), the fitted model (:mod:`.fitted`) and the μP coordinate check."""

from losstune.runners.torch.fitted import FittedModel
from losstune.runners.torch.runner import TorchRunner, resolve_device, train_torch

__all__ = ["FittedModel", "TorchRunner", "resolve_device", "train_torch"]

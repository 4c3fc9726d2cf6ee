"""What the torch runners build from a recipe and a dataset, so one trial and a batch of trials
start from the same tensors, initial weights and objective.

- :class:`TrainingData`: the training rows on the device (a regression target standardised);
- :func:`torch_training`: the recipe's torch block (optimizer, schedule, batch size, epochs);
- :func:`build_model`: the recipe's module, initialised from the global RNG (the caller seeds
  it), with the output bias at the class prior when the recipe asks for it;
- :func:`build_objective`: the recipe's loss, weighting and temperature;
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from losstune.models import log_prior_bias, n_outputs
from losstune.objectives import Objective
from losstune.task import Task

if TYPE_CHECKING:
    from losstune.data import Dataset
    from losstune.recipe import Recipe, TorchTraining


@dataclass
class TrainingData:
    """Training features and target as device tensors, and the class counts.

    A regression target is standardised (``target_mean``, ``target_std`` undo it), so one
    learning-rate range serves every target scale.
    """

    x: Tensor
    y: Tensor
    class_counts: Tensor | None
    target_mean: float = 0.0
    target_std: float = 1.0

    @classmethod
    def of(cls, dataset: Dataset, device: torch.device) -> TrainingData:
        x = torch.as_tensor(dataset.X_train, dtype=torch.float32, device=device)
        y = np.asarray(dataset.y_train)
        counts = None
        if dataset.task.is_classification:
            counts = torch.as_tensor(dataset.class_counts, dtype=torch.float32, device=device)
        if dataset.task is not Task.REGRESSION:
            return cls(x, torch.as_tensor(y, dtype=torch.int64, device=device), counts)
        mean, std = float(y.mean()), float(y.std()) or 1.0
        target = torch.as_tensor((y - mean) / std, dtype=torch.float32, device=device)
        return cls(x, target, counts, mean, std)


def torch_training(recipe: Recipe) -> TorchTraining:
    """The recipe's torch block; a ValueError for a model family that trains otherwise."""
    if recipe.torch is None:
        raise ValueError(
            f"The torch runner trains torch models; the recipe's {recipe.model.name!r} model "
            "has its own runner (losstune.train picks it)."
        )
    return recipe.torch


def build_model(recipe: Recipe, dataset: Dataset, class_counts: Tensor | None) -> nn.Module:
    """The recipe's module, drawn from the global RNG (seed it first)."""
    factory = recipe.build("model")
    bias = None
    if getattr(factory, "bias_init", "zero") == "log_prior" and class_counts is not None:
        bias = log_prior_bias(dataset.task, class_counts.cpu())
    return factory.build(
        dataset.n_features, n_outputs(dataset.task, dataset.n_classes), output_bias=bias
    )


def build_objective(recipe: Recipe, class_counts: Tensor | None) -> Objective:
    return Objective(
        loss=recipe.build("loss"),
        weighting=recipe.build("weighting"),
        temperature=recipe.temperature,
        class_counts=class_counts,
    )

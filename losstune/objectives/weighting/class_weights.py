"""Shared machinery of the class-based weighting schemes: checked counts, normalisation and
the per-row lookup.

A class-based scheme only says how a weight depends on a class count (``n_c^-rho``,
``(1 - beta) / (1 - beta^n_c)``, ...). :class:`ClassWeighting` does the rest: it validates
the training class counts, normalises the weights so that ``sum_c n_c * w_c = N`` (the
training set keeps its total weight, so the learning rate means the same as unweighted) and
gives each row the weight of its class.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from losstune.objectives.weighting.base import Weighting
from losstune.task import CLASSIFICATION


def check_class_counts(class_counts: Tensor | None, owner: str) -> Tensor:
    """``class_counts`` as a 1-D float64 tensor of positive, finite counts, or a ``ValueError``."""
    if class_counts is None:
        raise ValueError(
            f"{owner} needs the training class counts; got class_counts=None. Pass "
            "class_counts (rows per class, e.g. torch.bincount(y_train)) to the Objective."
        )
    counts = torch.as_tensor(class_counts).detach().to("cpu", torch.float64)
    if counts.ndim != 1 or counts.numel() < 2:
        raise ValueError(
            f"{owner}: class_counts must be a 1-D tensor with one count per class (at least 2); "
            f"got shape {tuple(counts.shape)}."
        )
    bad = torch.nonzero(~torch.isfinite(counts) | (counts <= 0)).flatten().tolist()
    if bad:
        raise ValueError(
            f"{owner}: every class needs a positive training count; class(es) {bad} have "
            f"{counts[bad].tolist()}. Remove or merge classes absent from the training split."
        )
    return counts


def normalise(per_class: Tensor, counts: Tensor) -> Tensor:
    """Scale ``per_class`` so that ``sum_c n_c * w_c = N``."""
    return per_class * counts.sum() / torch.sum(counts * per_class)


def row_weights(per_class: Tensor, target: Tensor, like: Tensor) -> Tensor:
    """Each row's class weight, with the dtype and device of ``like``."""
    return per_class.to(like)[target.long()]


class ClassWeighting(Weighting):
    """A scheme whose weight depends only on the row's class and the training class counts."""

    tasks = CLASSIFICATION

    @abstractmethod
    def class_weights(self, counts: Tensor) -> Tensor:
        """Unnormalised weight of each class from its (checked, float64) count."""

    def normalised_class_weights(
        self, class_counts: Tensor | None, device: torch.device | str = "cpu"
    ) -> Tensor:
        """Per-class weights with ``sum_c n_c * w_c = N``, as float64 on ``device`` (where tensor
        hyperparameters live, when a population is trained)."""
        counts = check_class_counts(class_counts, self.name).to(device)
        return normalise(self.class_weights(counts), counts)

    def __call__(
        self,
        losses: Tensor,
        target: Tensor,
        *,
        class_counts: Tensor | None,
        progress: float,
    ) -> Tensor:
        per_class = self.normalised_class_weights(class_counts, losses.device)
        return row_weights(per_class, target, losses)

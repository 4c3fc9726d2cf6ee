"""The loss contract: per-sample losses registered by name, with their search space.

Output conventions (shared by every runner and loss):

- binary classification: one logit per row, shape ``(N,)``; ``target`` holds 0/1 (int64);
- multiclass: ``(N, K)`` logits; ``target`` holds class indices ``0..K-1`` (int64);
- regression: ``(N,)`` predictions; ``target`` is float.

A loss returns the *per-sample* loss, shape ``(N,)``, so weighting composes as
``sum(w * l) / sum(w)`` (see :mod:`losstune.objectives.objective`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import torch
from torch import Tensor

from losstune._hyper import Hyperparameters
from losstune._registry import Registry
from losstune.task import Task

LOSSES: Registry[type[Loss]] = Registry("loss")


class Loss(Hyperparameters, ABC):
    """A per-sample loss ``(outputs, target) -> (N,)``.

    Subclasses are frozen dataclasses whose fields are hyperparameters, registered with
    ``@LOSSES.register(name)``. ``tasks`` says where the loss applies; ``softmax_based`` says
    whether the searched temperature divides the logits before the loss sees them.

    ``boosting_hessian`` is a constant that gradient boosting uses for every hessian entry
    instead of the derived diagonal (:mod:`losstune.objectives.boosting`); ``None``, the
    default, uses the derived one. Set it where the derived curvature vanishes away from the
    optimum but is bounded above: that bound as a constant hessian makes each step minimise a
    quadratic lying above the loss, so it never overshoots (Huber and log-cosh: 1, as
    LightGBM's own ``huber``). MAE has no curvature to bound; 1 is LightGBM's ``l1`` choice.
    """

    tasks: ClassVar[frozenset[Task]]
    softmax_based: ClassVar[bool] = True
    boosting_hessian: ClassVar[float | None] = None

    def prepare(self, class_counts: Tensor | None) -> Self:
        """Bind training-set statistics the loss needs (class priors); most losses need none."""
        return self

    @abstractmethod
    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        """Per-sample loss of shape ``(N,)``."""


def class_logits(logits: Tensor) -> Tensor:
    """``(N, K)`` logits; a binary ``(N,)`` logit z becomes ``[0, z]``, so softmax = sigmoid."""
    if logits.ndim == 1:
        return torch.stack([torch.zeros_like(logits), logits], dim=1)
    return logits


def make_loss(name: str, params: Mapping[str, Any] | None = None) -> Loss:
    """The registered loss ``name`` built from ``params`` (validated)."""
    return LOSSES.get(name).from_params(params)

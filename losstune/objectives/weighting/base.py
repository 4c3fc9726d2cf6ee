"""The weighting contract: per-sample weights from class counts or per-sample losses.

A scheme maps the detached per-sample losses of a batch, its targets, the training class
counts and the training progress (0 at the first step, 1 at the end) to non-negative weights
of shape ``(N,)``. The objective combines them as ``sum(w * l) / sum(w)``, so only relative
weights matter.

Hyperparameter fields may hold (vmapped) tensors instead of floats, one value per member of a
population (:mod:`losstune.objectives.batched`): schemes therefore use ``torch.where`` rather
than Python ``if`` on a hyperparameter or on batch statistics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor

from losstune._hyper import Hyperparameters
from losstune._registry import Registry
from losstune.task import Task

WEIGHTINGS: Registry[type[Weighting]] = Registry("weighting scheme")


class Weighting(Hyperparameters, ABC):
    """A reweighting scheme; subclasses are frozen dataclasses registered in ``WEIGHTINGS``."""

    tasks: ClassVar[frozenset[Task]]
    switch: ClassVar[str | None] = None
    """The hyperparameter holding the training progress at which the scheme switches from
    uniform weights to its own (``"start"`` for deferred re-weighting), or None for a scheme
    that weights from the start. A boosting runner, whose length early stopping decides,
    fits the two phases one after the other (:mod:`losstune.runners.lightgbm`)."""

    @abstractmethod
    def __call__(
        self,
        losses: Tensor,
        target: Tensor,
        *,
        class_counts: Tensor | None,
        progress: float,
    ) -> Tensor:
        """Weights of shape ``(N,)`` for the batch (``losses`` is already detached)."""


def before(progress: float, threshold: float | Tensor, like: Tensor) -> Tensor:
    """``progress < threshold`` as a bool tensor on ``like``'s device (``threshold`` may be a
    vmapped tensor); a fill rather than a host-to-device copy, so no GPU sync."""
    if isinstance(threshold, Tensor):
        return threshold > progress
    return torch.full((), progress < threshold, dtype=torch.bool, device=like.device)


def make_weighting(name: str, params: Mapping[str, Any] | None = None) -> Weighting:
    """The registered weighting scheme ``name`` built from ``params`` (validated)."""
    return WEIGHTINGS.get(name).from_params(params)

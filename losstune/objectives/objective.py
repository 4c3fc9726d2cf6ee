"""What a runner minimises: a loss, its temperature and a weighting scheme, composed.

``objective(outputs, target, progress) = sum(w * l) / sum(w)`` where ``l`` is the per-sample
loss on temperature-scaled outputs and ``w`` the (detached) weights of the scheme.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune.objectives.base import Loss
from losstune.objectives.temperature import apply_temperature, check_temperature
from losstune.objectives.weighting.base import Weighting


@dataclass(frozen=True)
class Objective:
    """A loss with temperature and weighting; ``class_counts`` are training-set counts."""

    loss: Loss
    weighting: Weighting
    temperature: float = 1.0
    class_counts: Tensor | None = None

    def __post_init__(self) -> None:
        check_temperature(self.temperature)
        if self.temperature != 1.0 and not self.loss.softmax_based:
            raise ValueError(
                f"temperature {self.temperature} has no meaning for the {self.loss.name!r} loss "
                "(it is not softmax-based); set temperature to 1."
            )
        object.__setattr__(self, "loss", self.loss.prepare(self.class_counts))

    def per_sample(self, outputs: Tensor, target: Tensor) -> Tensor:
        """Unweighted per-sample loss, shape ``(N,)``."""
        if self.loss.softmax_based:
            outputs = apply_temperature(outputs, self.temperature)
        return self.loss(outputs, target)

    def __call__(self, outputs: Tensor, target: Tensor, progress: float = 0.0) -> Tensor:
        losses = self.per_sample(outputs, target)
        weights = self.weighting(
            losses.detach(), target, class_counts=self.class_counts, progress=progress
        )
        return torch.sum(weights * losses) / torch.sum(weights).clamp_min(1e-12)

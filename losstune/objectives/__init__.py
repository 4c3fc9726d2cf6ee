"""Objectives: per-sample losses, the temperature that scales logits, weighting schemes, and
the :class:`Objective` that composes them as ``sum(w * l) / sum(w)``.

Example:
    >>> import torch
    >>> objective = Objective(make_loss("focal", {"gamma": 2.0}), make_weighting("none"))
    >>> logits, target = torch.tensor([[2.0, -1.0], [0.0, 1.0]]), torch.tensor([0, 1])
    >>> round(objective(logits, target).item(), 4)
    0.0114
"""

from losstune.objectives import losses, weighting  # noqa: F401  (registers every member)
from losstune.objectives.base import LOSSES, Loss, class_logits, make_loss
from losstune.objectives.batched import BatchedObjective
from losstune.objectives.boosting import BoostingObjective, Derivatives, initial_score
from losstune.objectives.objective import Objective
from losstune.objectives.temperature import apply_temperature, temperature_space
from losstune.objectives.weighting.base import WEIGHTINGS, Weighting, make_weighting

__all__ = [
    "LOSSES",
    "BatchedObjective",
    "BoostingObjective",
    "Derivatives",
    "WEIGHTINGS",
    "Loss",
    "Objective",
    "Weighting",
    "apply_temperature",
    "class_logits",
    "initial_score",
    "make_loss",
    "make_weighting",
    "temperature_space",
]

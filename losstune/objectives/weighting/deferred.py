"""Deferred re-weighting, DRW (Cao et al. 2019, "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss", arXiv:1906.07413).

Train unweighted until a fraction ``start`` of training is done, then switch on
effective-number class weights (Cui et al. 2019). The first phase learns features from all
rows as they come; re-weighting only the late phase re-balances the decision boundary without
the optimisation trouble of weighting from the start. The paper switches at 160 of 200 epochs
(``start = 0.8``) with ``beta = 0.9999``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.weighting.base import WEIGHTINGS, before
from losstune.objectives.weighting.class_weights import ClassWeighting, row_weights
from losstune.objectives.weighting.effective_number import effective_number_weights
from losstune.params import Choice, Float, Param


@WEIGHTINGS.register("deferred")
@dataclass(frozen=True)
class Deferred(ClassWeighting):
    """Weights 1 while ``progress < start``, effective-number class weights afterwards."""

    switch = "start"

    start: float = hyperparameter(0.8, low=0.0, high=1.0)
    beta: float = hyperparameter(0.9999, low=0.0, high=1.0, high_open=True)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"start": Float(0.5, 0.9), "beta": Choice((0.999, 0.9999))}

    def class_weights(self, counts: Tensor) -> Tensor:
        return effective_number_weights(counts, self.beta)

    def __call__(
        self,
        losses: Tensor,
        target: Tensor,
        *,
        class_counts: Tensor | None,
        progress: float,
    ) -> Tensor:
        # computed in both phases: it validates the counts, and ``start`` may be a tensor
        per_class = self.normalised_class_weights(class_counts, losses.device)
        weights = row_weights(per_class, target, losses)
        return torch.where(before(progress, self.start, losses), 1.0, weights)

"""Class-balanced weights by the effective number of samples (Cui et al. 2019, "Class-Balanced
Loss Based on Effective Number of Samples", arXiv:1901.05555).

``w_c ∝ (1 - beta) / (1 - beta^n_c)``: the "effective number" ``(1 - beta^n) / (1 - beta)``
grows like ``n`` for small classes and saturates at ``1 / (1 - beta)`` for large ones, because
extra rows of a big class mostly repeat what it already has. ``beta = 0`` is no weighting,
``beta -> 1`` tends to inverse frequency. Weights are normalised so ``sum_c n_c * w_c = N``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.weighting.base import WEIGHTINGS
from losstune.objectives.weighting.class_weights import ClassWeighting
from losstune.params import Choice, Param


def effective_number_weights(counts: Tensor, beta: float | Tensor) -> Tensor:
    """``(1 - beta) / (1 - beta^n_c)``, written with ``expm1`` so ``beta`` near 1 stays exact.

    ``beta = 0`` needs no special case: ``log 0 = -inf`` gives ``expm1(-inf) / expm1(-inf) = 1``.
    """
    beta = beta.to(counts) if isinstance(beta, Tensor) else counts.new_full((), beta)
    log_beta = torch.log(beta)
    return torch.expm1(log_beta) / torch.expm1(counts * log_beta)


@WEIGHTINGS.register("effective_number")
@dataclass(frozen=True)
class EffectiveNumber(ClassWeighting):
    """Class weights ``(1 - beta) / (1 - beta^n_c)``; the paper searches ``beta`` on a grid."""

    beta: float = hyperparameter(0.999, low=0.0, high=1.0, high_open=True)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"beta": Choice((0.9, 0.99, 0.999, 0.9999))}

    def class_weights(self, counts: Tensor) -> Tensor:
        return effective_number_weights(counts, self.beta)

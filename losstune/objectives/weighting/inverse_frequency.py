"""Inverse class-frequency weights raised to a power: ``w_c ∝ n_c^(-rho)``.

The classic re-balancing baseline (e.g. King & Zeng 2001, "Logistic Regression in Rare Events
Data"; Mikolov et al. 2013 use ``rho = 0.5`` for subsampling): ``rho = 1`` gives every class the
same total weight, ``rho = 0.5`` is the softer inverse square root, ``rho = 0`` is no weighting.
Weights are normalised so that ``sum_c n_c * w_c = N``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.weighting.base import WEIGHTINGS
from losstune.objectives.weighting.class_weights import ClassWeighting
from losstune.params import Float, Param


@WEIGHTINGS.register("inverse_frequency")
@dataclass(frozen=True)
class InverseFrequency(ClassWeighting):
    """Class weights ``n_c^(-rho)``; ``rho = 1`` balances the classes' total weight."""

    rho: float = hyperparameter(1.0, low=0.0, high=2.0)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"rho": Float(0.25, 1.0)}

    def class_weights(self, counts: Tensor) -> Tensor:
        return counts ** (-self.rho)

"""Shared hyperparameters of the Adam family (AdamW, RAdam, NAdam).

The three differ only in the torch class they build; weight decay is *decoupled* in all of
them (Loshchilov & Hutter 2019, arXiv:1711.05101), so one ``weight_decay`` value means the
same thing whichever is picked and their search ranges can be shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from losstune._hyper import hyperparameter
from losstune.optim.base import OptimizerFactory, adam_eps, learning_rate, weight_decay
from losstune.params import Float, Param


@dataclass(frozen=True)
class AdamFamily(OptimizerFactory):
    """``lr``, ``beta1``, ``beta2``, ``eps`` and decoupled ``weight_decay`` of an Adam variant.

    Subclasses only say which torch class ``build`` makes. Under μP they follow
    ``mup.MuAdam``'s learning-rate rule (``update_rule = "adam"``).
    """

    update_rule: ClassVar[str] = "adam"

    lr: float = learning_rate(1e-3)
    beta1: float = hyperparameter(0.9, low=0.0, high=1.0, high_open=True)
    beta2: float = hyperparameter(0.999, low=0.0, high=1.0, high_open=True)
    eps: float = adam_eps(1e-8)
    weight_decay: float = weight_decay(1e-2)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {
            "lr": Float(1e-4, 1e-2, log=True),
            "weight_decay": Float(1e-6, 1e-1, log=True),
        }

    def adam_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every torch Adam variant accepts."""
        return {
            "lr": self.lr,
            "betas": (self.beta1, self.beta2),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }

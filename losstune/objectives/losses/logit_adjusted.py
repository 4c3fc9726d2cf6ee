"""Logit-adjusted cross-entropy (Menon et al. 2021, "Long-Tail Learning via Logit Adjustment",
arXiv:2007.07314).

``CE(z + tau * log pi, y)`` with ``pi`` the *training* class priors: adding the log-prior
during training makes the model learn logits whose argmax is balanced across classes, so
rare classes are no longer swamped. ``tau = 1`` is the paper's default; ``tau = 0`` is CE.

The priors are training-set statistics, bound once with :meth:`LogitAdjusted.prepare`
(:class:`~losstune.objectives.objective.Objective` does it from its ``class_counts``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Self

import torch
import torch.nn.functional as F
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.objectives.base import LOSSES, Loss, class_logits
from losstune.objectives.weighting.class_weights import check_class_counts
from losstune.params import Float, Param
from losstune.task import CLASSIFICATION


@LOSSES.register("logit_adjusted")
@dataclass(frozen=True)
class LogitAdjusted(Loss):
    """Cross-entropy on ``z + tau * log(prior)``; needs :meth:`prepare` with class counts.

    ``tau`` lies in ``[0, 10]``: the paper's optimum is 1 and its sweeps stop near 3; at 10 a
    1:100 imbalance shifts the logits by 46, which no model can train against."""

    tau: float = hyperparameter(1.0, low=0.0, high=10.0)
    log_prior: Tensor | None = dataclasses.field(default=None, repr=False, compare=False)

    tasks = CLASSIFICATION

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"tau": Float(0.0, 2.0)}

    def prepare(self, class_counts: Tensor | None) -> Self:
        """A copy carrying ``log(n_c / N)`` from the training class counts."""
        counts = check_class_counts(class_counts, self.name).double()
        return dataclasses.replace(self, log_prior=torch.log(counts / counts.sum()))

    def __call__(self, outputs: Tensor, target: Tensor) -> Tensor:
        if self.log_prior is None:
            raise RuntimeError(
                f"The {self.name!r} loss has no class priors; call "
                "loss.prepare(class_counts) with the training class counts first "
                "(Objective does this when given class_counts)."
            )
        logits = class_logits(outputs)
        if logits.shape[1] != self.log_prior.numel():
            raise ValueError(
                f"The {self.name!r} loss was prepared for {self.log_prior.numel()} classes but "
                f"got outputs for {logits.shape[1]}; prepare it with this task's class counts."
            )
        adjusted = logits + self.tau * self.log_prior.to(logits)
        return F.cross_entropy(adjusted, target, reduction="none")

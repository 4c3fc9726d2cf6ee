"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", arXiv:2302.06675).

One step, with momentum ``m``, gradient ``g``, learning rate ``lr`` and weight decay ``wd``::

    c = b1 * m + (1 - b1) * g
    p = p - lr * (sign(c) + wd * p)
    m = b2 * m + (1 - b2) * g

Every coordinate moves by exactly ``lr`` (plus decay), so Lion wants a learning rate 3-10x
smaller and a weight decay 3-10x larger than AdamW; it keeps one state tensor instead of two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, overload

import torch
from torch import Tensor
from torch.optim.optimizer import ParamsT

from losstune._hyper import hyperparameter
from losstune.optim.base import OPTIMIZERS, OptimizerFactory, learning_rate, weight_decay
from losstune.params import Float, Param


class Lion(torch.optim.Optimizer):
    """The Lion update as a torch optimizer; ``betas`` is ``(b1, b2)``, as in Adam's groups."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    # torch's Optimizer.step types the closure as returning a float; ours return the loss tensor.
    @overload
    def step(self, closure: None = None) -> None: ...
    @overload
    def step(self, closure: Callable[[], float]) -> float: ...
    @overload
    def step(self, closure: Callable[[], Tensor]) -> Tensor: ...
    @torch.no_grad()
    def step(
        self, closure: Callable[[], float] | Callable[[], Tensor] | None = None
    ) -> float | Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, weight_decay = group["lr"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                direction = (beta1 * m + (1 - beta1) * p.grad).sign_()
                p.add_(direction + weight_decay * p, alpha=-lr)
                m.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss


@OPTIMIZERS.register("lion")
@dataclass(frozen=True)
class LionFactory(OptimizerFactory):
    """Lion; defaults lr 1e-4 and weight decay 0.1 (10x AdamW's lr down, wd up).

    Under μP it follows Adam's rule: a sign step moves every coordinate by ``lr``, the fixed
    per-coordinate step size that ``mup.MuAdam``'s rule is derived for.
    """

    update_rule: ClassVar[str] = "adam"

    lr: float = learning_rate(1e-4)
    beta1: float = hyperparameter(0.9, low=0.0, high=1.0, high_open=True)
    beta2: float = hyperparameter(0.99, low=0.0, high=1.0, high_open=True)
    weight_decay: float = weight_decay(0.1)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {
            "lr": Float(1e-5, 1e-3, log=True),
            "weight_decay": Float(1e-3, 1.0, log=True),
        }

    def build(self, params: ParamsT) -> torch.optim.Optimizer:
        return Lion(
            params, lr=self.lr, betas=(self.beta1, self.beta2), weight_decay=self.weight_decay
        )

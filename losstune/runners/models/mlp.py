"""A multilayer perceptron for preprocessed tabular features."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from losstune._hyper import hyperparameter
from losstune.runners.models.base import MODELS, ModelFactory
from losstune.spaces.params import Choice, Fixed, Float, Int, Param
from losstune.task import Task


@MODELS.register("mlp")
@dataclass(frozen=True)
class MLP(ModelFactory):
    """``depth`` hidden layers of ``width`` units (ReLU, dropout), then a linear head.

    ``depth = 0`` is a linear model. ``bias_init = "log_prior"`` starts the head at the
    training class prior instead of zero.
    """

    width: int = hyperparameter(256, kind=int, low=1)
    depth: int = hyperparameter(2, kind=int, low=0, high=16)
    dropout: float = hyperparameter(0.1, low=0.0, high=1.0, high_open=True)
    bias_init: str = hyperparameter("zero", kind=str, choices=("zero", "log_prior"))

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {
            "width": Int(32, 512, log=True),
            "depth": Int(1, 4),
            "dropout": Float(0.0, 0.5),
            "bias_init": Choice(("zero", "log_prior")),
        }

    @classmethod
    def space_for(cls, task: Task) -> dict[str, Param]:
        """A log-prior bias needs class counts, so regression searches only ``"zero"``."""
        space = cls.space()
        if not task.is_classification:
            space["bias_init"] = Fixed("zero")
        return space

    def build(
        self, n_features: int, n_outputs: int, *, output_bias: Tensor | None = None
    ) -> nn.Module:
        layers: list[nn.Module] = []
        fan_in = n_features
        for _ in range(self.depth):
            layers += [nn.Linear(fan_in, self.width), nn.ReLU(), nn.Dropout(self.dropout)]
            fan_in = self.width
        head = nn.Linear(fan_in, n_outputs)
        with torch.no_grad():
            head.bias.zero_()
            if output_bias is not None:
                head.bias.copy_(torch.as_tensor(output_bias, dtype=head.bias.dtype))
        return nn.Sequential(*layers, head)

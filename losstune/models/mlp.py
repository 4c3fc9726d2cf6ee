"""A multilayer perceptron for preprocessed tabular features."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor, nn
from torch.optim.optimizer import ParamsT

from losstune._hyper import hyperparameter
from losstune.models.base import MODELS, TorchModelFactory
from losstune.params import Choice, Fixed, Float, Int, Param
from losstune.scaling.mup import MuReadout, mup_init_, mup_param_groups, width_multiplier
from losstune.task import Task

if TYPE_CHECKING:
    from losstune.optim.base import OptimizerFactory


MAX_WIDTH = 65_536
"""The widest hidden layer (see :class:`MLP`)."""
MAX_HIDDEN_WEIGHTS = 2**30
"""The most hidden-to-hidden weights, ``(depth - 1) * width**2`` (see :class:`MLP`)."""


@MODELS.register("mlp")
@dataclass(frozen=True)
class MLP(TorchModelFactory):
    """``depth`` hidden layers of ``width`` units (ReLU, dropout), then a linear head.

    ``depth = 0`` is a linear model. ``bias_init = "log_prior"`` starts the head at the
    training class prior instead of zero.

    ``parametrization = "mup"`` is the Maximal Update Parametrisation
    (:mod:`losstune.scaling.mup`): μP initialisation, a :class:`MuReadout` head and per-layer
    learning rates (:meth:`parameter_groups`), so the best learning rate found at one width
    holds at another. At ``width == base_width`` it is the standard parametrisation exactly.
    ``readout_zero_init`` (μP only) starts the head's weights at 0.

    Bounds that protect the machine: ``width`` and ``base_width`` are at most 65,536 (far past any
    tabular MLP: two such layers are joined by 4.3e9 weights, 64 GiB with Adam's state in
    float32), and the
    hidden-to-hidden weights ``(depth - 1) * width**2`` at most :data:`MAX_HIDDEN_WEIGHTS`
    (2**30, 16 GiB trained with Adam), so a typo fails here instead of exhausting memory.
    """

    width: int = hyperparameter(256, kind=int, low=1, high=MAX_WIDTH)
    depth: int = hyperparameter(2, kind=int, low=0, high=16)
    dropout: float = hyperparameter(0.1, low=0.0, high=1.0, high_open=True)
    bias_init: str = hyperparameter("zero", kind=str, choices=("zero", "log_prior"))
    parametrization: str = hyperparameter("standard", kind=str, choices=("standard", "mup"))
    base_width: int = hyperparameter(64, kind=int, low=1, high=MAX_WIDTH)
    readout_zero_init: bool = hyperparameter(False, kind=bool)

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.depth - 1) * self.width**2 > MAX_HIDDEN_WEIGHTS:
            raise ValueError(
                f"mlp: depth={self.depth} layers of width={self.width} hold "
                f"{(self.depth - 1) * self.width**2:.3g} hidden-to-hidden weights, more than "
                f"the {MAX_HIDDEN_WEIGHTS:.3g} (16 GiB trained with Adam) a tabular MLP may "
                "use; lower the width or the depth."
            )
        if self.readout_zero_init and self.parametrization != "mup":
            raise ValueError(
                "mlp: readout_zero_init=True applies to parametrization='mup' only; got "
                f"parametrization={self.parametrization!r}. Set parametrization='mup' or drop it."
            )

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

    @property
    def width_mult(self) -> float:
        """``width / base_width`` under μP (1 without hidden layers); 1 in standard."""
        if self.parametrization == "standard" or self.depth == 0:
            return 1.0
        return width_multiplier(self.width, self.base_width)

    def build(
        self, n_features: int, n_outputs: int, *, output_bias: Tensor | None = None
    ) -> nn.Sequential:
        layers: list[nn.Module] = []
        fan_in = n_features
        for _ in range(self.depth):
            layers += [nn.Linear(fan_in, self.width), nn.ReLU(), nn.Dropout(self.dropout)]
            fan_in = self.width
        if self.parametrization == "mup":
            head: nn.Linear = MuReadout(
                fan_in,
                n_outputs,
                width_mult=self.width_mult,
                readout_zero_init=self.readout_zero_init,
            )
        else:
            head = nn.Linear(fan_in, n_outputs)
        model = nn.Sequential(*layers, head)
        if self.parametrization == "mup":
            mup_init_(model, self.base_shapes(n_features, n_outputs))
        with torch.no_grad():
            head.bias.zero_()
            if output_bias is not None:
                head.bias.copy_(torch.as_tensor(output_bias, dtype=head.bias.dtype))
        return model

    def base_shapes(self, n_features: int, n_outputs: int) -> dict[str, tuple[int, ...]]:
        """Parameter shapes of this MLP at ``base_width``: which dimensions are widths.

        Built on the meta device, so it allocates nothing and draws no random numbers.
        """
        base = dataclasses.replace(
            self, width=self.base_width, parametrization="standard", readout_zero_init=False
        )
        with torch.device("meta"):
            module = base.build(n_features, n_outputs)
        return {name: tuple(p.shape) for name, p in module.named_parameters()}

    def parameter_groups(self, module: nn.Module, optimizer: OptimizerFactory) -> ParamsT:
        """One group in standard parametrisation; under μP, groups whose learning rate and
        weight decay follow ``optimizer``'s ``update_rule`` (see :data:`UPDATE_RULES`)."""
        if self.parametrization == "standard":
            return super().parameter_groups(module, optimizer)
        layers = cast(nn.Sequential, module)  # what build() returns: linear first and last
        first, head = cast(nn.Linear, layers[0]), cast(nn.Linear, layers[-1])
        hyperparameters = optimizer.params()
        if "lr" not in hyperparameters:
            raise ValueError(
                f"parametrization='mup' scales the learning rate, but optimizer "
                f"{optimizer.name!r} has no 'lr' hyperparameter; use parametrization='standard'."
            )
        return mup_param_groups(
            module,
            self.base_shapes(first.in_features, head.out_features),
            optimizer.update_rule,
            lr=hyperparameters["lr"],
            weight_decay=hyperparameters.get("weight_decay"),
        )

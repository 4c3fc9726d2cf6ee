"""K MLPs of one architecture as one program: stacked weights and batched matmuls.

Each member starts as its own ``nn.Sequential`` (built and initialised exactly as a
one-trial run builds it); :class:`StackedMLP` stacks their parameters into leaf tensors of
shape ``(K, *shape)`` and runs all members' forward passes as one ``baddbmm`` per layer. Dropout
keeps a probability per member, a ``(K,)`` tensor, and draws its masks from a generator the
stack owns. :meth:`StackedMLP.unstack` writes a member's trained weights back into its module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from losstune.scaling.mup import MuReadout


@dataclass(frozen=True)
class _Layer:
    """One step of the forward pass: ``kind`` is linear, relu or dropout; a linear layer names
    its parameters and, for a μP readout, the multiplier and width multiplier that scale its
    input (1 and 1 elsewhere)."""

    kind: str
    weight: str = ""
    bias: str = ""
    output_mult: float = 1.0
    width_mult: float = 1.0


class StackedMLP:
    """The parameters and forward pass of K same-architecture MLPs.

    ``modules`` are ``nn.Sequential`` stacks of ``Linear``/``MuReadout``, ``ReLU`` and
    ``Dropout`` layers (what :class:`losstune.models.mlp.MLP` builds); ``dropout`` is
    each member's dropout probability.
    """

    def __init__(
        self,
        modules: Sequence[nn.Module],
        dropout: Sequence[float],
        *,
        generator: torch.Generator,
    ) -> None:
        if not modules:
            raise ValueError("StackedMLP needs at least one member module.")
        if len(dropout) != len(modules):
            raise ValueError(
                f"StackedMLP got {len(modules)} modules but {len(dropout)} dropout values; "
                "pass one dropout probability per member."
            )
        self.modules = list(modules)
        self.layers = _layers(modules[0])
        shapes = [_shapes(m) for m in modules]
        if any(s != shapes[0] for s in shapes):
            raise ValueError(
                "StackedMLP members must share one architecture; got parameter shapes "
                f"{shapes[0]} and {next(s for s in shapes if s != shapes[0])}. Group members by "
                "width and depth first."
            )
        self.names = list(shapes[0])
        self.params = [
            torch.stack([dict(m.named_parameters())[name].detach() for m in modules])
            .clone()
            .requires_grad_()
            for name in self.names
        ]
        device = self.params[0].device
        self.dropout = torch.tensor(dropout, dtype=torch.float32, device=device)
        self.generator = generator
        self._index = {name: i for i, name in enumerate(self.names)}

    def __len__(self) -> int:
        return self.params[0].shape[0]

    def forward(self, x: Tensor, *, train: bool) -> Tensor:
        """Outputs ``(K, B, n_outputs)`` for inputs ``(B, F)`` shared by every member or
        ``(K, B, F)``, one row set per member; dropout only when ``train``."""
        h = x
        use_dropout = train and bool(self.dropout.any())
        for layer in self.layers:
            if layer.kind == "relu":
                h = torch.relu(h)
            elif layer.kind == "dropout":
                if use_dropout:
                    h = self._dropout(h)
            else:
                weight = self.params[self._index[layer.weight]]
                bias = self.params[self._index[layer.bias]]
                if layer.output_mult != 1.0 or layer.width_mult != 1.0:
                    h = layer.output_mult * h / layer.width_mult
                if h.ndim == 2:  # rows shared by every member: one broadcast matmul
                    h = torch.matmul(h, weight.transpose(1, 2)) + bias.unsqueeze(1)
                else:
                    h = torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))
        return h

    def _dropout(self, h: Tensor) -> Tensor:
        keep = 1.0 - self.dropout.view(-1, 1, 1)
        mask = torch.rand(h.shape, generator=self.generator, device=h.device) < keep
        return h * mask / keep

    def select(self, keep: Tensor) -> None:
        """Keep members ``keep`` (indices into the current K): new leaf parameter tensors."""
        self.params = [p.detach()[keep].clone().requires_grad_() for p in self.params]
        self.dropout = self.dropout[keep]
        self.modules = [self.modules[i] for i in keep.tolist()]

    def unstack(self, member: int) -> nn.Module:
        """Member ``member``'s module holding its current (trained) weights."""
        module = self.modules[member]
        with torch.no_grad():
            named = dict(module.named_parameters())
            for name, stacked in zip(self.names, self.params, strict=True):
                named[name].copy_(stacked[member])
        return module


def _layers(module: nn.Module) -> list[_Layer]:
    if not isinstance(module, nn.Sequential):
        raise TypeError(
            f"StackedMLP stacks nn.Sequential MLPs; got {type(module).__name__}. Train this "
            "model one trial at a time."
        )
    layers = []
    for name, layer in module.named_children():
        if isinstance(layer, nn.Linear):
            if layer.bias is None:
                raise ValueError(f"StackedMLP needs biased linear layers; layer {name} has none.")
            mults = (layer.output_mult, layer.width_mult) if isinstance(layer, MuReadout) else ()
            layers.append(_Layer("linear", f"{name}.weight", f"{name}.bias", *mults))
        elif isinstance(layer, nn.ReLU):
            layers.append(_Layer("relu"))
        elif isinstance(layer, nn.Dropout):
            layers.append(_Layer("dropout"))
        else:
            raise TypeError(
                f"StackedMLP cannot stack layer {name} ({type(layer).__name__}); it supports "
                "Linear, MuReadout, ReLU and Dropout."
            )
    return layers


def _shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in module.named_parameters()}

"""Maximal Update Parametrisation (μP): a learning rate tuned on a narrow model carries to a wide
one (Yang et al. 2022, "Tensor Programs V: Tuning Large Neural Networks via Zero-Shot
Hyperparameter Transfer", arXiv:2203.03466).

The rules are those of Microsoft's ``mup`` package (version 1.0.0), rewritten without its
``p.infshape`` attributes: a parameter's :class:`WidthShape` comes from comparing its shape
with its shape in the same model built at ``base_width`` (``mup.set_base_shapes``), and a
dimension that differs is a *width* dimension whose multiplier is ``dim / base_dim``. At the
base width every multiplier is 1 and μP is the standard parametrisation exactly.

- Initialisation (:func:`mup_init_`, ``mup/shape.py`` ``set_base_shapes(rescale_params=True)``):
  torch's default ``nn.Linear`` init is kept, except that hidden biases are multiplied by
  ``sqrt(fan-in multiplier)`` and the readout's weight and bias by ``sqrt(width_mult)``.
- Readout (:class:`MuReadout`, ``mup/layer.py``): the last layer divides its input by
  ``width_mult``, so the output does not grow with width.
- Learning rates (:func:`mup_param_groups`): per-parameter groups whose learning rate and
  weight decay follow the optimizer's *update rule* (:data:`UPDATE_RULES`). An optimizer
  factory names its rule in its ``update_rule`` class attribute.

Example:
    >>> from torch import nn
    >>> def mlp(width):
    ...     return nn.Sequential(nn.Linear(8, width), nn.ReLU(), nn.Linear(width, width),
    ...                          nn.ReLU(), MuReadout(width, 3, width_mult=width / 64))
    >>> base = {name: p.shape for name, p in mlp(64).named_parameters()}
    >>> groups = mup_param_groups(mlp(256), base, "adam", lr=1e-3, weight_decay=0.1)
    >>> [(len(g["params"]), g["lr"], g["weight_decay"]) for g in groups]
    [(5, 0.001, 0.1), (1, 0.00025, 0.4)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from losstune._registry import Registry


def width_multiplier(width: int, base_width: int) -> float:
    """``width / base_width``: how many times wider a model is than the one tuned at the base."""
    for name, value in (("width", width), ("base_width", base_width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1; got {value!r}.")
    return width / base_width


@dataclass(frozen=True)
class WidthShape:
    """A parameter's dimensions: each one's width multiplier, or ``None`` for a dimension that
    stays fixed as the model widens (inputs, classes). ``mup``'s ``InfShape``.

    For a ``Linear`` weight ``(fan_out, fan_in)``: a hidden matrix has two width dimensions, the
    first layer's weight one (fan-out), the readout's one (fan-in); biases have at most one.
    """

    multipliers: tuple[float | None, ...]

    @property
    def n_width_dims(self) -> int:
        """How many dimensions grow with width (``mup``'s ``ninf``)."""
        return sum(m is not None for m in self.multipliers)

    @property
    def width_mult(self) -> float:
        """The multiplier of the *last* width dimension (fan-in of a hidden matrix), 1 if there
        is none (``mup/infshape.py``, ``InfShape.width_mult``)."""
        return next((m for m in reversed(self.multipliers) if m is not None), 1.0)

    @property
    def fan_in_fan_out_ratio(self) -> float:
        """Fan-in multiplier over fan-out multiplier of a ``(fan_out, fan_in, ...)`` tensor
        (``InfShape.fanin_fanout_mult_ratio``)."""
        if len(self.multipliers) < 2:
            raise ValueError(f"A fan-in/fan-out ratio needs >= 2 dimensions; got {self}.")
        fan_out, fan_in = (1.0 if m is None else m for m in self.multipliers[:2])
        return fan_in / fan_out


def width_shape(shape: Sequence[int], base_shape: Sequence[int]) -> WidthShape:
    """Compare a parameter's shape with its shape at the base width: a dimension that differs is
    a width dimension (``mup/infshape.py``, ``zip_infshape`` with ``fin_if_same=True``)."""
    if len(shape) != len(base_shape):
        raise ValueError(
            f"A parameter of shape {tuple(shape)} cannot be compared with base shape "
            f"{tuple(base_shape)}; build the base model with the same layers, only narrower."
        )
    return WidthShape(
        tuple(None if d == b else d / b for d, b in zip(shape, base_shape, strict=True))
    )


def width_shapes(
    module: nn.Module, base_shapes: Mapping[str, Sequence[int]]
) -> dict[str, WidthShape]:
    """The :class:`WidthShape` of every named parameter of ``module``."""
    names = {name for name, _ in module.named_parameters()}
    if names != set(base_shapes):
        missing, extra = sorted(names - set(base_shapes)), sorted(set(base_shapes) - names)
        raise ValueError(
            f"base_shapes must name the module's parameters exactly; missing {missing}, "
            f"extra {extra}. Take them from the same model built at the base width."
        )
    return {name: width_shape(p.shape, base_shapes[name]) for name, p in module.named_parameters()}


@dataclass(frozen=True)
class GroupScale:
    """What a parameter's learning rate and weight decay are multiplied by under μP."""

    lr: float = 1.0
    weight_decay: float = 1.0


UpdateRule = Callable[[WidthShape], GroupScale]
UPDATE_RULES: Registry[UpdateRule] = Registry("μP update rule")


def _matrix_or_vector(shape: WidthShape) -> int:
    if shape.n_width_dims > 2:
        raise ValueError(f"μP rules cover at most 2 width dimensions; got {shape}.")
    return shape.n_width_dims


@UPDATE_RULES.register("adam")
def adam_rule(shape: WidthShape) -> GroupScale:
    """``mup.MuAdam`` (``mup/optim.py`` lines 59-68): a matrix-like parameter (two width
    dimensions) gets ``lr / width_mult`` and ``weight_decay * width_mult``; the rest keep both.

    For optimizers whose step has a fixed size per coordinate, whatever the gradient's scale
    (Adam, AdamW, NAdam, RAdam; Lion's sign step too): ``mup/optim.py``'s docstring calls these
    "Adam-like".
    """
    if _matrix_or_vector(shape) == 2:
        return GroupScale(lr=1 / shape.width_mult, weight_decay=shape.width_mult)
    return GroupScale()


@UPDATE_RULES.register("sgd")
def sgd_rule(shape: WidthShape) -> GroupScale:
    """``mup.MuSGD`` (``mup/optim.py`` lines 102-116): a vector-like parameter (one width
    dimension) gets ``lr * width_mult`` and ``weight_decay / width_mult``; a matrix-like one
    ``lr / r`` and ``weight_decay * r`` with ``r`` its fan-in over fan-out multiplier (1 for a
    square hidden matrix); a parameter with no width dimension keeps both."""
    n = _matrix_or_vector(shape)
    if n == 1:
        return GroupScale(lr=shape.width_mult, weight_decay=1 / shape.width_mult)
    if n == 2:
        ratio = shape.fan_in_fan_out_ratio
        return GroupScale(lr=1 / ratio, weight_decay=ratio)
    return GroupScale()


@UPDATE_RULES.register("adafactor")
def adafactor_rule(shape: WidthShape) -> GroupScale:
    """Adafactor as torch implements it: an Adam-like normalised step *times the parameter's
    RMS* (Shazeer & Stern 2018, arXiv:1804.04235, "relative step size"). A hidden matrix's RMS
    already shrinks as ``width_mult ** -0.5`` under μP, so it needs only ``lr / sqrt(width_mult)``
    to take ``mup.MuAdam``'s ``1 / width_mult`` step; the others keep their RMS and rate.
    Weight decay ``* sqrt(width_mult)`` keeps ``lr * weight_decay`` (torch's decay) fixed."""
    if _matrix_or_vector(shape) == 2:
        root = math.sqrt(shape.width_mult)
        return GroupScale(lr=1 / root, weight_decay=root)
    return GroupScale()


@UPDATE_RULES.register("muon")
def muon_rule(shape: WidthShape) -> GroupScale:
    """Muon with ``adjust_lr_fn="match_rms_adamw"``: every 2-D weight takes an orthogonalised
    step of spectral norm ``0.2 * lr * sqrt(max(fan_out, fan_in))`` (Liu et al. 2025,
    arXiv:2502.16982); other parameters are stepped by AdamW, whose μP rule leaves them alone.

    μP asks for updates of spectral norm ``~ sqrt(fan_out / fan_in)`` (Yang, Simon & Bernstein
    2023, "A Spectral Condition for Feature Learning", arXiv:2310.17813). With fan-out >= fan-in
    that is ``lr / sqrt(width_mult)`` for a hidden matrix, and an unchanged ``lr`` for the first
    layer (fan-in fixed) and for a :class:`MuReadout` (its ``1 / width_mult`` multiplier already
    does it), so the rule is :func:`adafactor_rule`'s, for a different reason.
    """
    return adafactor_rule(shape)


def mup_param_groups(
    module: nn.Module,
    base_shapes: Mapping[str, Sequence[int]],
    update_rule: str | None,
    lr: float,
    weight_decay: float | None = None,
) -> list[dict[str, Any]]:
    """Torch parameter groups of ``module`` with μP learning rates (and weight decays).

    ``base_shapes`` maps each parameter name to its shape in the same model built at the base
    width; ``update_rule`` names a member of :data:`UPDATE_RULES`. Parameters that scale alike
    share a group, in the order they first appear; with ``weight_decay=None`` groups leave the
    optimizer's own. At the base width this is one group at ``lr``.
    """
    if update_rule is None:
        raise ValueError(
            "This optimizer declares no μP update rule (its factory's update_rule is None); set "
            f"it to one of {UPDATE_RULES.names()} or use parametrization='standard'."
        )
    rule = UPDATE_RULES.get(update_rule)
    shapes = width_shapes(module, base_shapes)
    groups: dict[GroupScale, dict[str, Any]] = {}
    for name, param in module.named_parameters():
        scale = rule(shapes[name])
        if scale not in groups:
            groups[scale] = {"params": [], "lr": lr * scale.lr}
            if weight_decay is not None:
                groups[scale]["weight_decay"] = weight_decay * scale.weight_decay
        groups[scale]["params"].append(param)
    return list(groups.values())


class MuReadout(nn.Linear):
    """The output layer under μP: ``Linear(x * output_mult / width_mult)`` (``mup/layer.py``).

    Dividing by ``width_mult`` keeps the logits' size fixed as the hidden layer widens; the bias
    is added after it, so a bias set to the class prior means the same at every width.
    ``readout_zero_init`` starts weight and bias at 0 (``mup``'s README recommends it to remove
    the init's shrinking output).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        width_mult: float,
        output_mult: float = 1.0,
        readout_zero_init: bool = False,
        bias: bool = True,
    ) -> None:
        for name, value in (("width_mult", width_mult), ("output_mult", output_mult)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"MuReadout: {name} must be a finite number > 0; got {value!r}.")
        self.width_mult = float(width_mult)
        self.output_mult = float(output_mult)
        self.readout_zero_init = readout_zero_init
        super().__init__(in_features, out_features, bias=bias)

    def reset_parameters(self) -> None:
        if self.readout_zero_init:
            nn.init.zeros_(self.weight)
            if self.bias is not None:
                nn.init.zeros_(self.bias)
        else:
            super().reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(self.output_mult * x / self.width_mult)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, width_mult={self.width_mult}"


def mup_init_(module: nn.Module, base_shapes: Mapping[str, Sequence[int]]) -> nn.Module:
    """Turn torch's default init of ``module``'s ``Linear`` layers into μP's, in place.

    What ``mup.set_base_shapes(..., rescale_params=True)`` does (``mup/shape.py`` lines
    186-191, ``mup/layer.py`` lines 35-52 and 70-84): a :class:`MuReadout`'s weight and bias are
    multiplied by ``sqrt(width_mult)``, every other ``Linear``'s bias by ``sqrt(fan-in
    multiplier)``; weights of other layers keep torch's ``1 / sqrt(fan_in)`` scale, which is
    already μP's. Call it once, on a freshly initialised module.
    """
    shapes = width_shapes(module, base_shapes)
    names: dict[Tensor, str] = {param: name for name, param in module.named_parameters()}
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, MuReadout):
                root = math.sqrt(layer.width_mult)
                layer.weight.mul_(root)
                if layer.bias is not None:
                    layer.bias.mul_(root)
            elif isinstance(layer, nn.Linear) and layer.bias is not None:
                fan_in = shapes[names[layer.weight]].multipliers[1]
                layer.bias.mul_(math.sqrt(1.0 if fan_in is None else fan_in))
    return module

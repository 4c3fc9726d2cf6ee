"""Optimizers stepping the stacked parameters of K members at once, equal step for step to the
single-member torch optimizers that losstune's factories build.

Parameter ``j`` is one leaf tensor of shape ``(K, *shape_j)``; member ``k``'s learning rate and
weight decay for it, and its float hyperparameters (betas, eps, momentum), are entries of
``(K,)`` tensors, broadcast over the parameter as ``(K, 1, ..., 1)``. Scalar factors (bias
corrections, ``1 - lr * weight_decay``) are computed in float64 and cast to the parameters'
dtype, as torch casts its Python-float scalars, so each member's update matches torch's to
float32 rounding.

Example:
    >>> import torch
    >>> from losstune.optim import make_optimizer_factory
    >>> factories = [make_optimizer_factory("adamw", {"lr": lr}) for lr in (1e-3, 3e-3)]
    >>> weight = torch.zeros(2, 4, 3, requires_grad=True)  # two members' (4, 3) weights
    >>> optimizer = make_batched_optimizer(
    ...     [weight], factories, lr=[torch.tensor([1e-3, 3e-3])], weight_decay=[torch.zeros(2)]
    ... )
    >>> weight.grad = torch.ones_like(weight)
    >>> optimizer.step(lr_scale=torch.ones(2))
    >>> [round(w, 6) for w in weight[:, 0, 0].tolist()]  # Adam's first step: -lr * sign(g)
    [-0.001, -0.003]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import torch
from torch import Tensor

from losstune._registry import Registry
from losstune.optim.base import OptimizerFactory

BATCHED_OPTIMIZERS: Registry[type[BatchedOptimizer]] = Registry("batched optimizer")


class BatchedOptimizer(ABC):
    """One optimizer family stepping the stacked parameters of K members.

    Args:
        params: ``params[j]`` is a stacked leaf tensor ``(K, *shape_j)``; all share one dtype.
        factories: the K members' optimizer factories, all the ``OPTIMIZERS`` member this class
            is registered under, agreeing on every non-float field (SGD's ``nesterov``). Their
            ``lr`` and ``weight_decay`` are not read: those come per parameter below.
        lr: ``lr[j]`` is a ``(K,)`` tensor, member k's base learning rate for parameter ``j``
            (μP's per-layer scaling already applied).
        weight_decay: ``weight_decay[j]``, the same for weight decay.

    The step count is kept per parameter and shared by the members (they start together); a
    parameter whose ``grad`` is ``None`` is skipped, its state and step count untouched, as
    torch does.
    """

    name: ClassVar[str] = "unregistered"
    float_fields: ClassVar[tuple[str, ...]] = ()
    """The factory fields read as ``(K,)`` tensors into :attr:`hyperparameters`."""
    momentum_field: ClassVar[str] = ""
    """The field a cycling schedule overrides through ``step(momentum=...)``."""

    def __init__(
        self,
        params: Sequence[Tensor],
        factories: Sequence[OptimizerFactory],
        lr: Sequence[Tensor],
        weight_decay: Sequence[Tensor],
    ) -> None:
        self.factories = tuple(factories)
        _check_factories(self.name, self.factories)
        self.params = _check_params(self.name, params, len(self.factories))
        self.device = self.params[0].device if self.params else torch.device("cpu")
        self.lr = self._per_parameter("lr", lr)
        self.weight_decay = self._per_parameter("weight_decay", weight_decay)
        self.hyperparameters = {
            field: torch.tensor(
                [getattr(f, field) for f in self.factories], dtype=torch.float64, device=self.device
            )
            for field in self.float_fields
        }
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self._decays = self.weight_decay.ne(0).any(dim=1).tolist()

    @property
    def n_members(self) -> int:
        return len(self.factories)

    def step(self, lr_scale: Tensor, momentum: Tensor | None = None) -> None:
        """One update of every member. ``lr_scale``: ``(K,)`` schedule multiplier for this step;
        ``momentum``: ``(K,)`` override of beta1 (Adam/Lion) or momentum (SGD) from a cycling
        schedule, ``None`` = the factories'."""
        scale = self._member_vector("lr_scale", lr_scale)
        if momentum is None:
            beta = self.hyperparameters[self.momentum_field]
        else:
            beta = self._member_vector("momentum", momentum)
        active = [j for j, p in enumerate(self.params) if p.grad is not None]
        if active:
            with torch.no_grad():
                self._step(active, self.lr * scale, beta)

    def zero_grad(self) -> None:
        """Drop every parameter's gradient (torch's ``zero_grad(set_to_none=True)``)."""
        for p in self.params:
            p.grad = None

    def select(self, keep: Tensor, params: Sequence[Tensor]) -> None:
        """Keep members ``keep`` (LongTensor of indices into the current K): state and
        hyperparameter tensors are indexed; ``params`` are the caller's new (already compacted)
        stacked leaf tensors."""
        keep = torch.as_tensor(keep, device=self.device)
        if keep.ndim != 1 or keep.dtype != torch.int64:
            raise ValueError(
                f"{self.name}: keep must be a 1-D LongTensor of member indices; got dtype "
                f"{keep.dtype} and shape {tuple(keep.shape)}."
            )
        new = _check_params(self.name, params, len(keep))
        if [p.shape[1:] for p in new] != [p.shape[1:] for p in self.params]:
            raise ValueError(
                f"{self.name}: select got parameters of member shapes "
                f"{[tuple(p.shape[1:]) for p in new]}, expected "
                f"{[tuple(p.shape[1:]) for p in self.params]}; pass the compacted parameters "
                "in the order the optimizer was built with."
            )
        self.factories = tuple(self.factories[i] for i in keep.tolist())
        self.params = new
        self.lr = self.lr[:, keep]
        self.weight_decay = self.weight_decay[:, keep]
        self._decays = self.weight_decay.ne(0).any(dim=1).tolist()
        self.hyperparameters = {k: v[keep] for k, v in self.hyperparameters.items()}
        for state in self.state:
            for key, value in state.items():
                if isinstance(value, Tensor):
                    state[key] = value[keep.to(value.device)]

    @abstractmethod
    def _step(self, active: list[int], lr: Tensor, momentum: Tensor) -> None:
        """Update the parameters ``active`` (indices with a gradient); ``lr`` is ``(J, K)``
        float64, this step's learning rate of every parameter and member, ``momentum`` the
        ``(K,)`` float64 beta1 or momentum."""

    def _per_parameter(self, what: str, values: Sequence[Tensor]) -> Tensor:
        """``values`` (one ``(K,)`` tensor per parameter) as one ``(J, K)`` float64 tensor."""
        if len(values) != len(self.params):
            raise ValueError(
                f"{self.name}: got {len(self.params)} parameters but {len(values)} {what} "
                "tensors; pass one (K,) tensor per parameter."
            )
        rows = [self._member_vector(f"{what}[{j}]", v) for j, v in enumerate(values)]
        if not rows:
            return torch.empty(0, self.n_members, dtype=torch.float64, device=self.device)
        return torch.stack(rows)

    def _member_vector(self, what: str, value: Tensor) -> Tensor:
        value = torch.as_tensor(value)
        if value.shape != (self.n_members,):
            raise ValueError(
                f"{self.name}: {what} must have shape ({self.n_members},), one value per member; "
                f"got {tuple(value.shape)}."
            )
        return value.to(device=self.device, dtype=torch.float64)

    def _cast(self, factor: Tensor) -> Tensor:
        """A float64 factor in the parameters' dtype (as torch casts a Python-float scalar)."""
        return factor.to(self.params[0].dtype)


def _check_factories(name: str, factories: tuple[OptimizerFactory, ...]) -> None:
    if not factories:
        raise ValueError(f"A batched {name} optimizer needs at least one member factory.")
    names = sorted({f.name for f in factories})
    if names != [name]:
        raise ValueError(
            f"A batched {name} optimizer takes only {name!r} factories; got {names}. Batch "
            "members that use one optimizer together."
        )
    params = [f.params() for f in factories]
    for field, value in params[0].items():
        if isinstance(value, float):
            continue
        values = [p[field] for p in params]
        if any(v != value for v in values):
            raise ValueError(
                f"{name}: batched members must agree on {field!r}; got {values}. Batch members "
                f"with different {field} separately."
            )


def _check_params(name: str, params: Sequence[Tensor], n_members: int) -> list[Tensor]:
    params = list(params)
    for j, p in enumerate(params):
        if not isinstance(p, Tensor) or not p.is_leaf or not p.is_floating_point():
            raise ValueError(
                f"{name}: params[{j}] must be a floating-point leaf tensor (a stacked "
                f"parameter); got {type(p).__name__}."
            )
        if p.ndim == 0 or p.shape[0] != n_members:
            raise ValueError(
                f"{name}: params[{j}] has shape {tuple(p.shape)} but there are {n_members} "
                f"members; stack each parameter as ({n_members}, *shape)."
            )
        if p.dtype != params[0].dtype or p.device != params[0].device:
            raise ValueError(
                f"{name}: params[{j}] is {p.dtype} on {p.device} but params[0] is "
                f"{params[0].dtype} on {params[0].device}; stack every parameter in one dtype "
                "on one device."
            )
    return params


def _grad(param: Tensor) -> Tensor:
    """The gradient of a stacked parameter: backward set it for every active member."""
    return cast(Tensor, param.grad)


def _members(factor: Tensor, like: Tensor) -> Tensor:
    """A ``(K,)`` factor shaped ``(K, 1, ..., 1)`` to broadcast over the stacked ``like``."""
    return factor.view(-1, *[1] * (like.ndim - 1))


@BATCHED_OPTIMIZERS.register("adamw")
class BatchedAdamW(BatchedOptimizer):
    """``torch.optim.AdamW`` (single-tensor algorithm, no amsgrad): decoupled decay
    ``p *= 1 - lr * wd``, moments ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 v + (1 - beta2)
    g^2``, then ``p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)``."""

    float_fields = ("beta1", "beta2", "eps")
    momentum_field = "beta1"

    def _step(self, active: list[int], lr: Tensor, momentum: Tensor) -> None:
        beta2 = self.hyperparameters["beta2"]
        decay = self._cast(1 - lr * self.weight_decay)
        one_minus_beta1 = self._cast(1 - momentum)
        beta2_c, one_minus_beta2 = self._cast(beta2), self._cast(1 - beta2)
        eps = self._cast(self.hyperparameters["eps"])
        corrections: dict[int, tuple[Tensor, Tensor]] = {}
        for j in active:
            p, grad, state = self.params[j], _grad(self.params[j]), self.state[j]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["step"] += 1
            step = state["step"]
            if step not in corrections:
                bias1 = 1 - momentum**step
                bias2_sqrt = (1 - beta2**step).sqrt()
                corrections[step] = (self._cast(-lr / bias1), self._cast(bias2_sqrt))
            neg_step_size, bias2_sqrt = corrections[step]
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            if self._decays[j]:
                p.mul_(_members(decay[j], p))
            exp_avg.lerp_(grad, _members(one_minus_beta1, p))
            exp_avg_sq.mul_(_members(beta2_c, p)).addcmul_(
                grad * _members(one_minus_beta2, p), grad
            )
            denom = (exp_avg_sq.sqrt() / _members(bias2_sqrt, p)).add_(_members(eps, p))
            p.addcdiv_(exp_avg * _members(neg_step_size[j], p), denom)


@BATCHED_OPTIMIZERS.register("sgd")
class BatchedSGD(BatchedOptimizer):
    """``torch.optim.SGD`` with dampening 0: coupled decay ``g += wd * p``, momentum buffer
    set to the first gradient then ``buf = momentum * buf + g``, Nesterov ``g + momentum * buf``.

    A member with momentum 0 gets ``buf = g`` every step, torch's plain SGD.
    """

    float_fields = ("momentum",)
    momentum_field = "momentum"

    def _step(self, active: list[int], lr: Tensor, momentum: Tensor) -> None:
        nesterov = self.factories[0].nesterov  # type: ignore[attr-defined]
        neg_lr = self._cast(-lr)
        weight_decay = self._cast(self.weight_decay)
        momentum_c = self._cast(momentum)
        for j in active:
            p, grad, state = self.params[j], _grad(self.params[j]), self.state[j]
            if self._decays[j]:
                grad = grad.addcmul(p, _members(weight_decay[j], p))
            if "momentum_buffer" not in state:
                buf = state["momentum_buffer"] = grad.detach().clone()
            else:
                buf = state["momentum_buffer"].mul_(_members(momentum_c, p)).add_(grad)
            grad = grad.addcmul(buf, _members(momentum_c, p)) if nesterov else buf
            p.addcmul_(grad, _members(neg_lr[j], p))


@BATCHED_OPTIMIZERS.register("lion")
class BatchedLion(BatchedOptimizer):
    """losstune's :class:`~losstune.optim.optimizers.lion.Lion`:
    ``p -= lr * (sign(beta1 m + (1 - beta1) g) + wd p)``, then ``m = beta2 m + (1 - beta2) g``."""

    float_fields = ("beta1", "beta2")
    momentum_field = "beta1"

    def _step(self, active: list[int], lr: Tensor, momentum: Tensor) -> None:
        beta2 = self.hyperparameters["beta2"]
        neg_lr = self._cast(-lr)
        weight_decay = self._cast(self.weight_decay)
        beta1_c, one_minus_beta1 = self._cast(momentum), self._cast(1 - momentum)
        beta2_c, one_minus_beta2 = self._cast(beta2), self._cast(1 - beta2)
        for j in active:
            p, grad, state = self.params[j], _grad(self.params[j]), self.state[j]
            if "exp_avg" not in state:
                state["exp_avg"] = torch.zeros_like(p)
            m = state["exp_avg"]
            direction = (m * _members(beta1_c, p) + grad * _members(one_minus_beta1, p)).sign_()
            if self._decays[j]:
                direction = direction + p * _members(weight_decay[j], p)
            p.addcmul_(direction, _members(neg_lr[j], p))
            m.mul_(_members(beta2_c, p)).addcmul_(grad, _members(one_minus_beta2, p))


def make_batched_optimizer(
    params: Sequence[Tensor],
    factories: Sequence[OptimizerFactory],
    lr: Sequence[Tensor],
    weight_decay: Sequence[Tensor],
) -> BatchedOptimizer:
    """The batched optimizer of ``factories[0].name`` over ``params`` (see
    :class:`BatchedOptimizer` for the arguments)."""
    if not factories:
        raise ValueError("make_batched_optimizer needs at least one member factory.")
    name = factories[0].name
    if not batchable_optimizer(name):
        raise ValueError(
            f"The optimizer {name!r} has no batched form; batched optimizers: "
            f"{', '.join(BATCHED_OPTIMIZERS.names())}. Train its trials one at a time."
        )
    return BATCHED_OPTIMIZERS.get(name)(params, factories, lr, weight_decay)


def batchable_optimizer(name: str) -> bool:
    """Whether the ``OPTIMIZERS`` member ``name`` has a batched form."""
    return name in BATCHED_OPTIMIZERS

"""The optimizer contract: a factory of ``torch.optim.Optimizer`` plus its search space.

A factory is a frozen dataclass whose fields are the optimizer's hyperparameters
(learning rate ranges are per optimizer: Lion wants ~10x smaller than AdamW), registered by
name in ``OPTIMIZERS``. Wrappers (SAM) take a built optimizer and return one that needs a
closure; schedules build a learning-rate scheduler over a known number of steps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch.optim.optimizer import ParamsT

from losstune._hyper import Hyperparameters, hyperparameter
from losstune._registry import Registry

OPTIMIZERS: Registry[type[OptimizerFactory]] = Registry("optimizer")
WRAPPERS: Registry[type[OptimizerWrapper]] = Registry("optimizer wrapper")
SCHEDULES: Registry[type[Schedule]] = Registry("schedule")


def learning_rate(default: float) -> Any:
    """An optimizer's ``lr`` field, in ``[1e-8, 10]``.

    Below 1e-8 even 10,000 epochs of a thousand steps move a weight by at most ~0.1 (Adam's
    and Lion's steps are ~lr per coordinate): nothing trains. Above 10, plain steps on an
    unnormalised MLP diverge at once (LARS/LAMB reach such rates only through per-layer trust
    ratios). The searched ranges stop at 0.3.
    """
    return hyperparameter(default, low=1e-8, high=10.0)


def weight_decay(default: float) -> Any:
    """A ``weight_decay`` field, in ``[0, 10]``: decay times lr is the share of each weight
    removed per step, and Lion's 1-3 (with its 10x smaller lr) is the largest in use; above 10
    the weights are driven to zero faster than any gradient can hold them."""
    return hyperparameter(default, low=0.0, high=10.0)


def adam_eps(default: float) -> Any:
    """An Adam-style ``eps`` (added to the RMS denominator), in ``[1e-16, 10]``: 1e-15 is the
    smallest in published use (instant-NGP), and above ~1 the denominator is eps alone, a
    plain momentum-SGD step scaled by 1/eps (TensorFlow suggests 1.0 for Inception; 10 is the
    end of that road)."""
    return hyperparameter(default, low=1e-16, high=10.0)


class OptimizerFactory(Hyperparameters, ABC):
    """Builds a torch optimizer over ``params`` (tensors, or parameter-group dicts that may set
    their own ``lr`` and ``weight_decay``) with this dataclass's hyperparameters.

    ``update_rule`` names how the optimizer's step scales with a layer's width, the key of its
    μP learning-rate rule in ``losstune.scaling.mup.UPDATE_RULES`` (``"adam"``, ``"sgd"``, ...);
    ``None`` means μP is not supported.
    """

    update_rule: ClassVar[str | None] = None

    @abstractmethod
    def build(self, params: ParamsT) -> torch.optim.Optimizer: ...


class OptimizerWrapper(Hyperparameters, ABC):
    """Wraps a built optimizer (SAM). The wrapped optimizer's ``step`` requires a closure
    that re-evaluates the loss and calls ``backward``."""

    @abstractmethod
    def wrap(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer: ...


class Schedule(Hyperparameters, ABC):
    """Builds a per-step learning-rate scheduler for a run of ``total_steps`` optimizer steps."""

    @abstractmethod
    def build(
        self, optimizer: torch.optim.Optimizer, total_steps: int
    ) -> torch.optim.lr_scheduler.LRScheduler: ...


def create_optimizer(name: str, params: ParamsT, **hyperparameters: Any) -> torch.optim.Optimizer:
    """``(params, **hp) -> Optimizer`` for the registered optimizer ``name``."""
    return OPTIMIZERS.get(name).from_params(hyperparameters).build(params)


def make_optimizer_factory(name: str, params: Mapping[str, Any] | None = None) -> OptimizerFactory:
    return OPTIMIZERS.get(name).from_params(params)


def make_wrapper(name: str, params: Mapping[str, Any] | None = None) -> OptimizerWrapper:
    return WRAPPERS.get(name).from_params(params)


def make_schedule(name: str, params: Mapping[str, Any] | None = None) -> Schedule:
    return SCHEDULES.get(name).from_params(params)

"""Optimizers, the SAM wrapper and learning-rate schedules, each registered by name.

Example:
    >>> import torch
    >>> model = torch.nn.Linear(3, 1)
    >>> optimizer = make_optimizer_factory("lion", {"lr": 3e-4}).build(model.parameters())
    >>> optimizer = make_wrapper("sam", {"rho": 0.05}).wrap(optimizer)
    >>> scheduler = make_schedule("cosine", {"warmup": 0.1}).build(optimizer, total_steps=100)
    >>> OPTIMIZERS.names()
    ['adafactor', 'adamw', 'lion', 'muon', 'nadam', 'radam', 'sgd']
"""

from losstune.optim import optimizers, sam, schedules  # noqa: F401  (registers every member)
from losstune.optim.base import (
    OPTIMIZERS,
    SCHEDULES,
    WRAPPERS,
    OptimizerFactory,
    OptimizerWrapper,
    Schedule,
    create_optimizer,
    make_optimizer_factory,
    make_schedule,
    make_wrapper,
)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "WRAPPERS",
    "OptimizerFactory",
    "OptimizerWrapper",
    "Schedule",
    "create_optimizer",
    "make_optimizer_factory",
    "make_schedule",
    "make_wrapper",
]

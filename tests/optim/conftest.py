"""Shared fixtures: a small least-squares problem and a recorder of learning-rate multipliers."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from losstune.optim import Schedule

Problem = tuple[Tensor, Tensor, torch.nn.Linear]


def make_problem() -> Problem:
    """64 rows, 4 features, ``y = x @ w + b`` plus small noise; a seeded ``Linear(4, 1)``."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=gen)
    y = x @ torch.tensor([0.1, -0.2, 0.05, 0.3]) + 0.1 + 0.01 * torch.randn(64, generator=gen)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    return x, y, model


def mse_closure(
    x: Tensor, y: Tensor, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> Callable[[], Tensor]:
    """The usual closure: zero the gradients, compute the mean squared error, backward."""

    def closure() -> Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = ((model(x).squeeze(1) - y) ** 2).mean()
        loss.backward()
        return loss

    return closure


def record_multipliers(
    schedule: Schedule,
    total_steps: int,
    optimizer: torch.optim.Optimizer | None = None,
    closure: Callable[[], Tensor] | None = None,
) -> list[list[float]]:
    """Per step, each group's lr over its peak lr, for ``total_steps`` steps with torch warnings
    raised as errors. The peak is the lr the optimizer had before the scheduler was built; the
    default optimizer is SGD with momentum on one parameter without gradient."""
    if optimizer is None:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.5, momentum=0.9)
    peaks = [group["lr"] for group in optimizer.param_groups]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler = schedule.build(optimizer, total_steps)
        steps = []
        for _ in range(total_steps):
            steps.append([g["lr"] / p for g, p in zip(optimizer.param_groups, peaks, strict=True)])
            optimizer.step(closure)
            scheduler.step()
    return steps


@pytest.fixture
def problem() -> Problem:
    """A fresh least-squares problem (same data and initial model every time)."""
    return make_problem()


@pytest.fixture
def closure_for() -> Callable[..., Callable[[], Tensor]]:
    return mse_closure


@pytest.fixture
def multipliers() -> Callable[..., list[list[float]]]:
    return record_multipliers

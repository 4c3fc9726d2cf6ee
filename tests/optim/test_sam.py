"""SAM against a hand-computed step; closure discipline; shared groups and state."""

from __future__ import annotations

import pytest
import torch

from losstune.optim import make_optimizer_factory, make_schedule, make_wrapper
from losstune.optim.sam import SAMOptimizer

A = torch.tensor([1.0, 2.0], dtype=torch.float64)  # f(w) = 0.5 * sum(A * w**2), grad = A * w


def _quadratic(w: torch.Tensor, optimizer: torch.optim.Optimizer, calls: list[int]):
    def closure() -> torch.Tensor:
        calls.append(1)
        optimizer.zero_grad()
        loss = 0.5 * (A * w**2).sum()
        loss.backward()
        return loss

    return closure


def test_one_step_by_hand():
    """w = [4, 1.5]: g = A w = [4, 3], ||g|| = 5; rho = 0.5 gives e = [0.4, 0.3].

    The gradient at w + e = [4.4, 1.8] is [4.4, 3.6]; SGD with lr 0.1 steps from w:
    w_next = [4 - 0.44, 1.5 - 0.36] = [3.56, 1.14] (plain SGD would give [3.6, 1.2]).
    The returned loss is f(w) = 0.5 * (16 + 2 * 2.25) = 10.25.
    """
    w = torch.nn.Parameter(torch.tensor([4.0, 1.5], dtype=torch.float64))
    optimizer = make_wrapper("sam", {"rho": 0.5}).wrap(torch.optim.SGD([w], lr=0.1))
    loss = optimizer.step(_quadratic(w, optimizer, []))
    assert loss.item() == pytest.approx(10.25)
    torch.testing.assert_close(w.detach(), torch.tensor([3.56, 1.14], dtype=torch.float64))


def test_the_norm_is_global_over_all_parameters():
    """Two parameters [3] and [4] of 0.5 * ||w||^2: ||g|| = 5 over both, not 1 per tensor."""
    a = torch.nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    b = torch.nn.Parameter(torch.tensor([4.0], dtype=torch.float64))
    optimizer = SAMOptimizer(torch.optim.SGD([a, b], lr=1.0), rho=0.5)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = 0.5 * (a**2 + b**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)  # w - 1.0 * 1.1 w = -0.1 w
    torch.testing.assert_close(torch.cat([a, b]).detach(), torch.tensor([-0.3, -0.4]).double())


def test_the_closure_runs_exactly_twice_per_step_and_the_weights_come_back():
    w = torch.nn.Parameter(torch.tensor([4.0, 1.5], dtype=torch.float64))
    optimizer = SAMOptimizer(torch.optim.SGD([w], lr=0.0), rho=0.5)
    calls: list[int] = []
    for _ in range(3):
        optimizer.step(_quadratic(w, optimizer, calls))
    assert len(calls) == 6
    torch.testing.assert_close(w.detach(), torch.tensor([4.0, 1.5], dtype=torch.float64))


def test_step_without_a_closure_is_refused():
    optimizer = SAMOptimizer(torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1), 0.05)
    with pytest.raises(RuntimeError, match="SAM needs a closure"):
        optimizer.step()


def test_a_zero_gradient_gives_a_plain_step():
    w = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    optimizer = SAMOptimizer(torch.optim.SGD([w], lr=0.1), rho=0.5)
    loss = optimizer.step(_quadratic(w, optimizer, []))
    assert loss.item() == 0.0
    assert torch.equal(w.detach(), torch.zeros(2, dtype=torch.float64))


def test_shares_the_base_groups_and_state_so_schedules_drive_the_base():
    model = torch.nn.Linear(3, 1)
    base = make_optimizer_factory("adamw", {"lr": 0.01}).build(model.parameters())
    optimizer = make_wrapper("sam").wrap(base)
    assert optimizer.param_groups is base.param_groups and optimizer.state is base.state
    scheduler = make_schedule("linear").build(optimizer, total_steps=3)
    x = torch.randn(8, 3)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    scheduler.step()
    assert base.param_groups[0]["lr"] == pytest.approx(0.005)
    assert set(base.state[model.weight]) >= {"exp_avg", "exp_avg_sq"}
    assert optimizer.state_dict()["state"].keys() == base.state_dict()["state"].keys()

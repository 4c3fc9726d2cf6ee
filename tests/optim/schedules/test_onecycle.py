"""One-cycle: torch's OneCycleLR peaking at each group's lr, cycling momentum only where it
exists, and safe where torch's divides by zero."""

from __future__ import annotations

import pytest
import torch

from losstune.optim import make_optimizer_factory, make_schedule


def test_works_on_an_optimizer_without_momentum(problem, closure_for, multipliers):
    x, y, model = problem
    optimizer = make_optimizer_factory("adafactor").build(model.parameters())
    seen = multipliers(
        make_schedule("onecycle"), 50, optimizer, closure_for(x, y, model, optimizer)
    )
    assert max(groups[0] for groups in seen) == pytest.approx(1.0)
    assert "momentum" not in optimizer.param_groups[0]
    assert "betas" not in optimizer.param_groups[0]


def test_cycles_beta1_of_adam_and_the_momentum_of_sgd():
    adamw = make_optimizer_factory("adamw").build([torch.nn.Parameter(torch.zeros(2))])
    make_schedule("onecycle").build(adamw, 20)
    assert adamw.param_groups[0]["betas"] == (0.95, 0.999)  # max_momentum while lr is lowest
    sgd = make_optimizer_factory("sgd").build([torch.nn.Parameter(torch.zeros(2))])
    make_schedule("onecycle").build(sgd, 20)
    assert sgd.param_groups[0]["momentum"] == 0.95


def test_leaves_sgd_without_momentum_alone():
    sgd = make_optimizer_factory("sgd", {"momentum": 0.0})
    optimizer = sgd.build([torch.nn.Parameter(torch.zeros(2))])
    make_schedule("onecycle").build(optimizer, 20)
    assert optimizer.param_groups[0]["momentum"] == 0.0


@pytest.mark.parametrize(("pct_start", "total_steps"), [(0.1, 10), (0.05, 20), (0.5, 3)])
def test_a_rise_of_one_step_is_widened_to_two(pct_start, total_steps, multipliers):
    """torch's OneCycleLR divides by zero when pct_start * total_steps == 1."""
    schedule = make_schedule("onecycle", {"pct_start": pct_start})
    seen = [groups[0] for groups in multipliers(schedule, total_steps)]
    assert seen[1] == pytest.approx(1.0)


@pytest.mark.parametrize("total_steps", [1, 2])
def test_runs_too_short_for_a_cycle_keep_the_lr(total_steps, multipliers):
    seen = multipliers(make_schedule("onecycle"), total_steps)
    assert seen == [[1.0]] * total_steps

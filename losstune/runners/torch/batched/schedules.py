"""Learning-rate schedules of K members as tables: one row per member, one column per step.

A batched optimizer takes this step's column (``lr_scale`` and, for schedules that cycle
momentum, ``momentum``), so K members on K different schedules step together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from losstune.optim.base import OptimizerFactory, Schedule
from losstune.optim.schedules import WarmupSchedule, check_total_steps


def schedule_tables(
    schedules: Sequence[Schedule], factories: Sequence[OptimizerFactory], total_steps: int
) -> tuple[Tensor, Tensor | None]:
    """``(K, total_steps)`` float64 learning-rate multipliers (lr at step t over the base lr,
    t = 0-based optimizer step, the value torch uses for that step), and ``(K, total_steps)``
    momentum values when any member's schedule cycles momentum (rows of the others hold their
    constant beta1/momentum; NaN for an optimizer without either), else ``None``. Tables are
    on the CPU.

    A :class:`WarmupSchedule` member's row is its ``multiplier``; any other schedule (one-cycle)
    is stepped for real, as torch steps it, on the member's optimizer built over one dummy
    parameter. One row serves every parameter group: a ``LambdaLR`` multiplies each group's base
    rate by the same factor and ``OneCycleLR`` is linear in each group's peak rate. Identical
    ``(schedule, factory)`` pairs are computed once.
    """
    check_total_steps(total_steps)
    if len(schedules) != len(factories):
        raise ValueError(
            f"schedule_tables got {len(schedules)} schedules but {len(factories)} factories; "
            "pass one of each per member."
        )
    rows: dict[object, tuple[list[float], list[float] | None]] = {}
    members: list[tuple[list[float], list[float] | None]] = []
    for schedule, factory in zip(schedules, factories, strict=True):
        key = schedule if isinstance(schedule, WarmupSchedule) else (schedule, factory)
        if key not in rows:
            if isinstance(schedule, WarmupSchedule):
                lr = [schedule.multiplier(t, total_steps) for t in range(total_steps)]
                rows[key] = (lr, None)
            else:
                rows[key] = _stepped(schedule, factory, total_steps)
        members.append(rows[key])
    lr_table = torch.tensor([lr for lr, _ in members], dtype=torch.float64)
    lr_table = lr_table.reshape(len(members), total_steps)
    if all(momentum is None for _, momentum in members):
        return lr_table, None
    constants: dict[OptimizerFactory, float] = {}
    momentum_rows = []
    for factory, (_, momentum) in zip(factories, members, strict=True):
        if momentum is None:
            if factory not in constants:
                constants[factory] = _momentum(factory.build([nn.Parameter(torch.zeros(1))]))
            momentum = [constants[factory]] * total_steps
        momentum_rows.append(momentum)
    return lr_table, torch.tensor(momentum_rows, dtype=torch.float64)


def _stepped(
    schedule: Schedule, factory: OptimizerFactory, total_steps: int
) -> tuple[list[float], list[float] | None]:
    """The lr multipliers of ``schedule`` driving ``factory``'s optimizer, and its momentum per
    step, or ``None`` if the schedule leaves momentum at the factory's value."""
    optimizer = factory.build([nn.Parameter(torch.zeros(1))])
    group = optimizer.param_groups[0]
    base, initial = group["lr"], _momentum(optimizer)
    scheduler = schedule.build(optimizer, total_steps)
    lr, momentum = [group["lr"] / base], [_momentum(optimizer)]
    for _ in range(total_steps - 1):
        optimizer.step()  # no gradient: a no-op that keeps the scheduler's step-order check quiet
        scheduler.step()
        lr.append(group["lr"] / base)
        momentum.append(_momentum(optimizer))
    cycles = any(m != initial for m in momentum if not math.isnan(m))
    return lr, momentum if cycles else None


def _momentum(optimizer: torch.optim.Optimizer) -> float:
    """What a cycling schedule moves: the first group's beta1, else its momentum, else NaN."""
    group = optimizer.param_groups[0]
    if "betas" in group:
        return float(group["betas"][0])
    return float(group.get("momentum", math.nan))

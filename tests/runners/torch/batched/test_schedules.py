"""``schedule_tables`` against torch: every registered schedule, stepped for real on each
member's optimizer with two parameter groups, gives each step's learning rate over the group's
base rate (the same for both groups) and, where it cycles momentum, each step's beta1 or
momentum. The settings of a new schedule go in ``SETTINGS`` (a test fails until they do).
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from losstune.optim import SCHEDULES, make_optimizer_factory, make_schedule
from losstune.optim.schedules.cosine import CosineSchedule
from losstune.optim.schedules.onecycle import OneCycleSchedule
from losstune.runners.torch.batched.schedules import schedule_tables

SETTINGS = {
    "constant": [{}, {"warmup": 0.2}],
    "cosine": [{"warmup": 0.1, "min_lr_ratio": 0.1}, {}],
    "linear": [{"warmup": 0.05, "min_lr_ratio": 0.2}, {}],
    "wsd": [{"warmup": 0.1, "decay": 0.3, "min_lr_ratio": 0.05}, {}],
    "onecycle": [{}, {"pct_start": 0.5, "div_factor": 10.0, "final_div_factor": 100.0}],
}
# betas to cycle, momentum to cycle, momentum 0 (not cycled), none at all
FACTORIES = [
    make_optimizer_factory("adamw", {"lr": 3e-3, "beta1": 0.8}),
    make_optimizer_factory("sgd", {"lr": 0.1, "momentum": 0.7}),
    make_optimizer_factory("sgd", {"lr": 0.1, "momentum": 0.0}),
    make_optimizer_factory("adafactor"),
]
TOTAL_STEPS = [1, 2, 3, 50]


def torch_run(schedule, factory, total_steps):
    """Per step: each of two groups' lr over its base lr, and the beta1/momentum (NaN if none)
    that torch's optimizer uses, with torch warnings raised as errors."""
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": factory.lr * 0.3}]
    optimizer = factory.build(groups)
    bases = [group["lr"] for group in optimizer.param_groups]
    lr, momentum = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler = schedule.build(optimizer, total_steps)
        for _ in range(total_steps):
            lr.append([g["lr"] / b for g, b in zip(optimizer.param_groups, bases, strict=True)])
            group = optimizer.param_groups[0]
            beta1 = group["betas"][0] if "betas" in group else group.get("momentum", math.nan)
            momentum.append(beta1)
            optimizer.step()
            scheduler.step()
    return torch.tensor(lr, dtype=torch.float64), torch.tensor(momentum, dtype=torch.float64)


def assert_tables_match(schedules, factories, total_steps):
    lr_table, momentum_table = schedule_tables(schedules, factories, total_steps)
    assert lr_table.dtype == torch.float64 and lr_table.shape == (len(schedules), total_steps)
    references = [torch_run(s, f, total_steps) for s, f in zip(schedules, factories, strict=True)]
    for row, (lr, _) in zip(lr_table, references, strict=True):
        for group in range(2):
            torch.testing.assert_close(row, lr[:, group], rtol=1e-12, atol=0)
    cycles = any(len(set(m[~m.isnan()].tolist())) > 1 for _, m in references)
    if not cycles:
        assert momentum_table is None
        return
    assert momentum_table is not None and momentum_table.dtype == torch.float64
    expected = torch.stack([m for _, m in references])
    torch.testing.assert_close(momentum_table, expected, rtol=0, atol=0, equal_nan=True)


def test_every_schedule_has_settings():
    assert sorted(SETTINGS) == SCHEDULES.names()


@pytest.mark.parametrize("total_steps", TOTAL_STEPS)
@pytest.mark.parametrize("name", SCHEDULES.names())
def test_tables_match_torch(name, total_steps):
    members = [(make_schedule(name, p), f) for p in SETTINGS[name] for f in FACTORIES]
    assert_tables_match([s for s, _ in members], [f for _, f in members], total_steps)


@pytest.mark.parametrize("total_steps", TOTAL_STEPS)
def test_a_mixed_population_matches_torch(total_steps):
    """Members on every schedule at once: where one cycles momentum, the others' rows hold
    their optimizer's constant beta1 or momentum."""
    members = [
        (make_schedule(name, params), factory)
        for name in SCHEDULES.names()
        for params in SETTINGS[name]
        for factory in FACTORIES[:2]
    ]
    assert_tables_match([s for s, _ in members], [f for _, f in members], total_steps)


def test_only_warmup_schedules_give_no_momentum_table():
    schedules = [make_schedule("cosine"), make_schedule("constant", {"warmup": 0.1})]
    _, momentum = schedule_tables(schedules, FACTORIES[:2], 10)
    assert momentum is None


def test_one_cycle_rows_cycle_and_constant_rows_hold_beta1():
    schedules = [make_schedule("onecycle"), make_schedule("constant")]
    _, momentum = schedule_tables(schedules, [FACTORIES[0], FACTORIES[0]], 50)
    assert momentum[0].max() == pytest.approx(0.95) and momentum[0].min() == pytest.approx(0.85)
    assert momentum[1].eq(0.8).all()


def test_identical_members_are_computed_once(monkeypatch):
    built, multiplied = [], []
    onecycle_build, cosine_multiplier = OneCycleSchedule.build, CosineSchedule.multiplier

    def count_build(self, optimizer, total_steps):
        built.append(self)
        return onecycle_build(self, optimizer, total_steps)

    def count_multiplier(self, step, total_steps):
        multiplied.append(step)
        return cosine_multiplier(self, step, total_steps)

    monkeypatch.setattr(OneCycleSchedule, "build", count_build)
    monkeypatch.setattr(CosineSchedule, "multiplier", count_multiplier)
    onecycle, cosine = make_schedule("onecycle"), make_schedule("cosine")
    # the cosine rows ignore the factory; one-cycle's depends on it (momentum or not)
    schedules = [onecycle] * 4 + [onecycle, cosine, cosine, make_schedule("cosine")]
    factories = [FACTORIES[0]] * 4 + [FACTORIES[1], FACTORIES[0], FACTORIES[1], FACTORIES[0]]
    lr, _ = schedule_tables(schedules, factories, 10)
    assert len(built) == 2 and len(multiplied) == 10
    assert torch.equal(lr[0], lr[3]) and torch.equal(lr[5], lr[7])


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="2 schedules but 1 factories"):
        schedule_tables([make_schedule("cosine")] * 2, FACTORIES[:1], 10)


def test_non_positive_total_steps_are_refused():
    with pytest.raises(ValueError, match="total_steps >= 1"):
        schedule_tables([make_schedule("cosine")], FACTORIES[:1], 0)

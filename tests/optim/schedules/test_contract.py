"""Contract tests every registered schedule must pass.

Parametrized over ``SCHEDULES`` (search ranges and field domains are checked with the
optimizers' in ``tests/optim/test_contract.py``): ``total_steps < 1`` is refused by name, the
multiplier is never negative and peaks at exactly 1, a run of ``total_steps`` steps raises no
torch warning, and, with warm-up, it starts near 0, reaches 1 where warm-up ends and ends at its
documented value. The landmarks of a new schedule go in ``LANDMARKS`` (a test fails until they
do).
"""

from __future__ import annotations

import copy
import math

import pytest
import torch

from losstune.optim import SCHEDULES, make_schedule

TOTAL = 100
# name -> (hyperparameters, first multiplier, first step at multiplier 1, last multiplier)
LANDMARKS = {
    "constant": ({"warmup": 0.1}, 1 / 11, 10, 1.0),
    "cosine": ({"warmup": 0.1, "min_lr_ratio": 0.1}, 1 / 11, 10, 0.1),
    "linear": ({"warmup": 0.1, "min_lr_ratio": 0.1}, 1 / 11, 10, 0.1),
    "wsd": ({"warmup": 0.1, "decay": 0.2, "min_lr_ratio": 0.1}, 1 / 11, 10, 0.1),
    # torch's OneCycleLR: lr / div_factor first, peak at step pct_start * total - 1,
    # lr / (div_factor * final_div_factor) last
    "onecycle": ({"pct_start": 0.1}, 1 / 25, 9, 1 / 25 / 1e4),
}


WITH_WARMUP = [n for n, cls in SCHEDULES.items() if "warmup" in cls.hyperparameter_names()]


def test_every_schedule_has_landmarks():
    assert sorted(LANDMARKS) == SCHEDULES.names()


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_landmarks(name, multipliers):
    params, first, peak_step, last = LANDMARKS[name]
    seen = [groups[0] for groups in multipliers(make_schedule(name, params), TOTAL)]
    assert seen[0] == pytest.approx(first)
    assert max(seen[:peak_step]) < 1
    assert seen[peak_step] == pytest.approx(1.0)
    assert seen[-1] == pytest.approx(last)


@pytest.mark.parametrize("total_steps", [1, 2, 3, 17])
@pytest.mark.parametrize("name", SCHEDULES.names())
def test_never_negative_and_peaks_at_one(name, total_steps, multipliers):
    for params in ({}, LANDMARKS[name][0]):
        seen = [groups[0] for groups in multipliers(make_schedule(name, params), total_steps)]
        assert all(math.isfinite(m) and m >= 0 for m in seen), seen
        if total_steps >= 17:
            assert max(seen) == pytest.approx(1.0)


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_scheduler_state_round_trips(name):
    params = LANDMARKS[name][0]
    optimizer = _sgd()
    scheduler = make_schedule(name, params).build(optimizer, 20)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    saved = copy.deepcopy((optimizer.state_dict(), scheduler.state_dict()))
    twin = _sgd()
    twin_scheduler = make_schedule(name, params).build(twin, 20)
    twin.load_state_dict(saved[0])
    twin_scheduler.load_state_dict(saved[1])
    for _ in range(13):
        assert twin.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
        for opt, sched in ((optimizer, scheduler), (twin, twin_scheduler)):
            opt.step()
            sched.step()


@pytest.mark.parametrize("name", SCHEDULES.names())
@pytest.mark.parametrize("total_steps", [0, -5, 2.5, True])
def test_bad_total_steps_are_refused_by_name(name, total_steps):
    with pytest.raises(ValueError, match="total_steps >= 1"):
        make_schedule(name).build(_sgd(), total_steps)


@pytest.mark.parametrize("name", WITH_WARMUP)
def test_a_warmup_of_the_whole_run_is_refused(name):
    with pytest.raises(ValueError, match="'warmup' must be < 1"):
        make_schedule(name, {"warmup": 1.0})


def _sgd() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)

"""The shared warm-up arithmetic."""

from __future__ import annotations

import pytest

from losstune.optim.schedules._warmup import progress, warmup_steps
from losstune.optim.schedules.constant import ConstantSchedule


def test_warmup_ramps_to_one_without_a_zero_step():
    """10 warm-up steps of 100: step s runs at (s + 1) / 11, step 10 at the full rate."""
    schedule = ConstantSchedule(warmup=0.1)
    seen = [schedule.multiplier(step, 100) for step in range(12)]
    assert seen == pytest.approx([(s + 1) / 11 for s in range(10)] + [1.0, 1.0])


def test_warmup_leaves_at_least_one_step_after_it():
    assert warmup_steps(0.99, 10) == 9
    assert warmup_steps(0.04, 10) == 0
    assert ConstantSchedule(warmup=0.9).multiplier(0, 1) == 1.0


def test_progress_is_clamped_and_safe_on_an_empty_stretch():
    assert [progress(s, 2, 6) for s in (0, 2, 4, 6, 9)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert progress(3, 3, 3) == 0.0

"""Warmup-stable-decay: flat in the middle, linear decay over the last ``decay`` of the run."""

from __future__ import annotations

import pytest

from losstune.optim import make_schedule


def test_flat_middle_then_linear_decay(multipliers):
    """100 steps: warm-up 0..9, flat at 1 for steps 10..79, decay over the last 20 steps so
    step 99 runs at min_lr_ratio."""
    schedule = make_schedule("wsd", {"warmup": 0.1, "decay": 0.2, "min_lr_ratio": 0.1})
    seen = [groups[0] for groups in multipliers(schedule, 100)]
    assert seen[10:80] == [1.0] * 70
    assert seen[80:] == pytest.approx([1 - 0.9 * k / 20 for k in range(1, 21)])


def test_decay_of_the_whole_run_without_warmup_is_linear():
    schedule = make_schedule("wsd", {"decay": 1.0})
    assert [schedule.multiplier(s, 5) for s in range(5)] == pytest.approx([1, 0.75, 0.5, 0.25, 0])


def test_warmup_and_decay_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match=r"warmup \(0.3\) \+ decay \(0.8\).*lower one"):
        make_schedule("wsd", {"warmup": 0.3, "decay": 0.8})


def test_zero_decay_is_refused_by_name():
    with pytest.raises(ValueError, match="'decay' must be > 0"):
        make_schedule("wsd", {"decay": 0.0})

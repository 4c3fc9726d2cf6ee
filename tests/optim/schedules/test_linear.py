"""Linear decay: equal decrements from 1 after warm-up to min_lr_ratio at the last step."""

from __future__ import annotations

import pytest

from losstune.optim import make_schedule


def test_straight_line_from_one_to_the_floor():
    schedule = make_schedule("linear", {"warmup": 0.2, "min_lr_ratio": 0.5})
    seen = [schedule.multiplier(s, 10) for s in range(10)]  # 2 warm-up steps, decay 2..9
    assert seen[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert seen[2:] == pytest.approx([1 - 0.5 * k / 7 for k in range(8)])

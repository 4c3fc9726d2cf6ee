"""Cosine: 1 where warm-up ends, (1 + min) / 2 half-way through the decay, min at the end."""

from __future__ import annotations

import math

import pytest

from losstune.optim import make_schedule


def test_landmarks_with_warmup(multipliers):
    """110 steps, warm-up 0.1: 11 warm-up steps; the decay runs from step 11 to step 109, so
    its midpoint is step 60."""
    schedule = make_schedule("cosine", {"warmup": 0.1, "min_lr_ratio": 0.2})
    seen = [groups[0] for groups in multipliers(schedule, 110)]
    assert seen[11] == pytest.approx(1.0)
    assert seen[60] == pytest.approx((1 + 0.2) / 2)
    assert seen[109] == pytest.approx(0.2)
    assert all(a >= b for a, b in zip(seen[11:], seen[12:], strict=False))


def test_follows_the_closed_form_without_warmup():
    schedule = make_schedule("cosine")
    expected = [0.5 * (1 + math.cos(math.pi * s / 9)) for s in range(10)]
    assert [schedule.multiplier(s, 10) for s in range(10)] == pytest.approx(expected)
    assert schedule.multiplier(25, 10) == 0.0  # past the run it stays at the floor


def test_the_default_recipe_schedule_ends_at_zero(multipliers):
    assert multipliers(make_schedule("cosine"), 30)[-1] == [pytest.approx(0.0)]

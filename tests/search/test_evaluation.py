import math

import pytest
from scipy import stats

from losstune.search.evaluation import better, evaluation_seeds, mean_interval


def test_mean_interval_is_student_t():
    mean, low, high = mean_interval([0.9, 0.92, 0.94])
    half = stats.t.ppf(0.975, 2) * 0.02 / math.sqrt(3)
    assert mean == pytest.approx(0.92)
    assert (low, high) == pytest.approx((0.92 - half, 0.92 + half))
    assert mean_interval([0.5]) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError):
        mean_interval([])


def test_evaluation_seeds_avoid_the_search_seed():
    assert evaluation_seeds(0, 3) == (1, 2, 3)
    assert 7 not in evaluation_seeds(7, 5)
    with pytest.raises(ValueError, match="n_seeds must be >= 1"):
        evaluation_seeds(0, 0)


def test_better_respects_direction_and_nan():
    assert better(0.9, 0.8, True) and not better(0.9, 0.8, False)
    assert not better(float("nan"), 0.1, True) and better(0.1, float("nan"), False)

"""The normalised space: metrics mapped to "increasing towards better", [0, 1]-ish."""

import numpy as np
import pytest

from losstune.scaling.curves.normalise import HEADROOM, MIN_SPAN, CurveData, MetricScale


def test_bounded_scores_are_kept_as_they_are():
    accuracy = np.array([0.4, 0.7, 0.8])
    scale = MetricScale.of(accuracy, greater_is_better=True)
    np.testing.assert_allclose(scale.to_unit(accuracy), accuracy)
    assert scale.best == 1.0


def test_r2_below_zero_keeps_one_as_the_best_value():
    r2 = np.array([-1.0, 0.2, 0.5])
    scale = MetricScale.of(r2, greater_is_better=True)
    np.testing.assert_allclose(scale.to_unit(r2), [0.0, 0.6, 0.75])
    assert scale.from_unit(1.0) == pytest.approx(1.0)


def test_losses_map_to_one_minus_their_fraction_of_the_worst():
    rmse = np.array([2.0, 1.0, 0.5])
    scale = MetricScale.of(rmse, greater_is_better=False)
    np.testing.assert_allclose(scale.to_unit(rmse), [0.0, 0.5, 0.75])
    assert scale.best == 1.0 and scale.from_unit(1.0) == 0.0  # a perfect RMSE


@pytest.mark.parametrize(
    "values, greater",
    [([5.0, 7.0, 9.0], True), ([-1.0, -3.0, -4.0], False), ([3.0, 3.0, 3.0], True)],
)
def test_unbounded_metrics_use_their_range_and_round_trip(values, greater):
    values = np.array(values)
    scale = MetricScale.of(values, greater_is_better=greater)
    z = scale.to_unit(values)
    assert scale.best == np.inf
    assert z.min() == pytest.approx(0.0) and z.max() <= 1.0 + 1e-12
    np.testing.assert_allclose(scale.from_unit(z), values)
    # better values map higher whatever the direction
    better = values.max() + 1 if greater else values.min() - 1
    assert scale.to_unit(better) > z.max()


def test_cap_leaves_headroom_but_not_beyond_the_best_value():
    t = np.linspace(0.1, 1.0, 5)
    data = CurveData.of(t, np.array([0.1, 0.15, 0.18, 0.19, 0.2]), best=1.0)
    assert data.span == pytest.approx(0.1)
    assert data.cap == pytest.approx(0.2 + HEADROOM * 0.1)
    assert data.floor == pytest.approx(0.1 - 2 * 0.1)
    near_best = CurveData.of(t, np.array([0.9, 0.95, 0.97, 0.98, 0.99]), best=1.0)
    assert near_best.cap == pytest.approx(1.0)
    flat = CurveData.of(t, np.full(5, 1.0), best=1.0)
    assert flat.span == MIN_SPAN and flat.cap > flat.low  # bounds stay non-empty

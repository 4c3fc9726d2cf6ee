"""forecast_final: calibrated on noisy power laws, direction-aware, robust to messy input."""

import json

import numpy as np
import pytest

from losstune.scaling.curves import MIN_POINTS, forecast_final


def power_law(t):
    return 0.9 - 0.5 * np.asarray(t, dtype=float) ** -0.6


def test_interval_covers_the_true_final_value_of_noisy_power_laws():
    steps, horizon = np.arange(1, 21), 60
    covered = 0
    for seed in range(30):
        noisy = power_law(steps) + np.random.default_rng(seed).normal(0, 0.01, steps.size)
        forecast = forecast_final(steps, noisy, horizon, greater_is_better=True, seed=seed)
        low, high = forecast.interval(0.9)
        covered += low <= power_law(horizon) <= high
    assert covered >= 25  # nominal 27 of 30; measured 28 (92.5% over 40 seeds)


def test_noiseless_curve_is_predicted_closely_with_a_tight_interval():
    steps = np.arange(1, 16)
    forecast = forecast_final(steps, power_law(steps), 100, greater_is_better=True)
    assert forecast.mean == pytest.approx(power_law(100), abs=0.005)
    low, high = forecast.interval(0.9)
    assert high - low < 0.02
    assert forecast.quantile(0.5) == pytest.approx(forecast.mean, abs=0.005)
    np.testing.assert_allclose(forecast.quantile([0.05, 0.95]), [low, high])


def test_loss_like_metrics_are_forecast_in_their_own_scale_and_direction():
    steps = np.arange(1, 21)
    rmse = 0.3 + 1.2 * steps**-0.7
    noisy = rmse + np.random.default_rng(0).normal(0, 0.02, steps.size)
    forecast = forecast_final(steps, noisy, 60, greater_is_better=False, seed=0)
    truth = 0.3 + 1.2 * 60**-0.7
    low, high = forecast.interval(0.9)
    assert low <= truth <= high
    assert forecast.mean < noisy[-5:].mean()  # still falling
    # beating means being lower for a loss
    assert forecast.prob_beats(high) == pytest.approx(0.95, abs=0.01)
    assert forecast.prob_beats(low) == pytest.approx(0.05, abs=0.01)
    assert forecast.prob_beats(forecast.quantile(0.5)) == pytest.approx(0.5, abs=0.05)


def test_prob_beats_is_strict_and_direction_aware():
    steps = np.arange(1, 11)
    up = forecast_final(steps, power_law(steps), 40, greater_is_better=True)
    assert up.prob_beats(0.0) == 1.0 and up.prob_beats(1.0) == 0.0
    assert up.prob_beats(up.quantile(0.3)) == pytest.approx(0.7, abs=0.02)


def test_a_bounded_score_is_never_forecast_past_its_best_value():
    steps = np.arange(1, 11)
    near_perfect = np.minimum(1.0, 0.97 + 0.003 * steps)
    forecast = forecast_final(steps, near_perfect, 30, greater_is_better=True)
    assert forecast.samples.max() <= 1.0
    assert forecast.prob_beats(1.0) == 0.0


def test_flat_curve_is_forecast_flat():
    forecast = forecast_final(np.arange(1, 8), np.full(7, 0.4), 30, greater_is_better=True)
    assert forecast.mean == pytest.approx(0.4, abs=0.01)
    assert forecast.prob_beats(0.9) == 0.0


@pytest.mark.parametrize(
    "steps, values",
    [
        (np.arange(1, MIN_POINTS), power_law(np.arange(1, MIN_POINTS))),
        (np.arange(1, 8), np.full(7, np.nan)),
        (np.arange(1, 8), [0.5, np.nan, np.inf, 0.6, np.nan, -np.inf, 0.7]),
        ([], []),
    ],
    ids=["too-few", "all-nan", "too-few-finite", "empty"],
)
def test_too_few_points_give_none(steps, values):
    assert forecast_final(steps, values, 50, greater_is_better=True) is None


def test_input_order_duplicates_and_non_finite_points_do_not_matter():
    steps = np.arange(1, 13)
    values = power_law(steps) + np.random.default_rng(1).normal(0, 0.01, steps.size)
    clean = forecast_final(steps, values, 40, greater_is_better=True, seed=5)
    order = np.random.default_rng(2).permutation(steps.size)
    messy_steps = np.concatenate([steps[order], [3, 30]])
    messy_values = np.concatenate([values[order], [np.nan, np.nan]])
    # a step reported twice keeps its last value
    messy_steps = np.concatenate([[4], messy_steps])
    messy_values = np.concatenate([[0.0], messy_values])
    messy = forecast_final(messy_steps, messy_values, 40, greater_is_better=True, seed=5)
    np.testing.assert_array_equal(clean.samples, messy.samples)


def test_steps_counted_from_zero_are_shifted():
    from_one = forecast_final(
        np.arange(1, 11), power_law(np.arange(1, 11)), 40, greater_is_better=True
    )
    from_zero = forecast_final(
        np.arange(0, 10), power_law(np.arange(1, 11)), 39, greater_is_better=True
    )
    np.testing.assert_allclose(from_zero.samples, from_one.samples)


def test_seeded_draws_are_reproducible():
    steps = np.arange(1, 11)
    values = power_law(steps) + np.random.default_rng(0).normal(0, 0.01, steps.size)
    a = forecast_final(steps, values, 40, greater_is_better=True, seed=(1, 2, 3))
    b = forecast_final(steps, values, 40, greater_is_better=True, seed=(1, 2, 3))
    c = forecast_final(steps, values, 40, greater_is_better=True, seed=4)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)
    assert a.samples.size == 1000


def test_summary_is_small_json_with_weights_of_the_fitted_families():
    steps = np.arange(1, 11)
    forecast = forecast_final(steps, power_law(steps), 40, greater_is_better=True)
    summary = forecast.to_dict()
    text = json.dumps(summary)
    assert len(text) < 600
    assert {"mean", "q05", "q50", "q95", "horizon", "n_points", "weights"} <= set(summary)
    assert summary["q05"] <= summary["q50"] <= summary["q95"]
    assert sum(summary["weights"].values()) == pytest.approx(1.0, abs=1e-3)
    # 10 points fit every family (the 4-parameter ones need 6)
    assert set(forecast.params) == set(forecast.weights) and len(forecast.weights) == 7
    assert "mean=" in repr(forecast)


def test_families_can_be_chosen_and_short_curves_fit_only_the_small_ones():
    steps = np.arange(1, 6)
    forecast = forecast_final(steps, power_law(steps), 30, greater_is_better=True)
    assert set(forecast.weights) == {"pow3", "exp3", "log_power"}
    only = forecast_final(steps, power_law(steps), 30, greater_is_better=True, families=["pow3"])
    assert set(only.weights) == {"pow3"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(steps=[1, 2, 3], values=[0.1, 0.2]), "same length"),
        (dict(horizon=np.inf), "horizon"),
        (dict(n_samples=0), "n_samples"),
        (dict(families=["pow5"]), "pow5"),
    ],
)
def test_malformed_arguments_raise(kwargs, match):
    call = dict(steps=np.arange(1, 8), values=power_law(np.arange(1, 8)), horizon=30)
    call.update(kwargs)
    with pytest.raises(ValueError, match=match):
        forecast_final(**call, greater_is_better=True)

"""Step-law fits: recovery of known laws, intervals that cover, held exponents, errors, YAML."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from scipy import stats

from losstune.scaling.steplaw import (
    Prediction,
    StepLawFit,
    StepLawPoint,
    fit_step_law,
)

A, ALPHA, BETA, C, GAMMA = 0.02, -0.4, 0.25, 0.3, 0.55
WIDTHS_N = (2e3, 8e3, 3e4)
SAMPLES = (1e4, 3e4, 1e5)


def law_points(noise: float = 0.0, seed: int = 0, grid=None) -> list[StepLawPoint]:
    rng = np.random.default_rng(seed)
    grid = grid or [(n, d) for n in WIDTHS_N for d in SAMPLES]
    return [
        StepLawPoint(
            n,
            d,
            lr=A * n**ALPHA * d**BETA * math.exp(noise * rng.standard_normal()),
            batch_size=C * d**GAMMA * math.exp(noise * rng.standard_normal()),
        )
        for n, d in grid
    ]


def test_noiseless_points_give_back_the_law_exactly():
    fit = fit_step_law(law_points())
    assert fit.a == pytest.approx(A, rel=1e-9)
    assert (fit.alpha, fit.beta) == pytest.approx((ALPHA, BETA), abs=1e-9)
    assert (fit.c, fit.gamma) == pytest.approx((C, GAMMA), rel=1e-9)
    assert fit.lr.residual_sd == pytest.approx(0.0, abs=1e-9)
    assert fit.n_points == 9 and fit.lr.dof == 6 and fit.batch.dof == 7
    assert fit.notes == ()
    predicted = fit.predict_lr(1e6, 1e7)
    assert predicted.value == pytest.approx(A * 1e6**ALPHA * 1e7**BETA, rel=1e-8)
    assert predicted.low == pytest.approx(predicted.value, rel=1e-6)
    assert fit.predict_batch(1e7).value == pytest.approx(C * 1e7**GAMMA, rel=1e-8)


def test_batch_law_matches_scipy_linregress():
    points = law_points(noise=0.3, seed=1)
    fit = fit_step_law(points)
    reference = stats.linregress(
        np.log([p.samples for p in points]), np.log([p.batch_size for p in points])
    )
    assert fit.gamma == pytest.approx(reference.slope)
    assert fit.batch.log_scale == pytest.approx(reference.intercept)
    assert fit.batch.standard_error("gamma") == pytest.approx(reference.stderr)
    assert fit.batch.standard_errors[0] == pytest.approx(reference.intercept_stderr)


def test_noisy_points_recover_the_law_within_its_intervals():
    fit = fit_step_law(law_points(noise=0.2, seed=3))
    t = stats.t.ppf(0.975, fit.lr.dof)
    for name, true in (("alpha", ALPHA), ("beta", BETA)):
        assert abs(fit.lr.exponent(name) - true) <= t * fit.lr.standard_error(name)
    assert abs(fit.gamma - GAMMA) <= stats.t.ppf(0.975, fit.batch.dof) * fit.batch.standard_error(
        "gamma"
    )
    true_lr = A * 1e5**ALPHA * 3e5**BETA
    predicted = fit.predict_lr(1e5, 3e5)
    assert predicted.contains(true_lr)
    assert predicted.low < predicted.value < predicted.high


@pytest.mark.parametrize(("n_new", "d_new"), [(4e3, 1.7e4), (1e5, 1e5)])
def test_prediction_intervals_cover_new_runs_95_percent_of_the_time(n_new, d_new):
    """Inside the proxies' range (first case) an interval for the law's mean alone covers a
    new run's best value only ~77% of the time: the noise term must be in the interval."""
    rng = np.random.default_rng(0)
    grid = [(n, d) for n in (2e3, 8e3) for d in (1e4, 3e4)] + [(4e3, 2e4)]
    noise, repeats = 0.3, 400
    covered_lr = covered_alpha = 0
    for seed in range(repeats):
        fit = fit_step_law(law_points(noise=noise, seed=seed, grid=grid))
        new_best = A * n_new**ALPHA * d_new**BETA * math.exp(noise * rng.standard_normal())
        covered_lr += fit.predict_lr(n_new, d_new).contains(new_best)
        half = stats.t.ppf(0.975, fit.lr.dof) * fit.lr.standard_error("alpha")
        covered_alpha += abs(fit.alpha - ALPHA) <= half
    assert 0.92 <= covered_lr / repeats <= 0.98
    assert 0.92 <= covered_alpha / repeats <= 0.98


def test_one_width_holds_alpha_at_the_mup_value_and_says_so():
    points = law_points(grid=[(5e3, d) for d in SAMPLES])
    fit = fit_step_law(points)
    assert fit.alpha == 0.0 and fit.lr.fixed == ("alpha",)
    assert fit.lr.standard_error("alpha") == 0.0
    assert fit.beta == pytest.approx(BETA)
    assert len(fit.notes) == 1 and "alpha held at 0" in fit.notes[0]
    assert "μP" in fit.notes[0]
    # the law through the points: the scale absorbs N^alpha of the one width
    assert fit.predict_lr(5e3, 5e4).value == pytest.approx(A * 5e3**ALPHA * 5e4**BETA)


def test_one_data_size_holds_beta_and_gamma():
    fit = fit_step_law(law_points(grid=[(n, 2e4) for n in WIDTHS_N]))
    assert fit.lr.fixed == ("beta",) and fit.batch.fixed == ("gamma",)
    assert fit.alpha == pytest.approx(ALPHA)
    assert fit.c == pytest.approx(C * 2e4**GAMMA)
    assert [note.split(" held")[0] for note in fit.notes] == ["beta", "gamma"]


def test_sizes_that_grow_together_hold_alpha():
    grid = [(1e3, 1e4), (2e3, 2e4), (4e3, 4e4), (8e3, 8e4)]  # N and D proportional
    fit = fit_step_law(law_points(grid=grid))
    assert fit.lr.fixed == ("alpha",) and fit.alpha == 0.0
    assert "does not vary independently" in fit.notes[0]
    assert fit.beta == pytest.approx(ALPHA + BETA)  # what the data can say: the sum


def test_a_given_exponent_is_held_without_a_note():
    fit = fit_step_law(law_points(), alpha=ALPHA)
    assert fit.lr.fixed == ("alpha",) and fit.alpha == ALPHA and fit.notes == ()
    assert fit.beta == pytest.approx(BETA) and fit.lr.dof == 7


def test_too_few_points_for_the_coefficients_raise():
    with pytest.raises(ValueError, match=r"3 free coefficients .* got 3 point"):
        fit_step_law(law_points(grid=[(1e3, 1e4), (2e3, 1e4), (1e3, 3e4)]))
    with pytest.raises(ValueError, match=r"got 1 point"):
        fit_step_law(law_points(grid=[(1e3, 1e4)]))
    with pytest.raises(ValueError, match=r"got 0 point"):
        fit_step_law([])


@pytest.mark.parametrize("field", ["n_params", "samples", "lr", "batch_size"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_values_raise_naming_the_field(field, value):
    values = {"n_params": 1e3, "samples": 1e4, "lr": 1e-3, "batch_size": 64}
    with pytest.raises(ValueError, match=f"StepLawPoint.{field} must be a finite number > 0"):
        StepLawPoint(**{**values, field: value})


def test_predicting_at_a_non_positive_size_raises():
    fit = fit_step_law(law_points())
    with pytest.raises(ValueError, match="N must be a finite number > 0; got 0"):
        fit.predict_lr(0, 1e4)
    with pytest.raises(ValueError, match="D must be a finite number > 0; got -5"):
        fit.predict_batch(-5)
    with pytest.raises(ValueError, match="level"):
        fit.predict_batch(1e4, level=95)


def test_round_trip_through_yaml_keeps_the_fit_and_its_predictions():
    fit = fit_step_law(law_points(noise=0.2, grid=[(5e3, d) for d in SAMPLES] + [(9e3, 1e4)]))
    data = yaml.safe_load(yaml.safe_dump(fit.to_dict()))
    again = StepLawFit.from_dict(data)
    assert again == fit
    assert again.predict_lr(1e5, 1e5) == fit.predict_lr(1e5, 1e5)
    assert isinstance(again.predict_batch(1e5), Prediction)
    with pytest.raises(ValueError, match="do not match the expected"):
        StepLawFit.from_dict({**data, "colour": "red"})

"""decide(): the one stopping rule shared by the Optuna pruner and the Ray scheduler."""

import numpy as np
import pytest

from losstune.scaling.pruning import decide
from losstune.scaling.pruning import decision as decision_module

STEPS = np.arange(1, 11)
HOPELESS = 0.60 - 0.2 * STEPS**-1.0  # levels off near 0.6
PROMISING = 0.95 - 0.45 * STEPS**-0.5  # 0.81 at step 10, ~0.87 at step 30


def _decide(steps=STEPS, values=HOPELESS, **kwargs):
    call = dict(horizon=30, incumbent=0.85, greater_is_better=True)
    return decide(steps, values, **{**call, **kwargs})


def test_stops_a_clearly_hopeless_curve():
    result = _decide()
    assert result.stop
    assert result.probability < 0.05
    assert result.forecast is not None and result.forecast.mean < 0.65
    assert "<" in result.reason


def test_keeps_a_clearly_promising_curve_that_is_still_below_the_incumbent():
    assert PROMISING[-1] < 0.85
    result = _decide(values=PROMISING)
    assert not result.stop
    assert result.probability > 0.5
    assert ">=" in result.reason


def test_stops_a_hopeless_loss_curve_against_a_lower_incumbent():
    rmse = 1.0 + 0.5 * STEPS**-1.0
    assert _decide(values=rmse, incumbent=0.6, greater_is_better=False).stop
    assert not _decide(values=rmse, incumbent=1.2, greater_is_better=False).stop


def test_never_stops_on_too_few_points():
    result = _decide(steps=STEPS[:6], values=HOPELESS[:6], min_points=7)
    assert not result.stop and result.forecast is None and result.probability is None
    assert "6 of 7" in result.reason
    # non-finite reports do not count
    values = HOPELESS.copy()
    values[:6] = np.nan
    assert not _decide(values=values).stop
    assert _decide(values=HOPELESS[-5:], steps=STEPS[-5:]).stop


@pytest.mark.parametrize("incumbent", [None, float("nan")])
def test_never_stops_without_an_incumbent_but_still_forecasts(incumbent):
    result = _decide(incumbent=incumbent)
    assert not result.stop and result.probability is None
    assert result.forecast is not None
    assert result.reason == "no incumbent yet"


@pytest.mark.parametrize("horizon", [10, 5])
def test_never_stops_at_or_after_the_horizon(horizon):
    result = _decide(horizon=horizon)
    assert not result.stop and "horizon" in result.reason


def test_never_stops_when_the_fit_fails(monkeypatch):
    monkeypatch.setattr(decision_module, "forecast_final", lambda *args, **kwargs: None)
    result = _decide()
    assert not result.stop and result.forecast is None
    assert "fitted" in result.reason


def test_a_smaller_delta_stops_later():
    # a marginal incumbent: the forecast gives the curve a 20% chance to beat it
    incumbent = _decide(values=PROMISING).forecast.quantile(0.8)
    p = _decide(values=PROMISING, incumbent=incumbent).probability
    assert p == pytest.approx(0.2, abs=0.01)
    assert _decide(values=PROMISING, incumbent=incumbent, delta=0.3).stop
    assert not _decide(values=PROMISING, incumbent=incumbent, delta=0.1).stop


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(delta=0.0), "delta"), (dict(delta=1.5), "delta"), (dict(min_points=3), "min_points")],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _decide(**kwargs)

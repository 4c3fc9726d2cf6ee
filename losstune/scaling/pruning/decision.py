"""The one rule behind every curve-based pruner: stop a trial when its forecast gives it less
than ``delta`` probability of finishing better than the incumbent (Domhan et al. 2015's
predictive termination; their code uses ``delta = 0.05``).

The Optuna pruner and the Ray Tune scheduler only gather the inputs (the trial's curve, the
horizon, the incumbent) and call :func:`decide`, so both stop the same trials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from losstune.scaling.curves.forecast import MIN_POINTS, CurveForecast, forecast_final


@dataclass(frozen=True)
class PruneDecision:
    """Whether to stop, the probability of beating the incumbent it rests on (``None`` when
    none was computed), the forecast (``None`` when none was made) and why, in words."""

    stop: bool
    probability: float | None
    forecast: CurveForecast | None
    reason: str


def decide(
    steps: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    horizon: float,
    incumbent: float | None,
    greater_is_better: bool,
    delta: float = 0.05,
    min_points: int = MIN_POINTS,
    seed: int | Sequence[int] = 0,
    n_samples: int = 1000,
) -> PruneDecision:
    """Decide whether the trial whose curve so far is ``(steps, values)`` should stop.

    Never stops with fewer than ``min_points`` finite points, at or after ``horizon``, when
    the fit fails, or without an ``incumbent`` (``None`` or NaN: no trial has finished yet).
    Otherwise stops when ``P(value at horizon beats incumbent) < delta``. The forecast is made
    whenever there are enough points before the horizon, incumbent or not, so it can be logged.

    Example:
        >>> import numpy as np
        >>> steps = np.arange(1, 11)
        >>> hopeless = 0.60 - 0.2 * steps**-1.0
        >>> decide(steps, hopeless, horizon=30, incumbent=0.9, greater_is_better=True).stop
        True
    """
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1); got {delta!r}.")
    if min_points < MIN_POINTS:
        raise ValueError(
            f"min_points must be >= {MIN_POINTS} (the fewest points a forecast is made from); "
            f"got {min_points!r}."
        )
    steps_array = np.asarray(steps, dtype=float)
    values_array = np.asarray(values, dtype=float)
    finite = np.isfinite(steps_array) & np.isfinite(values_array)
    n = int(np.count_nonzero(finite))
    if n < min_points:
        return PruneDecision(False, None, None, f"{n} of {min_points} points needed")
    last = float(np.max(steps_array[finite]))
    if last >= horizon:
        return PruneDecision(False, None, None, f"step {last:g} is at or after the horizon")
    forecast = forecast_final(
        steps_array,
        values_array,
        horizon,
        greater_is_better=greater_is_better,
        n_samples=n_samples,
        seed=seed,
    )
    if forecast is None:
        return PruneDecision(False, None, None, "no curve family could be fitted")
    if incumbent is None or math.isnan(incumbent):
        return PruneDecision(False, None, forecast, "no incumbent yet")
    probability = forecast.prob_beats(incumbent)
    stop = probability < delta
    verb = "<" if stop else ">="
    return PruneDecision(
        stop,
        probability,
        forecast,
        f"P(beats {incumbent:.4g} at step {horizon:g}) = {probability:.3f} {verb} {delta:g}",
    )

"""Forecast the final value of a partial learning curve: a predictive distribution from an
ensemble of parametric families (Domhan et al. 2015, without their MCMC).

Every registered family is fitted (:func:`~losstune.scaling.curves.fit.fit_family`) in the
normalised space of :mod:`~losstune.scaling.curves.normalise`, and the fits are combined with
BIC weights, ``exp(-BIC/2)`` normalised, the squared errors measured against one noise
variance shared by all families (the median of their residual variances: the noise belongs to
the curve, not to the family, and on 5 points each family's own estimate varies wildly).
BIC rather than held-out last points: it needs one fit per family where held-out scoring needs
two, held-out scores on short curves rest on one or two noisy points, and it charges the
4-parameter families for flexibility short curves cannot support. The predictive is a
mixture: each family contributes its share of draws from its posterior (importance-sampled,
see :mod:`~losstune.scaling.curves.fit`) plus noise, mapped back to the metric's own scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from losstune.scaling.curves.families import CURVES
from losstune.scaling.curves.fit import FamilyFit, fit_family
from losstune.scaling.curves.normalise import CurveData, MetricScale

MIN_POINTS = 5
"""The fewest points a forecast is made from: the 3-parameter families need 5 (3 parameters
and 2 degrees of freedom for the noise)."""


@dataclass(frozen=True, repr=False, eq=False)
class CurveForecast:
    """The predictive distribution of a curve's value at ``horizon``, as ``samples`` in the
    metric's own scale, plus how it was made: the weight of each family and its fitted
    parameters (in the normalised space of :mod:`losstune.scaling.curves.normalise`)."""

    horizon: float
    samples: np.ndarray
    greater_is_better: bool
    weights: dict[str, float]
    params: dict[str, dict[str, float]]
    n_points: int
    last_step: float

    def __repr__(self) -> str:
        low, high = self.interval(0.9)
        return (
            f"CurveForecast(horizon={self.horizon:g}, mean={self.mean:.4g}, "
            f"90% interval=[{low:.4g}, {high:.4g}], n_points={self.n_points})"
        )

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def std(self) -> float:
        return float(np.std(self.samples))

    @overload
    def quantile(self, q: float) -> float: ...
    @overload
    def quantile(self, q: Sequence[float]) -> np.ndarray: ...
    def quantile(self, q: float | Sequence[float]) -> float | np.ndarray:
        """Quantile(s) ``q`` in ``[0, 1]`` of the predicted value."""
        result = np.quantile(self.samples, q)
        return float(result) if np.ndim(result) == 0 else result

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """The central interval holding ``level`` of the predictive mass."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1); got {level!r}.")
        low, high = np.quantile(self.samples, [(1 - level) / 2, (1 + level) / 2])
        return float(low), float(high)

    def prob_beats(self, threshold: float) -> float:
        """P(final value strictly better than ``threshold``), better meaning higher when
        greater is better, lower otherwise."""
        if self.greater_is_better:
            return float(np.mean(self.samples > threshold))
        return float(np.mean(self.samples < threshold))

    def to_dict(self) -> dict[str, Any]:
        """A small JSON-able summary (no samples): what a trial logs to MLflow or Optuna."""
        q05, q50, q95 = self.quantile([0.05, 0.5, 0.95])
        return {
            "horizon": self.horizon,
            "last_step": self.last_step,
            "n_points": self.n_points,
            "mean": self.mean,
            "q05": float(q05),
            "q50": float(q50),
            "q95": float(q95),
            "weights": {name: round(w, 4) for name, w in self.weights.items()},
        }


def forecast_final(
    steps: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    horizon: float,
    *,
    greater_is_better: bool,
    n_samples: int = 1000,
    seed: int | Sequence[int] = 0,
    families: Sequence[str] | None = None,
) -> CurveForecast | None:
    """Predict the value a curve observed at ``steps`` will have at step ``horizon``.

    Non-finite values are dropped, and a step reported twice keeps its last value. Steps
    should count from 1 (an epoch number); if the first is 0 or less, all are shifted so it
    is 1. Returns ``None``, never raises, when fewer than ``MIN_POINTS`` points remain or no
    family can be fitted; raises ``ValueError`` only for malformed arguments.

    Args:
        steps, values: the partial curve (the same length).
        horizon: the step to predict, normally the last epoch of the trial.
        greater_is_better: the metric's direction (accuracy: True; RMSE, log loss: False).
        n_samples: draws from the predictive distribution.
        seed: seeds the draws (a sequence of ints, e.g. ``(seed, trial, step)``, works too).
        families: names in ``CURVES`` to use (default: all).

    Example:
        >>> import numpy as np
        >>> steps = np.arange(1, 11)
        >>> forecast = forecast_final(steps, 0.9 - 0.4 * steps**-0.7, 50, greater_is_better=True)
        >>> round(forecast.mean, 2), forecast.prob_beats(0.95) < 0.05
        (0.87, True)
    """
    t, y = _clean(steps, values)
    horizon = float(horizon)
    if not np.isfinite(horizon):
        raise ValueError(f"horizon must be a finite step; got {horizon!r}.")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1; got {n_samples!r}.")
    chosen = [CURVES.get(name) for name in (families or CURVES.names())]
    if len(t) < MIN_POINTS:
        return None
    shift = 1.0 - t[0] if t[0] <= 0 else 0.0
    last = t[-1] + shift
    scale = MetricScale.of(y, greater_is_better=greater_is_better)
    data = CurveData.of((t + shift) / last, scale.to_unit(y), scale.best)
    fits = [fit for fit in (fit_family(family(), data) for family in chosen) if fit is not None]
    if not fits:
        return None
    weights = _bic_weights(fits)
    rng = np.random.default_rng(seed)
    at = (horizon + shift) / last
    counts = rng.multinomial(n_samples, weights)
    draws = np.concatenate([fit.sample(at, m, rng) for fit, m in zip(fits, counts, strict=True)])
    # a bounded metric cannot be seen beyond its best value, whatever the noise
    draws = np.minimum(draws[np.isfinite(draws)], scale.best)
    if draws.size == 0:
        return None
    return CurveForecast(
        horizon=horizon,
        samples=scale.from_unit(draws),
        greater_is_better=greater_is_better,
        weights={fit.family.name: float(w) for fit, w in zip(fits, weights, strict=True)},
        params={
            fit.family.name: dict(zip(fit.family.params, map(float, fit.theta), strict=True))
            for fit in fits
        },
        n_points=len(t),
        last_step=float(t[-1]),
    )


def _clean(steps: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray):
    """Sorted finite points, one per step (the last value reported at it)."""
    t = np.asarray(steps, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    if t.shape != y.shape:
        raise ValueError(
            f"steps and values must have the same length; got {t.size} steps, {y.size} values."
        )
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    last_of_step = np.append(t[1:] != t[:-1], True)[: t.size]
    return t[last_of_step], y[last_of_step]


def _bic_weights(fits: Sequence[FamilyFit]) -> np.ndarray:
    """``exp(-BIC/2)``, normalised, with the noise variance shared by all families."""
    sigma2 = float(np.median([fit.sigma2 for fit in fits]))
    n = fits[0].n
    bic = np.array([fit.rss / sigma2 + len(fit.theta) * np.log(n) for fit in fits])
    weights = np.exp(-(bic - bic.min()) / 2)
    return weights / weights.sum()

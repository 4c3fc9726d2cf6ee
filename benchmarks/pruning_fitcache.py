"""Memoised learning-curve forecasts, so the curve pruner replays many orders in minutes.

A replay asks the curve pruner about the same partial curves again and again. Two things
repeat, at two levels:

* *fits*: trial ``i`` after ``n`` epochs is the same points in every order and for every
  ``delta``; each decision fits every curve family to them
  (``losstune.scaling.curves.fit.fit_family``, a deterministic least-squares fit), then
  draws from the fits with a generator seeded by ``(seed, trial number, step)``;
* *forecasts*: within one order the rules ``curve_0.01``, ``curve_0.05`` and ``curve_0.1``
  share the seed, the trial numbers and the curves, so the forecast a trial gets at a step
  is the same for all three (``delta`` only changes the decision taken from it).

With the cache on, fits are looked up by family and points, and forecasts by every argument
(seed included), so every forecast, and every decision, is bit for bit the one the uncached
pruner makes; only the wall time differs. The benchmark times decisions with the cache off
(``cache.enabled = False``) and clears the forecasts between orders (``new_order()``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any
from unittest import mock

import numpy as np

logger = logging.getLogger("losstune.benchmarks")


class ForecastCache:
    """Memoising stand-ins for ``fit_family`` and the decision's ``forecast_final``;
    ``enabled = False`` passes every call through. ``fits``/``forecasts`` count computed
    ones, ``hits`` reused ones."""

    def __init__(self, fit_family: Any, forecast_final: Any) -> None:
        self._fit_family, self._forecast_final = fit_family, forecast_final
        self.enabled = True
        self.fits = self.forecasts = self.hits = 0
        self._fitted: dict[tuple[Any, ...], Any] = {}
        self._forecast: dict[tuple[Any, ...], Any] = {}

    def new_order(self) -> None:
        """Forget the forecasts (their seeds hold trial numbers, valid within one order)."""
        self._forecast.clear()

    def fit_family(self, family: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.enabled:
            return self._fit_family(family, data, *args, **kwargs)
        key = (family.name, data.t.tobytes(), data.z.tobytes(), float(data.cap), args, _kw(kwargs))
        if key in self._fitted:
            self.hits += 1
        else:
            self.fits += 1
            self._fitted[key] = self._fit_family(family, data, *args, **kwargs)
        return self._fitted[key]

    def forecast_final(self, steps: Any, values: Any, horizon: float, **kwargs: Any) -> Any:
        if not self.enabled:
            return self._forecast_final(steps, values, horizon, **kwargs)
        key = (
            np.asarray(steps, dtype=float).tobytes(),
            np.asarray(values, dtype=float).tobytes(),
            float(horizon),
            _kw(kwargs),
        )
        if key in self._forecast:
            self.hits += 1
        else:
            self.forecasts += 1
            self._forecast[key] = self._forecast_final(steps, values, horizon, **kwargs)
        return self._forecast[key]


def _kw(kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Keyword arguments as a hashable key (a seed sequence becomes a tuple)."""
    return tuple(
        (k, tuple(v) if isinstance(v, list | tuple) else v) for k, v in sorted(kwargs.items())
    )


@contextlib.contextmanager
def cached_forecasts() -> Iterator[ForecastCache]:
    """Within the block, the curve pruner's forecasts and fits are memoised (see the module
    doc). If losstune's modules no longer have the names patched here, nothing is cached
    (slower, same results) and a warning says so."""
    from losstune.scaling.curves import forecast
    from losstune.scaling.pruning import decision

    fit = getattr(forecast, "fit_family", None)
    final = getattr(decision, "forecast_final", None)
    cache = ForecastCache(fit, final)
    if fit is None or final is None:
        logger.warning("losstune's curve forecast changed shape; forecasts are not cached")
        cache.enabled = False
        yield cache
        return
    with (
        mock.patch.object(forecast, "fit_family", cache.fit_family),
        mock.patch.object(decision, "forecast_final", cache.forecast_final),
    ):
        yield cache

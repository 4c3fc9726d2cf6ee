"""The space every curve family is fitted in: time in units of the last observed step, metric
mapped affinely to "increasing towards better", observed values in ``[0, 1]``-ish.

One set of families and bounds then serves accuracy, ROC-AUC, balanced accuracy (already in
``[0, 1]``, kept as they are), R² (at most 1) and RMSE, MAE or log loss (at least 0: mapped to
``1 - y / max(y)``, so the best possible value is 1, the worst observed 0). A metric with no
known best value (a loss that goes negative, a score above 1) is scaled by its observed range
instead, and its curves may rise at most ``HEADROOM`` observed ranges above their best point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEADROOM = 3.0
"""How many observed ranges above the best observed point an asymptote may lie.

A curve seen over epochs 1-5 of 100 that grows like ``log t`` rises about 1.9 observed ranges
more; 3 leaves room for that and stops an almost-linear fit from running away."""

MIN_SPAN = 0.01
"""The smallest span a curve is taken to have, in normalised units (1% of the best-possible
range of a bounded metric): a flat curve still gets some room to move."""


@dataclass(frozen=True)
class MetricScale:
    """The affine map ``z = sign * (y - origin) / unit`` to the normalised metric.

    ``sign`` is +1 when greater is better, -1 otherwise; ``best`` is the highest ``z`` the
    metric can reach (1 for the bounded metrics above, ``inf`` when unknown).
    """

    greater_is_better: bool
    origin: float
    unit: float
    best: float

    @classmethod
    def of(cls, values: np.ndarray, *, greater_is_better: bool) -> MetricScale:
        """The scale for the finite ``values`` of one curve (see the module docstring)."""
        low, high = float(np.min(values)), float(np.max(values))
        if greater_is_better:
            if high <= 1.0:  # accuracy, ROC-AUC, balanced accuracy, R²: at most 1
                origin = min(0.0, low)
                return cls(True, origin, 1.0 - origin, 1.0)
            return cls(True, low, _unit(low, high), np.inf)
        if low >= 0.0:  # RMSE, MAE, log loss: at least 0
            return cls(False, high, high if high > 0 else 1.0, 1.0)
        return cls(False, high, _unit(low, high), np.inf)

    @property
    def sign(self) -> float:
        return 1.0 if self.greater_is_better else -1.0

    def to_unit(self, y: np.ndarray | float) -> np.ndarray:
        return self.sign * (np.asarray(y, dtype=float) - self.origin) / self.unit

    def from_unit(self, z: np.ndarray | float) -> np.ndarray:
        return self.origin + self.sign * self.unit * np.asarray(z, dtype=float)


@dataclass(frozen=True)
class CurveData:
    """One normalised curve: times ``t`` (the last observed step is 1), values ``z`` and the
    highest asymptote a family may take, ``cap``."""

    t: np.ndarray
    z: np.ndarray
    cap: float

    @classmethod
    def of(cls, t: np.ndarray, z: np.ndarray, best: float = np.inf) -> CurveData:
        """Data with ``cap = min(best, high + HEADROOM * span)`` (and a little above ``high``)."""
        high = float(np.max(z))
        span = max(high - float(np.min(z)), MIN_SPAN)
        cap = max(min(best, high + HEADROOM * span), high + MIN_SPAN)
        return cls(np.asarray(t, dtype=float), np.asarray(z, dtype=float), cap)

    @property
    def low(self) -> float:
        return float(np.min(self.z))

    @property
    def high(self) -> float:
        return float(np.max(self.z))

    @property
    def span(self) -> float:
        return max(self.high - self.low, MIN_SPAN)

    @property
    def floor(self) -> float:
        """The lowest start value (at ``t = 0``) a family may take: two spans below the data."""
        return self.low - 2.0 * self.span


def _unit(low: float, high: float) -> float:
    """The observed range, or for a flat curve a hundredth of its level (or 1 at level 0)."""
    return (high - low) or (abs(high) / 100.0) or 1.0

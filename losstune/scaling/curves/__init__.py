"""Learning-curve extrapolation: parametric families (``CURVES``), their fits, and the
forecast of a partial curve's final value as a predictive distribution.

Example:
    >>> import numpy as np
    >>> from losstune.scaling.curves import forecast_final
    >>> steps = np.arange(1, 9)
    >>> forecast = forecast_final(steps, 1.2 * steps**-0.5, 40, greater_is_better=False)
    >>> 0.18 < forecast.mean < 0.22
    True
"""

from losstune.scaling.curves.families import CURVES, CurveFamily
from losstune.scaling.curves.forecast import MIN_POINTS, CurveForecast, forecast_final

__all__ = ["CURVES", "MIN_POINTS", "CurveFamily", "CurveForecast", "forecast_final"]

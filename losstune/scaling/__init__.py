"""Scaling laws that steer a search: learning-curve extrapolation and the pruner built on it
(``curves/``, ``pruning/``), μP width transfer and step-law fits.

Names are imported on first use, so ``import losstune.scaling`` pulls in neither Optuna nor
Ray: ``from losstune.scaling import CurvePruner`` imports Optuna, ``CurveStoppingScheduler``
imports Ray. Add a name by adding one line to ``_EXPORTS``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CURVES": "losstune.scaling.curves",
    "CurveFamily": "losstune.scaling.curves",
    "CurveForecast": "losstune.scaling.curves",
    "forecast_final": "losstune.scaling.curves",
    "PruneDecision": "losstune.scaling.pruning.decision",
    "decide": "losstune.scaling.pruning.decision",
    "CurvePruner": "losstune.scaling.pruning.optuna_pruner",
    "CurveStoppingScheduler": "losstune.scaling.pruning.ray_scheduler",
    "GroupScale": "losstune.scaling.mup",
    "MuReadout": "losstune.scaling.mup",
    "UPDATE_RULES": "losstune.scaling.mup",
    "WidthShape": "losstune.scaling.mup",
    "mup_init_": "losstune.scaling.mup",
    "mup_param_groups": "losstune.scaling.mup",
    "width_multiplier": "losstune.scaling.mup",
    "width_shape": "losstune.scaling.mup",
    "width_shapes": "losstune.scaling.mup",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'losstune.scaling' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)

"""Curve-extrapolation pruning: one decision rule (:func:`decide`), an Optuna pruner
(:class:`CurvePruner`) and a Ray Tune scheduler (:class:`CurveStoppingScheduler`).

The pruner and the scheduler are imported on first use, so importing this package imports
neither Optuna nor Ray.
"""

from __future__ import annotations

import importlib
from typing import Any

from losstune.scaling.pruning.decision import PruneDecision, decide

_LAZY = {
    "CurvePruner": "losstune.scaling.pruning.optuna_pruner",
    "FORECAST_ATTR": "losstune.scaling.pruning.optuna_pruner",
    "recorded": "losstune.scaling.pruning.optuna_pruner",
    "CurveStoppingScheduler": "losstune.scaling.pruning.ray_scheduler",
}

__all__ = ["PruneDecision", "decide", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'losstune.scaling.pruning' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

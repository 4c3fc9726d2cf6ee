"""One Optuna trial: suggest a configuration, train it, report every epoch, track it.

This function owns the trial lifecycle (suggest -> train -> complete / pruned / failed), so
the trial's state in Optuna and in MLflow is decided in one place.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna

from losstune.data import Dataset
from losstune.recipe import RecipeError
from losstune.runners.torch_runner import TrainingDiverged, train_torch
from losstune.scaling.pruning.optuna_pruner import CurvePruner, recorded
from losstune.spaces import SearchSpace, config_to_recipe
from losstune.spaces.optuna_adapter import suggest

EpochCallback = Callable[[int, int, Mapping[str, float]], None]


@dataclass
class TrialContext:
    """What every trial of one search shares."""

    dataset: Dataset
    space: SearchSpace
    metric: str
    seed: int
    device: str
    tracker: Any  # losstune.mlflow.SearchTracker
    on_epoch: EpochCallback | None = None


class _TrialReporter:
    """Forwards each epoch to the trial run's MLflow metrics and to Optuna's pruner."""

    def __init__(self, trial: optuna.Trial, run: Any, context: TrialContext) -> None:
        self.trial, self.run, self.context = trial, run, context
        self.key = f"valid_{context.metric}"
        self.last_value: float | None = None

    def report(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self.run.log_epoch(epoch, metrics)
        if self.context.on_epoch is not None:
            self.context.on_epoch(self.trial.number, epoch, metrics)
        value = float(metrics[self.key])
        if math.isnan(value):
            return
        self.last_value = value
        self.trial.report(value, step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch} ({self.key} = {value:.4f})")


def run_trial(trial: optuna.Trial, context: TrialContext) -> float:
    """Train the configuration Optuna suggests; return its final validation score."""
    config = suggest(trial, context.space)
    trial.set_user_attr("config", config)
    run = context.tracker.start_trial(trial.number, config)
    trial.set_user_attr("mlflow_run_id", run.run_id)
    reporter = _TrialReporter(trial, run, context)
    started = time.perf_counter()
    try:
        recipe = config_to_recipe(
            config, task=context.dataset.task, metric=context.metric, seed=context.seed
        )
        trial.set_user_attr("max_epochs", recipe.epochs)
        result = train_torch(recipe, context.dataset, reporter=reporter, device=context.device)
    except optuna.TrialPruned:
        metrics, tags = _forecast_logs(trial, context.metric)
        run.end("pruned", reporter.last_value, time.perf_counter() - started, tags, metrics)
        raise
    except (TrainingDiverged, RecipeError) as err:
        trial.set_user_attr("fail_reason", str(err))
        run.end("failed", None, time.perf_counter() - started, {"fail_reason": str(err)[:500]})
        raise
    except BaseException as err:
        run.end("failed", None, time.perf_counter() - started, {"fail_reason": repr(err)[:500]})
        raise
    value = result.valid_score
    if math.isnan(value):
        trial.set_user_attr("fail_reason", f"validation {context.metric} is NaN")
    metrics, tags = _forecast_logs(trial, context.metric)
    state = "complete" if not math.isnan(value) else "failed"
    run.end(state, value, time.perf_counter() - started, tags, metrics)
    return value


def _forecast_logs(trial: optuna.Trial, metric: str) -> tuple[dict[str, float], dict[str, str]]:
    """The last curve forecast a :class:`CurvePruner` recorded on ``trial``, as MLflow metrics
    (``predicted_final_<metric>`` with its 5%/95% quantiles, the probability of beating the
    incumbent) and tags (the whole record as JSON, the heaviest curve family)."""
    if not isinstance(trial.study.pruner, CurvePruner):
        return {}, {}
    record = recorded(trial)
    if record is None:
        return {}, {}
    key = f"predicted_final_{metric}"
    metrics = {key: record["mean"], f"{key}_q05": record["q05"], f"{key}_q95": record["q95"]}
    if record.get("probability") is not None:
        metrics["curve_beat_probability"] = record["probability"]
    weights = record["weights"]
    tags = {
        "curve_forecast": json.dumps(record, sort_keys=True),
        "curve_family": max(weights, key=weights.get),
    }
    return metrics, tags

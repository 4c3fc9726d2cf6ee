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
from losstune.recipe import Recipe, RecipeError
from losstune.runners.torch_runner import TrainingDiverged, TrainResult, train_torch
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


class TrialRun:
    """One trial's bookkeeping from suggestion to its end: the config and its MLflow run, the
    reporter that forwards epochs, and the final state in both stores. Shared by the
    one-at-a-time objective (:func:`run_trial`) and batched training
    (:mod:`losstune.search.batched`)."""

    def __init__(self, trial: optuna.Trial, context: TrialContext) -> None:
        self.trial, self.context = trial, context
        self.config = suggest(trial, context.space)
        trial.set_user_attr("config", self.config)
        self.run = context.tracker.start_trial(trial.number, self.config)
        trial.set_user_attr("mlflow_run_id", self.run.run_id)
        self.reporter = _TrialReporter(trial, self.run, context)
        self.started = time.perf_counter()

    def recipe(self) -> Recipe:
        """The recipe of the suggested config (raises :class:`RecipeError` when invalid)."""
        context = self.context
        recipe = config_to_recipe(
            self.config, task=context.dataset.task, metric=context.metric, seed=context.seed
        )
        self.trial.set_user_attr("max_epochs", recipe.epochs)
        return recipe

    def complete(self, result: TrainResult) -> float:
        """End the MLflow run of a trial that trained to the end; its validation score."""
        value = result.valid_score
        if math.isnan(value):
            self.trial.set_user_attr("fail_reason", f"validation {self.context.metric} is NaN")
        metrics, tags = _forecast_logs(self.trial, self.context.metric)
        state = "complete" if not math.isnan(value) else "failed"
        self.run.end(state, value, self._seconds(), tags, metrics)
        return value

    def stop(self, err: BaseException) -> None:
        """End the MLflow run of a trial that ``err`` stopped: pruned or failed."""
        if isinstance(err, optuna.TrialPruned):
            metrics, tags = _forecast_logs(self.trial, self.context.metric)
            self.run.end("pruned", self.reporter.last_value, self._seconds(), tags, metrics)
        elif isinstance(err, TrainingDiverged | RecipeError):
            self.trial.set_user_attr("fail_reason", str(err))
            self.run.end("failed", None, self._seconds(), {"fail_reason": str(err)[:500]})
        else:
            self.run.end("failed", None, self._seconds(), {"fail_reason": repr(err)[:500]})

    def _seconds(self) -> float:
        return time.perf_counter() - self.started


def run_trial(trial: optuna.Trial, context: TrialContext) -> float:
    """Train the configuration Optuna suggests; return its final validation score."""
    run = TrialRun(trial, context)
    try:
        result = train_torch(
            run.recipe(), context.dataset, reporter=run.reporter, device=context.device
        )
    except BaseException as err:
        run.stop(err)
        raise
    return run.complete(result)


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

"""A trial's life, decided in one place: suggest -> train -> complete, pruned or failed.

Every executor (one at a time, batched, Ray Tune, workers) ends its trials here, so a trial's
Optuna state, its MLflow run status and the user attributes the leaderboard reads agree
whichever way it ran. The attribute names below are that contract.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna

from losstune.data import Dataset
from losstune.recipe import Recipe, RecipeError
from losstune.runners import TrainingDiverged, TrainResult, train
from losstune.scaling.pruning.optuna_pruner import CurvePruner, recorded
from losstune.search.interrupts import stop_point
from losstune.spaces import SearchSpace, config_to_recipe
from losstune.spaces.optuna_adapter import suggest

if TYPE_CHECKING:
    from losstune.mlflow import SearchTracker, TrialRun

# -- the trial user attributes (Optuna) every executor writes --------------------------------
CONFIG = "config"  # the full sampled configuration (parameter path -> value)
MLFLOW_RUN_ID = "mlflow_run_id"  # the trial's nested MLflow run
MAX_EPOCHS = "max_epochs"  # the epochs its recipe asks for (a pruned trial ran fewer)
FAIL_REASON = "fail_reason"  # why a failed trial failed
# in a Ray result: the trial's training ended by itself (a booster's early stopping) before
# its most epochs, so it is complete, not stopped by the scheduler
TRAINED = "trained"
DEFAULT_RECIPE = "default_recipe"  # True on the trial that trains the default recipe
RETRY_OF = "retry_of"  # the number of the interrupted trial this one re-runs
INTERRUPTED_TRIAL = "interrupted"  # True on a trial stopped by Ctrl-C or SIGTERM (retried)
# where the trial's configuration came from: one of ORIGINS (also its MLflow run's tag)
ORIGIN = "origin"
ORIGINS = ("default", "portfolio", "transfer", "sampler")
PORTFOLIO_MEMBER = "portfolio_member"  # the warm-start portfolio member a trial trains
TRIAL_ATTRS = (
    CONFIG, MLFLOW_RUN_ID, MAX_EPOCHS, FAIL_REASON, DEFAULT_RECIPE, RETRY_OF, INTERRUPTED_TRIAL,
    ORIGIN, PORTFOLIO_MEMBER,
)  # fmt: skip


def trial_origin(attrs: Mapping[str, Any]) -> str:
    """Where a trial's configuration came from, by its user attributes: the default recipe,
    the warm-start portfolio, a transfer search's carried configurations, else the sampler."""
    return str(attrs.get(ORIGIN) or ("default" if attrs.get(DEFAULT_RECIPE) else "sampler"))


# -- the study user attributes a search writes -----------------------------------------------
PARENT_RUN_ID = "mlflow_parent_run_id"
FINGERPRINT = "dataset_fingerprint"
METRIC = "metric"
INTERRUPTED = "interrupted_trials"  # trials a killed process left RUNNING (then retried)

# a trial that raises one of these failed for a reason of its own: retrying it fails alike
EXPECTED_FAILURES: tuple[type[Exception], ...] = (TrainingDiverged, RecipeError)

OnEpoch = Callable[[int, int, Mapping[str, float]], None]
"""``on_epoch(trial_number, epoch, metrics)``: a search's per-epoch hook."""

OPTUNA_STATES = {
    "complete": optuna.trial.TrialState.COMPLETE,
    "pruned": optuna.trial.TrialState.PRUNED,
    "failed": optuna.trial.TrialState.FAIL,
    "interrupted": optuna.trial.TrialState.FAIL,  # marked INTERRUPTED_TRIAL, retried on resume
}
INTERRUPTED_REASON = "interrupted (Ctrl-C or SIGTERM); retried when the search resumes"


@dataclass(frozen=True)
class TrialEnd:
    """How a trial ended: its state (``complete``, ``pruned``, ``failed``, ``interrupted``),
    its value (the last validation score of a pruned trial; None for a failed or interrupted
    one) and why it failed."""

    state: str
    value: float | None = None
    reason: str | None = None

    @property
    def optuna_state(self) -> optuna.trial.TrialState:
        return OPTUNA_STATES[self.state]

    @classmethod
    def of(cls, outcome: TrainResult | BaseException, metric: str, last: float | None) -> TrialEnd:
        """The end of a trial whose training returned or raised ``outcome``; ``last`` is the
        last finite validation value it reported."""
        if isinstance(outcome, optuna.TrialPruned):
            return cls("pruned", last)
        if isinstance(outcome, KeyboardInterrupt):
            return cls("interrupted", None, INTERRUPTED_REASON)
        if isinstance(outcome, EXPECTED_FAILURES):
            return cls("failed", None, str(outcome))
        if isinstance(outcome, BaseException):
            return cls("failed", None, repr(outcome))
        value = outcome.valid_score
        if math.isnan(value):
            return cls("failed", None, f"validation {metric} is NaN")
        return cls("complete", value)

    @classmethod
    def of_report(cls, result: Mapping[str, Any] | None, key: str) -> TrialEnd:
        """The end of a trial from its last per-epoch report (a Ray Tune result): complete
        when it reported all its epochs or says it ended by itself (:data:`TRAINED`: early
        stopping), pruned when stopped before, failed without a finite ``key`` or with a
        ``fail_reason``."""
        if not result or FAIL_REASON in result or "epoch" not in result:
            reason = (result or {}).get(FAIL_REASON) or f"no valid {key} reported"
            return cls("failed", None, str(reason))
        value = float(result.get(key, math.nan))
        if math.isnan(value):
            return cls("failed", None, f"{key} is NaN")
        if result.get(TRAINED) or int(result["epoch"]) >= int(result[MAX_EPOCHS]):
            return cls("complete", value)
        return cls("pruned", value)

    def end_run(
        self,
        run: TrialRun,
        duration_s: float | None = None,
        forecast: tuple[dict[str, float], dict[str, str]] = ({}, {}),
    ) -> None:
        """End the trial's MLflow run in this state, with the curve pruner's ``forecast``
        metrics and tags (:func:`forecast_logs`)."""
        metrics, tags = forecast
        if self.reason is not None:
            tags = {**tags, FAIL_REASON: self.reason[:500]}
        value = self.value if self.state in ("complete", "pruned") else None
        run.end(self.state, value, duration_s, tags, metrics)

    def record(self, trial: optuna.Trial | optuna.trial.FrozenTrial) -> None:
        """Write the failure reason on the Optuna trial (the leaderboard shows it), and mark
        an interrupted trial so that a resumed search retries it."""
        if self.reason is not None:
            trial.set_user_attr(FAIL_REASON, self.reason)
        if self.state == "interrupted":
            trial.set_user_attr(INTERRUPTED_TRIAL, True)


@dataclass(frozen=True)
class TrialContext:
    """What every trial of one stage of a search shares. ``trial_offset`` and ``stage``
    number and label the MLflow runs of a multi-stage search in one sequence."""

    dataset: Dataset
    space: SearchSpace
    metric: str
    seed: int
    device: str
    tracker: SearchTracker
    on_epoch: OnEpoch | None = None
    stage: str = ""
    trial_offset: int = 0
    trial_attrs: Mapping[str, Any] | None = None


class TrialReporter:
    """Forwards each epoch to the trial's MLflow run, the search's ``on_epoch`` and Optuna's
    pruner; raises :class:`optuna.TrialPruned` when the pruner says stop."""

    def __init__(self, trial: optuna.Trial, run: TrialRun, context: TrialContext) -> None:
        self.trial, self.run, self.context = trial, run, context
        self.key = f"valid_{context.metric}"
        self.last_value: float | None = None

    def report(self, epoch: int, metrics: Mapping[str, float]) -> None:
        stop_point()
        self.run.log_epoch(epoch, metrics)
        if self.context.on_epoch is not None:
            self.context.on_epoch(self.context.trial_offset + self.trial.number, epoch, metrics)
        value = float(metrics[self.key])
        if math.isnan(value):
            return
        self.last_value = value
        self.trial.report(value, step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch} ({self.key} = {value:.4f})")


class TrialLifecycle:
    """One in-process trial from suggestion to its end: the config and its MLflow run, the
    reporter, and the end state in both stores. Shared by the sequential and batched
    executors (the Ray executor ends its trials through :class:`TrialEnd` too)."""

    def __init__(self, trial: optuna.Trial, context: TrialContext) -> None:
        self.trial, self.context = trial, context
        for key, value in (context.trial_attrs or {}).items():
            trial.set_user_attr(key, value)
        self.config = suggest(trial, context.space)
        trial.set_user_attr(CONFIG, self.config)
        origin = trial_origin(trial.user_attrs)
        if ORIGIN not in trial.user_attrs:
            trial.set_user_attr(ORIGIN, origin)
        params = {**self.config, "stage": context.stage} if context.stage else self.config
        self.run = context.tracker.start_trial(
            context.trial_offset + trial.number, params, tags={ORIGIN: origin}
        )
        trial.set_user_attr(MLFLOW_RUN_ID, self.run.run_id)
        self.reporter = TrialReporter(trial, self.run, context)
        self.started = time.perf_counter()

    def recipe(self) -> Recipe:
        """The recipe of the suggested config (raises :class:`RecipeError` when invalid)."""
        context = self.context
        recipe = config_to_recipe(
            self.config, task=context.dataset.task, metric=context.metric, seed=context.seed
        )
        self.trial.set_user_attr(MAX_EPOCHS, recipe.max_epochs)
        return recipe

    def end(self, outcome: TrainResult | BaseException) -> TrialEnd:
        """End the trial's MLflow run for ``outcome`` and record its failure reason."""
        end = TrialEnd.of(outcome, self.context.metric, self.reporter.last_value)
        end.record(self.trial)
        finished = end.state in ("complete", "pruned")
        forecast = forecast_logs(self.trial, self.context.metric) if finished else None
        end.end_run(self.run, time.perf_counter() - self.started, forecast or ({}, {}))
        return end

    def tell(self, study: optuna.Study, outcome: Any) -> optuna.trial.FrozenTrial:
        """End the trial and tell ``study`` (ask-and-tell executors)."""
        end = self.end(outcome)
        value = end.value if end.state == "complete" else None
        return study.tell(self.trial, value, end.optuna_state)


def run_trial(trial: optuna.Trial, context: TrialContext) -> float:
    """Train the configuration Optuna suggests; return its final validation score (the
    objective of ``study.optimize``: a pruned or failed trial raises)."""
    life = TrialLifecycle(trial, context)
    try:
        result = train(
            life.recipe(), context.dataset, reporter=life.reporter, device=context.device
        )
    except BaseException as err:
        life.end(err)
        raise
    end = life.end(result)
    return end.value if end.value is not None else math.nan


def forecast_logs(trial: optuna.Trial, metric: str) -> tuple[dict[str, float], dict[str, str]]:
    """The last curve forecast a :class:`CurvePruner` recorded on ``trial``: MLflow metrics
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

"""``lightgbm_tuned``: optuna-integration's ``LightGBMTuner`` with the same trial budget.

The tuner is stepwise: it tunes ``feature_fraction`` (7 trials), ``num_leaves`` (20),
bagging (10), ``feature_fraction`` again (6), L1/L2 regularisation (20) and
``min_child_samples`` (5), 68 trials in all, and has no trial-count argument. To spend exactly
``budget.n_trials`` trials, the same steps are run in the same order with their trial counts
scaled to the budget (largest remainder; ``min_child_samples`` has a 5-point grid, so at most
5, the rest goes to regularisation) through the tuner's public ``tune_*`` methods; a step whose
share rounds to zero is skipped. A step that runs fewer trials than its share hands the rest
to the next step: the second ``feature_fraction`` step tries a grid of +-0.08 around the best
value cut to [0.4, 1.0], which can lose points (with 1 trial it tries the best value - 0.08
alone, out of range below 0.48, as after a 1-trial first step, which tries 0.4), so the
trials it could not run go to regularisation. Each trial trains up to 1000 rounds with early
stopping (patience 50) on the validation split.

The tuner optimises a LightGBM metric: the error rate for accuracy, RMSE / L1 / AUC for
those metrics, and log-loss where LightGBM has no equivalent (balanced accuracy, macro F1).
The reported scores are the benchmark's metric of the best booster's predictions.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import optuna

from benchmarks.contenders.base import (
    Budget,
    ContenderResult,
    class_count,
    full_proba,
    scored,
)
from losstune.data import Dataset
from losstune.task import Task

MAX_ROUNDS = 1000
PATIENCE = 50
STEPS = (
    ("feature_fraction", 7),
    ("num_leaves", 20),
    ("bagging", 10),
    ("feature_fraction_stage2", 6),
    ("regularization_factors", 20),
    ("min_data_in_leaf", 5),
)
MIN_DATA_GRID = 5


def allocate(n_trials: int) -> dict[str, int]:
    """Trials per tuner step: the tuner's own 68-trial schedule scaled to ``n_trials``."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1; got {n_trials}.")
    total = sum(n for _, n in STEPS)
    exact = {name: n_trials * n / total for name, n in STEPS}
    counts = {name: int(share) for name, share in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - counts[name], reverse=True)
    for name in by_remainder[: n_trials - sum(counts.values())]:
        counts[name] += 1
    excess = counts["min_data_in_leaf"] - MIN_DATA_GRID
    if excess > 0:
        counts["min_data_in_leaf"] = MIN_DATA_GRID
        counts["regularization_factors"] += excess
    return counts


def lgb_metric(metric: str, task: Task) -> str:
    """The LightGBM validation metric the tuner optimises for the benchmark's ``metric``."""
    if task is Task.REGRESSION:
        return {"rmse": "rmse", "mae": "l1"}.get(metric, "l2")
    binary = task is Task.BINARY
    if metric == "accuracy":
        return "binary_error" if binary else "multi_error"
    if metric == "roc_auc" and binary:
        return "auc"
    return "binary_logloss" if binary else "multi_logloss"


class _StepCap:
    """Optuna callback: stop the running step once it has finished ``limit`` trials."""

    def __init__(self, study: optuna.Study) -> None:
        self.study, self.start, self.limit = study, 0, 0

    def begin(self, limit: int) -> None:
        self.start, self.limit = len(self.study.trials), limit

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if len(self.study.trials) - self.start >= self.limit:
            study.stop()


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Tune LightGBM stepwise with ``budget.n_trials`` trials; score the best booster."""
    import lightgbm as lgb
    from optuna_integration.lightgbm import LightGBMTuner  # type: ignore[import-untyped]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task = dataset.task
    objective = {Task.BINARY: "binary", Task.MULTICLASS: "multiclass"}.get(task, "regression")
    params = {
        "objective": objective,
        "metric": lgb_metric(metric, task),
        "verbosity": -1,
        "seed": seed,
        "num_threads": budget.threads,
    }
    if task is Task.MULTICLASS:
        params["num_class"] = dataset.n_classes
    higher = params["metric"] == "auc"
    study = optuna.create_study(direction="maximize" if higher else "minimize")
    cap = _StepCap(study)
    start = time.perf_counter()
    tuner = LightGBMTuner(
        params,
        lgb.Dataset(dataset.X_train, dataset.y_train),
        valid_sets=[lgb.Dataset(dataset.X_valid, dataset.y_valid)],
        num_boost_round=MAX_ROUNDS,
        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
        study=study,
        optuna_callbacks=[cap],
        show_progress_bar=False,
        optuna_seed=seed,
    )
    steps = {
        "feature_fraction": tuner.tune_feature_fraction,
        "num_leaves": tuner.tune_num_leaves,
        "bagging": tuner.tune_bagging,
        "feature_fraction_stage2": tuner.tune_feature_fraction_stage2,
        "regularization_factors": tuner.tune_regularization_factors,
        "min_data_in_leaf": lambda n_trials: tuner.tune_min_data_in_leaf(),
    }
    short = 0  # trials a step could not run, handed to the next step
    for name, n in allocate(budget.n_trials).items():
        n, before = n + short, len(study.trials)
        if n > 0:
            cap.begin(n)
            steps[name](n_trials=n)
        short = n - (len(study.trials) - before)
    booster = tuner.get_best_booster()
    seconds = time.perf_counter() - start

    def predict(X: np.ndarray) -> np.ndarray:
        out = booster.predict(X, num_iteration=booster.best_iteration or None)
        if not task.is_classification:
            return out
        n_classes = class_count(dataset)
        return full_proba(out, np.arange(n_classes), n_classes)

    return scored(
        dataset,
        metric,
        predict,
        seconds=seconds,
        n_trials=len(study.trials),
        note=f"tuned on {params['metric']}",
    )

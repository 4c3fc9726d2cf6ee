"""``flaml``: FLAML's ``AutoML`` with the wall-clock losstune used on the same case.

FLAML searches learners (LightGBM, XGBoost, random forests, extra trees, linear models) and
their hyperparameters within a time budget. It is given exactly the seconds the ``losstune``
contender took on the same dataset, variant and seed (search, final re-training and logging
included), selects on the same validation split (``X_val``/``y_val``, holdout) and optimises
the benchmark's metric itself (a custom FLAML metric calling :mod:`losstune.metrics`). The
selected model is not re-trained on training + validation data (``retrain_full=False``): every
contender learns from the training split only.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.contenders.base import (
    Budget,
    ContenderResult,
    class_count,
    full_proba,
    scored,
    sklearn_predict,
)
from losstune.data import Dataset
from losstune.metrics import get_metric

MIN_BUDGET_S = 5.0


def _flaml_metric(metric: str, dataset: Dataset):
    """A FLAML custom metric: the loss to minimise and the score to log."""
    scorer = get_metric(metric, dataset.task)

    def flaml_metric(X_val, y_val, estimator, labels, X_train, y_train, *args, **kwargs):
        if dataset.task.is_classification:
            classes = np.unique(y_train) if labels is None else np.asarray(labels)
            predictions = full_proba(estimator.predict_proba(X_val), classes, class_count(dataset))
        else:
            predictions = estimator.predict(X_val)
        value = scorer(np.asarray(y_val), predictions)
        return (-value if scorer.greater_is_better else value), {metric: value}

    return flaml_metric


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Run ``AutoML.fit`` for ``budget.time_budget_s`` seconds (at least 5)."""
    from flaml import AutoML

    if budget.time_budget_s is None:
        raise ValueError("flaml needs budget.time_budget_s (losstune's seconds on this case).")
    classification = dataset.task.is_classification
    automl = AutoML()
    start = time.perf_counter()
    automl.fit(
        dataset.X_train,
        dataset.y_train,
        X_val=dataset.X_valid,
        y_val=dataset.y_valid,
        task="classification" if classification else "regression",
        time_budget=max(MIN_BUDGET_S, float(budget.time_budget_s)),
        metric=_flaml_metric(metric, dataset),
        eval_method="holdout",
        retrain_full=False,
        seed=seed,
        n_jobs=budget.threads,
        log_file_name=str(Path(workdir) / "flaml.log"),
        mlflow_logging=False,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    return scored(
        dataset,
        metric,
        sklearn_predict(automl, dataset),
        seconds=seconds,
        n_trials=len(automl.config_history),
        note=f"best={automl.best_estimator}",
    )

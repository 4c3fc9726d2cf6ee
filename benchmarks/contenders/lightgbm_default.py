"""``lightgbm_default``: LightGBM's scikit-learn estimator with its defaults.

The one change: up to 1000 boosting rounds, stopped early (patience 50) on the validation
split's default objective metric, so the validation split is used as the MLP searches use it.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.contenders.base import (
    Budget,
    ContenderResult,
    scored,
    sklearn_predict,
)
from losstune.data import Dataset

MAX_ROUNDS = 1000
PATIENCE = 50


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Fit ``LGBMClassifier``/``LGBMRegressor`` on the training split, seeded with ``seed``."""
    import lightgbm as lgb

    kind = lgb.LGBMClassifier if dataset.task.is_classification else lgb.LGBMRegressor
    model = kind(n_estimators=MAX_ROUNDS, random_state=seed, n_jobs=budget.threads, verbose=-1)
    start = time.perf_counter()
    model.fit(
        dataset.X_train,
        dataset.y_train,
        eval_set=[(dataset.X_valid, dataset.y_valid)],
        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
    )
    seconds = time.perf_counter() - start
    return scored(
        dataset,
        metric,
        sklearn_predict(model, dataset),
        seconds=seconds,
        n_trials=1,
        note=f"rounds={model.best_iteration_ or MAX_ROUNDS}",
    )

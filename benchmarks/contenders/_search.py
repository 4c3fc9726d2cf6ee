"""The shared driver of the contenders that run :func:`losstune.search`.

All go through the same search, pruner, final multi-seed selection and re-training; only
the space (or the model families, ``models=``, of the default space) differs. Their scores
are those of the selected candidate in ``result.final``, averaged over the final re-training
seeds (what losstune reports to its user).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import optuna

from benchmarks.contenders.base import Budget, ContenderResult
from losstune.data import Dataset
from losstune.spaces import SearchSpace


def run_search(
    dataset: Dataset,
    space: SearchSpace | None,
    *,
    metric: str,
    budget: Budget,
    seed: int,
    workdir: Path,
    models: Sequence[str] | None = None,
) -> ContenderResult:
    """``losstune.search`` over ``space`` (None: the default space of ``models``, every
    family when None) with ``budget.n_trials`` trials and the median pruner; wall-clock
    covers the whole call (trials, final re-training, MLflow logging)."""
    from losstune.search import search

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    start = time.perf_counter()
    result = search(
        dataset,
        space=space,
        metric=metric,
        n_trials=budget.n_trials,
        sampler="tpe",
        pruner="median",
        seed=seed,
        run_dir=workdir,
        epochs=budget.epochs,
        top_k=budget.top_k,
        n_seeds=budget.final_seeds,
        device=budget.device,
        models=None if models is None else list(models),
    )
    seconds = time.perf_counter() - start
    selected = result.final[result.final["selected"]]
    recipe = result.recipe
    note = (
        f"model={recipe.model.name} loss={recipe.loss.name} weighting={recipe.weighting.name} "
        f"T={recipe.temperature:.3g}"
    )
    if recipe.torch is not None:
        note += f" optimizer={recipe.torch.optimizer.name} batch={recipe.torch.batch_size}"
    return ContenderResult(
        valid_score=float(selected[f"valid_{metric}"].mean()),
        test_score=float(selected[f"test_{metric}"].mean()),
        seconds=seconds,
        n_trials=len(result.leaderboard()),
        note=note,
    )

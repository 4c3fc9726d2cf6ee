"""``default``: the default recipe (:meth:`losstune.Recipe.default`), trained once per seed.

What a user gets without any search: cross-entropy (MSE for regression), AdamW at 1e-3,
cosine schedule, a 2x256 MLP. Its test score is the floor every search must clear.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.contenders.base import Budget, ContenderResult
from losstune.data import Dataset
from losstune.recipe import Recipe
from losstune.runners import train


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Train the default recipe with ``budget.epochs`` epochs on seed ``seed``."""
    recipe = Recipe.default(dataset.task, metric).replace(epochs=budget.epochs, seed=seed)
    start = time.perf_counter()
    result = train(recipe, dataset, device=budget.device)
    seconds = time.perf_counter() - start
    return ContenderResult(result.valid_score, result.test_score, seconds, n_trials=1)

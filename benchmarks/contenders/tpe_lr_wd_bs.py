"""``tpe_lr_wd_bs``: what users do today, Optuna TPE over learning rate, weight decay and
batch size, with everything else the default recipe's.

It runs through :func:`losstune.search` (same trial count, pruner, final selection and
re-training as the ``losstune`` contender) with the warm start off (plain Optuna TPE starts
from nothing but the default recipe), so the comparison isolates what searching the loss,
temperature, weighting and the rest, and starting from the portfolio, adds.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.contenders._search import run_search
from benchmarks.contenders.base import Budget, ContenderResult
from losstune.data import Dataset
from losstune.recipe import Recipe
from losstune.spaces import SearchSpace, default_space, recipe_to_config
from losstune.task import Task

SEARCHED = ("optimizer.adamw.lr", "optimizer.adamw.weight_decay", "batch_size")


def lr_wd_bs_space(task: Task | str, metric: str, epochs: int) -> SearchSpace:
    """The default space with every path but :data:`SEARCHED` fixed to the default recipe.

    Fixing walks the default recipe's config in order, so a choice (``optimizer: adamw``)
    is narrowed before its children (``optimizer.adamw.lr``) are fixed or kept.
    """
    space = default_space(task, epochs=epochs)
    default = Recipe.default(task, metric).replace(epochs=epochs)
    for path, value in recipe_to_config(default, space).items():
        if path not in SEARCHED:
            space = space.fix(path, value)
    return space


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Search AdamW's learning rate and weight decay and the batch size."""
    space = lr_wd_bs_space(dataset.task, metric, budget.epochs)
    return run_search(
        dataset, space, metric=metric, budget=budget, seed=seed, workdir=workdir, warm_start=False
    )

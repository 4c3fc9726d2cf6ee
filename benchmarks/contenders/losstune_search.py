"""``losstune``: :func:`losstune.search` over the default space, with the median pruner."""

from __future__ import annotations

from pathlib import Path

from benchmarks.contenders._search import run_search
from benchmarks.contenders.base import Budget, ContenderResult
from losstune.data import Dataset
from losstune.spaces import default_space


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Search loss, temperature, weighting, optimizer, schedule, model and batch size."""
    space = default_space(dataset.task, epochs=budget.epochs)
    return run_search(dataset, space, metric=metric, budget=budget, seed=seed, workdir=workdir)

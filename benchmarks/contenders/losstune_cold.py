"""``losstune_cold``: the ``losstune`` search with the warm start off.

The same space, sampler, pruner, trial count and final selection as ``losstune``; only the
warm-start portfolio's trials are missing (the default recipe is still the first trial, then
TPE). Against ``losstune`` it measures what the warm start itself adds; against
``tpe_lr_wd_bs``, what the wider space adds without it.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.contenders._search import run_search
from benchmarks.contenders.base import Budget, ContenderResult
from losstune.data import Dataset
from losstune.spaces import default_space


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Search the default space (both model families) from the default recipe and TPE only."""
    space = default_space(dataset.task, epochs=budget.epochs)
    return run_search(
        dataset, space, metric=metric, budget=budget, seed=seed, workdir=workdir, warm_start=False
    )

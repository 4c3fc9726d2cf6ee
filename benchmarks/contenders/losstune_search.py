"""``losstune``: :func:`losstune.search` over the default space, with the median pruner and
the warm start on: what a user gets from ``losstune search``.

The default space offers every registered model family (the MLP and LightGBM): this is the
two-family search, "losstune (mlp+lightgbm)" in the LightGBM report, against which
``losstune_mlp`` and ``losstune_lightgbm`` fix the family. After the default recipe the
search tries the first members of the warm-start portfolio for the data's regime; the
benchmark hands it (``budget.portfolio``) a portfolio built without the case's dataset.
``losstune_cold`` is the same search without the warm start.
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
    """Search the model family (MLP or LightGBM) and its hyperparameters, the loss,
    temperature and weighting, and the MLP's optimizer, schedule and batch size, starting
    from the default recipe and the warm-start portfolio."""
    space = default_space(dataset.task, epochs=budget.epochs)
    return run_search(
        dataset, space, metric=metric, budget=budget, seed=seed, workdir=workdir, warm_start=True
    )

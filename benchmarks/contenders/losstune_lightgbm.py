"""``losstune_lightgbm``: :func:`losstune.search` with the model family fixed to LightGBM.

The loss, temperature and weighting scheme are searched with LightGBM's own hyperparameters
(the ranges of :meth:`losstune.models.lightgbm.LightGBM.space`), trained through the custom
objective derived from the torch loss; the search, pruner and final selection are those of
the other losstune contenders (:func:`~benchmarks.contenders._search.run_search`), the warm start
included (the portfolio's members of the other family are skipped).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.contenders._search import run_search
from benchmarks.contenders.base import Budget, ContenderResult
from losstune.data import Dataset

MODELS = ("lightgbm",)


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Search loss, temperature, weighting and LightGBM's hyperparameters."""
    return run_search(
        dataset,
        None,
        metric=metric,
        budget=budget,
        seed=seed,
        workdir=workdir,
        models=MODELS,
        warm_start=True,
    )

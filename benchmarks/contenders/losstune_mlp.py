"""``losstune_mlp``: :func:`losstune.search` with the model family fixed to the MLP.

What the default space searched before LightGBM joined it: loss, temperature, weighting,
optimizer, wrapper, schedule, batch size and the MLP's shape, all trained with torch; the
search, pruner and final selection are those of the other losstune contenders
(:func:`~benchmarks.contenders._search.run_search`), the warm start
included (the portfolio's members of the other family are skipped).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.contenders._search import run_search
from benchmarks.contenders.base import Budget, ContenderResult
from losstune.data import Dataset

MODELS = ("mlp",)


def run(
    dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
) -> ContenderResult:
    """Search the default space's MLP family only."""
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

"""Scores over seeds: re-training a recipe on several seeds, means and 95% intervals."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scipy import stats

from losstune.recipe import Recipe, Score
from losstune.runners import TrainResult, train


@dataclass(frozen=True)
class SeedRuns:
    """One recipe re-trained on several seeds: validation and test scores per seed."""

    recipe: Recipe
    seeds: tuple[int, ...]
    valid: tuple[float, ...]
    test: tuple[float, ...]
    first: TrainResult

    @property
    def valid_mean(self) -> float:
        return statistics.fmean(self.valid)

    def test_score(self) -> Score:
        mean, low, high = mean_interval(self.test)
        return Score(self.recipe.metric, mean, low, high, len(self.test))


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t ``confidence`` interval (a single value gives a zero-width one)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_interval needs at least one value.")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean
    t = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1))
    half = t * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def evaluation_seeds(search_seed: int, n_seeds: int) -> tuple[int, ...]:
    """Seeds for the final re-training, distinct from the seed the trials ran on."""
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1; got {n_seeds}.")
    return tuple(search_seed + 1 + i for i in range(n_seeds))


def run_seeds(
    recipe: Recipe,
    dataset,
    seeds: Sequence[int],
    *,
    device: str = "auto",
    on_done: Callable[[], None] | None = None,
) -> SeedRuns:
    """Train ``recipe`` once per seed; keep every score and the first seed's model."""
    results = []
    for seed in seeds:
        results.append(train(recipe.replace(seed=seed), dataset, device=device))
        if on_done is not None:
            on_done()
    return SeedRuns(
        recipe=recipe.replace(seed=seeds[0]),
        seeds=tuple(seeds),
        valid=tuple(r.valid_score for r in results),
        test=tuple(r.test_score for r in results),
        first=results[0],
    )


def better(a: float, b: float, greater_is_better: bool) -> bool:
    """Whether score ``a`` beats ``b``; NaN never wins."""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if greater_is_better else a < b

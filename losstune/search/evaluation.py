"""Scores over seeds: re-training a recipe on several seeds, means and 95% intervals."""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from scipy import stats

from losstune.metrics import METRICS
from losstune.recipe import Recipe, Score
from losstune.runners import TrainingDiverged, TrainResult, train
from losstune.search.interrupts import stop_point

logger = logging.getLogger("losstune")


class ScoreCache(Protocol):
    """Scores of runs already trained (by an interrupted search): ``get`` returns a run's
    (validation, test) scores, or None when it has not run; ``put`` records them."""

    def get(self, recipe: Recipe, seed: int) -> tuple[float, float] | None: ...

    def put(self, recipe: Recipe, seed: int, valid: float, test: float) -> None: ...


@dataclass(frozen=True)
class SeedRuns:
    """One recipe re-trained on several seeds: validation and test scores per seed, and the
    first seed's training (None when its scores came from a :class:`ScoreCache`)."""

    recipe: Recipe
    seeds: tuple[int, ...]
    valid: tuple[float, ...]
    test: tuple[float, ...]
    first: TrainResult | None

    @property
    def valid_mean(self) -> float:
        return statistics.fmean(self.valid)

    def test_score(self) -> Score:
        """The test scores' mean and 95% interval, within the metric's range."""
        return score_over_seeds(self.recipe.metric, self.test)


def score_over_seeds(metric: str, values: Sequence[float], confidence: float = 0.95) -> Score:
    """A :class:`Score` of ``values`` (one per seed) of ``metric``: their mean and Student-t
    ``confidence`` interval, the interval clipped to the metric's range (three accuracies
    near 1 give an interval ending at 1.0, not 1.13)."""
    bounds = METRICS.get(metric)
    mean, low, high = mean_interval(values, confidence)
    return Score(metric, mean, bounds.clip(low), bounds.clip(high), len(values))


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
    cache: ScoreCache | None = None,
) -> SeedRuns:
    """Train ``recipe`` once per seed; keep every score and the first seed's model. A run
    whose scores ``cache`` holds is not trained again; each one trained is put there. A run
    that diverges scores NaN (it never wins; a NaN default gives no margin)."""
    scores: list[tuple[float, float]] = []
    first: TrainResult | None = None
    for seed in seeds:
        stop_point()
        cached = cache.get(recipe, seed) if cache is not None else None
        if cached is None:
            try:
                result = train(recipe.replace(seed=seed), dataset, device=device)
            except TrainingDiverged as err:
                logger.warning("a final re-training on seed %d diverged: %s", seed, err)
                cached = (math.nan, math.nan)
            else:
                cached = (result.valid_score, result.test_score)
                first = result if seed == seeds[0] else first
            if cache is not None:
                cache.put(recipe, seed, *cached)
        scores.append(cached)
        if on_done is not None:
            on_done()
    return SeedRuns(
        recipe=recipe.replace(seed=seeds[0]),
        seeds=tuple(seeds),
        valid=tuple(valid for valid, _ in scores),
        test=tuple(test for _, test in scores),
        first=first,
    )


def better(a: float, b: float, greater_is_better: bool) -> bool:
    """Whether score ``a`` beats ``b``; NaN never wins."""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if greater_is_better else a < b

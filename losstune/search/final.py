"""Honest final selection: re-train the best configurations on fresh seeds, pick by
validation, report test.

The best trial's validation score is optimistic: it won a contest of noisy scores on one
seed. So the top candidates are re-trained on seeds the search never used; the winner is
the one with the best *mean validation* score and what is reported is its *test* score
(mean and 95% interval over the seeds). The default recipe is re-trained on the same seeds,
so the margin compares like with like.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from losstune.data import Dataset
from losstune.metrics import Metric
from losstune.recipe import Provenance, Recipe
from losstune.runners import TrainResult, train
from losstune.search.evaluation import ScoreCache, SeedRuns, better, run_seeds

FINAL_SCORES = "final_scores"  # study attribute: scores of the final runs already trained


@dataclass(frozen=True)
class FinalSelection:
    """The re-trained candidates, the winner and the default recipe's runs."""

    candidates: tuple[SeedRuns, ...]
    best: SeedRuns
    default: SeedRuns
    greater_is_better: bool

    @property
    def model(self) -> TrainResult:
        """The winner's first-seed training (its model is the search's model)."""
        if self.best.first is None:
            raise RuntimeError("select_final() re-trains the winner's first seed; use it.")
        return self.best.first

    @property
    def margin(self) -> float:
        """Test-score gain of the winner over the default (positive is better)."""
        gain = self.best.test_score().mean - self.default.test_score().mean
        return gain if self.greater_is_better else -gain

    def frame(self) -> pd.DataFrame:
        """One row per (candidate, seed): validation and test scores, which one won."""
        runs = list(self.candidates)
        if not any(run is self.default for run in runs):
            runs.append(self.default)
        metric = self.best.recipe.metric
        return pd.DataFrame(
            [
                {
                    "candidate": rank,
                    "selected": run is self.best,
                    "is_default": run is self.default,
                    "seed": seed,
                    f"valid_{metric}": valid,
                    f"test_{metric}": test,
                }
                for rank, run in enumerate(runs)
                for seed, valid, test in zip(run.seeds, run.valid, run.test, strict=True)
            ]
        )


def select_final(
    candidates: Sequence[Recipe],
    default: Recipe,
    dataset: Dataset,
    seeds: Sequence[int],
    scorer: Metric,
    *,
    device: str = "auto",
    on_done: Callable[[], None] | None = None,
    cache: ScoreCache | None = None,
) -> FinalSelection:
    """Re-train ``candidates`` (best first) and ``default`` on ``seeds``; pick the winner by
    mean validation score. ``on_done`` is called after every training run. Runs whose scores
    ``cache`` holds (an interrupted search's) are not trained again, but for the winner's
    first seed, whose model the search hands back (training is deterministic)."""
    if not candidates:
        raise ValueError("select_final needs at least one candidate recipe.")

    def seeded(recipe: Recipe) -> SeedRuns:
        return run_seeds(recipe, dataset, seeds, device=device, on_done=on_done, cache=cache)

    runs = tuple(seeded(r) for r in candidates)
    default_runs = next((run for run in runs if same_recipe(run.recipe, default)), None)
    if default_runs is None:
        default_runs = seeded(default)
    elif on_done is not None:
        for _ in seeds:  # keeps a progress bar's total honest
            on_done()
    best = runs[0]
    for run in runs[1:]:
        if better(run.valid_mean, best.valid_mean, scorer.greater_is_better):
            best = run
    if best.first is None:
        trained = dataclasses.replace(best, first=train(best.recipe, dataset, device=device))
        runs = tuple(trained if run is best else run for run in runs)
        default_runs = trained if default_runs is best else default_runs
        best = trained
    return FinalSelection(runs, best, default_runs, scorer.greater_is_better)


class StudyScores:
    """A :class:`ScoreCache` in a study's ``final_scores`` attribute, so the final runs an
    interrupted search finished are not trained again when it resumes. A run is keyed by its
    recipe, seed, dataset and device."""

    def __init__(self, study: Any, dataset: Dataset, device: str) -> None:
        self.study, self.context = study, f"{dataset.fingerprint}|{device}"

    def _key(self, recipe: Recipe, seed: int) -> str:
        spec = recipe.replace(seed=seed, provenance=Provenance()).to_yaml() + self.context
        return hashlib.blake2b(spec.encode(), digest_size=8).hexdigest()

    def get(self, recipe: Recipe, seed: int) -> tuple[float, float] | None:
        scores = self.study.user_attrs.get(FINAL_SCORES, {}).get(self._key(recipe, seed))
        return None if scores is None else (float(scores[0]), float(scores[1]))

    def put(self, recipe: Recipe, seed: int, valid: float, test: float) -> None:
        scores = dict(self.study.user_attrs.get(FINAL_SCORES, {}))
        scores[self._key(recipe, seed)] = [valid, test]
        self.study.set_user_attr(FINAL_SCORES, scores)


def same_recipe(a: Recipe, b: Recipe) -> bool:
    """Whether two recipes train the same way (seed and provenance aside)."""
    blank = {"seed": 0, "provenance": Provenance()}
    return a.replace(**blank) == b.replace(**blank)
